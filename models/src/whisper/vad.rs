//! Voice activity detection: find the long silences of a recording so the
//! decoder skips them, and map times in the shortened audio back to the
//! original.
//!
//! Energy-based, tuned never to drop speech rather than to find every
//! pause: 20 ms frames are speech when their level is above a threshold
//! set from the recording itself (a little above its noise floor, and never
//! more than 35 dB under its loud parts); every speech frame keeps
//! [`VadOptions::pad_s`] of audio on both sides (a hangover that keeps soft
//! word onsets and endings); and only quiet stretches longer than
//! [`VadOptions::min_silence_s`] are cut. A recording that is all speech,
//! or has only short pauses, passes through unchanged. The pieces that are
//! kept are joined, as faster-whisper does with its VAD, and segment and
//! word times are mapped back through [`SpeechMap`].

use serde::{Deserialize, Serialize};

/// Samples per analysis frame (20 ms at 16 kHz).
const FRAME: usize = 320;
/// A frame quieter than this (dBFS) is never speech: below the noise of
/// any recording chain, whatever the rest of the file looks like.
const ABSOLUTE_FLOOR_DB: f64 = -70.0;
/// Speech stands this far above the recording's noise floor…
const ABOVE_FLOOR_DB: f64 = 10.0;
/// …but the threshold never climbs higher than this under its loud parts,
/// so in a file with no silence at all the soft syllables still count.
const BELOW_LOUD_DB: f64 = 35.0;

/// How silence is found and cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VadOptions {
    /// Only quiet stretches longer than this (seconds) are cut; shorter
    /// pauses belong to the speech around them.
    pub min_silence_s: f32,
    /// Audio kept on each side of speech (seconds).
    pub pad_s: f32,
}

impl Default for VadOptions {
    fn default() -> Self {
        Self {
            min_silence_s: 2.0,
            pad_s: 0.4,
        }
    }
}

/// A kept piece: `len` samples from `source` in the original audio, at
/// `kept` in the shortened one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    kept: usize,
    source: usize,
    len: usize,
}

/// Where the pieces of the shortened audio came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechMap {
    pieces: Vec<Piece>,
    sample_rate: f64,
}

impl SpeechMap {
    /// Seconds of audio that were cut.
    pub fn removed_seconds(&self, original_samples: usize) -> f64 {
        let kept: usize = self.pieces.iter().map(|p| p.len).sum();
        original_samples.saturating_sub(kept) as f64 / self.sample_rate
    }

    /// The original time of `t` seconds in the shortened audio. A time on
    /// the seam between two pieces is the end of the earlier piece when
    /// `is_end` (a segment or word ending there ended before the cut) and the
    /// start of the later one otherwise.
    pub fn to_source(&self, t: f64, is_end: bool) -> f64 {
        let sample = (t.max(0.0) * self.sample_rate).round() as usize;
        let found = self.pieces.iter().find(|p| {
            if is_end {
                sample <= p.kept + p.len
            } else {
                sample < p.kept + p.len
            }
        });
        let piece = match found.or(self.pieces.last()) {
            Some(p) => p,
            None => return t,
        };
        let offset = sample.saturating_sub(piece.kept).min(piece.len);
        (piece.source + offset) as f64 / self.sample_rate
    }
}

/// Level of each 20 ms frame in dBFS.
fn frame_levels(pcm: &[f32]) -> Vec<f64> {
    pcm.chunks(FRAME)
        .map(|frame| {
            let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            10.0 * (energy / frame.len() as f64 + 1e-12).log10()
        })
        .collect()
}

/// The `q` quantile (0..=1) of `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NEG_INFINITY)
}

/// The speech regions of `pcm` (sample ranges, padded and merged), by the
/// rules in the module docs. Empty when nothing rises above the threshold.
pub fn speech_regions(
    pcm: &[f32],
    sample_rate: u32,
    opts: &VadOptions,
) -> Vec<std::ops::Range<usize>> {
    let levels = frame_levels(pcm);
    if levels.is_empty() {
        return Vec::new();
    }
    let floor = quantile(&levels, 0.1).max(ABSOLUTE_FLOOR_DB);
    let loud = quantile(&levels, 0.95);
    let threshold = (floor + ABOVE_FLOOR_DB)
        .min(loud - BELOW_LOUD_DB)
        .max(ABSOLUTE_FLOOR_DB);
    let frame_s = FRAME as f64 / f64::from(sample_rate);
    let pad = (f64::from(opts.pad_s) / frame_s).round() as usize;
    let min_gap = (f64::from(opts.min_silence_s) / frame_s).round() as usize;

    let mut regions: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, &level) in levels.iter().enumerate() {
        if level <= threshold {
            continue;
        }
        let (start, end) = (i.saturating_sub(pad), (i + 1 + pad).min(levels.len()));
        match regions.last_mut() {
            // Join when the quiet between them is no longer than `min_gap`.
            Some(last) if start <= last.end + min_gap => last.end = last.end.max(end),
            _ => regions.push(start..end),
        }
    }
    // A short quiet lead-in or ending is a pause like any other: kept.
    if let Some(first) = regions.first_mut()
        && first.start <= min_gap
    {
        first.start = 0;
    }
    if let Some(last) = regions.last_mut()
        && levels.len() - last.end <= min_gap
    {
        last.end = levels.len();
    }
    regions
        .into_iter()
        .map(|r| r.start * FRAME..(r.end * FRAME).min(pcm.len()))
        .collect()
}

