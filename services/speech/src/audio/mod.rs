//! Audio in: any file a client uploads → mono 16 kHz `f32` samples for
//! Whisper, with the limits enforced *while* decoding.
//!
//! Symphonia probes the container (WAV, FLAC, MP3, OGG/Vorbis, M4A/AAC,
//! MKV, AIFF, CAF) and decodes its first audio track; every packet is mixed
//! down to mono and pushed through [`resample::To16k`] at once, so only the
//! 16 kHz result grows. A file that claims (in its header) or turns out (while
//! decoding) to be longer than the limit, or to hold more raw samples than
//! allowed, stops early: a decompression bomb costs at most the limit's worth
//! of work. One whose data ends well before what its header declares (cut
//! off, or lying) is refused once its real end is reached.
//!
//! [`decode`] is CPU work: call it on a blocking thread, never on the
//! async runtime.

pub mod resample;

use std::io::Cursor;

use bytes::Bytes;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub use resample::TARGET_RATE;

/// What a decode may cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Longest audio accepted, in seconds.
    pub max_seconds: f64,
    /// Most raw samples (all channels, source rate) decoded before giving
    /// up: bounds the CPU a many-channel, high-rate file can take even below
    /// the duration limit.
    pub max_decoded_samples: u64,
}

/// Why a file could not be turned into samples; each maps to one status.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the uploaded file is empty")]
    Empty,
    #[error("unrecognised audio format{hint}: send WAV, FLAC, MP3, OGG/Vorbis or M4A/AAC")]
    UnknownFormat { hint: String },
    #[error("unsupported audio codec in this file: {0}")]
    UnsupportedCodec(String),
    #[error("the file holds no audio track")]
    NoTrack,
    #[error("the audio could not be decoded (corrupt data): {0}")]
    Corrupt(String),
    #[error(
        "the file ends early: its header declares {declared:.1} s of audio, the data holds {decoded:.1} s"
    )]
    Truncated { declared: f64, decoded: f64 },
    #[error("the file holds no audio samples")]
    NoSamples,
    #[error("the audio is longer than the limit of {limit:.0} s{detail}")]
    TooLong { limit: f64, detail: String },
    #[error("the audio decodes to more than {limit} samples")]
    TooManySamples { limit: u64 },
    #[error("the sample rate changes inside the file ({from} Hz to {to} Hz)")]
    RateChanged { from: u32, to: u32 },
    #[error("audio with a sample rate of {0} Hz is not supported")]
    BadRate(u32),
    #[error(transparent)]
    Resample(#[from] resample::ResampleError),
}

/// Decoded audio, ready for Whisper.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Mono samples at 16 kHz in [-1, 1].
    pub samples: Vec<f32>,
    /// The file's own rate and channel count, for logs.
    pub source_rate: u32,
    pub source_channels: usize,
}

impl Decoded {
    /// Seconds of audio.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(TARGET_RATE)
    }
}

/// Packets in a row that may fail to decode before the file counts as
/// corrupt (a damaged MP3 frame or two is survivable; garbage is not).
const MAX_BAD_PACKETS_IN_A_ROW: usize = 16;

/// Data shorter than this share of what the header declares is a
/// truncated (or lying) file. Not 1.0: encoders round frame counts, and
/// MP3/AAC headers estimate them.
const TRUNCATED_BELOW: f64 = 0.9;

/// A file whose container and codec are understood, ready to decode.
struct Opened {
    format: Box<dyn FormatReader>,
    track_id: u32,
    decoder: Box<dyn Decoder>,
    /// The duration the header declares, when it does.
    declared_seconds: Option<f64>,
}

/// Check what can be checked without decoding: the container, the codec
/// and the declared duration against `limits`. Cheap (headers only), so a
/// request path that only queues the work can still refuse an obviously
/// bad file at once; [`decode`] finds the rest. Returns the declared
/// duration in seconds, when the header states one.
pub fn probe(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
) -> Result<Option<f64>, AudioError> {
    Ok(open(bytes, filename, content_type, limits)?.declared_seconds)
}

