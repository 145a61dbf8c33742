//! The generated Python SDK (`sdk/python`) against the real `stratus serve`:
//! its own unittest suite (`sdk/python/tests`) transcribes a real WAV upload
//! (multipart) in several formats, streams one, gets typed errors, embeds,
//! detects a language, redacts PII, lists models, makes a key over the
//! admin API and reads usage totals and events with it, reads a draft
//! invoice (JSON and CSV), gets a typed rate-limit error with Retry-After
//! after setting a tenant limit, and runs the async calls. The python is the
//! pinned venv `scripts/test` creates (`STRATUS_SDK_PYTHON`).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Server, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

#[test]
fn python_sdk_suite_passes_against_stratus_serve() {
    let python = std::env::var_os("STRATUS_SDK_PYTHON").expect(
        "STRATUS_SDK_PYTHON is not set: run scripts/test, which creates the SDK venv and sets it",
    );
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,all-minilm-l6-v2,lid-176",
    ]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    let key = common::api_key(home.path(), "speech,language");
    let admin = common::system_key(home.path(), "admin");

    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python");
    let output = Command::new(python)
        .args(["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."])
        .current_dir(&sdk)
        .env("PYTHONPATH", &sdk)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("STRATUS_BASE_URL", &server.base)
        .env("STRATUS_API_KEY", &key)
        .env("STRATUS_ADMIN_KEY", &admin)
        .env("STRATUS_TEST_AUDIO", testdata_file(CLIP))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "the Python SDK suite failed:\n{report}"
    );
    // These really ran (not skipped).
    for name in [
        "test_transcribes_a_wav_upload",
        "test_rate_limit_is_a_typed_error_with_retry_after",
        "test_usage_events_and_the_draft_invoice",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{name} ")) && l.ends_with("... ok")),
            "{name}: {report}"
        );
    }
}
