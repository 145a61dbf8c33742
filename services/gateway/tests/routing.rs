//! The gateway in front of real HTTP replicas (small axum servers on
//! loopback, port 0): balancing, ejection of a killed replica and its
//! re-admission, 503 when none is healthy, streaming both ways, the body
//! limit, the in-flight cap, the request timeout, `/metrics` and the access
//! log.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::StreamExt;
use stratus_gateway::auth::{KeySpec, Scopes, ServerSecret};
use stratus_gateway::routing::HealthPolicy;
use stratus_gateway::{Auth, tenants};
use stratus_gateway::{EdgeConfig, GatewayState, PoolConfig, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use tokio::sync::{Notify, mpsc};

/// What a test replica shares with the test.
#[derive(Clone, Default)]
struct ReplicaState {
    name: &'static str,
    served: Arc<AtomicUsize>,
    /// `/v1/language/slow` waits until this is true.
    release: Arc<tokio::sync::watch::Sender<bool>>,
    /// `/v1/audio/stream` waits for this between its two events.
    sse_gate: Arc<Notify>,
    /// `/v1/language/upload` reports its first chunk here.
    first_chunk: Option<mpsc::UnboundedSender<usize>>,
}

async fn embeddings(State(state): State<ReplicaState>) -> impl IntoResponse {
    state.served.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2)).await;
    (
        [("x-stratus-usage-input-tokens", "3")],
        axum::Json(serde_json::json!({ "replica": state.name })),
    )
}

async fn slow(State(state): State<ReplicaState>) -> &'static str {
    let mut released = state.release.subscribe();
    let _ = released.wait_for(|r| *r).await;
    "released"
}

async fn sleepy() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3)).await;
    "late"
}

async fn upload(State(state): State<ReplicaState>, body: Body) -> String {
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    let mut first = true;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return "broken".into();
        };
        total += chunk.len();
        if first && let Some(tx) = &state.first_chunk {
            let _ = tx.send(chunk.len());
        }
        first = false;
    }
    total.to_string()
}

async fn sse(State(state): State<ReplicaState>) -> impl IntoResponse {
    let gate = state.sse_gate.clone();
    let events =
        futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("data: one\n\n")) })
            .chain(futures::stream::once(async move {
                gate.notified().await;
                Ok(Bytes::from("data: two\n\n"))
            }));
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(events),
    )
}

fn replica_app(state: ReplicaState) -> Router {
    Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/language/slow", post(slow))
        .route("/v1/language/sleepy", post(sleepy))
        .route("/v1/language/upload", post(upload))
        .route("/v1/audio/stream", get(sse))
        .with_state(state)
}

