//! The edge under a hostile tenant, through the real gateway router and
//! server: one tenant's slow uploads take at most its share of the
//! in-flight cap, so another tenant's requests (and the gateway's own
//! routes) are still served; a trickling upload through the gateway is cut
//! with 408 and gives its slot back.
#![expect(
    clippy::unwrap_used,
    reason = "tests: a failing test stops with the value it saw"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::json;
use stratus_gateway::auth::{KeySpec, Scopes, ServerSecret};
use stratus_gateway::limits::{Limits, LimitsConfig};
use stratus_gateway::overload::AdaptiveLimit;
use stratus_gateway::{Auth, EdgeConfig, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An upstream whose transcription reads the whole upload before it
/// answers (as the speech service does), counting the uploads it is
/// reading.
fn upstream(reading: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": []})) }),
        )
        .route(
            "/v1/audio/transcriptions",
            post(move |request: Request| {
                let reading = reading.clone();
                async move {
                    reading.fetch_add(1, Ordering::SeqCst);
                    let read = request.into_body().collect().await;
                    reading.fetch_sub(1, Ordering::SeqCst);
                    match read {
                        Ok(body) => Json(json!({"text": body.to_bytes().len().to_string()})),
                        Err(e) => Json(json!({"error": e.to_string()})),
                    }
                }
            }),
        )
        .route(
            "/v1/embeddings",
            post(|| async { Json(json!({"object": "list", "data": []})) }),
        )
}

struct Edge {
    addr: SocketAddr,
    /// Uploads the upstream is reading now.
    reading: Arc<AtomicUsize>,
    /// Tenant A's key, tenant B's key.
    a: String,
    b: String,
    _dir: tempfile::TempDir,
}

async fn key(auth: &Auth, tenant: &str) -> String {
    let tenant = stratus_gateway::tenants::create_tenant(auth, tenant)
        .await
        .unwrap();
    auth.create_key(
        &tenant.id,
        KeySpec {
            scopes: Scopes::parse("speech,language").unwrap(),
            ..KeySpec::default()
        },
    )
    .await
    .unwrap()
    .secret
}

/// A gateway with `edge` and default limits (no limit set for anyone),
/// served by `serve`.
async fn edge<F, S>(edge: EdgeConfig, serve: F) -> Edge
where
    F: FnOnce(tokio::net::TcpListener, Router) -> S,
    S: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("g.db").display()))
        .await
        .unwrap();
    let secret = ServerSecret::new("edge-test-secret-edge-test-secret-edge").unwrap();
    let auth = Auth::new(store.clone(), &secret);
    let a = key(&auth, "tenant-a").await;
    let b = key(&auth, "tenant-b").await;
    let reading = Arc::new(AtomicUsize::new(0));
    let up = |service| Upstream::InProcess {
        service,
        router: upstream(reading.clone()),
    };
    let limits = Limits::new(store.clone(), LimitsConfig::default())
        .await
        .unwrap();
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: Upstreams {
                speech: Some(up("speech")),
                language: Some(up("language")),
            }
            .into(),
            store,
            auth,
            internal_token: InternalToken::generate().unwrap(),
            metering: None,
            billing: None,
            edge,
            limits,
        },
        Readiness::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app));
    Edge {
        addr,
        reading,
        a,
        b,
        _dir: dir,
    }
}

