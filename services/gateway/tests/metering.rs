//! Metering end to end, each on SQLite and on PostgreSQL: real speech and
//! language services behind the real gateway (in-process upstreams, as in
//! `stratus serve`) write events with the units the services reported; the
//! usage API sums and pages them per tenant; writes are idempotent; the
//! write-ahead log is replayed after an abrupt stop; the CloudEvents
//! exporter delivers everything to a real HTTP sink through failures.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};
use stratus_gateway::auth::{KeySpec, Scopes, ServerSecret};
use stratus_gateway::metering::{
    ExportConfig, Meter, MeteringConfig, Units, UsageEvent, event::now_ms,
};
use stratus_gateway::store::identity::TenantRow;
use stratus_gateway::store::usage::{EventFilter, StoredEvent};
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService};
use stratus_speech::{SpeechConfig, SpeechService};

const EMBEDDER: &str = "all-minilm-l6-v2";
const WHISPER: &str = "whisper-tiny.en";
const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

use stratus_testkit::fresh_postgres;

/// A store of each backend, with the temp folder that keeps SQLite alive.
async fn stores() -> Vec<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    let postgres = Store::open(&fresh_postgres().await).await.unwrap();
    vec![(sqlite, dir), (postgres, tempfile::tempdir().unwrap())]
}

fn config(wal: &std::path::Path) -> MeteringConfig {
    let mut config = MeteringConfig::new(wal);
    config.flush_interval = Duration::from_millis(20);
    config
}

/// Every event of `tenant`, all pages.
async fn all_events(store: &Store, tenant: Option<&str>) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .usage_events(&EventFilter {
                tenant_id: tenant.map(str::to_owned),
                after_seq: after,
                from_ms: i64::MIN,
                to_ms: i64::MAX,
                limit: 500,
            })
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = last.seq;
        out.extend(page);
    }
}

fn synthetic(tenant: &str, i: i64) -> UsageEvent {
    UsageEvent {
        id: uuid::Uuid::now_v7(),
        request_id: Some(format!("req-{i}")),
        client_request_id: None,
        tenant_id: tenant.into(),
        key_id: Some(format!("key_{}", i % 3)),
        user_id: None,
        service: "language".into(),
        endpoint: "/v1/embeddings".into(),
        model: Some(if i % 2 == 0 { "m-even" } else { "m-odd" }.into()),
        status: 200,
        latency_ms: 5,
        time_ms: 1_795_737_600_000 + i * 600_000,
        units: Units {
            requests: 1,
            audio_ms: 1500,
            input_tokens: i,
            characters: 10,
            documents: 1,
        },
    }
}

/// The keys of the test tenants, by label: (key id, secret key).
type TestKeys = Arc<HashMap<String, (String, String)>>;

/// Real tenants `acme` and `globex` (their ids are their names, so events
/// can be checked by tenant) with keys `key_a`, `key_b` (acme) and `key_g`
/// (globex), each allowed both services and the usage API.
async fn test_keys(store: &Store, auth: &Auth) -> TestKeys {
    for tenant in ["acme", "globex"] {
        let row = TenantRow {
            id: tenant.into(),
            name: tenant.into(),
            created_at: 0,
        };
        store.create_tenant(&row).await.unwrap();
    }
    let mut keys = HashMap::new();
    for (label, tenant) in [("key_a", "acme"), ("key_b", "acme"), ("key_g", "globex")] {
        let created = auth
            .create_key(
                tenant,
                KeySpec {
                    scopes: Scopes::parse("speech,language,usage:read").unwrap(),
                    ..KeySpec::default()
                },
            )
            .await
            .unwrap();
        keys.insert(label.to_string(), (created.row.id, created.secret));
    }
    Arc::new(keys)
}

