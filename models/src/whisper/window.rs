//! One 30 s window: encoding it, detecting its language, and decoding it
//! (`decoding.py`'s `DecodingTask`) greedily or by beam search, again at
//! the next temperature when the result looks wrong (`decode_with_fallback`,
//! as `transcribe.py` does).

use std::time::Instant;

use candle_core::{IndexOp, Tensor};

use super::decode::{
    LogitFilter, SplitMix64, WindowResult, argmax, log_probability, log_softmax, sample,
};
use super::mel::N_FRAMES;
use super::model::KvCache;
use super::{Timings, TranscribeOptions, WhisperModel, compression_ratio};
use crate::{ModelError, Result};

/// What decoding one window starts from.
pub(super) struct WindowInputs<'a> {
    /// The window's encoded audio.
    pub features: &'a Tensor,
    /// Text tokens of the windows before (the prompt), most recent last.
    pub prompt: &'a [u32],
    /// `<|startoftranscript|>` and the language and task tokens.
    pub sot_sequence: &'a [u32],
    /// Most tokens to sample.
    pub max_new: usize,
    pub opts: &'a TranscribeOptions,
    /// The window's first mel frame: it seeds the window's sampling.
    pub seek: usize,
}

impl WhisperModel {
    /// Encode the 30 s window starting at mel frame `seek`.
    pub(super) fn encode_window(
        &self,
        mel: &Tensor,
        seek: usize,
        timings: &mut Timings,
    ) -> Result<Tensor> {
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
    pub(super) fn detect_language(
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
    pub(super) fn decode_with_fallback(
        &self,
        window: &WindowInputs<'_>,
        timings: &mut Timings,
    ) -> Result<WindowResult> {
        let opts = window.opts;
        let ladder: &[f32] = if opts.temperatures.is_empty() {
            &[0.0]
        } else {
            &opts.temperatures
        };
        let mut attempt = 0;
        loop {
            let temperature = ladder[attempt];
            let seed = opts.seed
                ^ (window.seek as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (attempt as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            let mut rng = SplitMix64::new(seed);
            let mut result = self.decode_window(window, temperature, &mut rng, timings)?;
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
                seek = window.seek,
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
    fn decode_window(
        &self,
        window: &WindowInputs<'_>,
        temperature: f32,
        rng: &mut SplitMix64,
        timings: &mut Timings,
    ) -> Result<WindowResult> {
        let WindowInputs {
            features,
            prompt,
            sot_sequence,
            max_new,
            opts,
            ..
        } = *window;
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

    /// The logit rules of this model's tokens, with or without timestamps.
    fn logit_filter(&self, timestamps: bool) -> LogitFilter<'_> {
        LogitFilter {
            specials: &self.specials,
            suppression: &self.suppression,
            timestamps,
        }
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
        let filter = self.logit_filter(timestamps);
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
        let filter = self.logit_filter(timestamps);
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
}
