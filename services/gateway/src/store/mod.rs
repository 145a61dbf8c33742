//! The gateway's store: SQLite (embedded default, a file under
//! `$STRATUS_HOME`) or PostgreSQL (scale-out), same schema, same behaviour.
//!
//! Each backend has its own migration folder (`migrations/sqlite`,
//! `migrations/postgres`) because the SQL dialects differ; the migrations are
//! compiled into the binary and applied at start.
//!
//! - [`identity`] — tenants, API keys and dashboard users.

pub mod identity;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL `{0}` is not supported: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the folder for the SQLite store {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    /// A unique name or id is taken (a tenant name, a user's email).
    #[error("{0}")]
    Conflict(String),
    #[error("store migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Connect to `url` (`sqlite://PATH` — created if missing — or
    /// `postgres://…`) and apply pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL lets readers (dashboard, usage API) run beside the
                // writer; NORMAL sync is durable across process crashes in WAL.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Store::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await?;
            Store::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Store::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Which backend this is, for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// A round trip to the database (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    /// The deployment's id, created on first use. Concurrent first starts on
    /// one store agree on one id (insert-if-absent, then read).
    pub async fn instance_id(&self) -> Result<String, StoreError> {
        let fresh = uuid::Uuid::now_v7().to_string();
        match self {
            Store::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO stratus_instance (id, created_at) SELECT ?, datetime('now') WHERE NOT EXISTS (SELECT 1 FROM stratus_instance)",
                )
                .bind(&fresh)
                .execute(pool)
                .await?;
                Ok(sqlx::query_scalar(
                    "SELECT id FROM stratus_instance ORDER BY created_at LIMIT 1",
                )
                .fetch_one(pool)
                .await?)
            }
            Store::Postgres(pool) => {
                // Serialise first starts so two replicas cannot both insert.
                let mut tx = pool.begin().await?;
                sqlx::query("LOCK TABLE stratus_instance IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO stratus_instance (id, created_at) SELECT $1, now() WHERE NOT EXISTS (SELECT 1 FROM stratus_instance)",
                )
                .bind(&fresh)
                .execute(&mut *tx)
                .await?;
                let id = sqlx::query_scalar(
                    "SELECT id FROM stratus_instance ORDER BY created_at LIMIT 1",
                )
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }
}

/// `url` with any password replaced, safe to log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }
}
