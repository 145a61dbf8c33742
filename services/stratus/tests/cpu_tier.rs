//! `--cpu-isa` / `STRATUS_CPU_ISA` on the real binary: a capped `serve`
//! says its tier in `/readyz` and `/metrics`, and still transcribes (the
//! word error rate gate of the model tests) and embeds (the
//! sentence-transformers reference) correctly at the slowest tier; a tier
//! the CPU lacks stops the start with what the CPU has.

mod common;

use std::time::Duration;

use common::{Server, api_key, free_port, normalise, stratus};
use stratus_testkit::{cosine, minilm_reference, spell_numbers, transcribed_clips, word_errors};

#[test]
fn portable_tier_serve_transcribes_and_embeds_and_says_its_tier() {
    let home = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let mut command = stratus(home.path());
    command
        .env("STRATUS_CPU_ISA", "portable")
        .args(["serve", "--models", "whisper-tiny.en,all-minilm-l6-v2"])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    let server = Server::start(command);
    let ready = server.wait_ready(Duration::from_secs(300));
    let cpu = &ready["components"]["cpu"];
    assert_eq!(cpu["status"], "ready", "{ready}");
    let detail = cpu["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("kernels at portable; this CPU has "),
        "{detail}"
    );
    let metrics = reqwest::blocking::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("stratus_cpu_tier_info{") && l.contains("isa=\"portable\"")),
        "{metrics}"
    );
    let key = api_key(home.path(), "speech,language");

    // The model tests' gate (7%) on the LibriVox clips, through HTTP.
    let client = reqwest::blocking::Client::new();
    let (mut errors, mut words) = (0, 0);
    for (reference, wav) in transcribed_clips("librivox") {
        let form = reqwest::blocking::multipart::Form::new()
            .text("model", "whisper-tiny.en")
            .file("file", &wav)
            .unwrap();
        let response = client
            .post(format!("{}/v1/audio/transcriptions", server.base))
            .bearer_auth(&key)
            .multipart(form)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().unwrap();
        let hypothesis = spell_numbers(&normalise(body["text"].as_str().unwrap()));
        let e = word_errors(&hypothesis, &reference);
        eprintln!("{e} errors: {hypothesis:?} for {reference:?}");
        errors += e;
        words += reference.split_whitespace().count();
    }
    let wer = errors as f64 / words as f64;
    eprintln!(
        "portable tier: WER {:.1}% on the LibriVox clips",
        100.0 * wer
    );
    assert!(wer <= 0.07, "WER {wer}");

    // The sentence-transformers reference, through HTTP.
    let reference = minilm_reference();
    let (sentences, expected) = (&reference.sentences[..16], &reference.embeddings[..16]);
    let (status, body) = server.post_json(
        "/v1/embeddings",
        Some(&key),
        &serde_json::json!({"model": "all-minilm-l6-v2", "input": sentences, "encoding_format": "float"}),
    );
    assert_eq!(status, 200, "{body}");
    let items = body["data"].as_array().unwrap();
    assert_eq!(items.len(), expected.len());
    for (item, want) in items.iter().zip(expected) {
        let got: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let c = cosine(&got, want);
        assert!(c >= 0.9999, "cosine {c} at {}", item["index"]);
    }
    assert!(server.terminate().success());
}

#[test]
fn a_tier_the_cpu_lacks_stops_the_start_naming_what_it_has() {
    let home = tempfile::tempdir().unwrap();
    let foreign = if cfg!(target_arch = "aarch64") {
        "avx2"
    } else {
        "neon"
    };
    let output = stratus(home.path())
        .args([
            "serve",
            "--offline",
            "--listen",
            "127.0.0.1:0",
            "--cpu-isa",
            foreign,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot run the `{foreign}` tier: it has")),
        "{stderr}"
    );
    // And a name that is no tier at all is refused by the parser.
    let output = stratus(home.path())
        .args(["serve", "--cpu-isa", "sse9"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sse9") && stderr.contains("portable"),
        "{stderr}"
    );
}
