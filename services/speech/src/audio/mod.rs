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
//! Hostile files: the container's parameters (sample rate, channels, bits,
//! packet size, declared length) are checked before a decoder is made, and
//! every call into symphonia runs under `catch_unwind`, so a header the
//! library does not expect (a WAV with a sample rate of 0 panics inside its
//! probe) is a 400 `invalid_audio`, never a 500. `fuzz` (tests) mutates a
//! valid file of every accepted container to keep it so.
//!
//! Memory: every decode takes its audio seconds from the server's
//! [`budget::AudioBudget`] before the samples exist (the declared length
//! up front, the rest in steps while decoding) and the caller keeps the
//! [`budget::Reservation`] until the samples are gone.
//!
//! [`decode`] is CPU work: call it on a blocking thread, never on the
//! async runtime.

pub mod budget;
#[cfg(test)]
mod fuzz;
mod header;
pub mod resample;

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, CodecParameters, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub use budget::{AudioBudget, OverBudget, Reservation};
pub use resample::TARGET_RATE;

/// Lowest sample rate accepted: below 1 kHz nothing intelligible survives
/// (and a rate of 1 Hz makes a few bytes into hours of audio).
pub const MIN_RATE: u32 = 1_000;
/// Highest sample rate accepted: 384 kHz is the most any real converter
/// records; above it only the resampler's work grows.
pub const MAX_RATE: u32 = 384_000;
/// Most channels accepted: third-order ambisonics has 16, a 7.1.4 mix 12.
pub const MAX_CHANNELS: usize = 32;
/// Most samples (frames × channels) one packet may declare: the decoder
/// allocates a buffer of that size up front. FLAC's largest block of 8
/// channels is 0.5 M.
const MAX_PACKET_SAMPLES: u64 = 1 << 21;
/// Most bits per sample any codec uses (64-bit float PCM).
const MAX_BITS: u32 = 64;

/// Seconds a decode reserves ahead of its output when the header does not
/// say (or understates) how long the audio is: each step is one check of
/// the budget.
const RESERVE_STEP_SECONDS: f64 = 60.0;

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
    /// The decoder library failed on the file (it panicked; caught).
    #[error("the audio could not be decoded: the file's header or data is malformed")]
    Malformed,
    #[error("the file's header declares {what} {value}; accepted: {accepted}")]
    BadParameter {
        what: &'static str,
        value: u64,
        accepted: &'static str,
    },
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
    #[error(
        "audio with a sample rate of {0} Hz is not supported (accepted: {MIN_RATE} to {MAX_RATE} Hz)"
    )]
    BadRate(u32),
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
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

/// Check what can be checked without decoding: the container, the codec,
/// its parameters and the declared duration against `limits`. Cheap
/// (headers only), so a request path that only queues the work can still
/// refuse an obviously bad file at once; [`decode`] finds the rest.
/// Returns the declared duration in seconds, when the header states one.
pub fn probe(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
) -> Result<Option<f64>, AudioError> {
    guarded(|| Ok(open(bytes, filename, content_type, limits)?.declared_seconds))
}

/// Decode `bytes` (a whole uploaded file) to mono 16 kHz within `limits`,
/// taking its audio seconds from `reservation` before the samples are made
/// (keep it until they are gone). `filename` and `content_type` only steer
/// the format probe.
pub fn decode(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
    reservation: &mut Reservation,
) -> Result<Decoded, AudioError> {
    guarded(|| decode_unguarded(bytes, filename, content_type, limits, reservation))
}

/// Run `work` (calls into symphonia) so that a panic inside the library
/// becomes [`AudioError::Malformed`] instead of unwinding into the server.
/// Nothing the closure touched is used after a panic but the reservation,
/// whose count is only ever changed by whole, atomic steps.
fn guarded<T>(work: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::warn!(panic = %what, "the audio decoder panicked on an upload; refused as malformed");
        Err(AudioError::Malformed)
    })
}

