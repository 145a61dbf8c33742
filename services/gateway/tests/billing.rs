//! Billing end to end, each on SQLite and on PostgreSQL: invoice totals
//! equal the sum of priced events (property test); concurrent requests
//! through the real gateway and the real language service never overshoot
//! a hard budget by more than one reservation, then get 429
//! `insufficient_quota`; reservations settle to the real cost and expired
//! ones are released; the soft-limit webhook fires once; a closed month's
//! invoice survives a price change; invoices are per tenant (404) and come
//! as CSV; asynchronous jobs hold their audio's budget from submit to end
//! (settled, or released on cancel) and stay readable at the hard limit.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use stratus_gateway::auth::{KeySpec, Scopes, ServerSecret};
use stratus_gateway::billing::invoice::CLOSE_GRACE_MS;
use stratus_gateway::billing::ledger::Account;
use stratus_gateway::billing::{AlertWebhook, Billing, BillingConfig, Catalog, Month, Nanos};
use stratus_gateway::metering::{Meter, MeteringConfig, Units, UsageEvent, event::now_ms};
use stratus_gateway::store::identity::TenantRow;
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService};
use stratus_speech::{SpeechConfig, SpeechService};
use stratus_testkit::fresh_postgres;

const EMBEDDER: &str = "all-minilm-l6-v2";

/// A store of each backend, with the temp folder that keeps SQLite alive.
async fn stores() -> Vec<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    let postgres = Store::open(&fresh_postgres().await).await.unwrap();
    vec![(sqlite, dir), (postgres, tempfile::tempdir().unwrap())]
}

fn event(tenant: &str, model: Option<&str>, status: u16, time_ms: i64, units: Units) -> UsageEvent {
    UsageEvent {
        id: uuid::Uuid::now_v7(),
        request_id: None,
        client_request_id: None,
        tenant_id: tenant.into(),
        key_id: None,
        user_id: None,
        service: "speech".into(),
        endpoint: "/v1/audio/transcriptions".into(),
        model: model.map(str::to_owned),
        status,
        latency_ms: 3,
        time_ms,
        units,
    }
}

// ---------------------------------------------------------------------
// Property: invoice subtotal == sum of priced events, exactly.

/// Prices in millionths of the currency per priced unit, written into the
/// catalog as decimals; the test prices events from these integers by its
/// own arithmetic, independent of the billing code.
#[derive(Debug, Clone)]
struct TestPrice {
    model: &'static str,
    unit: &'static str,
    micros: i64,
    minimum_ms: i64,
}

const MODELS: [&str; 3] = ["whisper-base", "all-minilm-l6-v2", "other"];

fn test_prices() -> Vec<TestPrice> {
    vec![
        TestPrice {
            model: "whisper-base",
            unit: "audio_second",
            micros: 123,
            minimum_ms: 1500,
        },
        TestPrice {
            model: "*",
            unit: "audio_second",
            micros: 7,
            minimum_ms: 0,
        },
        TestPrice {
            model: "all-minilm-l6-v2",
            unit: "1k_tokens",
            micros: 19,
            minimum_ms: 0,
        },
        TestPrice {
            model: "*",
            unit: "1k_characters",
            micros: 500_001,
            minimum_ms: 0,
        },
        TestPrice {
            model: "*",
            unit: "request",
            micros: 1_000,
            minimum_ms: 0,
        },
        TestPrice {
            model: "other",
            unit: "request",
            micros: 3,
            minimum_ms: 0,
        },
        TestPrice {
            model: "*",
            unit: "document",
            micros: 250,
            minimum_ms: 0,
        },
    ]
}

fn decimal_micros(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

fn catalog_toml(prices: &[TestPrice]) -> String {
    let mut lines = Vec::new();
    for p in prices {
        let minimum = if p.minimum_ms > 0 {
            format!(
                ", minimum_seconds = \"{}.{:03}\"",
                p.minimum_ms / 1000,
                p.minimum_ms % 1000
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "  {{ model = \"{}\", unit = \"{}\", price = \"{}\"{minimum} }},",
            p.model,
            p.unit,
            decimal_micros(p.micros)
        ));
    }
    format!(
        "currency = \"USD\"\ndefault_plan = \"p\"\n[plans.p]\nprices = [\n{}\n]\n",
        lines.join("\n")
    )
}

/// The test's own pricing: billionths, from the integer prices.
fn expected_cost(prices: &[TestPrice], e: &UsageEvent) -> i64 {
    if !(200..400).contains(&e.status) {
        return 0;
    }
    let find = |unit: &str| {
        let model = e.model.as_deref();
        prices
            .iter()
            .find(|p| p.unit == unit && Some(p.model) == model)
            .or_else(|| prices.iter().find(|p| p.unit == unit && p.model == "*"))
    };
    let mut total = 0_i64;
    for (unit, used) in [
        ("audio_second", e.units.audio_ms),
        ("1k_tokens", e.units.input_tokens),
        ("1k_characters", e.units.characters),
        ("request", e.units.requests),
        ("document", e.units.documents),
    ] {
        let Some(p) = find(unit) else { continue };
        if used == 0 {
            continue;
        }
        // micros per second × milliseconds = billionths; micros per 1,000
        // × count = billionths; micros per request × 1,000 = billionths.
        total += match unit {
            "audio_second" => used.max(p.minimum_ms) * p.micros,
            "request" | "document" => used * p.micros * 1000,
            _ => used * p.micros,
        };
    }
    total
}

fn arb_event() -> impl Strategy<Value = (Option<usize>, u16, i64, Units)> {
    (
        prop::option::of(0..MODELS.len()),
        prop::sample::select(vec![200_u16, 200, 200, 201, 400, 499, 500]),
        // Around two month boundaries (2026-01/02/03), to the millisecond.
        prop_oneof![
            -5_000_i64..5_000,
            2_419_200_000_i64 - 5_000..2_419_200_000 + 5_000,
            0_i64..5_000_000_000,
        ],
        (
            0_i64..4,
            0_i64..200_000,
            0_i64..50_000,
            0_i64..20_000,
            0_i64..5,
        ),
    )
        .prop_map(|(model, status, offset, (r, a, t, c, d))| {
            (
                model,
                status,
                offset,
                Units {
                    requests: r,
                    audio_ms: a,
                    input_tokens: t,
                    characters: c,
                    documents: d,
                },
            )
        })
}

/// 2026-02-01, 2026-03-01 and 2026-04-01 at 00:00 UTC, Unix milliseconds.
const FEB_2026: i64 = 1_769_904_000_000;
const MAR_2026: i64 = 1_772_323_200_000;
const APR_2026: i64 = 1_775_001_600_000;

#[test]
fn invoice_totals_equal_the_sum_of_priced_events() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = runtime.block_on(stores());
    let prices = test_prices();
    let catalog = Catalog::from_toml(&catalog_toml(&prices)).unwrap();
    // 2026-02-01T00:00:00Z: events fall in January, February and March.
    let feb = Month::parse("2026-02").unwrap();
    assert_eq!(feb.start_ms(), FEB_2026);
    assert_eq!(feb.end_ms(), MAR_2026);
    for (store, _dir) in &stores {
        let billing = Billing::new(store.clone(), BillingConfig::new(catalog.clone()));
        let mut runner = TestRunner::new(Config {
            cases: 24,
            ..Config::default()
        });
        let strategy = prop::collection::vec(arb_event(), 0..60);
        let result = runner.run(&strategy, |raw| {
            let tenant = format!("prop-{}", uuid::Uuid::now_v7().simple());
            let events: Vec<UsageEvent> = raw
                .iter()
                .map(|(model, status, offset, units)| {
                    event(
                        &tenant,
                        model.map(|m| MODELS[m]),
                        *status,
                        feb.start_ms() + offset,
                        *units,
                    )
                })
                .collect();
            // Months by the test's own calendar: 2026-02-01, 03-01, 04-01 UTC.
            let month_of = |t: i64| match t {
                t if t < FEB_2026 => "2026-01",
                t if t < MAR_2026 => "2026-02",
                t if t < APR_2026 => "2026-03",
                _ => "later",
            };
            let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
            for e in &events {
                *expected.entry(month_of(e.time_ms)).or_default() += expected_cost(&prices, e);
            }
            runtime.block_on(async {
                store.insert_usage_events(&events).await.unwrap();
                // March is a draft, January and February closed.
                let now = Month::parse("2026-03").unwrap().start_ms() + CLOSE_GRACE_MS + 1;
                for name in ["2026-01", "2026-02", "2026-03"] {
                    let month = Month::parse(name).unwrap();
                    let invoice = billing.invoice(&tenant, month, now).await.unwrap();
                    let want = expected.get(name).copied().unwrap_or(0);
                    prop_assert_eq!(
                        invoice.subtotal_nanos,
                        want,
                        "{} {}",
                        store.backend(),
                        month
                    );
                    let lines: i64 = invoice.lines.iter().map(|l| l.amount_nanos).sum();
                    prop_assert_eq!(lines, want);
                    prop_assert_eq!(
                        invoice.status,
                        if month.month == 3 { "draft" } else { "closed" }
                    );
                }
                Ok::<(), TestCaseError>(())
            })
        });
        if let Err(e) = result {
            panic!("{}: {e}", store.backend());
        }
    }
}

