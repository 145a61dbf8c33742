//! The whisper.cpp engine on the real packaged weights: the ggml file our
//! converter writes from the pulled Whisper folder loads in whisper.cpp and
//! says what the Candle engine says; the word error rate on the LibriVox +
//! cards clips per weight type; language detection, translation, word
//! times and prompts; and files or inputs whisper.cpp must never see.
//! Run with `--no-capture` to see each transcript.
#![cfg(feature = "whisper-cpp")]
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "a failing test should stop with the value it saw, and log its transcripts"
)]

mod common;

use candle_core::Device;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;
use stratus_models::ModelError;
use stratus_models::convert::ggml_whisper::{self, GgmlType};
use stratus_models::whisper::{Prompt, Task, TranscribeOptions, Transcript, WhisperModel};
use stratus_models::whisper_cpp::WhisperCppModel;
use stratus_testkit::{espeak, normalise};

const CLIP: &str = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
const EXPECTED: &str = "he was not an ill disposed young man";
const THREADS: usize = 2;

/// `model`'s pulled folder with its ggml file of `weights` beside a copy
/// of its Hugging Face files, in a temporary folder.
fn with_ggml(model: &str, weights: GgmlType) -> (tempfile::TempDir, PathBuf) {
    let hf = common::model_dir(model);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(weights.file_name());
    let started = std::time::Instant::now();
    ggml_whisper::convert(&hf, &out, weights).unwrap();
    eprintln!(
        "{model} → {} in {:.2} s, {:.1} MB",
        weights.file_name(),
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6
    );
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn load(dir: &Path, weights: GgmlType) -> WhisperCppModel {
    WhisperCppModel::load(dir, weights, THREADS).unwrap()
}

fn clip() -> Vec<f32> {
    stratus_testkit::read_wav_16k(&common::testdata_file(CLIP))
}

/// Segments in order, inside the audio, each with tokens and a mean
/// log-probability; the text is the segments' texts joined.
fn check_segments(t: &Transcript) {
    assert!(!t.segments.is_empty());
    let mut last_end = 0.0;
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.id, i);
        assert!(s.start >= last_end - 0.02 && s.end > s.start, "{s:?}");
        assert!(s.end <= t.duration + 1e-9, "{s:?}");
        assert!(s.avg_logprob < 0.0 && s.avg_logprob > -2.0, "{s:?}");
        assert!(!s.tokens.is_empty(), "{s:?}");
        last_end = s.end;
    }
    let joined: String = t.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(joined.trim(), t.text);
}

#[test]
fn the_ggml_file_written_here_says_what_the_candle_engine_says() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::F16);
    let header = ggml_whisper::inspect(&dir.join(GgmlType::F16.file_name())).unwrap();
    assert_eq!(
        (header.audio_layers, header.audio_width, header.vocab),
        (4, 384, 51_864)
    );
    let mut model = load(&dir, GgmlType::F16);
    let pcm = clip();
    let beam = TranscribeOptions {
        beam_size: Some(5),
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &beam).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&t).unwrap());
    assert_eq!(normalise(&t.text), EXPECTED);
    assert_eq!(t.language, "en");
    assert_eq!(
        t.language_probability, None,
        "English-only: nothing detected"
    );
    check_segments(&t);

    // Greedy, text-only: the words the Candle engine decodes; and the
    // same after other audio on the same model, as on a fresh one (a
    // whisper.cpp state would otherwise prompt each call with the last
    // one's text: the beam search's words above, another request's).
    let greedy = TranscribeOptions::default();
    let ours = model.transcribe(&pcm, &greedy).unwrap();
    let fresh = load(&dir, GgmlType::F16).transcribe(&pcm, &greedy).unwrap();
    assert_eq!(ours.text, fresh.text);
    let cards = stratus_testkit::transcribed_clips("cards");
    let other = stratus_testkit::read_wav_16k(&cards[0].1);
    model.transcribe(&other, &greedy).unwrap();
    assert_eq!(model.transcribe(&pcm, &greedy).unwrap().text, fresh.text);
    let mut candle =
        WhisperModel::load(&common::model_dir("whisper-tiny.en"), &Device::Cpu).unwrap();
    let theirs = candle.transcribe(&pcm, &greedy).unwrap();
    eprintln!("whisper.cpp: {:?}\ncandle: {:?}", ours.text, theirs.text);
    assert_eq!(normalise(&ours.text), normalise(&theirs.text));
    assert_eq!(
        ours.segments.len(),
        1,
        "one window decoded text-only is one segment"
    );
}