/// A replica on its own runtime, so killing it (shutting the runtime down)
/// closes its listener *and* every open connection, as a process kill does.
struct TestReplica {
    addr: SocketAddr,
    state: ReplicaState,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestReplica {
    fn start(name: &'static str) -> Self {
        Self::start_on(
            name,
            "127.0.0.1:0".parse().unwrap(),
            ReplicaState::default(),
        )
    }

    fn start_on(name: &'static str, addr: SocketAddr, mut state: ReplicaState) -> Self {
        state.name = name;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind(addr).unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let app = replica_app(state.clone());
        {
            let _entered = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            runtime.spawn(async move { axum::serve(listener, app).await });
        }
        Self {
            addr,
            state,
            runtime: Some(runtime),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Start again on the same address (a restarted process).
    fn restart(&mut self) {
        self.kill();
        let again = Self::start_on(self.state.name, self.addr, self.state.clone());
        *self = again;
    }
}

impl Drop for TestReplica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn fast_pool() -> PoolConfig {
    PoolConfig {
        connect_timeout: Duration::from_millis(500),
        health_interval: Duration::from_millis(100),
        health_timeout: Duration::from_millis(500),
        max_retries: 2,
        dns_refresh: None,
        health: HealthPolicy {
            eject_after_failures: 1,
            eject_backoff: Duration::from_millis(200),
            max_eject_backoff: Duration::from_millis(400),
        },
    }
}

/// Real authentication for the gateway under test: a tenant with a key that
/// may call both services. Returns the auth, the tenant id, the key id and
/// the secret key.
async fn tenant_key(store: &Store) -> (Auth, String, String, String) {
    let secret = ServerSecret::new("routing-test-secret-routing-test-secret").unwrap();
    let auth = Auth::new(store.clone(), &secret);
    let tenant = tenants::create_tenant(&auth, "routing").await.unwrap();
    let created = auth
        .create_key(
            &tenant.id,
            KeySpec {
                scopes: Scopes::parse("speech,language").unwrap(),
                ..KeySpec::default()
            },
        )
        .await
        .unwrap();
    (auth, tenant.id, created.row.id, created.secret)
}

fn authorized_client(secret: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {secret}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

struct Gateway {
    url: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn gateway(urls: &[String], edge: EdgeConfig) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("g.db").display()))
        .await
        .unwrap();
    let pool = |service| Upstream::replicas(service, urls, fast_pool()).unwrap();
    let upstreams = Upstreams {
        speech: Some(pool("speech")),
        language: Some(pool("language")),
    };
    let (auth, _, _, key) = tenant_key(&store).await;
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store,
            auth,
            internal_token: InternalToken::generate().unwrap(),
            metering: None,
            billing: None,
            edge,
            limits: stratus_gateway::limits::Limits::disabled(),
        },
        Readiness::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Gateway {
        url: format!("http://{addr}"),
        client: authorized_client(&key),
        _dir: dir,
    }
}

impl Gateway {
    async fn embed(&self) -> Result<(StatusCode, HeaderMap, serde_json::Value), reqwest::Error> {
        let response = self
            .client
            .post(format!("{}/v1/embeddings", self.url))
            .json(&serde_json::json!({ "input": "hello" }))
            .send()
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, headers, body))
    }
}

