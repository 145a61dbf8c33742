//! Test support for the language service's HTTP tests: real models pulled
//! through the store into the cache shared between runs
//! (`$STRATUS_TEST_CACHE`, default `target/tmp/stratus-test-cache`), the
//! service's router served on `127.0.0.1:0`, and JSON posting.
// Each test crate uses a different part of this module, so whether an item
// is dead depends on the includer; `expect` cannot express that.
#![allow(dead_code)]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: fail with the value seen"
)]

use std::time::{Duration, Instant};

use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService};

pub const EMBEDDER: &str = "all-minilm-l6-v2";
pub const TAGGER: &str = "rampart-pii";
pub const LID: &str = "lid-176";
pub const SENTIMENT: &str = "sentiment-minilm-vader";
pub const GENERATOR: &str = "smollm2-135m-instruct";

/// The catalog model `name`, pulled (once per cache) and resolved.
pub use stratus_testkit::pulled as resolved;

/// A language service with `models` loaded, served over real HTTP.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub service: LanguageService,
}

impl Server {
    /// Serve `config` with `models` on 127.0.0.1:0 and wait until ready.
    pub async fn start_with(models: &[&str], config: LanguageConfig) -> Server {
        let names: Vec<String> = models.iter().map(|m| (*m).to_string()).collect();
        // Pulling reads and converts files: not on the async runtime.
        let resolved = tokio::task::spawn_blocking(move || {
            names.iter().map(|n| resolved(n)).collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let service = LanguageService::new(config, Readiness::default());
        for model in &resolved {
            service.load(model).unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = service.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let server = Server {
            base,
            client: reqwest::Client::new(),
            service,
        };
        server.wait_ready(Duration::from_secs(180)).await;
        server
    }

    /// Default config (queue of 8).
    pub async fn start(models: &[&str]) -> Server {
        Self::start_with(models, LanguageConfig::new(8)).await
    }

    async fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            let response = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .unwrap();
            if response.status() == 200 {
                return;
            }
            let body = response.text().await.unwrap();
            assert!(start.elapsed() < limit, "not ready after {limit:?}: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// POST `body` as JSON; the status, the headers and the JSON answer.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let value = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, headers, value)
    }
}

/// A usage header as a number.
pub fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}
