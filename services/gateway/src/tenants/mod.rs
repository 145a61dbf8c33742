//! Tenants (organisations) and what they own: API keys and dashboard users.
//!
//! - this file — the operations the admin API, the operator CLI and the
//!   dashboard share (create a tenant, a key, a user; list; revoke; change
//!   a user's role, disable, enable or delete a user, set a password), with
//!   their input limits, and the bootstrap admin key of a fresh deployment;
//! - [`admin`] — the HTTP API: `/v1/admin/…` (operators, `admin` scope, any
//!   tenant) and `/v1/keys` (a tenant's own keys, `keys` scope).
//!
//! Disabling or deleting a user, or giving it a new password, ends all of
//! its sessions (on every gateway within a second); a role change applies
//! to its open sessions within a second too (a session takes its user's
//! role from the store, not from its token).
//!
//! Tenant isolation: every lookup of a key or user by id is made within the
//! caller's tenant, so another tenant's id is "not found" (404), never
//! "forbidden" (403), and never changed.

pub mod admin;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::auth::{
    Auth, AuthError, CreatedKey, KeySpec, Role, SYSTEM_TENANT_ID, Scope, Scopes, password,
    secret::write_private_file, unix_now,
};
use crate::store::identity::{KeyRow, TenantRow, UserRow};

/// Longest tenant name.
pub const MAX_TENANT_NAME: usize = 64;
/// Longest email (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// The file under `$STRATUS_HOME` the bootstrap admin key is written to.
pub const ADMIN_KEY_FILE: &str = "admin-key";

/// A key as the API and the CLI show it (never its secret or hash). Times
/// are Unix seconds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ApiKey)]
pub struct KeyView {
    #[schema(example = "key_0192f7c1a2b3")]
    pub id: String,
    /// Always `api_key`.
    pub object: &'static str,
    pub tenant_id: String,
    pub name: Option<String>,
    pub scopes: Scopes,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl From<KeyRow> for KeyView {
    fn from(row: KeyRow) -> Self {
        Self {
            scopes: Scopes::parse(&row.scopes).unwrap_or_default(),
            id: row.id,
            object: "api_key",
            tenant_id: row.tenant_id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A key just made: shown with its secret this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CreatedApiKey)]
pub struct CreatedKeyView {
    #[serde(flatten)]
    pub key: KeyView,
    /// The whole key (`sk_…`), never shown again.
    pub secret: String,
}

impl From<CreatedKey> for CreatedKeyView {
    fn from(created: CreatedKey) -> Self {
        Self {
            key: created.row.into(),
            secret: created.secret,
        }
    }
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView {
    pub id: String,
    /// Always `user`.
    pub object: &'static str,
    pub tenant_id: String,
    pub email: String,
    #[schema(value_type = crate::auth::Role)]
    pub role: String,
    pub created_at: i64,
    /// When the user was disabled (cannot sign in); `null` while active.
    pub disabled_at: Option<i64>,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            object: "user",
            tenant_id: row.tenant_id,
            email: row.email,
            role: row.role,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        }
    }
}

/// Create a tenant called `name` (letters, digits, `-`, `_`, `.`; not
/// `system`, which is the operators' own).
pub async fn create_tenant(auth: &Auth, name: &str) -> Result<TenantRow, AuthError> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.len() <= MAX_TENANT_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(AuthError::BadRequest(format!(
            "a tenant name is 1 to {MAX_TENANT_NAME} letters, digits, `-`, `_` or `.`"
        )));
    }
    if name.eq_ignore_ascii_case(SYSTEM_TENANT_ID) {
        return Err(AuthError::Conflict(
            "the tenant name `system` is reserved".into(),
        ));
    }
    let row = TenantRow {
        id: format!("ten_{}", uuid::Uuid::now_v7().simple()),
        name: name.to_string(),
        created_at: unix_now(),
    };
    auth.store().create_tenant(&row).await?;
    Ok(row)
}

