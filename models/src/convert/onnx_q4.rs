//! 4-bit ONNX (MatMulNBits) → `model.safetensors` with Hugging Face names.
// PLACEHOLDER: filled in by the BERT work.
use crate::Result;
use std::path::Path;

/// De-quantize every initializer of `onnx` into f32 tensors named as the
/// Hugging Face checkpoint names them and write `out_dir/model.safetensors`.
pub fn convert(onnx: &Path, out_dir: &Path) -> Result<()> {
    let _ = (onnx, out_dir);
    Err(crate::ModelError::format("onnx-q4", "converter not written yet"))
}
