//! Unpacking downloaded packages (wheels are zip archives, source
//! distributions gzipped tar archives) safely: no entry may land outside the
//! destination, and the total written is bounded so a zip bomb fails
//! instead of filling the disk.

use std::io::{Read, Write};
use std::path::Path;

use crate::{ModelError, Result};

/// More than any model package needs (the largest is ~150 MB); a bound, not a
/// budget.
pub const MAX_UNPACKED_BYTES: u64 = 8 << 30;

/// Extract `archive` into `dest`: a `.tar.gz` as a gzipped tar archive,
/// anything else as a zip archive.
pub fn unpack(archive: &Path, dest: &Path, max_bytes: u64) -> Result<()> {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let file =
            std::fs::File::open(archive).map_err(|e| ModelError::io("opening", archive, e))?;
        let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
        untar(gz, &archive.display().to_string(), dest, max_bytes)
    } else {
        unzip(archive, dest, max_bytes)
    }
}

/// Extract the regular files and folders of a tar stream into `dest`
/// (links and devices are skipped: no package needs them, and a link could
/// point outside `dest`). `what` names the archive in errors.
pub fn untar(reader: impl Read, what: &str, dest: &Path, max_bytes: u64) -> Result<()> {
    let bad = |detail: String| ModelError::format(what, detail);
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a readable tar archive: {e}")))?;
    let mut written: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("reading an entry: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("an entry's name: {e}")))?
            .into_owned();
        let enclosed = path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !enclosed || path.as_os_str().is_empty() {
            return Err(bad(format!(
                "entry `{}` would escape the destination folder",
                path.display()
            )));
        }
        let target = dest.join(&path);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| ModelError::io("creating", &target, e))?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelError::io("creating", parent, e))?;
        }
        let budget = max_bytes.saturating_sub(written);
        let mut out =
            std::fs::File::create(&target).map_err(|e| ModelError::io("creating", &target, e))?;
        let copied = std::io::copy(&mut (&mut entry).take(budget.saturating_add(1)), &mut out)
            .map_err(|e| bad(format!("entry `{}`: {e}", path.display())))?;
        if copied > budget {
            return Err(bad(format!(
                "unpacks to more than {max_bytes} bytes; refusing (corrupt or hostile archive)"
            )));
        }
        written += copied;
        out.flush()
            .map_err(|e| ModelError::io("writing", &target, e))?;
    }
    Ok(())
}

/// Extract every file of the zip archive `archive` into `dest`.
pub fn unzip(archive: &Path, dest: &Path, max_bytes: u64) -> Result<()> {
    let what = || archive.display().to_string();
    let file = std::fs::File::open(archive).map_err(|e| ModelError::io("opening", archive, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| ModelError::format(what(), format!("not a readable zip archive: {e}")))?;
    let mut written: u64 = 0;
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| ModelError::format(what(), format!("entry {index}: {e}")))?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(ModelError::format(
                what(),
                format!(
                    "entry `{}` would escape the destination folder",
                    entry.name().unwrap_or_default()
                ),
            ));
        };
        let target = dest.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| ModelError::io("creating", &target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelError::io("creating", parent, e))?;
        }
        let budget = max_bytes.saturating_sub(written);
        let mut out =
            std::fs::File::create(&target).map_err(|e| ModelError::io("creating", &target, e))?;
        // Read one byte past the budget so an archive that lies about sizes
        // is caught by what it actually inflates to.
        let copied = std::io::copy(&mut (&mut entry).take(budget.saturating_add(1)), &mut out)
            .map_err(|e| {
                ModelError::format(what(), format!("entry `{}`: {e}", target.display()))
            })?;
        if copied > budget {
            return Err(ModelError::format(
                what(),
                format!(
                    "unpacks to more than {max_bytes} bytes; refusing (corrupt or hostile archive)"
                ),
            ));
        }
        out.flush()
            .map_err(|e| ModelError::io("writing", &target, e))?;
        written += copied;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn make_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let file = std::fs::File::create(path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        for (name, data) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn extracts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.whl");
        make_zip(
            &archive,
            &[("pkg/model/config.json", b"{}"), ("pkg/x.bin", b"123")],
        );
        let out = dir.path().join("out");
        unzip(&archive, &out, 1024).unwrap();
        assert_eq!(std::fs::read(out.join("pkg/x.bin")).unwrap(), b"123");
        assert_eq!(
            std::fs::read(out.join("pkg/model/config.json")).unwrap(),
            b"{}"
        );
    }

    #[test]
    fn refuses_entries_that_escape() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("evil.whl");
        make_zip(&archive, &[("../../escape.txt", b"x")]);
        let err = unzip(&archive, &dir.path().join("out"), 1024).unwrap_err();
        assert!(err.to_string().contains("escape"), "{err}");
        assert!(!dir.path().join("escape.txt").exists());
    }

    #[test]
    fn bounds_what_an_archive_may_inflate_to() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("bomb.whl");
        let zeros = vec![0u8; 1 << 20];
        make_zip(&archive, &[("zeros.bin", &zeros)]);
        let err = unzip(&archive, &dir.path().join("out"), 1000).unwrap_err();
        assert!(err.to_string().contains("more than 1000 bytes"), "{err}");
    }

    #[test]
    fn truncated_archive_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("t.whl");
        make_zip(&archive, &[("pkg/x.bin", &[7u8; 4096])]);
        let bytes = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
        let err = unzip(&archive, &dir.path().join("out"), 1 << 20).unwrap_err();
        assert!(matches!(err, ModelError::Format { .. }), "{err}");
    }
}
