//! Asynchronous jobs over real HTTP with the real whisper-tiny.en, on real
//! SQLite and PostgreSQL (a fresh database per test): submit → poll →
//! result; listing and pages; cancelling queued and running jobs; tenant
//! isolation; the per-tenant limit; bad files refused at submit (hostile
//! WAV headers included); a job waiting for the server's audio budget;
//! signed webhooks received by a real local server (allowed explicitly:
//! loopback is refused by default), and every loopback spelling of a
//! webhook refused with nothing arriving; claims round-robin across
//! tenants; a cancel that stops a running job within a window; a job whose worker died is
//! finished by another after its lease expires, exactly once; racing
//! workers and claimers never finish a job twice.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing test stops with the value it saw, and logs what it measured"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use common::{CLIP, form, greedy_text, loaded_service, normalise};
use serde_json::Value;
use stratus_kit::context::{self, InternalToken};
use stratus_kit::destination::DestinationPolicy;
use stratus_speech::jobs::store::{Lease, NewJob, Outcome};
use stratus_speech::jobs::{JobConfig, JobStore, JobWorkers, Jobs, webhook};
use stratus_speech::{SpeechConfig, SpeechService};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const JOBS: &str = "/v1/audio/jobs";
const SECRET: &str = "whsec_jobs_test_secret";

// ---------------------------------------------------------------- setup

use stratus_testkit::fresh_postgres;

/// A SQLite database in a folder that lives as long as the returned guard.
fn fresh_sqlite() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/stratus.db", dir.path().display());
    (url, dir)
}

/// A speech service with jobs on `url`, served on a free port behind the
/// tenant-context middleware (as behind the gateway). Workers are started
/// by the test ([`JobServer::spawn_workers`]) so it can hold jobs queued.
struct JobServer {
    base: String,
    service: SpeechService,
    jobs: Jobs,
    client: reqwest::Client,
}

impl JobServer {
    async fn start(url: &str, config: JobConfig) -> JobServer {
        let speech = SpeechConfig {
            max_upload_bytes: 8 * 1024 * 1024,
            ..SpeechConfig::default()
        };
        Self::start_with(url, config, speech).await
    }

