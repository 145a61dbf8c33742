//! Redaction: the text with each span replaced, in one of three modes.
//!
//! - `mask` — every char of the value becomes `*`, so the redacted text has
//!   exactly as many chars as the input and every span's offsets still point
//!   at the same place.
//! - `type` — the value becomes its type in brackets: `[EMAIL]`.
//! - `hash` — the value becomes `[EMAIL:3f9a0c1b2d4e]`: the first 12 hex
//!   chars of HMAC-SHA256 over the value with the operator's key. The same
//!   value gives the same token under the same key (so redacted records can
//!   still be joined), while without the key the value cannot be recovered
//!   by hashing guesses, which a plain hash of a phone number would allow.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::Span;

/// Hex chars of the keyed hash kept in the token (48 bits: collisions
/// between distinct values of one type are negligible for joins).
const HASH_HEX_CHARS: usize = 12;

/// How values are replaced: `mask` (one `*` per char, offsets still line
/// up), `type` (`[EMAIL]`) or `hash` (`[EMAIL:<12 hex of HMAC-SHA256>]`, needs
/// the operator's key).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = RedactionMode)]
pub enum Mode {
    #[default]
    Mask,
    Type,
    Hash,
}

/// The secret key of `hash` redaction. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct RedactionKey(Vec<u8>);

impl RedactionKey {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self(key.into())
    }
}

impl std::fmt::Debug for RedactionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedactionKey(..)")
    }
}

/// `text` with every span (non-overlapping, by start, char offsets)
/// replaced. `key` must be present for [`Mode::Hash`]; without it hashed
/// values fall back to type placeholders (callers refuse that case first).
pub fn redact(text: &str, spans: &[Span], mode: Mode, key: Option<&RedactionKey>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut spans = spans.iter().peekable();
    let mut current: Option<&Span> = None;
    for (index, c) in text.chars().enumerate() {
        if current.is_some_and(|s| index >= s.end) {
            current = None;
        }
        if current.is_none()
            && let Some(span) = spans.next_if(|s| s.start == index)
        {
            current = Some(span);
            match mode {
                Mode::Mask => {}
                Mode::Type => out.push_str(&format!("[{}]", span.kind)),
                Mode::Hash => match key {
                    Some(key) => {
                        out.push_str(&format!("[{}:{}]", span.kind, keyed_hash(key, &span.text)))
                    }
                    None => out.push_str(&format!("[{}]", span.kind)),
                },
            }
        }
        match current {
            Some(_) if mode == Mode::Mask => out.push('*'),
            Some(_) => {}
            None => out.push(c),
        }
    }
    out
}

/// First [`HASH_HEX_CHARS`] hex chars of HMAC-SHA256(key, value).
pub fn keyed_hash(key: &RedactionKey, value: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail; fall back to an
    // empty token rather than panic if that ever changed.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0) else {
        return String::new();
    };
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = hex::encode(digest);
    hex.truncate(HASH_HEX_CHARS);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, values: &[(&str, &str)]) -> Vec<Span> {
        values
            .iter()
            .map(|(kind, value)| {
                let byte = text.find(value).unwrap();
                let start = text[..byte].chars().count();
                Span {
                    kind: (*kind).into(),
                    text: (*value).into(),
                    start,
                    end: start + value.chars().count(),
                    score: 1.0,
                }
            })
            .collect()
    }

    #[test]
    fn three_modes() {
        let text = "Zoë: zoë@example.com, +1 555 123 4567.";
        let found = spans(
            text,
            &[("EMAIL", "zoë@example.com"), ("PHONE", "+1 555 123 4567")],
        );
        let masked = redact(text, &found, Mode::Mask, None);
        assert_eq!(masked, "Zoë: ***************, ***************.");
        assert_eq!(masked.chars().count(), text.chars().count());
        assert_eq!(
            redact(text, &found, Mode::Type, None),
            "Zoë: [EMAIL], [PHONE]."
        );
        let key = RedactionKey::new(b"k".to_vec());
        let hashed = redact(text, &found, Mode::Hash, Some(&key));
        let token = keyed_hash(&key, "zoë@example.com");
        assert_eq!(token.len(), 12);
        assert!(hashed.starts_with(&format!("Zoë: [EMAIL:{token}], [PHONE:")));
        // Same value, same key: same token; another key: another token.
        assert_eq!(token, keyed_hash(&key, "zoë@example.com"));
        assert_ne!(
            token,
            keyed_hash(&RedactionKey::new(b"other".to_vec()), "zoë@example.com")
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?".
        let key = RedactionKey::new(b"Jefe".to_vec());
        assert_eq!(
            keyed_hash(&key, "what do ya want for nothing?"),
            "5bdcc146bf60"
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", RedactionKey::new(b"secret".to_vec())),
            "RedactionKey(..)"
        );
    }
}
