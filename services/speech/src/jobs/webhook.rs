//! Webhooks: when a job ends (succeeded or failed) its JSON is POSTed to
//! the `webhook_url` given at submit, signed so the receiver can tell it
//! came from this deployment, for its tenant, and was not replayed.
//!
//! Signature (the scheme Stripe uses): header
//! `x-stratus-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]` where each
//! `<hex>` is HMAC-SHA256 over `<t>.<body>` keyed with the tenant's signing
//! secret (the whole `whsec_…` string). A receiver recomputes it
//! ([`verify`]), accepts any matching `v1`, compares in constant time and
//! refuses old timestamps. The event name travels in `x-stratus-event`
//! (`audio.job.succeeded` / `audio.job.failed`).
//!
//! Secrets are per tenant and rotatable: tenant T's secret of generation
//! `g` is derived from the server's key (`--webhook-secret`, which never
//! leaves the server) as `whsec_` + hex(HMAC-SHA256(key, "stratus webhook
//! secret\0" T "\0" g)). One tenant's secret tells nothing about another's
//! or the key, every replica derives the same one, and nothing secret is
//! stored: the store keeps each tenant's generation
//! ([`super::store::SigningState`]). Rotating moves to the next generation;
//! until the previous one expires a delivery carries both signatures, so a
//! receiver can switch secrets without missing one. Changing the server's
//! key changes every tenant's secret at once (no overlap): rotate per
//! tenant instead.
//!
//! Destinations: only where the [`DestinationPolicy`] allows (by default
//! https to public addresses), checked at submit and again at send, where
//! the client's resolver refuses names that resolve to non-public
//! addresses (see [`stratus_kit::destination`]).
//!
//! Delivery: up to `attempts` tries, each with its own timeout, doubling
//! the wait between them; a 2xx answer is delivered. Redirects are not
//! followed (a signed body goes only where the client said). The outcome is
//! recorded with the job (`webhook_status`): `delivered` or `failed`, never
//! why (refused, timed out, the receiver's status), which would make
//! webhooks a port scanner. Delivery runs in the process
//! that finished the job; a crash during the retries loses the remaining
//! tries (the job itself is safe and can be polled).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use stratus_kit::destination::DestinationPolicy;
use subtle::ConstantTimeEq;

use super::metrics::{Delivery, record_delivery};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-stratus-signature";
/// The event header.
pub const EVENT_HEADER: &str = "x-stratus-event";
/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// A server-held webhook key: `--webhook-secret`, from which tenants'
/// signing secrets are derived, or `--budget-webhook-secret`, which signs
/// the operator's budget alerts.
#[derive(Clone)]
pub struct WebhookSecret(std::sync::Arc<[u8]>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// The key itself signs only operator-facing webhooks (budget alerts,
/// whose receiver the operator configured with it).
impl AsRef<[u8]> for WebhookSecret {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Prefix of a tenant's signing secret, so one is recognisable in a
/// receiver's configuration (and in a leak scanner).
pub const TENANT_SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    pub fn new(secret: &str) -> Self {
        Self(secret.as_bytes().into())
    }

    /// Tenant `tenant_id`'s signing secret of `generation` (see the module
    /// doc). The label and the NUL separators keep this use of the key apart
    /// from any other and make (tenant, generation) pairs unambiguous.
    pub fn tenant_secret(&self, tenant_id: &str, generation: i64) -> String {
        let digest = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .map(|mut mac| {
                mac.update(b"stratus webhook secret\0");
                mac.update(tenant_id.as_bytes());
                mac.update(b"\0");
                mac.update(generation.to_string().as_bytes());
                hex::encode(mac.finalize().into_bytes())
            })
            .unwrap_or_default();
        format!("{TENANT_SECRET_PREFIX}{digest}")
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `x-stratus-signature` value for `body` sent at `timestamp` (unix
/// seconds): one `v1` per secret, in the order given (the current secret
/// first, then a previous one still valid).
pub fn sign<S: AsRef<[u8]>>(secrets: &[S], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        if let Some(mac) = mac(secret.as_ref(), timestamp, body) {
            header.push_str(",v1=");
            header.push_str(&hex::encode(mac.finalize().into_bytes()));
        }
    }
    header
}

/// Whether `header` is a valid signature of `body` with `secret`, made no
/// more than `tolerance_s` seconds from `now` (unix seconds). What a
/// receiver runs; public so receivers written in Rust (and the tests) can.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance_s: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_s {
        return false;
    }
    let Some(expected) = mac(secret, timestamp, body).map(|m| m.finalize().into_bytes()) else {
        return false;
    };
    signatures
        .iter()
        .any(|s| bool::from(s.as_slice().ct_eq(&expected[..])))
}

/// Why a webhook URL is refused at submit: too long, not http(s), with
/// credentials, or a destination `policy` refuses (see
/// [`stratus_kit::destination`]). Names resolve only when sent, where the
/// resolver refuses private answers.
pub fn check_url(url: &str, policy: &DestinationPolicy) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!(
            "`webhook_url` is longer than {MAX_URL_LEN} characters"
        ));
    }
    policy
        .check_url(url)
        .map(drop)
        .map_err(|e| format!("`webhook_url` {e}"))
}

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Resolves through the destination policy: connects to allowed
    /// addresses only, follows no redirect.
    pub client: reqwest::Client,
    pub policy: DestinationPolicy,
    pub attempts: u32,
    /// Wait before the second try; doubled after each failure.
    pub first_backoff: Duration,
}