/// Decode `bytes` (a whole uploaded file) to mono 16 kHz within `limits`.
/// `filename` and `content_type` only steer the format probe.
pub fn decode(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
) -> Result<Decoded, AudioError> {
    let Opened {
        mut format,
        track_id,
        mut decoder,
        declared_seconds,
    } = open(bytes, filename, content_type, limits)?;

    let mut state: Option<(u32, resample::To16k)> = None;
    let mut channels = 0usize;
    let mut mono: Vec<f32> = Vec::new();
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut decoded_samples = 0u64;
    let mut bad_in_a_row = 0usize;
    let mut last_error = String::new();
    let max_output = (limits.max_seconds * f64::from(TARGET_RATE)).ceil() as usize;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            // The normal end of a stream, and also how a cut-off file ends.
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::DecodeError(e)) => {
                bad_in_a_row += 1;
                last_error = e.to_owned();
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    return Err(AudioError::Corrupt(last_error));
                }
                continue;
            }
            Err(e) => return Err(AudioError::Corrupt(e.to_string())),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(e)) => {
                bad_in_a_row += 1;
                last_error = e.to_owned();
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    return Err(AudioError::Corrupt(last_error));
                }
                continue;
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(e) => return Err(AudioError::Corrupt(e.to_string())),
        };
        bad_in_a_row = 0;
        let spec = *buffer.spec();
        let frames = buffer.frames();
        if frames == 0 {
            continue;
        }
        match &state {
            Some((rate, _)) if *rate != spec.rate => {
                return Err(AudioError::RateChanged {
                    from: *rate,
                    to: spec.rate,
                });
            }
            Some(_) => {}
            None => {
                // Below 1 kHz nothing intelligible survives; above 768 kHz
                // no real recording exists and the FFT sizes get silly.
                if !(1_000..=768_000).contains(&spec.rate) {
                    return Err(AudioError::BadRate(spec.rate));
                }
                state = Some((spec.rate, resample::To16k::new(spec.rate)?));
            }
        }
        channels = spec.channels.count().max(1);
        decoded_samples += (frames * channels) as u64;
        if decoded_samples > limits.max_decoded_samples {
            return Err(AudioError::TooManySamples {
                limit: limits.max_decoded_samples,
            });
        }

        // Interleave into a reusable buffer, then average the channels.
        let needed = buffer.capacity() as u64;
        let sample_buffer = match &mut interleaved {
            Some(b) if b.capacity() as u64 >= needed * channels as u64 => b,
            _ => interleaved.insert(SampleBuffer::<f32>::new(needed, spec)),
        };
        sample_buffer.copy_interleaved_ref(buffer);
        let samples = sample_buffer.samples();
        mono.clear();
        mono.extend(samples.chunks_exact(channels).map(|frame| {
            let sum: f32 = frame.iter().sum();
            (sum / channels as f32).clamp(-1.0, 1.0)
        }));
        if let Some((_, resampler)) = state.as_mut() {
            resampler.push(&mono)?;
            if resampler.len() > max_output {
                return Err(AudioError::TooLong {
                    limit: limits.max_seconds,
                    detail: String::new(),
                });
            }
        }
    }

    let Some((rate, resampler)) = state else {
        return Err(if bad_in_a_row > 0 {
            AudioError::Corrupt(last_error)
        } else {
            AudioError::NoSamples
        });
    };
    let samples = resampler.finish()?;
    if samples.is_empty() {
        return Err(AudioError::NoSamples);
    }
    let decoded = samples.len() as f64 / f64::from(TARGET_RATE);
    // Streams written without knowing their length (a WAV from a pipe)
    // declare absurd sizes; only a plausible declaration is held against
    // the data.
    if let Some(declared) = declared_seconds
        && decoded < declared * TRUNCATED_BELOW
    {
        return Err(AudioError::Truncated { declared, decoded });
    }
    Ok(Decoded {
        samples,
        source_rate: rate,
        source_channels: channels,
    })
}