// ---------------------------------------------------------------------
// A gateway with billing in front of the real language service.

struct Gate {
    base: String,
    billing: Billing,
    meter: Meter,
    store: Store,
    /// tenant id → API key (speech, language, billing:read)
    keys: BTreeMap<String, String>,
    admin_key: String,
    _dirs: Vec<tempfile::TempDir>,
}

async fn language() -> LanguageService {
    let embedder = tokio::task::spawn_blocking(|| stratus_testkit::pulled(EMBEDDER))
        .await
        .unwrap();
    let readiness = Readiness::default();
    let language = LanguageService::new(LanguageConfig::new(8), readiness.clone());
    language.load(&embedder).unwrap();
    // The model loads on its own thread: requests sent before it is ready
    // get 404 model_not_found (seen on a busy CI machine).
    let started = std::time::Instant::now();
    while !readiness.report().await.ready {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "{EMBEDDER} never loaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    language
}

async fn gate(store: &Store, config: BillingConfig, language: Option<&LanguageService>) -> Gate {
    gate_with_speech(store, config, language, None).await
}

async fn gate_with_speech(
    store: &Store,
    config: BillingConfig,
    language: Option<&LanguageService>,
    speech: Option<&SpeechService>,
) -> Gate {
    let token = InternalToken::generate().unwrap();
    let upstreams = Upstreams {
        speech: speech.map(|s| Upstream::InProcess {
            service: "speech",
            router: s.router_with_context(Some(token.clone())),
        }),
        language: language.map(|l| Upstream::InProcess {
            service: "language",
            router: l.router_with_context(Some(token.clone())),
        }),
    };
    let secret = ServerSecret::new("billing-test-secret-billing-test-secret").unwrap();
    let auth = Auth::new(store.clone(), &secret);
    let home = tempfile::tempdir().unwrap();
    let admin = stratus_gateway::tenants::bootstrap_admin(&auth, home.path())
        .await
        .unwrap()
        .unwrap();
    let admin_key = std::fs::read_to_string(admin).unwrap().trim().to_owned();
    let mut keys = BTreeMap::new();
    for tenant in ["acme", "globex"] {
        store
            .create_tenant(&TenantRow {
                id: tenant.into(),
                name: tenant.into(),
                created_at: 0,
            })
            .await
            .unwrap();
        let created = auth
            .create_key(
                tenant,
                KeySpec {
                    scopes: Scopes::parse("speech,language,billing:read").unwrap(),
                    ..KeySpec::default()
                },
            )
            .await
            .unwrap();
        keys.insert(tenant.to_owned(), created.secret);
    }
    let wal = tempfile::tempdir().unwrap();
    let mut metering = MeteringConfig::new(wal.path());
    metering.flush_interval = Duration::from_millis(20);
    let meter = Meter::start(store.clone(), metering).await.unwrap();
    let billing = Billing::start(store.clone(), config);
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store: store.clone(),
            auth,
            internal_token: token,
            metering: Some(meter.clone()),
            billing: Some(billing.clone()),
            edge: stratus_gateway::EdgeConfig::default(),
            limits: stratus_gateway::limits::Limits::disabled(),
        },
        Readiness::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Gate {
        base,
        billing,
        meter,
        store: store.clone(),
        keys,
        admin_key,
        _dirs: vec![home, wal],
    }
}

