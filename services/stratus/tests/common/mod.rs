//! Starting the real `stratus` binary in tests: on port 0, with the package
//! cache shared by test runs, reading the address it reports; API keys for
//! it from the bootstrap admin file or made with the CLI.
#![allow(dead_code, unused_imports)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failing test stops with the value it saw"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use stratus_testkit::{cache_root, normalise, testdata_file};

pub fn stratus(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
    command
        .env_remove("STRATUS_LISTEN")
        .env_remove("STRATUS_STORE")
        .env_remove("STRATUS_AUTH_SECRET")
        .env_remove("STRATUS_ADMIN_KEY_FILE")
        .env_remove("STRATUS_INTERNAL_TOKEN")
        .env_remove("STRATUS_USER_PASSWORD")
        .env("STRATUS_HOME", home)
        .env("STRATUS_PACKAGE_CACHE", cache_root().join("packages"))
        .env("STRATUS_LOG", "info");
    command
}

/// A port free on loopback now (for a listener the test names itself,
/// such as `--metrics-listen`).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A running server and the address it reported.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every log line the server wrote so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The bootstrap admin key `serve` wrote under `home` on first start.
pub fn admin_key(home: &Path) -> String {
    std::fs::read_to_string(home.join("admin-key"))
        .expect("serve writes HOME/admin-key on first start")
        .trim()
        .to_string()
}

/// A new key with `scopes` (comma-separated) of tenant `test`, made with
/// the CLI on `home` (the tenant is created on first use).
pub fn api_key(home: &Path, scopes: &str) -> String {
    api_key_in(home, None, scopes)
}

/// [`api_key`] on the store a server was given with `--store` (the CLI
/// still reads the server secret from `home`).
pub fn api_key_in(home: &Path, store: Option<&str>, scopes: &str) -> String {
    let store_args: Vec<&str> = store.map(|url| vec!["--store", url]).unwrap_or_default();
    let _ = stratus(home)
        .args(["tenants", "create", "test"])
        .args(&store_args)
        .output()
        .unwrap();
    let output = stratus(home)
        .args(["keys", "create", "--tenant", "test", "--scopes", scopes])
        .args(&store_args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("sk_"), "{key}");
    key
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
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line.clone());
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
        Server { child, base, log }
    }

    /// GET without credentials (public paths: `/healthz`, `/readyz`).
    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::blocking::get(format!("{}{path}", self.base)).unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    }

    /// GET with `Authorization: Bearer key`.
    pub fn get_with(&self, path: &str, key: &str) -> (u16, serde_json::Value) {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    }

    /// POST a JSON body with `Authorization: Bearer key` (when given).
    pub fn post_json(
        &self,
        path: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.base))
            .json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().unwrap();
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
/// The script finds `api_key` in `STRATUS_API_KEY`.
pub fn run_sdk_script(script: &str, args: &[&str], api_key: &str) -> std::process::Output {
    let python = std::env::var_os("STRATUS_OPENAI_PYTHON").expect(
        "STRATUS_OPENAI_PYTHON is not set: run scripts/test, which creates a venv with OpenAI's `openai` SDK and sets it",
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/openai_sdk")
        .join(script);
    Command::new(python)
        .arg(path)
        .args(args)
        .env("STRATUS_API_KEY", api_key)
        .output()
        .unwrap()
}

/// A key of the `system` tenant (the only one whose keys may hold `admin`)
/// with `scopes`, made with the CLI on `home`: the SDK suites create their
/// own tenants and keys with it over the admin API.
pub fn system_key(home: &Path, scopes: &str) -> String {
    let output = stratus(home)
        .args(["keys", "create", "--tenant", "system", "--scopes", scopes])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("sk_"), "{key}");
    key
}
