//! Scale-out with real processes on loopback, all on one fresh PostgreSQL
//! database per test and one shared internal token and server secret:
//!
//! - `stratus gateway` in front of two `stratus language` replicas under a
//!   load of embeddings requests; one replica is killed with SIGKILL. The
//!   gateway ejects it and the load goes on on the other; the only requests
//!   that fail are those that were in flight on the dead replica, and their
//!   clients get a clear 502/503 in the error envelope; the usage events
//!   stored reconcile exactly with what the clients saw (every success has
//!   exactly one event, nothing has two).
//! - `stratus gateway` in front of two `stratus speech` replicas sharing the
//!   job queue: the replica transcribing an async job is killed with
//!   SIGKILL, and the job completes on the other after the lease expires,
//!   once (second attempt, one result).
//! - Two `stratus gateway` processes (each its own home and usage log) in
//!   front of two `stratus language` replicas, on one PostgreSQL and one
//!   Redis: a load alternating between the gateways gets one tenant's
//!   request limit once, not once per gateway, and another tenant's hard
//!   budget holds across both within one request's reservation.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, stratus};
use stratus_gateway::Store;
use stratus_gateway::store::usage::EventFilter;
use stratus_testkit::{cache_root, fresh_postgres, normalise, pulled, spell_numbers, word_errors};

const EMBEDDER: &str = "all-minilm-l6-v2";
const WHISPER: &str = "whisper-tiny.en";
const TOKEN: &str = "scale-out-internal-token-0123456789abcdef";
const SECRET: &str = "scale-out-server-secret-0123456789abcdefgh";
const THREADS: usize = 6;

/// The home the tests pull models into: replicas share it read-only and
/// run `--offline`, as pods do after their init container.
fn model_home(model: &str) -> PathBuf {
    pulled(model);
    cache_root().join("home")
}

fn replica(kind: &str, model: &str, extra: &[&str]) -> Server {
    replica_with_env(kind, model, extra, &[])
}

/// A replica whose process also gets the environment variables `env`.
fn replica_with_env(kind: &str, model: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut command = stratus(&model_home(model));
    command
        .envs(env.iter().copied())
        .args([
            kind,
            "--models",
            model,
            "--offline",
            "--internal-token",
            TOKEN,
        ])
        .args(extra);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(120));
    server
}

fn gateway(home: &Path, store: &str, upstream: &[(&str, &[&Server])]) -> Server {
    gateway_with(home, store, upstream, &[])
}

fn gateway_with(
    home: &Path,
    store: &str,
    upstream: &[(&str, &[&Server])],
    extra: &[&str],
) -> Server {
    let mut command = stratus(home);
    command.args([
        "gateway",
        "--store",
        store,
        "--internal-token",
        TOKEN,
        "--auth-secret",
        SECRET,
        // Notice a dead replica quickly (the defaults suit production).
        "--health-interval-ms",
        "200",
        "--eject-after-failures",
        "1",
        "--usage-flush-ms",
        "20",
    ]);
    command.args(extra);
    for (flag, replicas) in upstream {
        let urls: Vec<&str> = replicas.iter().map(|r| r.base.as_str()).collect();
        command.args([*flag, &urls.join(",")]);
    }
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(60));
    server
}

/// A key of tenant `scale` with `scopes`, made with the CLI on the store
/// with the gateway's secret.
fn key(home: &Path, store: &str, scopes: &str) -> String {
    tenant_key(home, store, "scale", scopes)
}

/// A key of `tenant` (created if missing) with `scopes`.
fn tenant_key(home: &Path, store: &str, tenant: &str, scopes: &str) -> String {
    let common = ["--store", store, "--auth-secret", SECRET];
    let _ = stratus(home)
        .args(["tenants", "create", tenant])
        .args(common)
        .output()
        .unwrap();
    let output = stratus(home)
        .args(["keys", "create", "--tenant", tenant, "--scopes", scopes])
        .args(common)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // The kernel's USER_HZ is 100 on every Linux architecture we run on.
    ticks / 100.0
}

