//! The gateway's store: SQLite (embedded default, a file under
//! `$STRATUS_HOME`) or PostgreSQL (scale-out), same schema, same behaviour.
//!
//! Each backend has its own migration folder (`migrations/sqlite`,
//! `migrations/postgres`) because the SQL dialects differ; the migrations are
//! compiled into the binary and applied at start.
//!
//! - [`usage`] — usage events: idempotent batched inserts, a tenant's
//!   events after a cursor, bucketed sums, export cursors.
//! - [`billing`] — tenants' plans and budgets, budget reservations
//!   (the conditional update that enforces hard limits), closed invoices.
//! - [`identity`] — tenants, API keys and dashboard users.
//! - [`limits`] — per-tenant and per-key rate and concurrency limits.

pub mod billing;
pub mod identity;
pub mod limits;

pub mod usage;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
pub use stratus_kit::db::redact;
use stratus_kit::db::{DbError, DbPool};

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Connect(#[from] DbError),
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
        let store = match stratus_kit::db::connect(url).await? {
            DbPool::Sqlite(pool) => Store::Sqlite(pool),
            DbPool::Postgres(pool) => Store::Postgres(pool),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                shared(sqlx::migrate!("./migrations/sqlite"))
                    .run(pool)
                    .await?
            }
            Store::Postgres(pool) => {
                shared(sqlx::migrate!("./migrations/postgres"))
                    .run(pool)
                    .await?
            }
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

/// A migrator that leaves other services' migrations alone: the speech
/// service keeps its jobs in the same database under versions from 1001
/// (see `stratus_kit::db`).
fn shared(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    migrator.set_ignore_missing(true);
    migrator
}
