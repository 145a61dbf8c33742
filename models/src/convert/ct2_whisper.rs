//! CTranslate2 Whisper `model.bin` → `model.safetensors` with Hugging Face names.
// PLACEHOLDER: filled in by the whisper work.
use crate::Result;
use std::path::{Path, PathBuf};

/// Convert a CTranslate2 Whisper model (its `model.bin` possibly split into
/// parts, read in order as one stream) plus the package's decoding
/// `config.json` and `tokenizer.json` into a Hugging Face Whisper folder.
pub fn convert(
    model_parts: &[PathBuf],
    package_config: &Path,
    tokenizer: &Path,
    out_dir: &Path,
) -> Result<()> {
    let _ = (model_parts, package_config, tokenizer, out_dir);
    Err(crate::ModelError::format(
        "ct2-whisper",
        "converter not written yet",
    ))
}