fn sigkill(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// What one client request ended as.
struct Outcome {
    id: String,
    started: Instant,
    status: Option<u16>,
    body: serde_json::Value,
}

/// Embeddings requests from [`THREADS`] clients until `stop`.
fn load(
    base: &str,
    key: &str,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<Outcome>>> {
    (0..THREADS)
        .map(|t| {
            let (base, key, stop) = (base.to_owned(), key.to_owned(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut outcomes = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("scale-{t}-{n}");
                    n += 1;
                    let started = Instant::now();
                    let response = client
                        .post(format!("{base}/v1/embeddings"))
                        .bearer_auth(&key)
                        .header("x-request-id", &id)
                        .json(&serde_json::json!({"model": EMBEDDER, "input": format!("request {id}")}))
                        .send();
                    let (status, body) = match response {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            (Some(status), response.json().unwrap_or(serde_json::Value::Null))
                        }
                        Err(_) => (None, serde_json::Value::Null),
                    };
                    outcomes.push(Outcome {
                        id,
                        started,
                        status,
                        body,
                    });
                }
                outcomes
            })
        })
        .collect()
}

/// Every stored usage event's (caller's request id, status).
async fn stored_events(url: &str) -> Vec<(String, u16)> {
    let store = Store::open(url).await.unwrap();
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .usage_events(&EventFilter {
                tenant_id: None,
                after_seq: after,
                from_ms: i64::MIN,
                to_ms: i64::MAX,
                limit: 5000,
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        events.extend(
            page.into_iter()
                // Keyed by the caller's id (kept beside the gateway's own),
                // since a request that failed in transit has no answer to
                // read ours from.
                .filter_map(|e| Some((e.event.client_request_id?, e.event.status))),
        );
    }
    events
}

#[test]
fn language_replica_killed_under_load_loses_no_request_or_usage() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(fresh_postgres());
    let home = tempfile::tempdir().unwrap();
    let doomed = replica("language", EMBEDDER, &[]);
    let survivor = replica("language", EMBEDDER, &[]);
    let gateway = gateway(
        home.path(),
        &store,
        &[("--language-url", &[&doomed, &survivor])],
    );
    let key = key(home.path(), &store, "language");

    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(&gateway.base, &key, stop.clone());
    std::thread::sleep(Duration::from_secs(3));
    let doomed_cpu = cpu_seconds(doomed.child.id());
    let killed_at = Instant::now();
    sigkill(&doomed);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    let outcomes: Vec<Outcome> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();

    let ok = |o: &&Outcome| o.status == Some(200) && o.body["data"][0]["embedding"].is_array();
    let before = outcomes
        .iter()
        .filter(|o| o.started < killed_at)
        .filter(ok)
        .count();
    let after = outcomes
        .iter()
        .filter(|o| o.started > killed_at)
        .filter(ok)
        .count();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != Some(200)).collect();
    eprintln!(
        "{} requests: {before} succeeded before the kill, {after} after, {} failed ({:?}); the killed replica had used {doomed_cpu:.1} CPU s",
        outcomes.len(),
        failed.len(),
        failed.iter().map(|o| o.status).collect::<Vec<_>>()
    );
    // Both replicas served: the killed one had done real work.
    assert!(doomed_cpu > 0.3, "the killed replica did no work");
    assert!(before > 10, "too little load before the kill: {before}");
    // The load went on on the survivor.
    assert!(after > 10, "the load did not continue: {after}");
    // Only what was in flight on the dead replica failed (each client has
    // one request in flight), with a clear answer, not a dropped connection.
    assert!(failed.len() <= THREADS, "{} failed", failed.len());
    for o in &failed {
        assert!(
            matches!(o.status, Some(502 | 503)),
            "{}: {:?} {}",
            o.id,
            o.status,
            o.body
        );
        assert!(o.body["error"]["message"].is_string(), "{}", o.body);
        assert!(
            o.started < killed_at + Duration::from_secs(1),
            "{} failed {:?} after the kill: the replica was not ejected",
            o.id,
            o.started - killed_at
        );
    }

    // Usage: exactly one event per success, none for a request twice.
    let successes: HashSet<&str> = outcomes.iter().filter(ok).map(|o| o.id.as_str()).collect();
    let started = Instant::now();
    let events = loop {
        let events = runtime.block_on(stored_events(&store));
        let stored: HashSet<&str> = events
            .iter()
            .filter(|(_, status)| *status == 200)
            .map(|(id, _)| id.as_str())
            .collect();
        if successes.is_subset(&stored) {
            break events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "lost: {} of {} successes have no event",
            successes.difference(&stored).count(),
            successes.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Give a late duplicate time to show.
    std::thread::sleep(Duration::from_millis(500));
    let events = {
        let again = runtime.block_on(stored_events(&store));
        assert!(again.len() >= events.len());
        again
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &events {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "counted twice: {duplicated:?}");
    let seen: HashMap<&str, Option<u16>> =
        outcomes.iter().map(|o| (o.id.as_str(), o.status)).collect();
    for (id, status) in &events {
        // An event's status is the one its client saw.
        assert_eq!(seen.get(id.as_str()), Some(&Some(*status)), "{id}");
    }
    let billed = events.iter().filter(|(_, status)| *status == 200).count();
    assert_eq!(
        billed,
        successes.len(),
        "successes and billed events differ"
    );
    drop(gateway);
    drop(survivor);
}

/// About 30 s of espeak-ng speech as a WAV file (its own rate; the speech
/// service resamples), and the words spoken.
fn long_speech(dir: &Path) -> (PathBuf, String) {
    // Sentences that do not repeat: Whisper drops repeated passages.
    let text = "The quick brown fox jumps over the lazy dog near the river bank. \
                A storm was coming from the west, and the farmers hurried home. \
                Our train leaves the northern station at seven in the morning. \
                She painted the old wooden fence a bright shade of yellow. \
                Twelve students waited patiently outside the library doors. \
                The baker sold fresh bread and warm cinnamon rolls every day. \
                Heavy snow closed the mountain pass for most of the winter. \
                My grandfather kept a small garden full of tomatoes and beans. \
                The museum opens its new gallery of ancient maps next spring. \
                Please remember to water the plants while we are away. \
                A small boat drifted slowly across the quiet harbor at dawn. \
                The children built a tall castle of sand beside the waves. \
                Our neighbor repairs old bicycles in his garage on weekends. \
                The orchestra rehearsed the final movement until midnight. \
                Fresh coffee and warm bread filled the kitchen with a sweet smell. \
                The pilot announced that we would land twenty minutes early. \
                A gentle rain fell on the roof throughout the long night. \
                The doctor asked him to rest for a week before running again. \
                Bright lanterns lined the narrow streets of the old town. \
                The library will extend its opening hours during the exams. \
                Two cats slept in a patch of sunlight on the carpet. \
                The engineers tested the bridge with heavy trucks full of gravel. \
                Her letter arrived three days after the package was sent. \
                The hikers reached the summit just before the clouds rolled in.";
    let path = dir.join("speech.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/test installs it)");
    assert!(status.success());
    (path, text.to_string())
}

#[test]
fn speech_replica_killed_mid_job_the_other_completes_it_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(fresh_postgres());
    let home = tempfile::tempdir().unwrap();
    // A short lease, so the job is retried seconds after its worker died.
    let jobs = [
        "--store",
        &store,
        "--job-lease-seconds",
        "3",
        "--job-workers",
        "1",
    ];
    // One inference thread each, and a file of about two minutes: the job
    // must still be running after the worker has been told apart from the
    // idle replica, on however fast a machine (33 s of speech once finished
    // in under 1.5 s on all cores).
    let one_thread = [("RAYON_NUM_THREADS", "1")];
    let first = replica_with_env("speech", WHISPER, &jobs, &one_thread);
    let second = replica_with_env("speech", WHISPER, &jobs, &one_thread);
    let gateway = gateway(home.path(), &store, &[("--speech-url", &[&first, &second])]);
    let key = key(home.path(), &store, "speech");
    let (audio, text) = long_speech(home.path());

    let client = reqwest::blocking::Client::new();
    let form = reqwest::blocking::multipart::Form::new()
        .text("model", WHISPER)
        .file("file", &audio)
        .unwrap();
    let response = client
        .post(format!("{}/v1/audio/jobs", gateway.base))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let job: serde_json::Value = response.json().unwrap();
    assert!((200..=202).contains(&status), "{status}: {job}");
    let id = job["id"].as_str().unwrap().to_string();
    let get = |id: &str| -> (u16, serde_json::Value) {
        let response = client
            .get(format!("{}/v1/audio/jobs/{id}", gateway.base))
            .bearer_auth(&key)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    };
    let poll = |id: &str| -> serde_json::Value {
        let (status, job) = get(id);
        assert_eq!(status, 200, "{job}");
        job
    };

    // Wait until a worker runs it, then find whose: the replica burning CPU.
    let started = Instant::now();
    loop {
        let job = poll(&id);
        if job["status"] == "running" {
            break;
        }
        assert_eq!(job["status"], "queued", "{job}");
        assert!(started.elapsed() < Duration::from_secs(30), "never claimed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cpu = |s: &Server| cpu_seconds(s.child.id());
    let (a0, b0) = (cpu(&first), cpu(&second));
    std::thread::sleep(Duration::from_millis(500));
    let (a1, b1) = (cpu(&first), cpu(&second));
    let job = poll(&id);
    assert_eq!(job["status"], "running", "finished before the kill: {job}");
    assert_eq!(job["attempts"], 1, "{job}");
    let (worker, other) = if a1 - a0 > b1 - b0 {
        (first, second)
    } else {
        (second, first)
    };
    eprintln!(
        "job {id} running (CPU s in 0.5 s: {:.2} vs {:.2}); killing its replica",
        a1 - a0,
        b1 - b0
    );
    sigkill(&worker);
    let killed = Instant::now();

    let done = loop {
        let (status, job) = get(&id);
        if status != 200 {
            // A poll that was on its way to the killed replica (the gateway
            // never re-sends a request that may have reached one): a clear
            // 502/503, only until the gateway has ejected it.
            assert!(matches!(status, 502 | 503), "{status}: {job}");
            assert!(job["error"]["message"].is_string(), "{job}");
            assert!(
                killed.elapsed() < Duration::from_secs(2),
                "{status} {:?} after the kill: the replica was not ejected",
                killed.elapsed()
            );
            continue;
        }
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            break job;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(90),
            "not finished 90 s after the kill: {job}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!(
        "finished {:.1} s after the kill: {}",
        killed.elapsed().as_secs_f64(),
        done["status"]
    );
    assert_eq!(done["status"], "succeeded", "{done}");
    // Started twice (the dead worker's lease ran out), finished once.
    assert_eq!(done["attempts"], 2, "{done}");
    let heard = normalise(done["result"]["text"].as_str().unwrap_or_default());
    let said = normalise(&text);
    // The whole file, once: tiny.en on this synthetic speech gets most
    // words (measured: 12 errors in 88 words), a cut-off or doubled run
    // does not.
    let said_words = said.split_whitespace().count();
    let errors = word_errors(&spell_numbers(&heard), &said);
    assert!(
        errors * 4 < said_words,
        "{errors} word errors in {said_words}: {heard:?} (said {said:?})"
    );
    // One finished row in the shared store: the job exists once.
    let rows: i64 = runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&store).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM speech_jobs WHERE status = 'succeeded'")
            .fetch_one(&pool)
            .await
            .unwrap()
    });
    assert_eq!(rows, 1);
    drop(other);
    drop(gateway);
}

