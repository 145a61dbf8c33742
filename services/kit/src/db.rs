//! Opening the store's database from a URL, shared by every service that
//! keeps state (the gateway's tenants and usage, the speech service's jobs):
//! `sqlite://PATH` (embedded default; the file and its folder are created)
//! or `postgres://…` (scale-out). Each service applies its own migrations on
//! the pool it gets here; migration versions are kept apart per service (the
//! gateway's from 1, speech's from 1001) and every migrator ignores the
//! versions it does not know, so several share one database.
//!
//! Behind the `db` feature so services without a store do not build sqlx.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("store URL `{0}` is not supported: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the folder for the SQLite store {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the store at {url}: {source}")]
    Connect {
        /// The URL with its password redacted: host, port and database
        /// are what an operator needs to see what was tried.
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl DbPool {
    /// Which backend this is, for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            DbPool::Sqlite(_) => "sqlite",
            DbPool::Postgres(_) => "postgres",
        }
    }
}

/// Connect to `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
pub async fn connect(url: &str) -> Result<DbPool, DbError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers (dashboard, usage API, job polls) run beside
            // the writer; NORMAL sync is durable across process crashes in WAL.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(DbPool::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let connect_error = |source| DbError::Connect {
            url: redact(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect_error)?;
        // One connection first, on its own: a pool that cannot connect
        // retries until its acquire timeout and reports only "pool timed
        // out", hiding the cause (refused, unknown host, bad password).
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(probe)) => {
                let _ = probe.close().await;
            }
            Ok(Err(source)) => return Err(connect_error(source)),
            Err(_) => return Err(connect_error(sqlx::Error::PoolTimedOut)),
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        Ok(DbPool::Postgres(pool))
    } else {
        Err(DbError::UnsupportedUrl(redact(url)))
    }
}

/// How long connecting to PostgreSQL may take, and a pool may wait for a
/// free connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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

    #[tokio::test]
    async fn a_refused_connection_names_the_host_and_the_cause_never_the_password() {
        // Port 9 on loopback: nothing listens (the discard port is not run
        // on these machines), so the connection is refused at once.
        let error = connect("postgres://stratus:hunter2@127.0.0.1:9/stratus")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("127.0.0.1:9/stratus"), "{error}");
        assert!(error.to_lowercase().contains("refused"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
