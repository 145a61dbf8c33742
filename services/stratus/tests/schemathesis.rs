//! The schema-driven fuzz run: schemathesis (PyPI, pinned in `scripts/test`)
//! reads `/openapi.json` from a real `stratus serve` and sends every
//! operation of it generated requests, valid and invalid, with a key that
//! holds every scope. It fails on any 5xx (`not_a_server_error`), any
//! response whose body does not match the document
//! (`response_schema_conformance`), any status the operation does not
//! document (`status_code_conformance`) and any undocumented content type
//! (`content_type_conformance`).
//!
//! Bounded to stay a CI test: a few examples per operation, a fixed seed
//! (a failure reproduces), no example database between runs. No operation
//! is excluded.
//!
//! `scripts/test` installs schemathesis into a venv in the test cache and
//! sets `STRATUS_SCHEMATHESIS` to its `st`; without it the test fails
//! rather than skips.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, stratus};

/// Every scope, so no operation is refused for want of one: the run
/// reaches the handlers, not just the gateway's 403.
const ALL_SCOPES: &str = "speech,language,usage:read,billing:read,keys,admin";
/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "6";
/// A fixed seed: CI runs the same cases every time, and a failure
/// reproduces with the command the test prints.
const SEED: &str = "20261128";

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let st = std::env::var_os("STRATUS_SCHEMATHESIS").expect(
        "STRATUS_SCHEMATHESIS is not set: run scripts/test, which installs schemathesis into a venv and sets it",
    );
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,all-minilm-l6-v2,lid-176,rampart-pii,sentiment-minilm-vader",
    ]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    // Only the system tenant's keys may hold `admin`; the CLI makes one.
    let output = stratus(home.path())
        .args([
            "keys", "create", "--tenant", "system", "--scopes", ALL_SCOPES,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("sk_"), "{key}");

    let reports = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(&st)
        .arg("run")
        .arg(format!("{}/openapi.json", server.base))
        .args(["--url", &server.base])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        // One worker: hypothesis parses lambda sources with `ast` while it
        // builds strategies, and CPython 3.11's `ast` is not thread-safe
        // ("AST constructor recursion depth mismatch" failed a CI run).
        .args(["--workers", "1", "--request-timeout", "120"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .arg("--report-dir")
        .arg(reports.path())
        .current_dir(reports.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "schemathesis ran {:.1} s:\n{stdout}\n{stderr}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "schemathesis found failures (above); the server log:\n{}",
        server.log.lock().unwrap().join("\n")
    );
    // It really tested the operations (not an empty or unreadable schema).
    assert!(
        stdout.contains("/v1/audio/transcriptions") || stdout.contains("passed"),
        "{stdout}"
    );
}
