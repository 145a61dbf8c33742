//! Choosing where models run: `cpu` (default), `cuda[:N]`, `metal[:N]`.
//! GPU devices need a binary built with `--features cuda` or `metal`; asking
//! for one without it is a start-up error that says how to build, not a
//! silent fall-back to the CPU.

use candle_core::{DType, Device};

use crate::{ModelError, Result};

/// The precision a model's Candle network computes in on `device`: f32 on
/// the CPU (where this crate's own kernels take f32 weights and choose
/// bf16/int8 themselves, [`crate::cpu`]), f16 on a GPU, as OpenAI's
/// Whisper and sentence-transformers run there: half the memory and
/// bandwidth, and the tensor cores (CUDA) or the f16 units (Apple) that
/// f32 leaves idle. f16 rather than bf16 because every CUDA GPU Candle
/// supports and every Metal device has it; its range holds Whisper's
/// activations (the suite runs Whisper's network in f16 on the CPU against
/// f32: `models/tests/whisper.rs`). BERT stays in f32 on a GPU for now
/// (`bert::Network::for_device` says why).
pub fn native_dtype(device: &Device) -> DType {
    if device.is_cpu() {
        DType::F32
    } else {
        DType::F16
    }
}

/// Parse a device spec and open the device.
pub fn open(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = match spec.split_once(':') {
        Some((kind, n)) => {
            let ordinal = n.parse::<usize>().map_err(|_| {
                ModelError::InvalidInput(format!("device `{spec}`: `{n}` is not a device number"))
            })?;
            (kind.to_string(), ordinal)
        }
        None => (spec.clone(), 0),
    };
    let unavailable = |feature: &str, e: candle_core::Error| {
        ModelError::InvalidInput(format!(
            "device `{spec}` is not available: {e}. GPU support needs a binary built with `cargo build --release --features {feature}` on a machine with its toolkit"
        ))
    };
    match kind.as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(ordinal).map_err(|e| unavailable("cuda", e)),
        "metal" => Device::new_metal(ordinal).map_err(|e| unavailable("metal", e)),
        _ => Err(ModelError::InvalidInput(format!(
            "device `{spec}`: expected cpu, cuda[:N] or metal[:N]"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_computes_in_f32() {
        assert_eq!(native_dtype(&Device::Cpu), DType::F32);
    }

    #[test]
    fn cpu_is_default_and_bad_specs_are_clear() {
        assert!(matches!(open("cpu").unwrap(), Device::Cpu));
        assert!(matches!(open(" CPU ").unwrap(), Device::Cpu));
        assert!(
            open("tpu")
                .unwrap_err()
                .to_string()
                .contains("expected cpu")
        );
        assert!(
            open("cuda:x")
                .unwrap_err()
                .to_string()
                .contains("not a device number")
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_build() {
        let err = open("cuda").unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