    async fn start_with(url: &str, config: JobConfig, speech: SpeechConfig) -> JobServer {
        let service = loaded_service(speech).await;
        let jobs = Jobs::new(JobStore::open(url).await.unwrap(), config).unwrap();
        let service = service.with_jobs(jobs.clone());
        let token = InternalToken::new(TOKEN).unwrap();
        let router = service.router().layer(axum::middleware::from_fn_with_state(
            Some(token),
            context::accept,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        JobServer {
            base,
            service,
            jobs,
            client: reqwest::Client::new(),
        }
    }

    fn spawn_workers(&self) -> JobWorkers {
        JobWorkers::spawn(self.service.clone(), self.jobs.clone())
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        tenant: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(context::TENANT_ID, tenant)
            .header(context::INTERNAL_TOKEN, TOKEN)
    }

    async fn submit(
        &self,
        tenant: &str,
        audio: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("model", "whisper-1")];
        all.extend_from_slice(fields);
        self.request(reqwest::Method::POST, JOBS, tenant)
            .multipart(form(audio, "clip.wav", &all))
            .send()
            .await
            .unwrap()
    }

    /// Submit and expect 202; the job's JSON.
    async fn queue(&self, tenant: &str, audio: Vec<u8>, fields: &[(&str, &str)]) -> Value {
        let response = self.submit(tenant, audio, fields).await;
        assert_eq!(response.status(), 202);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let job: Value = response.json().await.unwrap();
        assert_eq!(location, format!("{JOBS}/{}", job["id"].as_str().unwrap()));
        job
    }

    async fn get(&self, tenant: &str, id: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::GET, &format!("{JOBS}/{id}"), tenant)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn delete(&self, tenant: &str, id: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::DELETE, &format!("{JOBS}/{id}"), tenant)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn list(&self, tenant: &str, query: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::GET, &format!("{JOBS}?{query}"), tenant)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// `tenant`'s webhook secret (expects 200).
    async fn webhook_secret(&self, tenant: &str) -> Value {
        let response = self
            .request(reqwest::Method::GET, "/v1/audio/webhook-secret", tenant)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    async fn rotate_webhook_secret(&self, tenant: &str, body: &str) -> (u16, Value) {
        let response = self
            .request(
                reqwest::Method::POST,
                "/v1/audio/webhook-secret/rotate",
                tenant,
            )
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Poll until `done(job)` or `timeout`.
    async fn wait_for(
        &self,
        tenant: &str,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let (status, job) = self.get(tenant, id).await;
            assert_eq!(status, 200, "{job}");
            if done(&job) {
                return job;
            }
            assert!(started.elapsed() < timeout, "job never got there: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_final(&self, tenant: &str, id: &str) -> Value {
        self.wait_for(tenant, id, Duration::from_secs(180), |j| {
            matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
        })
        .await
    }
}

fn clip() -> Vec<u8> {
    std::fs::read(common::testdata_file(CLIP)).unwrap()
}

/// The clip repeated `times` times, as one WAV.
fn long_clip(times: usize) -> Vec<u8> {
    let mut reader = hound::WavReader::open(common::testdata_file(CLIP)).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for _ in 0..times {
        for &s in &samples {
            writer.write_sample(s).unwrap();
        }
    }
    writer.finalize().unwrap();
    out.into_inner()
}

fn quick_config() -> JobConfig {
    JobConfig {
        workers: 1,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(100),
        max_active_per_tenant: 5,
        ..JobConfig::default()
    }
}

// ------------------------------------------------------------ the tests

/// Queue, list, page, isolate, limit and cancel with no worker running,
/// then start one and see the queued jobs finish with the right text.
async fn check_queue_and_results(url: &str) {
    let server = JobServer::start(url, quick_config()).await;
    let duration = (clip().len() - 44) as f64 / 32_000.0;

    // Bad requests are refused at submit, before anything is queued.
    let bad = |status: u16, fields: &'static [(&'static str, &'static str)], audio: Vec<u8>| {
        let server = &server;
        async move {
            let response = server.submit("acme", audio, fields).await;
            let code = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!(code, status, "{fields:?}: {body}");
            assert!(body["error"]["message"].is_string(), "{body}");
            body
        }
    };
    bad(400, &[], Vec::new()).await;
    let body = bad(415, &[], b"this is not audio at all, just text".repeat(10)).await;
    assert_eq!(body["error"]["param"], "file");
    bad(413, &[], vec![0u8; 9 * 1024 * 1024]).await;
    bad(400, &[("task", "summarise")], clip()).await;
    bad(400, &[("stream", "true")], clip()).await;
    // No --webhook-secret on this server: a webhook could not be signed.
    let body = bad(400, &[("webhook_url", "http://127.0.0.1:9/hook")], clip()).await;
    assert_eq!(body["error"]["param"], "webhook_url");
    // …and has no secret to hand out.
    let response = server
        .request(reqwest::Method::GET, "/v1/audio/webhook-secret", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "webhooks_not_configured");
    // tiny.en cannot translate.
    bad(400, &[("task", "translate")], clip()).await;

    // Five queued jobs for acme, one for another tenant.
    let formats = ["json", "text", "srt", "vtt", "verbose_json"];
    let mut ids = Vec::new();
    for format in formats {
        let job = server
            .queue("acme", clip(), &[("response_format", format)])
            .await;
        assert_eq!(job["status"], "queued");
        assert_eq!(job["object"], "audio.job");
        assert_eq!(job["progress"], 0.0);
        assert_eq!(job["model"], "whisper-tiny.en");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let other = server.queue("globex", clip(), &[]).await;
    let other_id = other["id"].as_str().unwrap().to_owned();

    // Another tenant cannot see, cancel or list acme's jobs.
    assert_eq!(server.get("globex", &ids[0]).await.0, 404);
    assert_eq!(server.delete("globex", &ids[0]).await.0, 404);
    assert_eq!(server.get("acme", &other_id).await.0, 404);
    assert_eq!(server.get("acme", "no-such-job").await.0, 404);
    let (_, page) = server.list("globex", "").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], other_id.as_str());

    // Pages of two, newest first, every job once.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (status, page) = server.list("acme", &query).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["object"], "list");
        for job in page["data"].as_array().unwrap() {
            assert!(job.get("result").is_none());
            seen.push(job["id"].as_str().unwrap().to_owned());
        }
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        query = format!("limit=2&after={}", page["last_id"].as_str().unwrap());
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(server.list("acme", "limit=0").await.0, 400);
    assert_eq!(server.list("acme", "limit=101").await.0, 400);
    assert_eq!(server.list("acme", "limit=abc").await.0, 400);

    // The sixth active job of acme is one too many (429 with Retry-After).
    let response = server.submit("acme", clip(), &[]).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));

