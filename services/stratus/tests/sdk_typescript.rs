//! The generated TypeScript SDK (`sdk/typescript`) installed the two ways
//! its README says, each into a fresh npm project, then its node:test
//! suites run from there against the real `stratus serve`.
//!
//! - Tarball: `npm pack` in the SDK folder (its `prepare`, `build.mjs`,
//!   builds `dist/` with the pinned TypeScript), then `npm install` of the
//!   `.tgz`. The suites (`test/`) are copied into this project and import
//!   `@stratus/client` and `@stratus/client/webhooks` by name from its
//!   `node_modules`.
//! - Folder: `npm install <folder>`, which npm links and runs `prepare` for
//!   without installing the folder's dependencies; a script then imports
//!   both entry points by name.
//!
//! Each works on its own copy of the folder (without `node_modules` and
//! `dist`), so nothing is written into the checkout and neither leans on
//! the other's build. npm's cache is reused (`--prefer-offline`).
//!
//! The suites: retries over HTTP and the client's own logic (raw answers,
//! `jobs.wait` progress, timeout, abort, failure, cut-off streams) against
//! scripted local servers; webhook signatures (the server's scheme
//! recomputed, tampered, expired, foreign, rotated); the published types
//! (`test/types.mts` compiled by the pinned tsc of
//! `$STRATUS_TEST_CACHE/sdk-node` against the installed package); and the
//! live suite: keys made over the admin API, a real WAV transcribed in each
//! `response_format` (verbose_json with word and segment timestamps), a
//! translation, streamed transcription events, embeddings (floats and
//! base64), language detection, PII redaction, models, usage totals, typed
//! errors for a bad key, a bad field and a rate limit (with Retry-After),
//! the request id and rate-limit headers of raw answers (matched to the
//! usage events), usage events paged by cursor and resumed, a job submitted,
//! waited for with progress and read typed, jobs listed by page, a job's
//! webhook received by a local server and verified (and refused tampered,
//! expired or with another tenant's secret), and a draft invoice (JSON and
//! CSV).

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, cache_root, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

/// Every test of the suites, live ones included.
const TESTS: usize = 25;

/// `from` copied to `to`, without what installing or building it leaves.
fn copy_sdk(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "node_modules" || name == "dist" || name.ends_with(".tgz") {
            continue;
        }
        let target = to.join(&*name);
        if entry.file_type().unwrap().is_dir() {
            copy_sdk(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `npm <args>` in `dir`, which must succeed; its stdout.
fn npm(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("npm")
        .args(args)
        .args(["--prefer-offline", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "npm {args:?} in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh npm project at `dir`.
fn project(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    npm(dir, &["init", "-y"]);
    dir.to_path_buf()
}

#[test]
fn typescript_sdk_suite_passes_against_stratus_serve() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/typescript");
    let tsc = cache_root().join("sdk-node/node_modules/.bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing: run sdk/generate (scripts/test does), which installs the pinned TypeScript",
        tsc.display()
    );
    let work = tempfile::tempdir().unwrap();
    let installing = Instant::now();

    // The tarball, installed into the project the suites run in.
    let packed = work.path().join("packed/typescript");
    copy_sdk(&sdk, &packed);
    npm(&packed, &["pack"]);
    let tarball = std::fs::read_dir(&packed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "tgz"))
        .expect("npm pack wrote no .tgz");
    let app = project(&work.path().join("app"));
    npm(&app, &["install", tarball.to_str().unwrap()]);
    copy_sdk(&sdk.join("test"), &app.join("test"));

    // The folder, linked into a second project: both entry points import.
    let folder = work.path().join("folder/typescript");
    copy_sdk(&sdk, &folder);
    let linked = project(&work.path().join("linked"));
    npm(&linked, &["install", folder.to_str().unwrap()]);
    let imported = Command::new("node")
        .args([
            "--input-type=module",
            "-e",
            "import { Stratus, APIPromise } from '@stratus/client';\n\
             import { verifyWebhookSignature } from '@stratus/client/webhooks';\n\
             const stratus = new Stratus({ apiKey: 'sk_x' });\n\
             if (typeof stratus.audio.jobs.wait !== 'function' || typeof APIPromise !== 'function'\n\
               || typeof verifyWebhookSignature !== 'function') process.exit(1);\n\
             console.log('imported');",
        ])
        .current_dir(&linked)
        .output()
        .unwrap();
    assert!(
        imported.status.success() && String::from_utf8_lossy(&imported.stdout).contains("imported"),
        "the folder install does not import: {}{}",
        String::from_utf8_lossy(&imported.stdout),
        String::from_utf8_lossy(&imported.stderr)
    );
    eprintln!("installed both ways: {:?}", installing.elapsed());

    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,whisper-base,all-minilm-l6-v2,lid-176",
        // Job webhooks signed, and allowed to the suite's local receiver.
        "--webhook-secret",
        "sdk-typescript-test-webhook-key-0123456789",
        "--webhook-allow-http",
        "--webhook-allow-hosts",
        "127.0.0.1",
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
            "test/client.test.mjs",
            "test/webhooks.test.mjs",
            "test/types.test.mjs",
            "test/live.test.mjs",
        ])
        .current_dir(&app)
        .env_remove("STRATUS_API_KEY")
        .env("STRATUS_TSC", &tsc)
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
        report.contains(&format!("# pass {TESTS}\n")) && report.contains("# skipped 0"),
        "{report}"
    );
}
