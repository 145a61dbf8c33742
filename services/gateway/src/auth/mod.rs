//! Identity and access: who is calling, and may they.
//!
//! - [`scopes`] — scopes, roles, and the [`Principal`] a request runs as.
//! - [`keys`] — API key format (`sk_<id>_<secret>`), keyed hash, row cache.
//! - [`jwt`] — dashboard session tokens (HS256, short-lived).
//! - [`password`] — Argon2id password hashes.
//! - [`secret`] — the server secret every key hash and session derives from.
//! - [`middleware`] — deny-by-default authentication of every request, the
//!   cross-site check of cookie-authenticated API calls, and the per-route
//!   scope check.
//! - [`session`] — `/v1/auth/login`, `/logout`, `/me`.
//! - [`throttle`] — sign-in throttling and the bound on password checks.
//! - [`client`] — the client's address and scheme through trusted proxies,
//!   and the same-origin check.
//! - [`cache`] — the one-second cache of key and session rows.
//!
//! [`Auth`] is the one object handlers and the CLI use: it creates, verifies
//! and revokes keys, and starts, verifies and ends sessions.
//!
//! ## What a key may do with keys
//! A tenant manages its own keys (`/v1/keys`, the dashboard) with the `keys`
//! scope. Whoever makes or revokes a key there must hold every scope of
//! that key, so `keys` never escalates to a scope the caller lacks. A key
//! made by an *API key* expires no later than its maker: asked for no
//! expiry, it gets its maker's (a key cannot outlive the credential that
//! made it, and a client that omits the field still gets a working key);
//! asked for a later one, the request is refused. Dashboard owners'
//! sessions, which last an hour, are not bound by their own expiry.
//! A tenant may hold at most [`AuthConfig::max_keys_per_tenant`] working
//! keys made this way (409 `key_limit_reached` past it); operators (the
//! admin API and the CLI) are not capped.

pub mod cache;
pub mod client;
pub mod jwt;
pub mod keys;
pub mod middleware;
pub mod password;
pub mod scopes;
pub mod secret;
pub mod session;
pub mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use stratus_kit::ApiError;

pub use scopes::{Principal, Role, Scope, Scopes};
pub use secret::{SecretError, ServerSecret};

use crate::store::identity::{KeyRow, LiveSession, SessionRow, UserRow};
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
    #[error("this tenant already has {0} working API keys, the most it may hold; revoke one first")]
    KeyLimit(u32),
    #[error("this user is disabled; ask an owner of your organisation")]
    Disabled,
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
            AuthError::Conflict(_) => ApiError::conflict(e.to_string()),
            // A count of resources at its cap is the state of the tenant,
            // resolved by revoking a key, not by waiting: 409, not 429.
            AuthError::KeyLimit(_) => {
                ApiError::conflict(e.to_string()).with_code("key_limit_reached")
            }
            AuthError::Disabled => ApiError::forbidden(e.to_string()).with_code("user_disabled"),
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

/// How identity is enforced beyond its defaults (flags of `serve` and
/// `gateway`).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Sign-in throttling and the bound on password checks.
    pub login: throttle::LoginConfig,
    /// Trusted proxies and the public URL.
    pub web: client::WebConfig,
    /// Working keys a tenant may hold through self-service.
    pub max_keys_per_tenant: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            login: throttle::LoginConfig::default(),
            web: client::WebConfig::default(),
            max_keys_per_tenant: 100,
        }
    }
}

