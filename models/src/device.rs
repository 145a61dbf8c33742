//! Choosing where models run: `cpu` (default), `cuda[:N]`, `metal[:N]`.
//! GPU devices need a binary built with `--features cuda` or `metal`; asking
//! for one without it is a start-up error that says how to build, not a
//! silent fall-back to the CPU.

use candle_core::Device;

use crate::{ModelError, Result};

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
