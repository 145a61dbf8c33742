//! The server secret: the one secret every gateway replica and the operator
//! CLI share. API key hashes and session signatures are keyed by values
//! derived from it, so a copy of the database alone verifies nothing and
//! forges nothing.
//!
//! Given with `--auth-secret` (required when several gateways share a
//! PostgreSQL store), or generated once into `$STRATUS_HOME/auth-secret`
//! (0600), which `serve` and the CLI on the same home both read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The file under `$STRATUS_HOME` that holds a generated secret.
pub const SECRET_FILE: &str = "auth-secret";

/// Why the server secret cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the auth secret must be at least 32 characters of visible ASCII")]
    TooWeak,
    #[error("cannot read OS randomness: {0}")]
    Random(String),
    #[error("auth secret file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The server secret (never printed: its `Debug` is opaque).
#[derive(Clone)]
pub struct ServerSecret(Arc<[u8]>);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

impl ServerSecret {
    /// A secret an operator configured.
    pub fn new(secret: &str) -> Result<Self, SecretError> {
        if secret.len() < 32 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretError::TooWeak);
        }
        Ok(Self(secret.as_bytes().into()))
    }

    /// `configured` if given, else the secret kept under `home`, generated
    /// on first use.
    pub fn configured_or_file(configured: Option<&str>, home: &Path) -> Result<Self, SecretError> {
        match configured {
            Some(secret) => Self::new(secret),
            None => Self::load_or_create(home),
        }
    }

    /// The secret in `home/auth-secret`, created (0600) when missing. Two
    /// processes creating it at once agree: the file appears atomically and
    /// only the first one wins.
    pub fn load_or_create(home: &Path) -> Result<Self, SecretError> {
        let path = home.join(SECRET_FILE);
        let file_err = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Self::new(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_err(e)),
        }
        let fresh = random_hex(32)?;
        write_private_file(&path, fresh.as_bytes(), false).map_err(file_err)?;
        let text = std::fs::read_to_string(&path).map_err(file_err)?;
        Self::new(text.trim())
    }

    /// A 32-byte key for one purpose (`label`), so a key hash can never be
    /// mistaken for a session signature.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = hmac(&self.0);
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 keyed with `key` (any length is a valid HMAC key).
pub(crate) fn hmac(key: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of every length; this arm cannot be reached.
        Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
    }
}

/// `bytes` random bytes from the OS, hex-encoded.
pub(crate) fn random_hex(bytes: usize) -> Result<String, SecretError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// Write `contents` to `path`, readable by this user only (0600), appearing
/// whole or not at all. With `replace` an existing file is replaced;
/// without, an existing file is kept (and `Ok` returned).
pub fn write_private_file(path: &Path, contents: &[u8], replace: bool) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut name = path.as_os_str().to_owned();
    let suffix = random_hex(8).map_err(std::io::Error::other)?;
    name.push(format!(".{suffix}.tmp"));
    let tmp = PathBuf::from(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    drop(file);
    let placed = written.and_then(|()| {
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            match std::fs::hard_link(&tmp, path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        }
    });
    let _ = std::fs::remove_file(&tmp);
    placed
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_once_private_and_shared() {
        let home = tempfile::tempdir().unwrap();
        let a = ServerSecret::load_or_create(home.path()).unwrap();
        let b = ServerSecret::load_or_create(home.path()).unwrap();
        assert_eq!(a.derive("x"), b.derive("x"));
        assert_ne!(a.derive("x"), a.derive("y"));
        let mode = std::fs::metadata(home.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(home.path()).unwrap().count(),
            1,
            "temp file left"
        );
        assert!(ServerSecret::new("short").is_err());
        assert!(format!("{a:?}").contains('…'));
    }
}
