//! Whisper speech recognition on Candle: load a Hugging Face Whisper folder
//! (converted from CTranslate2 by [`crate::convert::ct2_whisper`], or the
//! user's own) and transcribe 16 kHz mono audio of any length into
//! timestamped segments.
//!
//! The decoding loop follows OpenAI's reference implementation
//! (<https://github.com/openai/whisper>, `transcribe.py` and `decoding.py`):
//! 30 s windows, each decoded greedily or by beam search. With timestamp
//! tokens ([`TranscribeOptions::timestamps`]) the next window starts at the
//! last complete timestamp rather than at the 30 s boundary, so words cut by
//! a window's end are decoded whole in the next; without them (the default)
//! each window is one segment and the next starts at its end.
//!
//! ## Layout
//! - `mod.rs` (this file) — the public types ([`WhisperModel`],
//!   [`TranscribeOptions`], [`Transcript`], [`Segment`]), loading (where
//!   the network and its CPU kernels are chosen, [`CpuKernels`]) and
//!   silence cutting around a transcription.
//! - `transcribe` — the long-audio loop (`transcribe.py`): window after
//!   window, segments, and word timestamps per window.
//! - `window` — one window: encoding, language detection, greedy or beam
//!   search, and the temperature fallback.
//! - [`model`] — the network (`model.py`), with a self- and cross-attention
//!   key/value cache.
//! - [`engine`] — the network on a thread of its own, shared by concurrent
//!   transcriptions and batching their windows and decoding steps.
//! - [`tile_encoder`] — the encoder's blocks in bf16 on AMX tiles (or
//!   AVX-512 BF16 dot products), where the CPU has them.
//! - [`mel`] — the log-mel spectrogram and its filterbank (`audio.py`).
//! - [`decode`] — logit rules, greedy search of one window, and cutting a
//!   window into segments (`decoding.py`).
//! - [`tokens`] — special tokens and languages (`tokenizer.py`).
//! - [`align`] — word timestamps from the cross-attention of the alignment
//!   heads, by dynamic time warping (`timing.py`).
//! - [`vad`] — cutting long silences before decoding, and mapping times back.
//!
//! A window that decodes badly — text that compresses too well (a loop) or
//! tokens the model itself finds unlikely — is decoded again at the next
//! of [`TranscribeOptions::temperatures`], by seeded sampling, as
//! `decode_with_fallback` does.
//!
//! Clones of a [`WhisperModel`] share one network ([`engine::Engine`]):
//! each clone transcribes on its caller's thread, and the forward passes
//! of concurrent transcriptions are batched.

pub mod align;
pub mod decode;
pub mod engine;
pub mod int8;
pub mod mel;
pub mod model;
pub mod tile_encoder;
pub mod tokens;
mod transcribe;
pub mod vad;
mod window;

use crate::{ModelError, Result};
use align::Word;
use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use decode::Suppression;
use engine::Engine;
use mel::{HOP_LENGTH, MelExtractor, N_FRAMES, N_SAMPLES, SAMPLE_RATE};
pub use model::CpuKernels;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;
use tokens::SpecialTokens;

/// Files a Whisper folder must hold. `generation_config.json` is optional
/// (see [`OPTIONAL_FILES`]): without it the suppression lists come from
/// `config.json`, as they do in a plain Hugging Face folder.
pub const REQUIRED_FILES: &[&str] = &["config.json", "model.safetensors", "tokenizer.json"];

/// Files read when present.
pub const OPTIONAL_FILES: &[&str] = &["generation_config.json"];

