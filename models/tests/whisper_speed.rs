//! Where a transcription's time goes, on the real tiny.en weights: the
//! LibriVox clips joined into one long file, transcribed greedily without
//! timestamps (the benchmark's settings, loadtest/speech_bench.py), with the
//! mel / encoder / decoder split and the decoder's cost per token.
//!
//! Ignored by default (it measures, it does not check much); run with
//! `cargo nextest run --cargo-profile ci -p stratus-models --run-ignored only
//! --no-capture whisper_speed`. `STRATUS_PROBE_DEFAULTS_ONLY=1` measures
//! only the speech service's CPU defaults (int8 decoder, AMX encoder),
//! e.g. under `perf record`; `STRATUS_PROBE_STREAMS=4` with it transcribes
//! the long file on four threads at once through the one shared engine (the
//! benchmark's four streams). `whisper_encoder_speed` times the encoder
//! alone, f32 and on AMX tiles, one window and four at once.
#![expect(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "measurement helpers outside the #[test] fn: print what they measure, stop with the value they saw"
)]

mod common;

use candle_core::Device;
use std::time::Instant;
use stratus_models::whisper::{CpuKernels, TranscribeOptions, WhisperModel};

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

#[test]
#[ignore = "measures speed; run on demand"]
fn whisper_encoder_speed() {
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    pool.install(|| {
        let dir = common::model_dir("whisper-tiny.en");
        let pcm = long_audio();
        let clip = &pcm[..16_000 * 30];
        // STRATUS_PROBE_DEFAULTS_ONLY: only what the service runs (the
        // tiles where the CPU has them), e.g. to profile it alone.
        let modes: &[bool] = if std::env::var_os("STRATUS_PROBE_DEFAULTS_ONLY").is_some() {
            &[true]
        } else {
            &[false, true]
        };
        for &amx in modes {
            let kernels = CpuKernels {
                int8_decoder: false,
                bf16_encoder: amx,
            };
            let model = WhisperModel::load_with(&dir, &Device::Cpu, kernels).unwrap();
            if amx && !model.kernels().bf16_encoder {
                eprintln!("no AMX tiles here");
                return;
            }
            model.encode_audio(&[clip]).unwrap();
            for batch in [1, 4] {
                let clips = vec![clip; batch];
                let mut times = Vec::new();
                for _ in 0..5 {
                    let started = Instant::now();
                    model.encode_audio(&clips).unwrap();
                    times.push(started.elapsed().as_secs_f64() * 1000.0 / batch as f64);
                }
                times.sort_by(f64::total_cmp);
                eprintln!(
                    "encoder (amx {amx}), batch {batch}: median {:.0} ms a window (fastest {:.0})",
                    times[2], times[0]
                );
            }
        }
    });
}

fn measure() {
    let dir = common::model_dir("whisper-tiny.en");
    let pcm = long_audio();
    let opts = TranscribeOptions::default();
    let load = |kernels| WhisperModel::load_with(&dir, &Device::Cpu, kernels).unwrap();
    if std::env::var_os("STRATUS_PROBE_DEFAULTS_ONLY").is_some() {
        let mut model = load(CpuKernels::ALL);
        let streams: usize = std::env::var("STRATUS_PROBE_STREAMS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        if streams > 1 {
            concurrent(&model, &pcm, &opts, streams);
        } else {
            runs(&mut model, &pcm, &opts);
        }
        return;
    }
    runs(&mut load(CpuKernels::default()), &pcm, &opts);
    eprintln!("with the decoder in int8:");
    runs(
        &mut load(CpuKernels {
            int8_decoder: true,
            bf16_encoder: false,
        }),
        &pcm,
        &opts,
    );
    let mut model = load(CpuKernels::ALL);
    if model.kernels().bf16_encoder {
        eprintln!("and the encoder in bf16:");
        runs(&mut model, &pcm, &opts);
    }
}

/// `streams` transcriptions of `pcm` at once, each on its own thread with
/// its own clone of the model (one engine between them), twice.
fn concurrent(model: &WhisperModel, pcm: &[f32], opts: &TranscribeOptions, streams: usize) {
    let seconds = pcm.len() as f64 / 16_000.0;
    model.clone().transcribe(&pcm[..16_000 * 5], opts).unwrap();
    for run in 0..2 {
        let before = model.batching();
        let started = Instant::now();
        let timings: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..streams)
                .map(|_| {
                    let mut model = model.clone();
                    scope.spawn(move || model.transcribe(pcm, opts).unwrap().timings)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wall = started.elapsed().as_secs_f64();
        let after = model.batching();
        let tokens: usize = timings.iter().map(|t| t.decoded_tokens).sum();
        let windows: usize = timings.iter().map(|t| t.windows).sum();
        eprintln!(
            "run {run}: {streams} x {seconds:.1} s audio in {wall:.2} s = {:.1}x real time; {windows} windows, {tokens} tokens ({:.2} ms of wall each); {} step batches for {} steps, {} encoder batches for {} windows",
            streams as f64 * seconds / wall,
            1000.0 * wall / tokens.max(1) as f64,
            after.step_batches - before.step_batches,
            after.steps - before.steps,
            after.encode_batches - before.encode_batches,
            after.windows - before.windows,
        );
    }
}

fn runs(model: &mut WhisperModel, pcm: &[f32], opts: &TranscribeOptions) {
    let seconds = pcm.len() as f64 / 16_000.0;
    model.transcribe(&pcm[..16_000 * 5], opts).unwrap();
    for run in 0..2 {
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
