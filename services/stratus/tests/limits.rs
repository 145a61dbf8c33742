//! Limits through the real binary: `stratus gateway` with a server-wide
//! default from its flags, and `stratus keys limits` / `stratus tenants
//! limits` changing a running server's limits without a restart.
#![expect(
    clippy::unwrap_used,
    reason = "tests: a failing test stops with the value it saw"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, api_key, stratus};

fn cli(home: &std::path::Path, args: &[&str]) -> String {
    let output = stratus(home).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "stratus {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Status and `x-ratelimit-remaining-requests` of one embeddings call.
fn call(base: &str, key: &str) -> (u16, Option<String>) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/v1/embeddings"))
        .bearer_auth(key)
        .json(&serde_json::json!({"model": "m", "input": "x"}))
        .send()
        .unwrap();
    let remaining = response
        .headers()
        .get("x-ratelimit-remaining-requests")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), remaining)
}

#[test]
fn default_limits_from_flags_and_cli_changes_apply_to_a_running_gateway() {
    let home = tempfile::tempdir().unwrap();
    // Provisioned before the gateway first starts: the home is new, so
    // the CLI is told to create it.
    cli(home.path(), &["tenants", "create", "test", "--init"]);
    let key = api_key(home.path(), "language");
    let keys: serde_json::Value = serde_json::from_str(&cli(
        home.path(),
        &["keys", "list", "--tenant", "test", "--json"],
    ))
    .unwrap();
    let key_id = keys[0]["id"].as_str().unwrap().to_owned();

    // No language replica configured: an admitted request is routing's
    // 404, a refused one the 429 of the limits in front of it.
    let mut command = stratus(home.path());
    command.args(["gateway", "--default-key-limits", "requests_per_minute=2"]);
    let server = Server::start(command);
    let statuses: Vec<(u16, Option<String>)> = (0..3).map(|_| call(&server.base, &key)).collect();
    assert_eq!(
        statuses,
        vec![
            (404, Some("1".into())),
            (404, Some("0".into())),
            (429, Some("0".into()))
        ]
    );

    // The CLI writes the store; the gateway sees it within its cache TTL.
    let shown = cli(
        home.path(),
        &[
            "keys",
            "limits",
            &key_id,
            "--requests-per-minute",
            "50",
            "--json",
        ],
    );
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["requests_per_minute"], 50);
    let started = Instant::now();
    while call(&server.base, &key).0 == 429 {
        assert!(started.elapsed() < Duration::from_secs(2), "not applied");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A tenant limit, shown back as set; the other fields stay default.
    cli(
        home.path(),
        &["tenants", "limits", "test", "--concurrent-requests", "4"],
    );
    let shown = cli(home.path(), &["tenants", "limits", "test"]);
    assert!(shown.contains("concurrent_requests      4"), "{shown}");
    assert!(
        shown.contains("requests_per_minute      default"),
        "{shown}"
    );
    // Bad values are refused by the CLI with a clear message.
    let output = stratus(home.path())
        .args(["keys", "limits", &key_id, "--requests-per-minute", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("requests_per_minute"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(server.terminate().success());
}
