//! Log-mel spectrogram, as OpenAI's `whisper/audio.py` computes it
//! (<https://github.com/openai/whisper/blob/main/whisper/audio.py>,
//! `log_mel_spectrogram`): a centred STFT with reflect padding, a periodic
//! Hann window of 400 samples, hop 160, power spectrum, the librosa Slaney
//! mel filterbank (computed here, no binary filter file), `log10` clamped at
//! 1e-10, floored at the maximum minus 8 (i.e. 80 dB of range), then
//! `(x + 4) / 4`.
//!
//! The DFT is done as two matrix products (frames × cos/sin basis, then power
//! × filterbank) so that Candle's gemm does the work: a 400-point FFT is not
//! a power of two, and a plain DFT loop in Rust costs about as much as the
//! tiny encoder itself.

use crate::Result;
use candle_core::{DType, Device, Tensor};

/// Samples per second Whisper expects.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT window length (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP_LENGTH: usize = 160;
/// Samples in one 30 s window (`N_SAMPLES`).
pub const N_SAMPLES: usize = 30 * SAMPLE_RATE;
/// Mel frames in one 30 s window (`N_FRAMES`).
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;

/// Frames processed per matrix product, to bound memory on long audio
/// (a chunk's frame matrix is `CHUNK × 400` floats, 4.8 MB).
const CHUNK_FRAMES: usize = 3000;

/// Hz → mel on the Slaney scale (librosa `hz_to_mel(htk=False)`): linear
/// below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

/// The inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        mel * F_SP
    }
}

/// The mel filterbank `[n_mels][n_fft/2 + 1]`, row-major, as librosa's
/// `filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False,
/// norm="slaney")` computes it — which is what OpenAI saved in
/// `mel_filters.npz`. Triangles whose corners are equally spaced on the
/// Slaney mel scale, each scaled by `2 / bandwidth_in_hz` so that every
/// filter has unit area in Hz.
pub fn mel_filters(sample_rate: usize, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    let nyquist = sample_rate as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..n_freqs)
        .map(|i| i as f64 * sample_rate as f64 / n_fft as f64)
        .collect();
    let (mel_min, mel_max) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_points: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mel_min + (mel_max - mel_min) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut filters = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (lo, centre, hi) = (mel_points[m], mel_points[m + 1], mel_points[m + 2]);
        let norm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let rising = (f - lo) / (centre - lo);
            let falling = (hi - f) / (hi - centre);
            let w = rising.min(falling).max(0.0);
            filters[m * n_freqs + k] = (w * norm) as f32;
        }
    }
    filters
}

/// Precomputed pieces of the spectrogram for one mel size.
#[derive(Debug, Clone)]
pub struct MelExtractor {
    n_mels: usize,
    /// `[N_FFT, 2 * n_freqs]`: Hann-windowed cos columns, then sin columns.
    basis: Tensor,
    /// `[n_freqs, n_mels]`: the filterbank, transposed for `power × filters`.
    filters_t: Tensor,
}

impl MelExtractor {
    /// Build the DFT basis and filterbank for `n_mels` bands (80, or 128 for
    /// large-v3).
    pub fn new(n_mels: usize) -> Result<Self> {
        let n_freqs = N_FFT / 2 + 1;
        let mut basis = vec![0f32; N_FFT * 2 * n_freqs];
        for n in 0..N_FFT {
            // Periodic Hann, as torch.hann_window(N_FFT) gives.
            let window = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos();
            for k in 0..n_freqs {
                // (k * n) mod N_FFT keeps the angle small, so f64 trig stays exact.
                let phase = 2.0 * std::f64::consts::PI * ((k * n) % N_FFT) as f64 / N_FFT as f64;
                basis[n * 2 * n_freqs + k] = (window * phase.cos()) as f32;
                basis[n * 2 * n_freqs + n_freqs + k] = (window * phase.sin()) as f32;
            }
        }
        let basis = Tensor::from_vec(basis, (N_FFT, 2 * n_freqs), &Device::Cpu)?;
        let filters = mel_filters(SAMPLE_RATE, N_FFT, n_mels);
        let filters_t = Tensor::from_vec(filters, (n_mels, n_freqs), &Device::Cpu)?
            .t()?
            .contiguous()?;
        Ok(Self {
            n_mels,
            basis,
            filters_t,
        })
    }

