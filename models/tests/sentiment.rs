//! The sentiment head Stratus trains (`stratus models pull
//! sentiment-minilm-vader`: embeds VADER's train split with
//! all-MiniLM-L6-v2 and fits a logistic regression), measured on the
//! held-out split of each VADER domain it never saw. The thresholds sit a
//! little under the accuracies measured when this test was written (see
//! MEASURED), so a regression in the embedder, the split or the training
//! fails here.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use stratus_models::sentiment::vader::{self, Domain};
use stratus_models::sentiment::{LABELS, SentimentModel};

/// Held-out accuracy per domain (3 classes) measured when this test was
/// written (2026-11-28; 0.699 over all 4,713 held-out sentences); the test
/// fails 3 points below. VADER's own lexicon on the same held-out split:
/// movie 0.545, tweets 0.799, Amazon 0.593, NYT 0.581, all 0.604
/// (services/language/EVALUATION.md).
const MEASURED: [(Domain, f32); 4] = [
    (Domain::Movie, 0.728),
    (Domain::Tweets, 0.761),
    (Domain::Amazon, 0.666),
    (Domain::Nyt, 0.615),
];
const MARGIN: f32 = 0.03;

#[test]
fn held_out_accuracy_per_vader_domain() {
    let started = Instant::now();
    let model = common::model_dir("sentiment-minilm-vader");
    eprintln!(
        "pulled (trained if not cached) in {:.1?}",
        started.elapsed()
    );
    let config = std::fs::read_to_string(model.join("sentiment.json")).unwrap();
    eprintln!("{config}");
    let model = SentimentModel::load(&model, &candle_core::Device::Cpu).unwrap();
    let archive = common::package_file(
        "vaderSentiment",
        "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
    );
    let rated = vader::read_archive(&archive).unwrap();
    assert_eq!(rated.len(), 10_605 + 4_200 + 3_708 + 5_190);
    let held_out: Vec<_> = rated.iter().filter(|r| r.is_held_out()).collect();
    let texts: Vec<&str> = held_out.iter().map(|r| r.text.as_str()).collect();
    let started = Instant::now();
    let scores = model.classify(&texts).unwrap();
    eprintln!(
        "{} held-out sentences classified in {:.1?}",
        texts.len(),
        started.elapsed()
    );
    // domain → (right, total, confusion[truth][predicted])
    let mut tally: BTreeMap<Domain, (usize, usize, [[usize; 3]; 3])> = BTreeMap::new();
    for (r, s) in held_out.iter().zip(&scores) {
        let predicted = LABELS.iter().position(|l| *l == s.label()).unwrap();
        let entry = tally.entry(r.domain).or_default();
        entry.1 += 1;
        entry.2[r.label()][predicted] += 1;
        if predicted == r.label() {
            entry.0 += 1;
        }
    }
    let mut failures = Vec::new();
    let (mut right_all, mut total_all) = (0, 0);
    for (domain, measured) in MEASURED {
        let (right, total, confusion) = tally[&domain];
        let accuracy = right as f32 / total as f32;
        right_all += right;
        total_all += total;
        eprintln!(
            "{:>6}: {accuracy:.3} of {total} (confusion, rows truth neg/neu/pos: {confusion:?})",
            domain.as_str()
        );
        if accuracy < measured - MARGIN {
            failures.push(format!(
                "{}: {accuracy:.3} < {measured} - {MARGIN}",
                domain.as_str()
            ));
        }
    }
    eprintln!(
        "   all: {:.3} of {total_all}",
        right_all as f32 / total_all as f32
    );
    assert!(failures.is_empty(), "{failures:?}");
}