/// The tenant with id `id`, or 404.
pub async fn tenant(auth: &Auth, id: &str) -> Result<TenantRow, AuthError> {
    auth.store()
        .tenant_by_id(id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("no tenant `{id}`")))
}

/// The tenant called `name`, or 404.
pub async fn tenant_named(auth: &Auth, name: &str) -> Result<TenantRow, AuthError> {
    auth.store()
        .tenant_by_name(name)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("no tenant called `{name}`")))
}

/// Create a dashboard user of `tenant_id`.
pub async fn create_user(
    auth: &Auth,
    tenant_id: &str,
    email: &str,
    password: String,
    role: Role,
) -> Result<UserRow, AuthError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(AuthError::BadRequest(format!(
            "`{email}` is not an email address (at most {MAX_EMAIL} characters)"
        )));
    }
    let password_hash = hash_password(password).await?;
    let row = UserRow {
        id: format!("usr_{}", uuid::Uuid::now_v7().simple()),
        tenant_id: tenant_id.to_string(),
        email,
        password_hash,
        role: role.as_str().to_string(),
        created_at: unix_now(),
        disabled_at: None,
    };
    auth.store().insert_user(&row).await?;
    Ok(row)
}

/// The Argon2 hash of `password`, made on the blocking pool.
async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AuthError::Internal(format!("password hashing interrupted: {e}")))?
        .map_err(AuthError::from)
}

/// User `id` of tenant `tenant_id`, or 404 (another tenant's user too).
pub async fn user(auth: &Auth, tenant_id: &str, id: &str) -> Result<UserRow, AuthError> {
    auth.store()
        .user_by_id(id)
        .await?
        .filter(|u| u.tenant_id == tenant_id)
        .ok_or_else(|| AuthError::NotFound(format!("no user `{id}`")))
}

/// The user with `email` (any tenant: emails are unique), or 404.
pub async fn user_by_email(auth: &Auth, email: &str) -> Result<UserRow, AuthError> {
    let email = email.trim().to_lowercase();
    auth.store()
        .user_by_email(&email)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("no user with email `{email}`")))
}

fn found(done: bool, id: &str) -> Result<(), AuthError> {
    if done {
        Ok(())
    } else {
        Err(AuthError::NotFound(format!("no user `{id}`")))
    }
}

/// Give user `id` of `tenant_id` a new role; its open sessions carry it
/// within a second.
pub async fn set_user_role(
    auth: &Auth,
    tenant_id: &str,
    id: &str,
    role: Role,
) -> Result<(), AuthError> {
    found(
        auth.store()
            .set_user_role(tenant_id, id, role.as_str())
            .await?,
        id,
    )?;
    auth.forget_sessions();
    Ok(())
}

/// Disable user `id` of `tenant_id` (it cannot sign in, and its sessions
/// end) or enable it again.
pub async fn set_user_disabled(
    auth: &Auth,
    tenant_id: &str,
    id: &str,
    disabled: bool,
) -> Result<(), AuthError> {
    let at = disabled.then(unix_now);
    found(auth.store().set_user_disabled(tenant_id, id, at).await?, id)?;
    if disabled {
        auth.end_user_sessions(id).await?;
    } else {
        auth.forget_sessions();
    }
    Ok(())
}

/// Give user `id` of `tenant_id` a new password; its sessions end (whoever
/// knew the old one is signed out too).
pub async fn set_user_password(
    auth: &Auth,
    tenant_id: &str,
    id: &str,
    password: String,
) -> Result<(), AuthError> {
    let hash = hash_password(password).await?;
    found(
        auth.store().set_user_password(tenant_id, id, &hash).await?,
        id,
    )?;
    auth.end_user_sessions(id).await
}

/// Delete user `id` of `tenant_id` and its sessions.
pub async fn delete_user(auth: &Auth, tenant_id: &str, id: &str) -> Result<(), AuthError> {
    found(auth.store().delete_user(tenant_id, id).await?, id)?;
    auth.forget_sessions();
    Ok(())
}

