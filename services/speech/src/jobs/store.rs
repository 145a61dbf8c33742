//! Jobs in the database: every state change is one conditional statement,
//! so several workers (in one process or many replicas) can share a queue.
//!
//! - **Fairness**: jobs are claimed round-robin across tenants, not first
//!   come first served (a tenant's hundred jobs must not hold back another
//!   tenant's one). Each job gets a `fair_round` when queued: its place in
//!   its tenant's line, counted from the round being served then (the
//!   lowest round still queued, else the highest running): `max(that,
//!   the tenant's last queued or running round + 1)`. The claim takes the
//!   lowest round, then the oldest id. A tenant that queues ten jobs gets
//!   rounds r…r+9; another that queues one afterwards gets round r and goes
//!   second; one that arrives later joins the round being served, neither
//!   jumping ahead of jobs already waiting nor waiting behind a whole
//!   backlog. A job handed back or re-claimed keeps its round.
//! - **Claim**: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`
//!   moves the first claimable job (by round, then id) to `running` under
//!   the caller's lease and bumps its attempt counter. PostgreSQL adds `FOR UPDATE SKIP
//!   LOCKED` so concurrent claimers pass over each other's row instead of
//!   waiting; SQLite runs one writer at a time, so the statement is atomic
//!   as it is. A job is claimable when queued, or when running with an
//!   expired lease (its worker died) and attempts left.
//! - **Heartbeat, progress, completion, failure, release** are conditional
//!   on `status = 'running' AND lease_owner = ? AND attempt = ?`: a worker
//!   that lost its lease (expired and re-claimed, or the job was cancelled)
//!   changes nothing, and learns so from the row count. That is what makes
//!   "completed twice" impossible.
//! - **Cancel** moves queued or running jobs to `cancelled` at once; a
//!   running worker learns it from [`JobStore::holds`] within a second (at
//!   once when the cancel was made in its own process) and stops its model
//!   before the next window.
//!
//! Times are unix milliseconds from the application clock (both backends
//! alike); leases should be long against clock skew between replicas.

use serde::Serialize;
use stratus_kit::db::{DbError, DbPool};

/// The job columns every read returns (not the audio).
macro_rules! columns {
    () => {
        "id, tenant_id, status, task, model, language, prompt, response_format, \
         segment_granularity, filename, content_type, webhook_url, progress, attempt, \
         created_at, started_at, finished_at, result, error_code, error_message, \
         audio_seconds, webhook_status"
    };
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = AudioJobStatus)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// A job as stored (without its audio).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub tenant_id: String,
    pub status: String,
    pub task: String,
    pub model: String,
    pub language: Option<String>,
    pub prompt: Option<String>,
    pub response_format: String,
    pub segment_granularity: bool,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub webhook_url: Option<String>,
    pub progress: f64,
    pub attempt: i32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The transcript written in `response_format`.
    pub result: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub audio_seconds: Option<f64>,
    /// `pending`, `delivered` or `failed`; `None` without a webhook.
    pub webhook_status: Option<String>,
}

impl JobRow {
    pub fn status(&self) -> JobStatus {
        // Only this module writes the column, with the names above.
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }
}

/// Where a tenant's webhook signing stands (see `jobs::webhook`): the
/// generation its current secret is derived at, when that secret was made
/// (unix ms; `None` for the first, never rotated, secret), and until when
/// the previous generation still signs too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningState {
    pub generation: i64,
    pub created_at: Option<i64>,
    pub previous_until: Option<i64>,
}

impl SigningState {
    /// A tenant that never rotated: generation 0, no previous secret.
    pub const FIRST: SigningState = SigningState {
        generation: 0,
        created_at: None,
        previous_until: None,
    };

    /// Whether the previous generation still signs at `now_ms`.
    pub fn previous_active(&self, now_ms: i64) -> bool {
        self.generation > 0 && self.previous_until.is_some_and(|until| until > now_ms)
    }
}

/// A job as metering and billing need it: a finished one (its audio is
/// metered once it succeeded; the budget it held is let go once it failed
/// or was cancelled), or one still queued or running.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BillingJob {
    pub id: String,
    pub tenant_id: String,
    /// The API key it was submitted with, if any.
    pub key_id: Option<String>,
    pub status: String,
    pub model: String,
    pub audio_seconds: Option<f64>,
    pub finished_at: Option<i64>,
}

impl BillingJob {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }
}

/// A claimed job: its row and its audio.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    #[sqlx(flatten)]
    pub row: JobRow,
    pub audio: Option<Vec<u8>>,
}