/// Network sizes, from a Hugging Face `WhisperConfig` (`config.json`). The
/// same fields as candle-transformers' `whisper::Config`, plus the
/// feed-forward widths and the begin-suppression list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub num_mel_bins: usize,            // n_mels
    pub max_source_positions: usize,    // n_audio_ctx
    pub d_model: usize,                 // n_audio_state
    pub encoder_attention_heads: usize, // n_audio_head
    pub encoder_layers: usize,          // n_audio_layer
    pub vocab_size: usize,              // n_vocab
    pub max_target_positions: usize,    // n_text_ctx
    pub decoder_attention_heads: usize, // n_text_head
    pub decoder_layers: usize,          // n_text_layer
    /// 0 (absent) means `4 * d_model`, as in every OpenAI checkpoint.
    #[serde(default)]
    pub encoder_ffn_dim: usize,
    /// 0 (absent) means `4 * d_model`.
    #[serde(default)]
    pub decoder_ffn_dim: usize,
    #[serde(default)]
    pub suppress_tokens: Vec<i64>,
    #[serde(default)]
    pub begin_suppress_tokens: Option<Vec<i64>>,
}

/// The parts of `generation_config.json` the decoder uses.
#[derive(Debug, Clone, Default, Deserialize)]
struct GenerationConfig {
    #[serde(default)]
    suppress_tokens: Option<Vec<i64>>,
    #[serde(default)]
    begin_suppress_tokens: Option<Vec<i64>>,
    #[serde(default)]
    is_multilingual: Option<bool>,
    /// `[decoder layer, head]` pairs whose cross-attention follows the
    /// speech in time (what word timestamps align on).
    #[serde(default)]
    alignment_heads: Option<Vec<[usize; 2]>>,
}

/// What to do with the speech.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Text in the spoken language.
    #[default]
    Transcribe,
    /// English text, whatever the spoken language (multilingual models only).
    Translate,
}

/// Text that conditions the first window (names, spelling, style).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    /// Plain text, tokenized with a leading space as OpenAI's `initial_prompt`.
    Text(String),
    /// Token ids, used as given.
    Tokens(Vec<u32>),
}

/// OpenAI's fallback temperatures (`transcribe.py`'s default).
pub const DEFAULT_TEMPERATURES: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// Options of one transcription; `Default` gives OpenAI's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscribeOptions {
    pub task: Task,
    /// Spoken language code (`en`, `de`…); `None` detects it on the first
    /// 30 s with a multilingual model.
    pub language: Option<String>,
    pub prompt: Option<Prompt>,
    /// Feed each window the text of the previous ones (OpenAI's default).
    /// Helps consistency; can carry a hallucination loop forward.
    pub condition_on_previous_text: bool,
    /// Most tokens sampled per 30 s window; at most half the decoder context (224).
    pub max_tokens_per_window: usize,
    /// Beam search with this many beams; `None` (or 1) is greedy. OpenAI's
    /// command line uses 5: about five times the decoder work, and it picks
    /// the likelier sentence where greedy takes a locally likelier word.
    pub beam_size: Option<usize>,
    /// A window whose `<|nospeech|>` probability is above this, and whose
    /// average log-probability is below `logprob_threshold`, is skipped as silence.
    pub no_speech_threshold: Option<f32>,
    /// A window whose mean token log-probability is below this is decoded
    /// again at the next temperature (unless it is silence, see above).
    pub logprob_threshold: Option<f32>,
    /// A window whose text compresses better than this (zlib; see
    /// [`compression_ratio`]) is looping, and is decoded again at the next
    /// temperature. OpenAI's 2.4.
    pub compression_ratio_threshold: Option<f64>,
    /// Temperatures tried in turn for each window: 0 is greedy (or beam
    /// search), above 0 samples from the softmax of logits / temperature.
    /// A window whose result fails the two thresholds above is decoded
    /// again at the next one; the last result is kept. One value fixes the
    /// temperature. OpenAI's 0, 0.2, … 1.0.
    pub temperatures: Vec<f32>,
    /// Seed of the sampler used above temperature 0: the same audio,
    /// options and seed give the same transcript.
    pub seed: u64,
    /// Word-level times ([`Transcript::words`]), aligned with the
    /// cross-attention of the model's alignment heads after each window;
    /// costs one more decoder pass per window.
    pub word_timestamps: bool,
    /// Cut silences longer than [`vad::VadOptions::min_silence_s`] before
    /// decoding ([`vad`]): long recordings with pauses decode faster, and
    /// the model is not asked to transcribe silence (where it may
    /// hallucinate). Times are reported in the original audio.
    pub vad: Option<vad::VadOptions>,
    /// Decode with timestamp tokens: segments with their own times, and
    /// long audio advancing to the last complete segment (what srt, vtt and
    /// verbose_json need). Off (the default, as OpenAI's API without
    /// segment granularity), audio of one window (30 s or less) is decoded
    /// after `<|notimestamps|>` into one segment spanning it: fewer tokens
    /// to decode, and nothing to seek. Longer audio decodes with timestamp
    /// tokens either way: windows decoded whole without them cut words at
    /// their edges, and the model may end a window early and lose the rest
    /// of it (two minutes of synthetic speech lost seven of its sentences,
    /// one window's worth). The two modes can word a sentence differently:
    /// the timestamp tokens change what the model conditions on.
    pub timestamps: bool,
    /// Give segments the times they are spoken at without changing the
    /// decode: audio of one window decoded text-only is cut into sentences
    /// ([`decode::sentence_pieces`]) and each is timed by word alignment
    /// (as [`TranscribeOptions::word_timestamps`] aligns, one more decoder
    /// pass); the words are reported only if those were asked for. A
    /// server sets this, not `timestamps`, for formats with segment times,
    /// so `json` and `verbose_json` of the same clip carry the same words.
    /// No effect where timestamp tokens are decoded (they time segments).
    pub segment_times: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            task: Task::Transcribe,
            language: None,
            prompt: None,
            condition_on_previous_text: true,
            max_tokens_per_window: 224,
            beam_size: None,
            no_speech_threshold: Some(0.6),
            logprob_threshold: Some(-1.0),
            compression_ratio_threshold: Some(2.4),
            temperatures: DEFAULT_TEMPERATURES.to_vec(),
            seed: 0,
            word_timestamps: false,
            vad: None,
            timestamps: false,
            segment_times: false,
        }
    }
}