impl Sender {
    /// A sender to where `policy` allows, whose every try gives up after
    /// `timeout`.
    pub fn new(
        timeout: Duration,
        attempts: u32,
        first_backoff: Duration,
        policy: DestinationPolicy,
    ) -> Result<Self, reqwest::Error> {
        let client = policy
            .client_builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Self {
            client,
            policy,
            attempts: attempts.max(1),
            first_backoff,
        })
    }

    /// POST `body` to `url`, signed with each of `secrets`, until a 2xx
    /// answer or the tries run out; whether it was delivered. Why a try failed (refused, timed out, the
    /// receiver's status) goes to the log only: the tenant learns
    /// delivered or failed, so a webhook cannot probe what answers where.
    pub async fn deliver(&self, url: &str, event: &str, body: &[u8], secrets: &[String]) -> bool {
        // Checked at submit, and again here: the policy may have changed
        // since, and an IP-literal host never reaches the client's
        // resolver, where names are checked.
        if let Err(e) = self.policy.check_url(url) {
            tracing::warn!(error = %e, "webhook destination refused; not sent");
            record_delivery(Delivery::Abandoned);
            return false;
        }
        let mut backoff = self.first_backoff;
        for attempt in 1..=self.attempts {
            let timestamp = super::store::now_ms() / 1000;
            let signature = sign(secrets, timestamp, body);
            let sent = self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .header(EVENT_HEADER, event)
                .body(body.to_vec())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    record_delivery(Delivery::Delivered);
                    return true;
                }
                Ok(response) => {
                    tracing::warn!(attempt, status = %response.status(), "webhook refused");
                }
                Err(e) => tracing::warn!(attempt, error = %e, "webhook not delivered"),
            }
            record_delivery(Delivery::Failed);
            if attempt < self.attempts {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        record_delivery(Delivery::Abandoned);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_secret_and_in_time() {
        let body = br#"{"id":"x"}"#;
        let header = sign(&["whsec_test"], 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify(b"whsec_test", &header, body, 1_700_000_100, 300));
        assert!(!verify(b"other", &header, body, 1_700_000_100, 300));
        assert!(!verify(b"whsec_test", &header, b"{}", 1_700_000_100, 300));
        assert!(!verify(b"whsec_test", &header, body, 1_700_001_000, 300));
        assert!(!verify(b"whsec_test", "v1=00", body, 1_700_000_000, 300));
    }

    /// Each tenant's secret is its own: unlike another tenant's, another
    /// generation's or another key's, and not the key itself.
    #[test]
    fn tenant_secrets_are_derived_apart() {
        let key = WebhookSecret::new("server-key-0123456789abcdef0123456789");
        let acme = key.tenant_secret("acme", 0);
        assert!(acme.starts_with(TENANT_SECRET_PREFIX));
        assert_eq!(acme.len(), TENANT_SECRET_PREFIX.len() + 64);
        assert_eq!(acme, key.tenant_secret("acme", 0), "deterministic");
        let others = [
            key.tenant_secret("acme", 1),
            key.tenant_secret("globex", 0),
            // The separator keeps ("a", 10) and ("a1", 0) apart.
            key.tenant_secret("acme1", 0),
            WebhookSecret::new("another-key-0123456789abcdef012345678").tenant_secret("acme", 0),
        ];
        for other in &others {
            assert_ne!(&acme, other);
        }
        assert_ne!(key.tenant_secret("a", 10), key.tenant_secret("a1", 0));
        assert!(!acme.contains("server-key"));
    }

    /// During a rotation's overlap a delivery carries both signatures, and
    /// a receiver holding either secret accepts it.
    #[test]
    fn a_signature_with_two_secrets_verifies_with_either() {
        let body = br#"{"id":"x"}"#;
        let header = sign(&["whsec_new", "whsec_old"], 1_700_000_000, body);
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(verify(b"whsec_new", &header, body, 1_700_000_000, 300));
        assert!(verify(b"whsec_old", &header, body, 1_700_000_000, 300));
        assert!(!verify(b"whsec_other", &header, body, 1_700_000_000, 300));
        let only_new = sign(&["whsec_new"], 1_700_000_000, body);
        assert!(!verify(b"whsec_old", &only_new, body, 1_700_000_000, 300));
    }

    #[test]
    fn only_allowed_destinations_are_accepted() {
        let strict = DestinationPolicy::new();
        assert!(check_url("https://hooks.example/x", &strict).is_ok());
        for url in [
            "http://hooks.example/x",
            "https://127.0.0.1:9000/hook",
            "https://169.254.169.254/",
            "file:///etc/passwd",
            "ftp://x/y",
            "not a url",
            "https://u:p@x/",
        ] {
            let message = check_url(url, &strict).unwrap_err();
            assert!(message.starts_with("`webhook_url` "), "{url}: {message}");
        }
        assert!(check_url(&format!("https://x/{}", "a".repeat(MAX_URL_LEN)), &strict).is_err());
        let local = strict.allow_http(true).allow("127.0.0.1").unwrap();
        assert!(check_url("http://127.0.0.1:9000/hook", &local).is_ok());
    }

    /// A URL accepted at submit under a looser policy (or before an
    /// upgrade) is checked again before sending: no connection is made.
    #[tokio::test]
    async fn a_refused_destination_is_never_contacted() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let sender = Sender::new(
            Duration::from_secs(1),
            2,
            Duration::from_millis(1),
            DestinationPolicy::new().allow_http(true),
        )
        .unwrap();
        let secrets = ["whsec_s".to_owned()];
        assert!(
            !sender
                .deliver(&url, "audio.job.succeeded", b"{}", &secrets)
                .await
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was made");
    }
}
