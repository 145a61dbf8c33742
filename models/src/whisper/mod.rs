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
//!   [`TranscribeOptions`], [`Transcript`], [`Segment`]), loading, and the
//!   long-audio loop (`transcribe.py`).
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
pub mod vad;

use crate::{ModelError, Result};
use align::{SegmentSpan, Word};
use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use decode::{
    LogitFilter, SplitMix64, Suppression, WindowResult, argmax, log_probability, log_softmax,
    sample, split_segments,
};
use engine::Engine;
use mel::{HOP_LENGTH, MelExtractor, N_FRAMES, N_SAMPLES, SAMPLE_RATE};
use model::KvCache;
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
    config: Config,
    tokenizer: tokenizers::Tokenizer,
    specials: SpecialTokens,
    suppression: Suppression,
    mel: MelExtractor,
    device: Device,
    multilingual: bool,
    /// `(decoder layer, head)` pairs that word timestamps align on.
    alignment_heads: Vec<(usize, usize)>,
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
    /// Load a Whisper folder ([`REQUIRED_FILES`]) onto `device`, computing in f32.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
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
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        let model = model::Whisper::load(&config, vb).map_err(|e| {
            ModelError::format(
                weights.display().to_string(),
                format!("not a Whisper checkpoint matching config.json: {e}"),
            )
        })?;
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
            mel: MelExtractor::new(config.num_mel_bins)?,
            config,
            tokenizer,
            specials,
            suppression: Suppression { always, at_begin },
            device: device.clone(),
            multilingual,
            alignment_heads,
        })
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

    /// Compute decoding steps' logits with an int8 copy of the output
    /// projection (see [`int8`]): faster per token on the CPU, logits within
    /// int8 rounding of the f32 ones.
    pub fn quantize_projection(&mut self) -> Result<()> {
        Ok(self.model.run(|w| w.quantize_projection())?)
    }

    /// The int8 projection and int8 copies of the decoder's linear layers
    /// for decoding steps (see `model::Whisper::quantize_decoder`).
    pub fn quantize_decoder(&mut self) -> Result<()> {
        Ok(self.model.run(|w| w.quantize_decoder())?)
    }

    /// Run the encoder's blocks in bf16 on AMX tiles (see [`tile_encoder`]),
    /// or with AVX-512 BF16 dot products where there are no tiles, when
    /// this is a CPU model on a CPU that has either; returns whether it
    /// does. Several times faster per window; transcripts hold (the word
    /// error rate test runs both ways).
    pub fn use_amx_encoder(&mut self) -> Result<bool> {
        Ok(self.model.run(|w| w.use_amx_encoder())?)
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
            .map(|i| Ok(features.i(i)?.flatten_all()?.to_vec1::<f32>()?))
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
        let Some(vad_opts) = &opts.vad else {
            return self.transcribe_pcm(pcm_16k_mono, opts, sink, Timings::default());
        };
        let started = Instant::now();
        let cut = vad::cut_silence(pcm_16k_mono, SAMPLE_RATE as u32, vad_opts);
        let mut timings = Timings {
            vad_s: started.elapsed().as_secs_f64(),
            ..Timings::default()
        };
        let Some((speech, map)) = cut else {
            return self.transcribe_pcm(pcm_16k_mono, opts, sink, timings);
        };
        timings.skipped_s = map.removed_seconds(pcm_16k_mono.len());
        let mut t = self.transcribe_pcm(&speech, opts, sink, timings)?;
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

    /// [`WhisperModel::transcribe_streaming`] of audio as it is (after any
    /// silence was cut).
    fn transcribe_pcm(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
        sink: &mut dyn FnMut(Delta<'_>) -> ControlFlow<()>,
        mut timings: Timings,
    ) -> Result<Transcript> {
        let duration = pcm_16k_mono.len() as f64 / SAMPLE_RATE as f64;
        // Audio longer than one window always decodes with timestamp
        // tokens ([`TranscribeOptions::timestamps`]): the next window
        // starts at the last complete segment.
        let seeking;
        let opts = if !opts.timestamps && pcm_16k_mono.len() > N_SAMPLES {
            seeking = TranscribeOptions {
                timestamps: true,
                ..opts.clone()
            };
            &seeking
        } else {
            opts
        };
        if !self.multilingual {
            if opts.task == Task::Translate {
                return Err(ModelError::InvalidInput(
                    "this Whisper model is English-only; translation needs a multilingual one"
                        .into(),
                ));
            }
            if let Some(lang) = opts.language.as_deref().filter(|l| *l != "en") {
                return Err(ModelError::InvalidInput(format!(
                    "this Whisper model is English-only; language `{lang}` needs a multilingual one"
                )));
            }
        }
        let given_language = match opts.language.as_deref() {
            Some(code) if self.multilingual => Some((
                code.to_owned(),
                self.specials.language(code).ok_or_else(|| {
                    ModelError::InvalidInput(format!("unknown language `{code}`"))
                })?,
            )),
            _ => None,
        };

        // Like OpenAI, append 30 s of silence so every window can be cut whole.
        let started = Instant::now();
        let mut padded = Vec::with_capacity(pcm_16k_mono.len() + N_SAMPLES);
        padded.extend_from_slice(pcm_16k_mono);
        padded.resize(pcm_16k_mono.len() + N_SAMPLES, 0.0);
        let mel = self.mel.log_mel(&padded)?;
        let content_frames = pcm_16k_mono.len() / HOP_LENGTH;
        timings.mel_s = started.elapsed().as_secs_f64();

        // The first window's features serve both language detection and decoding.
        let mut first_features = Some(self.encode_window(&mel, 0, &mut timings)?);
        let (language, language_probability, language_token) = if !self.multilingual {
            ("en".to_owned(), None, None)
        } else if let Some((code, id)) = given_language {
            (code, None, Some(id))
        } else {
            let features = first_features.as_ref().ok_or_else(|| {
                ModelError::InvalidInput("no audio features for language detection".into())
            })?;
            let (code, id, p) = self.detect_language(features, &mut timings)?;
            (code, Some(p), Some(id))
        };

        let mut sot_sequence = vec![self.specials.sot];
        if let Some(lang) = language_token {
            sot_sequence.push(lang);
            sot_sequence.push(match opts.task {
                Task::Transcribe => self.specials.transcribe,
                Task::Translate => self.specials.translate,
            });
        }
        // Word alignment runs the text after this, without timestamps.
        let alignment_sot = sot_sequence.clone();
        if !opts.timestamps {
            sot_sequence.push(self.specials.no_timestamps);
        }
        let mut all_tokens: Vec<u32> = match &opts.prompt {
            None => Vec::new(),
            Some(Prompt::Tokens(ids)) => ids.clone(),
            Some(Prompt::Text(text)) => self
                .tokenizer
                .encode(format!(" {}", text.trim()), false)
                .map_err(|e| ModelError::Tokenizer(e.to_string()))?
                .get_ids()
                .to_vec(),
        };
        if let Some(bad) = all_tokens.iter().find(|&&t| t >= self.specials.eot) {
            return Err(ModelError::InvalidInput(format!(
                "prompt token {bad} is a special token; prompts hold text tokens only"
            )));
        }
        let mut prompt_reset_since = 0;
        let frames_per_token = N_FRAMES / self.config.max_source_positions.max(1);
        let max_new = opts
            .max_tokens_per_window
            .clamp(1, self.config.max_target_positions / 2);

        let mut segments: Vec<Segment> = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut last_speech = 0.0;
        let mut deltas = DeltaText::default();
        let mut seek = 0;
        'windows: while seek < content_frames {
            let time_offset = (seek * HOP_LENGTH) as f64 / SAMPLE_RATE as f64;
            // A stop point at every window, text or not: windows the model
            // hears as silence emit no segment, and without this a sink
            // could not stop a long quiet stretch before its end.
            if seek > 0
                && sink(Delta {
                    text: "",
                    decoded_until: time_offset,
                })
                .is_break()
            {
                break 'windows;
            }
            let segment_frames = N_FRAMES.min(content_frames - seek);
            let features = match first_features.take() {
                Some(f) if seek == 0 => f,
                _ => self.encode_window(&mel, seek, &mut timings)?,
            };
            let result = self.decode_with_fallback(
                &features,
                &all_tokens[prompt_reset_since..],
                &sot_sequence,
                max_new,
                opts,
                seek,
                &mut timings,
            )?;
            let avg_logprob = result.avg_logprob();
            if let Some(threshold) = opts.no_speech_threshold {
                let quiet = result.no_speech_prob > threshold;
                let unsure = opts
                    .logprob_threshold
                    .is_none_or(|lt| avg_logprob < f64::from(lt));
                if quiet && unsure {
                    seek += segment_frames;
                    continue;
                }
            }
            let (raw, advance) = split_segments(
                &result.tokens,
                &self.specials,
                time_offset,
                segment_frames,
                frames_per_token,
            );
            let first_new = segments.len();
            let mut stop = false;
            for piece in raw {
                let text = self.text_of(&piece.tokens)?;
                // OpenAI drops instantaneous or empty segments.
                if piece.start == piece.end || text.trim().is_empty() {
                    continue;
                }
                all_tokens.extend(&piece.tokens);
                segments.push(Segment {
                    id: segments.len(),
                    seek,
                    start: piece.start,
                    end: piece.end.min(duration.max(piece.start)),
                    text,
                    tokens: piece.tokens,
                    avg_logprob,
                    no_speech_prob: result.no_speech_prob,
                    compression_ratio: result.compression_ratio,
                    temperature: result.temperature,
                });
                if let Some(segment) = segments.last()
                    && let Some(text) = deltas.next(&segment.text)
                    && sink(Delta {
                        text: &text,
                        decoded_until: segment.end,
                    })
                    .is_break()
                {
                    stop = true;
                    break;
                }
            }
            if opts.word_timestamps && segments.len() > first_new {
                let previous_end = first_new
                    .checked_sub(1)
                    .and_then(|i| segments.get(i))
                    .map_or(0.0, |s| s.end);
                let window = WindowWords {
                    features: &features,
                    sot_sequence: &alignment_sot,
                    language: &language,
                    seek,
                    frames: segment_frames,
                    previous_end,
                    duration,
                };
                words.extend(self.align_words(
                    &window,
                    &mut segments[first_new..],
                    &mut last_speech,
                    &mut timings,
                )?);
            }
            if stop {
                break 'windows;
            }
            if !opts.condition_on_previous_text || result.temperature > 0.5 {
                prompt_reset_since = all_tokens.len();
            }
            // Never stand still, whatever the model emitted.
            seek += if advance == 0 {
                segment_frames
            } else {
                advance
            };
        }

        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<String>()
            .trim()
            .to_owned();
        Ok(Transcript {
            language,
            language_probability,
            segments,
            words,
            text,
            duration,
            timings,
        })
    }

    /// Encode the 30 s window starting at mel frame `seek`.
    fn encode_window(&self, mel: &Tensor, seek: usize, timings: &mut Timings) -> Result<Tensor> {
        let started = Instant::now();
        let window = mel
            .i((.., seek..seek + N_FRAMES))?
            .unsqueeze(0)?
            .to_device(&self.device)?;
        let features = self.model.encode(&window)?;
        timings.encode_s += started.elapsed().as_secs_f64();
        timings.windows += 1;
        Ok(features)
    }

    /// Most likely language after `<|startoftranscript|>`, with its probability
    /// among the languages (`detect_language` in decoding.py).
    fn detect_language(
        &self,
        features: &Tensor,
        timings: &mut Timings,
    ) -> Result<(String, u32, f32)> {
        let started = Instant::now();
        let (features, sot) = (features.clone(), self.specials.sot);
        let logits: Vec<f32> = self.model.run(move |w| {
            let mut cache = w.new_cache(&features)?;
            let hidden = w.decode(&[sot], &mut cache)?;
            w.logits(&hidden.i((.., 0, ..))?)?.i(0)?.to_vec1()
        })?;
        timings.decode_s += started.elapsed().as_secs_f64();
        timings.decoded_tokens += 1;
        let langs = &self.specials.languages;
        let lang_logits: Vec<f32> = langs
            .iter()
            .map(|&(_, id)| {
                logits
                    .get(id as usize)
                    .copied()
                    .unwrap_or(f32::NEG_INFINITY)
            })
            .collect();
        let logprobs = log_softmax(&lang_logits);
        let best = argmax(&logprobs) as usize;
        let (code, id) = langs
            .get(best)
            .ok_or_else(|| ModelError::InvalidInput("the tokenizer lists no languages".into()))?;
        Ok((code.clone(), *id, logprobs[best].exp()))
    }

    /// Decode one window at each of `opts.temperatures` in turn until the
    /// result passes the compression-ratio and log-probability thresholds
    /// or is judged silence (`decode_with_fallback` in transcribe.py); the
    /// last result stands when none passes. Each attempt samples with its
    /// own generator, seeded from `opts.seed`, the window's position and the
    /// attempt number, so its draws do not depend on how many were drawn
    /// for earlier windows.
    #[expect(
        clippy::too_many_arguments,
        reason = "one window's inputs, passed straight through to decode_window"
    )]
    fn decode_with_fallback(
        &self,
        features: &Tensor,
        prompt: &[u32],
        sot_sequence: &[u32],
        max_new: usize,
        opts: &TranscribeOptions,
        seek: usize,
        timings: &mut Timings,
    ) -> Result<WindowResult> {
        let ladder: &[f32] = if opts.temperatures.is_empty() {
            &[0.0]
        } else {
            &opts.temperatures
        };
        let mut attempt = 0;
        loop {
            let temperature = ladder[attempt];
            let seed = opts.seed
                ^ (seek as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (attempt as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            let mut rng = SplitMix64::new(seed);
            let mut result = self.decode_window(
                features,
                prompt,
                sot_sequence,
                max_new,
                opts,
                temperature,
                &mut rng,
                timings,
            )?;
            result.compression_ratio = compression_ratio(&self.text_of(&result.tokens)?)?;
            let avg_logprob = result.avg_logprob();
            let looping = opts
                .compression_ratio_threshold
                .is_some_and(|limit| result.compression_ratio > limit);
            let unlikely = opts
                .logprob_threshold
                .is_some_and(|limit| avg_logprob < f64::from(limit));
            let silence = unlikely
                && opts
                    .no_speech_threshold
                    .is_some_and(|limit| result.no_speech_prob > limit);
            attempt += 1;
            if silence || !(looping || unlikely) || attempt == ladder.len() {
                return Ok(result);
            }
            timings.fallbacks += 1;
            tracing::debug!(
                seek,
                temperature,
                compression_ratio = result.compression_ratio,
                avg_logprob,
                "window decoded again at a higher temperature"
            );
        }
    }

    /// Decode one window (`DecodingTask.run`): at temperature 0 greedy, or
    /// beam search when `opts.beam_size > 1`; above 0 by sampling with
    /// `rng`. With timestamp rules when `opts.timestamps`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one window's inputs; grouping them would only rename them"
    )]
    fn decode_window(
        &self,
        features: &Tensor,
        prompt: &[u32],
        sot_sequence: &[u32],
        max_new: usize,
        opts: &TranscribeOptions,
        temperature: f32,
        rng: &mut SplitMix64,
        timings: &mut Timings,
    ) -> Result<WindowResult> {
        let started = Instant::now();
        let beams = if temperature > 0.0 {
            1
        } else {
            opts.beam_size.unwrap_or(1).max(1)
        };
        let timestamps = opts.timestamps;
        let n_ctx = self.config.max_target_positions;
        let mut initial = Vec::new();
        if !prompt.is_empty() {
            // At most half the context for the prompt, the most recent part.
            let keep = n_ctx / 2 - 1;
            initial.push(self.specials.sot_prev);
            initial.extend_from_slice(&prompt[prompt.len().saturating_sub(keep)..]);
        }
        let sot_index = initial.len();
        initial.extend_from_slice(sot_sequence);

        let features = features.clone();
        let (mut cache, mut rows) = self.model.run(move |w| {
            let mut cache = w.new_cache(&features)?;
            let hidden = w.decode(&initial, &mut cache)?;
            let rows = Tensor::cat(
                &[
                    hidden.i((.., sot_index, ..))?,
                    hidden.i((.., initial.len() - 1, ..))?,
                ],
                0,
            )?;
            let rows: Vec<Vec<f32>> = w.logits(&rows)?.to_vec2()?;
            Ok((cache, rows))
        })?;
        let first_logits = rows.pop().unwrap_or_default();
        let at_sot = rows.pop().unwrap_or_default();
        let no_speech_prob = match self.specials.no_speech {
            Some(id) => log_softmax(&at_sot)
                .get(id as usize)
                .map_or(0.0, |lp| lp.exp()),
            None => 0.0,
        };
        let (tokens, sum_logprob) = if beams > 1 {
            self.beam_search(first_logits, &mut cache, max_new, beams, timestamps)?
        } else {
            self.sample_tokens(
                first_logits,
                &mut cache,
                max_new,
                timestamps,
                temperature,
                rng,
            )?
        };
        timings.decode_s += started.elapsed().as_secs_f64();
        timings.decoded_tokens += cache.len();
        Ok(WindowResult {
            tokens,
            sum_logprob,
            no_speech_prob,
            temperature,
            compression_ratio: 0.0,
        })
    }

    /// `GreedyDecoder`: at temperature 0 the likeliest allowed token at
    /// every step, above it a token drawn from the tempered softmax. The
    /// summed log-probabilities are those of the untempered logits.
    fn sample_tokens(
        &self,
        mut logits: Vec<f32>,
        cache: &mut KvCache,
        max_new: usize,
        timestamps: bool,
        temperature: f32,
        rng: &mut SplitMix64,
    ) -> Result<(Vec<u32>, f64)> {
        let filter = LogitFilter {
            specials: &self.specials,
            suppression: &self.suppression,
            timestamps,
        };
        let n_ctx = self.config.max_target_positions;
        let mut tokens = Vec::new();
        let mut sum_logprob = 0f64;
        for step in 0..max_new {
            filter.apply(&mut logits, &tokens);
            let next = sample(&logits, temperature, rng);
            sum_logprob += f64::from(log_probability(&logits, next));
            if next == self.specials.eot {
                break;
            }
            tokens.push(next);
            if step + 1 == max_new || cache.len() >= n_ctx {
                break;
            }
            logits = self.model.step(&[next], cache)?.i(0)?.to_vec1()?;
        }
        Ok((tokens, sum_logprob))
    }

    /// `BeamSearchDecoder` with patience 1 and no length penalty: keep the
    /// `beams` likeliest unfinished hypotheses, collect `beams` finished
    /// ones, and return the best by log-probability per token. The beams run
    /// as one batch through the decoder, their caches reordered as they fork.
    fn beam_search(
        &self,
        first_logits: Vec<f32>,
        cache: &mut KvCache,
        max_new: usize,
        beams: usize,
        timestamps: bool,
    ) -> Result<(Vec<u32>, f64)> {
        let filter = LogitFilter {
            specials: &self.specials,
            suppression: &self.suppression,
            timestamps,
        };
        let eot = self.specials.eot;
        let n_ctx = self.config.max_target_positions;
        // (tokens, sum of log-probabilities)
        let mut live: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0)];
        let mut finished: Vec<(Vec<u32>, f64)> = Vec::new();
        let mut logits_rows = vec![first_logits];
        for step in 0..max_new {
            let mut candidates: Vec<(f64, u32, Vec<u32>)> = Vec::new();
            for (row, (seq, score)) in live.iter().enumerate() {
                let Some(logits) = logits_rows.get_mut(row) else {
                    break;
                };
                filter.apply(logits, seq);
                let logprobs = log_softmax(logits);
                let mut order: Vec<u32> = (0..logprobs.len() as u32).collect();
                let top = (beams + 1).min(order.len());
                order.select_nth_unstable_by(top.saturating_sub(1), |&a, &b| {
                    logprobs[b as usize].total_cmp(&logprobs[a as usize])
                });
                for &tok in &order[..top] {
                    let lp = logprobs[tok as usize];
                    if lp == f32::NEG_INFINITY {
                        continue;
                    }
                    let mut next = seq.clone();
                    next.push(tok);
                    candidates.push((score + f64::from(lp), row as u32, next));
                }
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut next_live = Vec::new();
            let mut sources = Vec::new();
            for (score, source, seq) in candidates {
                if seq.last() == Some(&eot) {
                    if finished.len() < beams {
                        finished.push((seq[..seq.len() - 1].to_vec(), score));
                    }
                } else if !next_live.iter().any(|(s, _)| *s == seq) {
                    next_live.push((seq, score));
                    sources.push(source);
                    if next_live.len() == beams {
                        break;
                    }
                }
            }
            live = next_live;
            if finished.len() >= beams
                || live.is_empty()
                || step + 1 == max_new
                || cache.len() >= n_ctx
            {
                break;
            }
            cache.reorder(&sources)?;
            let last: Vec<u32> = live
                .iter()
                .map(|(seq, _)| seq.last().copied().unwrap_or(eot))
                .collect();
            logits_rows = self.model.step(&last, cache)?.to_vec2()?;
        }
        // Unfinished hypotheses fill up the candidates when too few ended.
        live.sort_by(|a, b| b.1.total_cmp(&a.1));
        for hypothesis in live {
            if finished.len() >= beams {
                break;
            }
            finished.push(hypothesis);
        }
        // MaximumLikelihoodRanker without length penalty: mean log-probability.
        let best = finished
            .into_iter()
            .max_by(|a, b| {
                let rank = |(t, lp): &(Vec<u32>, f64)| lp / t.len().max(1) as f64;
                rank(a).total_cmp(&rank(b))
            })
            .unwrap_or_default();
        Ok(best)
    }

    /// Word times for the segments just cut from one window
    /// (`add_word_timestamps` in timing.py): the window's text tokens are run
    /// through the decoder after the start sequence and `<|notimestamps|>`,
    /// the alignment heads' cross-attention is turned into a token × frame
    /// matrix, and DTW over it gives each token's start (see [`align`]).
    /// Segment starts and ends move to their first and last words, within
    /// the same limits OpenAI applies.
    fn align_words(
        &self,
        window: &WindowWords<'_>,
        segments: &mut [Segment],
        last_speech: &mut f64,
        timings: &mut Timings,
    ) -> Result<Vec<Word>> {
        let started = Instant::now();
        let eot = self.specials.eot;
        let per_segment: Vec<Vec<u32>> = segments
            .iter()
            .map(|s| s.tokens.iter().copied().filter(|&t| t < eot).collect())
            .collect();
        let text: Vec<u32> = per_segment.iter().flatten().copied().collect();
        let mut tokens = window.sot_sequence.to_vec();
        tokens.push(self.specials.no_timestamps);
        let skip = window.sot_sequence.len();
        tokens.extend(&text);
        tokens.push(eot);
        if text.is_empty() || tokens.len() > self.config.max_target_positions {
            return Ok(Vec::new());
        }
        let (features, text_tokens) = (window.features.clone(), tokens.clone());
        let scores = self.model.run(move |w| {
            let mut cache = w.new_cache(&features)?;
            Ok(w.decode_with_cross_scores(&text_tokens, &mut cache)?.1)
        })?;
        timings.decoded_tokens += tokens.len();
        // The rows that predict each text token and then end-of-text.
        let rows = text.len() + 1;
        let mut heads = Vec::with_capacity(self.alignment_heads.len());
        let mut positions = 0;
        for &(layer, head) in &self.alignment_heads {
            let Some(layer_scores) = scores.get(layer) else {
                continue;
            };
            let head_scores = layer_scores.i((head, skip..skip + rows, ..))?;
            positions = head_scores.dim(1)?;
            heads.push(
                head_scores
                    .contiguous()?
                    .flatten_all()?
                    .to_dtype(DType::F32)?
                    .to_vec1::<f32>()?,
            );
        }
        let frames_per_position = N_FRAMES / self.config.max_source_positions.max(1);
        let frames = (window.frames / frames_per_position.max(1)).min(positions);
        let matrix = align::alignment_matrix(&heads, rows, positions, frames);
        let cost: Vec<f32> = matrix.iter().map(|&w| -w).collect();
        let path = align::dtw(&cost, rows, frames);

        // Languages written without spaces split into characters, as OpenAI does.
        let spaced = !matches!(window.language, "zh" | "ja" | "th" | "lo" | "my" | "yue");
        let mut with_eot = text;
        with_eot.push(eot);
        let groups = align::split_words(&with_eot, eot, spaced, |ids| {
            self.tokenizer
                .decode(ids, false)
                .map_err(|e| ModelError::Tokenizer(e.to_string()))
        })?;
        let mut alignment = align::word_times(&path, groups);
        let (median, max) = align::duration_limits(&alignment);
        align::trim_at_sentence_ends(&mut alignment, max);
        align::merge_punctuations(&mut alignment);

        let mut spans: Vec<SegmentSpan> = segments
            .iter()
            .zip(&per_segment)
            .map(|(s, text)| SegmentSpan {
                start: s.start,
                end: s.end,
                text_tokens: text.len(),
            })
            .collect();
        let time_offset = (window.seek * HOP_LENGTH) as f64 / SAMPLE_RATE as f64;
        let per_segment_words = align::assign_words(
            &alignment,
            &mut spans,
            time_offset,
            median,
            max,
            last_speech,
        );
        // Keep segments in order and inside the audio, and every word
        // inside its segment and after the word before it.
        let mut floor = window.previous_end;
        let mut words = Vec::new();
        for ((segment, span), mut seg_words) in
            segments.iter_mut().zip(spans).zip(per_segment_words)
        {
            segment.start = span.start.clamp(floor, window.duration.max(floor));
            segment.end = span
                .end
                .clamp(segment.start, window.duration.max(segment.start));
            let mut word_floor = segment.start;
            for word in &mut seg_words {
                word.start = word.start.clamp(word_floor, segment.end);
                word.end = word.end.clamp(word.start, segment.end);
                word_floor = word.end;
            }
            floor = segment.end;
            words.extend(seg_words);
        }
        timings.align_s += started.elapsed().as_secs_f64();
        Ok(words)
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

/// One window's inputs to word alignment.
struct WindowWords<'a> {
    features: &'a Tensor,
    /// Start of transcript, language and task: what precedes the text.
    sot_sequence: &'a [u32],
    language: &'a str,
    /// Mel frame where the window starts, and its frames of real audio.
    seek: usize,
    frames: usize,
    /// End of the segment before the window's first (0 at the start).
    previous_end: f64,
    /// Seconds of audio.
    duration: f64,
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
