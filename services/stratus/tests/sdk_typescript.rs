//! The generated TypeScript SDK (`sdk/typescript`) against the real
//! `stratus serve`: compiled with the pinned tsc that `sdk/generate`
//! installs (`$STRATUS_TEST_CACHE/sdk-node`) into this test's target
//! directory, then its node:test suites run with Node: retries over HTTP
//! (`test/retry.test.mjs`) and the live suite (`test/live.test.mjs`): keys
//! made over the admin API, a real WAV transcribed (multipart) in several
//! formats, a translation, a streamed transcription (SSE), embeddings,
//! language detection, PII redaction, usage totals and events, a draft
//! invoice (JSON and CSV), and typed errors for a bad key, a bad field and a
//! rate limit (with Retry-After).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, cache_root, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

#[test]
fn typescript_sdk_suite_passes_against_stratus_serve() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/typescript");
    let tsc = cache_root().join("sdk-node/node_modules/.bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing: run sdk/generate (scripts/test does), which installs the pinned TypeScript",
        tsc.display()
    );
    let dist = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-typescript-dist");
    let _ = std::fs::remove_dir_all(&dist);
    let compiled = Command::new(&tsc)
        .arg("-p")
        .arg(sdk.join("tsconfig.json"))
        .arg("--outDir")
        .arg(&dist)
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "tsc: {}{}",
        String::from_utf8_lossy(&compiled.stdout),
        String::from_utf8_lossy(&compiled.stderr)
    );

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

    let started = Instant::now();
    let output = Command::new("node")
        .args([
            "--test",
            "--test-reporter=tap",
            "test/retry.test.mjs",
            "test/live.test.mjs",
        ])
        .current_dir(&sdk)
        .env_remove("STRATUS_API_KEY")
        .env("STRATUS_SDK_DIST", &dist)
        .env("STRATUS_BASE_URL", &server.base)
        .env("STRATUS_ADMIN_KEY", &admin)
        .env("STRATUS_TEST_AUDIO", testdata_file(CLIP))
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{report}\nnode --test: {:?}", started.elapsed());
    assert!(
        output.status.success(),
        "the TypeScript SDK suite failed:\n{report}"
    );
    // Every test ran and passed: none skipped (the live ones skip without a server).
    assert!(
        report.contains("# pass 13") && report.contains("# skipped 0"),
        "{report}"
    );
}