/// Start an upload of `length` bytes as `key`, send its first bytes and
/// hold it open. `Ok(socket)` once the upstream is reading it; `Err(head)`
/// with the response if the gateway answered instead.
async fn open_upload(edge: &Edge, key: &str, length: usize) -> Result<TcpStream, String> {
    let before = edge.reading.load(Ordering::SeqCst);
    let mut socket = TcpStream::connect(edge.addr).await.unwrap();
    let head = format!(
        "POST /v1/audio/transcriptions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/octet-stream\r\ncontent-length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[0u8; 16]).await.unwrap();
    let mut buf = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if edge.reading.load(Ordering::SeqCst) > before {
            return Ok(socket);
        }
        tokio::select! {
            read = socket.read(&mut buf) => {
                let n = read.unwrap_or(0);
                return Err(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload was neither read nor answered"
        );
    }
}

async fn get_status(client: &reqwest::Client, url: String, key: &str) -> (u16, String) {
    let response = client.get(url).bearer_auth(key).send().await.unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_holding_slow_uploads_does_not_turn_other_tenants_away() {
    // Eight slots; no limit is set for either tenant.
    let gw = edge(
        EdgeConfig {
            max_in_flight: 8,
            ..EdgeConfig::default()
        },
        |listener, app| stratus_kit::server::serve(listener, app, std::future::pending()),
    )
    .await;

    // Tenant A opens as many slow uploads as there are slots.
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..8 {
        match open_upload(&gw, &gw.a, 1_000_000).await {
            Ok(socket) => held.push(socket),
            Err(head) => refused.push(head),
        }
    }

    // Tenant B is still served: the gateway's own routes and a forwarded
    // request, small or an upload of its own.
    let client = reqwest::Client::new();
    let base = format!("http://{}", gw.addr);
    let (status, body) = get_status(&client, format!("{base}/v1/models"), &gw.b).await;
    assert_eq!(status, 200, "B's /v1/models: {body}");
    let embed = client
        .post(format!("{base}/v1/embeddings"))
        .bearer_auth(&gw.b)
        .json(&json!({"model": "m", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), 200, "B's embeddings");
    let upload = client
        .post(format!("{base}/v1/audio/transcriptions"))
        .bearer_auth(&gw.b)
        .body(vec![1u8; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200, "B's upload");
    // And so is A on the gateway's own routes.
    let (status, body) = get_status(&client, format!("{base}/v1/models"), &gw.a).await;
    assert_eq!(status, 200, "A's /v1/models: {body}");

    // A got half the slots; the rest of its uploads were refused at once
    // with 429, not left to fill the edge.
    assert_eq!(held.len(), 4, "A's uploads in flight");
    assert_eq!(refused.len(), 4);
    for head in &refused {
        assert!(head.starts_with("HTTP/1.1 429"), "{head}");
        assert!(head.contains("too many concurrent requests"), "{head}");
    }

    // When A's uploads end, its share is free again.
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while gw.reading.load(Ordering::SeqCst) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "uploads still held");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let again = open_upload(&gw, &gw.a, 100).await;
    assert!(again.is_ok(), "{:?}", again.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_upload_through_the_gateway_is_408_and_frees_its_slot() {
    let config = stratus_kit::server::ServerConfig {
        min_body_rate: Some(stratus_kit::server::MinRate {
            bytes: 1000,
            window: Duration::from_millis(400),
        }),
        ..stratus_kit::server::ServerConfig::default()
    };
    let gw = edge(
        EdgeConfig {
            max_in_flight: 2,
            max_in_flight_per_tenant: Some(1),
            ..EdgeConfig::default()
        },
        move |listener, app| {
            stratus_kit::server::serve_with(listener, app, std::future::pending(), config)
        },
    )
    .await;
    let mut socket = open_upload(&gw, &gw.a, 100_000).await.unwrap();
    // A's one slot is taken.
    let second = open_upload(&gw, &gw.a, 100).await;
    assert!(second.unwrap_err().starts_with("HTTP/1.1 429"));

    // Sixteen bytes and then nothing: cut at the end of the window.
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut response))
        .await
        .expect("the trickling upload was not cut")
        .ok();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains(r#""code":"request_timeout""#),
        "{response}"
    );

    // The slot is A's again.
    let client = reqwest::Client::new();
    let upload = client
        .post(format!("http://{}/v1/audio/transcriptions", gw.addr))
        .bearer_auth(&gw.a)
        .body(vec![1u8; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
}

/// Past its capacity the gateway sheds requests to the model services —
/// 503 `overloaded` with Retry-After — once the adaptive limit, shrunk by
/// the runtime's lateness, is below what is in flight; before it spends
/// anything on them (not even checking the key); it serves them again
/// once it has caught up (the limit grows back), and never sheds its own
/// routes. The runtime is made late by a task that holds its only worker
/// thread; the limit's floor of slow uploads stays in flight throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_late_runtime_sheds_forwarded_requests_until_it_catches_up() {
    let gw = edge(
        EdgeConfig {
            max_scheduling_delay: Some(Duration::from_millis(10)),
            ..EdgeConfig::default()
        },
        |listener, app| stratus_kit::server::serve(listener, app, std::future::pending()),
    )
    .await;
    // Tenant B's slow uploads hold the floor of the limit: the limit can
    // fall no lower, so what comes next is refused while the runtime is
    // late. On time, the limit does not bind: nothing is refused.
    let mut held = Vec::new();
    for _ in 0..AdaptiveLimit::FLOOR {
        held.push(open_upload(&gw, &gw.b, 1_000_000).await.unwrap());
    }
    let base = format!("http://{}", gw.addr);
    let key = gw.a.clone();
    // The client runs on a thread and runtime of its own, so it keeps
    // sending while the gateway's runtime is held.
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let client = reqwest::Client::new();
            let send = |path: &'static str, key: &str| {
                client
                    .post(format!("{base}{path}"))
                    .bearer_auth(key)
                    .json(&json!({"model": "m", "input": "x"}))
                    .send()
            };
            let before = send("/v1/embeddings", &key)
                .await
                .unwrap()
                .status()
                .as_u16();
            let mut during = Vec::new();
            let until = std::time::Instant::now() + Duration::from_millis(600);
            while std::time::Instant::now() < until {
                // Every other request with a key the gateway never issued.
                let forged = during.len() % 2 == 1;
                let response = send("/v1/embeddings", if forged { "sk-forged" } else { &key })
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry = response.headers().contains_key("retry-after");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                during.push((status, retry, body["error"]["code"].clone(), forged));
            }
            // Caught up: the limit grows past the uploads within a tick.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after = send("/v1/embeddings", &key)
                .await
                .unwrap()
                .status()
                .as_u16();
            let own = client
                .get(format!("{base}/v1/models"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (before, during, after, own)
        })
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Hold the only worker 40 ms at a time for about half a second (a
    // spawned task: the test's own future runs on another thread).
    tokio::spawn(async {
        for _ in 0..12 {
            std::thread::sleep(Duration::from_millis(40));
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    let (before, during, after, own) = tokio::task::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(before, 200);
    let shed: Vec<_> = during
        .iter()
        .filter(|(status, ..)| *status == 503)
        .collect();
    assert!(!shed.is_empty(), "nothing was shed: {during:?}");
    for (_, retry, code, _) in &shed {
        assert!(*retry, "503 without Retry-After");
        assert_eq!(code, "overloaded");
    }
    // Shed before authentication: forged keys were refused 503 too while
    // the runtime ran late, and 401 otherwise.
    assert!(
        shed.iter().any(|(.., forged)| *forged),
        "no forged key was shed: {during:?}"
    );
    assert!(
        during.iter().all(|(status, .., forged)| match forged {
            true => matches!(status, 401 | 503),
            false => matches!(status, 200 | 503),
        }),
        "{during:?}"
    );
    assert_eq!(after, 200, "still shedding after the runtime caught up");
    assert_eq!(own, 200, "the gateway's own routes are not shed");
    assert_eq!(
        gw.reading.load(Ordering::SeqCst),
        AdaptiveLimit::FLOOR,
        "the slow uploads in flight were admitted and kept"
    );
    drop(held);
}
