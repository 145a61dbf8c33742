//! The generated Python SDK (`sdk/python`) against the real `stratus serve`,
//! installed the way its README says: `pip install ./sdk/python` into a
//! fresh venv (`python3 -m venv` in a temporary folder; the dependencies
//! come from the package index through pip's own cache). Its unittest
//! suite (`sdk/python/tests`) then runs with that venv's python from the
//! tests folder, without PYTHONPATH, so what it imports is the installed
//! package (checked), not the source tree.
//!
//! The suite transcribes a real WAV upload (multipart) with a typed answer
//! per `response_format` (`verbose_json` with words and segments through
//! repeated `timestamp_granularities[]` fields, text, srt, vtt), streams
//! one as typed events, gets typed errors, embeds, detects a language,
//! redacts PII, lists models, makes keys over the admin API, reads usage
//! totals, pages usage events through the `x-stratus-cursor` header, reads
//! a draft invoice (JSON and CSV), submits jobs and waits for them (progress
//! callback, timeout, cancel, typed results, pages of jobs), verifies a real
//! signed job webhook and refuses tampered and expired ones, reads raw
//! responses (request id, rate-limit and usage headers), has a rate-limited
//! call retried after Retry-After and a spent budget refused at once without
//! retries (`x-should-retry: false`), and runs the async client; offline
//! tests cover the retry transport, webhook signatures, and the result
//! classes against `openapi/stratus.json`.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

/// A fresh venv in `dir` with the SDK installed as its README says, run
/// from the repository root; the venv's python.
fn install_sdk(repo: &Path, dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 runs");
    assert!(
        created.status.success(),
        "python3 -m venv: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let python = venv.join("bin/python");
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("./sdk/python")
        .current_dir(repo)
        .env_remove("PYTHONPATH")
        .env_remove("PIP_NO_CACHE_DIR")
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "pip install ./sdk/python: {}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    python
}

#[test]
fn python_sdk_suite_passes_against_stratus_serve() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tests = repo.join("sdk/python/tests");
    let venv_dir = tempfile::tempdir().unwrap();
    let python = install_sdk(&repo, venv_dir.path());

    // The suite imports the installed package, not sdk/python/stratus_client.
    let imported = Command::new(&python)
        .args([
            "-c",
            "import stratus_client; print(stratus_client.__file__)",
        ])
        .current_dir(&tests)
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "import stratus_client: {}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let imported = String::from_utf8_lossy(&imported.stdout);
    let imported = std::fs::canonicalize(imported.trim()).unwrap();
    assert!(
        imported.starts_with(std::fs::canonicalize(venv_dir.path()).unwrap()),
        "stratus_client came from {}",
        imported.display()
    );

    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,all-minilm-l6-v2,lid-176",
        // Job webhooks signed, and allowed to the suite's receiver on
        // loopback over http.
        "--webhook-secret",
        "sdk-python-test-webhook-key-0123456789abcdef",
        "--webhook-allow-http",
        "--webhook-allow-hosts",
        "127.0.0.1",
    ]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    let key = common::api_key(home.path(), "speech,language");
    let admin = common::system_key(home.path(), "admin");

    let output = Command::new(&python)
        .args(["-m", "unittest", "discover", "-v", "-s", ".", "-t", "."])
        .current_dir(&tests)
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("STRATUS_BASE_URL", &server.base)
        .env("STRATUS_API_KEY", &key)
        .env("STRATUS_ADMIN_KEY", &admin)
        .env("STRATUS_TEST_AUDIO", testdata_file(CLIP))
        .env("STRATUS_OPENAPI", repo.join("openapi/stratus.json"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "the Python SDK suite failed:\n{report}"
    );
    assert!(!report.contains("skipped"), "a test was skipped:\n{report}");
    // These really ran (not skipped).
    for name in [
        "test_transcribes_a_wav_upload",
        "test_each_response_format_has_its_type",
        "test_streams_typed_events",
        "test_rate_limit_is_a_typed_error_with_retry_after",
        "test_usage_events_and_the_draft_invoice",
        "test_usage_events_page_through_the_cursor",
        "test_submit_wait_with_progress_then_the_typed_result",
        "test_waiting_times_out_and_a_cancelled_job_fails_the_wait",
        "test_a_job_webhook_verifies",
        "test_raw_responses_carry_the_request_id_rate_limits_and_usage",
        "test_a_rate_limited_call_waits_retry_after_and_succeeds",
        "test_a_spent_budget_is_refused_at_once_without_retries",
        "test_a_keys_own_spent_budget_refuses_that_key_alone",
        "test_the_async_client_has_the_same_calls",
        "test_a_spent_budget_is_not_retried",
        "test_every_class_matches_its_schema",
        "test_a_tampered_body_or_another_secret_is_refused",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{name} ")) && l.ends_with("... ok")),
            "{name}: {report}"
        );
    }
}
