//! BERT-family encoders on Candle: token classification (Rampart's PII and
//! entity tagger) and sentence embeddings (all-MiniLM-L6-v2).
//!
//! Both load a plain Hugging Face folder (`config.json`, `model.safetensors`,
//! `tokenizer.json`) and run it (see the `cpu_encoder` entry); Rampart's
//! folder is produced by [`crate::convert::onnx_q4`] from the 4-bit ONNX the
//! package ships.
//!
//! ## Layout
//! - this file — what both share: reading the folder (config, tokenizer,
//!   weights) and running a padded batch through the encoder.
//! - [`token_classifier`] — [`TokenClassifier`]: logits per token, BIO
//!   merging into [`EntitySpan`]s with char offsets, windowing long text.
//! - [`embedder`] — [`Embedder`]: mean-pooled, L2-normalised sentence
//!   embeddings with per-batch padding.
//! - [`cpu_encoder`] — [`cpu_encoder::CpuBert`]: the encoder both use on
//!   the CPU (same numbers as `BertModel`, the work between gemms on every
//!   core); other devices run `BertModel`. Its vectorised `exp`/`erf` are
//!   [`crate::cpu::math`]'s.

pub mod cpu_encoder;
pub mod embedder;
pub mod token_classifier;

pub use embedder::Embedder;
pub use token_classifier::{EntitySpan, TokenClassifier, TokenLogits};

use crate::{ModelError, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// The name a folder's model goes by in errors: its folder name, which is
/// the model's name when the store installed it.
fn model_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// Fail with [`ModelError::MissingFile`] naming the first absent file, so a
/// half-installed folder is reported as such and not as a parse error.
pub(crate) fn require_files(dir: &Path, files: &[&str]) -> Result<()> {
    for file in files {
        if !dir.join(file).is_file() {
            return Err(ModelError::MissingFile {
                name: model_name(dir),
                file: (*file).to_string(),
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io("read", path, e))?;
    serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: PathBuf::from(path),
        source,
    })
}

/// `tokenizer.json` with padding and truncation switched off: callers pad
/// per batch and decide themselves what happens to long input (the MiniLM
/// file pads and truncates everything to 128, which would silently change
/// results).
fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

/// Read the weights into memory (not mmap: that needs `unsafe`, and these
/// files are tens of MB), in the precision `network` computes in.
fn load_weights(path: &Path, device: &Device, network: Network) -> Result<VarBuilder<'static>> {
    let tensors = candle_core::safetensors::load(path, device)?;
    Ok(VarBuilder::from_tensors(tensors, network.dtype(), device))
}

/// Which implementation runs a BERT encoder, chosen once at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// [`cpu_encoder::CpuBert`], f32 weights: what the CPU runs.
    Cpu,
    /// candle-transformers' `BertModel` computing in this precision, on
    /// any device; f32 only (see [`Network::for_device`]).
    Candle(DType),
}

impl Network {
    /// The network `device` runs: the CPU's own; on a GPU Candle's in f32,
    /// not the f16 of [`crate::device::native_dtype`]: candle-transformers'
    /// BERT builds its attention mask as `(1 - mask) · f32::MIN` in the
    /// network's precision, and `f32::MIN` rounds to -∞ in f16 and in
    /// bf16 alike, so every kept position becomes `0 · -∞` = NaN (the tests
    /// running those precisions on the CPU found it). Half precision on a
    /// GPU needs a BERT forward of our own.
    pub fn for_device(device: &Device) -> Self {
        if device.is_cpu() {
            Self::Cpu
        } else {
            Self::Candle(DType::F32)
        }
    }

    fn dtype(self) -> DType {
        match self {
            Self::Cpu => DType::F32,
            Self::Candle(dtype) => dtype,
        }
    }
}

/// Which implementation runs the encoder.
enum Model {
    /// The CPU: [`cpu_encoder::CpuBert`].
    Cpu(cpu_encoder::CpuBert),
    /// GPUs (or a test of their network on the CPU): candle-transformers'
    /// `BertModel`.
    Candle(BertModel),
}

/// The encoder plus what every forward pass needs to know.
struct Encoder {
    model: Model,
    pad_id: u32,
    max_positions: usize,
    device: Device,
}

impl Encoder {
    /// Load the encoder from `vb` (the model's root; a `bert.` prefix is
    /// looked through, its weights in `network`'s precision) for `device`.
    fn load(
        vb: VarBuilder<'static>,
        config: &Config,
        device: &Device,
        network: Network,
    ) -> Result<Self> {
        let model = match network {
            Network::Cpu => Model::Cpu(cpu_encoder::CpuBert::load(vb, config)?),
            Network::Candle(DType::F32) => Model::Candle(BertModel::load(vb, config)?),
            Network::Candle(other) => {
                return Err(ModelError::InvalidInput(format!(
                    "candle-transformers' BERT cannot compute in {other:?}: its attention mask overflows to NaN below f32"
                )));
            }
        };
        Ok(Self {
            model,
            pad_id: u32::try_from(config.pad_token_id)
                .map_err(|_| ModelError::format("config.json", "pad_token_id is out of range"))?,
            max_positions: config.max_position_embeddings,
            device: device.clone(),
        })
    }

    /// Run token-id sequences (special tokens included) as one batch padded
    /// to the longest. Returns the last hidden state `[batch, longest,
    /// hidden]` and the attention mask `[batch, longest]` as f32 (the only
    /// precision [`Network`] loads).
    fn forward(&self, sequences: &[&[u32]]) -> Result<(Tensor, Tensor)> {
        let longest = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        if longest == 0 {
            return Err(ModelError::InvalidInput("no tokens to encode".into()));
        }
        if longest > self.max_positions {
            return Err(ModelError::InvalidInput(format!(
                "{longest} tokens is more than the model's {} positions",
                self.max_positions
            )));
        }
        let batch = sequences.len();
        let mut ids = Vec::with_capacity(batch * longest);
        let mut mask = Vec::with_capacity(batch * longest);
        for sequence in sequences {
            let padding = longest - sequence.len();
            ids.extend_from_slice(sequence);
            ids.extend(std::iter::repeat_n(self.pad_id, padding));
            mask.extend(std::iter::repeat_n(1u32, sequence.len()));
            mask.extend(std::iter::repeat_n(0u32, padding));
        }
        let ids = Tensor::from_vec(ids, (batch, longest), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch, longest), &self.device)?;
        let hidden = match &self.model {
            Model::Cpu(model) => model.forward(sequences)?,
            Model::Candle(model) => {
                let token_types = ids.zeros_like()?;
                model.forward(&ids, &token_types, Some(&mask))?
            }
        };
        Ok((hidden, mask.to_dtype(DType::F32)?))
    }
}
