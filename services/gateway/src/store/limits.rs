//! Rows of per-tenant and per-key limits (migration `0004_limits.sql`),
//! the same queries on SQLite and PostgreSQL. What the numbers mean and
//! how they are enforced is `crate::limits`; this file only reads and
//! writes rows.

use super::{Store, StoreError};

/// Run `$body` with `$pool` bound to whichever pool `$store` holds.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Whose limits a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitScope {
    Tenant,
    Key,
}

impl LimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitScope::Tenant => "tenant",
            LimitScope::Key => "key",
        }
    }
}

/// One subject's limits as stored; `None` is "the server default".
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LimitRow {
    pub scope: String,
    pub subject_id: String,
    pub tenant_id: String,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub audio_seconds_per_minute: Option<i64>,
    pub concurrent_requests: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str = "scope, subject_id, tenant_id, requests_per_minute, tokens_per_minute, \
     audio_seconds_per_minute, concurrent_requests, updated_at";

impl Store {
    /// The limits row of `subject_id`, if one was set.
    pub async fn limits_of(
        &self,
        scope: LimitScope,
        subject_id: &str,
    ) -> Result<Option<LimitRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM limits WHERE scope = $1 AND subject_id = $2");
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(scope.as_str())
            .bind(subject_id)
            .fetch_optional(pool)
            .await?))
    }

    /// Create or replace a limits row.
    pub async fn put_limits(&self, row: &LimitRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO limits ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (scope, subject_id) DO UPDATE SET \
             requests_per_minute = excluded.requests_per_minute, \
             tokens_per_minute = excluded.tokens_per_minute, \
             audio_seconds_per_minute = excluded.audio_seconds_per_minute, \
             concurrent_requests = excluded.concurrent_requests, \
             updated_at = excluded.updated_at"
        );
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&row.scope)
            .bind(&row.subject_id)
            .bind(&row.tenant_id)
            .bind(row.requests_per_minute)
            .bind(row.tokens_per_minute)
            .bind(row.audio_seconds_per_minute)
            .bind(row.concurrent_requests)
            .bind(row.updated_at)
            .execute(pool)
            .await
            .map(drop)?);
        Ok(())
    }

    /// Remove `subject_id`'s limits row; whether there was one.
    pub async fn delete_limits(
        &self,
        scope: LimitScope,
        subject_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM limits WHERE scope = $1 AND subject_id = $2";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(scope.as_str())
            .bind(subject_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }
}