/// Lets the tests name a caller: `x-test-tenant` / `x-test-key` become the
/// real API key of that tenant (its first key unless `x-test-key` names
/// one), which the gateway then authenticates as usual.
async fn test_tenant(keys: TestKeys, mut request: Request, next: Next) -> Response {
    let label = {
        let text = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match (text("x-test-tenant").as_deref(), text("x-test-key")) {
            (_, Some(key)) => Some(key),
            (Some("acme"), None) => Some("key_a".to_string()),
            (Some("globex"), None) => Some("key_g".to_string()),
            _ => None,
        }
    };
    if let Some((_, secret)) = label.and_then(|l| keys.get(&l)) {
        let value = format!("Bearer {secret}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    next.run(request).await
}

/// The real services, loaded once and shared by both backends' gateways.
async fn services() -> (SpeechService, LanguageService) {
    let (whisper, embedder) = tokio::task::spawn_blocking(|| {
        (
            stratus_testkit::pulled(WHISPER),
            stratus_testkit::pulled(EMBEDDER),
        )
    })
    .await
    .unwrap();
    let speech = SpeechService::new(SpeechConfig::default(), Readiness::default());
    speech.load(&whisper).unwrap();
    let language = LanguageService::new(LanguageConfig::new(8), Readiness::default());
    language.load(&embedder).unwrap();
    (speech, language)
}

/// A gateway on `store` in front of the services, on 127.0.0.1:0, ready.
async fn gateway(
    store: &Store,
    meter: &Meter,
    speech: &SpeechService,
    language: &LanguageService,
) -> (String, TestKeys) {
    let token = InternalToken::generate().unwrap();
    let upstreams = Upstreams {
        speech: Some(Upstream::InProcess {
            service: "speech",
            router: speech.router_with_context(Some(token.clone())),
        }),
        language: Some(Upstream::InProcess {
            service: "language",
            router: language.router_with_context(Some(token.clone())),
        }),
    };
    let secret = ServerSecret::new("metering-test-secret-metering-test-secret").unwrap();
    let auth = Auth::new(store.clone(), &secret);
    let keys = test_keys(store, &auth).await;
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store: store.clone(),
            auth,
            internal_token: token,
            metering: Some(meter.clone()),
            billing: None,
            edge: stratus_gateway::EdgeConfig::default(),
            limits: stratus_gateway::limits::Limits::disabled(),
        },
        Readiness::default(),
    );
    let with_keys = keys.clone();
    let app = app.layer(axum::middleware::from_fn(move |request, next| {
        test_tenant(with_keys.clone(), request, next)
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    loop {
        let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
        if ready.status() == 200 {
            return (base, keys);
        }
        assert!(started.elapsed() < Duration::from_secs(180), "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn clip_form(stream: bool) -> reqwest::multipart::Form {
    let bytes = std::fs::read(stratus_testkit::testdata_file(CLIP)).unwrap();
    let mut form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("clip.wav"),
        );
    if stream {
        form = form.text("stream", "true");
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_services_are_metered_with_their_units() {
    let (speech, language) = services().await;
    for (store, _dir) in stores().await {
        metered_through_services(&store, &speech, &language).await;
    }
}

async fn metered_through_services(
    store: &Store,
    speech: &SpeechService,
    language: &LanguageService,
) {
    let backend = store.backend();
    let wal = tempfile::tempdir().unwrap();
    let meter = Meter::start(store.clone(), config(wal.path()))
        .await
        .unwrap();
    let (base, keys) = gateway(store, &meter, speech, language).await;
    let client = reqwest::Client::new();
    let before = now_ms();

    // Embeddings: tokens, characters and documents as the service counted.
    let inputs = ["The quick brown fox.", "Stratus meters every request."];
    let response = client
        .post(format!("{base}/v1/embeddings"))
        .header("x-test-tenant", "acme")
        .header("x-test-key", "key_a")
        .header("x-request-id", "embed-1")
        .json(&json!({"model": EMBEDDER, "input": inputs}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{backend}");
    // The caller's x-request-id is not ours: every request gets its own.
    let embed_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(embed_id, "embed-1", "{backend}");
    assert_eq!(response.headers()["x-stratus-model"], EMBEDDER);
    let body: Value = response.json().await.unwrap();
    let prompt_tokens = body["usage"]["prompt_tokens"].as_i64().unwrap();
    assert!(prompt_tokens > 5);

    // A transcription: audio seconds as the service reported them.
    let response = client
        .post(format!("{base}/v1/audio/transcriptions"))
        .header("x-test-tenant", "acme")
        .header("x-test-key", "key_b")
        .header("x-request-id", "transcribe-1")
        .multipart(clip_form(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{backend}");
    let body: Value = response.json().await.unwrap();
    let seconds = body["usage"]["seconds"].as_f64().unwrap();
    assert!(seconds > 2.0);

    // Streamed: metered from the final event.
    let response = client
        .post(format!("{base}/v1/audio/transcriptions"))
        .header("x-test-tenant", "acme")
        .header("x-request-id", "stream-1")
        .multipart(clip_form(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("transcript.text.done"), "{text}");

    // A request the service refuses is still a request that reached it.
    let response = client
        .post(format!("{base}/v1/embeddings"))
        .header("x-test-tenant", "acme")
        .header("x-request-id", "refused-1")
        .json(&json!({"model": "no-such-model", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Another tenant's request.
    let response = client
        .post(format!("{base}/v1/embeddings"))
        .header("x-test-tenant", "globex")
        // Another tenant sending the same id as acme's first request.
        .header("x-request-id", "embed-1")
        .json(&json!({"model": EMBEDDER, "input": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    meter.drain(Duration::from_secs(10)).await.unwrap();
    let events = all_events(store, Some("acme")).await;
    assert_eq!(events.len(), 4, "{backend}: {events:#?}");
    // Found by the caller's id (as the API shows it), kept apart from ours.
    let by_request = |id: &str| {
        events
            .iter()
            .map(|e| &e.event)
            .find(|e| serde_json::to_value(e.view()).unwrap()["client_request_id"] == id)
            .unwrap_or_else(|| panic!("{backend}: no event for {id}: {events:#?}"))
            .clone()
    };
    let ours: std::collections::BTreeSet<_> =
        events.iter().map(|e| e.event.request_id.clone()).collect();
    assert_eq!(ours.len(), events.len(), "{backend}: request ids repeat");
    let embed = by_request("embed-1");
    assert_eq!(embed.request_id.as_deref(), Some(embed_id.as_str()));
    let globex = all_events(store, Some("globex")).await;
    assert_eq!(globex.len(), 1, "{backend}");
    assert_ne!(globex[0].event.request_id, embed.request_id, "{backend}");
    assert_eq!(embed.service, "language");
    assert_eq!(embed.endpoint, "/v1/embeddings");
    assert_eq!(embed.model.as_deref(), Some(EMBEDDER));
    assert_eq!(embed.key_id.as_deref(), Some(keys["key_a"].0.as_str()));
    assert_eq!(embed.status, 200);
    assert_eq!(
        embed.units,
        Units {
            requests: 1,
            audio_ms: 0,
            input_tokens: prompt_tokens,
            characters: inputs.iter().map(|s| s.chars().count() as i64).sum(),
            documents: 2,
        }
    );
    assert_eq!(embed.id.get_version_num(), 7);
    assert!(embed.time_ms >= before && embed.time_ms <= now_ms());

    let transcribe = by_request("transcribe-1");
    assert_eq!(transcribe.service, "speech");
    assert_eq!(transcribe.endpoint, "/v1/audio/transcriptions");
    assert_eq!(transcribe.model.as_deref(), Some(WHISPER));
    assert_eq!(transcribe.units.audio_ms, (seconds * 1000.0).round() as i64);
    assert_eq!(transcribe.units.requests, 1);

    let streamed = by_request("stream-1");
    assert_eq!(streamed.status, 200);
    assert_eq!(streamed.model.as_deref(), Some(WHISPER));
    assert_eq!(streamed.units.audio_ms, transcribe.units.audio_ms);

    let refused = by_request("refused-1");
    assert_eq!(refused.status, 404);
    assert_eq!(refused.units.input_tokens, 0);
    assert_eq!(refused.model, None);

    // The usage API: the caller's tenant only, summed by model.
    let usage: Value = client
        .get(format!("{base}/v1/usage?group_by=model&bucket=hour"))
        .header("x-test-tenant", "acme")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["totals"]["requests"], 4, "{usage:#}");
    assert_eq!(usage["totals"]["input_tokens"], prompt_tokens);
    let audio = usage["totals"]["audio_seconds"].as_f64().unwrap();
    assert!((audio - 2.0 * transcribe.units.audio_ms as f64 / 1000.0).abs() < 1e-9);
    let whisper_rows: Vec<&Value> = usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["group"] == WHISPER)
        .collect();
    assert_eq!(
        whisper_rows
            .iter()
            .map(|r| r["requests"].as_i64().unwrap())
            .sum::<i64>(),
        2
    );
    let csv = client
        .get(format!("{base}/v1/usage?group_by=endpoint&format=csv"))
        .header("x-test-tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with(
            "bucket_start,bucket_end,endpoint,requests,audio_seconds,input_tokens,characters,documents\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",/v1/audio/transcriptions,2,"), "{csv}");
    assert!(csv.contains(",/v1/embeddings,2,"), "{csv}");

    // Events, one page at a time; the other tenant sees only its own.
    let mut cursor = String::new();
    let mut paged = Vec::new();
    loop {
        let page = client
            .get(format!("{base}/v1/usage/events?limit=3&cursor={cursor}"))
            .header("x-test-tenant", "acme")
            .send()
            .await
            .unwrap();
        assert_eq!(page.headers()["content-type"], "application/x-ndjson");
        let more = page.headers()["x-stratus-has-more"] == "true";
        cursor = page.headers()["x-stratus-cursor"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = page.text().await.unwrap();
        paged.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
        if !more {
            break;
        }
    }
    assert_eq!(paged.len(), 4);
    assert!(paged.iter().all(|e| e["tenant_id"] == "acme"));
    let globex = client
        .get(format!("{base}/v1/usage/events"))
        .header("x-test-tenant", "globex")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(globex.lines().count(), 1, "{globex}");
    // The API shows the caller's id beside ours.
    let line: Value = serde_json::from_str(globex.trim()).unwrap();
    assert_eq!(line["client_request_id"], "embed-1", "{line}");
    assert_ne!(line["request_id"], "embed-1", "{line}");

    // No tenant, no usage; bad parameters answer 400 in the envelope.
    let anonymous = client.get(format!("{base}/v1/usage")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for bad in [
        "/v1/usage?bucket=week",
        "/v1/usage?group_by=colour",
        "/v1/usage?start=yesterday",
        "/v1/usage?start=2026-01-01&end=2025-01-01",
        "/v1/usage?bucket=hour&start=2026-01-01&end=2026-03-01",
        "/v1/usage/events?limit=0",
        "/v1/usage/events?cursor=abc",
    ] {
        let response = client
            .get(format!("{base}{bad}"))
            .header("x-test-tenant", "acme")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{bad}: {body}");
    }
    meter.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn writes_are_idempotent_by_event_id() {
    for (store, _dir) in stores().await {
        let events: Vec<UsageEvent> = (0..1500).map(|i| synthetic("t1", i)).collect();
        assert_eq!(store.insert_usage_events(&events).await.unwrap(), 1500);
        // The same batch again, and a batch mixing old and new events.
        assert_eq!(store.insert_usage_events(&events).await.unwrap(), 0);
        let mut mixed = events[..10].to_vec();
        mixed.push(synthetic("t1", 1500));
        assert_eq!(store.insert_usage_events(&mixed).await.unwrap(), 1);
        let stored = all_events(&store, Some("t1")).await;
        assert_eq!(stored.len(), 1501, "{}", store.backend());
        let ids: HashSet<_> = stored.iter().map(|e| e.event.id).collect();
        assert_eq!(ids.len(), 1501);
        // Stored exactly as written.
        assert_eq!(stored[0].event, events[0]);

        // Bucketed sums, the same on both backends.
        let rows = store
            .usage_summary(
                "t1",
                1_795_737_600_000,
                1_795_737_600_000 + 86_400_000,
                3_600_000,
                stratus_gateway::store::usage::GroupBy::Model,
            )
            .await
            .unwrap();
        // 144 events in the day (one per 10 min), 6 per hour, 3 per model.
        assert_eq!(rows.len(), 48, "{}", store.backend());
        assert!(rows.iter().all(|r| r.units.requests == 3));
        assert_eq!(rows[0].group.as_deref(), Some("m-even"));
        assert_eq!(rows[0].units.input_tokens, 2 + 4);
        assert_eq!(rows[0].units.audio_ms, 4500);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_replayed_after_an_abrupt_stop() {
    // Both kinds of log: synced group commits, and write-only (requests
    // append inline, under the file's lock).
    let stores = stores().await;
    for ((store, _dir), sync) in stores.iter().flat_map(|s| [(s, true), (s, false)]) {
        let store = store.clone();
        let backend = format!("{} sync={sync}", store.backend());
        let tenant = format!("t-{sync}");
        let config = |wal: &std::path::Path| MeteringConfig {
            wal_sync: sync,
            ..config(wal)
        };
        let wal = tempfile::tempdir().unwrap();
        // A writer that never gets to insert (it waits an hour to batch).
        let mut stalled = config(wal.path());
        stalled.flush_interval = Duration::from_secs(3600);
        // Small segments: the replay crosses many of them.
        stalled.wal_segment_bytes = 4096;
        let meter = Meter::start(store.clone(), stalled).await.unwrap();
        // A second process on the same log is refused.
        let err = Meter::start(store.clone(), config(wal.path()))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("in use"), "{err}");

        let events: Vec<UsageEvent> = (0..200).map(|i| synthetic(&tenant, i)).collect();
        // Concurrent writes (group commits), in rounds that each fill a
        // segment.
        for round in events.chunks(10) {
            let writes = round.iter().map(|e| meter.record(e));
            for result in futures::future::join_all(writes).await {
                result.unwrap();
            }
        }
        meter.halt().await;
        drop(meter);
        assert!(
            all_events(&store, Some(&tenant)).await.is_empty(),
            "{backend}"
        );
        let segments_left = std::fs::read_dir(wal.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "wal")
            })
            .count();
        assert!(segments_left > 5, "{segments_left} segments");
        // A crash mid-write leaves a partial line that was never
        // acknowledged.
        let segment = std::fs::read_dir(wal.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "wal"))
            .max()
            .unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap();
        std::io::Write::write_all(&mut file, b"{\"id\":\"0191").unwrap();
        drop(file);

        // The next start stores all of them, exactly once.
        let meter = Meter::start(store.clone(), config(wal.path()))
            .await
            .unwrap();
        // A replayed write of an already-logged event changes nothing.
        meter.record(&events[7]).await.unwrap();
        let extra = synthetic(&tenant, 999);
        meter.record(&extra).await.unwrap();
        meter.drain(Duration::from_secs(10)).await.unwrap();
        let stored = all_events(&store, Some(&tenant)).await;
        assert_eq!(stored.len(), 201, "{backend}");
        let stored_ids: HashSet<_> = stored.iter().map(|e| e.event.id).collect();
        assert!(events.iter().all(|e| stored_ids.contains(&e.id)));
        assert!(stored_ids.contains(&extra.id));
        // Stored segments are deleted; only the current one is left.
        let segments = std::fs::read_dir(wal.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "wal")
            })
            .count();
        assert_eq!(segments, 1, "{backend}");
        meter.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}

/// A CloudEvents sink that fails its first `failures` requests.
#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<Value>>>,
    calls: Arc<Mutex<usize>>,
    failures: usize,
}

async fn start_sink(failures: usize) -> (Sink, String) {
    let sink = Sink {
        failures,
        ..Sink::default()
    };
    let state = sink.clone();
    let app = axum::Router::new().route(
        "/api/v1/events",
        axum::routing::post(
            |axum::extract::State(sink): axum::extract::State<Sink>,
             headers: axum::http::HeaderMap,
             body: axum::body::Bytes| async move {
                let call = {
                    let mut calls = sink.calls.lock().unwrap();
                    *calls += 1;
                    *calls
                };
                if call <= sink.failures {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                assert_eq!(
                    headers["content-type"],
                    "application/cloudevents-batch+json"
                );
                assert_eq!(headers["authorization"], "Bearer sink-token");
                let batch: Vec<Value> = serde_json::from_slice(&body).unwrap();
                sink.received.lock().unwrap().extend(batch);
                axum::http::StatusCode::NO_CONTENT
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await });
    (sink, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_delivers_every_event_through_failures() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let (sink, url) = start_sink(3).await;
        let wal = tempfile::tempdir().unwrap();
        let mut config = config(wal.path());
        let mut export = ExportConfig::new(url.clone());
        export.token = Some("sink-token".into());
        export.batch_size = 7;
        export.poll_interval = Duration::from_millis(100);
        export.max_backoff = Duration::from_millis(200);
        config.export = Some(export);
        let meter = Meter::start(store.clone(), config).await.unwrap();
        let events: Vec<UsageEvent> = (0..50)
            .map(|i| synthetic(&format!("t{}", i % 2), i))
            .collect();
        for event in &events {
            meter.record(event).await.unwrap();
        }
        let started = Instant::now();
        let unique = loop {
            let ids: HashSet<String> = sink
                .received
                .lock()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect();
            if ids.len() == events.len() {
                break ids;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{backend}: {} of {} delivered",
                ids.len(),
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(events.iter().all(|e| unique.contains(&e.id.to_string())));
        assert!(*sink.calls.lock().unwrap() > 3, "the failures were retried");
        let received = sink.received.lock().unwrap().clone();
        let first = received
            .iter()
            .find(|e| e["id"] == events[1].id.to_string())
            .unwrap();
        assert_eq!(first["specversion"], "1.0");
        assert_eq!(first["type"], "stratus.usage");
        assert_eq!(first["subject"], "t1");
        assert!(first["source"].as_str().unwrap().starts_with("stratus/"));
        assert_eq!(first["time"], "2026-11-27T00:10:00.000Z");
        assert_eq!(first["data"]["units"]["audio_seconds"], 1.5);
        assert_eq!(first["data"]["model"], "m-odd");
        // The cursor records the delivery.
        let last_seq = all_events(&store, None).await.last().unwrap().seq;
        let started = Instant::now();
        while store.export_cursor(&url).await.unwrap() != last_seq {
            assert!(started.elapsed() < Duration::from_secs(5), "{backend}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        meter.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
