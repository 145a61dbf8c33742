//! [`Generator`]: text generation with a llama-architecture GGUF model
//! (SmolLM2-135M-Instruct) in ChatML form, for abstractive summaries.
//!
//! The folder the store converts holds `model.gguf` (the package's file,
//! unchanged) and `tokenizer.json` (built from the GGUF's vocabulary by
//! [`crate::convert::gguf_tokenizer`]). Inference is candle-transformers'
//! quantized llama with its KV cache; decoding is greedy or sampled at a
//! temperature, with a repeat penalty (a 135M model loops without one),
//! until `<|im_end|>` / end-of-text or `max_tokens`.
//!
//! ## Why weights are re-quantized on load
//! The package ships Q4_1 blocks, for which Candle has only a scalar CPU
//! dot product: 0.6–1 s per token on two cores. Candle's Q8_0 kernel uses
//! AVX2/NEON, so on the CPU every Q4_1 (and Q5_0/Q5_1) tensor is expanded
//! and re-quantized to Q8_0 when the model loads. Q8_0 holds each 4-bit
//! level with a per-block 8-bit step, so the weights change by at most half
//! a step of 1/127 of the block's largest value; the file on disk is not
//! touched.
//!
//! ## Prompts
//! Role markers are added here, as ids, around text that is tokenized
//! without them: a document that contains `<|im_start|>` cannot open a new
//! turn, because special-token strings are removed from message text first.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Content};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;

use crate::{ModelError, Result};

/// Files [`Generator::load`] needs.
pub const REQUIRED_FILES: [&str; 2] = ["model.gguf", "tokenizer.json"];

/// Context length assumed when the GGUF does not say
/// (`llama.context_length`).
const DEFAULT_CONTEXT: usize = 2048;

/// Generated tokens the repeat penalty looks back at.
const REPEAT_WINDOW: usize = 64;

/// The system message of SmolLM2's chat template, used when a conversation
/// has none.
const DEFAULT_SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// How tokens are chosen.
#[derive(Debug, Clone, Copy)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// 0 (or below) is greedy; above 0 samples at that temperature.
    pub temperature: f64,
    /// Divides the logit of tokens among the last [`REPEAT_WINDOW`]
    /// *generated* ones (1.0 = off). The prompt is not penalised: a summary
    /// should reuse the document's words.
    pub repeat_penalty: f32,
    /// Seed of the sampler, so a sampled answer can be reproduced.
    pub seed: u64,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_tokens: 128,
            temperature: 0.0,
            repeat_penalty: 1.15,
            seed: 0,
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// `max_tokens` was reached.
    Length,
}

impl FinishReason {
    /// OpenAI's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// What [`Generator::generate`] produced.
#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
}