/// What a worker proves it holds when it changes a running job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: String,
    pub owner: String,
    pub attempt: i32,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: String,
    /// The API key that submitted it (`None`: a dashboard session).
    pub key_id: Option<String>,
    pub task: String,
    pub model: String,
    pub language: Option<String>,
    pub prompt: Option<String>,
    pub response_format: String,
    pub segment_granularity: bool,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub audio: Vec<u8>,
    pub webhook_url: Option<String>,
}

/// How a job ended, as its worker reports it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded { result: String, audio_seconds: f64 },
    Failed { code: String, message: String },
}

/// Errors of the job store.
#[derive(Debug, thiserror::Error)]
pub enum JobStoreError {
    #[error(transparent)]
    Connect(#[from] DbError),
    #[error("job store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("job store migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

type Result<T> = std::result::Result<T, JobStoreError>;

/// The jobs table on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct JobStore {
    pool: DbPool,
}

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl JobStore {
    /// Open the database at `url` (see `stratus_kit::db`) and apply the
    /// speech migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Self::with_pool(stratus_kit::db::connect(url).await?).await
    }

    /// Use `pool` and apply the speech migrations (versions from 1001;
    /// other services' versions in the same database are left alone).
    pub async fn with_pool(pool: DbPool) -> Result<Self> {
        match &pool {
            DbPool::Sqlite(p) => {
                let mut migrator = sqlx::migrate!("./migrations/sqlite");
                migrator.set_ignore_missing(true);
                migrator.run(p).await?;
            }
            DbPool::Postgres(p) => {
                let mut migrator = sqlx::migrate!("./migrations/postgres");
                migrator.set_ignore_missing(true);
                migrator.run(p).await?;
            }
        }
        Ok(Self { pool })
    }

