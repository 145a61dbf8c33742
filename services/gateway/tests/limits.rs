//! Limits through the real gateway router (authentication, limits,
//! metering with its log, in-process upstreams that report usage the way
//! the services do), on SQLite and PostgreSQL, and the Redis backend shared
//! by two gateways.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failing test stops with the value it saw"
)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use stratus_gateway::auth::{KeySpec, Scopes, ServerSecret};
use stratus_gateway::limits::{BackendConfig, LimitSpec, Limits, LimitsConfig, RedisFailure};
use stratus_gateway::metering::{Meter, MeteringConfig};
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use stratus_kit::usage;
use tokio::sync::watch;

/// Tokens every embeddings answer reports.
const TOKENS_PER_CALL: u64 = 8;
/// Audio seconds every transcription answer reports.
const AUDIO_PER_CALL: &str = "2.5";

/// An upstream answering like the services: usage in `x-stratus-usage-*`.
/// `/v1/language/hold` streams one chunk, then holds its body open until
/// `release` turns true.
fn upstream(release: watch::Receiver<bool>) -> Router {
    Router::new()
        .route(
            "/v1/embeddings",
            post(|| async {
                (
                    [
                        (usage::INPUT_TOKENS, TOKENS_PER_CALL.to_string()),
                        (usage::MODEL, "test-embedder".to_string()),
                    ],
                    axum::Json(json!({"object": "list", "data": []})),
                )
                    .into_response()
            }),
        )
        .route(
            "/v1/audio/transcriptions",
            post(|| async {
                (
                    [(usage::AUDIO_SECONDS, AUDIO_PER_CALL)],
                    axum::Json(json!({"text": "hello"})),
                )
                    .into_response()
            }),
        )
        .route(
            "/v1/language/hold",
            post(move || {
                let release = release.clone();
                async move {
                    let stream = futures::stream::unfold(0u8, move |step| {
                        let mut release = release.clone();
                        async move {
                            match step {
                                0 => Some((Ok::<_, std::io::Error>(Bytes::from("first ")), 1)),
                                1 => {
                                    let _ = release.wait_for(|r| *r).await;
                                    Some((Ok(Bytes::from("last")), 2))
                                }
                                _ => None,
                            }
                        }
                    });
                    Response::new(Body::from_stream(stream))
                }
            }),
        )
}

/// One gateway: its address, identity and the switch of held bodies.
struct Gateway {
    base: String,
    store: Store,
    auth: Auth,
    client: reqwest::Client,
    release: watch::Sender<bool>,
    _wal: tempfile::TempDir,
}

fn secret() -> ServerSecret {
    ServerSecret::new("limits-test-secret-limits-test-secret").unwrap()
}