/// What [`import_admin_key`] did with the operator's admin key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminKeyImport {
    /// Stored now (on a fresh store, with the system tenant).
    Imported { id: String },
    /// Already stored with this secret (a restart, or another replica).
    Present { id: String },
    /// Stored but revoked: it authenticates nothing. The server still
    /// starts (a revoked key in a Secret must not take the gateways down on
    /// their next restart); the caller logs it.
    Revoked { id: String },
}

/// Make `secret` (`sk_<16 hex>_<64 hex>`, typically mounted from a
/// Kubernetes Secret) an `admin` key of the system tenant, creating the
/// tenant on a fresh store. Idempotent and safe for replicas starting
/// together. Used instead of [`bootstrap_admin`]: no key is generated or
/// written to a file. Refused when a key with that id exists with another
/// secret or outside the system tenant (a mistyped or reused key).
pub async fn import_admin_key(auth: &Auth, secret: &str) -> Result<AdminKeyImport, AuthError> {
    let Some(parsed) = crate::auth::keys::parse(secret) else {
        return Err(AuthError::BadRequest(format!(
            "the admin key is not an API key: it must be `{}` + 16 hex digits + `_` + 64 hex digits \
             (e.g. `echo sk_$(openssl rand -hex 8)_$(openssl rand -hex 32)`)",
            crate::auth::keys::KEY_PREFIX
        )));
    };
    let tenant = TenantRow {
        id: SYSTEM_TENANT_ID.into(),
        name: SYSTEM_TENANT_ID.into(),
        created_at: unix_now(),
    };
    match auth.store().create_tenant(&tenant).await {
        Ok(()) | Err(crate::StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let spec = KeySpec {
        name: Some("admin key from configuration".into()),
        scopes: [Scope::Admin].into(),
        expires_in_days: None,
    };
    let id = parsed.id;
    match auth.import_key(SYSTEM_TENANT_ID, spec, secret).await {
        Ok(_) => return Ok(AdminKeyImport::Imported { id }),
        // Stored before: by an earlier start or a replica a moment ago.
        Err(AuthError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    let stored =
        auth.store().key_by_id(&id).await?.ok_or_else(|| {
            AuthError::Internal(format!("key {id} vanished while being imported"))
        })?;
    if stored.tenant_id != SYSTEM_TENANT_ID || !auth.secret_matches(&stored, secret) {
        return Err(AuthError::Conflict(format!(
            "a different key with id {id} is already stored: the admin key in the configuration is not the one this deployment knows; \
             give a new key (a new id), not an edited one"
        )));
    }
    if !Scopes::parse(&stored.scopes).is_ok_and(|scopes| scopes.contains(Scope::Admin)) {
        return Err(AuthError::Conflict(format!(
            "key {id} is stored without the `admin` scope"
        )));
    }
    Ok(match stored.revoked_at {
        Some(_) => AdminKeyImport::Revoked { id },
        None => AdminKeyImport::Present { id },
    })
}

/// On a fresh deployment (no system tenant yet): create the system tenant
/// and an `admin` key for it, write the key to `home/admin-key` (0600) and
/// return that path. `None` when the deployment already has one (also when
/// another replica created it a moment ago).
pub async fn bootstrap_admin(auth: &Auth, home: &Path) -> Result<Option<PathBuf>, AuthError> {
    if auth.store().tenant_by_id(SYSTEM_TENANT_ID).await?.is_some() {
        return Ok(None);
    }
    let row = TenantRow {
        id: SYSTEM_TENANT_ID.into(),
        name: SYSTEM_TENANT_ID.into(),
        created_at: unix_now(),
    };
    match auth.store().create_tenant(&row).await {
        Ok(()) => {}
        Err(crate::StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let created = auth
        .create_key(
            SYSTEM_TENANT_ID,
            KeySpec {
                name: Some("bootstrap admin".into()),
                scopes: [Scope::Admin].into(),
                expires_in_days: None,
            },
        )
        .await?;
    let path = home.join(ADMIN_KEY_FILE);
    write_private_file(&path, format!("{}\n", created.secret).as_bytes(), true)
        .map_err(|e| AuthError::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(path))
}