#[test]
fn pieces_come_while_decoding_and_a_break_stops_the_decode() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::Q8_0);
    let mut model = load(&dir, GgmlType::Q8_0);
    // The LibriVox clips one after another, three times: several windows
    // of speech.
    let mut pcm = Vec::new();
    for _ in 0..3 {
        for (_, path) in stratus_testkit::transcribed_clips("librivox") {
            pcm.extend(stratus_testkit::read_wav_16k(&path));
            pcm.extend(std::iter::repeat_n(0.0, 8_000));
        }
    }
    let seconds = pcm.len() as f64 / 16_000.0;
    assert!(seconds > 60.0, "{seconds}");
    let opts = TranscribeOptions::default();

    let started = Instant::now();
    let (mut arrivals, mut streamed) = (Vec::new(), String::new());
    let whole = model
        .transcribe_streaming(&pcm, &opts, &mut |delta| {
            if !delta.text.is_empty() {
                arrivals.push(started.elapsed());
                streamed.push_str(delta.text);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    let total = started.elapsed();
    eprintln!(
        "{seconds:.1} s: {} pieces, the first after {:.2} s of {:.2} s",
        arrivals.len(),
        arrivals[0].as_secs_f64(),
        total.as_secs_f64()
    );
    // The pieces are the transcript, and the first came long before the
    // end of the decode.
    assert_eq!(streamed, whole.text);
    assert!(arrivals.len() >= 2, "{arrivals:?}");
    assert!(
        arrivals[0] < total.mul_f64(0.6),
        "{arrivals:?} of {total:?}"
    );

    // A sink that stops at the first piece: the decode ends there, with
    // what it had.
    let started = Instant::now();
    let stopped = model
        .transcribe_streaming(&pcm, &opts, &mut |delta| {
            if delta.text.is_empty() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })
        .unwrap();
    let stopped_after = started.elapsed();
    eprintln!(
        "stopped after {:.2} s with {} of {} segments",
        stopped_after.as_secs_f64(),
        stopped.segments.len(),
        whole.segments.len()
    );
    assert!(!stopped.segments.is_empty());
    assert!(stopped.segments.len() < whole.segments.len());
    assert!(stopped_after < total.mul_f64(0.6), "{stopped_after:?}");
    // The state goes on as before.
    assert_eq!(model.transcribe(&pcm, &opts).unwrap().text, whole.text);
}

/// A GPU asked of a build whose whisper.cpp has no GPU backend is a load
/// error that says how to build one, not a silent run on the CPU.
#[cfg(not(any(
    feature = "whisper-cpp-cuda",
    feature = "whisper-cpp-metal",
    feature = "whisper-cpp-vulkan"
)))]
#[test]
fn a_gpu_needs_a_build_with_a_gpu_backend() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::Q5_0);
    let err = WhisperCppModel::load_on(&dir, GgmlType::Q5_0, THREADS, Some(0)).unwrap_err();
    assert!(
        matches!(&err, ModelError::InvalidInput(m) if m.contains("whisper-cpp-vulkan")),
        "{err}"
    );
    let on_cpu = WhisperCppModel::load_on(&dir, GgmlType::Q5_0, THREADS, None).unwrap();
    assert_eq!(on_cpu.gpu(), None);
}

#[test]
fn every_weight_type_keeps_the_word_error_rate() {
    let mut rates = Vec::new();
    for weights in GgmlType::ALL {
        let (_keep, dir) = with_ggml("whisper-tiny.en", weights);
        let mut model = load(&dir, weights);
        let wer = common::corpus_wer(|pcm| {
            let t = model
                .transcribe(pcm, &TranscribeOptions::default())
                .unwrap();
            check_segments(&t);
            t
        });
        eprintln!(
            "tiny.en on whisper.cpp, {}: WER {:.1}%",
            weights.as_str(),
            100.0 * wer
        );
        rates.push((weights, wer));
    }
    // The Candle engine's gate (`models/tests/whisper.rs`) for the
    // 8- and 16-bit weights; 5-bit weights may cost a little more.
    for (weights, wer) in rates {
        let most = if weights == GgmlType::Q5_0 {
            0.09
        } else {
            0.07
        };
        assert!(wer <= most, "{}: WER {wer}", weights.as_str());
    }
}

#[test]
fn base_detects_the_language_and_translates() {
    let (_keep, dir) = with_ggml("whisper-base", GgmlType::Q8_0);
    let mut model = load(&dir, GgmlType::Q8_0);
    assert!(model.is_multilingual());
    assert!(model.languages().contains(&"de"));
    let t = model
        .transcribe(&clip(), &TranscribeOptions::default())
        .unwrap();
    assert_eq!(t.language, "en");
    let p = t.language_probability.unwrap();
    assert!(p > 0.5 && p <= 1.0, "{p}");
    assert_eq!(normalise(&t.text), EXPECTED);

    // espeak-ng's Spanish (its German is too robotic for base: see
    // `models/tests/whisper.rs`).
    let spanish = espeak(
        "Mi hermano tiene un perro grande. Vivimos cerca del mar.",
        "es",
    );
    let translated = model
        .transcribe(
            &spanish,
            &TranscribeOptions {
                task: Task::Translate,
                ..TranscribeOptions::default()
            },
        )
        .unwrap();
    eprintln!(
        "translated: {:?} ({})",
        translated.text, translated.language
    );
    assert_eq!(translated.language, "es");
    let english = normalise(&translated.text);
    let found = ["brother", "dog", "sea"]
        .iter()
        .filter(|word| english.split_whitespace().any(|w| w.starts_with(*word)))
        .count();
    assert!(found >= 2, "{english}");

    // A language it does not know is the caller's error.
    let err = model
        .transcribe(
            &spanish,
            &TranscribeOptions {
                language: Some("xx\0".into()),
                ..TranscribeOptions::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, ModelError::InvalidInput(_)), "{err}");
}