fn decode_unguarded(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
    reservation: &mut Reservation,
) -> Result<Decoded, AudioError> {
    let Opened {
        mut format,
        track_id,
        mut decoder,
        declared_seconds,
    } = open(bytes, filename, content_type, limits)?;

    // The declared length is taken before any sample exists; a file that
    // declares none (or less than it holds) takes more in steps below.
    let max_output = (limits.max_seconds * f64::from(TARGET_RATE)).ceil() as usize;
    reservation.grow_to(declared_seconds.unwrap_or(RESERVE_STEP_SECONDS))?;
    let mut reserved_output = reserved_samples(reservation);

    let mut state: Option<(u32, resample::To16k)> = None;
    let mut channels = 0usize;
    let mut mono: Vec<f32> = Vec::new();
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut decoded_samples = 0u64;
    let mut bad_in_a_row = 0usize;
    let mut last_error = String::new();
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
                // Codecs that learn the rate from their packets (no header
                // rate to check in `open`).
                check_rate(spec.rate)?;
                let mut resampler = resample::To16k::new(spec.rate)?;
                // Room for the declared length (within the limit, which
                // `open` checked) up front: no copies while the output grows.
                if let Some(declared) = declared_seconds {
                    let room = (declared + 1.0) * f64::from(TARGET_RATE);
                    resampler.reserve((room as usize).min(max_output));
                }
                state = Some((spec.rate, resampler));
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
            // Float PCM can hold NaN, which `clamp` keeps and which the
            // resampler's FFT would spread over a whole chunk (or panic on).
            let mean = sum / channels as f32;
            if mean.is_nan() {
                0.0
            } else {
                mean.clamp(-1.0, 1.0)
            }
        }));
        if let Some((_, resampler)) = state.as_mut() {
            resampler.push(&mono)?;
            let produced = resampler.len();
            if produced > max_output {
                return Err(AudioError::TooLong {
                    limit: limits.max_seconds,
                    detail: String::new(),
                });
            }
            if produced > reserved_output {
                let seconds = produced as f64 / f64::from(TARGET_RATE);
                reservation.grow_to(seconds + RESERVE_STEP_SECONDS)?;
                reserved_output = reserved_samples(reservation);
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
    let mut samples = resampler.finish()?;
    // The resampler's low-pass rings past full scale at hard edges (a
    // clipped recording, a square wave): back into [-1, 1], which leaves
    // every sample of ordinary audio as it is.
    for sample in &mut samples {
        *sample = sample.clamp(-1.0, 1.0);
    }
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
    // Keep what the samples need, give back the step reserved ahead.
    reservation.shrink_to(decoded);
    Ok(Decoded {
        samples,
        source_rate: rate,
        source_channels: channels,
    })
}

/// 16 kHz samples `reservation` covers (no limit once it cannot be refused).
fn reserved_samples(reservation: &Reservation) -> usize {
    if reservation.is_unbounded() {
        usize::MAX
    } else {
        reservation.seconds() as usize * TARGET_RATE as usize
    }
}

fn check_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::BadRate(rate))
    }
}

/// The track's parameters as the container states them, checked before a
/// decoder is made from them: a decoder sizes its buffers from these.
fn check_params(params: &CodecParameters) -> Result<(), AudioError> {
    if let Some(rate) = params.sample_rate {
        check_rate(rate)?;
    }
    let channels = params.channels.map(|c| c.count());
    if let Some(count) = channels
        && !(1..=MAX_CHANNELS).contains(&count)
    {
        return Err(AudioError::BadParameter {
            what: "a channel count of",
            value: count as u64,
            accepted: "1 to 32",
        });
    }
    for bits in [params.bits_per_sample, params.bits_per_coded_sample]
        .into_iter()
        .flatten()
    {
        if !(1..=MAX_BITS).contains(&bits) {
            return Err(AudioError::BadParameter {
                what: "bits per sample of",
                value: u64::from(bits),
                accepted: "1 to 64",
            });
        }
    }
    if let Some(frames) = params.max_frames_per_packet {
        let samples = frames.saturating_mul(channels.unwrap_or(1).max(1) as u64);
        if frames == 0 || samples > MAX_PACKET_SAMPLES {
            return Err(AudioError::BadParameter {
                what: "packets of",
                value: frames,
                accepted: "packets of up to 2M samples over all channels",
            });
        }
    }
    Ok(())
}