/// A loaded chat model.
pub struct Generator {
    model: ModelWeights,
    tokenizer: Tokenizer,
    /// `<|im_start|>`, `<|im_end|>`.
    turn_start: u32,
    turn_end: u32,
    /// Ids that end generation: `<|im_end|>` and end-of-text.
    stop: Vec<u32>,
    /// Strings of special tokens, removed from message text.
    special_strings: Vec<String>,
    context_length: usize,
    device: Device,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("context_length", &self.context_length)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// Load `model.gguf` and `tokenizer.json` from `dir`, re-quantizing
    /// for the CPU where that is faster (see the module doc).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, true)
    }

    /// [`Self::load`] with the weights' blocks exactly as shipped: what
    /// the re-quantized model is compared with.
    pub fn load_as_shipped(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, false)
    }

    fn load_with(dir: &Path, device: &Device, requantize: bool) -> Result<Self> {
        super::bert::require_files(dir, &REQUIRED_FILES)?;
        let path = dir.join("model.gguf");
        let file = File::open(&path).map_err(|e| ModelError::io("open", &path, e))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| ModelError::format("model.gguf", e.to_string()))?;
        let context_length = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(DEFAULT_CONTEXT, |n| n as usize);
        let model = if requantize && device.is_cpu() && has_slow_cpu_blocks(&content) {
            let (content, mut bytes) = requantize_for_cpu(&content, &mut reader)?;
            ModelWeights::from_gguf(content, &mut bytes, device)?
        } else {
            ModelWeights::from_gguf(content, &mut reader, device)?
        };

        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                ModelError::format("tokenizer.json", format!("no {token} token (not ChatML)"))
            })
        };
        let turn_start = id("<|im_start|>")?;
        let turn_end = id("<|im_end|>")?;
        let mut stop = vec![turn_end];
        stop.extend(tokenizer.token_to_id("<|endoftext|>"));
        let special_strings = tokenizer
            .get_added_tokens_decoder()
            .values()
            .filter(|t| t.special)
            .map(|t| t.content.clone())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self {
            model,
            tokenizer,
            turn_start,
            turn_end,
            stop,
            special_strings,
            context_length,
            device: device.clone(),
        })
    }

    /// Tokens the model reads at most, prompt and answer together.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// The ChatML prompt of `messages`, ending with an open assistant turn.
    /// Without a system message, the one SmolLM2's chat template inserts
    /// comes first (the model was tuned with it, and answers worse without).
    pub fn prompt(&self, messages: &[Message]) -> Result<Vec<u32>> {
        let default_system = [Message::new(Role::System, DEFAULT_SYSTEM)];
        let has_system = messages.first().is_some_and(|m| m.role == Role::System);
        let all = if has_system {
            &[][..]
        } else {
            &default_system[..]
        };
        let mut ids = Vec::new();
        for message in all.iter().chain(messages) {
            ids.push(self.turn_start);
            ids.extend(self.encode(&format!("{}\n", message.role.as_str()))?);
            ids.extend(self.encode(&self.without_special(&message.content))?);
            ids.push(self.turn_end);
            ids.extend(self.encode("\n")?);
        }
        ids.push(self.turn_start);
        ids.extend(self.encode("assistant\n")?);
        Ok(ids)
    }

    /// Answer `messages` as the assistant.
    pub fn generate(
        &mut self,
        messages: &[Message],
        params: &GenerationParams,
    ) -> Result<Generation> {
        let prompt = self.prompt(messages)?;
        if params.max_tokens == 0 {
            return Err(ModelError::InvalidInput(
                "max_tokens must be at least 1".into(),
            ));
        }
        if prompt.len() + params.max_tokens > self.context_length {
            return Err(ModelError::InvalidInput(format!(
                "the prompt is {} tokens; with {} tokens to generate that is more than the model's context of {}",
                prompt.len(),
                params.max_tokens,
                self.context_length
            )));
        }
        let sampling = if params.temperature > 0.0 {
            Sampling::All {
                temperature: params.temperature,
            }
        } else {
            Sampling::ArgMax
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);
        self.model.clear_kv_cache();

        let mut generated = Vec::new();
        let mut input = Tensor::new(prompt.as_slice(), &self.device)?.unsqueeze(0)?;
        let mut position = 0;
        let finish_reason = loop {
            let logits = self.model.forward(&input, position)?.squeeze(0)?;
            position += input.dim(1)?;
            let logits = if params.repeat_penalty == 1.0 {
                logits
            } else {
                let window = &generated[generated.len().saturating_sub(REPEAT_WINDOW)..];
                candle_transformers::utils::apply_repeat_penalty(
                    &logits,
                    params.repeat_penalty,
                    window,
                )?
            };
            let next = sampler.sample(&logits)?;
            if self.stop.contains(&next) {
                break FinishReason::Stop;
            }
            generated.push(next);
            if generated.len() >= params.max_tokens {
                break FinishReason::Length;
            }
            input = Tensor::new(&[next], &self.device)?.unsqueeze(0)?;
        };
        let text = self
            .tokenizer
            .decode(&generated, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(Generation {
            text: text.trim().to_string(),
            prompt_tokens: prompt.len(),
            completion_tokens: generated.len(),
            finish_reason,
        })
    }

    /// The model's logits for the first answer token of `messages`: what
    /// tests compare between weight formats.
    pub fn first_token_logits(&mut self, messages: &[Message]) -> Result<Vec<f32>> {
        let prompt = self.prompt(messages)?;
        self.model.clear_kv_cache();
        let input = Tensor::new(prompt.as_slice(), &self.device)?.unsqueeze(0)?;
        Ok(self
            .model
            .forward(&input, 0)?
            .squeeze(0)?
            .to_vec1::<f32>()?)
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// `text` with every special-token string removed, so message text can
    /// never produce a control id.
    fn without_special(&self, text: &str) -> String {
        let mut text = text.to_string();
        // Removing one string can join two halves into another: repeat
        // until nothing changes (each pass shortens the text).
        loop {
            let before = text.len();
            for special in &self.special_strings {
                text = text.replace(special.as_str(), "");
            }
            if text.len() == before {
                return text;
            }
        }
    }
}

/// Block types Candle multiplies with scalar code on the CPU.
fn is_slow_on_cpu(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

fn has_slow_cpu_blocks(content: &Content) -> bool {
    content
        .tensor_infos
        .values()
        .any(|info| is_slow_on_cpu(info.ggml_dtype))
}

/// The model of `content` with its slow block types re-quantized to Q8_0,
/// as an in-memory GGUF ready for [`ModelWeights::from_gguf`]. Tokenizer
/// metadata is left out: the weights loader does not read it.
fn requantize_for_cpu(
    content: &Content,
    reader: &mut BufReader<File>,
) -> Result<(Content, Cursor<Vec<u8>>)> {
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let tensor = content.tensor(reader, name, &Device::Cpu)?;
        let row = tensor.shape().dims().last().copied().unwrap_or(0);
        let tensor = if is_slow_on_cpu(tensor.dtype()) && row % GgmlDType::Q8_0.block_size() == 0 {
            QTensor::quantize(&tensor.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?
        } else {
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(key, _)| !key.starts_with("tokenizer."))
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut bytes = Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, &metadata, &tensor_refs)?;
    bytes.set_position(0);
    let content = Content::read(&mut bytes)?;
    Ok((content, bytes))
}
