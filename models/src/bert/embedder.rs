//! [`Embedder`]: sentence embeddings from a BERT encoder the way
//! sentence-transformers computes them (all-MiniLM-L6-v2: mean of the token
//! states under the attention mask, then L2-normalised).
//!
//! Batches are padded to their longest member, never to a fixed length, and
//! padding is masked out of both attention and pooling, so a text gets the
//! same vector alone or in any batch. Texts are sorted by length before
//! batching so that short texts are not padded to long ones.

use super::{Encoder, Network, load_tokenizer, load_weights, read_json, require_files};
use crate::{ModelError, Result};
use candle_core::{D, Device, Tensor};
use candle_transformers::models::bert::Config;
use serde::Deserialize;
use std::path::Path;
use tokenizers::Tokenizer;

/// Files [`Embedder::load`] needs. `1_Pooling/config.json`, `modules.json`
/// and `sentence_bert_config.json` are read when present.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Texts per forward pass: large enough to keep the matrix kernels busy,
/// small enough that one batch of long texts stays in a few hundred MB.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// How token states become one vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the states of real (unpadded) tokens.
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// A sentence embedding model.
pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    dim: usize,
    max_tokens: usize,
    pooling: Pooling,
    normalize: bool,
    truncate: bool,
    batch_size: usize,
}

impl Embedder {
    /// Load a sentence-transformers folder: `model.safetensors` (names with
    /// or without the `bert.` prefix), `config.json`, `tokenizer.json`, and
    /// when present `1_Pooling/config.json` (default: mean pooling),
    /// `modules.json` (normalise only if it lists a `Normalize` module;
    /// without the file, normalise) and `sentence_bert_config.json`
    /// (`max_seq_length`; default: the model's positions).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, Network::for_device(device))
    }

    /// [`Embedder::load`] on a chosen `network`: how the tests run the
    /// GPUs' f16 network on the CPU.
    pub fn load_with(dir: &Path, device: &Device, network: Network) -> Result<Self> {
        require_files(dir, &REQUIRED_FILES)?;
        let config: Config = read_json(&dir.join("config.json"))?;
        let vb = load_weights(&dir.join("model.safetensors"), device, network)?;
        let encoder = Encoder::load(vb, &config, device, network)?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;

        let pooling_path = dir.join("1_Pooling").join("config.json");
        let pooling = if pooling_path.is_file() {
            let pooling: PoolingConfig = read_json(&pooling_path)?;
            match (
                pooling.pooling_mode_mean_tokens,
                pooling.pooling_mode_cls_token,
                pooling.pooling_mode_max_tokens || pooling.pooling_mode_mean_sqrt_len_tokens,
            ) {
                (true, false, false) => Pooling::Mean,
                (false, true, false) => Pooling::Cls,
                _ => {
                    return Err(ModelError::format(
                        pooling_path.display().to_string(),
                        "only plain mean or CLS pooling is supported",
                    ));
                }
            }
        } else {
            Pooling::Mean
        };

        let modules_path = dir.join("modules.json");
        let normalize = if modules_path.is_file() {
            let modules: Vec<Module> = read_json(&modules_path)?;
            modules.iter().any(|m| m.kind.ends_with("Normalize"))
        } else {
            true
        };

        let st_config_path = dir.join("sentence_bert_config.json");
        let max_seq_length = if st_config_path.is_file() {
            read_json::<SentenceBertConfig>(&st_config_path)?.max_seq_length
        } else {
            None
        };
        let max_tokens = max_seq_length
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);

        Ok(Self {
            encoder,
            tokenizer,
            dim: config.hidden_size,
            max_tokens,
            pooling,
            normalize,
            truncate: false,
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// With `true`, texts longer than [`Self::max_tokens`] are cut to fit
    /// (as sentence-transformers does) instead of being refused.
    pub fn with_truncation(mut self, truncate: bool) -> Self {
        self.truncate = truncate;
        self
    }

    /// Texts per forward pass (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Length of each embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Most tokens of one text, `[CLS]` and `[SEP]` included.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Tokens `text` takes, `[CLS]` and `[SEP]` included (before any
    /// truncation).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.encode(text)?.len())
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids of `text`, refused or cut when too long.
    fn encode_checked(&self, index: usize, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        if ids.len() > self.max_tokens {
            if !self.truncate {
                return Err(ModelError::InvalidInput(format!(
                    "text {index} is {} tokens; the model takes at most {} (enable truncation to cut it)",
                    ids.len(),
                    self.max_tokens
                )));
            }
            // Keep [CLS] and the first tokens, and end with the final
            // special token ([SEP]) as the tokenizer's own truncation does.
            let last = ids.last().copied();
            ids.truncate(self.max_tokens.saturating_sub(1));
            ids.extend(last);
        }
        Ok(ids)
    }

    /// One embedding per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoded: Vec<Vec<u32>> = texts
            .iter()
            .enumerate()
            .map(|(index, text)| self.encode_checked(index, text))
            .collect::<Result<_>>()?;
        // Longest first, so each batch pads little; results go back to
        // their input positions.
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].len()));
        let mut out = vec![Vec::new(); encoded.len()];
        for chunk in order.chunks(self.batch_size) {
            let sequences: Vec<&[u32]> = chunk.iter().map(|&i| encoded[i].as_slice()).collect();
            let vectors = self.embed_batch(&sequences)?;
            for (&i, vector) in chunk.iter().zip(vectors) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let (hidden, mask) = self.encoder.forward(sequences)?;
        let pooled = match self.pooling {
            Pooling::Mean => {
                // Sum of unmasked token states over the count of them
                // (each row has at least [CLS] and [SEP], so never 0).
                let mask = mask.unsqueeze(D::Minus1)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                let counts = mask.sum(1)?;
                summed.broadcast_div(&counts)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        };
        let pooled = if self.normalize {
            l2_normalize(&pooled)?
        } else {
            pooled
        };
        Ok(pooled.to_vec2::<f32>()?)
    }
}

/// Divide each row by its L2 norm (floored like torch's `normalize`, so a
/// zero row stays zero instead of becoming NaN).
fn l2_normalize(rows: &Tensor) -> Result<Tensor> {
    let norms = rows.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
    Ok(rows.broadcast_div(&norms)?)
}
