//! Training the sentiment head: the `sentiment-head` converter of the
//! catalog, run by `stratus models pull sentiment-minilm-vader`.
//!
//! 1. Read VADER's four rated collections; keep the train split only
//!    ([`vader::is_held_out`] is never trained or tuned on).
//! 2. Embed every train sentence with the embedder (sorted by length so
//!    batches pad little; ~19k sentences, a few minutes on 2 cores).
//! 3. Fit a multinomial logistic regression (full-batch Adam, a fixed
//!    number of steps, zero initial weights: no randomness at all), with
//!    the L2 penalty picked on a validation part of the train split (train
//!    sentences whose split hash is 1 mod 5), then refit on the whole train
//!    split.
//! 4. Write [`super::HEAD_FILE`] and [`super::CONFIG_FILE`].
//!
//! The same packages give the same head up to the last bits of the
//! embedder's floating-point sums (which depend on the CPU's thread count).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use rayon::prelude::*;

use super::vader::{self, Rated};
use super::{CONFIG_FILE, HEAD_FILE, Head, LABELS, SentimentConfig};
use crate::bert::Embedder;
use crate::{ModelError, Result};

/// Optimiser steps (full batch each).
pub const EPOCHS: usize = 300;
/// Adam's step size.
pub const LEARNING_RATE: f32 = 0.02;
/// L2 penalties tried on the validation part.
pub const L2_GRID: [f32; 4] = [0.0, 1e-5, 1e-4, 1e-3];

/// Train a head from the ratings archive `data` with the embedder in
/// `embedder_dir`, writing the head and its config into `out`.
pub fn convert(embedder_dir: &Path, data: &Path, out: &Path) -> Result<()> {
    let rated = vader::read_archive(data)?;
    let train: Vec<&Rated> = rated.iter().filter(|r| !r.is_held_out()).collect();
    let embedder = Embedder::load(embedder_dir, &Device::Cpu)?.with_truncation(true);
    let texts: Vec<&str> = train.iter().map(|r| r.text.as_str()).collect();
    let started = Instant::now();
    let mut features = embed_all(&embedder, &texts)?;
    // Unit-length embeddings have components ~1/sqrt(dim); scaled to ~1
    // for the optimiser, and the scale folded into the weights at the end.
    let scale = (embedder.dim() as f32).sqrt();
    for vector in &mut features {
        vector.iter_mut().for_each(|x| *x *= scale);
    }
    tracing::info!(
        sentences = texts.len(),
        seconds = started.elapsed().as_secs_f32(),
        "embedded the train split"
    );
    let labels: Vec<usize> = train.iter().map(|r| r.label()).collect();

    // Pick L2 on a validation part of the train split.
    let is_validation: Vec<bool> = train
        .iter()
        .map(|r| validation_bucket(r.domain, &r.id))
        .collect();
    let part = |validation: bool| -> (Vec<&[f32]>, Vec<usize>) {
        features
            .iter()
            .zip(&labels)
            .zip(&is_validation)
            .filter(|(_, v)| **v == validation)
            .map(|((f, l), _)| (f.as_slice(), *l))
            .unzip()
    };
    let (fit_x, fit_y) = part(false);
    let (val_x, val_y) = part(true);
    let mut validation_accuracy = BTreeMap::new();
    let mut best = (f32::NEG_INFINITY, 0.0);
    for l2 in L2_GRID {
        let head = fit(&fit_x, &fit_y, LABELS.len(), EPOCHS, LEARNING_RATE, l2);
        let accuracy = accuracy(&head, &val_x, &val_y);
        tracing::info!(l2, accuracy, "validation");
        validation_accuracy.insert(format!("{l2:e}"), accuracy);
        if accuracy > best.0 {
            best = (accuracy, l2);
        }
    }
    let l2 = best.1;
    let all_x: Vec<&[f32]> = features.iter().map(Vec::as_slice).collect();
    let mut head = fit(&all_x, &labels, LABELS.len(), EPOCHS, LEARNING_RATE, l2);
    let train_accuracy = accuracy(&head, &all_x, &labels);
    head.weight.iter_mut().for_each(|w| *w *= scale);

    let mut train_sentences = BTreeMap::new();
    for r in &train {
        *train_sentences
            .entry(r.domain.as_str().to_string())
            .or_insert(0) += 1;
    }
    let config = SentimentConfig {
        labels: LABELS.iter().map(|l| (*l).to_string()).collect(),
        data: "vaderSentiment 3.3.2 sdist, additional_resources/hutto_ICWSM_2014.tar.gz: \
               *_GroundTruth.txt of movie, tweets, amazon, nyt"
            .into(),
        split: "held out (never trained on) when FNV-1a-64(\"{domain}/{id}\") % 5 == 0; \
                validation for choosing l2 when it is 1; the rest trains"
            .into(),
        labelling: format!(
            "mean valence > {} positive, < {} negative, else neutral",
            vader::POSITIVE_ABOVE,
            vader::NEGATIVE_BELOW
        ),
        train_sentences,
        feature_dim: embedder.dim(),
        epochs: EPOCHS,
        learning_rate: LEARNING_RATE,
        l2,
        validation_accuracy,
        train_accuracy,
    };
    head.save(&out.join(HEAD_FILE))?;
    let path = out.join(CONFIG_FILE);
    let text = serde_json::to_string_pretty(&config).map_err(|source| ModelError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, text).map_err(|e| ModelError::io("writing", &path, e))
}

