//! Dashboard passwords: Argon2id (the crate's defaults, OWASP's minimum:
//! 19 MiB, 2 passes) in PHC strings. Hashing costs tens of milliseconds of
//! CPU on purpose, so callers run it on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest password accepted.
pub const MIN_PASSWORD_BYTES: usize = 8;
/// Longest password accepted: Argon2 reads all of it, so an unbounded one
/// is free CPU for an attacker.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password cannot be set.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long")]
    Length,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The PHC string of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        return Err(PasswordError::Length);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse", &a));
        assert!(!verify("correct horsE", &a));
        assert_ne!(a, hash("correct horse").unwrap());
        assert!(!verify("x", "not a phc string"));
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
        assert!(matches!(
            hash(&"x".repeat(1025)),
            Err(PasswordError::Length)
        ));
    }
}
