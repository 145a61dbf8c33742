//! OpenAI's official Node SDK (`openai` from npm) against the real `stratus
//! serve` binary, unchanged but for `baseURL`: transcription in json, text,
//! srt, vtt and verbose_json and streamed, translation (and the SDK's typed
//! 400 when the model cannot translate), and embeddings as floats, as
//! base64 decoded by the SDK, and as raw base64. The SDK authenticates the
//! way it does with OpenAI (`Authorization: Bearer sk_…`), with a key made
//! by `stratus keys create`.
//!
//! With a tenant's budget spent, the SDK (its default retries on) must fail
//! at once with `insufficient_quota` rather than wait on a Retry-After.
//!
//! `scripts/test` installs the pinned SDK (`tests/openai_node/package.json`
//! and its lock) with `npm ci` into the test cache and sets
//! `STRATUS_OPENAI_NODE_MODULES` to its `node_modules`; without it the test
//! fails rather than skips.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] fns: a failing test stops with the value it saw"
)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Server, api_key, normalise, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
/// Greedy tiny.en on the clip (see models/tests/whisper.rs).
const GREEDY_TEXT: &str = "he was not an old sposed young man";

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Where `scripts/test` installed the pinned `openai` package.
fn node_modules() -> std::ffi::OsString {
    let modules = std::env::var_os("STRATUS_OPENAI_NODE_MODULES").expect(
        "STRATUS_OPENAI_NODE_MODULES is not set: run scripts/test, which installs OpenAI's `openai` npm package into the test cache and sets it",
    );
    assert!(
        Path::new(&modules).join("openai").is_dir(),
        "no `openai` package under STRATUS_OPENAI_NODE_MODULES={}",
        Path::new(&modules).display()
    );
    modules
}

/// Run `tests/openai_node/SCRIPT ARGS…` with the SDK and `key`; the JSON
/// object it prints.
fn run_script(
    script: &str,
    args: &[&str],
    modules: &std::ffi::OsStr,
    key: &str,
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/openai_node")
        .join(script);
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .env("NODE_PATH", modules)
        .env("STRATUS_API_KEY", key)
        .output()
        .expect("node runs (scripts/test installs it with npm)");
    assert!(
        output.status.success(),
        "the SDK script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn openai_node_sdk_gives_up_at_once_on_a_spent_budget() {
    let modules = node_modules();
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args(["serve", "--models", "all-minilm-l6-v2"]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    let key = api_key(home.path(), "language");
    // A hard limit of zero: every request's reservation is over it.
    let set = stratus(home.path())
        .args(["tenants", "budget", "--tenant", "test", "--hard", "0"])
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    // The gateway caches a tenant's terms for a second.
    std::thread::sleep(Duration::from_millis(1500));

    let out = run_script("budget.cjs", &[server.base.as_str()], &modules, &key);
    eprintln!("openai (node) on a spent budget: {out}");
    assert_eq!(out["outcome"], "error", "{out}");
    assert_eq!(out["class"], "RateLimitError", "{out}");
    assert_eq!(out["status"], 429, "{out}");
    assert_eq!(out["code"], "insufficient_quota", "{out}");
    assert_eq!(out["should_retry"], "false", "{out}");
    assert!(out["retry_after"].is_null(), "{out}");
    // Before x-should-retry the SDK slept on `retry-after: 3600` (uncapped)
    // and had no answer after minutes.
    assert!(out["elapsed_ms"].as_u64().unwrap() < 1000, "{out}");
}

#[test]
fn openai_node_sdk_transcribes_translates_and_embeds() {
    let modules = node_modules();
    let home = tempfile::tempdir().unwrap();
    let mut command = stratus(home.path());
    command.args([
        "serve",
        "--models",
        "whisper-tiny.en,whisper-base,all-minilm-l6-v2",
    ]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(600));
    let key = api_key(home.path(), "speech,language");
    let clip = testdata_file(CLIP);

    let started = Instant::now();
    let args = [server.base.as_str(), clip.to_str().unwrap()];
    let out = run_script("openai.cjs", &args, &modules, &key);
    eprintln!(
        "openai (node) {} in {:.1} s: {out:#}",
        out["sdk_version"],
        started.elapsed().as_secs_f64()
    );

    // Every response format.
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
    assert!(verbose["duration"].as_f64().unwrap() > 2.0);
    let segments = verbose["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        assert!(s["start"].as_f64().unwrap() < s["end"].as_f64().unwrap());
    }

    // Streamed: deltas, then one done event whose text they make up.
    let events = out["stream"].as_array().unwrap();
    let (done, deltas) = events.split_last().unwrap();
    assert_eq!(done["type"], "transcript.text.done", "{done}");
    assert!(!deltas.is_empty());
    assert!(
        deltas.iter().all(|d| d["type"] == "transcript.text.delta"),
        "{events:?}"
    );
    let joined: String = deltas
        .iter()
        .map(|d| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(joined, done["text"].as_str().unwrap());
    assert_eq!(normalise(&joined), GREEDY_TEXT);
    assert_eq!(done["usage"]["seconds"], out["json"]["usage"]["seconds"]);

    // Translation with a multilingual model: English text.
    let translation = normalise(out["translation"]["text"].as_str().unwrap());
    assert!(translation.contains("young man"), "{translation}");
    let refused = &out["translate_english_only"];
    assert_eq!(refused["class"], "BadRequestError", "{refused}");
    assert_eq!(refused["status"], 400);
    assert_eq!(refused["param"], "model");

    // Embeddings: floats as asked, the SDK's own base64 round trip gives the
    // same vectors, and raw base64 is little-endian f32 of them.
    let embeddings = &out["embeddings"];
    assert_eq!(embeddings["model"], "all-minilm-l6-v2");
    assert!(embeddings["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let float = embeddings["float"].as_array().unwrap();
    let decoded = embeddings["decoded"].as_array().unwrap();
    assert_eq!(float.len(), 2);
    assert_eq!(decoded.len(), 2);
    for (f, d) in float.iter().zip(decoded) {
        let (f, d) = (floats(f), floats(d));
        assert_eq!(f.len(), 384);
        assert_eq!(f.len(), d.len());
        for (a, b) in f.iter().zip(&d) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let norm: f64 = f.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    }
    let raw = embeddings["base64"][0].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap();
    let from_base64: Vec<f64> = bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let first = floats(&float[0]);
    assert_eq!(from_base64.len(), first.len());
    for (a, b) in from_base64.iter().zip(&first) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    let unknown = &out["unknown_model"];
    assert_eq!(unknown["class"], "NotFoundError", "{unknown}");
    assert_eq!(unknown["status"], 404);
    assert_eq!(unknown["code"], "model_not_found");

    // models.list and models.retrieve.
    let models = &out["models"];
    let listed: Vec<&str> = models["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["all-minilm-l6-v2", "whisper-base", "whisper-tiny.en"],
        "{models}"
    );
    assert_eq!(models["by_id"]["id"], "whisper-tiny.en", "{models}");
    assert_eq!(models["by_id"]["object"], "model");
    assert_eq!(models["by_id"]["task"], "speech-to-text");
    // `whisper-1` is an alias: the model it stands for answers.
    assert!(
        models["by_alias"]["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "whisper-1"),
        "{models}"
    );
    let missing = &models["missing"];
    assert_eq!(missing["class"], "NotFoundError", "{missing}");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["code"], "model_not_found");
}
