//! Test support for the speech service over real HTTP: the real
//! whisper-tiny.en pulled through the store into the shared test cache
//! (`$STRATUS_TEST_CACHE`, default `target/tmp/stratus-test-cache`), the
//! pocketsphinx LibriVox clip from `$STRATUS_TESTDATA` (filled by
//! `scripts/fetch-testdata`), re-encodings made with ffmpeg, and the speech
//! router served on `127.0.0.1:0`.
// Each test file uses a different part of this module.
#![allow(dead_code, unused_imports)]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: fail with the value seen"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use stratus_kit::health::Readiness;
use stratus_models::speech::SpeechEngine;
use stratus_speech::{SpeechConfig, SpeechService};
pub use stratus_testkit::{cache_root, model_store as store, normalise, testdata_file};

pub const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
/// What greedy decoding (OpenAI's temperature 0) of tiny.en on the Candle
/// engine makes of [`CLIP`] (see models/tests/whisper.rs); tests take
/// [`greedy_text`], the engine in force's.
const GREEDY_TEXT: &str = "he was not an old sposed young man";
/// The same on whisper.cpp (q8_0 weights).
const WHISPER_CPP_GREEDY_TEXT: &str = "he was not an old sposed young man";
/// The clip's reference transcript (normalised).
pub const REFERENCE_TEXT: &str = "he was not an ill disposed young man";

/// A speech service with whisper-tiny.en loaded, served on a free port.
pub struct Server {
    pub base: String,
    pub service: SpeechService,
}

impl Server {
    pub async fn start(config: SpeechConfig) -> Server {
        let service = loaded_service(config).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = service.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server { base, service }
    }

    /// POST a form to `path`.
    pub async fn post(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

/// The engine these tests run the model on: `STRATUS_TEST_SPEECH_ENGINE`
/// (`candle` when unset; CI runs this crate's tests again with
/// `whisper-cpp:q8_0`), parsed as `--speech-engine` is.
pub fn engine() -> SpeechEngine {
    match std::env::var("STRATUS_TEST_SPEECH_ENGINE") {
        Ok(name) if !name.is_empty() => name
            .parse()
            .unwrap_or_else(|e| panic!("STRATUS_TEST_SPEECH_ENGINE: {e}")),
        _ => SpeechEngine::Candle,
    }
}

/// What greedy decoding (OpenAI's temperature 0) of tiny.en makes of
/// [`CLIP`] on the engine in force: each engine's own arithmetic rounds
/// one word differently (the reference says "ill disposed").
pub fn greedy_text() -> &'static str {
    match engine() {
        SpeechEngine::Candle => GREEDY_TEXT,
        _ => WHISPER_CPP_GREEDY_TEXT,
    }
}

/// A speech service with whisper-tiny.en loaded (pulled into the test
/// cache on first use) on [`engine`].
pub async fn loaded_service(mut config: SpeechConfig) -> SpeechService {
    config.engine = engine();
    let resolved = tokio::task::spawn_blocking(move || {
        let store = store();
        store
            .pull("whisper-tiny.en", false)
            .unwrap_or_else(|e| panic!("pulling whisper-tiny.en: {e}"));
        if let Some(weights) = engine().ggml_weights() {
            store.derive_ggml("whisper-tiny.en", weights).unwrap();
        }
        store.resolve("whisper-tiny.en").unwrap()
    })
    .await
    .unwrap();
    let service = SpeechService::new(config, Readiness::default());
    service.load(&resolved).unwrap();
    let started = Instant::now();
    while service.whisper.get("whisper-tiny.en").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "whisper-tiny.en did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service
}

/// A form with `file` (named `filename`) and `fields`.
pub fn form(bytes: Vec<u8>, filename: &str, fields: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
    );
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    form
}

/// `input` re-encoded by ffmpeg with `args` into `out`.
pub fn ffmpeg(input: &Path, args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(args)
        .arg(out)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "ffmpeg could not run ({e}): install it (scripts/test does: apt-get install ffmpeg)"
            )
        });
    assert!(status.success(), "ffmpeg {args:?} failed");
}
