//! Retries over real HTTP: a scripted server on a local port answers 429
//! and 503 (with `Retry-After`) before 200; the client waits what it is
//! told, resends the whole multipart upload, and once the retries run out
//! returns the typed error with the envelope. `x-should-retry` decides
//! over the status either way.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stratus_client::{AudioFile, AudioOptions, ErrorKind, Stratus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ENVELOPE: &str = r#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#;
const TRANSCRIPTION: &str = r#"{"text":"hello","usage":{"type":"duration","seconds":1.0}}"#;

/// Serves `answers` (status, Retry-After) in order, one per connection;
/// returns the base URL and the request bodies it received.
async fn scripted(answers: Vec<(u16, Option<&'static str>)>) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    scripted_with(
        answers
            .into_iter()
            .map(|(status, after)| (status, after, None))
            .collect(),
    )
    .await
}

/// [`scripted`] with an `x-should-retry` value per answer.
async fn scripted_with(
    answers: Vec<(u16, Option<&'static str>, Option<&'static str>)>,
) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    tokio::spawn(async move {
        for (status, retry_after, should_retry) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let request = read_request(&mut socket).await;
            seen.lock().unwrap().push(request);
            let body = if status == 200 {
                TRANSCRIPTION
            } else {
                ENVELOPE
            };
            let mut retry = retry_after
                .map(|s| format!("retry-after: {s}\r\n"))
                .unwrap_or_default();
            if let Some(should) = should_retry {
                retry.push_str(&format!("x-should-retry: {should}\r\n"));
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{retry}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
    });
    (base, bodies)
}

/// One request: headers, then `content-length` bytes of body (returned).
async fn read_request(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client closed early");
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                let n = socket.read(&mut buf).await.unwrap();
                data.extend_from_slice(&buf[..n]);
            }
            return data[end + 4..].to_vec();
        }
    }
}

#[tokio::test]
async fn retries_429_and_503_waiting_retry_after_and_resends_the_upload() {
    let (base, bodies) = scripted(vec![(429, Some("1")), (503, Some("0")), (200, None)]).await;
    let stratus = Stratus::builder()
        .api_key("sk_test")
        .base_url(base)
        .max_retries(3)
        .build()
        .unwrap();
    let audio = AudioFile::from_bytes("a.wav", b"RIFF-not-really-audio".to_vec());
    let started = Instant::now();
    let result = stratus
        .transcribe(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert_eq!(result.text, "hello");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies
            .iter()
            .all(|b| b.windows(21).any(|w| w == b"RIFF-not-really-audio"))
    );
}

#[tokio::test]
async fn gives_up_after_max_retries_with_the_typed_error() {
    let (base, bodies) = scripted(vec![(429, Some("0")); 3]).await;
    let stratus = Stratus::builder()
        .base_url(base)
        .max_retries(2)
        .build()
        .unwrap();
    let error = stratus.list_models().await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::RateLimit);
    assert_eq!(error.code(), Some("rate_limit_exceeded"));
    assert_eq!(error.retry_after, Some(Duration::ZERO));
    assert_eq!(bodies.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_timeout_is_a_connection_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and never answers.
    let hold = tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let stratus = Stratus::builder()
        .base_url(base)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = stratus.list_models().await.unwrap_err();
    assert!(
        matches!(error, stratus_client::Error::Connection(_)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn x_should_retry_false_is_never_retried_and_true_always_is() {
    // A spent budget: 429 with `x-should-retry: false` comes back at once.
    let (base, bodies) =
        scripted_with(vec![(429, Some("0"), Some("false")), (200, None, None)]).await;
    let stratus = Stratus::builder()
        .base_url(base)
        .max_retries(3)
        .build()
        .unwrap();
    let error = stratus.list_models().await.unwrap_err();
    assert_eq!(error.api().map(|e| e.kind), Some(ErrorKind::RateLimit));
    assert_eq!(error.api().map(|e| e.retries_taken), Some(0));
    assert_eq!(bodies.lock().unwrap().len(), 1);

    // A 500 the server marks `x-should-retry: true` is resent.
    let (base, bodies) =
        scripted_with(vec![(500, Some("0"), Some("true")), (200, None, None)]).await;
    let stratus = Stratus::builder()
        .base_url(base)
        .max_retries(3)
        .build()
        .unwrap();
    let audio = AudioFile::from_bytes("a.wav", b"RIFF".to_vec());
    let raw = stratus.with_raw_response();
    let raw = raw
        .transcribe_as::<stratus_client::Json>(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert_eq!(raw.retries_taken, 1);
    assert_eq!(raw.text, "hello");
    assert_eq!(bodies.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_a_connection_error() {
    // A port nothing listens on (bound, then closed).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let stratus = Stratus::builder()
        .base_url(base)
        .max_retries(2)
        .backoff(Duration::from_millis(50))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = stratus.list_models().await.unwrap_err();
    assert!(
        matches!(error, stratus_client::Error::Connection(_)),
        "{error:?}"
    );
    // Two backoff waits of at least 25 ms each happened.
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );
}
