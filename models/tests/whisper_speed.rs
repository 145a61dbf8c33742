//! Where a transcription's time goes, on the real tiny.en weights: the
//! LibriVox clips joined into one long file, transcribed greedily without
//! timestamps (the benchmark's settings, loadtest/speech_bench.py), with the
//! mel / encoder / decoder split and the decoder's cost per token.
//!
//! Ignored by default (it measures, it does not check much); run with
//! `cargo nextest run --cargo-profile ci -p stratus-models --run-ignored only
//! --no-capture whisper_speed`.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "measurement helpers outside the #[test] fn: print what they measure, stop with the value they saw"
)]

mod common;

use candle_core::Device;
use std::time::Instant;
use stratus_models::whisper::{TranscribeOptions, WhisperModel};

const CLIPS: [&str; 5] = [
    "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
];

fn long_audio() -> Vec<f32> {
    let mut pcm = Vec::new();
    for _ in 0..4 {
        for clip in CLIPS {
            let mut reader = hound::WavReader::open(common::testdata_file(clip)).unwrap();
            pcm.extend(
                reader
                    .samples::<i16>()
                    .map(|s| f32::from(s.unwrap()) / 32768.0),
            );
            pcm.extend(std::iter::repeat_n(0.0, 8000));
        }
    }
    pcm
}

#[test]
#[ignore = "measures speed; run on demand"]
fn whisper_speed() {
    // Inside a pool of its own, as a model worker runs it.
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    pool.install(measure);
}

fn measure() {
    let dir = common::model_dir("whisper-tiny.en");
    let mut model = WhisperModel::load(&dir, &Device::Cpu).unwrap();
    let pcm = long_audio();
    let opts = TranscribeOptions::default();
    for int8 in [false, true] {
        if int8 {
            model.quantize_projection().unwrap();
            eprintln!("with the int8 output projection:");
        }
        runs(&mut model, &pcm, &opts);
    }
}

fn runs(model: &mut WhisperModel, pcm: &[f32], opts: &TranscribeOptions) {
    let seconds = pcm.len() as f64 / 16_000.0;
    model.transcribe(&pcm[..16_000 * 5], opts).unwrap();
    for run in 0..3 {
        let started = Instant::now();
        let t = model.transcribe(pcm, opts).unwrap();
        let wall = started.elapsed().as_secs_f64();
        let tm = &t.timings;
        eprintln!(
            "run {run}: {seconds:.1} s audio in {wall:.2} s = {:.1}x real time; mel {:.3} s, encoder {:.2} s ({} windows, {:.0} ms each), decoder {:.2} s ({} tokens, {:.1} ms each)",
            seconds / wall,
            tm.mel_s,
            tm.encode_s,
            tm.windows,
            1000.0 * tm.encode_s / tm.windows as f64,
            tm.decode_s,
            tm.decoded_tokens,
            1000.0 * tm.decode_s / tm.decoded_tokens.max(1) as f64,
        );
        if run == 0 {
            eprintln!("{}", t.text);
        }
    }
}
