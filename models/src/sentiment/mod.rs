//! Sentiment: a classifier head Stratus trains itself on top of a sentence
//! embedder (all-MiniLM-L6-v2), from VADER's human-rated sentences.
//!
//! A model folder holds the embedder's Hugging Face files plus
//! [`HEAD_FILE`] (a multinomial logistic regression: `weight` `[3, dim]`,
//! `bias` `[3]`, classes negative, neutral, positive) and [`CONFIG_FILE`]
//! (how it was trained: data, split, label thresholds, hyper-parameters,
//! train accuracy). `stratus models pull sentiment-minilm-vader` builds it
//! ([`train::convert`]); [`SentimentModel`] runs it: embed, then softmax of
//! the head's logits.
//!
//! - [`vader`] — the rated data, its fixed train/held-out split, labels.
//! - [`train`] — the training run behind the catalog's `sentiment-head`
//!   converter.

pub mod train;
pub mod vader;

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::bert::Embedder;
use crate::{ModelError, Result};

/// The trained head's weights in a model folder.
pub const HEAD_FILE: &str = "sentiment_head.safetensors";
/// How the head was trained, in a model folder.
pub const CONFIG_FILE: &str = "sentiment.json";
/// The head's classes, in output order.
pub const LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// `sentiment.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentimentConfig {
    /// The head's classes, in output order ([`LABELS`]).
    pub labels: Vec<String>,
    /// Where the ratings came from.
    pub data: String,
    /// The held-out rule ([`vader`]).
    pub split: String,
    /// How a mean valence became a label.
    pub labelling: String,
    /// Train sentences per domain.
    pub train_sentences: BTreeMap<String, usize>,
    pub feature_dim: usize,
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty, chosen on a validation part of the train split.
    pub l2: f32,
    /// Accuracy of the validation part for each L2 tried.
    pub validation_accuracy: BTreeMap<String, f32>,
    /// Accuracy on the whole train split of the final head.
    pub train_accuracy: f32,
}

/// A linear softmax classifier over embeddings.
#[derive(Debug, Clone)]
pub struct Head {
    /// `[classes × dim]`, row-major.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub dim: usize,
}

impl Head {
    /// Class probabilities of one feature vector.
    pub fn probabilities(&self, features: &[f32]) -> Vec<f32> {
        let logits: Vec<f32> = self
            .bias
            .iter()
            .enumerate()
            .map(|(class, b)| {
                let row = &self.weight[class * self.dim..(class + 1) * self.dim];
                b + dot(row, features)
            })
            .collect();
        softmax(&logits)
    }

    /// Read a head written by [`Head::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)?;
        let get = |name: &str| {
            tensors.get(name).ok_or_else(|| {
                ModelError::format(path.display().to_string(), format!("no `{name}` tensor"))
            })
        };
        let weight = get("weight")?;
        let (classes, dim) = weight.dims2()?;
        let bias = get("bias")?.to_vec1::<f32>()?;
        if classes != LABELS.len() || bias.len() != classes {
            return Err(ModelError::format(
                path.display().to_string(),
                format!("expected {} classes", LABELS.len()),
            ));
        }
        Ok(Self {
            weight: weight.flatten_all()?.to_vec1::<f32>()?,
            bias,
            dim,
        })
    }

    /// Write as safetensors (`weight` `[classes, dim]`, `bias` `[classes]`).
    pub fn save(&self, path: &Path) -> Result<()> {
        let classes = self.bias.len();
        let weight =
            candle_core::Tensor::from_vec(self.weight.clone(), (classes, self.dim), &Device::Cpu)?;
        let bias = candle_core::Tensor::from_vec(self.bias.clone(), classes, &Device::Cpu)?;
        let tensors: std::collections::HashMap<String, candle_core::Tensor> =
            [("weight".to_string(), weight), ("bias".to_string(), bias)].into();
        candle_core::safetensors::save(&tensors, path)?;
        Ok(())
    }
}

/// Dot product with eight independent accumulators: the compiler can keep
/// them in vector registers (a single running `f32` sum cannot be
/// vectorised, its order being part of the result), and the order of the
/// additions is still fixed, so the result is the same on every run.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for ((lane, p), q) in lanes.iter_mut().zip(x).zip(y) {
            *lane += p * q;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Softmax, shifted by the maximum for stability.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// Probabilities of one text (they sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"positive": 0.91, "neutral": 0.07, "negative": 0.02}))]
pub struct SentimentScores {
    pub positive: f32,
    pub neutral: f32,
    pub negative: f32,
}

impl SentimentScores {
    fn from_probabilities(p: &[f32]) -> Self {
        Self {
            negative: p[vader::NEGATIVE],
            neutral: p[vader::NEUTRAL],
            positive: p[vader::POSITIVE],
        }
    }

    /// The most probable class.
    pub fn label(&self) -> &'static str {
        if self.positive >= self.negative && self.positive >= self.neutral {
            "positive"
        } else if self.negative >= self.neutral {
            "negative"
        } else {
            "neutral"
        }
    }
}

/// An embedder and its trained sentiment head.
pub struct SentimentModel {
    embedder: Embedder,
    head: Head,
    config: SentimentConfig,
}

impl SentimentModel {
    /// Load a folder built by [`train::convert`] (or laid out the same way).
    /// Texts over the embedder's 256 tokens are cut, not refused: sentiment
    /// is read from whole sentences, which rarely come near that.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let head = Head::load(&dir.join(HEAD_FILE))?;
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| ModelError::io("reading", &config_path, e))?;
        let config: SentimentConfig =
            serde_json::from_str(&text).map_err(|source| ModelError::Json {
                path: config_path.clone(),
                source,
            })?;
        let embedder = Embedder::load(dir, device)?.with_truncation(true);
        if embedder.dim() != head.dim {
            return Err(ModelError::format(
                dir.join(HEAD_FILE).display().to_string(),
                format!(
                    "the head reads {} features; the embedder gives {}",
                    head.dim,
                    embedder.dim()
                ),
            ));
        }
        Ok(Self {
            embedder,
            head,
            config,
        })
    }

    /// How the head was trained.
    pub fn config(&self) -> &SentimentConfig {
        &self.config
    }

    /// Tokens `text` takes in the embedder.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.embedder.count_tokens(text)
    }

    /// Scores of each text, in order.
    pub fn classify(&self, texts: &[&str]) -> Result<Vec<SentimentScores>> {
        Ok(self
            .embedder
            .embed(texts)?
            .iter()
            .map(|v| SentimentScores::from_probabilities(&self.head.probabilities(v)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trips_and_scores() {
        let head = Head {
            weight: vec![-1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            bias: vec![0.0, 0.5, 0.0],
            dim: 2,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEAD_FILE);
        head.save(&path).unwrap();
        let loaded = Head::load(&path).unwrap();
        assert_eq!(loaded.weight, head.weight);
        assert_eq!(loaded.bias, head.bias);
        let p = loaded.probabilities(&[4.0, 0.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let scores = SentimentScores::from_probabilities(&p);
        assert_eq!(scores.label(), "positive");
        let p = loaded.probabilities(&[0.0, 0.0]);
        assert_eq!(SentimentScores::from_probabilities(&p).label(), "neutral");
    }
}
