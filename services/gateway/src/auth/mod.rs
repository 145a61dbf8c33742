//! Identity and access: who is calling, and may they.
//!
//! - [`scopes`] — scopes, roles, and the [`Principal`] a request runs as.
//! - [`keys`] — API key format (`sk_<id>_<secret>`), keyed hash, row cache.
//! - [`jwt`] — dashboard session tokens (HS256, short-lived).
//! - [`password`] — Argon2id password hashes.
//! - [`secret`] — the server secret every key hash and session derives from.
//! - [`middleware`] — deny-by-default authentication of every request and
//!   the per-route scope check.
//! - [`session`] — `/v1/auth/login`, `/logout`, `/me`.
//!
//! [`Auth`] is the one object handlers and the CLI use: it creates, verifies
//! and revokes keys, and verifies sessions.

pub mod jwt;
pub mod keys;
pub mod middleware;
pub mod password;
pub mod scopes;
pub mod secret;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use stratus_kit::ApiError;

pub use scopes::{Principal, Role, Scope, Scopes};
pub use secret::{SecretError, ServerSecret};

use crate::store::identity::KeyRow;
use crate::store::{Store, StoreError};

/// The tenant that operates the deployment; only its keys may hold `admin`.
pub const SYSTEM_TENANT_ID: &str = "system";
/// Longest key lifetime one may ask for.
pub const MAX_EXPIRES_IN_DAYS: u32 = 3650;
/// Longest key name.
pub const MAX_KEY_NAME_CHARS: usize = 100;
/// How often coalesced last-used times are written.
const LAST_USED_FLUSH: Duration = Duration::from_secs(5);

