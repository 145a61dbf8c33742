//! What an operator reads off a running Stratus: the model metrics on
//! `/metrics` (inference time, queue wait and depth, batch sizes, real-time
//! factor, the job backlog, the usage log's lag) after real requests, a
//! replica's own metrics listener, the request id and W3C trace id on
//! the lines the model logs from its own thread, and traces exported to an
//! OTLP collector (a small one run here) continuing the caller's trace.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failure is the test's failure"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, api_key, free_port, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn scrape(port: u16) -> String {
    reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics"))
        .unwrap()
        .text()
        .unwrap()
}

/// The value of the series whose line starts with `name{` and has every
/// one of `labels` (`key="value"`), if there is one.
fn series(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.split_once("} ")?;
        labels
            .iter()
            .all(|l| set.split(',').any(|have| have == *l))
            .then(|| value.trim().parse().unwrap())
    })
}

/// The value of the series `name` without labels.
fn unlabelled(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

fn must(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    series(metrics, name, labels)
        .unwrap_or_else(|| panic!("no {name}{{{}}} in\n{metrics}", labels.join(",")))
}

#[test]
fn serve_reports_model_metrics_and_model_lines_name_the_request_and_trace() {
    let home = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let mut command = stratus(home.path());
    command
        // The model's per-transcription line is at debug.
        .env("STRATUS_LOG", "stratus_models=debug,info")
        .args(["serve", "--models", "whisper-tiny.en,all-minilm-l6-v2"])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    let key = api_key(home.path(), "speech,language");
    let client = reqwest::blocking::Client::new();

    let form = reqwest::blocking::multipart::Form::new()
        .text("model", "whisper-tiny.en")
        .file("file", testdata_file(CLIP))
        .unwrap();
    let response = client
        .post(format!("{}/v1/audio/transcriptions", server.base))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let (status, body) = server.post_json(
        "/v1/embeddings",
        Some(&key),
        &serde_json::json!({"model": "all-minilm-l6-v2", "input": ["one", "two", "three"]}),
    );
    assert_eq!(status, 200, "{body}");

    // The model's line from its own thread carries the gateway's request
    // id and the caller's trace id (its span travelled with the job).
    let started = Instant::now();
    loop {
        let found = server.log.lock().unwrap().iter().any(|line| {
            line.contains("stratus_models")
                && line.contains("transcribed")
                && line.contains(&request_id)
                && line.contains(TRACE)
        });
        if found {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no model line names request {request_id} and trace {TRACE}:\n{}",
            server.log.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let metrics = scrape(metrics_port);
    let whisper = ["service=\"speech\"", "model=\"whisper-tiny.en\""];
    let minilm = ["service=\"language\"", "model=\"all-minilm-l6-v2\""];
    assert_eq!(
        must(&metrics, "stratus_model_inference_seconds_count", &whisper),
        1.0
    );
    assert!(must(&metrics, "stratus_model_inference_seconds_sum", &whisper) > 0.0);
    assert_eq!(
        must(&metrics, "stratus_model_queue_wait_seconds_count", &whisper),
        1.0
    );
    assert_eq!(must(&metrics, "stratus_model_queue_depth", &whisper), 0.0);
    assert_eq!(
        must(&metrics, "stratus_model_inference_seconds_count", &minilm),
        1.0
    );
    assert_eq!(must(&metrics, "stratus_model_queue_depth", &minilm), 0.0);
    // One forward pass of the three sentences.
    assert_eq!(
        must(
            &metrics,
            "stratus_model_batch_size_bucket",
            &[minilm[0], minilm[1], "le=\"2\""]
        ),
        0.0
    );
    assert_eq!(
        must(
            &metrics,
            "stratus_model_batch_size_bucket",
            &[minilm[0], minilm[1], "le=\"4\""]
        ),
        1.0
    );
    // tiny.en is far faster than real time on any CPU this runs on.
    let rtf = must(
        &metrics,
        "stratus_speech_realtime_factor_sum",
        &[whisper[1]],
    );
    assert!(rtf > 0.0 && rtf < 1.0, "real-time factor {rtf}");
    // Each endpoint its own series.
    assert!(
        must(
            &metrics,
            "stratus_gateway_requests_total",
            &["route=\"/v1/audio/transcriptions\"", "status=\"200\""]
        ) >= 1.0
    );
    // `serve` works jobs: the backlog is counted at start (none here).
    assert_eq!(
        must(&metrics, "stratus_jobs_backlog", &["state=\"queued\""]),
        0.0
    );
    // The usage writer has caught up with both requests' events.
    let started = Instant::now();
    while unlabelled(&scrape(metrics_port), "stratus_usage_wal_lag_seconds") != Some(0.0) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            scrape(metrics_port)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.terminate().success());
}

#[test]
fn a_replica_serves_its_own_metrics_listener() {
    let home = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let mut command = stratus(home.path());
    command
        .args(["speech", "--models", "whisper-tiny.en"])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    let metrics = scrape(metrics_port);
    assert!(
        metrics.contains("# TYPE stratus_cpu_tier_info gauge"),
        "{metrics}"
    );
    assert_eq!(
        must(&metrics, "stratus_jobs_backlog", &["state=\"running\""]),
        0.0
    );
    // Only /metrics there: the API is not on the metrics port.
    let status = reqwest::blocking::get(format!("http://127.0.0.1:{metrics_port}/v1/models"))
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);
    assert!(server.terminate().success());
}

/// A stand-in OpenTelemetry collector: answers every OTLP/HTTP request
/// with 200 and keeps its body. Returns its traces URL and the bodies.
fn collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                kept.lock().unwrap().push(body);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, bodies)
}

#[test]
fn traces_go_to_an_otlp_collector_and_continue_the_callers_trace() {
    let (url, bodies) = collector();
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command
        .args(["serve", "--models", "lid-176"])
        .args(["--otlp-endpoint", &url]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    let key = api_key(home.path(), "language");
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/language/detect", server.base))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"input": "Où est la gare, s'il vous plaît ?"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The spans still batched are sent at exit.
    assert!(server.terminate().success());

    // OTLP protobuf carries a trace id as its 16 bytes.
    let trace: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let bodies = bodies.lock().unwrap();
    let in_trace: usize = bodies
        .iter()
        .map(|body| body.windows(16).filter(|w| *w == trace.as_slice()).count())
        .sum();
    // The gateway's span and the language service's, both in the caller's
    // trace (a span's own trace id, and the parent link of neither: the
    // trace id is written once per span).
    assert!(
        in_trace >= 2,
        "{in_trace} spans of trace {TRACE} in {} export(s)",
        bodies.len()
    );
    let all: Vec<u8> = bodies.concat();
    for needle in [&b"stratus"[..], b"request"] {
        assert!(
            all.windows(needle.len()).any(|w| w == needle),
            "no {:?} in the export",
            String::from_utf8_lossy(needle)
        );
    }
}
