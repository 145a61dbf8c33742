//! The decoder's fuzz target: valid files of every container we accept
//! (WAV, FLAC, MP3, OGG/Vorbis, M4A/AAC, AIFF, CAF, MKV; made by ffmpeg
//! into `tests/data/audio-seeds/`, and WAV variants written here), mutated
//! (bits flipped, header fields set to edge values, cut, spliced), plus
//! random bytes behind each container's magic. Every case must end, within
//! a bound, in samples or a typed [`AudioError`]: no panic out of
//! [`decode`], no hang, no output beyond the limits, no budget leak.
//!
//! CI runs the same [`CI_CASES`] cases every time (a second or two);
//! `PROPTEST_CASES=3000000` draws that many new ones. Panics that symphonia raised and [`decode`] caught are
//! counted and printed by place (run with `--no-capture` to see them): they
//! are answered 400 `invalid_audio`, but each is worth a look.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use stratus_kit::error::ApiError;

use super::*;

/// Cases per CI run.
const CI_CASES: u32 = 5_000;
/// Longest one case may take (the seeds decode in milliseconds; a mutated
/// header may claim up to the limits below, which bound the work).
const CASE_TIMEOUT: Duration = Duration::from_secs(20);
const LIMITS: Limits = Limits {
    max_seconds: 30.0,
    max_decoded_samples: 4_000_000,
};

/// Seeds: (file name, bytes). The name's extension steers the probe, as a
/// client's filename does.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    macro_rules! seed {
        ($name:literal) => {
            (
                $name,
                include_bytes!(concat!("../../tests/data/audio-seeds/", $name)).to_vec(),
            )
        };
    }
    vec![
        seed!("seed.wav"),
        seed!("seed.flac"),
        seed!("seed.mp3"),
        seed!("seed.ogg"),
        seed!("seed.m4a"),
        seed!("seed.aiff"),
        seed!("seed.caf"),
        seed!("seed.mkv"),
        // A WebM as browsers and ffmpeg write it (Vorbis in Matroska).
        seed!("seed.webm"),
        ("u8-stereo-1k.wav", wav(1_000, 2, 8, false)),
        ("s24-44k.wav", wav(44_100, 1, 24, false)),
        ("f32-stereo-48k.wav", wav(48_000, 2, 32, true)),
    ]
}

