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
