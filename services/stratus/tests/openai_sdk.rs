//! OpenAI's official Python SDK (`openai` from PyPI) against the real
//! `stratus serve` binary, unchanged but for `base_url`: transcription in
//! json, text, srt, vtt and verbose_json and streamed, and embeddings (base64 default,
//! floats, `dimensions`), with errors read as the SDK's own exception types.
//! The SDK authenticates the way it does with OpenAI (`Authorization: Bearer
//! sk_…`), with a key made by `stratus keys create`.

mod common;

use std::time::{Duration, Instant};

use common::{Server, api_key, normalise, run_sdk_script, stratus, testdata_file};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
/// Greedy tiny.en on the clip (see models/tests/whisper.rs).
const GREEDY_TEXT: &str = "he was not an old sposed young man";

/// `stratus serve` with only `models`, once ready.
fn serve(home: &std::path::Path, models: &str) -> Server {
    let mut command = stratus(home);
    command.args(["serve", "--models", models]);
    let server = Server::start(command);
    server.wait_ready(Duration::from_secs(300));
    server
}

#[test]
fn openai_python_sdk_transcribes_in_every_format() {
    let home = tempfile::tempdir().unwrap();
    let server = serve(home.path(), "whisper-tiny.en");
    let clip = testdata_file(CLIP);
    let started = Instant::now();
    let key = api_key(home.path(), "speech");
    let output = run_sdk_script(
        "transcribe.py",
        &[&server.base, clip.to_str().unwrap()],
        &key,
    );
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
    // Streamed: deltas, then one done event whose text they make up.
    let events = out["stream"].as_array().unwrap();
    let (done, deltas) = events.split_last().unwrap();
    assert_eq!(done["type"], "transcript.text.done", "{done}");
    assert_eq!(done["class"], "TranscriptionTextDoneEvent");
    assert!(!deltas.is_empty());
    for d in deltas {
        assert_eq!(d["type"], "transcript.text.delta", "{d}");
        assert_eq!(d["class"], "TranscriptionTextDeltaEvent");
    }
    let joined: String = deltas
        .iter()
        .map(|d| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(joined, done["text"].as_str().unwrap());
    assert_eq!(normalise(&joined), GREEDY_TEXT);
    assert_eq!(done["usage"]["type"], "duration");
    assert_eq!(done["usage"]["seconds"], out["json"]["usage"]["seconds"]);
    assert_eq!(out["unknown_model"]["status"], 404);
    assert_eq!(out["unknown_model"]["code"], "model_not_found");
    assert_eq!(out["unknown_model"]["param"], "model");
}

#[test]
fn openai_python_sdk_embeddings() {
    let home = tempfile::tempdir().unwrap();
    let server = serve(home.path(), "all-minilm-l6-v2");
    let key = api_key(home.path(), "language");
    let output = run_sdk_script("embeddings.py", &[&server.base, "all-minilm-l6-v2"], &key);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "the SDK script failed:\n{stdout}\n{stderr}"
    );
}