    // Cancelling a queued job is immediate; it frees a slot.
    let (status, cancelled) = server.delete("acme", &ids[1]).await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["finished_at"].is_i64());
    let extra = server.queue("acme", clip(), &[]).await;
    server.delete("acme", extra["id"].as_str().unwrap()).await;

    // Now a worker: the queued jobs finish in their formats.
    let workers = server.spawn_workers();
    for (i, id) in ids.iter().enumerate() {
        let job = server.wait_final("acme", id).await;
        if i == 1 {
            assert_eq!(job["status"], "cancelled", "{job}");
            assert!(job.get("result").is_none());
            continue;
        }
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["progress"], 1.0);
        assert_eq!(job["attempts"], 1);
        let seconds = job["usage"]["seconds"].as_f64().unwrap();
        assert!((seconds - duration).abs() < 0.01, "{job}");
        let result = &job["result"];
        let text = match formats[i] {
            "json" | "verbose_json" => result["text"].as_str().unwrap().to_owned(),
            "text" => result.as_str().unwrap().to_owned(),
            "srt" => {
                let srt = result.as_str().unwrap();
                assert!(srt.starts_with("1\n00:00:0"), "{srt}");
                srt.lines()
                    .filter(|l| !l.contains("-->") && l.parse::<u32>().is_err())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            _ => {
                let vtt = result.as_str().unwrap();
                assert!(vtt.starts_with("WEBVTT"), "{vtt}");
                vtt.lines()
                    .skip(1)
                    .filter(|l| !l.contains("-->"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        assert_eq!(normalise(&text), greedy_text(), "{}: {job}", formats[i]);
    }
    let job = server.wait_final("globex", &other_id).await;
    assert_eq!(job["status"], "succeeded");
    // The cancelled job was never run.
    assert_eq!(settled(|| server.jobs.stats.succeeded(), 5).await, 5);
    drop(workers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_and_results() {
    let (url, _dir) = fresh_sqlite();
    check_queue_and_results(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_queue_and_results() {
    check_queue_and_results(&fresh_postgres().await).await;
}

/// What `counter` reads once it reaches `expected`, or after 10 s: a worker
/// counts a job just after storing its outcome, so a client that has seen
/// the outcome can read the counter a moment early.
async fn settled(counter: impl Fn() -> u64, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = counter();
        if value >= expected || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A running job stops at its next segment when cancelled, and frees its
/// worker.
async fn check_cancel_running(url: &str) {
    let server = JobServer::start(url, quick_config()).await;
    let _workers = server.spawn_workers();
    // About three minutes of speech in segments of a few seconds.
    let long = server
        .queue(
            "acme",
            long_clip(40),
            &[("response_format", "verbose_json")],
        )
        .await;
    let id = long["id"].as_str().unwrap();
    let running = server
        .wait_for("acme", id, Duration::from_secs(120), |j| {
            j["status"] == "running" && j["progress"].as_f64().unwrap() > 0.0
        })
        .await;
    let progress = running["progress"].as_f64().unwrap();
    assert!(progress < 1.0, "{running}");
    let (status, cancelled) = server.delete("acme", id).await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["status"], "cancelled");

    // The worker is free again soon: a short job right after finishes well
    // before the long one could have.
    let started = Instant::now();
    let short = server.queue("acme", clip(), &[]).await;
    let short = server
        .wait_final("acme", short["id"].as_str().unwrap())
        .await;
    assert_eq!(short["status"], "succeeded", "{short}");
    let (_, long) = server.get("acme", id).await;
    assert_eq!(long["status"], "cancelled", "{long}");
    assert!(long.get("result").is_none());
    assert_eq!(settled(|| server.jobs.stats.succeeded(), 1).await, 1);
    eprintln!(
        "cancelled at progress {progress:.2}; the next job took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancel_running() {
    let (url, _dir) = fresh_sqlite();
    check_cancel_running(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cancel_running() {
    check_cancel_running(&fresh_postgres().await).await;
}

/// What the webhook receiver saw.
#[derive(Debug, Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A webhook receiver on a free port that answers 500 to the first
/// delivery (to exercise the retry) and 200 after.
async fn webhook_receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<Delivery>,
    Arc<AtomicUsize>,
) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sender = sender.clone();
            let calls = counted.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                sender
                    .send(Delivery {
                        headers,
                        body: body.to_vec(),
                    })
                    .unwrap();
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver, calls)
}

async fn check_webhook(url: &str) {
    let config = JobConfig {
        webhook_secret: Some(webhook::WebhookSecret::new(SECRET)),
        webhook_backoff: Duration::from_millis(100),
        webhook_timeout: Duration::from_secs(5),
        // The receiver is on loopback over http: refused unless named.
        webhook_policy: DestinationPolicy::new()
            .allow_http(true)
            .allow("127.0.0.1")
            .unwrap(),
        ..quick_config()
    };
    let server = JobServer::start(url, config).await;
    let _workers = server.spawn_workers();
    let (hook, mut deliveries, calls) = webhook_receiver().await;
    let bad = server
        .submit("acme", clip(), &[("webhook_url", "file:///etc/passwd")])
        .await;
    assert_eq!(bad.status(), 400);

    let job = server
        .queue("acme", clip(), &[("webhook_url", hook.as_str())])
        .await;
    let id = job["id"].as_str().unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(120), deliveries.recv())
        .await
        .expect("no webhook arrived")
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the first try was refused and retried"
    );
    let signature = delivery.headers[webhook::SIGNATURE_HEADER]
        .to_str()
        .unwrap();
    assert_eq!(
        delivery.headers[webhook::EVENT_HEADER],
        "audio.job.succeeded"
    );
    // Signed with acme's own secret, as acme reads it; not with the
    // server's key, and not with another tenant's secret.
    let acme_secret = server.webhook_secret("acme").await;
    let globex_secret = server.webhook_secret("globex").await;
    assert_ne!(acme_secret["secret"], globex_secret["secret"]);
    assert_eq!(acme_secret["previous_secret_expires_at"], Value::Null);
    let acme_first = acme_secret["secret"].as_str().unwrap().to_owned();
    assert!(acme_first.starts_with("whsec_"), "{acme_secret}");
    let verifies = |secret: &[u8], signature: &str, body: &[u8]| {
        let now = stratus_speech::jobs::store::now_ms() / 1000;
        webhook::verify(secret, signature, body, now, 300)
    };
    assert_eq!(signature.matches("v1=").count(), 1, "{signature}");
    assert!(verifies(acme_first.as_bytes(), signature, &delivery.body));
    for wrong in [
        SECRET,
        globex_secret["secret"].as_str().unwrap(),
        "the wrong secret",
    ] {
        assert!(!verifies(wrong.as_bytes(), signature, &delivery.body));
    }
    let mut tampered = delivery.body.clone();
    tampered[0] = b' ';
    assert!(!verifies(acme_first.as_bytes(), signature, &tampered));

    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "succeeded");
    assert_eq!(
        normalise(body["result"]["text"].as_str().unwrap()),
        greedy_text()
    );
    let job = server
        .wait_for("acme", id, Duration::from_secs(10), |j| {
            j["webhook_status"] == "delivered"
        })
        .await;
    assert_eq!(job["webhook_url"], hook.as_str());

    // Rotation: the next delivery is signed with the new secret and, for
    // the overlap, the old one; globex's secret is untouched.
    let (status, rotated) = server.rotate_webhook_secret("acme", "").await;
    assert_eq!(status, 200, "{rotated}");
    let acme_second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(acme_second, acme_first);
    let expires = rotated["previous_secret_expires_at"].as_i64().unwrap();
    let created = rotated["created_at"].as_i64().unwrap();
    assert!(
        (86_399..=86_401).contains(&(expires - created)),
        "{rotated}"
    );
    assert_eq!(
        server.webhook_secret("acme").await["secret"],
        acme_second.as_str()
    );
    assert_eq!(server.webhook_secret("globex").await, globex_secret);
    let delivery = deliver_one(&server, &mut deliveries, hook.as_str()).await;
    assert_eq!(delivery.1.matches("v1=").count(), 2, "{}", delivery.1);
    assert!(verifies(acme_second.as_bytes(), &delivery.1, &delivery.0));
    assert!(verifies(acme_first.as_bytes(), &delivery.1, &delivery.0));

    // Rotating with no overlap: only the newest secret signs.
    let (status, rotated) = server
        .rotate_webhook_secret("acme", r#"{"previous_secret_valid_seconds": 0}"#)
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["previous_secret_expires_at"], Value::Null);
    let acme_third = rotated["secret"].as_str().unwrap().to_owned();
    let delivery = deliver_one(&server, &mut deliveries, hook.as_str()).await;
    assert_eq!(delivery.1.matches("v1=").count(), 1, "{}", delivery.1);
    assert!(verifies(acme_third.as_bytes(), &delivery.1, &delivery.0));
    assert!(!verifies(acme_second.as_bytes(), &delivery.1, &delivery.0));

    // Out-of-range rotations are refused and change nothing.
    for bad in [
        r#"{"previous_secret_valid_seconds": 604801}"#,
        "{",
        r#"{"x": 1}"#,
    ] {
        let (status, body) = server.rotate_webhook_secret("acme", bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(
        server.webhook_secret("acme").await["secret"],
        acme_third.as_str()
    );
}

/// Queue acme's clip with `hook` and wait for its delivery: (body,
/// signature header).
async fn deliver_one(
    server: &JobServer,
    deliveries: &mut tokio::sync::mpsc::UnboundedReceiver<Delivery>,
    hook: &str,
) -> (Vec<u8>, String) {
    server.queue("acme", clip(), &[("webhook_url", hook)]).await;
    let delivery = tokio::time::timeout(Duration::from_secs(120), deliveries.recv())
        .await
        .expect("no webhook arrived")
        .unwrap();
    let signature = delivery.headers[webhook::SIGNATURE_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    (delivery.body, signature)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_webhook() {
    let (url, _dir) = fresh_sqlite();
    check_webhook(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_webhook() {
    check_webhook(&fresh_postgres().await).await;
}

/// A receiver on a free loopback port that counts every request (any
/// path, any method).
async fn counting_receiver() -> (u16, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, calls)
}

/// Server-side request forgery through `webhook_url`, end to end on
/// loopback only: with the policy at its default (plain http allowed here,
/// so the refusals are about the address), every spelling of this machine
/// is refused at submit with 400 naming `webhook_url`; a job that holds
/// such a URL anyway (queued before an upgrade, by hand) is finished with
/// `webhook_status: failed` and nothing ever reaches the receiver.
async fn check_webhook_destinations(url: &str) {
    let config = JobConfig {
        webhook_secret: Some(webhook::WebhookSecret::new(SECRET)),
        webhook_backoff: Duration::from_millis(50),
        webhook_timeout: Duration::from_secs(2),
        webhook_attempts: 2,
        webhook_policy: DestinationPolicy::new().allow_http(true),
        ..quick_config()
    };
    let server = JobServer::start(url, config).await;
    let (port, calls) = counting_receiver().await;
    let spellings = [
        format!("http://127.0.0.1:{port}/x"),
        format!("https://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://LocalHost.:{port}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://0x7f000001:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://127.1:{port}/x"),
        format!("http://0177.0.0.1:{port}/x"),
        format!("http://0.0.0.0:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://[::ffff:7f00:1]:{port}/x"),
    ];
    for spelling in &spellings {
        let response = server
            .submit("acme", clip(), &[("webhook_url", spelling.as_str())])
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{spelling}: {body}");
        assert_eq!(body["error"]["param"], "webhook_url", "{spelling}: {body}");
    }
    let (_, page) = server.list("acme", "").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 0, "{page}");

    // Past the submit check (straight into the store): refused at send.
    let mut job = new_job("acme");
    job.audio = clip();
    job.webhook_url = Some(format!("http://127.0.0.1:{port}/x"));
    let row = server.jobs.store.insert(job, 100).await.unwrap().unwrap();
    let _workers = server.spawn_workers();
    let done = server
        .wait_for("acme", &row.id, Duration::from_secs(180), |j| {
            j["webhook_status"] == "failed" || j["webhook_status"] == "delivered"
        })
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["webhook_status"], "failed", "{done}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a webhook reached loopback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_webhook_destinations() {
    let (url, _dir) = fresh_sqlite();
    check_webhook_destinations(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_webhook_destinations() {
    check_webhook_destinations(&fresh_postgres().await).await;
}

/// The clip, then `silence_s` seconds of digital silence, then the clip
/// again, as one WAV.
fn clip_silence_clip(silence_s: usize) -> Vec<u8> {
    let mut reader = hound::WavReader::open(common::testdata_file(CLIP)).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for &s in &samples {
        writer.write_sample(s).unwrap();
    }
    for _ in 0..silence_s * spec.sample_rate as usize * usize::from(spec.channels) {
        writer.write_sample(0i16).unwrap();
    }
    for &s in &samples {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// A cancel stops a running job before its next 30 s window, even through
/// audio the model hears as silence (windows with no segment, where the
/// model used to be asked to stop only at the next piece of text): the
/// audio the model decoded after the cancel is at most the window it was
/// in (30 s).
async fn check_cancel_within_a_window(url: &str) {
    let speech = SpeechConfig {
        max_upload_bytes: 40 * 1024 * 1024,
        ..SpeechConfig::default()
    };
    let config = JobConfig {
        lease: Duration::from_secs(60),
        ..quick_config()
    };
    let server = JobServer::start_with(url, config, speech).await;
    let _workers = server.spawn_workers();
    // Ten minutes of silence between two clips: twenty quiet windows.
    let job = server.queue("acme", clip_silence_clip(600), &[]).await;
    let id = job["id"].as_str().unwrap();
    let running = server
        .wait_for("acme", id, Duration::from_secs(120), |j| {
            j["status"] == "running" && j["progress"].as_f64().unwrap() > 0.0
        })
        .await;
    let cancelled_at = Instant::now();
    let (status, cancelled) = server.delete("acme", id).await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["status"], "cancelled");
    let stopped = settled(|| server.jobs.stats.stopped(), 1).await;
    let took = cancelled_at.elapsed();
    assert_eq!(stopped, 1, "the model did not stop");
    let after_ms = server
        .jobs
        .stats
        .decoded_after_stop_ms
        .load(Ordering::Relaxed);
    eprintln!(
        "cancelled at progress {} ({}); stopped {:.2} s later, {:.1} s of audio after the cancel",
        running["progress"],
        cancelled["progress"],
        took.as_secs_f64(),
        after_ms as f64 / 1000.0
    );
    // One window (30 s), to the millisecond's rounding.
    assert!(
        after_ms <= 30_010,
        "decoded {after_ms} ms of audio after the cancel"
    );
    let (_, after) = server.get("acme", id).await;
    assert_eq!(after["status"], "cancelled", "{after}");
    assert!(after.get("result").is_none());
    assert_eq!(server.jobs.stats.succeeded(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancel_within_a_window() {
    let (url, _dir) = fresh_sqlite();
    check_cancel_within_a_window(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cancel_within_a_window() {
    check_cancel_within_a_window(&fresh_postgres().await).await;
}

/// Claims go round-robin across tenants: tenant A queues four jobs, then B
/// one: B's goes second, not last; C, arriving once A's second job runs,
/// joins the round being served instead of jumping ahead of A's waiting
/// jobs or waiting behind all of them.
async fn check_fair_claims(url: &str) {
    let store = JobStore::open(url).await.unwrap();
    let mut a = Vec::new();
    for _ in 0..4 {
        a.push(store.insert(new_job("A"), 100).await.unwrap().unwrap().id);
    }
    let b = store.insert(new_job("B"), 100).await.unwrap().unwrap().id;
    let mut claimed = Vec::new();
    let claim = async || {
        let job = store.claim("w", 60_000, 3).await.unwrap().unwrap();
        let lease = Lease {
            job_id: job.row.id.clone(),
            owner: "w".into(),
            attempt: job.row.attempt,
        };
        let done = Outcome::Succeeded {
            result: "{}".into(),
            audio_seconds: 1.0,
        };
        assert!(store.finish(&lease, &done).await.unwrap());
        job.row.id
    };
    claimed.push(claim().await);
    claimed.push(claim().await);
    assert_eq!(claimed, [a[0].clone(), b.clone()], "B waited behind A");
    claimed.push(claim().await);
    assert_eq!(claimed[2], a[1]);
    // A's third and fourth wait; C's two join them, alternating.
    let c1 = store.insert(new_job("C"), 100).await.unwrap().unwrap().id;
    let c2 = store.insert(new_job("C"), 100).await.unwrap().unwrap().id;
    let rest = [claim().await, claim().await, claim().await, claim().await];
    assert_eq!(rest, [a[2].clone(), c1, a[3].clone(), c2]);
    assert!(store.claim("w", 60_000, 3).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fair_claims() {
    let (url, _dir) = fresh_sqlite();
    check_fair_claims(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fair_claims() {
    check_fair_claims(&fresh_postgres().await).await;
}

/// A job claimed by a worker that then "dies" (claims with a short lease
/// and never finishes) is picked up after the lease expires and completes
/// once; the dead worker's late finish changes nothing.
async fn check_restart_safety(url: &str) {
    let server = JobServer::start(url, quick_config()).await;
    let job = server.queue("acme", clip(), &[]).await;
    let id = job["id"].as_str().unwrap();
    let dead = server
        .jobs
        .store
        .claim("dead-worker", 1_500, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.row.id, id);
    assert_eq!(dead.row.attempt, 1);
    let (_, running) = server.get("acme", id).await;
    assert_eq!(running["status"], "running");

    let _workers = server.spawn_workers();
    let done = server.wait_final("acme", id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2);
    assert_eq!(
        normalise(done["result"]["text"].as_str().unwrap()),
        greedy_text()
    );

    let lease = Lease {
        job_id: id.to_owned(),
        owner: "dead-worker".into(),
        attempt: 1,
    };
    let late = Outcome::Succeeded {
        result: "{\"text\":\"late\"}".into(),
        audio_seconds: 1.0,
    };
    assert!(!server.jobs.store.finish(&lease, &late).await.unwrap());
    assert!(
        !server
            .jobs
            .store
            .renew(&lease, 60_000, Some(0.5))
            .await
            .unwrap()
    );
    let (_, after) = server.get("acme", id).await;
    assert_eq!(after["result"], done["result"]);
    assert_eq!(settled(|| server.jobs.stats.succeeded(), 1).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_safety() {
    let (url, _dir) = fresh_sqlite();
    check_restart_safety(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_safety() {
    check_restart_safety(&fresh_postgres().await).await;
}

/// Two worker pools (two "replicas", each with its own connection pool)
/// on one queue: every job succeeds, and the completions counted by both
/// add up to the number of jobs.
async fn check_racing_workers(url: &str) {
    let server = JobServer::start(
        url,
        JobConfig {
            workers: 2,
            ..quick_config()
        },
    )
    .await;
    let replica = Jobs::new(
        JobStore::open(url).await.unwrap(),
        JobConfig {
            workers: 2,
            ..quick_config()
        },
    )
    .unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let job = server.queue("acme", clip(), &[]).await;
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let _a = server.spawn_workers();
    let _b = JobWorkers::spawn(server.service.clone(), replica.clone());
    for id in &ids {
        let job = server.wait_final("acme", id).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["attempts"], 1, "{job}");
    }
    let total = settled(
        || server.jobs.stats.succeeded() + replica.stats.succeeded(),
        4,
    )
    .await;
    assert_eq!(
        total,
        4,
        "completions: {} + {}",
        server.jobs.stats.succeeded(),
        replica.stats.succeeded()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_workers() {
    let (url, _dir) = fresh_sqlite();
    check_racing_workers(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_racing_workers() {
    check_racing_workers(&fresh_postgres().await).await;
}

fn new_job(tenant: &str) -> NewJob {
    NewJob {
        tenant_id: tenant.into(),
        key_id: None,
        task: "transcribe".into(),
        model: "whisper-tiny.en".into(),
        language: None,
        prompt: None,
        response_format: "json".into(),
        segment_granularity: false,
        filename: Some("a.wav".into()),
        content_type: None,
        audio: vec![1, 2, 3],
        webhook_url: None,
    }
}

/// The store alone, no model: concurrent claimers get each job once; two
/// holders of one job (the first lease expired) finish it once; a job
/// whose workers keep dying fails after `max_attempts`.
async fn check_store_races(url: &str) {
    let store = JobStore::open(url).await.unwrap();
    // Opening again (a second replica) re-runs migrations as a no-op.
    let other = JobStore::open(url).await.unwrap();
    for _ in 0..6 {
        store.insert(new_job("t"), 100).await.unwrap().unwrap();
    }
    let claims = (0..12).map(|n| {
        let store = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        async move { store.claim(&format!("w{n}"), 60_000, 3).await.unwrap() }
    });
    let claimed: Vec<_> = futures::future::join_all(claims)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut ids: Vec<&str> = claimed.iter().map(|c| c.row.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(claimed.len(), 6, "each job claimed once");
    assert_eq!(ids.len(), 6);
    assert_eq!(claimed[0].audio.as_deref(), Some(&[1u8, 2, 3][..]));

    // A lease that expires is claimed again; both holders try to finish.
    let job = store.insert(new_job("u"), 100).await.unwrap().unwrap();
    let first = store.claim("slow", 1, 3).await.unwrap().unwrap();
    assert_eq!(first.row.id, job.id);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = other.claim("fast", 60_000, 3).await.unwrap().unwrap();
    assert_eq!(second.row.id, job.id);
    assert_eq!(second.row.attempt, 2);
    let lease = |owner: &str, attempt| Lease {
        job_id: job.id.clone(),
        owner: owner.into(),
        attempt,
    };
    let done = Outcome::Succeeded {
        result: "{}".into(),
        audio_seconds: 1.0,
    };
    let (slow, fast) = (lease("slow", 1), lease("fast", 2));
    let (a, b) = tokio::join!(store.finish(&slow, &done), other.finish(&fast, &done));
    assert_eq!((a.unwrap(), b.unwrap()), (false, true));
    assert!(!store.finish(&fast, &done).await.unwrap(), "finished twice");

    // Workers that keep dying: after max_attempts claims the job fails.
    let doomed = store.insert(new_job("v"), 100).await.unwrap().unwrap();
    for attempt in 1..=2 {
        let c = store.claim("dying", 1, 2).await.unwrap().unwrap();
        assert_eq!(
            (c.row.id.as_str(), c.row.attempt),
            (doomed.id.as_str(), attempt)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.claim("next", 60_000, 2).await.unwrap().is_none());
    let row = store.get("v", &doomed.id).await.unwrap().unwrap();
    assert_eq!(row.status, "failed");
    assert_eq!(row.error_code.as_deref(), Some("worker_lost"));

    // The per-tenant limit counts queued and running jobs.
    assert!(store.insert(new_job("w"), 1).await.unwrap().is_some());
    assert!(store.insert(new_job("w"), 1).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_races() {
    let (url, _dir) = fresh_sqlite();
    check_store_races(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_races() {
    check_store_races(&fresh_postgres().await).await;
}

/// The clip with its header's sample rate set to `rate` (the rest valid).
fn clip_claiming_rate(rate: u32) -> Vec<u8> {
    let mut audio = clip();
    assert_eq!(&audio[24..28], &16_000u32.to_le_bytes());
    audio[24..28].copy_from_slice(&rate.to_le_bytes());
    audio
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sample_rates_are_refused_at_submit_like_the_sync_path() {
    let (url, _dir) = fresh_sqlite();
    let server = JobServer::start(&url, quick_config()).await;
    // 0 Hz panics inside symphonia's probe (a 500 before); 1 Hz passed the
    // probe and was queued, to fail in the worker, while a synchronous
    // request refused it at once.
    for rate in [0, 1, 400_000] {
        let response = server.submit("acme", clip_claiming_rate(rate), &[]).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{rate} Hz: {body}");
        assert_eq!(body["error"]["code"], "invalid_audio", "{body}");
        assert_eq!(body["error"]["param"], "file", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{rate} Hz")),
            "{body}"
        );
    }
    let (_, list) = server.list("acme", "").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waits_in_its_queue_for_the_audio_budget_then_runs() {
    let (url, _dir) = fresh_sqlite();
    let speech = SpeechConfig {
        audio_budget_seconds: 10.0,
        ..SpeechConfig::default()
    };
    let server = JobServer::start_with(&url, quick_config(), speech).await;
    let workers = server.spawn_workers();
    // Something else (requests, streams, other jobs) holds 8 of the 10 s.
    let budget = server.service.audio_budget.clone();
    let mut elsewhere = budget.reservation();
    elsewhere.grow_to(8.0).unwrap();

    let job = server.queue("acme", clip(), &[]).await;
    let id = job["id"].as_str().unwrap();
    // Claimed, refused by the budget and handed back, again and again: it
    // stays queued and never fails or uses up its attempts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, job) = server.get("acme", id).await;
    assert!(
        job["status"] == "queued" || job["status"] == "running",
        "{job}"
    );
    assert!(job["attempts"].as_i64().unwrap() <= 1, "{job}");
    assert_eq!(server.jobs.stats.failed.load(Ordering::Relaxed), 0);

    drop(elsewhere);
    let job = server.wait_final("acme", id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        normalise(job["result"]["text"].as_str().unwrap()),
        greedy_text()
    );
    assert_eq!(budget.free_seconds(), budget.total_seconds());
    drop(workers);
}
