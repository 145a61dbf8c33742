//! A real `stratus serve` killed with SIGKILL in the middle of load, then
//! restarted on the same home and store: every request the clients saw
//! succeed has exactly one usage event, and no request has two (SQLite and
//! PostgreSQL).
//!
//! Until authentication lands, requests carry no tenant and are metered
//! under `unauthenticated`; the reconciliation is by `x-request-id`, which
//! each event keeps.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, stratus};
use stratus_gateway::Store;
use stratus_gateway::store::usage::EventFilter;

const EMBEDDER: &str = "all-minilm-l6-v2";

fn serve(home: &std::path::Path, store: Option<&str>) -> Server {
    let mut command = stratus(home);
    command.args(["serve", "--models", EMBEDDER, "--usage-flush-ms", "20"]);
    if let Some(url) = store {
        command.args(["--store", url]);
    }
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    server
}

use stratus_testkit::fresh_postgres;

/// Fire embeddings requests from `threads` clients until `stop`; the
/// request ids whose full 200 response arrived.
fn load(
    base: &str,
    key: &str,
    tag: &str,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<(Vec<String>, usize)>> {
    (0..threads)
        .map(|t| {
            let base = base.to_owned();
            let key = key.to_owned();
            let tag = tag.to_owned();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut ok = Vec::new();
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("{tag}-{t}-{sent}");
                    sent += 1;
                    let response = client
                        .post(format!("{base}/v1/embeddings"))
                        .bearer_auth(&key)
                        .header("x-request-id", &id)
                        .json(&serde_json::json!({"model": EMBEDDER, "input": format!("request {id}")}))
                        .send();
                    let Ok(response) = response else { break };
                    if response.status() != 200 {
                        continue;
                    }
                    // The gateway's own id (the caller's is kept apart, as
                    // `client_request_id`): what the usage event is filed under.
                    let ours = response
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body: Result<serde_json::Value, _> = response.json();
                    if body.is_ok_and(|b| b["data"][0]["embedding"].is_string() || b["data"][0]["embedding"].is_array())
                        && let Some(ours) = ours
                    {
                        assert_ne!(ours, id, "the caller's x-request-id must not become ours");
                        ok.push(ours);
                    }
                }
                (ok, sent)
            })
        })
        .collect()
}

async fn stored_request_ids(url: &str) -> Vec<String> {
    let store = Store::open(url).await.unwrap();
    let mut ids = Vec::new();
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
        ids.extend(page.into_iter().filter_map(|e| e.event.request_id));
    }
    ids
}

fn kill_mid_load(store_url: Option<String>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let url = store_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", home.path().join("stratus.db").display()));
    let server = serve(home.path(), store_url.as_deref());

    let stop = Arc::new(AtomicBool::new(false));
    let key = common::api_key_in(home.path(), Some(&url), "language");
    let clients = load(&server.base, &key, "kill", 6, stop.clone());
    std::thread::sleep(Duration::from_millis(2500));
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    stop.store(true, Ordering::Relaxed);
    let mut succeeded = Vec::new();
    let mut sent = 0;
    for client in clients {
        let (ok, n) = client.join().unwrap();
        succeeded.extend(ok);
        sent += n;
    }
    drop(server);
    assert!(succeeded.len() > 20, "too little load: {}", succeeded.len());

    // Restart on the same home (its usage log) and store.
    let server = serve(home.path(), store_url.as_deref());
    let want: HashSet<&String> = succeeded.iter().collect();
    let started = Instant::now();
    let stored = loop {
        let stored = runtime.block_on(stored_request_ids(&url));
        let have: HashSet<&String> = stored.iter().collect();
        if want.is_subset(&have) {
            break stored;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "lost: {} of {} successes have no event",
            want.difference(&have).count(),
            want.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Give a duplicate time to show.
    std::thread::sleep(Duration::from_millis(500));
    let stored = {
        let again = runtime.block_on(stored_request_ids(&url));
        assert!(again.len() >= stored.len());
        again
    };
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &stored {
        *counts.entry(id).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "counted twice: {duplicated:?}");
    assert!(
        stored.len() <= sent,
        "{} events for {sent} requests",
        stored.len()
    );
    eprintln!(
        "{}: {sent} sent, {} succeeded, {} events stored (the rest were cut by the kill)",
        if store_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        succeeded.len(),
        stored.len()
    );
    drop(server);
}

#[test]
fn sigkill_mid_load_loses_and_duplicates_no_usage_sqlite() {
    kill_mid_load(None);
}

#[test]
fn sigkill_mid_load_loses_and_duplicates_no_usage_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(fresh_postgres());
    kill_mid_load(Some(url));
}
