//! The whisper.cpp engine (through whisper-rs, the `whisper-cpp` feature):
//! the same [`TranscribeOptions`] in, the same [`Transcript`] out as the
//! Candle engine ([`crate::whisper::WhisperModel`]), from a ggml model file
//! written here ([`crate::convert::ggml_whisper`]) in f16, q8_0 or q5_0.
//!
//! Why a second engine: ggml has tuned kernels for ARM NEON, Apple Metal,
//! CUDA and Vulkan, and 5- and 8-bit weights that halve the memory; where
//! our own kernel layer is newest it may be the faster one. The benchmark
//! in `loadtest/` says where each wins.
//!
//! What is the same: languages (given or detected, with the detected
//! language's probability), translation, prompts (text or token ids), beam
//! search, the temperature fallback with OpenAI's thresholds, segments with
//! times, token ids, mean log-probability and no-speech probability, word
//! times, voice activity detection (ours, [`crate::whisper::vad`], cut
//! before either engine), and text-only decoding of short audio. What
//! differs, because whisper.cpp decides it inside `whisper_full`:
//! - the fallback's thresholds are whisper.cpp's: a window falls back on
//!   token entropy, not on zlib's compression ratio (a threshold given in
//!   [`TranscribeOptions::compression_ratio_threshold`] is used as that
//!   entropy threshold, both 2.4 by default), and a segment's
//!   `temperature` is the first one tried: whisper.cpp does not report the
//!   temperature a window was finally decoded at;
//! - sampling above temperature 0 uses whisper.cpp's own generator, so
//!   [`TranscribeOptions::seed`] has no effect (the same audio and options
//!   still give the same text on one state);
//! - word times are whisper.cpp's token timestamps, not our alignment of
//!   cross-attention;
//! - one window decoded text-only is one segment (the Candle engine cuts
//!   it into sentences timed by alignment);
//! - streamed pieces come as whisper.cpp finishes each segment, without
//!   the Candle engine's empty progress pieces between windows.
//!
//! Streaming and stopping: `whisper_full` runs on a scoped thread while
//! the caller's thread hands the sink each segment that whisper.cpp's
//! segment callback sends over a channel; a sink's [`ControlFlow::Break`]
//! raises a flag whisper.cpp's abort callback reads after each encoder and
//! decoder pass, and the segments decoded so far are the transcript.
//!
//! whisper-rs leaks the C strings it makes for a language and an initial
//! prompt, and the boxes of the callbacks it is given (its `FullParams`
//! has no destructor), so per-call strings or callbacks would grow a
//! server's memory with every request. The parameters are therefore built
//! once per language and beam count, with their callbacks, and cloned;
//! prompts go in as token ids; and the callbacks reach the running call
//! through [`DecodeHooks`], not through what they capture. The abort
//! callback is a plain function reading a thread-local flag: whisper-rs
//! 0.16's `set_abort_callback_safe` reads its box as the closure's own
//! type, which is only sound for a closure that captures nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, mpsc};
use std::time::Instant;

use whisper_rs::{
    FullParams, SamplingStrategy, SegmentCallbackData, WhisperContext, WhisperContextParameters,
    WhisperState,
};

use crate::convert::ggml_whisper::{self, GgmlHeader, GgmlType};
use crate::whisper::align::Word;
use crate::whisper::{
    Delta, DeltaText, Prompt, Segment, Task, Timings, TranscribeOptions, Transcript,
    around_silence, compression_ratio, joined_text,
};
use crate::{ModelError, Result};

const SAMPLE_RATE: usize = 16_000;
/// Seconds in one of Whisper's windows.
const WINDOW_S: f64 = 30.0;
/// whisper.cpp's times are in hundredths of a second.
const TICK_S: f64 = 0.01;
/// Most prompt tokens: half the decoder's context, as OpenAI's
/// `transcribe.py` keeps (less one for `<|startofprev|>`).
const MAX_PROMPT_TOKENS: usize = 223;
/// Most beams: whisper.cpp's own limit on decoders per state.
const MAX_BEAMS: usize = 8;