impl Gateway {
    async fn start(store: &Store, backend: BackendConfig) -> Gateway {
        let auth = Auth::new(store.clone(), &secret());
        let wal = tempfile::tempdir().unwrap();
        let mut metering = MeteringConfig::new(wal.path());
        metering.flush_interval = Duration::from_millis(20);
        let meter = Meter::start(store.clone(), metering).await.unwrap();
        let limits = Limits::new(
            store.clone(),
            LimitsConfig {
                backend,
                ..LimitsConfig::default()
            },
        )
        .await
        .unwrap();
        let (release, held) = watch::channel(false);
        let token = InternalToken::generate().unwrap();
        let up = |service| Upstream::InProcess {
            service,
            router: upstream(held.clone()),
        };
        let app = stratus_gateway::router(
            GatewayState {
                upstreams: Upstreams {
                    speech: Some(up("speech")),
                    language: Some(up("language")),
                }
                .into(),
                store: store.clone(),
                auth: auth.clone(),
                internal_token: token,
                metering: Some(meter),
                billing: None,
                edge: stratus_gateway::EdgeConfig::default(),
                limits,
            },
            Readiness::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Gateway {
            base,
            store: store.clone(),
            auth,
            client: reqwest::Client::new(),
            release,
            _wal: wal,
        }
    }

    async fn post(&self, path: &str, key: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(&json!({"model": "m", "input": "hello"}))
            .send()
            .await
            .unwrap()
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

/// A tenant with `keys` keys of `scopes`: (tenant id, [(key id, secret)]).
async fn tenant(auth: &Auth, keys: usize, scopes: &str) -> (String, Vec<(String, String)>) {
    let name = format!("t{}", uuid::Uuid::now_v7().simple());
    let tenant = stratus_gateway::tenants::create_tenant(auth, &name)
        .await
        .unwrap();
    let mut made = Vec::new();
    for _ in 0..keys {
        let key = auth
            .create_key(
                &tenant.id,
                KeySpec {
                    scopes: Scopes::parse(scopes).unwrap(),
                    ..KeySpec::default()
                },
            )
            .await
            .unwrap();
        made.push((key.row.id, key.secret));
    }
    (tenant.id, made)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

fn rpm(n: u64) -> LimitSpec {
    LimitSpec {
        requests_per_minute: Some(n),
        ..LimitSpec::default()
    }
}

async fn stores() -> Vec<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    let postgres = Store::open(&stratus_testkit::fresh_postgres().await)
        .await
        .unwrap();
    vec![(sqlite, dir), (postgres, tempfile::tempdir().unwrap())]
}

/// The bootstrap admin key of `store` (made on first call).
async fn admin_key(auth: &Auth) -> String {
    let home = tempfile::tempdir().unwrap();
    let path = stratus_gateway::tenants::bootstrap_admin(auth, home.path())
        .await
        .unwrap()
        .expect("a fresh store bootstraps an admin key");
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_gets_exactly_its_rate_then_429_with_headers() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let gw = Gateway::start(&store, BackendConfig::InProcess).await;
        let admin = admin_key(&gw.auth).await;
        let (tenant_id, keys) = tenant(&gw.auth, 2, "language").await;
        let (key_id, secret) = &keys[0];
        // Set over the admin API.
        let (status, body) = gw
            .admin(
                reqwest::Method::PUT,
                &format!("/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits"),
                &admin,
                Some(json!({"requests_per_minute": 5})),
            )
            .await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["requests_per_minute"], 5);
        assert_eq!(body["key_id"], key_id.as_str());

        for n in 0..5u64 {
            let response = gw.post("/v1/embeddings", secret).await;
            assert_eq!(response.status(), 200, "{backend}: request {n}");
            let h = response.headers();
            assert_eq!(header(h, "x-ratelimit-limit-requests"), "5");
            assert_eq!(
                header(h, "x-ratelimit-remaining-requests"),
                (4 - n).to_string()
            );
            // Full again after (n + 1) × 12 s.
            let reset = header(h, "x-ratelimit-reset-requests");
            assert!(reset.ends_with('s'), "{reset}");
        }
        let refused = gw.post("/v1/embeddings", secret).await;
        assert_eq!(refused.status(), 429, "{backend}");
        let h = refused.headers().clone();
        // One request every 12 s: the next in at most 12 s.
        let retry: u64 = header(&h, "retry-after").parse().unwrap();
        assert!((11..=12).contains(&retry), "{backend}: Retry-After {retry}");
        assert_eq!(header(&h, "x-ratelimit-limit-requests"), "5");
        assert_eq!(header(&h, "x-ratelimit-remaining-requests"), "0");
        // Full again in a minute (less the milliseconds the test took).
        let reset = header(&h, "x-ratelimit-reset-requests");
        assert!(reset == "1m0s" || reset.starts_with("59."), "{reset}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("API key"),
            "{body}"
        );
        // Refusals spend nothing and stay refused; the other key is free.
        assert_eq!(gw.post("/v1/embeddings", secret).await.status(), 429);
        let other = gw.post("/v1/embeddings", &keys[1].1).await;
        assert_eq!(other.status(), 200);
        assert!(
            other.headers().get("x-ratelimit-limit-requests").is_none(),
            "no limit, no headers"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_limit_is_shared_by_its_keys() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let gw = Gateway::start(&store, BackendConfig::InProcess).await;
        let admin = admin_key(&gw.auth).await;
        let (tenant_id, keys) = tenant(&gw.auth, 2, "language").await;
        let (status, _) = gw
            .admin(
                reqwest::Method::PUT,
                &format!("/v1/admin/tenants/{tenant_id}/limits"),
                &admin,
                Some(json!({"requests_per_minute": 4})),
            )
            .await;
        assert_eq!(status, 200);
        let mut accepted = 0;
        for n in 0..10 {
            let response = gw.post("/v1/embeddings", &keys[n % 2].1).await;
            match response.status().as_u16() {
                200 => accepted += 1,
                429 => {
                    let body: serde_json::Value = response.json().await.unwrap();
                    assert!(
                        body["error"]["message"]
                            .as_str()
                            .unwrap()
                            .contains("organization"),
                        "{body}"
                    );
                }
                other => panic!("{backend}: {other}"),
            }
        }
        assert_eq!(accepted, 4, "{backend}");
        // The key's own limit, tighter, is the one shown.
        let key_id = &keys[0].0;
        let (status, _) = gw
            .admin(
                reqwest::Method::GET,
                &format!("/v1/admin/tenants/{tenant_id}/limits"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, 200);
        // Another tenant's id for this key is 404, whatever the caller is.
        let (other_tenant, _) = tenant(&gw.auth, 0, "language").await;
        let (status, _) = gw
            .admin(
                reqwest::Method::PUT,
                &format!("/v1/admin/tenants/{other_tenant}/keys/{key_id}/limits"),
                &admin,
                Some(json!({"requests_per_minute": 4})),
            )
            .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_held_until_the_body_ends() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let gw = Gateway::start(&store, BackendConfig::InProcess).await;
        let (tenant_id, keys) = tenant(&gw.auth, 1, "language").await;
        let (key_id, secret) = &keys[0];
        stratus_gateway::limits::admin::set(
            &store,
            None,
            &tenant_id,
            Some(key_id),
            LimitSpec {
                concurrent_requests: Some(2),
                ..LimitSpec::default()
            },
        )
        .await
        .unwrap();
        // Two streams whose headers came back but whose bodies are open.
        let a = gw.post("/v1/language/hold", secret).await;
        let b = gw.post("/v1/language/hold", secret).await;
        assert_eq!(
            (a.status().as_u16(), b.status().as_u16()),
            (200, 200),
            "{backend}"
        );
        let refused = gw.post("/v1/language/hold", secret).await;
        assert_eq!(refused.status(), 429, "{backend}");
        assert_eq!(header(refused.headers(), "retry-after"), "1");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("concurrent"),
            "{body}"
        );
        // Let the bodies end: the slots come back.
        gw.release.send(true).unwrap();
        assert_eq!(a.text().await.unwrap(), "first last");
        assert_eq!(b.text().await.unwrap(), "first last");
        let again = gw.post("/v1/language/hold", secret).await;
        assert_eq!(again.status(), 200, "{backend}");
        assert_eq!(again.text().await.unwrap(), "first last");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_reported_by_the_service_are_debited() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let gw = Gateway::start(&store, BackendConfig::InProcess).await;
        let (tenant_id, keys) = tenant(&gw.auth, 1, "language,speech").await;
        let (key_id, secret) = &keys[0];
        // 10 tokens a minute for the key; 4 audio seconds for the tenant.
        for (key, spec) in [
            (
                Some(key_id.as_str()),
                LimitSpec {
                    tokens_per_minute: Some(10),
                    ..LimitSpec::default()
                },
            ),
            (
                None,
                LimitSpec {
                    audio_seconds_per_minute: Some(4),
                    ..LimitSpec::default()
                },
            ),
        ] {
            stratus_gateway::limits::admin::set(&store, None, &tenant_id, key, spec)
                .await
                .unwrap();
        }
        // Tokens: 10 left, then 2 (8 reported), then the bucket is in debt.
        let first = gw.post("/v1/embeddings", secret).await;
        assert_eq!(first.status(), 200, "{backend}");
        assert_eq!(header(first.headers(), "x-ratelimit-limit-tokens"), "10");
        assert_eq!(
            header(first.headers(), "x-ratelimit-remaining-tokens"),
            "10"
        );
        let second = gw.post("/v1/embeddings", secret).await;
        assert_eq!(second.status(), 200);
        assert_eq!(
            header(second.headers(), "x-ratelimit-remaining-tokens"),
            "2"
        );
        let third = gw.post("/v1/embeddings", secret).await;
        assert_eq!(third.status(), 429, "{backend}");
        // 16 tokens spent of 10 a minute: 6 of debt and one token to
        // come, at 6 s a token: 42 s.
        let retry: u64 = header(third.headers(), "retry-after").parse().unwrap();
        assert!((41..=42).contains(&retry), "Retry-After {retry}");
        assert_eq!(header(third.headers(), "x-ratelimit-remaining-tokens"), "0");
        let body: serde_json::Value = third.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("tokens per minute"),
            "{body}"
        );
        // Audio is another bucket: speech still answers, until its own
        // 4 s are spent (2.5 s a call).
        let mut shown = Vec::new();
        for _ in 0..3 {
            let response = gw.post("/v1/audio/transcriptions", secret).await;
            shown.push((
                response.status().as_u16(),
                response
                    .headers()
                    .get("x-ratelimit-remaining-audio-seconds")
                    .map(|v| v.to_str().unwrap().to_owned()),
            ));
        }
        assert_eq!(
            shown,
            vec![
                (200, Some("4".into())),
                (200, Some("1".into())),
                (429, Some("0".into()))
            ],
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_changes_take_effect_without_restart() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        let gw = Gateway::start(&store, BackendConfig::InProcess).await;
        let admin = admin_key(&gw.auth).await;
        let (tenant_id, keys) = tenant(&gw.auth, 1, "language").await;
        let (key_id, secret) = &keys[0];
        let path = format!("/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits");
        // Bad input is a clear 400; a non-admin key is refused.
        for bad in [
            json!({"requests_per_minute": 0}),
            json!({"requests_per_minute": -1}),
            json!({"requests_per_minute": 1_000_000_000_u64}),
            json!({"rpm": 5}),
        ] {
            let (status, body) = gw
                .admin(reqwest::Method::PUT, &path, &admin, Some(bad.clone()))
                .await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let (status, _) = gw
            .admin(reqwest::Method::PUT, &path, secret, Some(json!({})))
            .await;
        assert_eq!(status, 403);

        // Through this gateway's admin API: in force at once.
        let (status, _) = gw
            .admin(
                reqwest::Method::PUT,
                &path,
                &admin,
                Some(json!({"requests_per_minute": 2})),
            )
            .await;
        assert_eq!(status, 200);
        let statuses = |gw: &Gateway| {
            let gw_client = gw.client.clone();
            let url = format!("{}/v1/embeddings", gw.base);
            let secret = secret.clone();
            async move {
                let mut out = Vec::new();
                for _ in 0..3 {
                    let response = gw_client
                        .post(&url)
                        .bearer_auth(&secret)
                        .json(&json!({"input": "x"}))
                        .send()
                        .await
                        .unwrap();
                    out.push(response.status().as_u16());
                }
                out
            }
        };
        assert_eq!(statuses(&gw).await, vec![200, 200, 429], "{backend}");
        let (status, body) = gw.admin(reqwest::Method::GET, &path, &admin, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["requests_per_minute"], 2);

        // Raised in the store by someone else (the CLI, another replica):
        // at 2 a minute the next request would wait 30 s; at 1000 a minute
        // it waits 60 ms — once the cache (at most a second old) sees it.
        stratus_gateway::limits::admin::set(&gw.store, None, &tenant_id, Some(key_id), rpm(1000))
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let response = gw.post("/v1/embeddings", secret).await;
            if response.status() == 200 {
                assert_eq!(
                    header(response.headers(), "x-ratelimit-limit-requests"),
                    "1000"
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_millis(1500),
                "{backend}: a change in the store was not applied within the cache TTL"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Removed: no limit, no headers.
        let (status, _) = gw.admin(reqwest::Method::DELETE, &path, &admin, None).await;
        assert_eq!(status, 204);
        let free = gw.post("/v1/embeddings", secret).await;
        assert_eq!(free.status(), 200);
        assert!(free.headers().get("x-ratelimit-limit-requests").is_none());
    }
}

fn redis_url() -> String {
    std::env::var("STRATUS_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis_backend(prefix: &str) -> BackendConfig {
    BackendConfig::Redis {
        url: redis_url(),
        prefix: prefix.to_owned(),
        on_failure: RedisFailure::Refuse,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_one_budget_through_redis() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    // A prefix of its own: runs of this test never share buckets.
    let prefix = format!("stratus-test:{}", uuid::Uuid::now_v7().simple());
    let a = Gateway::start(&store, redis_backend(&prefix)).await;
    let b = Gateway::start(&store, redis_backend(&prefix)).await;
    let (tenant_id, keys) = tenant(&a.auth, 2, "language").await;
    // One request per 3 s refills: far slower than the test runs.
    const R: u64 = 20;
    stratus_gateway::limits::admin::set(&store, None, &tenant_id, None, rpm(R))
        .await
        .unwrap();

    // Alternating between the gateways, one at a time: exactly R.
    let mut accepted = 0;
    let mut remaining_seen = Vec::new();
    for n in 0..(2 * R) {
        let gw = if n % 2 == 0 { &a } else { &b };
        let response = gw.post("/v1/embeddings", &keys[0].1).await;
        match response.status().as_u16() {
            200 => {
                accepted += 1;
                remaining_seen.push(
                    header(response.headers(), "x-ratelimit-remaining-requests")
                        .parse::<u64>()
                        .unwrap(),
                );
            }
            429 => assert!(response.headers().get("retry-after").is_some()),
            other => panic!("status {other}"),
        }
    }
    assert_eq!(accepted, R);
    // Each gateway saw the other's spending.
    assert_eq!(remaining_seen, (0..R).rev().collect::<Vec<_>>());

    // Concurrently from both gateways and both keys, on a fresh tenant:
    // still exactly R, however the requests interleave.
    let (tenant_id, keys) = tenant(&a.auth, 2, "language").await;
    stratus_gateway::limits::admin::set(&store, None, &tenant_id, None, rpm(R))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..(3 * R as usize) {
        let (base, client) = if n % 2 == 0 {
            (a.base.clone(), a.client.clone())
        } else {
            (b.base.clone(), b.client.clone())
        };
        let secret = keys[n % 2].1.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/v1/embeddings"))
                .bearer_auth(secret)
                .json(&json!({"input": "x"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("status {other}"),
        }
    }
    assert_eq!(ok, R);

    // Units through Redis: the debit by one gateway is seen by the other.
    let (tenant_id, keys) = tenant(&a.auth, 1, "language").await;
    stratus_gateway::limits::admin::set(
        &store,
        None,
        &tenant_id,
        None,
        LimitSpec {
            tokens_per_minute: Some(10),
            ..LimitSpec::default()
        },
    )
    .await
    .unwrap();
    let statuses = [
        a.post("/v1/embeddings", &keys[0].1).await.status().as_u16(),
        b.post("/v1/embeddings", &keys[0].1).await.status().as_u16(),
        a.post("/v1/embeddings", &keys[0].1).await.status().as_u16(),
    ];
    assert_eq!(statuses, [200, 200, 429]);
}

/// A private `redis-server` on a free port, killed when dropped.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_goes_away_limits_fall_back_or_refuse_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/stratus.db", dir.path().display()))
        .await
        .unwrap();
    let redis = PrivateRedis::start();
    let backend = |on_failure| BackendConfig::Redis {
        url: redis.url.clone(),
        prefix: "stratus-test".into(),
        on_failure,
    };
    let local = Gateway::start(&store, backend(RedisFailure::Local)).await;
    let refuse = Gateway::start(&store, backend(RedisFailure::Refuse)).await;
    let (tenant_id, keys) = tenant(&local.auth, 2, "language").await;
    for (key_id, _) in &keys {
        stratus_gateway::limits::admin::set(&store, None, &tenant_id, Some(key_id), rpm(3))
            .await
            .unwrap();
    }
    let run = |gw: &Gateway, secret: &str, n: usize| {
        let (client, url, secret) = (
            gw.client.clone(),
            format!("{}/v1/embeddings", gw.base),
            secret.to_owned(),
        );
        async move {
            let mut out = Vec::new();
            for _ in 0..n {
                let response = client
                    .post(&url)
                    .bearer_auth(&secret)
                    .json(&json!({"input": "x"}))
                    .send()
                    .await
                    .unwrap();
                out.push(response.status().as_u16());
            }
            out
        }
    };
    assert_eq!(run(&local, &keys[0].1, 4).await, vec![200, 200, 200, 429]);

    drop(redis);
    // `local`: this gateway's own buckets take over (fresh: 3 again).
    assert_eq!(run(&local, &keys[0].1, 4).await, vec![200, 200, 200, 429]);
    // `refuse`: 503, never an unlimited request.
    let refused = refuse.post("/v1/embeddings", &keys[1].1).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().get("retry-after").is_some());

    // A wrong address stops the start instead of surfacing later.
    let unreachable = Limits::new(
        store.clone(),
        LimitsConfig {
            backend: BackendConfig::Redis {
                url: "redis://127.0.0.1:1".into(),
                prefix: "x".into(),
                on_failure: RedisFailure::Local,
            },
            ..LimitsConfig::default()
        },
    )
    .await;
    assert!(unreachable.is_err());
}
