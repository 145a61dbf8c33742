//! Streaming conversion of mono audio at any rate to Whisper's 16 kHz.
//!
//! Samples are pushed as they are decoded, so a long file never sits in
//! memory at its source rate; only the 16 kHz result grows. The work is
//! rubato's synchronous FFT resampler (fixed ratio, windowed anti-aliasing
//! cutoff below the new Nyquist frequency): as good as its sinc resampler and
//! much cheaper, and the ratio of a file never changes.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Whisper's input rate.
pub const TARGET_RATE: u32 = 16_000;

/// Frames fed to the FFT resampler per call: large enough to keep the FFT
/// overhead small, small enough that the pending buffer stays tiny.
const CHUNK: usize = 4096;

/// Why resampling failed (a rate rubato refuses, which the decoder should
/// already have rejected).
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {rate} Hz: {message}")]
    Setup { rate: u32, message: String },
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Turns a stream of mono samples at `rate` into 16 kHz samples.
pub struct To16k {
    inner: Option<Stream>,
    out: Vec<f32>,
}

struct Stream {
    resampler: Fft<f32>,
    /// Input waiting for a whole chunk.
    pending: Vec<f32>,
    /// Output frames still to drop: the resampler's start-up delay.
    to_trim: usize,
    frames_in: u64,
}

impl std::fmt::Debug for To16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("To16k")
            .field("passthrough", &self.inner.is_none())
            .field("out", &self.out.len())
            .finish()
    }
}

impl To16k {
    /// A converter from `rate` Hz; 16 kHz passes through untouched.
    pub fn new(rate: u32) -> Result<Self, ResampleError> {
        let inner = if rate == TARGET_RATE {
            None
        } else {
            let resampler = Fft::<f32>::new(
                rate as usize,
                TARGET_RATE as usize,
                CHUNK,
                1,
                FixedSync::Input,
            )
            .map_err(|e| ResampleError::Setup {
                rate,
                message: e.to_string(),
            })?;
            let to_trim = resampler.output_delay();
            Some(Stream {
                resampler,
                pending: Vec::with_capacity(CHUNK),
                to_trim,
                frames_in: 0,
            })
        };
        Ok(Self {
            inner,
            out: Vec::new(),
        })
    }

    /// Make room for `samples` more output samples at once (the length a
    /// header declares), so that a long output is not copied as it grows.
    pub fn reserve(&mut self, samples: usize) {
        self.out.reserve(samples);
    }

    /// 16 kHz samples produced so far (the resampler lags its input by a
    /// few milliseconds until [`To16k::finish`]).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing has come out yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Feed more input samples.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), ResampleError> {
        let Some(stream) = self.inner.as_mut() else {
            self.out.extend_from_slice(samples);
            return Ok(());
        };
        stream.frames_in += samples.len() as u64;
        let mut rest = samples;
        while !rest.is_empty() {
            let need = stream.resampler.input_frames_next() - stream.pending.len();
            let take = need.min(rest.len());
            stream.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if stream.pending.len() == stream.resampler.input_frames_next() {
                stream.run(None, &mut self.out)?;
                stream.pending.clear();
            }
        }
        Ok(())
    }

    /// Flush the tail and return exactly `ceil(input × 16000 / rate)` samples.
    pub fn finish(mut self) -> Result<Vec<f32>, ResampleError> {
        let Some(mut stream) = self.inner.take() else {
            return Ok(self.out);
        };
        let expected =
            (stream.frames_in as f64 * stream.resampler.resample_ratio()).ceil() as usize;
        // The partial last chunk, then zeros until the delayed output is out.
        let mut partial = stream.pending.len();
        while self.out.len() < expected {
            stream
                .pending
                .resize(stream.resampler.input_frames_next(), 0.0);
            stream.run(Some(partial), &mut self.out)?;
            partial = 0;
        }
        self.out.truncate(expected);
        Ok(self.out)
    }
}

impl Stream {
    fn run(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let frames = self.pending.len();
        let channels = [std::mem::take(&mut self.pending)];
        let input = SequentialSliceOfVecs::new(&channels, 1, frames)
            .map_err(|e| ResampleError::Process(e.to_string()))?;
        let indexing = partial.map(|len| Indexing::new().partial_len(len));
        let result = self.resampler.process(&input, indexing.as_ref());
        let [pending] = channels;
        self.pending = pending;
        let produced = result
            .map_err(|e| ResampleError::Process(e.to_string()))?
            .take_data();
        let skip = self.to_trim.min(produced.len());
        self.to_trim -= skip;
        out.extend_from_slice(&produced[skip..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    fn resample(rate: u32, input: &[f32], push_size: usize) -> Vec<f32> {
        let mut r = To16k::new(rate).unwrap();
        for chunk in input.chunks(push_size) {
            r.push(chunk).unwrap();
        }
        r.finish().unwrap()
    }

    /// Correlation of `signal` with a sine of `hz` at 16 kHz: its amplitude.
    fn amplitude_at(signal: &[f32], hz: f32) -> f32 {
        let (mut re, mut im) = (0f64, 0f64);
        for (i, &s) in signal.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * f64::from(hz) * i as f64 / 16_000.0;
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        (2.0 * (re * re + im * im).sqrt() / signal.len() as f64) as f32
    }

    #[test]
    fn keeps_length_timing_and_level_of_a_tone() {
        for rate in [8_000, 11_025, 22_050, 44_100, 48_000, 96_000] {
            // Pushed in odd sizes, as a decoder hands out packets.
            let out = resample(rate, &sine(rate, 440.0, 2.0), 1153);
            assert_eq!(out.len(), 32_000, "{rate} Hz");
            // Away from the edges, the tone is the same tone, at the same
            // level and in phase: the start-up delay is trimmed. (At ratios
            // like 640/441 rubato leaves a sub-sample shift, ~40 µs, which
            // shows as a difference of up to ~0.07 on this tone and is
            // irrelevant to speech.)
            assert!((amplitude_at(&out[1000..31_000], 440.0) - 0.5).abs() < 0.01);
            let reference = sine(16_000, 440.0, 2.0);
            let worst = out[1000..31_000]
                .iter()
                .zip(&reference[1000..31_000])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 0.1, "{rate} Hz: off by {worst}");
        }
    }

    #[test]
    fn removes_what_16_khz_cannot_hold() {
        // 12 kHz is above the new Nyquist rate (8 kHz): it must not fold
        // back to 4 kHz.
        let out = resample(48_000, &sine(48_000, 12_000.0, 1.0), 4800);
        assert!(amplitude_at(&out, 4_000.0) < 0.005);
        let out = resample(48_000, &sine(48_000, 3_000.0, 1.0), 4800);
        assert!((amplitude_at(&out, 3_000.0) - 0.5).abs() < 0.02);
    }

    #[test]
    fn short_and_empty_inputs() {
        assert!(resample(44_100, &[], 10).is_empty());
        assert_eq!(resample(44_100, &[0.1; 100], 7).len(), 37);
        assert_eq!(resample(16_000, &[0.1; 100], 7).len(), 100);
    }
}