#[test]
fn word_times_land_inside_their_segments_in_order() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::F16);
    let mut model = load(&dir, GgmlType::F16);
    let t = model
        .transcribe(
            &clip(),
            &TranscribeOptions {
                word_timestamps: true,
                ..TranscribeOptions::default()
            },
        )
        .unwrap();
    check_segments(&t);
    let words: Vec<String> = t.words.iter().map(|w| normalise(&w.word)).collect();
    assert_eq!(words.join(" "), normalise(&t.text), "{:?}", t.words);
    let mut last = 0.0;
    for w in &t.words {
        assert!(w.start >= last - 1e-9 && w.end >= w.start, "{w:?}");
        assert!(w.end <= t.duration + 1e-9, "{w:?}");
        last = w.start;
    }
    // The clip's speech lasts most of it: the words are spread over it.
    let (first, end) = (t.words[0].start, t.words[t.words.len() - 1].end);
    assert!(
        first < 1.0 && end > t.duration * 0.6,
        "{first} .. {end} of {}",
        t.duration
    );
}

#[test]
fn prompts_steer_the_spelling_and_hostile_ones_are_refused() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::Q8_0);
    let mut model = load(&dir, GgmlType::Q8_0);
    let pcm = clip();
    // A NUL ends a C string: it must neither panic nor cut the prompt.
    let nul = TranscribeOptions {
        prompt: Some(Prompt::Text("Sense and Sensibility.\0 Jane Austen.".into())),
        ..TranscribeOptions::default()
    };
    let t = model.transcribe(&pcm, &nul).unwrap();
    assert_eq!(normalise(&t.text), EXPECTED);
    // Token ids beyond the text tokens would index past whisper.cpp's tables.
    for id in [50_256, 60_000, u32::MAX] {
        let bad = TranscribeOptions {
            prompt: Some(Prompt::Tokens(vec![220, id])),
            ..TranscribeOptions::default()
        };
        let err = model.transcribe(&pcm, &bad).unwrap_err();
        assert!(matches!(err, ModelError::InvalidInput(_)), "{id}: {err}");
    }
    // A prompt far longer than the decoder's context keeps its end only.
    let long = TranscribeOptions {
        prompt: Some(Prompt::Text("the young man ".repeat(2_000))),
        ..TranscribeOptions::default()
    };
    assert!(!model.transcribe(&pcm, &long).unwrap().text.is_empty());
}

#[test]
fn bad_ggml_files_are_refused_naming_the_file() {
    let (_keep, dir) = with_ggml("whisper-tiny.en", GgmlType::Q5_0);
    let good = std::fs::read(dir.join(GgmlType::Q5_0.file_name())).unwrap();
    let bad = tempfile::tempdir().unwrap();
    let file = bad.path().join(GgmlType::Q5_0.file_name());
    let refused = |bytes: &[u8]| {
        std::fs::write(&file, bytes).unwrap();
        let err = WhisperCppModel::load(bad.path(), GgmlType::Q5_0, THREADS).unwrap_err();
        let ModelError::Format { what, detail } = &err else {
            panic!("expected a format error, got {err}");
        };
        assert!(what.contains("ggml-model-q5_0.bin"), "{err}");
        detail.clone()
    };
    assert!(refused(&good[..good.len() / 2]).contains("truncated"));
    assert!(refused(&good[..good.len() - 1]).contains("truncated"));
    let mut magic = good.clone();
    magic[..4].copy_from_slice(b"GGUF");
    assert!(refused(&magic).contains("not a ggml Whisper file"));
    assert!(refused(&[]).contains("truncated"));

    // Another type than the one asked for, and no file at all.
    std::fs::write(&file, &good).unwrap();
    let err = WhisperCppModel::load(bad.path(), GgmlType::F16, THREADS).unwrap_err();
    assert!(
        matches!(err, ModelError::MissingFile { ref file, .. } if file == "ggml-model-f16.bin"),
        "{err}"
    );
    std::fs::rename(&file, bad.path().join(GgmlType::F16.file_name())).unwrap();
    let err = WhisperCppModel::load(bad.path(), GgmlType::F16, THREADS).unwrap_err();
    assert!(err.to_string().contains("holds q5_0 weights"), "{err}");
}
