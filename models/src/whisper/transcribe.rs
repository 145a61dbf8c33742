//! The long-audio loop (`transcribe.py`): 30 s windows one after another,
//! each decoded ([`super::window`]) and cut into segments, the next window
//! starting where the last complete segment ended; and word timestamps for
//! the segments of each window (`add_word_timestamps` in timing.py).

use std::ops::ControlFlow;
use std::time::Instant;

use candle_core::{DType, IndexOp, Tensor};

use super::align::{self, SegmentSpan, Word};
use super::decode::{self, RawSegment, split_segments};
use super::mel::{HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE};
use super::window::WindowInputs;
use super::{
    Delta, DeltaText, Prompt, Segment, Task, Timings, TranscribeOptions, Transcript, WhisperModel,
    joined_text,
};
use crate::{ModelError, Result};

impl WhisperModel {
    /// [`WhisperModel::transcribe_streaming`] of audio as it is (after any
    /// silence was cut).
    pub(super) fn transcribe_pcm(
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
        // Text-only segments timed by aligning their words, so a format
        // with segment times gets the same decode as one without.
        let sentence_segments = opts.segment_times && !opts.timestamps;
        let align = opts.word_timestamps || sentence_segments;
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
            let window = WindowInputs {
                features: &features,
                prompt: &all_tokens[prompt_reset_since..],
                sot_sequence: &sot_sequence,
                max_new,
                opts,
                seek,
            };
            let result = self.decode_with_fallback(&window, &mut timings)?;
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
            let (mut raw, advance) = split_segments(
                &result.tokens,
                &self.specials,
                time_offset,
                segment_frames,
                frames_per_token,
            );
            if sentence_segments {
                raw = self.sentence_pieces(raw)?;
            }
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
            if align && segments.len() > first_new {
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
                let aligned = self.align_words(
                    &window,
                    &mut segments[first_new..],
                    &mut last_speech,
                    &mut timings,
                )?;
                if opts.word_timestamps {
                    words.extend(aligned);
                }
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

        let text = joined_text(&segments);
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

    /// [`decode::sentence_pieces`] of each text-only segment.
    fn sentence_pieces(&self, raw: Vec<RawSegment>) -> Result<Vec<RawSegment>> {
        let mut pieces = Vec::with_capacity(raw.len());
        for piece in raw {
            let texts = piece
                .tokens
                .iter()
                .map(|&id| {
                    if id >= self.specials.eot {
                        return Ok(String::new());
                    }
                    self.tokenizer
                        .decode(&[id], false)
                        .map_err(|e| ModelError::Tokenizer(e.to_string()))
                })
                .collect::<Result<Vec<String>>>()?;
            pieces.extend(decode::sentence_pieces(&piece, &texts));
        }
        Ok(pieces)
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
