//! The server's patience with its clients, over real loopback sockets: a
//! half-sent request head, an idle kept-alive connection and a trickling
//! upload are each cut at their timeout, while a slow handler and a
//! well-behaved upload are not. Timeouts are a few hundred milliseconds so
//! each test takes about a second.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failing test stops with the value it saw"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use stratus_kit::server::{MinRate, ServerConfig, serve_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a test waits for the server to act before calling it a failure.
const PATIENCE: Duration = Duration::from_secs(4);

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(900)).await;
                "done"
            }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
}

async fn start(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(
        listener,
        app(),
        std::future::pending::<()>(),
        config,
    ));
    addr
}

fn config(header_ms: u64, idle_ms: u64, min_rate: Option<(u64, u64)>) -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        min_body_rate: min_rate.map(|(bytes, ms)| MinRate {
            bytes,
            window: Duration::from_millis(ms),
        }),
    }
}

/// Read until the server closes the socket: what it sent, and when it
/// closed (a reset counts as closed).
async fn read_until_closed(socket: &mut TcpStream) -> (String, Instant) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(PATIENCE, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        outcome.is_ok(),
        "the server kept the connection open for {PATIENCE:?}; it sent: {text:?}"
    );
    (text, Instant::now())
}

/// Read one response whose body ends with `tail`.
async fn read_response(socket: &mut TcpStream, tail: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        while !String::from_utf8_lossy(&seen).ends_with(tail) {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_at_the_header_timeout() {
    let addr = start(config(300, 10_000, None)).await;

    let mut half = TcpStream::connect(addr).await.unwrap();
    let opened = Instant::now();
    half.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-partial: ")
        .await
        .unwrap();
    let (sent, closed) = read_until_closed(&mut half).await;
    let waited = closed - opened;
    assert!(sent.is_empty(), "{sent}");
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_millis(2000),
        "closed after {waited:?}"
    );

    // A socket that says nothing at all goes the same way.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let opened = Instant::now();
    let (_, closed) = read_until_closed(&mut silent).await;
    assert!(closed - opened < Duration::from_millis(2000));

    // A whole head in time is served, and the peer's address reaches it.
    let mut whole = TcpStream::connect(addr).await.unwrap();
    let local = whole.local_addr().unwrap();
    whole
        .write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut whole, &local.to_string()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let addr = start(config(10_000, 400, None)).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut socket, "ok").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Kept alive within the timeout: a second request on it is served.
    tokio::time::sleep(Duration::from_millis(150)).await;
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = {
        let response = read_response(&mut socket, "ok").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        Instant::now()
    };

    // Then idle: closed after the idle timeout.
    let (sent, closed) = read_until_closed(&mut socket).await;
    let idle = closed - answered;
    assert!(sent.is_empty(), "{sent}");
    assert!(
        idle >= Duration::from_millis(350) && idle < Duration::from_millis(2500),
        "closed after {idle:?} idle"
    );

    // A request in flight longer than both timeouts is not cut.
    let addr = start(config(300, 300, None)).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut socket, "done").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn a_trickling_upload_is_cut_with_408_after_the_progress_window() {
    // At least 100 bytes every 300 ms.
    let addr = start(config(10_000, 10_000, Some((100, 300)))).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(
            b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\n",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = socket.into_split();
    // One byte every 50 ms: 20 bytes a second against the 333 required.
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(PATIENCE, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let waited = started.elapsed();
    trickle.abort();
    let response = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        read.is_ok(),
        "the trickling upload was still open after {PATIENCE:?}: {response:?}"
    );
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains(r#""code":"request_timeout""#),
        "{response}"
    );
    assert!(response.contains("connection: close"), "{response}");
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_millis(2000),
        "cut after {waited:?}"
    );

    // A body at full speed is read whole.
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 200000\r\n\r\n")
        .await
        .unwrap();
    socket.write_all(&vec![0u8; 200_000]).await.unwrap();
    let response = read_response(&mut socket, "200000").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