/// Probe the container, find the audio track, make its decoder and check
/// the declared duration.
fn open(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
) -> Result<Opened, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    let mut hint = Hint::new();
    if let Some(ext) = filename
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
    {
        hint.with_extension(&ext);
    }
    if let Some(mime) = content_type {
        hint.mime_type(mime);
    }
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            // Gapless: drop the encoder's delay and padding (MP3's LAME
            // header, AAC's edit lists) so the billed duration is the audio's.
            &FormatOptions {
                enable_gapless: true,
                ..FormatOptions::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymphoniaError::Unsupported(_) | SymphoniaError::IoError(_) => {
                AudioError::UnknownFormat {
                    hint: filename.map(|f| format!(" (`{f}`)")).unwrap_or_default(),
                }
            }
            other => AudioError::Corrupt(other.to_string()),
        })?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(AudioError::NoTrack)?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| match e {
            SymphoniaError::Unsupported(what) => AudioError::UnsupportedCodec(what.to_owned()),
            other => AudioError::Corrupt(other.to_string()),
        })?;

    // What the header claims, checked before any decoding work.
    let declared_seconds = match (params.n_frames, params.sample_rate) {
        (Some(frames), Some(rate)) if rate > 0 => Some(frames as f64 / f64::from(rate)),
        _ => None,
    };
    if let Some(declared) = declared_seconds.filter(|&s| s > limits.max_seconds) {
        return Err(AudioError::TooLong {
            limit: limits.max_seconds,
            detail: format!(" (its header declares {declared:.0} s)"),
        });
    }
    Ok(Opened {
        format,
        track_id,
        decoder,
        declared_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_seconds: 60.0,
        max_decoded_samples: 10_000_000,
    };

    /// A WAV file written by hound: `seconds` of a 440 Hz tone.
    fn wav(rate: u32, channels: u16, bits: u16, float: bool, seconds: f32) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut out = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
        let n = (rate as f32 * seconds) as usize;
        for i in 0..n {
            let v = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5;
            for _ in 0..channels {
                if float {
                    writer.write_sample(v).unwrap();
                } else {
                    let scale = ((1i64 << (bits - 1)) - 1) as f32;
                    writer.write_sample((v * scale) as i32).unwrap();
                }
            }
        }
        writer.finalize().unwrap();
        out.into_inner()
    }

    fn decode_bytes(bytes: Vec<u8>) -> Result<Decoded, AudioError> {
        decode(Bytes::from(bytes), Some("a.wav"), None, LIMITS)
    }

    #[test]
    fn every_pcm_width_and_float_decodes_to_16k_mono() {
        for (bits, float) in [
            (8, false),
            (16, false),
            (24, false),
            (32, false),
            (32, true),
        ] {
            for (rate, channels) in [(16_000, 1), (44_100, 2), (8_000, 2), (48_000, 6)] {
                let d = decode_bytes(wav(rate, channels, bits, float, 1.0)).unwrap();
                assert_eq!(d.samples.len(), 16_000, "{bits} bit {rate} Hz");
                assert_eq!(d.source_channels, channels as usize);
                let peak = d.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
                assert!(
                    (peak - 0.5).abs() < 0.03,
                    "{bits} bit {rate} Hz: peak {peak}"
                );
            }
        }
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        assert!(matches!(decode_bytes(Vec::new()), Err(AudioError::Empty)));
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(matches!(
            decode_bytes(garbage),
            Err(AudioError::UnknownFormat { .. })
        ));
        // Header says 2 s, the body holds about 0.5 s.
        let mut cut = wav(16_000, 1, 16, false, 2.0);
        cut.truncate(44 + 16_000);
        assert!(matches!(
            decode_bytes(cut),
            Err(AudioError::Truncated { .. })
        ));
        // Only a header.
        let mut header = wav(16_000, 1, 16, false, 0.0);
        header.truncate(44);
        assert!(matches!(decode_bytes(header), Err(AudioError::NoSamples)));
    }

    #[test]
    fn limits_stop_decoding_early() {
        let long = wav(8_000, 1, 16, false, 3.0);
        let limits = Limits {
            max_seconds: 2.0,
            max_decoded_samples: u64::MAX,
        };
        let e = decode(Bytes::from(long.clone()), None, None, limits).unwrap_err();
        assert!(matches!(e, AudioError::TooLong { .. }), "{e}");
        let limits = Limits {
            max_seconds: 60.0,
            max_decoded_samples: 10_000,
        };
        let e = decode(Bytes::from(long), None, None, limits).unwrap_err();
        assert!(matches!(e, AudioError::TooManySamples { .. }), "{e}");
    }
}
