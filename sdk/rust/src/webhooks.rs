//! Verifying the webhooks Stratus POSTs when a job ends.
//!
//! The scheme (the server's `jobs/webhook.rs`): header
//! `x-stratus-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, each `<hex>`
//! an HMAC-SHA256 over `<t>.<body>` keyed with the tenant's signing secret,
//! the whole `whsec_…` string ([`crate::Stratus::get_webhook_secret`]).
//! During a secret rotation a delivery carries one `v1` per valid secret;
//! any match verifies. Signatures are compared in constant time
//! (`hmac`'s `Mac::verify_slice`), and a timestamp more than the tolerance
//! (default 5 minutes) from now is refused as a replay. The event name is
//! in `x-stratus-event` (`audio.job.succeeded` / `audio.job.failed`).
//!
//! ```
//! use stratus_client::webhooks;
//!
//! let body = br#"{"id":"job_1","object":"audio.job","status":"succeeded","task":"transcribe","model":"whisper-1","response_format":"text","progress":1.0,"attempts":1,"created_at":0,"result":"Hello."}"#;
//! let secret = "whsec_test";
//! let mut headers = http::HeaderMap::new();
//! headers.insert(webhooks::SIGNATURE_HEADER, webhooks::sign(body, secret, webhooks::now()).parse().unwrap());
//! headers.insert(webhooks::EVENT_HEADER, "audio.job.succeeded".parse().unwrap());
//! // In your handler: the raw body, exactly as received, and the headers.
//! let event = webhooks::unwrap(body, &headers, secret).expect("a genuine delivery");
//! assert_eq!(event.event, "audio.job.succeeded");
//! assert_eq!(event.job.id, "job_1");
//! assert!(webhooks::verify(b"{}", &headers, secret).is_err());
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;

use crate::models::AudioJob;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-stratus-signature";
/// The event header (`audio.job.succeeded` / `audio.job.failed`).
pub const EVENT_HEADER: &str = "x-stratus-event";
/// How far a delivery's timestamp may be from now, either way, before it
/// is refused as a replay.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a delivery does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `x-stratus-signature` header (or not text).
    #[error("no {SIGNATURE_HEADER} header")]
    MissingSignature,
    /// The header has no `t=` or no `v1=`.
    #[error("the {SIGNATURE_HEADER} header is malformed")]
    Malformed,
    /// The timestamp is further from now than the tolerance.
    #[error("the timestamp is outside the tolerance (a replay?)")]
    Expired,
    /// No signature matches the body and secret.
    #[error("no signature matches")]
    Mismatch,
    /// Verified, but the body is not a job.
    #[error("the body is not a job: {0}")]
    Body(String),
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `audio.job.succeeded` or `audio.job.failed` (`x-stratus-event`).
    pub event: String,
    /// The finished job, with its result when it succeeded
    /// ([`crate::JobResult`]).
    pub job: AudioJob,
}

/// Seconds since the Unix epoch now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `x-stratus-signature` value the server would send for `body` at
/// `timestamp`: for tests of receivers.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Check a signature header value against the raw `body`, at `now` (Unix
/// seconds) with `tolerance`.
pub fn verify_signature(
    body: &[u8],
    signature: &str,
    secret: &str,
    now: i64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in signature.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(WebhookError::Malformed);
    };
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(WebhookError::Expired);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time.
    if signatures
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(WebhookError::Mismatch)
    }
}

/// Check a delivery: `body` exactly as received (before any JSON parsing),
/// its `headers`, the tenant's `secret`; now, with [`DEFAULT_TOLERANCE`].
pub fn verify(body: &[u8], headers: &HeaderMap, secret: &str) -> Result<(), WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(WebhookError::MissingSignature)?;
    verify_signature(body, signature, secret, now(), DEFAULT_TOLERANCE)
}

/// [`verify`], then the typed event.
pub fn unwrap(
    body: &[u8],
    headers: &HeaderMap,
    secret: &str,
) -> Result<WebhookEvent, WebhookError> {
    verify(body, headers, secret)?;
    let job: AudioJob =
        serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let event = headers
        .get(EVENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| format!("audio.job.{}", job.status));
    Ok(WebhookEvent { event, job })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's own test vector scheme (services/speech/src/jobs/webhook.rs).
    #[test]
    fn verifies_like_the_server_signs() {
        let body = br#"{"id":"x"}"#;
        let header = sign(body, "whsec_test", 1_700_000_000);
        let tolerance = DEFAULT_TOLERANCE;
        assert_eq!(
            verify_signature(body, &header, "whsec_test", 1_700_000_100, tolerance),
            Ok(())
        );
        assert_eq!(
            verify_signature(body, &header, "other", 1_700_000_100, tolerance),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"{}", &header, "whsec_test", 1_700_000_100, tolerance),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, &header, "whsec_test", 1_700_001_000, tolerance),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify_signature(body, "v1=00", "whsec_test", 1_700_000_000, tolerance),
            Err(WebhookError::Malformed)
        );
        // During a rotation: two signatures, either secret verifies.
        let both = format!(
            "{header},v1={}",
            sign(body, "whsec_new", 1_700_000_000)
                .split_once(",v1=")
                .unwrap_or_default()
                .1
        );
        assert_eq!(
            verify_signature(body, &both, "whsec_new", 1_700_000_000, tolerance),
            Ok(())
        );
        assert_eq!(
            verify_signature(body, &both, "whsec_test", 1_700_000_000, tolerance),
            Ok(())
        );
    }
}
