//! A speech model on the engine chosen for it at load ([`SpeechEngine`]):
//! Candle ([`crate::whisper::WhisperModel`]) or whisper.cpp
//! (`crate::whisper_cpp`, the `whisper-cpp` feature). Services hold a
//! [`SpeechModel`] and never ask which engine runs it: both take the same
//! options and give the same transcript.

use std::ops::ControlFlow;
use std::path::Path;
use std::str::FromStr;

use candle_core::Device;

use crate::Result;
use crate::convert::ggml_whisper::GgmlType;
use crate::whisper::{CpuKernels, Delta, TranscribeOptions, Transcript, WhisperModel};

/// Which engine runs a Whisper model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpeechEngine {
    /// Candle, with this project's CPU kernels: every device.
    #[default]
    Candle,
    /// whisper.cpp, from the ggml file of these weights.
    #[cfg(feature = "whisper-cpp")]
    WhisperCpp(GgmlType),
}

impl SpeechEngine {
    /// Whether this build has the whisper.cpp engine.
    pub const WHISPER_CPP_BUILT: bool = cfg!(feature = "whisper-cpp");

    /// The ggml file this engine loads, which the store writes before the
    /// first load (`ModelStore::derive_ggml`); `None` for Candle.
    pub fn ggml_weights(self) -> Option<GgmlType> {
        match self {
            SpeechEngine::Candle => None,
            #[cfg(feature = "whisper-cpp")]
            SpeechEngine::WhisperCpp(weights) => Some(weights),
        }
    }
}

impl std::fmt::Display for SpeechEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeechEngine::Candle => f.write_str("candle"),
            #[cfg(feature = "whisper-cpp")]
            SpeechEngine::WhisperCpp(weights) => write!(f, "whisper-cpp:{}", weights.as_str()),
        }
    }
}

/// `candle`, `whisper-cpp` (f16 weights) or `whisper-cpp:f16|q8_0|q5_0`.
impl FromStr for SpeechEngine {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (engine, weights) = match s.split_once(':') {
            Some((engine, weights)) => (engine, Some(weights)),
            None => (s, None),
        };
        match (engine, weights) {
            ("candle", None) => Ok(SpeechEngine::Candle),
            #[cfg(feature = "whisper-cpp")]
            ("whisper-cpp", weights) => {
                let weights = weights.unwrap_or("f16");
                GgmlType::parse(weights)
                    .map(SpeechEngine::WhisperCpp)
                    .ok_or_else(|| format!("whisper.cpp weights `{weights}`: f16, q8_0 or q5_0"))
            }
            #[cfg(not(feature = "whisper-cpp"))]
            ("whisper-cpp", _) => Err(
                "this build has no whisper.cpp engine (build with the `whisper-cpp` feature)"
                    .into(),
            ),
            _ => Err(format!(
                "speech engine `{s}`: candle, whisper-cpp or whisper-cpp:f16|q8_0|q5_0"
            )),
        }
    }
}

/// How a model is loaded on each engine: Candle's device and kernels,
/// whisper.cpp's thread count.
#[derive(Debug, Clone)]
pub struct SpeechLoad {
    pub device: Device,
    pub kernels: CpuKernels,
    pub threads: usize,
    /// The GPU whisper.cpp runs on (its index in the backend compiled in:
    /// CUDA, Metal or Vulkan); `None`: the CPU.
    pub whisper_cpp_gpu: Option<u32>,
}

/// A loaded Whisper model on its engine.
#[derive(Debug, Clone)]
pub enum SpeechModel {
    /// Both boxed: a model's handles run to hundreds of bytes, and clones
    /// move between threads.
    Candle(Box<WhisperModel>),
    #[cfg(feature = "whisper-cpp")]
    WhisperCpp(Box<crate::whisper_cpp::WhisperCppModel>),
}

impl SpeechModel {
    /// Load the model in `dir` on `engine`. For whisper.cpp the ggml file
    /// must be there (`Store::derive_ggml` writes it).
    pub fn load(dir: &Path, engine: SpeechEngine, how: &SpeechLoad) -> Result<Self> {
        match engine {
            SpeechEngine::Candle => Ok(SpeechModel::Candle(Box::new(WhisperModel::load_with(
                dir,
                &how.device,
                how.kernels,
            )?))),
            #[cfg(feature = "whisper-cpp")]
            SpeechEngine::WhisperCpp(weights) => {
                if !matches!(how.device, Device::Cpu) && how.whisper_cpp_gpu.is_none() {
                    return Err(crate::ModelError::InvalidInput(
                        "whisper.cpp does not run on Candle's device: give it a GPU of its own \
                         (--whisper-cpp-gpu, in a build with whisper-cpp-cuda, -metal or -vulkan) \
                         or use the candle engine on GPUs"
                            .into(),
                    ));
                }
                Ok(SpeechModel::WhisperCpp(Box::new(
                    crate::whisper_cpp::WhisperCppModel::load_on(
                        dir,
                        weights,
                        how.threads,
                        how.whisper_cpp_gpu,
                    )?,
                )))
            }
        }
    }