/// Probe the container, find the audio track, check its parameters, make
/// its decoder and check the declared duration.
fn open(
    bytes: Bytes,
    filename: Option<&str>,
    content_type: Option<&str>,
    limits: Limits,
) -> Result<Opened, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    // What symphonia's probe would trip over (or panic on) in the headers
    // we can read ourselves.
    header::check(&bytes)?;
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
    check_params(&params)?;
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
        decode(
            Bytes::from(bytes),
            Some("a.wav"),
            None,
            LIMITS,
            &mut Reservation::unlimited(),
        )
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
        let e = decode(
            Bytes::from(long.clone()),
            None,
            None,
            limits,
            &mut Reservation::unlimited(),
        )
        .unwrap_err();
        assert!(matches!(e, AudioError::TooLong { .. }), "{e}");
        let limits = Limits {
            max_seconds: 60.0,
            max_decoded_samples: 10_000,
        };
        let e = decode(
            Bytes::from(long),
            None,
            None,
            limits,
            &mut Reservation::unlimited(),
        )
        .unwrap_err();
        assert!(matches!(e, AudioError::TooManySamples { .. }), "{e}");
    }

    /// A WAV whose header says `rate` Hz (a valid file otherwise).
    fn wav_claiming_rate(rate: u32) -> Vec<u8> {
        let mut bytes = wav(16_000, 1, 16, false, 1.0);
        assert_eq!(&bytes[24..28], &16_000u32.to_le_bytes());
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        bytes
    }

    fn probe_bytes(bytes: Vec<u8>) -> Result<Option<f64>, AudioError> {
        probe(Bytes::from(bytes), Some("a.wav"), None, LIMITS)
    }

    #[test]
    fn a_wav_with_a_sample_rate_of_zero_is_refused_not_a_panic() {
        // symphonia's WAV reader panics on it inside the probe
        // ("TimeBase cannot have 0 numerator or denominator").
        let zero = wav_claiming_rate(0);
        assert!(matches!(
            probe_bytes(zero.clone()),
            Err(AudioError::BadRate(0))
        ));
        assert!(matches!(decode_bytes(zero), Err(AudioError::BadRate(0))));
    }

    #[test]
    fn rates_outside_the_accepted_range_fail_the_probe_not_only_the_decode() {
        // The job path only probes at submit: a 1 Hz file must fail there.
        for rate in [1, 999, 384_001, u32::MAX] {
            let e = probe_bytes(wav_claiming_rate(rate)).unwrap_err();
            assert!(
                matches!(e, AudioError::BadRate(r) if r == rate),
                "{rate}: {e}"
            );
        }
        for rate in [MIN_RATE, MAX_RATE] {
            probe_bytes(wav_claiming_rate(rate)).unwrap();
        }
        // The same in an AIFF (an 80-bit float rate, which symphonia's
        // reader takes at 1 Hz).
        let mut aiff = include_bytes!("../../tests/data/audio-seeds/seed.aiff").to_vec();
        let comm = aiff.windows(4).position(|w| w == b"COMM").unwrap();
        // 1 Hz: exponent 16383, mantissa 0x8000...
        aiff[comm + 16..comm + 26].copy_from_slice(&[0x3f, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        let e = probe(Bytes::from(aiff), Some("a.aiff"), None, LIMITS).unwrap_err();
        assert!(matches!(e, AudioError::BadRate(1)), "{e}");
    }

    #[test]
    fn a_panic_in_the_decoder_library_becomes_a_typed_error() {
        let e = guarded::<()>(|| panic!("TimeBase cannot have 0 numerator or denominator"))
            .unwrap_err();
        assert!(matches!(e, AudioError::Malformed));
        let e = guarded::<()>(|| panic!("{}", String::from("an owned message"))).unwrap_err();
        assert!(matches!(e, AudioError::Malformed));
    }

    #[test]
    fn decoding_takes_the_declared_seconds_before_decoding_and_keeps_what_it_holds() {
        let ten = wav(8_000, 1, 16, false, 10.0);
        let budget = AudioBudget::new(30.0);
        let mut other = budget.reservation();
        other.grow_to(25.0).unwrap();
        // 10 s declared, 5 s free: refused before any sample is made.
        let mut r = budget.reservation();
        let e = decode(Bytes::from(ten.clone()), None, None, LIMITS, &mut r).unwrap_err();
        assert!(
            matches!(
                e,
                AudioError::OverBudget(OverBudget {
                    wanted: 10,
                    free: 5,
                    ..
                })
            ),
            "{e}"
        );
        assert_eq!(r.seconds(), 0);
        drop(other);
        let d = decode(Bytes::from(ten), None, None, LIMITS, &mut r).unwrap();
        assert_eq!(d.samples.len(), 160_000);
        assert_eq!(r.seconds(), 10);
        assert_eq!(budget.free_seconds(), 20);
        // A file longer than the whole budget takes all of it and runs alone.
        let forty = wav(8_000, 1, 16, false, 40.0);
        let limits = Limits {
            max_seconds: 60.0,
            ..LIMITS
        };
        let e = decode(
            Bytes::from(forty.clone()),
            None,
            None,
            limits,
            &mut budget.reservation(),
        )
        .unwrap_err();
        assert!(matches!(e, AudioError::OverBudget(_)), "{e}");
        drop(r);
        let mut alone = budget.reservation();
        let d = decode(Bytes::from(forty), None, None, limits, &mut alone).unwrap();
        assert_eq!(d.samples.len(), 640_000);
        assert_eq!(budget.free_seconds(), 0);
    }

    #[test]
    fn a_file_that_does_not_declare_its_length_takes_seconds_in_steps() {
        // 70 s of FLAC at 1 kHz whose STREAMINFO leaves the length unknown.
        let flac = include_bytes!("../../tests/data/audio-seeds/unknown-length-70s.flac");
        let limits = Limits {
            max_seconds: 600.0,
            ..LIMITS
        };
        let run =
            |r: &mut Reservation| decode(Bytes::from_static(flac), Some("a.flac"), None, limits, r);
        // The first step (60 s) fits, the second does not: stopped while
        // decoding, before the output outgrows what it holds.
        let budget = AudioBudget::new(130.0);
        let mut other = budget.reservation();
        other.grow_to(10.0).unwrap();
        let e = run(&mut budget.reservation()).unwrap_err();
        // Asked once the output passed 60 s (FLAC blocks of 4 s at 1 kHz).
        assert!(
            matches!(
                e,
                AudioError::OverBudget(OverBudget {
                    wanted: 121..=125,
                    free: 60,
                    ..
                })
            ),
            "{e}"
        );
        assert_eq!(budget.free_seconds(), 120);
        // With room, it decodes and keeps exactly its length.
        drop(other);
        let mut r = budget.reservation();
        let d = run(&mut r).unwrap();
        assert_eq!(d.samples.len(), 70 * 16_000);
        assert_eq!(r.seconds(), 70);
    }

    #[test]
    fn the_output_is_sized_once_from_the_declared_length() {
        // 30 s at 8 kHz pushed packet by packet: the 16 kHz output never
        // reallocates (a growing Vec would hold up to twice the samples
        // while it copies).
        let bytes = wav(8_000, 2, 16, false, 30.0);
        let d = decode_bytes(bytes).unwrap();
        assert_eq!(d.samples.len(), 480_000);
        assert!(
            d.samples.capacity() <= 480_000 + 16_000,
            "{}",
            d.samples.capacity()
        );
    }
}
