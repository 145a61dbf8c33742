//! Rows of identity and access (migrations `0002_identity.sql`,
//! `0006_sessions.sql`): tenants, API keys, dashboard users and their
//! sessions, the same queries on SQLite and PostgreSQL.
//!
//! One SQL text serves both backends: `$N` parameters are understood by
//! both, and every column is TEXT or a 64-bit integer (times are Unix
//! seconds). What a row means (scopes, roles, key format) is decided in
//! `auth` and `tenants`; this file only reads and writes rows.

use serde::Serialize;

use super::{Store, StoreError};

/// Run `$body` with `$pool` bound to whichever pool `$store` holds; the body
/// is compiled once per backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Most rows one list call returns; lists are per tenant and small, and an
/// unbounded answer is never what a caller wants.
pub const LIST_LIMIT: i64 = 1000;

/// A tenant (organisation). `created_at` is Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Tenant, example = json!({"id": "ten_0192f7c1a2b3", "name": "acme", "created_at": 1764300000}))]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// An API key as stored (the secret itself never is).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub secret_hash: String,
    /// Comma-separated scope names.
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A dashboard user as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    /// When the user was disabled (cannot sign in; sessions refused).
    pub disabled_at: Option<i64>,
}

/// A dashboard session as stored: the JWT names it by `id`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// A session with its user's state now: what a request's session check
/// needs in one round trip. `None` from [`Store::live_session`] when the
/// session or its user does not exist (a deleted user's sessions are gone).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveSession {
    pub user_id: String,
    pub tenant_id: String,
    /// The user's role now (a role change applies to open sessions).
    pub role: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub disabled_at: Option<i64>,
}

/// A unique constraint turned into [`StoreError::Conflict`] naming `what`.
fn conflict(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => StoreError::Database(e),
    }
}

const USER_COLUMNS: &str = "id, tenant_id, email, password_hash, role, created_at, disabled_at";

const KEY_COLUMNS: &str =
    "id, tenant_id, name, secret_hash, scopes, created_at, expires_at, revoked_at, last_used_at";