/// The validation part of the train split (see the module doc).
fn validation_bucket(domain: vader::Domain, id: &str) -> bool {
    vader::split_bucket(domain, id) == 1
}

/// Embeddings of `texts`, in order, in slices of a few thousand (sorted by
/// length overall) so that progress shows in the log.
pub fn embed_all(embedder: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut out = vec![Vec::new(); texts.len()];
    for (n, chunk) in order.chunks(2048).enumerate() {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        for (&i, vector) in chunk.iter().zip(embedder.embed(&batch)?) {
            out[i] = vector;
        }
        tracing::info!(
            done = (n * 2048 + chunk.len()),
            total = texts.len(),
            "embedding"
        );
    }
    Ok(out)
}

/// Share of `x` whose most probable class is `y`.
pub fn accuracy(head: &Head, x: &[&[f32]], y: &[usize]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let right = x
        .iter()
        .zip(y)
        .filter(|(features, label)| argmax(&head.probabilities(features)) == **label)
        .count();
    right as f32 / x.len() as f32
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// Samples per gradient part. The parts are summed in a fixed order, so the
/// result does not depend on how many threads computed them.
const GRADIENT_PART: usize = 1024;

/// Mean cross-entropy gradient over `x` of a head (weights then biases,
/// [`Head::weight`]'s layout), before the L2 term.
fn gradient(head: &Head, x: &[&[f32]], y: &[usize], classes: usize) -> Vec<f32> {
    let dim = head.dim;
    let params = classes * dim + classes;
    // Each part's sum on its own (in parallel), then the parts in order.
    let parts: Vec<Vec<f32>> = x
        .par_chunks(GRADIENT_PART)
        .zip(y.par_chunks(GRADIENT_PART))
        .map(|(xs, ys)| {
            let mut grad = vec![0.0f32; params];
            let mut logits = vec![0.0f32; classes];
            for (features, &label) in xs.iter().zip(ys) {
                for (class, logit) in logits.iter_mut().enumerate() {
                    *logit = head.bias[class]
                        + super::dot(&head.weight[class * dim..(class + 1) * dim], features);
                }
                let p = super::softmax(&logits);
                for class in 0..classes {
                    let error = p[class] - if class == label { 1.0 } else { 0.0 };
                    let row = &mut grad[class * dim..(class + 1) * dim];
                    for (g, f) in row.iter_mut().zip(features.iter()) {
                        *g += error * f;
                    }
                    grad[classes * dim + class] += error;
                }
            }
            grad
        })
        .collect();
    let mut grad = vec![0.0f32; params];
    for part in parts {
        grad.iter_mut().zip(part).for_each(|(g, p)| *g += p);
    }
    let n = x.len().max(1) as f32;
    grad.iter_mut().for_each(|g| *g /= n);
    grad
}

/// Multinomial logistic regression by full-batch Adam from zero weights:
/// minimises mean cross-entropy + `l2`/2 · ‖W‖². Deterministic: no
/// randomness, and every sum is taken in a fixed order whatever the number
/// of threads.
pub fn fit(
    x: &[&[f32]],
    y: &[usize],
    classes: usize,
    epochs: usize,
    learning_rate: f32,
    l2: f32,
) -> Head {
    let dim = x.first().map_or(0, |f| f.len());
    let mut head = Head {
        weight: vec![0.0; classes * dim],
        bias: vec![0.0; classes],
        dim,
    };
    let (beta1, beta2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let params = classes * dim + classes;
    let (mut m, mut v) = (vec![0.0f32; params], vec![0.0f32; params]);
    for step in 1..=epochs {
        let mut grad = gradient(&head, x, y, classes);
        for (g, w) in grad.iter_mut().zip(&head.weight) {
            *g += l2 * w;
        }
        let correction1 = 1.0 - beta1.powi(step as i32);
        let correction2 = 1.0 - beta2.powi(step as i32);
        for i in 0..params {
            m[i] = beta1 * m[i] + (1.0 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1.0 - beta2) * grad[i] * grad[i];
            let update = learning_rate * (m[i] / correction1) / ((v[i] / correction2).sqrt() + eps);
            if i < classes * dim {
                head.weight[i] -= update;
            } else {
                head.bias[i - classes * dim] -= update;
            }
        }
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_separable_problem_deterministically() {
        // Three clusters on a line: class = position.
        let points: Vec<Vec<f32>> = (0..60)
            .map(|i| vec![(i % 3) as f32 - 1.0 + (i as f32) * 1e-3, 1.0])
            .collect();
        let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let x: Vec<&[f32]> = points.iter().map(Vec::as_slice).collect();
        let head = fit(&x, &labels, 3, 300, 0.05, 0.0);
        assert_eq!(accuracy(&head, &x, &labels), 1.0);
        let again = fit(&x, &labels, 3, 300, 0.05, 0.0);
        assert_eq!(head.weight, again.weight);
    }
}