/// `stratus ARGS… --store STORE --auth-secret SECRET` (what an operator of
/// a shared store gives), which must succeed; its stdout.
fn cli(home: &Path, store: &str, args: &[&str]) -> String {
    let output = stratus(home)
        .args(args)
        .args(["--store", store, "--auth-secret", SECRET])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stratus {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `total` embeddings requests with `key` from [`THREADS`] clients, each
/// request to the gateway its number picks (alternating); the status and
/// body of each, and the load's duration.
fn alternating(
    gateways: [&str; 2],
    key: &str,
    total: usize,
    input: &str,
) -> (Vec<(usize, u16, serde_json::Value)>, Duration) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let next = next.clone();
            let bases = gateways.map(str::to_owned);
            let (key, input) = (key.to_owned(), input.to_owned());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut seen = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return seen;
                    }
                    let response = client
                        .post(format!("{}/v1/embeddings", bases[n % 2]))
                        .bearer_auth(&key)
                        .json(&serde_json::json!({"model": EMBEDDER, "input": input}))
                        .send()
                        .unwrap();
                    let status = response.status().as_u16();
                    seen.push((n % 2, status, response.json().unwrap()));
                }
            })
        })
        .collect();
    let seen = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    (seen, started.elapsed())
}

/// A decimal amount of the API (`"0.000123"`) in nanos.
fn nanos(amount: &serde_json::Value) -> i64 {
    stratus_gateway::billing::Nanos::parse(amount.as_str().unwrap(), 9)
        .unwrap()
        .0
}