/// One timestamped piece of the transcript (OpenAI's segment dict).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub id: usize,
    /// Mel frame (10 ms) where the 30 s window that produced the segment
    /// starts, as OpenAI's `seek`.
    pub seek: usize,
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    /// Decoded text, with Whisper's leading space.
    pub text: String,
    /// Token ids, timestamp tokens included.
    pub tokens: Vec<u32>,
    /// Mean log-probability of the window's sampled tokens.
    pub avg_logprob: f64,
    /// Probability that the window held no speech.
    pub no_speech_prob: f32,
    /// Bytes of the window's text over its zlib-compressed size; above ~2.4
    /// the text is repetitive (a decoding loop).
    pub compression_ratio: f64,
    /// Temperature the window was decoded at: 0 is greedy; higher when
    /// the fallback decoded it again because `compression_ratio` or
    /// `avg_logprob` said the result at a lower one failed.
    pub temperature: f32,
}

/// Where the time of one transcription went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    pub mel_s: f64,
    pub encode_s: f64,
    pub decode_s: f64,
    /// 30 s windows encoded.
    pub windows: usize,
    /// Tokens run through the decoder (prompts included).
    pub decoded_tokens: usize,
    /// Windows decoded again at a higher temperature.
    pub fallbacks: usize,
    /// Seconds of silence cut by voice activity detection.
    pub skipped_s: f64,
    /// Seconds spent finding that silence.
    pub vad_s: f64,
    /// Seconds spent aligning words.
    pub align_s: f64,
}

/// A transcription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    /// Language code, given or detected (`en` for English-only models).
    pub language: String,
    /// Probability of the detected language; `None` when it was given or
    /// the model is English-only.
    pub language_probability: Option<f32>,
    pub segments: Vec<Segment>,
    /// Every word with its time, when [`TranscribeOptions::word_timestamps`]
    /// asked for them (empty otherwise); each lies within its segment.
    pub words: Vec<Word>,
    /// All segment texts joined, without leading or trailing whitespace.
    pub text: String,
    /// Seconds of audio.
    pub duration: f64,
    pub timings: Timings,
}