/// Why a request or an identity operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "missing credentials: send `Authorization: Bearer sk_…` with an API key, or sign in at /v1/auth/login"
    )]
    Missing,
    #[error("invalid API key")]
    InvalidKey,
    #[error("this API key was revoked")]
    Revoked,
    #[error("this API key has expired")]
    Expired,
    #[error("`Authorization` must be `Bearer <token>`")]
    BadScheme,
    #[error(transparent)]
    Session(#[from] jwt::SessionError),
    #[error("this credential lacks the `{0}` scope needed here")]
    Forbidden(Scope),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => AuthError::Conflict(what),
            other => AuthError::Store(other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match &e {
            AuthError::Missing
            | AuthError::InvalidKey
            | AuthError::Revoked
            | AuthError::Expired
            | AuthError::BadScheme
            | AuthError::Session(_) => ApiError::unauthorized(e.to_string()),
            AuthError::Forbidden(_) => {
                ApiError::forbidden(e.to_string()).with_code("insufficient_scope")
            }
            AuthError::BadRequest(_) | AuthError::Password(password::PasswordError::Length) => {
                ApiError::bad_request(e.to_string())
            }
            AuthError::NotFound(_) => ApiError::not_found(e.to_string()),
            AuthError::Conflict(_) => {
                let mut error = ApiError::bad_request(e.to_string()).with_code("conflict");
                error.status = axum::http::StatusCode::CONFLICT;
                error
            }
            AuthError::Store(_) => {
                tracing::warn!(error = %e, "identity store unavailable");
                ApiError::unavailable("the identity store is unavailable", 1)
            }
            AuthError::Password(_) | AuthError::Secret(_) | AuthError::Internal(_) => {
                tracing::warn!(error = %e, "identity operation failed");
                ApiError::internal("internal error")
            }
        }
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A key just created: its row and the whole key, shown once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub row: KeyRow,
    pub secret: String,
}

/// What a new key should be.
#[derive(Debug, Clone, Default)]
pub struct KeySpec {
    pub name: Option<String>,
    pub scopes: Scopes,
    pub expires_in_days: Option<u32>,
}

/// Keys, sessions and their caches; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hasher: keys::KeyHasher,
    sessions: jwt::SessionKeys,
    cache: keys::KeyCache,
    /// Key id → latest use not yet written (coalesced: one write per key per
    /// flush, however many requests).
    last_used: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// Keys and sessions over `store`, keyed by `secret`. Inside a Tokio
    /// runtime this also starts the task that writes last-used times; it
    /// stops when the last clone of this `Auth` is dropped.
    pub fn new(store: Store, secret: &ServerSecret) -> Self {
        let auth = Self {
            inner: Arc::new(Inner {
                store,
                hasher: keys::KeyHasher::new(secret),
                sessions: jwt::SessionKeys::new(secret),
                cache: keys::KeyCache::default(),
                last_used: Mutex::new(HashMap::new()),
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(flush_last_used_forever(Arc::downgrade(&auth.inner)));
        }
        auth
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn sessions(&self) -> &jwt::SessionKeys {
        &self.inner.sessions
    }

    /// Create a key for `tenant_id`. `admin` is only for the system tenant.
    pub async fn create_key(
        &self,
        tenant_id: &str,
        spec: KeySpec,
    ) -> Result<CreatedKey, AuthError> {
        let (_, secret) = keys::generate()?;
        self.insert_key_with_secret(tenant_id, spec, secret).await
    }

    /// Store a key whose secret the operator made (`sk_<16 hex>_<64 hex>`,
    /// e.g. from a Kubernetes Secret), so every replica and the operator's
    /// tooling know it before any server has started. The store holds only
    /// its keyed hash, as for generated keys. A key with the same id already
    /// stored is [`AuthError::Conflict`].
    pub async fn import_key(
        &self,
        tenant_id: &str,
        spec: KeySpec,
        secret: &str,
    ) -> Result<CreatedKey, AuthError> {
        if keys::parse(secret).is_none() {
            return Err(AuthError::BadRequest(format!(
                "an API key is `{}` + 16 hex digits + `_` + 64 hex digits",
                keys::KEY_PREFIX
            )));
        }
        self.insert_key_with_secret(tenant_id, spec, secret.to_string())
            .await
    }

    /// Whether `secret` is the secret of the stored key `row` (constant time).
    pub fn secret_matches(&self, row: &KeyRow, secret: &str) -> bool {
        keys::parse(secret).is_some_and(|parsed| {
            parsed.id == row.id && self.inner.hasher.matches(parsed.secret, &row.secret_hash)
        })
    }

    async fn insert_key_with_secret(
        &self,
        tenant_id: &str,
        spec: KeySpec,
        secret: String,
    ) -> Result<CreatedKey, AuthError> {
        if spec.scopes.is_empty() {
            return Err(AuthError::BadRequest(
                "a key needs at least one scope".into(),
            ));
        }
        if spec.scopes.contains(Scope::Admin) && tenant_id != SYSTEM_TENANT_ID {
            return Err(AuthError::BadRequest(
                "only the system tenant's keys may hold the `admin` scope".into(),
            ));
        }
        if let Some(name) = &spec.name
            && name.chars().count() > MAX_KEY_NAME_CHARS
        {
            return Err(AuthError::BadRequest(format!(
                "a key name is at most {MAX_KEY_NAME_CHARS} characters"
            )));
        }
        let now = unix_now();
        let expires_at = match spec.expires_in_days {
            None => None,
            Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
                Some(now + i64::from(days) * 86_400)
            }
            Some(_) => {
                return Err(AuthError::BadRequest(format!(
                    "expires_in_days must be 1 to {MAX_EXPIRES_IN_DAYS}"
                )));
            }
        };
        let Some(parsed) = keys::parse(&secret) else {
            return Err(AuthError::Internal(
                "a key secret of the wrong shape".into(),
            ));
        };
        let row = KeyRow {
            id: parsed.id,
            tenant_id: tenant_id.to_string(),
            name: spec.name,
            secret_hash: self.inner.hasher.hash(parsed.secret),
            scopes: spec.scopes.to_string(),
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        self.inner.store.insert_key(&row).await?;
        Ok(CreatedKey { row, secret })
    }

    /// Revoke key `id` of `tenant_id`; effective here at once, on other
    /// replicas within [`keys::CACHE_TTL`].
    pub async fn revoke_key(&self, tenant_id: &str, id: &str) -> Result<(), AuthError> {
        let found = self
            .inner
            .store
            .revoke_key(tenant_id, id, unix_now())
            .await?;
        self.inner.cache.invalidate(id);
        if found {
            Ok(())
        } else {
            Err(AuthError::NotFound(format!("no API key `{id}`")))
        }
    }

    /// The principal of API key `token`.
    pub async fn verify_key(&self, token: &str) -> Result<Principal, AuthError> {
        let parsed = keys::parse(token).ok_or(AuthError::InvalidKey)?;
        let row = match self.inner.cache.get(&parsed.id) {
            Some(row) => row,
            None => {
                let row = self.inner.store.key_by_id(&parsed.id).await?;
                self.inner.cache.put(&parsed.id, row.clone());
                row
            }
        };
        let row = row.ok_or(AuthError::InvalidKey)?;
        // Only a holder of the real secret learns more than "invalid".
        if !self.inner.hasher.matches(parsed.secret, &row.secret_hash) {
            return Err(AuthError::InvalidKey);
        }
        if row.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        let now = unix_now();
        if row.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Expired);
        }
        let scopes = Scopes::parse(&row.scopes).map_err(|e| {
            tracing::warn!(key = %row.id, error = %e, "stored key has an unknown scope");
            AuthError::InvalidKey
        })?;
        self.inner
            .last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.id.clone(), now);
        Ok(Principal {
            tenant_id: row.tenant_id,
            key_id: Some(row.id),
            user_id: None,
            scopes,
            role: None,
        })
    }

    /// The principal of session token `token`.
    pub fn verify_session(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.inner.sessions.verify(token)?;
        let role: Role = claims
            .role
            .parse()
            .map_err(|e: scopes::UnknownRole| jwt::SessionError(e.to_string()))?;
        Ok(Principal {
            tenant_id: claims.tid,
            key_id: None,
            user_id: Some(claims.sub),
            scopes: role.scopes(),
            role: Some(role),
        })
    }

    /// Write the pending last-used times now.
    pub async fn flush_last_used(&self) {
        flush(&self.inner).await;
    }
}

async fn flush(inner: &Inner) {
    let pending = std::mem::take(&mut *inner.last_used.lock().unwrap_or_else(|p| p.into_inner()));
    for (id, at) in pending {
        if let Err(e) = inner.store.touch_key(&id, at).await {
            tracing::warn!(key = %id, error = %e, "cannot record when a key was last used");
        }
    }
}

async fn flush_last_used_forever(inner: Weak<Inner>) {
    // The first flush one period after start, not at once: nothing has been
    // used yet, and an immediate one would race whatever the caller does
    // next (a test that checks last use is written only by a flush).
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + LAST_USED_FLUSH,
        LAST_USED_FLUSH,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        flush(&inner).await;
    }
}
