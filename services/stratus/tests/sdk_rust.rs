//! The generated Rust SDK (`sdk/rust`, its own cargo workspace, outside the
//! server's build) against the real `stratus serve`: `cargo test` of the
//! SDK runs its unit tests, its retry tests over HTTP and its live suite
//! (`sdk/rust/tests/live.rs`): keys made over the admin API, a real WAV
//! transcribed (multipart) in several formats, a translation, a streamed
//! transcription (SSE), embeddings, language detection, PII redaction,
//! usage totals and events, a draft invoice (JSON and CSV), and typed errors
//! for a bad key, a bad field and a rate limit (with Retry-After). The SDK
//! builds into this test's own target directory, so the dependencies the
//! server already built are reused.

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
    // The live tests really ran (not ignored), the upload and stream among them.
    for name in [
        "transcribes_a_wav_upload_in_each_format",
        "streams_a_transcription",
        "translates_with_a_multilingual_model_and_refuses_an_english_only_one",
        "embeds_detects_language_and_redacts_pii_then_reads_usage",
        "a_bad_key_and_a_bad_field_are_typed_errors_with_the_envelope",
        "a_rate_limit_is_a_typed_error_with_retry_after",
        "usage_events_and_the_draft_invoice",
        "retries_429_and_503_waiting_retry_after_and_resends_the_upload",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim() == format!("test {name} ... ok")),
            "{name} did not pass:\n{stdout}"
        );
    }
}