    pub fn backend(&self) -> &'static str {
        self.pool.backend()
    }

    /// Queue `job` unless its tenant already has `max_active` jobs queued
    /// or running (then `None`). The check and the insert are one
    /// statement; on PostgreSQL two concurrent submits may both pass it,
    /// so the limit can be exceeded by the number of racing requests.
    pub async fn insert(&self, job: NewJob, max_active: u32) -> Result<Option<JobRow>> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_ms();
        let max_active = i64::from(max_active);
        let inserted = match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO speech_jobs (id, tenant_id, status, task, model, language, prompt, \
                     response_format, segment_granularity, filename, content_type, audio, webhook_url, \
                     created_at, webhook_status, key_id, fair_round) \
                     SELECT ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, MAX( \
                        COALESCE((SELECT MIN(fair_round) FROM speech_jobs WHERE status = 'queued'), \
                                 (SELECT MAX(fair_round) FROM speech_jobs WHERE status = 'running'), 0), \
                        COALESCE((SELECT MAX(fair_round) + 1 FROM speech_jobs \
                                  WHERE status IN ('queued', 'running') AND tenant_id = ?), 0)) \
                     WHERE (SELECT COUNT(*) FROM speech_jobs WHERE status IN ('queued', 'running') \
                            AND tenant_id = ?) < ?",
                )
                .bind(&id)
                .bind(&job.tenant_id)
                .bind(&job.task)
                .bind(&job.model)
                .bind(&job.language)
                .bind(&job.prompt)
                .bind(&job.response_format)
                .bind(job.segment_granularity)
                .bind(&job.filename)
                .bind(&job.content_type)
                .bind(&job.audio)
                .bind(&job.webhook_url)
                .bind(now)
                .bind(job.webhook_url.as_ref().map(|_| "pending"))
                .bind(&job.key_id)
                .bind(&job.tenant_id)
                .bind(&job.tenant_id)
                .bind(max_active)
                .execute(pool)
                .await?
                .rows_affected()
            }
            DbPool::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO speech_jobs (id, tenant_id, status, task, model, language, prompt, \
                     response_format, segment_granularity, filename, content_type, audio, webhook_url, \
                     created_at, webhook_status, key_id, fair_round) \
                     SELECT $1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, GREATEST( \
                        COALESCE((SELECT MIN(fair_round) FROM speech_jobs WHERE status = 'queued'), \
                                 (SELECT MAX(fair_round) FROM speech_jobs WHERE status = 'running'), 0), \
                        COALESCE((SELECT MAX(fair_round) + 1 FROM speech_jobs \
                                  WHERE status IN ('queued', 'running') AND tenant_id = $2), 0)) \
                     WHERE (SELECT COUNT(*) FROM speech_jobs WHERE status IN ('queued', 'running') \
                            AND tenant_id = $2) < $15",
                )
                .bind(&id)
                .bind(&job.tenant_id)
                .bind(&job.task)
                .bind(&job.model)
                .bind(&job.language)
                .bind(&job.prompt)
                .bind(&job.response_format)
                .bind(job.segment_granularity)
                .bind(&job.filename)
                .bind(&job.content_type)
                .bind(&job.audio)
                .bind(&job.webhook_url)
                .bind(now)
                .bind(job.webhook_url.as_ref().map(|_| "pending"))
                .bind(max_active)
                .bind(&job.key_id)
                .execute(pool)
                .await?
                .rows_affected()
            }
        };
        if inserted == 0 {
            return Ok(None);
        }
        self.get(&job.tenant_id, &id).await
    }

    /// The tenant's job `id`; another tenant's job is `None`, like a
    /// missing one.
    pub async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<JobRow>> {
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE tenant_id = ? AND id = ?"
                ))
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
            }
        })
    }

    /// Job `id` whatever its tenant (for the worker that finished it).
    pub async fn get_any(&self, id: &str) -> Result<Option<JobRow>> {
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE id = ?"
                ))
                .bind(id)
                .fetch_optional(pool)
                .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(pool)
                .await?
            }
        })
    }

    /// The tenant's jobs newest first, starting after job id `after` (the
    /// cursor: ids are time-ordered), at most `limit`.
    pub async fn list(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<JobRow>> {
        let limit = i64::from(limit);
        // Past every UUID when there is no cursor ('~' sorts after hex).
        let after = after.unwrap_or("~");
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
                ))
                .bind(tenant_id)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            DbPool::Postgres(pool) => {
                // `COLLATE "C"`: byte order, as UUID strings sort in SQLite,
                // whatever the database's locale.
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM speech_jobs WHERE tenant_id = $1 AND id COLLATE \"C\" < $2 \
                     ORDER BY id COLLATE \"C\" DESC LIMIT $3"
                ))
                .bind(tenant_id)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        })
    }

    /// How many jobs are queued and how many running, across the store
    /// (every replica's), for the backlog gauge.
    pub async fn backlog(&self) -> Result<(i64, i64)> {
        const SQL: &str = "SELECT \
            COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0), \
            COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0) \
            FROM speech_jobs WHERE status IN ('queued', 'running')";
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => sqlx::query_as(SQL).fetch_one(pool).await?,
            DbPool::Postgres(pool) => sqlx::query_as(SQL).fetch_one(pool).await?,
        })
    }

    /// Cancel the tenant's job `id` if it is queued or running; the job as
    /// it is afterwards (unchanged when it had already ended), `None` when
    /// the tenant has no such job.
    pub async fn cancel(&self, tenant_id: &str, id: &str) -> Result<Option<JobRow>> {
        let now = now_ms();
        match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query(
                    "UPDATE speech_jobs SET status = 'cancelled', finished_at = ?, audio = NULL, \
                     lease_owner = NULL, lease_expires_at = NULL, webhook_status = NULL \
                     WHERE tenant_id = ? AND id = ? AND status IN ('queued', 'running')",
                )
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .execute(pool)
                .await?;
            }
            DbPool::Postgres(pool) => {
                sqlx::query(
                    "UPDATE speech_jobs SET status = 'cancelled', finished_at = $1, audio = NULL, \
                     lease_owner = NULL, lease_expires_at = NULL, webhook_status = NULL \
                     WHERE tenant_id = $2 AND id = $3 AND status IN ('queued', 'running')",
                )
                .bind(now)
                .bind(tenant_id)
                .bind(id)
                .execute(pool)
                .await?;
            }
        }
        self.get(tenant_id, id).await
    }

    /// Claim the next claimable job (round-robin across tenants, see the
    /// module docs) for `owner` with a lease of
    /// `lease_ms`, first failing the jobs whose worker died too often
    /// (running, lease expired, `max_attempts` used).
    pub async fn claim(
        &self,
        owner: &str,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<ClaimedJob>> {
        let now = now_ms();
        let max_attempts = i64::from(max_attempts);
        let lost = format!("the job's worker stopped {max_attempts} times before finishing it");
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query(
                    "UPDATE speech_jobs SET status = 'failed', finished_at = ?, audio = NULL, \
                     lease_owner = NULL, error_code = 'worker_lost', error_message = ? \
                     WHERE status = 'running' AND lease_expires_at < ? AND attempt >= ?",
                )
                .bind(now)
                .bind(&lost)
                .bind(now)
                .bind(max_attempts)
                .execute(pool)
                .await?;
                sqlx::query_as(concat!(
                    "UPDATE speech_jobs SET status = 'running', attempt = attempt + 1, \
                     lease_owner = ?, lease_expires_at = ?, started_at = COALESCE(started_at, ?) \
                     WHERE id = (SELECT id FROM speech_jobs WHERE status = 'queued' \
                        OR (status = 'running' AND lease_expires_at < ? AND attempt < ?) \
                        ORDER BY fair_round, id LIMIT 1) \
                     RETURNING audio, ",
                    columns!()
                ))
                .bind(owner)
                .bind(now + lease_ms)
                .bind(now)
                .bind(now)
                .bind(max_attempts)
                .fetch_optional(pool)
                .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query(
                    "UPDATE speech_jobs SET status = 'failed', finished_at = $1, audio = NULL, \
                     lease_owner = NULL, error_code = 'worker_lost', error_message = $2 \
                     WHERE status = 'running' AND lease_expires_at < $1 AND attempt >= $3",
                )
                .bind(now)
                .bind(&lost)
                .bind(max_attempts)
                .execute(pool)
                .await?;
                sqlx::query_as(concat!(
                    "UPDATE speech_jobs SET status = 'running', attempt = attempt + 1, \
                     lease_owner = $1, lease_expires_at = $2, started_at = COALESCE(started_at, $3) \
                     WHERE id = (SELECT id FROM speech_jobs WHERE status = 'queued' \
                        OR (status = 'running' AND lease_expires_at < $3 AND attempt < $4) \
                        ORDER BY fair_round, id COLLATE \"C\" LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     RETURNING audio, ",
                    columns!()
                ))
                .bind(owner)
                .bind(now + lease_ms)
                .bind(now)
                .bind(max_attempts)
                .fetch_optional(pool)
                .await?
            }
        })
    }

    /// Extend `lease` by `lease_ms` and, when given, record `progress`.
    /// `false` when the lease is no longer held (cancelled, or expired and
    /// re-claimed): the worker must stop.
    pub async fn renew(&self, lease: &Lease, lease_ms: i64, progress: Option<f64>) -> Result<bool> {
        let until = now_ms() + lease_ms;
        let affected = match &self.pool {
            DbPool::Sqlite(pool) => sqlx::query(
                "UPDATE speech_jobs SET lease_expires_at = ?, progress = COALESCE(?, progress) \
                     WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?",
            )
            .bind(until)
            .bind(progress)
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
            DbPool::Postgres(pool) => sqlx::query(
                "UPDATE speech_jobs SET lease_expires_at = $1, progress = COALESCE($2, progress) \
                     WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempt = $5",
            )
            .bind(until)
            .bind(progress)
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(affected == 1)
    }

    /// Whether `lease` still holds its job (a read: false once the job was
    /// cancelled or taken over). Workers ask this often, so a cancel made
    /// on another replica stops the model within about a second.
    pub async fn holds(&self, lease: &Lease) -> Result<bool> {
        let held: Option<i32> = match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT attempt FROM speech_jobs \
                     WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?",
                )
                .bind(&lease.job_id)
                .bind(&lease.owner)
                .bind(lease.attempt)
                .fetch_optional(pool)
                .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT attempt FROM speech_jobs \
                     WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND attempt = $3",
                )
                .bind(&lease.job_id)
                .bind(&lease.owner)
                .bind(lease.attempt)
                .fetch_optional(pool)
                .await?
            }
        };
        Ok(held.is_some())
    }

    /// End the job held by `lease` with `outcome`; `false` (and nothing
    /// changed) when the lease is no longer held, so a job is finished at
    /// most once.
    pub async fn finish(&self, lease: &Lease, outcome: &Outcome) -> Result<bool> {
        let (status, result, seconds, code, message) = match outcome {
            Outcome::Succeeded {
                result,
                audio_seconds,
            } => ("succeeded", Some(result), Some(*audio_seconds), None, None),
            Outcome::Failed { code, message } => ("failed", None, None, Some(code), Some(message)),
        };
        let now = now_ms();
        let affected = match &self.pool {
            DbPool::Sqlite(pool) => sqlx::query(
                "UPDATE speech_jobs SET status = ?, result = ?, audio_seconds = ?, \
                     error_code = ?, error_message = ?, finished_at = ?, \
                     progress = CASE WHEN ? = 'succeeded' THEN 1.0 ELSE progress END, \
                     audio = NULL, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?",
            )
            .bind(status)
            .bind(result)
            .bind(seconds)
            .bind(code)
            .bind(message)
            .bind(now)
            .bind(status)
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
            DbPool::Postgres(pool) => sqlx::query(
                "UPDATE speech_jobs SET status = $1, result = $2, audio_seconds = $3, \
                     error_code = $4, error_message = $5, finished_at = $6, \
                     progress = CASE WHEN $1 = 'succeeded' THEN 1.0 ELSE progress END, \
                     audio = NULL, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = $7 AND status = 'running' AND lease_owner = $8 AND attempt = $9",
            )
            .bind(status)
            .bind(result)
            .bind(seconds)
            .bind(code)
            .bind(message)
            .bind(now)
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(affected == 1)
    }

    /// Hand the job back to the queue without using up an attempt (this
    /// worker could not start it: model not loaded here, model queue full).
    pub async fn release(&self, lease: &Lease) -> Result<bool> {
        let affected = match &self.pool {
            DbPool::Sqlite(pool) => sqlx::query(
                "UPDATE speech_jobs SET status = 'queued', attempt = attempt - 1, \
                     lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?",
            )
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
            DbPool::Postgres(pool) => sqlx::query(
                "UPDATE speech_jobs SET status = 'queued', attempt = attempt - 1, \
                     lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND attempt = $3",
            )
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(affected == 1)
    }

    /// Record how the webhook delivery of job `id` ended.
    pub async fn set_webhook_status(&self, id: &str, status: &str) -> Result<()> {
        match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query("UPDATE speech_jobs SET webhook_status = ? WHERE id = ?")
                    .bind(status)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
            DbPool::Postgres(pool) => {
                sqlx::query("UPDATE speech_jobs SET webhook_status = $1 WHERE id = $2")
                    .bind(status)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Jobs that ended (succeeded, failed or cancelled) at or after
    /// `from_ms`, oldest first (at most `limit`): what the gateway meters a
    /// job's audio from, and releases a failed or cancelled job's budget
    /// reservation by.
    pub async fn finished_since(&self, from_ms: i64, limit: i64) -> Result<Vec<BillingJob>> {
        let sql = "SELECT id, tenant_id, key_id, status, model, audio_seconds, finished_at FROM speech_jobs \
                   WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at >= ? \
                   ORDER BY finished_at, id LIMIT ?";
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(from_ms)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(
                    sql.replacen('?', "$1", 1).replacen('?', "$2", 1),
                ))
                .bind(from_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        })
    }

    /// Job `id` as billing sees it, whatever its state and tenant (`None`:
    /// no such job).
    pub async fn billing_state(&self, id: &str) -> Result<Option<BillingJob>> {
        let sql = "SELECT id, tenant_id, key_id, status, model, audio_seconds, finished_at FROM speech_jobs \
                   WHERE id = ?";
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?,
            DbPool::Postgres(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.replacen('?', "$1", 1)))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// Tenant `tenant_id`'s webhook signing state ([`SigningState::FIRST`]
    /// until it first rotates).
    pub async fn signing_state(&self, tenant_id: &str) -> Result<SigningState> {
        let sql = "SELECT generation, created_at, previous_until FROM speech_webhook_secrets \
                   WHERE tenant_id = ?";
        let row: Option<SigningState> = match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(tenant_id)
                    .fetch_optional(pool)
                    .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.replacen('?', "$1", 1)))
                    .bind(tenant_id)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(row.unwrap_or(SigningState::FIRST))
    }

    /// Move tenant `tenant_id` to its next signing generation at `now_ms`;
    /// the one it replaces keeps signing until `previous_until_ms`. One
    /// statement, so concurrent rotations each get their own generation.
    pub async fn rotate_signing(
        &self,
        tenant_id: &str,
        now_ms: i64,
        previous_until_ms: i64,
    ) -> Result<SigningState> {
        let sql = "INSERT INTO speech_webhook_secrets (tenant_id, generation, created_at, previous_until) \
                   VALUES (?, 1, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET \
                   generation = speech_webhook_secrets.generation + 1, \
                   created_at = excluded.created_at, previous_until = excluded.previous_until \
                   RETURNING generation, created_at, previous_until";
        Ok(match &self.pool {
            DbPool::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(tenant_id)
                    .bind(now_ms)
                    .bind(previous_until_ms)
                    .fetch_one(pool)
                    .await?
            }
            DbPool::Postgres(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(
                    sql.replacen('?', "$1", 1)
                        .replacen('?', "$2", 1)
                        .replacen('?', "$3", 1),
                ))
                .bind(tenant_id)
                .bind(now_ms)
                .bind(previous_until_ms)
                .fetch_one(pool)
                .await?
            }
        })
    }

    /// The underlying pool (tests reach past the API with it).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }
}