/// A WAV of a 0.2 s tone.
fn wav(rate: u32, channels: u16, bits: u16, float: bool) -> Vec<u8> {
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
    for i in 0..rate / 5 {
        let v = (i as f32 * 0.1).sin() * 0.5;
        for _ in 0..channels {
            if float {
                writer.write_sample(v).unwrap();
            } else {
                writer
                    .write_sample((v * ((1i64 << (bits - 1)) - 1) as f32) as i32)
                    .unwrap();
            }
        }
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// The start of each container, for random bodies behind it.
const MAGICS: &[(&str, &[u8])] = &[
    ("x.wav", b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\0\0\0"),
    ("x.flac", b"fLaC\0\0\0\x22"),
    ("x.mp3", b"\xff\xfb\x90\x64"),
    ("x.mp3", b"ID3\x04\0\0\0\0\0\0"),
    ("x.ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0"),
    ("x.m4a", b"\0\0\0\x20ftypM4A \0\0\0\0M4A mp42isom"),
    ("x.aiff", b"FORM\0\0\x10\0AIFFCOMM\0\0\0\x12"),
    ("x.caf", b"caff\0\x01\0\0desc\0\0\0\0\0\0\0\x20"),
    ("x.mkv", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"),
];

/// Values that break size and rate arithmetic.
// A file whose mutation made symphonia ask for more memory than the machine
// has would abort this process, not fail the case: such sizes are checked
// before symphonia sees them (`header`), and a long run is how to find more.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    3,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    u64::MAX,
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Byte {
        at: usize,
        value: u8,
    },
    /// An integer field of `width` bytes set to `value`.
    Field {
        at: usize,
        width: usize,
        value: u64,
        big_endian: bool,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// A copy of `len` bytes from `from` written over `to` (chunks and
    /// frames repeated where they do not belong).
    Splice {
        from: usize,
        to: usize,
        len: usize,
    },
}

/// A position: mostly in the first 256 bytes, where the headers are.
fn position() -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0usize..256, 1 => any::<usize>()]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (position(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (position(), any::<u8>()).prop_map(|(at, value)| Mutation::Byte { at, value }),
        (
            position(),
            prop::sample::select(vec![1usize, 2, 4, 8]),
            prop_oneof![3 => prop::sample::select(EDGES), 1 => any::<u64>()],
            any::<bool>()
        )
            .prop_map(|(at, width, value, big_endian)| Mutation::Field {
                at,
                width,
                value,
                big_endian
            }),
        position().prop_map(|at| Mutation::Truncate { at }),
        (position(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (position(), 1usize..512).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), position(), 1usize..256).prop_map(|(from, to, len)| Mutation::Splice {
            from,
            to,
            len
        }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match mutation {
        Mutation::Flip { at, bit } => bytes[at % len] ^= 1 << bit,
        Mutation::Byte { at, value } => bytes[at % len] = *value,
        Mutation::Field {
            at,
            width,
            value,
            big_endian,
        } => {
            let at = at % len;
            let raw = if *big_endian {
                value.to_be_bytes()[8 - width..].to_vec()
            } else {
                value.to_le_bytes()[..*width].to_vec()
            };
            for (i, b) in raw.into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = b;
                }
            }
        }
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::Insert { at, bytes: more } => {
            let at = at % len;
            bytes.splice(at..at, more.iter().copied());
        }
        Mutation::Remove { at, len: n } => {
            let at = at % len;
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Splice { from, to, len: n } => {
            let (from, to) = (from % len, to % len);
            let n = (*n).min(len - from).min(len - to);
            bytes.copy_within(from..from + n, to);
        }
    }
}

/// One fuzz input: a file name (for the probe's hint) and its bytes.
fn case() -> impl Strategy<Value = (String, Vec<u8>)> {
    let seeds = seeds();
    let mutated = (
        prop::sample::select(seeds),
        prop::collection::vec(mutation(), 1..8),
        any::<bool>(),
    )
        .prop_map(|((name, mut bytes), mutations, hinted)| {
            for m in &mutations {
                apply(&mut bytes, m);
            }
            // Without the extension the probe tries every reader.
            let name = if hinted { name } else { "upload" };
            (name.to_owned(), bytes)
        });
    let random = (
        prop::sample::select(MAGICS),
        prop::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|((name, magic), tail)| {
            let mut bytes = magic.to_vec();
            bytes.extend(tail);
            (name.to_owned(), bytes)
        });
    prop_oneof![6 => mutated, 1 => random]
}

/// Panics symphonia raised (caught by `decode`), by where they happened.
type Caught = Arc<Mutex<BTreeMap<String, usize>>>;

fn record_panics() -> Caught {
    let caught = Caught::default();
    let sink = caught.clone();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let key = format!("{place}: {message}");
        *sink.lock().unwrap().entry(key).or_default() += 1;
    }));
    caught
}

/// Decode one input on its own thread, within [`CASE_TIMEOUT`].
fn decode_bounded(
    name: String,
    bytes: Vec<u8>,
    budget: &AudioBudget,
) -> Result<Result<Decoded, AudioError>, TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let mut reservation = budget.reservation();
    let len = bytes.len();
    std::thread::spawn(move || {
        let bytes = Bytes::from(bytes);
        let probed = probe(bytes.clone(), Some(&name), None, LIMITS);
        let decoded = decode(bytes, Some(&name), None, LIMITS, &mut reservation);
        let held = reservation.seconds();
        // Given back before the answer, so the leak check after the last
        // case never races this thread's drop.
        drop(reservation);
        let _ = tx.send((probed, decoded, held));
    });
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok((probed, decoded, held)) => {
            // What the probe refuses, decoding refuses too (the job path
            // probes at submit and decodes later).
            if probed.is_err() {
                prop_assert!(decoded.is_err(), "probe: {probed:?}, decode: {decoded:?}");
            }
            if let Ok(d) = &decoded {
                prop_assert!(held as f64 >= d.seconds().floor());
            }
            Ok(decoded)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!(
            "decoding a {len}-byte file took over {CASE_TIMEOUT:?}"
        ))),
        // The thread died: a panic escaped `decode`.
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(TestCaseError::fail(format!(
            "decoding a {len}-byte file panicked"
        ))),
    }
}

#[test]
fn the_seeds_decode() {
    for (name, bytes) in seeds() {
        let d = decode(
            Bytes::from(bytes),
            Some(name),
            None,
            LIMITS,
            &mut Reservation::unlimited(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            (0.15..0.4).contains(&d.seconds()),
            "{name}: {}",
            d.seconds()
        );
    }
}

#[test]
fn mutated_files_of_every_container_decode_or_fail_typed_never_panic_or_hang() {
    // CI replays the same cases every run (a fuzz finding must not make an
    // unrelated change's CI fail at random); a longer run by hand,
    // `PROPTEST_CASES=N`, draws new ones.
    let long_run: Option<u32> = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    let cases = long_run.unwrap_or(CI_CASES);
    let caught = record_panics();
    let budget = AudioBudget::new(600.0);
    let outcomes: RefCell<BTreeMap<String, usize>> = RefCell::default();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = if long_run.is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    };
    let started = Instant::now();
    let result = runner.run(&case(), |(name, bytes)| {
        let decoded = decode_bounded(name, bytes, &budget)?;
        let outcome = match decoded {
            Ok(d) => {
                prop_assert!(d.seconds() <= LIMITS.max_seconds + 1.0);
                let peak = d.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
                let nan = d.samples.iter().any(|s| !s.is_finite());
                prop_assert!(!nan && peak <= 1.0, "peak {peak}, non-finite {nan}");
                "decoded".to_owned()
            }
            Err(e) => {
                // Every error maps to a client error in the envelope.
                let status = ApiError::from(crate::SpeechError::Audio(e)).status.as_u16();
                prop_assert!(
                    (400..500).contains(&status),
                    "an audio error answered {status}"
                );
                format!("{status}")
            }
        };
        *outcomes.borrow_mut().entry(outcome).or_default() += 1;
        Ok(())
    });
    let _ = std::panic::take_hook();
    eprintln!(
        "{cases} cases in {:.1} s: {:?}",
        started.elapsed().as_secs_f64(),
        outcomes.borrow()
    );
    for (place, count) in caught.lock().unwrap().iter() {
        eprintln!("caught panic ×{count}: {place}");
    }
    result.unwrap();
    assert_eq!(budget.free_seconds(), budget.total_seconds(), "budget leak");
}
