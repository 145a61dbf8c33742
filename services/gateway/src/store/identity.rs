//! Rows of identity and access (migration `0002_identity.sql`): tenants,
//! API keys and dashboard users, the same queries on SQLite and PostgreSQL.
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
        let sql = "INSERT INTO users (id, tenant_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.email)
            .bind(&row.password_hash)
            .bind(&row.role)
            .bind(row.created_at)
            .execute(pool)
            .await
            .map(drop)
            .map_err(conflict(&format!("a user with email `{}` already exists", row.email)))?);
        Ok(())
    }

    /// The user with `email` (already normalised by the caller).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = "SELECT id, tenant_id, email, password_hash, role, created_at FROM users WHERE email = $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(email).fetch_optional(pool).await?))
    }

    /// The users of one tenant, oldest first (at most [`LIST_LIMIT`]): the
    /// dashboard's members page.
    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRow>, StoreError> {
        let sql = "SELECT id, tenant_id, email, password_hash, role, created_at FROM users \
                   WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2";
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(LIST_LIMIT)
            .fetch_all(pool)
            .await?))
    }

    /// The user with id `id`.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql =
            "SELECT id, tenant_id, email, password_hash, role, created_at FROM users WHERE id = $1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
    }
}
