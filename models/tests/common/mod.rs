//! Test support of the models crate's integration tests: the shared pieces
//! come from `stratus-testkit`; `model_dir` is this crate's own shorthand.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use stratus_testkit::{cache_root, package_cache, package_file, testdata_file};

/// The folder of a pulled (converted) catalog model.
pub fn model_dir(name: &str) -> PathBuf {
    stratus_testkit::pulled(name).dir
}