/// One piece of text handed to the sink of
/// [`WhisperModel::transcribe_streaming`], or (with empty `text`) the
/// start of the next 30 s window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delta<'a> {
    /// Empty at a window boundary: no new text, but a point where the sink
    /// can stop the transcription and see progress, even through windows
    /// of silence that produce no text at all.
    pub text: &'a str,
    /// Seconds of audio decoded so far (the end of the segment the text
    /// belongs to, or where the next window starts): how far along a long
    /// transcription is.
    pub decoded_until: f64,
}

/// A loaded Whisper model with its tokenizer; see the module docs.
#[derive(Debug, Clone)]
pub struct WhisperModel {
    model: Engine,
    kernels: CpuKernels,
    config: Config,
    tokenizer: tokenizers::Tokenizer,
    specials: SpecialTokens,
    suppression: Suppression,
    mel: MelExtractor,
    device: Device,
    multilingual: bool,
    /// `(decoder layer, head)` pairs that word timestamps align on.
    alignment_heads: Vec<(usize, usize)>,
    /// The `model` label of this model's real-time factor
    /// ([`crate::metrics::SPEECH_REALTIME_FACTOR`]); set by
    /// [`WhisperModel::named`], empty before.
    metrics_name: std::sync::Arc<str>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Token lists from JSON hold i64 (`-1` means OpenAI's "non-speech symbols",
/// which Hugging Face configs already spell out): keep the valid ids.
fn token_ids(list: &[i64]) -> Vec<u32> {
    list.iter().filter_map(|&t| u32::try_from(t).ok()).collect()
}

impl WhisperModel {
    /// Load a Whisper folder ([`REQUIRED_FILES`]) onto `device`, computing in
    /// f32 with Candle's ops throughout (no [`CpuKernels`]).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, CpuKernels::default())
    }

    /// [`WhisperModel::load`], with the CPU's own `kernels` where they apply
    /// (the CPU, f32 weights, a tier that has them): the network is chosen
    /// here, once; [`WhisperModel::kernels`] says which are in use. The
    /// weights are in the device's precision ([`crate::device::native_dtype`]:
    /// f16 on a GPU).
    pub fn load_with(dir: &Path, device: &Device, kernels: CpuKernels) -> Result<Self> {
        Self::load_in(dir, device, kernels, crate::device::native_dtype(device))
    }

    /// [`WhisperModel::load_with`] computing in `dtype` (f32, f16 or bf16):
    /// how the tests run the GPUs' f16 network on the CPU. The CPU's
    /// kernels apply to f32 only.
    pub fn load_in(dir: &Path, device: &Device, kernels: CpuKernels, dtype: DType) -> Result<Self> {
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        for file in REQUIRED_FILES {
            if !dir.join(file).is_file() {
                return Err(ModelError::MissingFile {
                    name,
                    file: (*file).to_owned(),
                    dir: dir.to_path_buf(),
                });
            }
        }
        let mut config: Config = read_json(&dir.join("config.json"))?;
        if config.encoder_ffn_dim == 0 {
            config.encoder_ffn_dim = 4 * config.d_model;
        }
        if config.decoder_ffn_dim == 0 {
            config.decoder_ffn_dim = 4 * config.d_model;
        }
        let generation_path = dir.join("generation_config.json");
        let generation: GenerationConfig = if generation_path.is_file() {
            read_json(&generation_path)?
        } else {
            GenerationConfig::default()
        };

        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        let specials = SpecialTokens::from_tokenizer(&tokenizer)?;

        // OpenAI's `_get_suppress_tokens`: the configured symbols plus the
        // task and start tokens and <|nospeech|>, none of which may be sampled.
        let mut always = token_ids(
            generation
                .suppress_tokens
                .as_deref()
                .unwrap_or(&config.suppress_tokens),
        );
        always.extend([
            specials.transcribe,
            specials.translate,
            specials.sot,
            specials.sot_prev,
            specials.sot_lm,
        ]);
        always.extend(specials.no_speech);
        always.sort_unstable();
        always.dedup();
        let at_begin = match generation
            .begin_suppress_tokens
            .as_deref()
            .or(config.begin_suppress_tokens.as_deref())
        {
            Some(list) => token_ids(list),
            // OpenAI's SuppressBlank: the encoding of " " and end-of-text.
            None => tokenizer
                .token_to_id("Ġ")
                .into_iter()
                .chain([specials.eot])
                .collect(),
        };

        let weights = dir.join("model.safetensors");
        let tensors = candle_core::safetensors::load(&weights, &Device::Cpu)?;
        let vb = VarBuilder::from_tensors(tensors, dtype, device);
        let model = model::Whisper::load(&config, vb, kernels).map_err(|e| {
            ModelError::format(
                weights.display().to_string(),
                format!("not a Whisper checkpoint matching config.json: {e}"),
            )
        })?;
        let kernels = model.kernels();
        let model = Engine::start(model, 0)
            .map_err(|e| ModelError::io("start the Whisper engine thread", dir, e))?;
        let multilingual = generation
            .is_multilingual
            .unwrap_or(config.vocab_size >= 51865);
        let alignment_heads = match generation.alignment_heads {
            Some(pairs) if !pairs.is_empty() => {
                let valid = |&[layer, head]: &[usize; 2]| {
                    layer < config.decoder_layers && head < config.decoder_attention_heads
                };
                if let Some(bad) = pairs.iter().find(|p| !valid(p)) {
                    return Err(ModelError::format(
                        generation_path.display().to_string(),
                        format!(
                            "alignment head {bad:?} is outside the decoder's {} layers × {} heads",
                            config.decoder_layers, config.decoder_attention_heads
                        ),
                    ));
                }
                pairs.iter().map(|&[l, h]| (l, h)).collect()
            }
            // OpenAI's default without a list: every head of the upper half
            // of the decoder layers.
            _ => (config.decoder_layers / 2..config.decoder_layers)
                .flat_map(|l| (0..config.decoder_attention_heads).map(move |h| (l, h)))
                .collect(),
        };
        Ok(Self {
            model,
            kernels,
            mel: MelExtractor::new(config.num_mel_bins)?,
            config,
            tokenizer,
            specials,
            suppression: Suppression { always, at_begin },
            device: device.clone(),
            multilingual,
            alignment_heads,
            metrics_name: std::sync::Arc::from(""),
        })
    }

    /// Name this model in its metrics (the name it is served under).
    pub fn named(mut self, name: &str) -> Self {
        self.metrics_name = std::sync::Arc::from(name);
        self
    }

    /// `(decoder layer, head)` pairs that word timestamps align on.
    pub fn alignment_heads(&self) -> &[(usize, usize)] {
        &self.alignment_heads
    }

    /// Token ids never sampled, and those not sampled first in a window.
    pub fn suppression(&self) -> &Suppression {
        &self.suppression
    }

    /// The network sizes.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The CPU kernels this model runs on, chosen at load
    /// ([`WhisperModel::load_with`]).
    pub fn kernels(&self) -> CpuKernels {
        self.kernels
    }

    /// How much of this model's work (all its clones') ran batched.
    pub fn batching(&self) -> engine::Batching {
        self.model.batching()
    }

    /// The encoder's features for the first 30 s of each clip (16 kHz
    /// mono), all windows in one batch: `[1500 × d]` values per clip.
    pub fn encode_audio(&self, clips: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let windows = clips
            .iter()
            .map(|pcm| {
                let mut padded = pcm[..pcm.len().min(N_SAMPLES)].to_vec();
                padded.resize(N_SAMPLES, 0.0);
                let mel = self.mel.log_mel(&padded)?;
                Ok(mel.i((.., ..N_FRAMES))?.unsqueeze(0)?)
            })
            .collect::<Result<Vec<_>>>()?;
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let device = self.device.clone();
        let features = self.model.run(move |w| {
            let mels = Tensor::cat(&windows, 0)?.to_device(&device)?;
            w.encode(&mels)
        })?;
        (0..clips.len())
            .map(|i| {
                Ok(features
                    .i(i)?
                    .flatten_all()?
                    .to_dtype(DType::F32)?
                    .to_vec1::<f32>()?)
            })
            .collect()
    }

    /// Whether the model knows languages other than English (and can translate).
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Language codes the model accepts.
    pub fn languages(&self) -> Vec<&str> {
        if self.multilingual {
            self.specials
                .languages
                .iter()
                .map(|(c, _)| c.as_str())
                .collect()
        } else {
            vec!["en"]
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

    /// [`WhisperModel::transcribe`], handing `sink` the text of each segment
    /// as soon as it is decoded (each timestamped segment; audio of one
    /// window without timestamps in one piece), so a caller can show text
    /// while the rest of the audio is still being decoded.
    ///
    /// The pieces concatenate exactly to [`Transcript::text`]: leading
    /// whitespace of the first and trailing whitespace of the last are left
    /// out, the way the full text is trimmed (see [`DeltaText`]).
    ///
    /// Before each window after the first, `sink` also gets a delta with
    /// empty text (skip it when showing text; it carries the progress).
    /// When `sink` answers [`ControlFlow::Break`] (its reader went away, its
    /// job was cancelled), decoding stops after that segment, or before
    /// that window, and the transcript decoded so far is returned: a model
    /// worker is not kept busy for nobody, past the window it is in.
    pub fn transcribe_streaming(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
        sink: &mut dyn FnMut(Delta<'_>) -> ControlFlow<()>,
    ) -> Result<Transcript> {
        let started = Instant::now();
        let transcript = self.transcribe_unrecorded(pcm_16k_mono, opts, sink)?;
        let (compute_s, audio_s) = (
            started.elapsed().as_secs_f64(),
            pcm_16k_mono.len() as f64 / SAMPLE_RATE as f64,
        );
        crate::metrics::record_realtime_factor(&self.metrics_name, compute_s, audio_s);
        // On the model's thread, in the request's span (the worker carries
        // it): this line names the request it served.
        tracing::debug!(
            model = %self.metrics_name,
            audio_s,
            compute_s,
            segments = transcript.segments.len(),
            "transcribed"
        );
        Ok(transcript)
    }

    fn transcribe_unrecorded(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
        sink: &mut dyn FnMut(Delta<'_>) -> ControlFlow<()>,
    ) -> Result<Transcript> {
        around_silence(pcm_16k_mono, opts, |pcm, timings| {
            self.transcribe_pcm(pcm, opts, sink, timings)
        })
    }

    /// The text of tokens, timestamps and other special tokens left out.
    fn text_of(&self, tokens: &[u32]) -> Result<String> {
        let text: Vec<u32> = tokens
            .iter()
            .copied()
            .filter(|&t| t < self.specials.eot)
            .collect();
        self.tokenizer
            .decode(&text, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }
}

/// Run `transcribe` on `pcm_16k_mono` with the silences that
/// [`TranscribeOptions::vad`] finds cut out (on all of it without VAD),
/// and map the transcript's times back to the original audio: the one
/// place either engine cuts silence.
pub(crate) fn around_silence(
    pcm_16k_mono: &[f32],
    opts: &TranscribeOptions,
    transcribe: impl FnOnce(&[f32], Timings) -> Result<Transcript>,
) -> Result<Transcript> {
    let Some(vad_opts) = &opts.vad else {
        return transcribe(pcm_16k_mono, Timings::default());
    };
    let started = Instant::now();
    let cut = vad::cut_silence(pcm_16k_mono, SAMPLE_RATE as u32, vad_opts);
    let mut timings = Timings {
        vad_s: started.elapsed().as_secs_f64(),
        ..Timings::default()
    };
    let Some((speech, map)) = cut else {
        return transcribe(pcm_16k_mono, timings);
    };
    timings.skipped_s = map.removed_seconds(pcm_16k_mono.len());
    let mut t = transcribe(&speech, timings)?;
    // Back to the original audio's times.
    let frames_per_second = SAMPLE_RATE as f64 / HOP_LENGTH as f64;
    for segment in &mut t.segments {
        let seek_s = segment.seek as f64 / frames_per_second;
        segment.seek = (map.to_source(seek_s, false) * frames_per_second).round() as usize;
        segment.start = map.to_source(segment.start, false);
        segment.end = map.to_source(segment.end, true).max(segment.start);
    }
    for word in &mut t.words {
        word.start = map.to_source(word.start, false);
        word.end = map.to_source(word.end, true).max(word.start);
    }
    t.duration = pcm_16k_mono.len() as f64 / SAMPLE_RATE as f64;
    Ok(t)
}

/// The transcript's text: every segment's text joined, trimmed (what
/// [`Transcript::text`] holds on either engine).
pub(crate) fn joined_text(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Turns segment texts into streamed pieces whose concatenation is the
/// trimmed full text: the first piece loses its leading whitespace, and each
/// piece's trailing whitespace is held back and sent in front of the next,
/// so whatever ends the last piece is never sent (as `trim` drops it).
#[derive(Debug, Default)]
pub struct DeltaText {
    started: bool,
    held: String,
}

impl DeltaText {
    /// The piece to send for the next segment's `text`, if any.
    pub fn next(&mut self, text: &str) -> Option<String> {
        let text = if self.started {
            text
        } else {
            text.trim_start()
        };
        let body = text.trim_end();
        if body.is_empty() {
            if self.started {
                self.held.push_str(text);
            }
            return None;
        }
        self.started = true;
        let delta = std::mem::take(&mut self.held) + body;
        self.held.push_str(&text[body.len()..]);
        Some(delta)
    }
}

/// Bytes of `text` over its zlib-compressed size, as OpenAI's
/// `compression_ratio` (zlib at the default level).
pub fn compression_ratio(text: &str) -> Result<f64> {
    if text.is_empty() {
        return Ok(0.0);
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let io = |e| ModelError::io("compress", "segment text", e);
    encoder.write_all(text.as_bytes()).map_err(io)?;
    let compressed = encoder.finish().map_err(io)?;
    Ok(text.len() as f64 / compressed.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_text_compresses_well() {
        let plain = compression_ratio("he was not an ill disposed young man").unwrap();
        let looped = compression_ratio(&"thank you. ".repeat(40)).unwrap();
        assert!(plain < 1.5, "{plain}");
        assert!(looped > 2.4, "{looped}");
        assert_eq!(compression_ratio("").unwrap(), 0.0);
    }

    #[test]
    fn deltas_concatenate_to_the_trimmed_text() {
        let pieces = [
            " He was",
            "  ",
            " not an ill ",
            "disposed\n",
            " young man. ",
            " ",
        ];
        let mut deltas = DeltaText::default();
        let sent: Vec<String> = pieces.iter().filter_map(|p| deltas.next(p)).collect();
        assert_eq!(
            sent,
            ["He was", "   not an ill", " disposed", "\n young man."]
        );
        assert_eq!(sent.concat(), pieces.concat().trim());
        assert_eq!(DeltaText::default().next("  "), None);
    }

    #[test]
    fn options_deserialize_with_defaults() {
        let o: TranscribeOptions =
            serde_json::from_str(r#"{"task":"translate","prompt":"Marianne"}"#).unwrap();
        assert_eq!(o.task, Task::Translate);
        assert_eq!(o.prompt, Some(Prompt::Text("Marianne".into())));
        assert_eq!(o.max_tokens_per_window, 224);
        assert!(!o.timestamps);
        let o: TranscribeOptions = serde_json::from_str(r#"{"timestamps":true}"#).unwrap();
        assert!(o.timestamps);
        let o: TranscribeOptions = serde_json::from_str(r#"{"prompt":[1,2]}"#).unwrap();
        assert_eq!(o.prompt, Some(Prompt::Tokens(vec![1, 2])));
    }
}