    /// Log-mel spectrogram `[n_mels, n_frames]` of 16 kHz mono samples, on
    /// the CPU. Like OpenAI's `transcribe`, the caller appends 30 s of
    /// silence first so that every window can be cut without padding; the
    /// number of frames is `samples.len() / HOP_LENGTH`.
    pub fn log_mel(&self, samples: &[f32]) -> Result<Tensor> {
        let n_freqs = N_FFT / 2 + 1;
        let half = N_FFT / 2;
        if samples.len() <= half {
            return Err(crate::ModelError::InvalidInput(format!(
                "need more than {half} samples for a spectrogram, got {}",
                samples.len()
            )));
        }
        // torch.stft(center=True) gives 1 + len/hop frames; OpenAI drops the last.
        let n_frames = samples.len() / HOP_LENGTH;
        // Reflect padding by N_FFT/2 on both sides (numpy's "reflect": the
        // edge sample is not repeated).
        let len = samples.len();
        let padded = |i: isize| -> f32 {
            let j = if i < 0 {
                (-i) as usize
            } else if i as usize >= len {
                2 * (len - 1) - i as usize
            } else {
                i as usize
            };
            samples[j]
        };
        let mut mel_chunks = Vec::with_capacity(n_frames.div_ceil(CHUNK_FRAMES));
        let mut start = 0;
        while start < n_frames {
            let count = CHUNK_FRAMES.min(n_frames - start);
            let mut frames = Vec::with_capacity(count * N_FFT);
            for t in start..start + count {
                let origin = (t * HOP_LENGTH) as isize - half as isize;
                frames.extend((0..N_FFT as isize).map(|n| padded(origin + n)));
            }
            let frames = Tensor::from_vec(frames, (count, N_FFT), &Device::Cpu)?;
            let spectrum = frames.matmul(&self.basis)?;
            let re = spectrum.narrow(1, 0, n_freqs)?;
            let im = spectrum.narrow(1, n_freqs, n_freqs)?;
            let power = (re.sqr()? + im.sqr()?)?;
            mel_chunks.push(power.matmul(&self.filters_t)?);
            start += count;
        }
        let mel = Tensor::cat(&mel_chunks, 0)?.t()?.contiguous()?;
        let log = (mel.maximum(1e-10f32)?.log()? * (1.0 / std::f64::consts::LN_10))?;
        let max = log.max_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let floored = log.maximum(max - 8.0)?;
        Ok(((floored + 4.0)? / 4.0)?)
    }

    /// Number of mel bands this extractor produces.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_FREQS: usize = N_FFT / 2 + 1;

    #[test]
    fn slaney_scale_round_trips_and_bends_at_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
    }

    #[test]
    fn filterbank_matches_openai_values_and_shape() {
        let f = mel_filters(16_000, 400, 80);
        assert_eq!(f.len(), 80 * N_FREQS);
        // Values of OpenAI's mel_filters.npz (librosa 0.8, float32) at a few
        // places: the first filter's bin 1 and the tail of the last filter.
        assert!((f[1] - 0.024_862_593).abs() < 1e-7, "{}", f[1]);
        assert_eq!(f[0], 0.0);
        assert!(f.iter().all(|&w| w >= 0.0 && w.is_finite()));
        // The Nyquist bin sits exactly on the last filter's upper corner.
        assert_eq!(f[79 * N_FREQS + 200], 0.0);
    }

    #[test]
    fn filters_are_ordered_contiguous_triangles_of_unit_area() {
        let f = mel_filters(16_000, 400, 80);
        let mut last_peak = 0;
        for m in 0..80 {
            let row = &f[m * N_FREQS..(m + 1) * N_FREQS];
            let nonzero: Vec<usize> = (0..N_FREQS).filter(|&k| row[k] > 0.0).collect();
            assert!(!nonzero.is_empty(), "filter {m} is empty");
            // Non-zero bins are one contiguous run.
            assert_eq!(nonzero.len(), nonzero[nonzero.len() - 1] - nonzero[0] + 1);
            let peak = (0..N_FREQS)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            assert!(
                peak >= last_peak,
                "filter {m} peaks before filter {}",
                m - 1
            );
            last_peak = peak;
            // Slaney normalisation: unit area in Hz. Only the wide upper
            // filters (10+ bins of 40 Hz) are sampled finely enough to check
            // that by summing.
            if m >= 60 {
                let area: f32 = row.iter().sum::<f32>() * 40.0;
                assert!((area - 1.0).abs() < 0.05, "filter {m} area {area}");
            }
        }
    }

    #[test]
    fn a_tone_lights_the_band_around_its_frequency() {
        let ex = MelExtractor::new(80).unwrap();
        let samples: Vec<f32> = (0..SAMPLE_RATE)
            .map(|i| {
                (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin() * 0.5
            })
            .collect();
        let mel = ex.log_mel(&samples).unwrap();
        assert_eq!(mel.dims(), &[80, SAMPLE_RATE / HOP_LENGTH]);
        let column: Vec<f32> = mel
            .narrow(1, 50, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let loudest = (0..80)
            .max_by(|&a, &b| column[a].total_cmp(&column[b]))
            .unwrap();
        // 1 kHz = 15 Slaney mels; band centres are 45.245 / 81 mels apart,
        // so the band centred nearest 1 kHz is band 26 (centre index 27).
        assert!((25..=27).contains(&loudest), "loudest band {loudest}");
        // The loudest value is at the top of the range after (x + 4) / 4.
        let max = mel.max_all().unwrap().to_scalar::<f32>().unwrap();
        let min = mel.min_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(
            (max - min - 2.0).abs() < 1e-4,
            "80 dB range is 2.0 after scaling: {min}..{max}"
        );
    }

    #[test]
    fn silence_and_too_short_input() {
        let ex = MelExtractor::new(80).unwrap();
        let mel = ex.log_mel(&vec![0.0; 1600]).unwrap();
        let v: Vec<f32> = mel.flatten_all().unwrap().to_vec1().unwrap();
        // log10(1e-10) = -10 → (-10 + 4) / 4 = -1.5 everywhere.
        assert!(v.iter().all(|&x| (x + 1.5).abs() < 1e-6));
        assert!(ex.log_mel(&[0.0; 10]).is_err());
    }
}
