//! Test support of the models crate's integration tests: the shared pieces
//! come from `stratus-testkit`; `model_dir` is this crate's own shorthand.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use stratus_testkit::{cache_root, package_cache, package_file, testdata_file};

/// The folder of a pulled (converted) catalog model.
pub fn model_dir(name: &str) -> PathBuf {
    stratus_testkit::pulled(name).dir
}

/// Fix the CPU tier of this test's process from `STRATUS_CPU_ISA` (unset
/// or `auto`: the best this CPU has), as `stratus serve` does from the
/// same variable: CI runs the accuracy gates again at `avx2` and
/// `portable` this way. nextest runs each test in its own process, so
/// each sets its own. Returns the tier in force.
#[expect(
    clippy::panic,
    clippy::print_stderr,
    reason = "a test helper: a wrong STRATUS_CPU_ISA stops the test, and the tier is logged"
)]
pub fn cpu_tier_from_env() -> stratus_models::cpu::Tier {
    let cap = match std::env::var("STRATUS_CPU_ISA") {
        Ok(name) if !name.is_empty() && name != "auto" => Some(
            name.parse::<stratus_models::cpu::Isa>()
                .unwrap_or_else(|e| panic!("STRATUS_CPU_ISA: {e}")),
        ),
        _ => None,
    };
    let tier = stratus_models::cpu::select(cap).unwrap_or_else(|e| panic!("STRATUS_CPU_ISA: {e}"));
    eprintln!(
        "CPU tier: {tier} (this CPU has {})",
        stratus_models::cpu::detected().describe()
    );
    tier
}

/// Word error rate over the LibriVox and cards clips (numbers spelled out
/// as the references spell them) of what `transcribe` makes of each, each
/// clip's hypothesis logged: the accuracy gate both speech engines pass.
#[expect(
    clippy::print_stderr,
    reason = "a test helper: each clip's errors are logged"
)]
pub fn corpus_wer(
    mut transcribe: impl FnMut(&[f32]) -> stratus_models::whisper::Transcript,
) -> f64 {
    let (mut errors, mut words) = (0, 0);
    let clips = stratus_testkit::transcribed_clips("librivox")
        .into_iter()
        .chain(stratus_testkit::transcribed_clips("cards"));
    for (reference, wav) in clips {
        let t = transcribe(&stratus_testkit::read_wav_16k(&wav));
        let hypothesis = stratus_testkit::spell_numbers(&stratus_testkit::normalise(&t.text));
        let e = stratus_testkit::word_errors(&hypothesis, &reference);
        eprintln!("{e} errors: {hypothesis:?} for {reference:?}");
        errors += e;
        words += reference.split_whitespace().count();
    }
    eprintln!("{errors} errors in {words} words");
    errors as f64 / words as f64
}