impl Store {
    /// Create a tenant; a taken name is [`StoreError::Conflict`].
    pub async fn create_tenant(&self, row: &TenantRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.name)
            .bind(row.created_at)
            .execute(pool)
            .await
            .map(drop)
            .map_err(conflict(&format!("tenant `{}` already exists", row.name)))?);
        Ok(())
    }

    /// Every tenant, oldest first (at most [`LIST_LIMIT`]).
    pub async fn list_tenants(&self) -> Result<Vec<TenantRow>, StoreError> {
        let sql = "SELECT id, name, created_at FROM tenants ORDER BY created_at, id LIMIT $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(LIST_LIMIT).fetch_all(pool).await?))
    }

    /// The tenant called `name`.
    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRow>, StoreError> {
        let sql = "SELECT id, name, created_at FROM tenants WHERE name = $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(name).fetch_optional(pool).await?))
    }

    /// The tenant with id `id`.
    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<TenantRow>, StoreError> {
        let sql = "SELECT id, name, created_at FROM tenants WHERE id = $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
    }

    /// Store a new key.
    pub async fn insert_key(&self, row: &KeyRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.name)
            .bind(&row.secret_hash)
            .bind(&row.scopes)
            .bind(row.created_at)
            .bind(row.expires_at)
            .bind(row.revoked_at)
            .bind(row.last_used_at)
            .execute(pool)
            .await
            .map(drop)
            .map_err(conflict("key id already exists"))?);
        Ok(())
    }

    /// The key with public id `id`, in any tenant (authentication looks
    /// keys up by the id inside the presented key).
    pub async fn key_by_id(&self, id: &str) -> Result<Option<KeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
    }

    /// The keys of one tenant, newest first (at most [`LIST_LIMIT`]).
    pub async fn list_keys(&self, tenant_id: &str) -> Result<Vec<KeyRow>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(LIST_LIMIT)
            .fetch_all(pool)
            .await?))
    }

    /// Revoke key `id` of tenant `tenant_id` at `now` (a key already revoked
    /// keeps its first revocation time). `false` when the tenant has no such
    /// key: another tenant's key is "not found", never revoked.
    pub async fn revoke_key(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND tenant_id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(now)
            .bind(id)
            .bind(tenant_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Record that key `id` was used at `at`; never moves the time back, so
    /// flushes from several replicas in any order keep the latest.
    pub async fn touch_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let sql = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)";
        with_pool!(self, pool => sqlx::query(sql).bind(at).bind(id).execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Store a new user; a taken email is [`StoreError::Conflict`].
    pub async fn insert_user(&self, row: &UserRow) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.email)
            .bind(&row.password_hash)
            .bind(&row.role)
            .bind(row.created_at)
            .bind(row.disabled_at)
            .execute(pool)
            .await
            .map(drop)
            .map_err(conflict(&format!("a user with email `{}` already exists", row.email)))?);
        Ok(())
    }

    /// The user with `email` (already normalised by the caller).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(email).fetch_optional(pool).await?))
    }

    /// The users of one tenant, oldest first (at most [`LIST_LIMIT`]): the
    /// dashboard's members page.
    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2"
        );
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(LIST_LIMIT)
            .fetch_all(pool)
            .await?))
    }

    /// The user with id `id`.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
    }

    /// Store a new key unless tenant `row.tenant_id` already has `cap` keys
    /// that still work at `now` (neither revoked nor expired). `false`:
    /// refused, nothing stored. One statement, so on SQLite (one writer)
    /// the cap is exact; on PostgreSQL concurrent creations may each see
    /// the count below the cap, overshooting by at most the creations in
    /// flight at once.
    pub async fn insert_key_capped(
        &self,
        row: &KeyRow,
        cap: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
             WHERE (SELECT COUNT(*) FROM api_keys WHERE tenant_id = $2 AND revoked_at IS NULL \
                    AND (expires_at IS NULL OR expires_at > $10)) < $11"
        );
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.name)
            .bind(&row.secret_hash)
            .bind(&row.scopes)
            .bind(row.created_at)
            .bind(row.expires_at)
            .bind(row.revoked_at)
            .bind(row.last_used_at)
            .bind(now)
            .bind(i64::from(cap))
            .execute(pool)
            .await
            .map_err(conflict("key id already exists"))?
            .rows_affected());
        Ok(done == 1)
    }

    /// Change the role of user `id` of tenant `tenant_id`; `false` when the
    /// tenant has no such user (another tenant's user is never changed).
    pub async fn set_user_role(
        &self,
        tenant_id: &str,
        id: &str,
        role: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET role = $1 WHERE id = $2 AND tenant_id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(role)
            .bind(id)
            .bind(tenant_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Disable user `id` of `tenant_id` at `at` (`Some`; a user already
    /// disabled keeps its first time) or enable it again (`None`). `false`
    /// when the tenant has no such user.
    pub async fn set_user_disabled(
        &self,
        tenant_id: &str,
        id: &str,
        at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = match at {
            Some(at) => {
                let sql = "UPDATE users SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2 AND tenant_id = $3";
                with_pool!(self, pool => sqlx::query(sql)
                    .bind(at)
                    .bind(id)
                    .bind(tenant_id)
                    .execute(pool)
                    .await?
                    .rows_affected())
            }
            None => {
                let sql = "UPDATE users SET disabled_at = NULL WHERE id = $1 AND tenant_id = $2";
                with_pool!(self, pool => sqlx::query(sql)
                    .bind(id)
                    .bind(tenant_id)
                    .execute(pool)
                    .await?
                    .rows_affected())
            }
        };
        Ok(done == 1)
    }

    /// Replace the password hash of user `id` of `tenant_id`; `false` when
    /// the tenant has no such user.
    pub async fn set_user_password(
        &self,
        tenant_id: &str,
        id: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE users SET password_hash = $1 WHERE id = $2 AND tenant_id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(password_hash)
            .bind(id)
            .bind(tenant_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Delete user `id` of `tenant_id` and its sessions, in one
    /// transaction; `false` when the tenant has no such user.
    pub async fn delete_user(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let sessions = "DELETE FROM sessions WHERE user_id = $1 AND tenant_id = $2";
        let user = "DELETE FROM users WHERE id = $1 AND tenant_id = $2";
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sessions).bind(id).bind(tenant_id).execute(&mut *tx).await?;
            let done = sqlx::query(user)
                .bind(id)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        });
        Ok(done == 1)
    }

    /// Store a new session.
    pub async fn insert_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO sessions (id, user_id, tenant_id, created_at, expires_at, revoked_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.user_id)
            .bind(&row.tenant_id)
            .bind(row.created_at)
            .bind(row.expires_at)
            .bind(row.revoked_at)
            .execute(pool)
            .await
            .map(drop)
            .map_err(conflict("session id already exists"))?);
        Ok(())
    }

    /// Session `id` with its user's current role and state; `None` when
    /// either is gone.
    pub async fn live_session(&self, id: &str) -> Result<Option<LiveSession>, StoreError> {
        let sql = "SELECT s.user_id, s.tenant_id, u.role, s.expires_at, s.revoked_at, u.disabled_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id \
                   WHERE s.id = $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
    }

    /// End session `id` at `now` (sign-out); `false` when there is no such
    /// live session.
    pub async fn revoke_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// End every session of user `user_id` at `now`; how many were open.
    pub async fn revoke_user_sessions(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
        let sql = "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(now)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()))
    }

    /// Forget sessions that expired before `before`; how many.
    pub async fn delete_expired_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE expires_at < $1";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()))
    }
}
