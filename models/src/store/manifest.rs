//! `manifest.json`: written last into a pulled model's folder. Its presence
//! is what makes a folder an installed model; it records where the weights
//! came from and a checksum of every file so `models verify` — and every
//! load, at the [`Verification`] level the operator chose — can prove the
//! folder is intact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{PackageRef, Task};
use crate::store::digest::sha256_file;
use crate::{ModelError, Result};

/// File name of the manifest inside a model folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Bumped whenever a converter's output changes, so old folders can be told
/// apart (and re-pulled) after an upgrade.
pub const CONVERSION_VERSION: u32 = 1;

/// What a pulled model folder holds and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub task: Task,
    pub license: String,
    pub attribution: String,
    pub packages: Vec<PackageRef>,
    pub converter: String,
    pub conversion_version: u32,
    /// Seconds since the Unix epoch.
    pub pulled_at: u64,
    /// Path relative to the folder (with `/`) → its sha256 and size.
    pub files: BTreeMap<String, FileRecord>,
}

/// How much of a pulled model is checked before it is loaded.
///
/// A flipped byte in the middle of a weights file keeps its size, parses,
/// loads and serves wrong answers without a word; only the digest catches
/// it. Hashing streams each file once (in parallel across files), and the
/// load that follows reads the same pages back from the page cache, so the
/// full check is the default; `Size` is for operators who verify their
/// volumes some other way and want the fastest start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verification {
    /// Every recorded file's size and sha256.
    #[default]
    Full,
    /// Every recorded file exists with its recorded size.
    Size,
}

/// Checksum and size of one file of a model folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub sha256: String,
    pub bytes: u64,
}

impl Manifest {
    /// Read `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|e| ModelError::io("reading", &path, e))?;
        serde_json::from_str(&text).map_err(|source| ModelError::Json { path, source })
    }

    /// Write `dir/manifest.json` (the caller renames the folder into place
    /// afterwards, which is what makes the write atomic).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let (path, text) = self.to_json(dir)?;
        std::fs::write(&path, text).map_err(|e| ModelError::io("writing", &path, e))
    }

    /// `dir/manifest.json` and the text it holds.
    fn to_json(&self, dir: &Path) -> Result<(std::path::PathBuf, String)> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|source| ModelError::Json {
            path: path.clone(),
            source,
        })?;
        Ok((path, text))
    }

    /// Replace `dir/manifest.json` in an installed folder: written beside
    /// it and renamed over it, so a reader sees the old one or the new one.
    pub fn replace(&self, dir: &Path) -> Result<()> {
        let (path, text) = self.to_json(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| ModelError::io("creating a file in", dir, e))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| ModelError::io("writing", &path, e))?;
        file.persist(&path)
            .map_err(|e| ModelError::io("renaming into", &path, e.error))?;
        Ok(())
    }

    /// Checksum every file under `dir` (the manifest itself excepted).
    pub fn record_files(dir: &Path) -> Result<BTreeMap<String, FileRecord>> {
        let mut records = BTreeMap::new();
        for path in walk_files(dir)? {
            let relative = relative_name(dir, &path);
            if relative == MANIFEST_FILE {
                continue;
            }
            let bytes = std::fs::metadata(&path)
                .map_err(|e| ModelError::io("reading", &path, e))?
                .len();
            records.insert(
                relative,
                FileRecord {
                    sha256: sha256_file(&path)?,
                    bytes,
                },
            );
        }
        Ok(records)
    }

    /// Cheap check done before every load: each recorded file exists with
    /// its recorded size.
    pub fn check_present(&self, dir: &Path) -> Result<()> {
        for (relative, record) in &self.files {
            let path = dir.join(relative);
            let missing = || ModelError::MissingFile {
                name: self.name.clone(),
                file: relative.clone(),
                dir: dir.to_path_buf(),
            };
            let meta = std::fs::metadata(&path).map_err(|_| missing())?;
            if meta.len() != record.bytes {
                return Err(ModelError::Checksum {
                    name: self.name.clone(),
                    what: relative.clone(),
                    expected: format!("{} bytes", record.bytes),
                    actual: format!("{} bytes", meta.len()),
                    hint: "the file was changed or truncated; run `stratus models pull NAME --force`",
                });
            }
        }
        Ok(())
    }

    /// Full check: every recorded file's sha256 matches. Files are hashed
    /// in parallel (a model is a few large files); the first mismatch in
    /// name order is the one reported.
    pub fn verify(&self, dir: &Path) -> Result<()> {
        use rayon::prelude::*;
        self.check_present(dir)?;
        let records: Vec<(&String, &FileRecord)> = self.files.iter().collect();
        let digests: Vec<Result<String>> = records
            .par_iter()
            .map(|(relative, _)| sha256_file(&dir.join(relative)))
            .collect();
        for ((relative, record), actual) in records.into_iter().zip(digests) {
            let actual = actual?;
            if actual != record.sha256 {
                return Err(ModelError::Checksum {
                    name: self.name.clone(),
                    what: relative.clone(),
                    expected: record.sha256.clone(),
                    actual,
                    hint: "the file was changed on disk; run `stratus models pull NAME --force`",
                });
            }
        }
        Ok(())
    }

    /// The check of `level`: sizes only, or sizes and digests.
    pub fn check(&self, dir: &Path, level: Verification) -> Result<()> {
        match level {
            Verification::Full => self.verify(dir),
            Verification::Size => self.check_present(dir),
        }
    }
}

/// Every regular file under `dir`, recursively, in a stable order.
pub(crate) fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries =
            std::fs::read_dir(&current).map_err(|e| ModelError::io("listing", &current, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ModelError::io("listing", &current, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| ModelError::io("reading", &path, e))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Total size in bytes of the files under `dir`.
pub fn folder_size(dir: &Path) -> u64 {
    walk_files(dir)
        .map(|files| {
            files
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_of(dir: &Path) -> Manifest {
        Manifest {
            name: "m".into(),
            task: Task::Embeddings,
            license: "MIT".into(),
            attribution: String::new(),
            packages: Vec::new(),
            converter: "test".into(),
            conversion_version: CONVERSION_VERSION,
            pulled_at: 0,
            files: Manifest::record_files(dir).unwrap(),
        }
    }

    #[test]
    fn a_flipped_byte_passes_the_size_check_and_fails_the_full_one_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let weights: Vec<u8> = (0..=255_u8).cycle().take(1 << 16).collect();
        std::fs::write(dir.path().join("model.safetensors"), &weights).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/config.json"), b"{}").unwrap();
        let manifest = manifest_of(dir.path());
        assert_eq!(manifest.files.len(), 2);
        manifest.check(dir.path(), Verification::Full).unwrap();

        let mut flipped = weights.clone();
        flipped[weights.len() / 2] ^= 0x01;
        std::fs::write(dir.path().join("model.safetensors"), &flipped).unwrap();

        manifest.check(dir.path(), Verification::Size).unwrap();
        match manifest.check(dir.path(), Verification::Full) {
            Err(ModelError::Checksum { what, expected, .. }) => {
                assert_eq!(what, "model.safetensors");
                assert_eq!(expected, manifest.files["model.safetensors"].sha256);
            }
            other => panic!("expected a checksum error, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_file_fails_every_level() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors"), [7_u8; 4096]).unwrap();
        let manifest = manifest_of(dir.path());
        std::fs::write(dir.path().join("model.safetensors"), [7_u8; 4095]).unwrap();
        for level in [Verification::Size, Verification::Full] {
            assert!(matches!(
                manifest.check(dir.path(), level),
                Err(ModelError::Checksum { .. })
            ));
        }
    }
}
