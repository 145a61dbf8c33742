//! Format converters, written here in Rust, that turn what the packages ship
//! into what the loaders read (Hugging Face layout: `config.json`,
//! `model.safetensors`, `tokenizer.json`).
//!
//! Each converter writes only into the output folder it is given; the store
//! makes the result visible atomically, so a converter that fails half-way
//! leaves nothing a loader would pick up.

pub mod ct2_whisper;
pub mod ggml_whisper;
pub mod gguf_tokenizer;
pub mod onnx_proto;
pub mod onnx_q4;
