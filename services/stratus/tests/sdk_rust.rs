//! The generated Rust SDK (`sdk/rust`, its own cargo workspace, outside the
//! server's build) against the real `stratus serve`: `cargo test` of the
//! SDK, as its README says, runs its unit tests, its retry tests over HTTP
//! (Retry-After, `x-should-retry`), its README examples (doctests) and its
//! live suite (`sdk/rust/tests/live.rs`): keys made over the admin API, a
//! real WAV transcribed (multipart) with a result type per format, a
//! translation, a streamed transcription (a `futures::Stream` of SSE
//! events), embeddings, language detection, PII redaction, usage totals,
//! usage events paged as a stream, a draft invoice (JSON and CSV), a job
//! waited for with progress and its typed result, the jobs list as a
//! stream, a signed job webhook verified (and a tampered and an expired one
//! refused), the webhook secret rotated, raw responses (request id, rate limits, usage), and typed
//! errors for a bad key, a bad field and a rate limit (with Retry-After).
//! The SDK builds into this test's own target directory, so the
//! dependencies the server already built are reused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

#[test]
fn rust_sdk_suite_passes_against_stratus_serve() {
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,whisper-base,all-minilm-l6-v2,lid-176",
        // Job webhooks signed, and allowed to the suite's receiver on
        // loopback over http.
        "--webhook-secret",
        "sdk-rust-test-webhook-key-0123456789abcdef",
        "--webhook-allow-http",
        "--webhook-allow-hosts",
        "127.0.0.1",
    ]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    let admin = common::system_key(home.path(), "admin");

    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/rust");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    // The cargo target directory this test binary was built in
    // (`<target>/<profile>/deps/<binary>`).
    let exe = std::env::current_exe().unwrap();
    let target_dir: PathBuf = exe.ancestors().nth(3).unwrap().to_path_buf();
    let started = Instant::now();
    let output = Command::new(cargo)
        .args([
            "test",
            "--profile",
            "ci",
            "--locked",
            "--",
            "--include-ignored",
        ])
        .current_dir(&sdk)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("STRATUS_API_KEY")
        .env("STRATUS_BASE_URL", &server.base)
        .env("STRATUS_ADMIN_KEY", &admin)
        .env("STRATUS_TEST_AUDIO", testdata_file(CLIP))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "{stderr}\n{stdout}\ncargo test of sdk/rust: {:?}",
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "the Rust SDK suite failed:\n{stderr}\n{stdout}"
    );
    // Every suite ran and passed: the unit tests, the retry tests, the
    // README examples and the live tests (not ignored).
    let passed: Vec<usize> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        passed.len(),
        4,
        "lib, live, retry and doc tests expected:\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .filter(|l| l.starts_with("test result: "))
            .all(|l| l.contains(" 0 failed;") && l.contains(" 0 ignored;")),
        "a test failed or was ignored:\n{stdout}"
    );
    for name in [
        "transcribes_a_wav_upload_in_each_format",
        "streams_a_transcription",
        "translates_with_a_multilingual_model_and_refuses_an_english_only_one",
        "embeds_detects_language_and_redacts_pii_then_reads_usage",
        "a_bad_key_and_a_bad_field_are_typed_errors_with_the_envelope",
        "a_rate_limit_is_a_typed_error_with_retry_after",
        "usage_events_page_as_a_stream_and_the_draft_invoice",
        "a_job_is_waited_for_with_progress_and_its_result_is_typed",
        "a_job_webhook_verifies_and_a_tampered_or_old_one_does_not",
        "raw_responses_carry_the_request_id_rate_limits_and_usage",
        "the_webhook_secret_rotates_with_a_keys_key",
        "retries_429_and_503_waiting_retry_after_and_resends_the_upload",
        "x_should_retry_false_is_never_retried_and_true_always_is",
        "a_refused_connection_is_retried_then_a_connection_error",
        "webhooks::tests::verifies_like_the_server_signs",
        "convert::tests::a_value_a_newer_server_adds_parses_as_unknown",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim() == format!("test {name} ... ok")),
            "{name} did not pass:\n{stdout}"
        );
    }
    // The README's examples are compiled (doctests of src/lib.rs).
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("test src/lib.rs - ") && l.ends_with(" ... ok")),
        "the README examples did not run:\n{stdout}"
    );
}
