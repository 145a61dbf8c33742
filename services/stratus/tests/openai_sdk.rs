//! OpenAI's official Python SDK (`openai` from PyPI) against the real
//! `stratus serve` binary: it transcribes a LibriVox clip in json, text,
//! srt, vtt and verbose_json, and reads an unknown model as its own
//! `NotFoundError`. The SDK lives in a venv that `scripts/test` creates; its
//! python is passed in `STRATUS_OPENAI_PYTHON`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
/// Greedy tiny.en on the clip (see models/tests/whisper.rs).
const GREEDY_TEXT: &str = "he was not an old sposed young man";

fn cache_root() -> PathBuf {
    std::env::var_os("STRATUS_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-test-cache"))
}

fn clip() -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let path = root.join("usr/share/pocketsphinx/test/data").join(CLIP);
    assert!(
        path.is_file(),
        "{} is missing: run `scripts/fetch-testdata` (scripts/test does)",
        path.display()
    );
    path
}

fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c == '-' { ' ' } else { c })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// `stratus serve` with only whisper-tiny.en; its base URL once ready.
fn start(home: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .env_remove("STRATUS_LISTEN")
        .env_remove("STRATUS_STORE")
        .env("STRATUS_HOME", home)
        .env("STRATUS_PACKAGE_CACHE", cache_root().join("packages"))
        .env("STRATUS_LOG", "info")
        .args([
            "serve",
            "--models",
            "whisper-tiny.en",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let addr = line[at + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let server = Server(child);
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server did not report its address");
    let started = Instant::now();
    loop {
        let status = reqwest::blocking::get(format!("{base}/readyz"))
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "not ready");
        std::thread::sleep(Duration::from_millis(250));
    }
    (server, base)
}

#[test]
fn openai_python_sdk_transcribes_in_every_format() {
    let python = std::env::var_os("STRATUS_OPENAI_PYTHON").expect(
        "STRATUS_OPENAI_PYTHON is not set: run scripts/test, which creates a venv with OpenAI's `openai` SDK and sets it",
    );
    let home = tempfile::tempdir().unwrap();
    let (_server, base) = start(home.path());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/openai_sdk/transcribe.py");
    let started = Instant::now();
    let output = Command::new(&python)
        .arg(&script)
        .arg(&base)
        .arg(clip())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the SDK script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!(
        "openai {} in {:.1} s: {out:#}",
        out["sdk_version"],
        started.elapsed().as_secs_f64()
    );

    assert_eq!(
        normalise(out["json"]["text"].as_str().unwrap()),
        GREEDY_TEXT
    );
    assert_eq!(out["json"]["usage"]["type"], "duration");
    assert!(out["json"]["usage"]["seconds"].as_f64().unwrap() > 2.0);
    assert_eq!(normalise(out["text"].as_str().unwrap()), GREEDY_TEXT);
    let srt = out["srt"].as_str().unwrap();
    assert!(
        srt.starts_with("1\n00:00:0") && srt.contains(" --> "),
        "{srt}"
    );
    let vtt = out["vtt"].as_str().unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n00:00:0"), "{vtt}");
    let verbose = &out["verbose_json"];
    assert_eq!(normalise(verbose["text"].as_str().unwrap()), GREEDY_TEXT);
    assert_eq!(verbose["language"], "english");
    let segments = verbose["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        assert!(s["start"].as_f64().unwrap() < s["end"].as_f64().unwrap());
        assert!(s["tokens"].as_array().is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(out["unknown_model"]["status"], 404);
    assert_eq!(out["unknown_model"]["code"], "model_not_found");
    assert_eq!(out["unknown_model"]["param"], "model");
}
