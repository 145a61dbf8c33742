//! OpenAI's official Python SDK (`openai` from PyPI) calls `/v1/embeddings`
//! on the real `stratus serve` binary through the gateway: default (base64)
//! and float encodings, `dimensions`, usage, and errors as the SDK's own
//! exception types. The interpreter comes from `$STRATUS_TEST_PYTHON`,
//! which `scripts/test` sets up (a venv with `openai`); without it the test
//! fails and says so rather than skipping.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cache_root() -> PathBuf {
    std::env::var_os("STRATUS_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-test-cache"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// `stratus serve` with only the embedding model; its base URL once ready.
fn serve(home: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .env_remove("STRATUS_LISTEN")
        .env_remove("STRATUS_STORE")
        .env("STRATUS_HOME", home)
        .env("STRATUS_PACKAGE_CACHE", cache_root().join("packages"))
        .env("STRATUS_LOG", "info")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--models",
            "all-minilm-l6-v2",
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
    let start = Instant::now();
    loop {
        let status = reqwest::blocking::get(format!("{base}/readyz"))
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "not ready");
        std::thread::sleep(Duration::from_millis(250));
    }
    (server, base)
}

#[test]
fn openai_python_sdk_embeddings() {
    let python = std::env::var_os("STRATUS_TEST_PYTHON").expect(
        "STRATUS_TEST_PYTHON is not set: run scripts/test, which creates a venv with \
         OpenAI's `openai` package and points STRATUS_TEST_PYTHON at its python",
    );
    let home = tempfile::tempdir().unwrap();
    let (_server, base) = serve(home.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_embeddings.py");
    let output = Command::new(python)
        .arg(script)
        .args([base.as_str(), "all-minilm-l6-v2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "the SDK script failed:\n{stdout}\n{stderr}"
    );
}