fn metrics_text() -> String {
    stratus_gateway::observability::metrics::render()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_is_balanced_across_replicas() {
    let a = TestReplica::start("a");
    let b = TestReplica::start("b");
    let gw = gateway(&[a.url(), b.url()], EdgeConfig::default()).await;
    let mut by_replica: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        let (status, headers, body) = gw.embed().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(headers.get("x-request-id").is_some());
        *by_replica
            .entry(body["replica"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        by_replica["a"] >= 15 && by_replica["b"] >= 15,
        "{by_replica:?}"
    );

    // Concurrent load goes to the replica with fewer outstanding requests:
    // both see a share of 40 parallel requests.
    let before = (
        a.state.served.load(Ordering::SeqCst),
        b.state.served.load(Ordering::SeqCst),
    );
    let all = futures::future::join_all((0..40).map(|_| gw.embed())).await;
    assert!(all.iter().all(|r| r.as_ref().unwrap().0 == StatusCode::OK));
    let a_share = a.state.served.load(Ordering::SeqCst) - before.0;
    let b_share = b.state.served.load(Ordering::SeqCst) - before.1;
    assert_eq!(a_share + b_share, 40);
    assert!(a_share >= 10 && b_share >= 10, "a {a_share}, b {b_share}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_is_ejected_and_readmitted_when_it_returns() {
    let mut a = TestReplica::start("a");
    let b = TestReplica::start("b");
    let gw = Arc::new(gateway(&[a.url(), b.url()], EdgeConfig::default()).await);

    // Four callers in a loop; replica `a` is killed while they run.
    let sent = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::<(usize, Result<String, String>)>::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (gw, sent, outcomes) = (gw.clone(), sent.clone(), outcomes.clone());
            tokio::spawn(async move {
                loop {
                    let n = sent.fetch_add(1, Ordering::SeqCst);
                    if n >= 600 {
                        return;
                    }
                    let outcome = match gw.embed().await {
                        Ok((StatusCode::OK, _, body)) => {
                            Ok(body["replica"].as_str().unwrap().to_string())
                        }
                        Ok((status, _, body)) => Err(format!("{status} {body}")),
                        Err(e) => Err(e.to_string()),
                    };
                    outcomes.lock().unwrap().push((n, outcome));
                }
            })
        })
        .collect();
    while sent.load(Ordering::SeqCst) < 150 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let killed_at = sent.load(Ordering::SeqCst);
    a.kill();
    for w in workers {
        w.await.unwrap();
    }
    let outcomes = outcomes.lock().unwrap().clone();
    let errors: Vec<_> = outcomes.iter().filter(|(_, o)| o.is_err()).collect();
    // Only requests in flight at the kill (at most one per caller) may fail.
    assert!(errors.len() <= 4, "{} errors: {errors:?}", errors.len());
    let after_kill = outcomes.iter().filter(|(n, _)| *n >= killed_at + 8);
    for (n, outcome) in after_kill {
        assert_eq!(outcome.as_deref(), Ok("b"), "request {n} after the kill");
    }
    assert!(outcomes.iter().any(|(_, o)| o.as_deref() == Ok("a")));
    let metrics = metrics_text();
    let healthy_a = format!(
        "stratus_gateway_upstream_healthy{{service=\"language\",replica=\"{}\"}} 0",
        a.url()
    );
    assert!(metrics.contains(&healthy_a), "{metrics}");

    // The replica comes back: a passing health check re-admits it.
    a.restart();
    let mut back = false;
    for _ in 0..100 {
        let (status, _, body) = gw.embed().await.unwrap();
        assert_eq!(status, StatusCode::OK);
        if body["replica"] == "a" {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(back, "replica a was not re-admitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_healthy_replica_is_a_503_envelope_until_one_returns() {
    let mut a = TestReplica::start("a");
    let mut b = TestReplica::start("b");
    let gw = gateway(&[a.url(), b.url()], EdgeConfig::default()).await;
    assert_eq!(gw.embed().await.unwrap().0, StatusCode::OK);
    a.kill();
    b.kill();

    // The first attempt may still try to connect (503, unreachable), or go
    // out on a pooled connection the kill reset (502: it may have reached
    // the replica, so it is not retried); once both are ejected the gateway
    // says so without trying.
    let mut saw_no_healthy = false;
    for _ in 0..20 {
        let (status, headers, body) = gw.embed().await.unwrap();
        if status == StatusCode::BAD_GATEWAY && !saw_no_healthy {
            continue;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(headers.get("retry-after").is_some());
        assert_eq!(body["error"]["type"], "service_unavailable");
        if body["error"]["code"] == "no_healthy_upstream" {
            saw_no_healthy = true;
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("no replica of the language service is healthy")
            );
            break;
        }
    }
    assert!(saw_no_healthy);
    let ready = reqwest::get(format!("{}/readyz", gw.url)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    b.restart();
    let mut ok = false;
    for _ in 0..100 {
        if gw.embed().await.unwrap().0 == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(ok, "replica b was not re-admitted");
    assert!(metrics_text().contains("reason=\"no_healthy_replica\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_streams_through_chunk_by_chunk() {
    let a = TestReplica::start("a");
    let gw = gateway(&[a.url()], EdgeConfig::default()).await;
    let response = gw
        .client
        .get(format!("{}/v1/audio/stream", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    // The upstream has not finished (it waits for the gate): a gateway that
    // buffered the response would deliver nothing here.
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the first event arrives before the upstream finishes")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"data: one\n\n");
    a.state.sse_gate.notify_one();
    let mut rest = Vec::new();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(rest, b"data: two\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stream_through_and_oversized_ones_are_413() {
    let (tx, mut first_chunk) = mpsc::unbounded_channel();
    let state = ReplicaState {
        first_chunk: Some(tx),
        ..ReplicaState::default()
    };
    let a = TestReplica::start_on("a", "127.0.0.1:0".parse().unwrap(), state);
    let edge = EdgeConfig {
        max_request_body: 64 * 1024,
        ..EdgeConfig::default()
    };
    let gw = gateway(&[a.url()], edge).await;
    let url = format!("{}/v1/language/upload", gw.url);

    // Streaming: the replica sees the first chunk while the caller still
    // holds the second back. A gateway that buffered the body would wait
    // forever here.
    let (chunks_tx, chunks_rx) = mpsc::unbounded_channel::<Result<Bytes, std::io::Error>>();
    let stream = futures::stream::unfold(chunks_rx, |mut rx| async move {
        rx.recv().await.map(|c| (c, rx))
    });
    chunks_tx.send(Ok(Bytes::from(vec![1u8; 1000]))).unwrap();
    let request = tokio::spawn(
        gw.client
            .post(&url)
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    let seen = tokio::time::timeout(Duration::from_secs(5), first_chunk.recv())
        .await
        .expect("the first chunk reaches the replica before the upload ends")
        .unwrap();
    assert_eq!(seen, 1000);
    chunks_tx.send(Ok(Bytes::from(vec![2u8; 3000]))).unwrap();
    drop(chunks_tx);
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "4000");

    // Chunked (no Content-Length, nothing to check up front) and too big:
    // cut off while streaming, 413 in the envelope.
    // The gateway answers and closes while the client may still be
    // writing; a client that loses that race sees a broken pipe instead of
    // the answer, so try a few times until it reads the 413.
    let mut answered = None;
    for _ in 0..10 {
        let big = futures::stream::iter(
            (0..20).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 8 * 1024]))),
        );
        match gw
            .client
            .post(&url)
            .body(reqwest::Body::wrap_stream(big))
            .send()
            .await
        {
            Ok(response) => {
                answered = Some(response);
                break;
            }
            Err(e) => assert!(e.is_request(), "{e}"),
        }
    }
    let response = answered.expect("one try reads the gateway's answer");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("65536"));

    // An honest Content-Length over the limit is refused before any byte
    // goes upstream.
    let response = gw
        .client
        .post(&url)
        .body(vec![0u8; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(metrics_text().contains("reason=\"body_too_large\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_sheds_at_once_with_503() {
    let a = TestReplica::start("a");
    let edge = EdgeConfig {
        max_in_flight: 2,
        ..EdgeConfig::default()
    };
    let gw = Arc::new(gateway(&[a.url()], edge).await);
    // One request through first: the replica is known healthy and the key
    // is cached before the slots are taken.
    assert_eq!(gw.embed().await.unwrap().0, StatusCode::OK);
    let slow = |gw: Arc<Gateway>| async move {
        gw.client
            .post(format!("{}/v1/language/slow", gw.url))
            .send()
            .await
            .unwrap()
            .status()
    };
    let held: Vec<_> = (0..2).map(|_| tokio::spawn(slow(gw.clone()))).collect();
    // Wait until both hold their slot (the gauge counts them). Generous:
    // on a loaded CI machine the two requests can take seconds to arrive,
    // and a third sent before them would rightly be served.
    let mut both_held = false;
    for _ in 0..3000 {
        if metrics_text().contains("stratus_gateway_requests_in_flight 2") {
            both_held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(both_held, "the two slow requests never held their slots");
    // The gauge is counted by a layer outside the cap, so on a loaded
    // machine a held request can show in it a moment before it takes its
    // slot, and a third request sent in that moment is rightly served. Try
    // again until it is shed; a cap that never sheds fails at the deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (status, headers, body, took) = loop {
        let started = std::time::Instant::now();
        let (status, headers, body) = gw.embed().await.unwrap();
        let took = started.elapsed();
        // A slow request that already ended frees its slot: say so, rather
        // than blame the cap.
        if let Some(done) = held.iter().position(|h| h.is_finished()) {
            panic!("slow request {done} ended before it was released");
        }
        if status != StatusCode::OK || std::time::Instant::now() > deadline {
            break (status, headers, body, took);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(took < Duration::from_secs(1), "shed at once, not queued");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"]["code"], "overloaded");
    // Health is not behind the cap.
    let health = reqwest::get(format!("{}/healthz", gw.url)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    a.state.release.send_replace(true);
    for h in held {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(gw.embed().await.unwrap().0, StatusCode::OK);
    assert!(
        metrics_text().contains("stratus_gateway_rejections_total{reason=\"in_flight_cap\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_is_504() {
    let a = TestReplica::start("a");
    let edge = EdgeConfig {
        request_timeout: Duration::from_millis(300),
        ..EdgeConfig::default()
    };
    let gw = gateway(&[a.url()], edge).await;
    let started = std::time::Instant::now();
    let response = gw
        .client
        .post(format!("{}/v1/language/sleepy", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(2));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "timeout_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener() {
    let a = TestReplica::start("a");
    let gw = gateway(&[a.url()], EdgeConfig::default()).await;
    for _ in 0..3 {
        assert_eq!(gw.embed().await.unwrap().0, StatusCode::OK);
    }
    let _ = gw
        .client
        .get(format!("{}/no/such/route", gw.url))
        .send()
        .await
        .unwrap();
    // Not on the public router: like every path outside the allowlist it
    // needs credentials first (401), and with them it is no route.
    let public = reqwest::get(format!("{}/metrics", gw.url)).await.unwrap();
    assert_eq!(public.status(), StatusCode::UNAUTHORIZED);
    let public = gw
        .client
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, stratus_gateway::observability::metrics::router()).await
    });
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "stratus_gateway_requests_total{route=\"/v1/embeddings\",method=\"POST\",status=\"200\"} 3",
        "stratus_gateway_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 2",
        "stratus_gateway_request_duration_seconds_bucket{route=\"/v1/embeddings\",method=\"POST\",le=\"0.005\"}",
        "stratus_gateway_requests_in_flight 0",
        &format!(
            "stratus_gateway_upstream_healthy{{service=\"language\",replica=\"{}\"}} 1",
            a.url()
        ),
        &format!(
            "stratus_gateway_upstream_outstanding{{service=\"language\",replica=\"{}\"}} 0",
            a.url()
        ),
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
}

/// A writer the access-log test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_access_log_has_one_event_per_request_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter("stratus_gateway::access=info")
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let a = TestReplica::start("a");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("g.db").display()))
        .await
        .unwrap();
    let upstreams = Upstreams {
        speech: None,
        language: Some(Upstream::replicas("language", &[a.url()], fast_pool()).unwrap()),
    };
    let (auth, tenant_id, key_id, key) = tenant_key(&store).await;
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store,
            auth,
            internal_token: InternalToken::generate().unwrap(),
            metering: None,
            billing: None,
            edge: EdgeConfig::default(),
            limits: stratus_gateway::limits::Limits::disabled(),
        },
        Readiness::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/embeddings?secret_param=hunter2"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "input": "private text" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["target"] == "stratus_gateway::access")
        .collect();
    assert_eq!(events.len(), 1, "{text}");
    let event = &events[0];
    assert_eq!(event["request_id"], request_id.as_str());
    assert_eq!(event["route"], "/v1/embeddings");
    assert_eq!(event["method"], "POST");
    assert_eq!(event["status"], 200);
    assert!(event["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(event["upstream"], a.url().as_str());
    assert_eq!(event["tenant_id"], tenant_id.as_str());
    assert_eq!(event["key_id"], key_id.as_str());
    assert_eq!(event["usage_input_tokens"], "3");
    let key_secret = key.rsplit('_').next().unwrap().to_string();
    for secret in [key_secret.as_str(), "hunter2", "private text"] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the log: {text}"
        );
    }
}
