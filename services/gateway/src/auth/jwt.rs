//! Dashboard sessions: short-lived HS256 JWTs signed with a key derived from
//! the server secret, so every replica verifies what any replica issued.
//! Each names its server-side session row (`sid`), which `super::Auth`
//! checks on every request, so a signed-out or disabled user's token stops
//! working within a second although its signature stays valid.
//!
//! Only HS256 is accepted; `alg: none`, other algorithms, bad signatures,
//! expired or not-yet-valid tokens and tokens for another issuer or
//! audience are refused (each has a test below).

use std::time::Duration;

use hmac::Mac;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::secret::{ServerSecret, hmac};

/// Who issues sessions.
pub const ISSUER: &str = "stratus";
/// Who sessions are for.
pub const AUDIENCE: &str = "stratus-dashboard";
/// How long a session lasts (sign-out, disabling the user or changing the
/// password ends it sooner, through its session row).
pub const SESSION_TTL: Duration = Duration::from_secs(3600);
/// Clock difference tolerated between replicas.
const LEEWAY_SECS: u64 = 5;

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The session's id: its row in the store, checked on every request.
    pub sid: String,
    /// The user's id.
    pub sub: String,
    /// The user's tenant.
    pub tid: String,
    /// The user's role in it.
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl Claims {
    /// Claims for session `session_id` of `user_id` starting at `now`.
    pub fn new(session_id: &str, user_id: &str, tenant_id: &str, role: &str, now: i64) -> Self {
        Self {
            sid: session_id.into(),
            sub: user_id.into(),
            tid: tenant_id.into(),
            role: role.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + SESSION_TTL.as_secs() as i64,
        }
    }
}

/// Why a session token was refused (the message names the reason; the
/// status is always 401).
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid session token: {0}")]
pub struct SessionError(pub String);

/// Signs and verifies session tokens.
#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Keys the dashboard's per-session CSRF tokens (see [`Self::csrf_token`]).
    csrf: [u8; 32],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(…)")
    }
}

impl SessionKeys {
    pub fn new(secret: &ServerSecret) -> Self {
        let key = secret.derive("stratus session hs256 v1");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // `sid` is required by `Claims` itself: a token without one (issued
        // before sessions had rows) does not decode.
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            csrf: secret.derive("stratus dashboard csrf v1"),
        }
    }

    /// The CSRF token of the session whose token is `session_token`: an
    /// HMAC of the session under a key of the server secret, so it is
    /// stateless (any replica checks it), differs per session, and only
    /// this server can make it. Forms carry it; a cross-site page cannot
    /// read it.
    pub fn csrf_token(&self, session_token: &str) -> String {
        let mut mac = hmac(&self.csrf);
        mac.update(session_token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `given` is the CSRF token of `session_token` (constant time).
    pub fn csrf_matches(&self, session_token: &str, given: &str) -> bool {
        self.csrf_token(session_token)
            .as_bytes()
            .ct_eq(given.as_bytes())
            .into()
    }

    /// A signed token carrying `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, SessionError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| SessionError(e.to_string()))
    }

    /// The claims of `token` if it is one of ours and valid now.
    pub fn verify(&self, token: &str) -> Result<Claims, SessionError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| SessionError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(&ServerSecret::new(&"k".repeat(32)).unwrap())
    }

    fn now() -> i64 {
        super::super::unix_now()
    }

    fn claims() -> Claims {
        Claims::new("ses_1", "usr_1", "ten_1", "owner", now())
    }

    fn key_bytes() -> [u8; 32] {
        ServerSecret::new(&"k".repeat(32))
            .unwrap()
            .derive("stratus session hs256 v1")
    }

    fn sign(alg: Algorithm, claims: &Claims, key: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
    }

    fn refused(token: &str) -> String {
        keys().verify(token).unwrap_err().0
    }

    #[test]
    fn a_fresh_token_verifies() {
        let token = keys().issue(&claims()).unwrap();
        assert_eq!(keys().verify(&token).unwrap().sub, "usr_1");
    }

    #[test]
    fn alg_none_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            refused(&token);
        }
    }

    #[test]
    fn other_algorithms_are_refused() {
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let err = refused(&sign(alg, &claims(), &key_bytes()));
            assert!(err.contains("lgorithm"), "{err}");
        }
    }

    #[test]
    fn bad_signatures_are_refused() {
        let err = refused(&sign(
            Algorithm::HS256,
            &claims(),
            b"another key entirely, 32 bytes..",
        ));
        assert!(err.contains("ignature"), "{err}");
        // A valid token with its payload swapped for another's.
        let token = keys().issue(&claims()).unwrap();
        let mut other = claims();
        other.tid = "ten_2".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        refused(&format!("{}.{forged_body}.{}", parts[0], parts[2]));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let mut c = claims();
        c.iat -= 7200;
        c.nbf -= 7200;
        c.exp = now() - 60;
        let err = refused(&sign(Algorithm::HS256, &c, &key_bytes()));
        assert!(err.contains("xpired"), "{err}");
    }

    #[test]
    fn not_yet_valid_tokens_are_refused() {
        let mut c = claims();
        c.nbf = now() + 600;
        let err = refused(&sign(Algorithm::HS256, &c, &key_bytes()));
        assert!(err.contains("mmature"), "{err}");
    }

    #[test]
    fn other_issuers_and_audiences_are_refused() {
        let mut c = claims();
        c.iss = "someone-else".into();
        let err = refused(&sign(Algorithm::HS256, &c, &key_bytes()));
        assert!(err.contains("ssuer"), "{err}");
        let mut c = claims();
        c.aud = "another-app".into();
        let err = refused(&sign(Algorithm::HS256, &c, &key_bytes()));
        assert!(err.contains("udience"), "{err}");
    }

    #[test]
    fn csrf_tokens_are_per_session_and_per_server() {
        let keys = keys();
        let a = keys.issue(&claims()).unwrap();
        let mut other = claims();
        other.sub = "usr_2".into();
        let b = keys.issue(&other).unwrap();
        let token = keys.csrf_token(&a);
        assert!(keys.csrf_matches(&a, &token));
        assert!(!keys.csrf_matches(&b, &token));
        assert!(!keys.csrf_matches(&a, ""));
        assert!(!keys.csrf_matches(&a, &token[..token.len() - 1]));
        let elsewhere = SessionKeys::new(&ServerSecret::new(&"o".repeat(32)).unwrap());
        assert!(!elsewhere.csrf_matches(&a, &token));
    }

    #[test]
    fn tokens_without_a_session_id_are_refused() {
        #[derive(Serialize)]
        struct Old {
            sub: String,
            tid: String,
            role: String,
            iss: String,
            aud: String,
            iat: i64,
            nbf: i64,
            exp: i64,
        }
        let c = claims();
        let old = Old {
            sub: c.sub,
            tid: c.tid,
            role: c.role,
            iss: c.iss,
            aud: c.aud,
            iat: c.iat,
            nbf: c.nbf,
            exp: c.exp,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &old,
            &EncodingKey::from_secret(&key_bytes()),
        )
        .unwrap();
        refused(&token);
    }

    #[test]
    fn garbage_is_refused() {
        for token in ["", "abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..."] {
            refused(token);
        }
    }
}