/// Whether whisper.cpp was built with a GPU backend (a feature above
/// `whisper-cpp`).
const GPU_BACKEND: bool = cfg!(any(
    feature = "whisper-cpp-cuda",
    feature = "whisper-cpp-metal",
    feature = "whisper-cpp-vulkan"
));

/// How often a sink is asked whether to go on while no segment comes.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// A segment whisper.cpp finished: where it ends (seconds) and its text.
type Piece = (f64, String);

/// Where the callbacks of a clone's parameters send what they see: the
/// running call's channel, if one is listening.
#[derive(Debug, Default)]
struct DecodeHooks {
    pieces: Mutex<Option<mpsc::Sender<Piece>>>,
}

impl DecodeHooks {
    fn listen(&self, sender: Option<mpsc::Sender<Piece>>) {
        // A sender and nothing else: a panic holding it leaves nothing
        // half-done.
        *self.pieces.lock().unwrap_or_else(|p| p.into_inner()) = sender;
    }

    fn segment(&self, data: SegmentCallbackData) {
        let pieces = self.pieces.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = pieces.as_ref() {
            // A receiver gone is a caller that stopped listening.
            let _ = sender.send((data.end_timestamp as f64 * TICK_S, data.text));
        }
    }
}

thread_local! {
    /// The stop flag of the call decoding on this thread, read by
    /// [`abort_requested`] (whisper.cpp calls it on the thread that runs
    /// `whisper_full`, after each encoder and decoder pass).
    static STOP: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// whisper.cpp's abort callback: whether this thread's call was stopped.
fn abort_requested() -> bool {
    STOP.with(|stop| {
        stop.borrow()
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    })
}

/// `flag` as this thread's stop flag while the guard lives.
struct StopOnThisThread;

impl StopOnThisThread {
    fn install(flag: Arc<AtomicBool>) -> Self {
        STOP.with(|stop| *stop.borrow_mut() = Some(flag));
        StopOnThisThread
    }
}

impl Drop for StopOnThisThread {
    fn drop(&mut self) {
        STOP.with(|stop| *stop.borrow_mut() = None);
    }
}

/// A loaded ggml Whisper model with the state one transcription at a time
/// uses (its buffers are reused from call to call). Clones share the
/// weights and each makes its own state on first use: one clone per
/// concurrent session.
pub struct WhisperCppModel {
    context: Arc<WhisperContext>,
    state: Option<WhisperState>,
    header: GgmlHeader,
    path: PathBuf,
    threads: usize,
    /// The GPU it runs on, if any.
    gpu: Option<u32>,
    /// Parameters built once per language code and beam count, see the
    /// module docs. Not shared between clones: their callbacks send to
    /// this clone's [`DecodeHooks`].
    params: HashMap<(&'static str, usize), FullParams<'static, 'static>>,
    hooks: Arc<DecodeHooks>,
    languages: Vec<&'static str>,
    /// The model's name in metrics ([`Self::named`]).
    metrics_name: String,
}

impl Clone for WhisperCppModel {
    fn clone(&self) -> Self {
        Self {
            context: self.context.clone(),
            state: None,
            header: self.header,
            path: self.path.clone(),
            threads: self.threads,
            gpu: self.gpu,
            params: HashMap::new(),
            hooks: Arc::default(),
            languages: self.languages.clone(),
            metrics_name: self.metrics_name.clone(),
        }
    }
}

impl std::fmt::Debug for WhisperCppModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperCppModel")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// whisper.cpp's and ggml's log lines go to `tracing` (whisper-rs's
/// `tracing_backend`), not to stderr, installed once per process.
fn route_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

impl WhisperCppModel {
    /// Load `dir`'s ggml file in `weights`' type ([`GgmlType::file_name`]),
    /// checked first ([`ggml_whisper::inspect`]), to run on `threads`
    /// threads of whisper.cpp's own.
    pub fn load(dir: &Path, weights: GgmlType, threads: usize) -> Result<Self> {
        Self::load_on(dir, weights, threads, None)
    }

    /// [`Self::load`] on GPU `gpu` of whisper.cpp's GPU backend (a
    /// `whisper-cpp-cuda`, `-metal` or `-vulkan` build; `None`: the CPU).
    pub fn load_on(
        dir: &Path,
        weights: GgmlType,
        threads: usize,
        gpu: Option<u32>,
    ) -> Result<Self> {
        route_logs();
        if gpu.is_some() && !GPU_BACKEND {
            return Err(ModelError::InvalidInput(
                "this build's whisper.cpp has no GPU backend: build with the feature \
                 whisper-cpp-cuda, whisper-cpp-metal or whisper-cpp-vulkan"
                    .into(),
            ));
        }
        let path = dir.join(weights.file_name());
        if !path.is_file() {
            return Err(ModelError::MissingFile {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                file: weights.file_name(),
                dir: dir.to_path_buf(),
            });
        }
        let header = ggml_whisper::inspect(&path)?;
        if header.weights != weights {
            return Err(ModelError::format(
                path.display().to_string(),
                format!(
                    "holds {} weights, not {}",
                    header.weights.as_str(),
                    weights.as_str()
                ),
            ));
        }
        let mut context_params = WhisperContextParameters::default();
        context_params.use_gpu(gpu.is_some());
        if let Some(gpu) = gpu {
            let index = i32::try_from(gpu)
                .map_err(|_| ModelError::InvalidInput(format!("no GPU {gpu}")))?;
            context_params.gpu_device(index);
        }
        let refused = |e: whisper_rs::WhisperError| {
            ModelError::WhisperCpp(format!("could not load {}: {e}", path.display()))
        };
        let context = WhisperContext::new_with_params(&path, context_params).map_err(refused)?;
        // Made now so a model that loads can also run.
        let state = context.create_state().map_err(refused)?;
        let languages = if header.is_multilingual() {
            // The language tokens of this vocabulary (whisper.cpp's
            // `num_languages`): 99, or 100 from large-v3's on.
            let count = header.vocab.saturating_sub(51_766) as i32;
            (0..count.min(whisper_rs::get_lang_max_id() + 1))
                .filter_map(whisper_rs::get_lang_str)
                .collect()
        } else {
            vec!["en"]
        };
        Ok(Self {
            context: Arc::new(context),
            state: Some(state),
            header,
            path,
            threads: threads.max(1),
            gpu,
            params: HashMap::new(),
            hooks: Arc::default(),
            languages,
            metrics_name: "whisper".into(),
        })
    }

    /// Name the model in its metrics.
    pub fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.metrics_name);
        self
    }

    /// The GPU it runs on (`None`: the CPU).
    pub fn gpu(&self) -> Option<u32> {
        self.gpu
    }

    /// The file's hyper-parameters.
    pub fn header(&self) -> &GgmlHeader {
        &self.header
    }

    /// Whether the model speaks more than English.
    pub fn is_multilingual(&self) -> bool {
        self.header.is_multilingual()
    }

    /// The language codes it knows.
    pub fn languages(&self) -> &[&'static str] {
        &self.languages
    }

    /// Transcribe (or translate) 16 kHz mono samples in [-1, 1].
    pub fn transcribe(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
    ) -> Result<Transcript> {
        self.transcribe_streaming(pcm_16k_mono, opts, &mut |_| ControlFlow::Continue(()))
    }

    /// [`Self::transcribe`], handing `sink` the text of each segment as
    /// whisper.cpp finishes it (as
    /// [`crate::whisper::WhisperModel::transcribe_streaming`]'s pieces:
    /// they concatenate to the transcript's text). When `sink` answers
    /// [`ControlFlow::Break`], decoding stops after the encoder or decoder
    /// pass it is in and the transcript decoded so far is returned.
    pub fn transcribe_streaming(
        &mut self,
        pcm_16k_mono: &[f32],
        opts: &TranscribeOptions,
        sink: &mut dyn FnMut(Delta<'_>) -> ControlFlow<()>,
    ) -> Result<Transcript> {
        let started = Instant::now();
        let (sender, pieces) = mpsc::channel::<Piece>();
        let hooks = self.hooks.clone();
        hooks.listen(Some(sender));
        let stop = Arc::new(AtomicBool::new(false));
        let decoded = std::thread::scope(|scope| {
            let decoding = scope.spawn(|| {
                let _stop = StopOnThisThread::install(stop.clone());
                let decoded = around_silence(pcm_16k_mono, opts, |pcm, timings| {
                    self.transcribe_pcm(pcm, opts, timings, &stop)
                });
                // The channel closes with the call: the loop below ends.
                hooks.listen(None);
                decoded
            });
            let mut deltas = DeltaText::default();
            let mut decoded_until = 0.0;
            loop {
                // Between segments, an empty piece every so often: the
                // sink's chance to stop a long stretch without text (as
                // the Candle engine's piece between windows).
                let text = match pieces.recv_timeout(STOP_POLL) {
                    Ok((end, text)) => {
                        decoded_until = end;
                        deltas.next(&text)
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => Some(String::new()),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let Some(text) = text else { continue };
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                let delta = Delta {
                    text: &text,
                    decoded_until,
                };
                if sink(delta).is_break() {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            decoding.join()
        });
        let transcript = match decoded {
            Ok(decoded) => decoded?,
            Err(_) => {
                // Invariant broken inside the decode (a panic): the state
                // may be half-written, so this clone starts afresh.
                self.state = None;
                return Err(ModelError::WhisperCpp(
                    "the decoding thread panicked".into(),
                ));
            }
        };
        crate::metrics::record_realtime_factor(
            &self.metrics_name,
            started.elapsed().as_secs_f64(),
            pcm_16k_mono.len() as f64 / SAMPLE_RATE as f64,
        );
        Ok(transcript)
    }

    /// The language to decode in: the one asked for (a code whisper.cpp
    /// knows), English on an English-only model, or `None` to detect.
    fn language_of(&self, opts: &TranscribeOptions) -> Result<Option<&'static str>> {
        let Some(asked) = opts.language.as_deref() else {
            return Ok((!self.is_multilingual()).then_some("en"));
        };
        self.languages
            .iter()
            .copied()
            .find(|l| *l == asked)
            .map(Some)
            .ok_or_else(|| {
                ModelError::InvalidInput(format!("language `{asked}` is not one this model knows"))
            })
    }

    /// Prompt token ids: text tokenized with a leading space (as the Candle
    /// engine does), ids checked to be text tokens; the last
    /// [`MAX_PROMPT_TOKENS`] kept.
    fn prompt_tokens(&self, prompt: Option<&Prompt>) -> Result<Vec<i32>> {
        let eot = self.context.token_eot();
        let mut tokens = match prompt {
            None => Vec::new(),
            Some(Prompt::Text(text)) => {
                // A C string ends at a NUL; whisper-rs refuses one.
                let text = format!(" {}", text.replace('\0', " "));
                // Room for every token of the text: whisper.cpp writes at
                // most that many, and says how many it needed otherwise.
                self.context
                    .tokenize(&text, text.len() + 1)
                    .map_err(|e| ModelError::InvalidInput(format!("prompt: {e}")))?
            }
            Some(Prompt::Tokens(ids)) => ids
                .iter()
                .map(|&id| {
                    i32::try_from(id)
                        .ok()
                        .filter(|&id| id < eot)
                        .ok_or_else(|| {
                            ModelError::InvalidInput(format!(
                                "prompt token {id} is not a text token"
                            ))
                        })
                })
                .collect::<Result<_>>()?,
        };
        let excess = tokens.len().saturating_sub(MAX_PROMPT_TOKENS);
        tokens.drain(..excess);
        Ok(tokens)
    }

    /// The parameters for `language` and `beams` (greedy below 2), built
    /// once (see the module docs), with this clone's callbacks.
    fn base_params(
        &mut self,
        language: &'static str,
        beams: usize,
    ) -> FullParams<'static, 'static> {
        let hooks = self.hooks.clone();
        self.params
            .entry((language, beams))
            .or_insert_with(|| {
                let strategy = if beams > 1 {
                    SamplingStrategy::BeamSearch {
                        beam_size: beams as i32,
                        patience: -1.0,
                    }
                } else {
                    // One sample per temperature above 0, as the Candle
                    // engine draws.
                    SamplingStrategy::Greedy { best_of: 1 }
                };
                let mut p = FullParams::new(strategy);
                p.set_language(Some(language));
                p.set_print_special(false);
                p.set_print_progress(false);
                p.set_print_realtime(false);
                p.set_print_timestamps(false);
                // whisper.cpp's text as `segments` reads it (lossy), so the
                // pieces concatenate to the transcript's text.
                p.set_segment_callback_safe_lossy(move |data: SegmentCallbackData| {
                    hooks.segment(data);
                });
                // A function item, so nothing is captured (see the module
                // docs).
                p.set_abort_callback_safe(abort_requested);
                p
            })
            .clone()
    }

    fn transcribe_pcm(
        &mut self,
        pcm: &[f32],
        opts: &TranscribeOptions,
        mut timings: Timings,
        stop: &AtomicBool,
    ) -> Result<Transcript> {
        let duration = pcm.len() as f64 / SAMPLE_RATE as f64;
        let language = self.language_of(opts)?;
        if pcm.is_empty() {
            // All silence, cut by VAD (or no audio): nothing to decode, as
            // the Candle engine answers it; whisper.cpp refuses no samples.
            return Ok(Transcript {
                language: language.unwrap_or("en").to_owned(),
                language_probability: None,
                segments: Vec::new(),
                words: Vec::new(),
                text: String::new(),
                duration,
                timings,
            });
        }
        if opts.task == Task::Translate && !self.is_multilingual() {
            return Err(ModelError::InvalidInput(
                "translation needs a multilingual model".into(),
            ));
        }
        let prompt = self.prompt_tokens(opts.prompt.as_ref())?;
        let (language, language_probability) = match language {
            Some(code) => (code, None),
            None => {
                let (code, p) = self.detect_language(pcm)?;
                (code, Some(p))
            }
        };
        let beams = opts.beam_size.unwrap_or(1).clamp(1, MAX_BEAMS);
        let mut params = self.base_params(language, beams);
        params.set_n_threads(self.threads as i32);
        params.set_translate(opts.task == Task::Translate);
        // A whisper.cpp state keeps the text it decoded last as the next
        // call's prompt unless told not to: one request's words would
        // steer (and leak into) the next one's on this session. Within a
        // call, windows still follow the text of the ones before them.
        params.set_no_context(true);
        if !opts.condition_on_previous_text && prompt.is_empty() {
            // No history at all; with a prompt, whisper.cpp's history is
            // the prompt's only way in, so it stays (the one difference).
            params.set_n_max_text_ctx(0);
        }
        // Text-only where the Candle engine decodes text-only: one window
        // without timestamp tokens asked for, whatever the format, so
        // `json` and `verbose_json` carry the words of one decode (the
        // Candle engine then cuts that text into sentences timed by
        // alignment; here it is one segment). Word times need the
        // timestamp tokens: whisper.cpp's token times come from them.
        let text_only = !opts.timestamps && !opts.word_timestamps && duration <= WINDOW_S;
        params.set_no_timestamps(text_only);
        params.set_token_timestamps(opts.word_timestamps);
        params.set_suppress_nst(true);
        let temperatures = &opts.temperatures;
        params.set_temperature(temperatures.first().copied().unwrap_or(0.0));
        params.set_temperature_inc(match temperatures.as_slice() {
            [first, second, ..] => second - first,
            _ => 0.0,
        });
        params.set_logprob_thold(opts.logprob_threshold.unwrap_or(f32::NEG_INFINITY));
        params.set_no_speech_thold(opts.no_speech_threshold.unwrap_or(f32::INFINITY));
        params.set_entropy_thold(
            opts.compression_ratio_threshold
                .map_or(f32::INFINITY, |t| t as f32),
        );
        params.set_tokens(&prompt);

        let started = Instant::now();
        let decoded = self.state()?.full(params, pcm);
        // Stopped: whisper.cpp answers with an error, and the segments it
        // finished before are the transcript so far.
        if !stop.load(Ordering::Relaxed) {
            decoded.map_err(|e| ModelError::WhisperCpp(format!("decoding failed: {e}")))?;
        }
        timings.decode_s = started.elapsed().as_secs_f64();
        timings.windows = (duration / WINDOW_S).ceil().max(1.0) as usize;
        let (segments, words) = self.segments(opts, duration)?;
        timings.decoded_tokens = segments.iter().map(|s| s.tokens.len()).sum();
        let text = joined_text(&segments);
        Ok(Transcript {
            language: language.to_owned(),
            language_probability,
            segments,
            words,
            text,
            duration,
            timings,
        })
    }

    /// This clone's state, made on first use.
    fn state(&mut self) -> Result<&mut WhisperState> {
        if self.state.is_none() {
            let state = self
                .context
                .create_state()
                .map_err(|e| ModelError::WhisperCpp(format!("could not make a state: {e}")))?;
            self.state = Some(state);
        }
        self.state
            .as_mut()
            .ok_or_else(|| ModelError::WhisperCpp("no state".into()))
    }

    /// The likeliest language of the first window and its probability.
    fn detect_language(&mut self, pcm: &[f32]) -> Result<(&'static str, f32)> {
        let failed = |e: whisper_rs::WhisperError| {
            ModelError::WhisperCpp(format!("language detection failed: {e}"))
        };
        let threads = self.threads;
        let state = self.state()?;
        state.pcm_to_mel(pcm, threads).map_err(failed)?;
        let (id, probabilities) = state.lang_detect(0, threads).map_err(failed)?;
        let p = usize::try_from(id)
            .ok()
            .and_then(|i| probabilities.get(i).copied())
            .unwrap_or(0.0);
        let code = whisper_rs::get_lang_str(id).ok_or_else(|| {
            ModelError::WhisperCpp(format!("detected an unknown language id {id}"))
        })?;
        Ok((code, p))
    }

    /// The decoded segments as ours, and their words when asked for.
    fn segments(
        &self,
        opts: &TranscribeOptions,
        duration: f64,
    ) -> Result<(Vec<Segment>, Vec<Word>)> {
        let eot = self.context.token_eot();
        let first_time = self.context.token_beg();
        let Some(state) = &self.state else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut segments = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        for (id, segment) in state.as_iter().enumerate() {
            let text = segment
                .to_str_lossy()
                .map_err(|e| ModelError::InvalidInput(format!("whisper.cpp's text: {e}")))?
                .into_owned();
            let start = (segment.start_timestamp() as f64 * TICK_S).clamp(0.0, duration);
            let end = (segment.end_timestamp() as f64 * TICK_S).clamp(start, duration);
            let (mut tokens, mut logprob_sum, mut sampled) = (Vec::new(), 0f64, 0usize);
            // Words never span segments.
            let first_word = words.len();
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                let data = token.token_data();
                // Text and timestamp tokens, as the Candle engine lists
                // them; whisper.cpp's other specials are left out.
                if data.id < eot || data.id >= first_time {
                    tokens.push(data.id as u32);
                }
                if data.id < eot {
                    logprob_sum += f64::from(data.plog);
                    sampled += 1;
                    if opts.word_timestamps {
                        let piece = token.to_str_lossy().unwrap_or_default().into_owned();
                        let (t0, t1) = (data.t0 as f64 * TICK_S, data.t1 as f64 * TICK_S);
                        let (t0, t1) = (t0.clamp(start, end), t1.clamp(start, end));
                        let words_len = words.len();
                        match words.last_mut() {
                            Some(word) if !piece.starts_with(' ') && words_len > first_word => {
                                word.word.push_str(&piece);
                                word.end = t1.max(word.start);
                            }
                            _ if piece.trim().is_empty() => {}
                            _ => words.push(Word {
                                word: piece,
                                start: t0,
                                end: t1.max(t0),
                            }),
                        }
                    }
                }
            }
            segments.push(Segment {
                id,
                // whisper.cpp does not say where its window started: the
                // 30 s window the segment starts in, in mel frames.
                seek: ((start / WINDOW_S).floor() * WINDOW_S / TICK_S) as usize,
                start,
                end: end.max((start + TICK_S).min(duration)),
                avg_logprob: if sampled > 0 {
                    logprob_sum / sampled as f64
                } else {
                    0.0
                },
                no_speech_prob: segment.no_speech_probability(),
                compression_ratio: compression_ratio(&text)?,
                temperature: opts.temperatures.first().copied().unwrap_or(0.0),
                tokens,
                text,
            });
        }
        Ok((segments, words))
    }
}
