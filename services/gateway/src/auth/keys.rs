//! API keys: their format, their keyed hash, and the short-lived cache of
//! key rows that keeps the store off the hot path (`super::cache`).
//!
//! A key reads `sk_<public id>_<secret>` (OpenAI SDKs send it as
//! `Authorization: Bearer sk_…`). The public id (`key_<id>` in the API)
//! finds the row; the secret is checked against the stored
//! HMAC-SHA256(derived server key, secret) in constant time.

use hmac::Mac;
use subtle::ConstantTimeEq;

use super::SecretError;
use super::secret::{ServerSecret, hmac, random_hex};
use crate::store::identity::KeyRow;

/// Every key starts with this, so secret scanners and people recognise it.
pub const KEY_PREFIX: &str = "sk_";
/// API ids of keys start with this.
pub const KEY_ID_PREFIX: &str = "key_";
const ID_HEX: usize = 16;
const SECRET_HEX: usize = 64;

/// The two halves of a presented key.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// `key_<hex>`, as stored and shown in the API.
    pub id: String,
    pub secret: &'a str,
}

/// Split `sk_<id>_<secret>`; `None` for anything not shaped like a key.
pub fn parse(token: &str) -> Option<ParsedKey<'_>> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(id, ID_HEX) || !hex(secret, SECRET_HEX) {
        return None;
    }
    Some(ParsedKey {
        id: format!("{KEY_ID_PREFIX}{id}"),
        secret,
    })
}

/// A fresh key: its id and the whole key to hand out once.
pub fn generate() -> Result<(String, String), SecretError> {
    let id = random_hex(ID_HEX / 2)?;
    let secret = random_hex(SECRET_HEX / 2)?;
    Ok((
        format!("{KEY_ID_PREFIX}{id}"),
        format!("{KEY_PREFIX}{id}_{secret}"),
    ))
}

/// Hashes key secrets with a key derived from the server secret.
#[derive(Clone)]
pub struct KeyHasher([u8; 32]);

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher(…)")
    }
}

impl KeyHasher {
    pub fn new(secret: &ServerSecret) -> Self {
        Self(secret.derive("stratus api-key hash v1"))
    }

    /// The stored form of `secret` (hex).
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = hmac(&self.0);
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `secret` hashes to `stored`, compared in constant time.
    pub fn matches(&self, secret: &str, stored: &str) -> bool {
        self.hash(secret).as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

pub use super::cache::CACHE_TTL;

/// Key rows by id, believed for [`CACHE_TTL`].
pub type KeyCache = super::cache::RowCache<KeyRow>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_and_malformed_ones_do_not() {
        let (id, key) = generate().unwrap();
        let parsed = parse(&key).unwrap();
        assert_eq!(parsed.id, id);
        assert_eq!(parsed.secret.len(), SECRET_HEX);
        assert_ne!(generate().unwrap().1, key);
        for bad in [
            "",
            "sk_",
            "sk-abc",
            &key[..key.len() - 1],
            &format!("{key}0"),
            &key.replace("sk_", "pk_"),
            "sk_0123456789abcdeg_0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes_depend_on_the_server_secret() {
        let a = KeyHasher::new(&ServerSecret::new(&"a".repeat(32)).unwrap());
        let b = KeyHasher::new(&ServerSecret::new(&"b".repeat(32)).unwrap());
        let stored = a.hash("secret");
        assert!(a.matches("secret", &stored));
        assert!(!a.matches("secreT", &stored));
        assert!(!b.matches("secret", &stored));
    }
}