/// The audio with the silences cut, and the map back; `None` when nothing
/// would be cut (so the caller decodes the audio as it is).
pub fn cut_silence(
    pcm: &[f32],
    sample_rate: u32,
    opts: &VadOptions,
) -> Option<(Vec<f32>, SpeechMap)> {
    let regions = speech_regions(pcm, sample_rate, opts);
    if regions.len() == 1 && regions[0] == (0..pcm.len()) {
        return None;
    }
    let mut kept = Vec::with_capacity(regions.iter().map(|r| r.len()).sum());
    let mut pieces = Vec::with_capacity(regions.len());
    for region in regions {
        pieces.push(Piece {
            kept: kept.len(),
            source: region.start,
            len: region.len(),
        });
        kept.extend_from_slice(&pcm[region]);
    }
    Some((
        kept,
        SpeechMap {
            pieces,
            sample_rate: f64::from(sample_rate),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 16_000;

    /// A 200 Hz tone of `seconds` at amplitude `amp`.
    fn tone(seconds: f64, amp: f32) -> Vec<f32> {
        let n = (seconds * f64::from(SR)) as usize;
        (0..n)
            .map(|i| amp * (i as f32 * 200.0 * std::f32::consts::TAU / SR as f32).sin())
            .collect()
    }

    /// Low deterministic noise (a hiss at about -60 dBFS).
    fn hiss(seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(SR)) as usize;
        let mut state = 1u32;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.0035
            })
            .collect()
    }

    #[test]
    fn all_speech_and_short_pauses_pass_unchanged() {
        let mut pcm = tone(3.0, 0.3);
        pcm.extend(hiss(1.0));
        pcm.extend(tone(2.0, 0.05));
        assert!(cut_silence(&pcm, SR, &VadOptions::default()).is_none());
        assert!(cut_silence(&tone(5.0, 0.01), SR, &VadOptions::default()).is_none());
    }

    #[test]
    fn long_silences_are_cut_and_times_map_back() {
        // 5 s hiss, 2 s speech, 10 s hiss, 1 s quiet speech, 5 s hiss.
        let mut pcm = hiss(5.0);
        pcm.extend(tone(2.0, 0.3));
        pcm.extend(hiss(10.0));
        pcm.extend(tone(1.0, 0.01));
        pcm.extend(hiss(5.0));
        let opts = VadOptions::default();
        let regions = speech_regions(&pcm, SR, &opts);
        let s = |t: f64| (t * f64::from(SR)) as usize;
        assert_eq!(regions.len(), 2, "{regions:?}");
        assert!(regions[0].start <= s(5.0) - s(0.38) && regions[0].end >= s(7.38));
        assert!(regions[1].start <= s(17.0) - s(0.38) && regions[1].end >= s(18.38));
        let (kept, map) = cut_silence(&pcm, SR, &opts).unwrap();
        // 2.8 s + 1.8 s (each with 0.4 s both sides) kept, give or take a frame.
        let kept_s = kept.len() as f64 / f64::from(SR);
        assert!((kept_s - 4.6).abs() < 0.05, "{kept_s}");
        assert!((map.removed_seconds(pcm.len()) - (23.0 - kept_s)).abs() < 1e-6);
        // The first speech starts 0.4 s into the kept audio: at 5 s originally.
        assert!((map.to_source(0.4, false) - 5.0).abs() < 0.03);
        // The seam: the end of the first piece, or the start of the second.
        let seam = regions[0].len() as f64 / f64::from(SR);
        assert!((map.to_source(seam, true) - regions[0].end as f64 / 16e3).abs() < 1e-6);
        assert!((map.to_source(seam, false) - regions[1].start as f64 / 16e3).abs() < 1e-6);
        // The second speech's start, 0.4 s into the second piece.
        assert!((map.to_source(seam + 0.4, false) - 17.0).abs() < 0.03);
    }

    #[test]
    fn digital_silence_has_no_speech() {
        assert!(speech_regions(&vec![0.0; 16_000 * 5], SR, &VadOptions::default()).is_empty());
        let (kept, _) = cut_silence(&vec![0.0; 16_000 * 5], SR, &VadOptions::default()).unwrap();
        assert!(kept.is_empty());
    }
}
