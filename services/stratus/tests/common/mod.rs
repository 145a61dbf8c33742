//! Starting the real `stratus` binary in tests: on port 0, with the package
//! cache shared by test runs, reading the address it reports.
#![allow(dead_code, unused_imports)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failing test stops with the value it saw"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use stratus_testkit::{cache_root, normalise, testdata_file};

pub fn stratus(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
    command
        .env_remove("STRATUS_LISTEN")
        .env_remove("STRATUS_STORE")
        .env("STRATUS_HOME", home)
        .env("STRATUS_PACKAGE_CACHE", cache_root().join("packages"))
        .env("STRATUS_LOG", "info");
    command
}

/// A running server and the address it reported.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(mut command: Command) -> Server {
        command
            .args(["--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        let mut child = command.spawn().unwrap();
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
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not report its address");
        Server { child, base }
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::blocking::get(format!("{}{path}", self.base)).unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn wait_ready(&self, limit: Duration) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let (status, body) = self.get("/readyz");
            if status == 200 {
                return body;
            }
            assert_eq!(status, 503, "{body}");
            assert!(start.elapsed() < limit, "not ready after {limit:?}: {body}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Run a script of `tests/openai_sdk/` with the python that has OpenAI's
/// `openai` SDK (`scripts/test` creates that venv and sets
/// `STRATUS_OPENAI_PYTHON`; without it the test fails rather than skips).
pub fn run_sdk_script(script: &str, args: &[&str]) -> std::process::Output {
    let python = std::env::var_os("STRATUS_OPENAI_PYTHON").expect(
        "STRATUS_OPENAI_PYTHON is not set: run scripts/test, which creates a venv with OpenAI's `openai` SDK and sets it",
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/openai_sdk")
        .join(script);
    Command::new(python).arg(path).args(args).output().unwrap()
}