    /// Name the model in its metrics and logs.
    pub fn named(self, name: &str) -> Self {
        match self {
            SpeechModel::Candle(m) => SpeechModel::Candle(Box::new(m.named(name))),
            #[cfg(feature = "whisper-cpp")]
            SpeechModel::WhisperCpp(m) => SpeechModel::WhisperCpp(Box::new(m.named(name))),
        }
    }

    /// What runs it, for the start-up log: the engine and its network.
    pub fn describe(&self) -> String {
        match self {
            SpeechModel::Candle(m) => {
                let kernels = m.kernels();
                let tier = crate::cpu::tier();
                let encoder = if kernels.bf16_encoder {
                    crate::cpu::amx::kernel_name(tier).unwrap_or("bf16 loops")
                } else {
                    "Candle (f32)"
                };
                let decoder = if kernels.int8_decoder {
                    "int8, steps on host buffers"
                } else {
                    "Candle (f32)"
                };
                format!("candle: encoder {encoder}, decoder {decoder}")
            }
            #[cfg(feature = "whisper-cpp")]
            SpeechModel::WhisperCpp(m) => {
                let place = match m.gpu() {
                    Some(gpu) => format!("GPU {gpu}"),
                    None => "the CPU".to_owned(),
                };
                format!(
                    "whisper.cpp: {} weights on {place}",
                    m.header().weights.as_str()
                )
            }
        }
    }

    /// Whether the model speaks more than English.
    pub fn is_multilingual(&self) -> bool {
        match self {
            SpeechModel::Candle(m) => m.is_multilingual(),
            #[cfg(feature = "whisper-cpp")]
            SpeechModel::WhisperCpp(m) => m.is_multilingual(),
        }
    }

    /// The language codes it knows.
    pub fn languages(&self) -> Vec<String> {
        match self {
            SpeechModel::Candle(m) => m.languages().iter().map(|l| (*l).to_owned()).collect(),
            #[cfg(feature = "whisper-cpp")]
            SpeechModel::WhisperCpp(m) => m.languages().iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    /// Transcribe (or translate) 16 kHz mono samples in [-1, 1].
    pub fn transcribe(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
    ) -> Result<Transcript> {
        self.transcribe_streaming(pcm_16k_mono, opts, &mut |_| ControlFlow::Continue(()))
    }

    /// [`Self::transcribe`], handing `sink` the text as it is decoded (see
    /// [`WhisperModel::transcribe_streaming`]).
    pub fn transcribe_streaming(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
        sink: &mut dyn FnMut(Delta<'_>) -> ControlFlow<()>,
    ) -> Result<Transcript> {
        match self {
            SpeechModel::Candle(m) => m.transcribe_streaming(pcm_16k_mono, opts, sink),
            #[cfg(feature = "whisper-cpp")]
            SpeechModel::WhisperCpp(m) => m.transcribe_streaming(pcm_16k_mono, opts, sink),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_print_alike() {
        assert_eq!("candle".parse(), Ok(SpeechEngine::Candle));
        assert!("candle:q8_0".parse::<SpeechEngine>().is_err());
        assert!(
            "onnx"
                .parse::<SpeechEngine>()
                .unwrap_err()
                .contains("candle, whisper-cpp")
        );
        #[cfg(feature = "whisper-cpp")]
        {
            assert_eq!(
                "whisper-cpp".parse(),
                Ok(SpeechEngine::WhisperCpp(GgmlType::F16))
            );
            for weights in GgmlType::ALL {
                let engine = SpeechEngine::WhisperCpp(weights);
                assert_eq!(engine.to_string().parse(), Ok(engine));
            }
            assert!(
                "whisper-cpp:q4"
                    .parse::<SpeechEngine>()
                    .unwrap_err()
                    .contains("q5_0")
            );
        }
        #[cfg(not(feature = "whisper-cpp"))]
        assert!(
            "whisper-cpp"
                .parse::<SpeechEngine>()
                .unwrap_err()
                .contains("feature")
        );
    }
}