impl Gate {
    async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Send a wave of 16 embeddings requests at once with `key` (numbered
    /// on from `n`). Each is served or refused as a spent budget whose
    /// message names `whose` (tenant or key), told not to retry: waiting
    /// cannot refill a budget, and no Retry-After invites it. Returns
    /// (served, refused).
    async fn wave(&self, key: &str, n: &mut usize, whose: &str) -> (i64, u32) {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            *n += 1;
            let request = client
                .post(format!("{}/v1/embeddings", self.base))
                .bearer_auth(key)
                .json(&wave_payload(*n));
            tasks.push(tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                (status, headers, response.json::<Value>().await.unwrap())
            }));
        }
        let (mut served, mut refused) = (0, 0);
        for task in tasks {
            let (status, headers, body) = task.await.unwrap();
            match status {
                200 => served += 1,
                429 => {
                    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
                    let message = body["error"]["message"].as_str().unwrap_or_default();
                    assert!(message.contains(whose), "{message}");
                    assert_eq!(headers["x-should-retry"], "false");
                    assert!(headers.get("retry-after").is_none(), "{headers:?}");
                    refused += 1;
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        (served, refused)
    }

    /// Wait until nothing is reserved for `tenant` this month.
    async fn settled(&self, tenant: &str) -> (i64, i64) {
        let month = Month::of_ms(now_ms()).to_string();
        let started = Instant::now();
        loop {
            let row = self
                .store
                .budget_month(tenant, &month)
                .await
                .unwrap()
                .unwrap_or_default();
            if row.reserved_nanos == 0 {
                return (row.spent_nanos, row.reserved_nanos);
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "reservations never settled: {row:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The `i`th request of a wave: a few tokens, each body about as long.
fn wave_payload(i: usize) -> Value {
    json!({"model": EMBEDDER, "input": format!("request number {i} of the wave")})
}

const CONCURRENCY_CATALOG: &str = r#"
currency = "USD"
default_plan = "metered"
[plans.metered]
prices = [
  { model = "*", unit = "1k_tokens", price = "1" },
  { model = "*", unit = "request", price = "0.001" },
]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_overshoot_the_hard_budget() {
    let language = language().await;
    for (store, _dir) in stores().await {
        overshoot_is_bounded(&store, &language).await;
    }
}

async fn overshoot_is_bounded(store: &Store, language: &LanguageService) {
    let backend = store.backend();
    let catalog = Catalog::from_toml(CONCURRENCY_CATALOG).unwrap();
    let gate = gate(store, BillingConfig::new(catalog), Some(language)).await;
    let key = gate.keys["acme"].clone();
    // 0.1 USD: a handful of requests (each ~5–10 tokens at 1 USD per 1,000,
    // plus 0.001), while each reserves ~0.06 (one token per body byte).
    let (status, budget) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/budget",
            &gate.admin_key,
            Some(json!({"soft_limit": null, "hard_limit": "0.1"})),
        )
        .await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(budget["hard_limit"], "0.10");

    let payload = wave_payload;
    let max_len = (0..1000)
        .map(|i| payload(i).to_string().len())
        .max()
        .unwrap();
    let plan = gate.billing.catalog().plan(None).clone();
    let one_reservation =
        gate.billing
            .max_cost(&plan, "language", "/v1/embeddings", Some(max_len as u64));
    let hard = Nanos::parse("0.1", 9).unwrap();

    let (mut ok, mut refused, mut n) = (0, 0, 0);
    for wave in 0..40 {
        let (wave_ok, wave_refused) = gate.wave(&key, &mut n, "tenant").await;
        (ok, refused) = (ok + wave_ok, refused + wave_refused);
        let (spent, _) = gate.settled("acme").await;
        assert!(
            spent <= hard.0 + one_reservation.0,
            "{backend}: wave {wave}: spent {spent} > hard {} + one reservation {}",
            hard.0,
            one_reservation.0
        );
        if wave_ok == 0 {
            break;
        }
    }
    assert!(
        ok > 0 && refused > 0,
        "{backend}: ok {ok}, refused {refused}"
    );
    // Operators see the refusals (the counter is the process's, so it has
    // the other store's run in it too).
    let metrics = stratus_gateway::observability::metrics::render();
    let counted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("stratus_gateway_rejections_total{reason=\"budget\"} "))
        .unwrap_or_else(|| panic!("no budget rejections counted:\n{metrics}"))
        .parse()
        .unwrap();
    assert!(counted >= f64::from(refused), "{counted} < {refused}");
    let (spent, _) = gate.settled("acme").await;
    // Refused with nothing reserved: the budget really is spent.
    assert!(
        spent >= hard.0,
        "{backend}: spent {spent} below the hard limit yet refused"
    );
    // Settled to the real cost: the spend is exactly the priced events.
    gate.meter.drain(Duration::from_secs(10)).await.unwrap();
    let draft = gate
        .billing
        .invoice("acme", Month::of_ms(now_ms()), now_ms())
        .await
        .unwrap();
    assert_eq!(
        draft.subtotal_nanos, spent,
        "{backend}: spend vs priced events"
    );
    let requests: i64 = draft
        .lines
        .iter()
        .filter(|l| l.unit == "request")
        .map(|l| l.quantity.parse::<i64>().unwrap())
        .sum();
    assert_eq!(requests, ok, "{backend}: every success billed once");

    // Still refused; the budget endpoint says why.
    let (status, body) = gate
        .call("POST", "/v1/embeddings", &key, Some(payload(0)))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("insufficient_quota"))
    );
    let (status, view) = gate.call("GET", "/v1/billing/budget", &key, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["hard_limit_reached"], true, "{view}");
    assert_eq!(view["reserved"], "0.00");
    // Another tenant is not affected.
    let (status, _) = gate
        .call(
            "POST",
            "/v1/embeddings",
            &gate.keys["globex"],
            Some(payload(1)),
        )
        .await;
    assert_eq!(status, 200, "{backend}");
    // Raising the limit admits requests again.
    let (status, _) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/budget",
            &gate.admin_key,
            Some(json!({"soft_limit": null, "hard_limit": "100"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = gate
        .call("POST", "/v1/embeddings", &key, Some(payload(2)))
        .await;
    assert_eq!(status, 200, "{backend}");
    gate.meter.halt().await;
}

// ---------------------------------------------------------------------
// A key's own budget: caps that key alone, under its tenant's.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_keys_own_budget_caps_that_key_alone() {
    let language = language().await;
    for (store, _dir) in stores().await {
        key_budget_is_bounded(&store, &language).await;
    }
}

async fn key_budget_is_bounded(store: &Store, language: &LanguageService) {
    let backend = store.backend();
    let catalog = Catalog::from_toml(CONCURRENCY_CATALOG).unwrap();
    let gate = gate(store, BillingConfig::new(catalog), Some(language)).await;
    let (status, created) = gate
        .call(
            "POST",
            "/v1/admin/tenants/acme/keys",
            &gate.admin_key,
            Some(json!({"scopes": ["language", "billing:read"], "name": "capped"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let capped = created["secret"].as_str().unwrap().to_owned();
    let capped_id = created["id"].as_str().unwrap().to_owned();
    let payload = wave_payload;

    // Spend before the key has a budget counts once it gets one.
    for i in 0..2 {
        let (status, body) = gate
            .call("POST", "/v1/embeddings", &capped, Some(payload(i)))
            .await;
        assert_eq!(status, 200, "{backend}: {body}");
    }
    gate.meter.drain(Duration::from_secs(10)).await.unwrap();
    let path = format!("/v1/admin/tenants/acme/keys/{capped_id}/budget");
    let (status, view) = gate
        .call(
            "PUT",
            &path,
            &gate.admin_key,
            Some(json!({"hard_limit": "0.1"})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["object"].as_str(), view["hard_limit"].as_str()),
        (Some("billing.key_budget"), Some("0.10"))
    );
    let before = Nanos::parse(view["spent"].as_str().unwrap(), 9).unwrap();
    assert!(before.0 > 0, "{backend}: earlier spend not counted: {view}");
    // Someone else's key, or a key of another tenant: not found.
    let other = format!("/v1/admin/tenants/globex/keys/{capped_id}/budget");
    let (status, _) = gate
        .call(
            "PUT",
            &other,
            &gate.admin_key,
            Some(json!({"hard_limit": "5"})),
        )
        .await;
    assert_eq!(status, 404, "{backend}");
    let (status, body) = gate
        .call(
            "PUT",
            &path,
            &gate.admin_key,
            Some(json!({"hard_limit": "ten"})),
        )
        .await;
    assert_eq!(status, 400, "{backend}: {body}");
    // The tenant's own key managers (`keys` scope): the same change on a
    // key holding no more than they do; never their own key, nor a
    // broader one.
    let (status, created) = gate
        .call(
            "POST",
            "/v1/admin/tenants/acme/keys",
            &gate.admin_key,
            Some(json!({"scopes": ["keys", "language", "billing:read"], "name": "manager"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let manager = created["secret"].as_str().unwrap().to_owned();
    let manager_id = created["id"].as_str().unwrap().to_owned();
    let own = |id: &str| format!("/v1/keys/{id}/budget");
    let (status, view) = gate
        .call(
            "PUT",
            &own(&capped_id),
            &manager,
            Some(json!({"hard_limit": "0.1"})),
        )
        .await;
    assert_eq!(
        (status, view["hard_limit"].as_str()),
        (200, Some("0.10")),
        "{view}"
    );
    let (status, body) = gate
        .call(
            "PUT",
            &own(&manager_id),
            &manager,
            Some(json!({"hard_limit": null})),
        )
        .await;
    assert_eq!(status, 403, "{backend}: {body}");
    let (status, keys) = gate
        .call("GET", "/v1/admin/tenants/acme/keys", &gate.admin_key, None)
        .await;
    assert_eq!(status, 200, "{keys}");
    let broader = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| {
            k["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "speech")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = gate
        .call(
            "PUT",
            &own(&broader),
            &manager,
            Some(json!({"hard_limit": "1"})),
        )
        .await;
    assert_eq!(status, 403, "{backend}: {body}");

    let max_len = (0..1000)
        .map(|i| payload(i).to_string().len())
        .max()
        .unwrap();
    let plan = gate.billing.catalog().plan(None).clone();
    let one_reservation =
        gate.billing
            .max_cost(&plan, "language", "/v1/embeddings", Some(max_len as u64));
    let hard = Nanos::parse("0.1", 9).unwrap();
    let month = Month::of_ms(now_ms()).to_string();
    let key_row = || async {
        gate.billing.sync_ledger(false).await;
        store
            .budget_month(&capped_id, &month)
            .await
            .unwrap()
            .unwrap_or_default()
    };
    let (mut ok, mut refused, mut n) = (0, 0, 10);
    for wave in 0..40 {
        let (wave_ok, wave_refused) = gate.wave(&capped, &mut n, "API key").await;
        (ok, refused) = (ok + wave_ok, refused + wave_refused);
        let row = key_row().await;
        assert!(
            row.spent_nanos <= hard.0 + one_reservation.0,
            "{backend}: wave {wave}: key spent {} > hard {} + one reservation {}",
            row.spent_nanos,
            hard.0,
            one_reservation.0
        );
        if wave_ok == 0 {
            break;
        }
    }
    assert!(
        ok > 0 && refused > 0,
        "{backend}: ok {ok}, refused {refused}"
    );
    // The key's month is its priced events, to the nano.
    gate.meter.drain(Duration::from_secs(10)).await.unwrap();
    let row = key_row().await;
    assert_eq!(row.reserved_nanos, 0, "{backend}");
    assert!(
        row.spent_nanos >= hard.0,
        "{backend}: refused below the limit"
    );
    let breakdown = gate
        .billing
        .breakdown("acme", Month::of_ms(now_ms()))
        .await
        .unwrap();
    assert_eq!(
        breakdown.by_key.get(&Some(capped_id.clone())).copied(),
        Some(Nanos(row.spent_nanos)),
        "{backend}: key spend vs its priced events"
    );

    // The key sees why; the tenant's budget is untouched and its other
    // key goes on.
    let (status, view) = gate.call("GET", "/v1/billing/budget", &capped, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["key"]["key_id"], capped_id.as_str(), "{view}");
    assert_eq!(view["key"]["hard_limit_reached"], true, "{view}");
    assert_eq!(view["hard_limit"], Value::Null, "{view}");
    assert_eq!(view["hard_limit_reached"], false, "{view}");
    let (status, view) = gate
        .call("GET", "/v1/billing/budget", &gate.keys["acme"], None)
        .await;
    assert_eq!(status, 200);
    // That key has no budget of its own.
    assert!(view["key"].is_null(), "{view}");
    let (status, _) = gate
        .call(
            "POST",
            "/v1/embeddings",
            &gate.keys["acme"],
            Some(payload(1)),
        )
        .await;
    assert_eq!(status, 200, "{backend}");
    // The tenant's own limit still applies to the key: a spent tenant
    // refuses it with the tenant's message.
    let (status, _) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/budget",
            &gate.admin_key,
            Some(json!({"soft_limit": null, "hard_limit": "0"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = gate
        .call(
            "PUT",
            &path,
            &gate.admin_key,
            Some(json!({"hard_limit": null})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = gate
        .call("POST", "/v1/embeddings", &capped, Some(payload(2)))
        .await;
    assert_eq!(status, 429, "{backend}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("tenant"),
        "{body}"
    );
    // Both lifted: admitted again.
    let (status, _) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/budget",
            &gate.admin_key,
            Some(json!({"soft_limit": null, "hard_limit": null})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = gate
        .call("POST", "/v1/embeddings", &capped, Some(payload(3)))
        .await;
    assert_eq!(status, 200, "{backend}: {body}");
    gate.meter.halt().await;
}

// ---------------------------------------------------------------------
// Holds: settle to the real cost in memory; leases reach the store in
// chunks, go back when idle or closed, and expire when abandoned.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_settle_to_the_real_cost_and_leases_expire() {
    for (store, _dir) in stores().await {
        holds_and_leases(&store).await;
    }
}

async fn holds_and_leases(store: &Store) {
    let backend = store.backend();
    let catalog = Catalog::from_toml(CONCURRENCY_CATALOG).unwrap();
    let mut config = BillingConfig::new(catalog);
    config.reservation_ttl = Duration::from_secs(60);
    config.ledger.idle_return = Duration::ZERO;
    let billing = Billing::new(store.clone(), config.clone());
    let tenant = format!("rsv-{}", uuid::Uuid::now_v7().simple());
    let month = Month::of_ms(now_ms()).to_string();
    let row = || async {
        store
            .budget_month(&tenant, &month)
            .await
            .unwrap()
            .unwrap_or_default()
    };
    let units = Units {
        requests: 1,
        input_tokens: 12,
        ..Units::default()
    };
    let mut e = event(&tenant, Some("m"), 200, now_ms(), units);
    e.service = "language".into();
    let cost = 12 * 1_000_000 + 1_000_000;

    // Without a hard limit nothing is reserved in the store; the spend
    // arrives at the next sync.
    let held = billing
        .reserve(&tenant, None, "language", "/v1/embeddings", Some(1000))
        .await
        .unwrap();
    assert_eq!(
        held.amount(),
        Nanos(1_000 * 1_000_000 + 1_000_000),
        "{backend}"
    );
    assert_eq!(row().await.reserved_nanos, 0, "{backend}");
    held.on_recorded().call(&e, &HeaderMap::new());
    held.on_recorded().call(&e, &HeaderMap::new()); // at most once
    drop(held);
    billing.sync_ledger(false).await;
    assert_eq!(
        (row().await.spent_nanos, row().await.reserved_nanos),
        (cost, 0),
        "{backend}"
    );
    // Dropped unrecorded (never reached a service): nothing spent.
    drop(
        billing
            .reserve(&tenant, None, "language", "/v1/embeddings", Some(10))
            .await
            .unwrap(),
    );
    billing.sync_ledger(false).await;
    assert_eq!(row().await.spent_nanos, cost, "{backend}");

    // With a hard limit (1 USD): the first request leases at most half of
    // what is left, and 64 requests' worth at most.
    billing
        .store()
        .set_tenant_budget(&tenant, None, Some(1_000_000_000))
        .await
        .unwrap();
    billing.forget_terms(&tenant);
    let held = billing
        .reserve(&tenant, None, "language", "/v1/embeddings", Some(100))
        .await
        .unwrap();
    let one = held.amount().0;
    let lease = row().await.reserved_nanos;
    let room = 1_000_000_000 - cost;
    assert_eq!(lease, (room / 2).min(64 * one).max(one), "{backend}");
    // More requests fit the lease: no store change.
    let more: Vec<_> = futures::future::join_all(
        (0..3).map(|_| billing.reserve(&tenant, None, "language", "/v1/embeddings", Some(100))),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(row().await.reserved_nanos, lease, "{backend}");
    held.on_recorded().call(&e, &HeaderMap::new());
    drop(held);
    drop(more);
    // Idle (no holds): the sync moves the spend and gives the lease back.
    billing.sync_ledger(false).await;
    assert_eq!(
        (row().await.spent_nanos, row().await.reserved_nanos),
        (2 * cost, 0),
        "{backend}"
    );
    assert_eq!(
        billing
            .ledger()
            .book_state(&Account::Tenant(tenant.clone()), &month)
            .unwrap_or_default(),
        (0, 0, 0),
        "{backend}"
    );

    // Abandoned (the gateway died holding a lease): held until it expires,
    // then the sweeper releases it.
    let held = billing
        .reserve(&tenant, None, "language", "/v1/embeddings", Some(100))
        .await
        .unwrap();
    let lease = row().await.reserved_nanos;
    assert!(lease >= held.amount().0, "{backend}");
    std::mem::forget(held);
    assert_eq!(
        billing.sweep(now_ms()).await.unwrap(),
        0,
        "{backend}: not expired yet"
    );
    assert_eq!(row().await.reserved_nanos, lease);
    assert_eq!(
        billing.sweep(now_ms() + 61_000).await.unwrap(),
        1,
        "{backend}"
    );
    assert_eq!(row().await.reserved_nanos, 0);
    assert_eq!(row().await.spent_nanos, 2 * cost);

    // A lease of a dead gateway that blocks a small budget is released by
    // the next request's retry once expired.
    billing
        .store()
        .set_tenant_budget(&tenant, None, Some(2 * cost + 1_000_000))
        .await
        .unwrap();
    let mut short = config.clone();
    short.reservation_ttl = Duration::from_millis(1);
    let dead = Billing::new(store.clone(), short.clone());
    std::mem::forget(
        dead.reserve(&tenant, None, "language", "/v1/embeddings", Some(100))
            .await
            .unwrap(),
    );
    std::mem::forget(dead);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let other = Billing::new(store.clone(), short);
    assert!(
        other
            .reserve(&tenant, None, "language", "/v1/embeddings", Some(100))
            .await
            .is_ok(),
        "{backend}"
    );

    // Closing gives every lease back.
    other.shutdown().await;
    assert_eq!(row().await.reserved_nanos, 0, "{backend}");
}

// ---------------------------------------------------------------------
// Soft limit: one signed webhook a month.

/// What the webhook receiver got: headers and body of each POST.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_limit_alert_fires_once() {
    for (store, _dir) in stores().await {
        soft_alert(&store).await;
    }
}

async fn soft_alert(store: &Store) {
    let backend = store.backend();
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let catalog = Catalog::from_toml(CONCURRENCY_CATALOG).unwrap();
    let mut config = BillingConfig::new(catalog);
    config.webhook = Some(AlertWebhook {
        url,
        secret: stratus_speech::jobs::webhook::WebhookSecret::new("hook-secret"),
        // The receiver is on loopback, which the policy refuses unless named.
        policy: stratus_kit::destination::DestinationPolicy::new()
            .allow_http(true)
            .allow("127.0.0.1")
            .unwrap(),
    });
    let billing = Billing::start(store.clone(), config);
    let tenant = format!("soft-{}", uuid::Uuid::now_v7().simple());
    // Soft 0.05: crossed by the fifth 0.011 request; no hard limit.
    billing
        .store()
        .set_tenant_budget(&tenant, Some(50_000_000), None)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let billing = billing.clone();
        let tenant = tenant.clone();
        tasks.push(tokio::spawn(async move {
            let held = billing
                .reserve(&tenant, None, "language", "/v1/embeddings", Some(50))
                .await
                .unwrap();
            let units = Units {
                requests: 1,
                input_tokens: 10,
                ..Units::default()
            };
            held.on_recorded().call(
                &event(&tenant, None, 200, now_ms(), units),
                &HeaderMap::new(),
            );
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let started = Instant::now();
    while received.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{backend}: no webhook"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give a second (wrong) alert time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{backend}: alerts: {}", got.len());
    let (headers, body) = &got[0];
    assert_eq!(headers["x-stratus-event"], "budget.soft_limit_reached");
    let signature = headers["x-stratus-signature"].to_str().unwrap();
    assert!(stratus_speech::jobs::webhook::verify(
        b"hook-secret",
        signature,
        body,
        now_ms() / 1000,
        300
    ));
    let alert: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(alert["tenant_id"], tenant.as_str());
    assert_eq!(alert["limit"], "0.05");
    let view = billing.budget(&tenant).await.unwrap();
    assert!(
        view.soft_limit_reached && view.soft_alerted_at.is_some(),
        "{view:?}"
    );
    assert!(!view.hard_limit_reached);
    assert_eq!(view.spent, Nanos(12 * 11_000_000));
}

// ---------------------------------------------------------------------
// Invoices: closed months are immutable; per tenant; CSV.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_invoices_are_immutable_per_tenant_and_come_as_csv() {
    for (store, _dir) in stores().await {
        invoices(&store).await;
    }
}

async fn invoices(store: &Store) {
    let backend = store.backend();
    let cheap = "currency = \"EUR\"\ndefault_plan = \"a\"\n[plans.a]\nprices = [{ model = \"*\", unit = \"audio_second\", price = \"0.01\", minimum_seconds = \"2\" }]\n[plans.b]\nprices = []\n";
    let dear = cheap.replace("0.01", "0.5");
    let now = now_ms();
    let this = Month::of_ms(now);
    let last = this.prev();
    let units = Units {
        requests: 1,
        audio_ms: 1500,
        ..Units::default()
    };
    let events = vec![
        event("acme", Some("whisper"), 200, last.start_ms() + 1, units),
        event(
            "acme",
            Some("whisper"),
            200,
            last.end_ms() - 1,
            Units {
                audio_ms: 4321,
                ..units
            },
        ),
        event("acme", Some("whisper"), 200, now - 1000, units),
        event("globex", Some("whisper"), 200, now - 1000, units),
    ];
    store.insert_usage_events(&events).await.unwrap();

    let gate = gate(
        store,
        BillingConfig::new(Catalog::from_toml(cheap).unwrap()),
        None,
    )
    .await;
    // Read last month after it closed: 2 s minimum + 4.321 s at 0.01.
    let later = last.end_ms() + CLOSE_GRACE_MS + 1;
    let closed = gate
        .billing
        .invoice("acme", last, later.max(now))
        .await
        .unwrap();
    assert_eq!(closed.status, "closed");
    assert_eq!(closed.subtotal_nanos, 63_210_000, "{backend}: {closed:?}");
    assert_eq!(closed.lines[0].quantity, "6.321");
    assert_eq!(closed.lines[0].unit_price.to_string(), "0.01");

    // Prices rise, a late event arrives: the closed month does not move,
    // the draft does.
    let dear_billing = Billing::new(
        store.clone(),
        BillingConfig::new(Catalog::from_toml(&dear).unwrap()),
    );
    store
        .insert_usage_events(&[event(
            "acme",
            Some("whisper"),
            200,
            last.end_ms() - 2,
            units,
        )])
        .await
        .unwrap();
    let again = dear_billing
        .invoice("acme", last, later.max(now) + 5)
        .await
        .unwrap();
    assert_eq!(again, closed, "{backend}: a closed invoice changed");
    let cheap_draft = gate.billing.invoice("acme", this, now).await.unwrap();
    let dear_draft = dear_billing.invoice("acme", this, now).await.unwrap();
    assert_eq!(cheap_draft.status, "draft");
    assert_eq!(
        (cheap_draft.subtotal_nanos, dear_draft.subtotal_nanos),
        (20_000_000, 1_000_000_000)
    );

    // Over HTTP: the caller's invoices only.
    let acme = gate.keys["acme"].clone();
    let globex = gate.keys["globex"].clone();
    let (status, list) = gate.call("GET", "/v1/billing/invoices", &acme, None).await;
    assert_eq!(status, 200, "{list}");
    let data = list["data"].as_array().unwrap();
    assert!(data.len() >= 2);
    assert_eq!(data[0]["status"], "draft");
    assert_eq!(data[0]["month"], this.to_string());
    let id = data[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = gate
        .call("GET", &format!("/v1/billing/invoices/{id}"), &acme, None)
        .await;
    assert_eq!(
        (status, one["subtotal"].as_str()),
        (200, Some("0.02")),
        "{one}"
    );
    let (status, other) = gate
        .call("GET", &format!("/v1/billing/invoices/{id}"), &globex, None)
        .await;
    assert_eq!(
        (status, other["error"]["type"].as_str()),
        (404, Some("not_found_error")),
        "{other}"
    );
    let (status, _) = gate
        .call("GET", "/v1/billing/invoices/inv_999901_00", &acme, None)
        .await;
    assert_eq!(status, 404);
    let (status, bad) = gate
        .call("GET", "/v1/billing/invoices?format=xml", &acme, None)
        .await;
    assert_eq!(status, 400, "{bad}");

    // CSV, by query and by Accept.
    let client = reqwest::Client::new();
    for (url, accept) in [
        (
            format!("{}/v1/billing/invoices/{id}?format=csv", gate.base),
            "application/json",
        ),
        (
            format!("{}/v1/billing/invoices/{id}", gate.base),
            "text/csv",
        ),
    ] {
        let response = client
            .get(url)
            .bearer_auth(&acme)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = response.text().await.unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "invoice_id,month,status,currency,model,unit,quantity,unit_price,amount"
        );
        assert_eq!(
            rows[1],
            format!("{id},{this},draft,EUR,whisper,audio_second,2,0.01,0.02")
        );
        assert_eq!(rows[2], format!("{id},{this},draft,EUR,,subtotal,,,0.02"));
    }
    let response = client
        .get(format!("{}/v1/billing/invoices?format=csv", gate.base))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains(",closed,EUR,,subtotal,,,0.06321")),
        "{backend}: {text}"
    );

    // Plans over the admin API; a viewer key cannot set them.
    let (status, plan) = gate
        .call("GET", "/v1/admin/tenants/acme/plan", &gate.admin_key, None)
        .await;
    assert_eq!((status, plan["plan"].as_str()), (200, Some("a")));
    let (status, plan) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/plan",
            &gate.admin_key,
            Some(json!({"plan": "b"})),
        )
        .await;
    assert_eq!((status, plan["plan"].as_str()), (200, Some("b")));
    let (status, draft) = gate
        .call("GET", &format!("/v1/billing/invoices/{id}"), &acme, None)
        .await;
    assert_eq!(
        (status, draft["subtotal"].as_str(), draft["plan"].as_str()),
        (200, Some("0.00"), Some("b"))
    );
    let (status, bad) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/plan",
            &gate.admin_key,
            Some(json!({"plan": "gold"})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/nobody/plan",
            &gate.admin_key,
            Some(json!({"plan": "b"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = gate
        .call(
            "PUT",
            "/v1/admin/tenants/acme/plan",
            &acme,
            Some(json!({"plan": "a"})),
        )
        .await;
    assert_eq!(status, 403);
    for bad in [
        json!({"soft_limit": "-1", "hard_limit": null}),
        json!({"soft_limit": "1e3", "hard_limit": null}),
        json!({"hard_limit": 5}),
    ] {
        let (status, body) = gate
            .call(
                "PUT",
                "/v1/admin/tenants/acme/budget",
                &gate.admin_key,
                Some(bad.clone()),
            )
            .await;
        assert!(status == 400 || status == 422, "{bad}: {status} {body}");
    }
    gate.meter.halt().await;
}

// ---------------------------------------------------------------------
// Async jobs: a completed job's audio is metered exactly once.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_job_is_metered_once() {
    for (store, _dir) in stores().await {
        completed_job(&store).await;
    }
}

async fn completed_job(store: &Store) {
    use stratus_kit::db::DbPool;
    use stratus_speech::jobs::store::{JobStore, Lease, NewJob, Outcome};
    let backend = store.backend();
    let pool = match store {
        Store::Sqlite(pool) => DbPool::Sqlite(pool.clone()),
        Store::Postgres(pool) => DbPool::Postgres(pool.clone()),
    };
    let jobs = JobStore::with_pool(pool).await.unwrap();
    let catalog = Catalog::from_toml(
        "currency = \"USD\"\ndefault_plan = \"p\"\n[plans.p]\nprices = [{ model = \"*\", unit = \"audio_second\", price = \"0.001\" }]\n",
    )
    .unwrap();
    let billing = Billing::new(store.clone(), BillingConfig::new(catalog));
    let tenant = format!("jobs-{}", uuid::Uuid::now_v7().simple());
    // Submitted with a key that has a budget of its own.
    let key = format!("key_{}", uuid::Uuid::now_v7().simple());
    billing
        .set_key_budget(&tenant, &key, Some(Nanos(1_000_000_000)))
        .await
        .unwrap();
    let job = jobs
        .insert(
            NewJob {
                tenant_id: tenant.clone(),
                key_id: Some(key.clone()),
                task: "transcribe".into(),
                model: "whisper-tiny.en".into(),
                language: None,
                prompt: None,
                response_format: "json".into(),
                segment_granularity: false,
                filename: None,
                content_type: None,
                audio: vec![0; 16],
                webhook_url: None,
            },
            10,
        )
        .await
        .unwrap()
        .unwrap();
    // The submit handed the job a reservation on the key's month too.
    let month = Month::of_ms(now_ms()).to_string();
    let key_reservation = stratus_gateway::billing::jobs::key_reservation_id(&job.id);
    store
        .lease_to_job(
            None,
            &stratus_gateway::store::billing::NewReservation {
                id: &key_reservation,
                account_id: &key,
                month: &month,
                amount_nanos: 50_000_000,
                now_ms: now_ms(),
                expires_at_ms: now_ms() + 60_000,
            },
        )
        .await
        .unwrap();
    // Not finished yet: nothing to meter, the reservation kept.
    stratus_gateway::billing::jobs::collect(store, &jobs, Some(&billing))
        .await
        .unwrap();
    let key_month = || async {
        store
            .budget_month(&key, &month)
            .await
            .unwrap()
            .unwrap_or_default()
    };
    assert_eq!(key_month().await.reserved_nanos, 50_000_000, "{backend}");
    let claimed = jobs.claim("worker-1", 60_000, 3).await.unwrap().unwrap();
    assert_eq!(claimed.row.id, job.id);
    let lease = Lease {
        job_id: job.id.clone(),
        owner: "worker-1".into(),
        attempt: claimed.row.attempt,
    };
    let outcome = Outcome::Succeeded {
        result: "{}".into(),
        audio_seconds: 12.345,
    };
    assert!(jobs.finish(&lease, &outcome).await.unwrap());
    // Several passes (as several replicas would): one event.
    let mut new = 0;
    for _ in 0..3 {
        new += stratus_gateway::billing::jobs::collect(store, &jobs, Some(&billing))
            .await
            .unwrap();
    }
    assert_eq!(new, 1, "{backend}");
    let events = store
        .usage_events(&stratus_gateway::store::usage::EventFilter {
            tenant_id: Some(tenant.clone()),
            after_seq: 0,
            from_ms: i64::MIN,
            to_ms: i64::MAX,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{backend}");
    assert_eq!(events[0].event.units.audio_ms, 12_345);
    assert_eq!(events[0].event.units.requests, 0);
    assert_eq!(events[0].event.request_id.as_deref(), Some(job.id.as_str()));
    // The job's audio is the key's spend.
    assert_eq!(events[0].event.key_id.as_deref(), Some(key.as_str()));
    // Charged to the budget once: 12.345 s × 0.001.
    let view = billing.budget(&tenant).await.unwrap();
    assert_eq!(view.spent, Nanos(12_345_000), "{backend}");
    // And to the key's, its reservation settled.
    let key_row = key_month().await;
    assert_eq!(
        (key_row.spent_nanos, key_row.reserved_nanos),
        (12_345_000, 0),
        "{backend}"
    );
    assert_eq!(
        billing.key_budget(&tenant, &key).await.unwrap().spent,
        Nanos(12_345_000)
    );
    // Each pass re-read the job (it finished inside the overlap window),
    // and a fresh collector (a restarted gateway) does too: still once.
    assert_eq!(
        stratus_gateway::billing::jobs::collect(store, &jobs, Some(&billing))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        billing.budget(&tenant).await.unwrap().spent,
        Nanos(12_345_000)
    );
    assert_eq!(key_month().await.spent_nanos, 12_345_000, "{backend}");
}

// ---------------------------------------------------------------------
// Async jobs hold their budget from submit to end.

/// A WAV of `seconds` of silence at 16 kHz (its header declares them).
fn silent_wav(seconds: u32) -> Vec<u8> {
    let data = seconds * 16_000 * 2;
    let mut wav = Vec::with_capacity(44 + data as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16_u32.to_le_bytes());
    wav.extend_from_slice(&1_u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1_u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000_u32.to_le_bytes());
    wav.extend_from_slice(&32_000_u32.to_le_bytes());
    wav.extend_from_slice(&2_u16.to_le_bytes());
    wav.extend_from_slice(&16_u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(44 + data as usize, 0);
    wav
}

/// 0.0001 USD per audio second, nothing else: a 2 s job costs 0.0002.
const JOBS_CATALOG: &str = "currency = \"USD\"\ndefault_plan = \"p\"\n[plans.p]\nprices = [{ model = \"*\", unit = \"audio_second\", price = \"0.0001\" }]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_hold_their_budget_from_submit_to_end_and_stay_readable_at_the_limit() {
    let whisper = tokio::task::spawn_blocking(|| stratus_testkit::pulled("whisper-tiny.en"))
        .await
        .unwrap();
    let speech = SpeechService::new(SpeechConfig::default(), Readiness::default());
    speech.load(&whisper).unwrap();
    let started = Instant::now();
    while speech.whisper.get("whisper-tiny.en").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "whisper never loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (store, _dir) in stores().await {
        jobs_budget(&store, &speech).await;
    }
}

async fn jobs_budget(store: &Store, speech: &SpeechService) {
    use stratus_kit::db::DbPool;
    use stratus_speech::jobs::store::{Lease, Outcome};
    use stratus_speech::jobs::{JobConfig, JobStore, Jobs};
    let backend = store.backend();
    let pool = match store {
        Store::Sqlite(pool) => DbPool::Sqlite(pool.clone()),
        Store::Postgres(pool) => DbPool::Postgres(pool.clone()),
    };
    let job_store = JobStore::with_pool(pool).await.unwrap();
    // No workers: the test finishes jobs itself, so they stay queued as
    // long as it needs.
    let jobs = Jobs::new(job_store.clone(), JobConfig::default()).unwrap();
    let speech = speech.clone().with_jobs(jobs);
    let catalog = Catalog::from_toml(JOBS_CATALOG).unwrap();
    let gate = gate_with_speech(store, BillingConfig::new(catalog), None, Some(&speech)).await;
    let key = gate.keys["acme"].clone();
    // The issue's budget: 0.0005. A job of 2 s holds 0.0002 while queued.
    let hard = 500_000_i64;
    store
        .set_tenant_budget("acme", None, Some(hard))
        .await
        .unwrap();
    let plan = gate.billing.catalog().plan(None).clone();
    let one_reservation = gate
        .billing
        .max_cost(&plan, "speech", "/v1/audio/jobs", None)
        .0;
    let job_hold = 200_000_i64;
    let month = Month::of_ms(now_ms()).to_string();
    let row = || async {
        store
            .budget_month("acme", &month)
            .await
            .unwrap()
            .unwrap_or_default()
    };
    let client = reqwest::Client::new();
    let submit = || {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(silent_wav(2)).file_name("two.wav"),
            )
            .text("model", "whisper-1");
        client
            .post(format!("{}/v1/audio/jobs", gate.base))
            .bearer_auth(&key)
            .multipart(form)
            .send()
    };

    // Submit one after another (each hand-off seen before the next): as
    // many are accepted as the budget holds, then 429.
    let mut accepted: Vec<String> = Vec::new();
    let mut refused = 0;
    for _ in 0..8 {
        let response = submit().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        match status {
            202 => {
                accepted.push(body["id"].as_str().unwrap().to_owned());
                // The submit's reservation becomes the job's.
                let want = job_hold * accepted.len() as i64;
                let started = Instant::now();
                while row().await.reserved_nanos != want {
                    assert!(
                        started.elapsed() < Duration::from_secs(10),
                        "{backend}: reserved {:?}, want {want}",
                        row().await
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            429 => {
                assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
                refused += 1;
            }
            other => panic!("{backend}: unexpected {other}: {body}"),
        }
    }
    // 0 and 0.0002 and 0.0004 are under 0.0005; 0.0006 is not.
    assert_eq!(accepted.len(), 3, "{backend}: accepted {accepted:?}");
    assert_eq!(refused, 5, "{backend}");
    assert_eq!(
        row().await.spent_nanos,
        0,
        "{backend}: a submit costs nothing here"
    );

    // Two jobs succeed (at their declared length), one stays queued.
    for id in &accepted[..2] {
        let claimed = job_store
            .claim("test-worker", 60_000, 3)
            .await
            .unwrap()
            .unwrap();
        let lease = Lease {
            job_id: claimed.row.id.clone(),
            owner: "test-worker".into(),
            attempt: claimed.row.attempt,
        };
        assert_eq!(&lease.job_id, id, "{backend}: claimed in order");
        let outcome = Outcome::Succeeded {
            result: "{\"text\":\"\"}".into(),
            audio_seconds: 2.0,
        };
        assert!(job_store.finish(&lease, &outcome).await.unwrap());
    }
    // Metered on several replicas' passes: once each, settled to the cost.
    let mut new = 0;
    for _ in 0..3 {
        new += stratus_gateway::billing::jobs::collect(store, &job_store, Some(&gate.billing))
            .await
            .unwrap();
    }
    assert_eq!(new, 2, "{backend}");
    let now = row().await;
    assert_eq!(
        (now.spent_nanos, now.reserved_nanos),
        (2 * job_hold, job_hold),
        "{backend}"
    );
    assert!(now.spent_nanos <= hard + one_reservation);

    // At the limit (spent + reserved ≥ 0.0005): no new job, but what was
    // paid for can be read, listed and cancelled.
    let response = submit().await.unwrap();
    assert_eq!(response.status(), 429, "{backend}");
    let (status, job) = gate
        .call(
            "GET",
            &format!("/v1/audio/jobs/{}", accepted[0]),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{backend}: {job}");
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["text"], "", "{job}");
    let (status, list) = gate.call("GET", "/v1/audio/jobs", &key, None).await;
    assert_eq!(status, 200, "{backend}: {list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 3, "{list}");
    let (status, cancelled) = gate
        .call(
            "DELETE",
            &format!("/v1/audio/jobs/{}", accepted[2]),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{backend}: {cancelled}");
    assert_eq!(cancelled["status"], "cancelled");

    // The cancel releases the job's reservation; nothing more is spent.
    stratus_gateway::billing::jobs::collect(store, &job_store, Some(&gate.billing))
        .await
        .unwrap();
    let (spent, _) = gate.settled("acme").await;
    assert_eq!(spent, 2 * job_hold, "{backend}");
    // Room again: one more job is admitted.
    let response = submit().await.unwrap();
    assert_eq!(response.status(), 202, "{backend}");
    gate.meter.halt().await;
}

// ---------------------------------------------------------------------
// Each endpoint is billed by one unit; lines that cost nothing are hidden.

/// The built-in catalog, plus a free per-document price on the analysis
/// routes: a line that costs nothing, for the invoice to hide.
fn one_unit_catalog() -> String {
    let free_documents = "  { model = \"*\", endpoint = \"/v1/language/*\", unit = \"document\", price = \"0\" },\n]";
    let builtin = stratus_gateway::billing::catalog::BUILTIN_TOML;
    // The prices list ends at the text's last `]`.
    let end = builtin.rfind(']').unwrap();
    format!("{}{free_documents}{}", &builtin[..end], &builtin[end + 1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invoices_bill_each_endpoint_by_one_unit_and_hide_free_lines() {
    let ours = Catalog::from_toml(&one_unit_catalog()).unwrap();
    let language = language().await;
    let (store, _dir) = stores().await.swap_remove(0);
    let gate = gate(&store, BillingConfig::new(ours), Some(&language)).await;
    let key = gate.keys["acme"].clone();

    // Embeddings report characters, documents and tokens; classify reports
    // characters, documents and the embedder's tokens too.
    let (status, body) = gate
        .call(
            "POST",
            "/v1/embeddings",
            &key,
            Some(json!({"model": EMBEDDER, "input": ["one bill per unit", "not two"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = gate
        .call(
            "POST",
            "/v1/language/classify",
            &key,
            Some(
                json!({"input": ["The match went to extra time."], "labels": ["sport", "finance"]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    gate.meter.drain(Duration::from_secs(10)).await.unwrap();
    gate.settled("acme").await;

    let lines = |invoice: &Value| -> Vec<(String, String, i64)> {
        invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["model"].as_str().unwrap().to_owned(),
                    l["unit"].as_str().unwrap().to_owned(),
                    l["amount_nanos"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (status, list) = gate.call("GET", "/v1/billing/invoices", &key, None).await;
    assert_eq!(status, 200, "{list}");
    let draft = &list["data"][0];
    let shown = lines(draft);
    // One line per model: embeddings by tokens only, classify by characters
    // only (its free document line hidden); every line costs something.
    let units: Vec<(&str, &str)> = shown
        .iter()
        .map(|(m, u, _)| (m.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        units,
        vec![(EMBEDDER, "1k_characters"), (EMBEDDER, "1k_tokens")],
        "{draft}"
    );
    assert!(shown.iter().all(|(_, _, amount)| *amount > 0), "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let (status, all) = gate
        .call(
            "GET",
            &format!("/v1/billing/invoices/{id}?include_zero_lines=true"),
            &key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{all}");
    let every = lines(&all);
    assert_eq!(every.len(), shown.len() + 1, "{all}");
    assert!(
        every.iter().any(|(_, u, a)| u == "document" && *a == 0),
        "{all}"
    );
    assert_eq!(all["subtotal_nanos"], draft["subtotal_nanos"]);
}