/// The id of the session a request authenticated with, in its extensions
/// next to its [`Principal`] (sign-out ends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(pub String);

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
    /// Session id → the session and its user, believed for a second.
    live_sessions: cache::RowCache<LiveSession>,
    throttle: throttle::LoginThrottle,
    config: AuthConfig,
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
    /// Keys and sessions over `store`, keyed by `secret`, with the default
    /// [`AuthConfig`]. Inside a Tokio runtime this also starts the task
    /// that writes last-used times; it stops when the last clone of this
    /// `Auth` is dropped.
    pub fn new(store: Store, secret: &ServerSecret) -> Self {
        Self::with_config(store, secret, AuthConfig::default())
    }

    /// [`Auth::new`] with `config`.
    pub fn with_config(store: Store, secret: &ServerSecret, config: AuthConfig) -> Self {
        let auth = Self {
            inner: Arc::new(Inner {
                store,
                hasher: keys::KeyHasher::new(secret),
                sessions: jwt::SessionKeys::new(secret),
                cache: keys::KeyCache::default(),
                live_sessions: cache::RowCache::default(),
                throttle: throttle::LoginThrottle::new(config.login),
                config,
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

    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Sign-in throttling and the password-check bound.
    pub fn throttle(&self) -> &throttle::LoginThrottle {
        &self.inner.throttle
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
        let row = self.new_key_row(tenant_id, spec, &secret, None)?;
        self.inner.store.insert_key(&row).await?;
        Ok(CreatedKey { row, secret })
    }

    /// The row of a new key of `tenant_id` from `spec`, checked. With
    /// `ceiling`, the key may expire no later than it (no expiry asked:
    /// exactly then).
    fn new_key_row(
        &self,
        tenant_id: &str,
        spec: KeySpec,
        secret: &str,
        ceiling: Option<i64>,
    ) -> Result<KeyRow, AuthError> {
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
        let asked = match spec.expires_in_days {
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
        let expires_at = match (asked, ceiling) {
            (asked, None) => asked,
            (None, Some(ceiling)) => Some(ceiling),
            (Some(asked), Some(ceiling)) if asked <= ceiling => Some(asked),
            (Some(_), Some(ceiling)) => {
                let days = (ceiling - now).max(0) / 86_400;
                return Err(AuthError::BadRequest(format!(
                    "a key made by an API key expires no later than that key, which expires in {days} \
                     whole days (at {ceiling}, Unix seconds): ask for expires_in_days of at most {days}, \
                     or leave it out to expire with it"
                )));
            }
        };
        let Some(parsed) = keys::parse(secret) else {
            return Err(AuthError::Internal(
                "a key secret of the wrong shape".into(),
            ));
        };
        Ok(KeyRow {
            id: parsed.id,
            tenant_id: tenant_id.to_string(),
            name: spec.name,
            secret_hash: self.inner.hasher.hash(parsed.secret),
            scopes: spec.scopes.to_string(),
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        })
    }

    /// Self-service: `maker` (a key with `keys`, or an owner's session)
    /// creates a key for its own tenant. The key may hold only scopes the
    /// maker holds, never `admin`; made by an API key, it expires no later
    /// than that key; and the tenant may hold at most
    /// [`AuthConfig::max_keys_per_tenant`] working keys.
    pub async fn create_own_key(
        &self,
        maker: &Principal,
        spec: KeySpec,
    ) -> Result<CreatedKey, AuthError> {
        if spec.scopes.contains(Scope::Admin) || !spec.scopes.is_subset(&maker.scopes) {
            return Err(AuthError::BadRequest(format!(
                "a new key may hold only scopes you hold yourself ({}), never `admin`",
                maker.scopes
            )));
        }
        let ceiling = match &maker.key_id {
            Some(id) => {
                self.key_row(id)
                    .await?
                    .filter(|row| row.tenant_id == maker.tenant_id)
                    .ok_or(AuthError::InvalidKey)?
                    .expires_at
            }
            None => None,
        };
        let (_, secret) = keys::generate()?;
        let row = self.new_key_row(&maker.tenant_id, spec, &secret, ceiling)?;
        let cap = self.inner.config.max_keys_per_tenant;
        if !self
            .inner
            .store
            .insert_key_capped(&row, cap, unix_now())
            .await?
        {
            return Err(AuthError::KeyLimit(cap));
        }
        Ok(CreatedKey { row, secret })
    }

    /// Self-service: `maker` revokes key `id` of its own tenant. It must
    /// hold every scope the key holds (a `keys` key cannot take down a
    /// `speech` key unless it has `speech` too); another tenant's key is
    /// 404.
    pub async fn revoke_own_key(&self, maker: &Principal, id: &str) -> Result<(), AuthError> {
        self.key_to_manage(maker, id).await?;
        self.revoke_key(&maker.tenant_id, id).await
    }

    /// Key `id` if `maker` may change it: one of its tenant's (another's
    /// is "not found"), holding no scope `maker` lacks (a lesser key must
    /// not revoke or cap a broader one: 403).
    pub async fn key_to_manage(&self, maker: &Principal, id: &str) -> Result<KeyRow, AuthError> {
        let row = self
            .inner
            .store
            .key_by_id(id)
            .await?
            .filter(|row| row.tenant_id == maker.tenant_id)
            .ok_or_else(|| AuthError::NotFound(format!("no API key `{id}`")))?;
        let scopes = Scopes::parse(&row.scopes).unwrap_or_else(|_| [Scope::Admin].into());
        if let Some(missing) = scopes.0.iter().find(|s| !maker.scopes.contains(**s)) {
            return Err(AuthError::Forbidden(*missing));
        }
        Ok(row)
    }

    /// Key row `id`, through the cache.
    async fn key_row(&self, id: &str) -> Result<Option<KeyRow>, AuthError> {
        if let Some(row) = self.inner.cache.get(id) {
            return Ok(row);
        }
        let row = self.inner.store.key_by_id(id).await?;
        self.inner.cache.put(id, row.clone());
        Ok(row)
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
        let row = self
            .key_row(&parsed.id)
            .await?
            .ok_or(AuthError::InvalidKey)?;
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

    /// Start a session for `user` (who just proved their password): its
    /// row in the store, and the signed token naming it. Sessions that
    /// expired a while ago are swept out on the way.
    pub async fn start_session(&self, user: &UserRow, role: Role) -> Result<String, AuthError> {
        let now = unix_now();
        let id = format!("ses_{}", secret::random_hex(16)?);
        let claims = jwt::Claims::new(&id, &user.id, &user.tenant_id, role.as_str(), now);
        self.inner
            .store
            .insert_session(&SessionRow {
                id,
                user_id: user.id.clone(),
                tenant_id: user.tenant_id.clone(),
                created_at: now,
                expires_at: claims.exp,
                revoked_at: None,
            })
            .await?;
        // A day of grace: a row is only needed while its token verifies.
        if let Err(e) = self.inner.store.delete_expired_sessions(now - 86_400).await {
            tracing::warn!(error = %e, "cannot sweep expired sessions");
        }
        Ok(self.inner.sessions.issue(&claims)?)
    }

    /// The principal of session token `token`, and its session id. The
    /// signature and times are checked, then the session's row and its
    /// user (through a one-second cache, as keys): a signed-out session, a
    /// disabled or deleted user is refused, and the role is the user's
    /// role now, not the one the token was issued with.
    pub async fn verify_session(&self, token: &str) -> Result<(Principal, SessionId), AuthError> {
        let claims = self.inner.sessions.verify(token)?;
        let live = match self.inner.live_sessions.get(&claims.sid) {
            Some(live) => live,
            None => {
                let live = self.inner.store.live_session(&claims.sid).await?;
                self.inner.live_sessions.put(&claims.sid, live.clone());
                live
            }
        };
        let ended = || {
            AuthError::Session(jwt::SessionError(
                "this session has ended (signed out, or the user was disabled, deleted or given a \
                 new password); sign in again"
                    .into(),
            ))
        };
        let live = live
            .filter(|l| l.user_id == claims.sub && l.tenant_id == claims.tid)
            .ok_or_else(ended)?;
        if live.revoked_at.is_some() || live.disabled_at.is_some() || live.expires_at <= unix_now()
        {
            return Err(ended());
        }
        let role: Role = live
            .role
            .parse()
            .map_err(|e: scopes::UnknownRole| jwt::SessionError(e.to_string()))?;
        Ok((
            Principal {
                tenant_id: live.tenant_id,
                key_id: None,
                user_id: Some(live.user_id),
                scopes: role.scopes(),
                role: Some(role),
            },
            SessionId(claims.sid),
        ))
    }

    /// End session `id` (sign-out): refused here at once, on other
    /// replicas within [`cache::CACHE_TTL`].
    pub async fn end_session(&self, id: &str) -> Result<(), AuthError> {
        self.inner.store.revoke_session(id, unix_now()).await?;
        self.inner.live_sessions.invalidate(id);
        Ok(())
    }

    /// End every session of user `user_id` (disabled, deleted, new
    /// password).
    pub async fn end_user_sessions(&self, user_id: &str) -> Result<(), AuthError> {
        self.inner
            .store
            .revoke_user_sessions(user_id, unix_now())
            .await?;
        // Not indexed by user: start over (each live session costs one
        // lookup to come back).
        self.inner.live_sessions.clear();
        Ok(())
    }

    /// Forget what is cached about sessions, so a change to a user (its
    /// role, disabled) applies here at once.
    pub fn forget_sessions(&self) {
        self.inner.live_sessions.clear();
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