#[test]
fn two_gateways_share_one_rate_limit_and_one_hard_budget() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(fresh_postgres());
    let redis = std::env::var("STRATUS_TEST_REDIS").expect(
        "STRATUS_TEST_REDIS is not set: run scripts/test, which starts a Redis if none runs",
    );
    // Budgets of this run only, whatever else shares the Redis.
    let prefix = format!("stratus-test:{}", uuid::Uuid::now_v7());
    let first = replica("language", EMBEDDER, &[]);
    let second = replica("language", EMBEDDER, &[]);
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let extra = ["--redis", redis.as_str(), "--redis-prefix", prefix.as_str()];
    let upstream: [(&str, &[&Server]); 1] = [("--language-url", &[&first, &second])];
    let a = gateway_with(home_a.path(), &store, &upstream, &extra);
    let b = gateway_with(home_b.path(), &store, &upstream, &extra);

    // One tenant limited to R requests a minute: both gateways together
    // admit R (plus what refills while the load runs), not 2R.
    const R: usize = 120;
    let limited = tenant_key(home_a.path(), &store, "limited", "language");
    cli(
        home_a.path(),
        &store,
        &[
            "tenants",
            "limits",
            "limited",
            "--requests-per-minute",
            "120",
        ],
    );
    let (seen, took) = alternating([&a.base, &b.base], &limited, 3 * R, "within the limit");
    let admitted: Vec<usize> = seen
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .map(|(gateway, _, _)| *gateway)
        .collect();
    for (_, status, body) in &seen {
        match status {
            200 => {}
            429 => assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // GCRA refills R a minute: at most this many more while the load ran.
    let refill = (took.as_secs_f64() * R as f64 / 60.0).ceil() as usize;
    eprintln!(
        "limit: {} admitted of {} in {took:?} (R = {R}, refill up to {refill})",
        admitted.len(),
        seen.len()
    );
    assert!(
        (R..=R + refill + 1).contains(&admitted.len()),
        "{} admitted of {} in {took:?}: R = {R}, refill up to {refill}",
        admitted.len(),
        seen.len()
    );
    // Both gateways admitted some: the budget is shared, not split.
    assert!(
        admitted.contains(&0) && admitted.contains(&1),
        "{admitted:?}"
    );

    // Another tenant with a hard budget: the load through both gateways
    // stops at it, overshooting by at most one request's reservation.
    let budgeted = tenant_key(home_a.path(), &store, "budgeted", "language,billing:read");
    let input = "a sentence long enough to cost a few tokens each time it is embedded";
    // About 40 requests' worth at the built-in prices (embeddings are
    // billed by the token: each ~300 nanos, ~15 tokens at 0.00002 USD per
    // 1,000).
    cli(
        home_a.path(),
        &store,
        &[
            "tenants", "budget", "--tenant", "budgeted", "--hard", "0.000012",
        ],
    );
    let (seen, _) = alternating([&a.base, &b.base], &budgeted, 200, input);
    let mut admitted = [0, 0];
    for (gateway, status, body) in &seen {
        match status {
            200 => admitted[*gateway] += 1,
            429 => assert_eq!(body["error"]["code"], "insufficient_quota", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(admitted[0] > 0 && admitted[1] > 0, "{admitted:?}");
    assert!(seen.len() > admitted[0] + admitted[1], "nothing refused");
    // Settled: nothing reserved any more, spent is the real cost.
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    let budget = loop {
        let budget: serde_json::Value = http
            .get(format!("{}/v1/billing/budget", b.base))
            .bearer_auth(&budgeted)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if nanos(&budget["reserved"]) == 0 {
            break budget;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{budget}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let body_len = serde_json::json!({"model": EMBEDDER, "input": input})
        .to_string()
        .len();
    let billing = stratus_gateway::billing::Billing::new(
        runtime.block_on(Store::open(&store)).unwrap(),
        stratus_gateway::billing::BillingConfig::new(stratus_gateway::billing::Catalog::builtin()),
    );
    let plan = billing.catalog().plan(None).clone();
    let one_reservation = billing
        .max_cost(&plan, "language", "/v1/embeddings", Some(body_len as u64))
        .0;
    let (spent, hard) = (nanos(&budget["spent"]), nanos(&budget["hard_limit"]));
    eprintln!(
        "budget: {admitted:?} admitted, {} refused; spent {spent} of hard {hard} (one reservation {one_reservation})",
        seen.len() - admitted[0] - admitted[1]
    );
    assert_eq!(hard, 12_000);
    assert!(
        spent <= hard + one_reservation,
        "spent {spent} > hard {hard} + one reservation {one_reservation}: {budget}"
    );
    assert!(budget["hard_limit_reached"] == true, "{budget}");
}
