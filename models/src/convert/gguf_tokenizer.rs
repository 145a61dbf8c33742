//! GGUF tokenizer metadata (byte-level BPE) → Hugging Face `tokenizer.json`.
// PLACEHOLDER: filled in by the tokenizer work.
use crate::Result;
use std::path::Path;

/// Build `out_dir/tokenizer.json` from the vocab, merges and token types in
/// the GGUF file's metadata.
pub fn convert(gguf: &Path, out_dir: &Path) -> Result<()> {
    let _ = (gguf, out_dir);
    Err(crate::ModelError::format("gguf-tokenizer", "converter not written yet"))
}
