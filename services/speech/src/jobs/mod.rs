//! Asynchronous transcription jobs for long audio.
//!
//! `POST /v1/audio/jobs` only checks the request (form, model, audio
//! header) and queues the job with its audio in the store; a bounded pool
//! of workers ([`worker`]) claims jobs under a lease, transcribes them on
//! the model's worker thread reporting progress per segment, and stores the
//! result in the format asked for. Clients poll `GET /v1/audio/jobs/{id}`
//! or give a `webhook_url` ([`webhook`]).
//!
//! ## Layout
//! - [`store`] — the jobs table on SQLite/PostgreSQL: claim, lease, finish,
//!   each one conditional statement, so many workers share one queue.
//! - [`worker`] — the worker pool: claim, heartbeat, progress, cancel
//!   (a running job stops before its next 30 s window).
//! - [`webhook`] — signing and delivering the completion callback.
//! - [`signing`] — the tenant's webhook secret over HTTP (read, rotate).
//! - [`api`] — the HTTP endpoints and the job's JSON.
//! - [`metrics`] — the backlog gauge and webhook delivery counts.
//!
//! ## Tenants
//! A job belongs to the tenant of the request's
//! [`stratus_kit::context::TenantContext`] (set when the gateway forwarded
//! it). A speech service run on its own, without a gateway, has no tenant
//! context: its jobs all belong to the tenant [`DEFAULT_TENANT`]. Another
//! tenant's job id answers 404, like a missing one.
//!
//! ## Crashes
//! A job whose worker dies stays `running` until its lease expires; then
//! any worker may claim it again (attempt + 1), up to `max_attempts`, after
//! which it fails with `worker_lost`. Every write of a running job is
//! conditional on the lease (owner and attempt), so a worker that lost its
//! lease can neither report progress nor finish the job: a job completes at
//! most once.

pub mod api;
pub mod metrics;
pub mod signing;
pub mod store;
pub mod webhook;
pub mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stratus_kit::destination::DestinationPolicy;
use stratus_kit::error::ApiError;
use tokio::sync::Notify;

pub use store::{JobRow, JobStatus, JobStore, JobStoreError};
pub use worker::JobWorkers;

use crate::SpeechError;

/// The tenant of requests without a tenant context (a speech service run
/// without a gateway in front).
pub const DEFAULT_TENANT: &str = "default";

/// Knobs of the job system.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Jobs transcribed at once by this process.
    pub workers: usize,
    /// How long a claimed job stays with its worker without a heartbeat.
    pub lease: Duration,
    /// Claims of one job (the first included) before a job whose worker
    /// keeps dying is failed.
    pub max_attempts: u32,
    /// Jobs one tenant may have queued or running; more answer 429.
    pub max_active_per_tenant: u32,
    /// How often an idle worker looks for work queued by other replicas
    /// (jobs queued here wake a worker at once).
    pub poll_interval: Duration,
    /// Signs webhooks; without it, `webhook_url` is refused.
    pub webhook_secret: Option<webhook::WebhookSecret>,
    /// Where webhooks may go (default: https to public addresses only).
    pub webhook_policy: DestinationPolicy,
    /// Limit of one webhook try.
    pub webhook_timeout: Duration,
    /// Tries per webhook.
    pub webhook_attempts: u32,
    /// Wait before the second try, doubled after each.
    pub webhook_backoff: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            lease: Duration::from_secs(60),
            max_attempts: 3,
            max_active_per_tenant: 100,
            poll_interval: Duration::from_secs(2),
            webhook_secret: None,
            webhook_policy: DestinationPolicy::new(),
            webhook_timeout: Duration::from_secs(10),
            webhook_attempts: 5,
            webhook_backoff: Duration::from_secs(1),
        }
    }
}

/// Counters of what this process's workers did (tests and logs).
#[derive(Debug, Default)]
pub struct JobStats {
    /// Jobs this process finished as succeeded.
    pub succeeded: AtomicU64,
    /// Jobs this process finished as failed.
    pub failed: AtomicU64,
    /// Finishes refused because the lease was gone.
    pub lost: AtomicU64,
    /// Jobs whose transcription this process stopped midway (cancelled, or
    /// the lease lost).
    pub stopped: AtomicU64,
    /// The most audio (milliseconds) a stopped job's model decoded after
    /// the stop was asked (the job cancelled, its lease lost): how promptly
    /// a cancel takes effect, at most the 30 s window in progress.
    pub decoded_after_stop_ms: AtomicU64,
}

impl JobStats {
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
    }

    pub fn stopped(&self) -> u64 {
        self.stopped.load(Ordering::Relaxed)
    }
}

/// What a running job's worker and its model share: the stop flag the
/// model checks at every segment and window, and how far it got.
#[derive(Debug)]
pub(crate) struct Control {
    stop: AtomicBool,
    /// Milliseconds of audio decoded so far.
    position_ms: AtomicU64,
    /// `position_ms` when the stop was asked.
    asked_at_ms: AtomicU64,
}

impl Control {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            stop: AtomicBool::new(false),
            position_ms: AtomicU64::new(0),
            asked_at_ms: AtomicU64::new(0),
        })
    }

    /// Ask the model to stop (once; later asks change nothing).
    pub(crate) fn request_stop(&self) {
        if !self.stop.swap(true, Ordering::SeqCst) {
            let at = self.position_ms.load(Ordering::SeqCst);
            self.asked_at_ms.store(at, Ordering::SeqCst);
        }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The model reached `seconds` of the audio.
    pub(crate) fn advance(&self, seconds: f64) {
        let ms = (seconds.max(0.0) * 1000.0).round() as u64;
        self.position_ms.fetch_max(ms, Ordering::SeqCst);
    }

    /// Milliseconds of audio the model decoded after the stop was asked.
    pub(crate) fn decoded_after_stop_ms(&self) -> u64 {
        let asked = self.asked_at_ms.load(Ordering::SeqCst);
        self.position_ms
            .load(Ordering::SeqCst)
            .saturating_sub(asked)
    }
}

/// The jobs this process is transcribing, by job id: a cancel made here
/// stops its model at once, without waiting for the worker's next look at
/// the store.
#[derive(Debug, Clone, Default)]
pub struct Running(Arc<Mutex<HashMap<String, Arc<Control>>>>);

impl Running {
    /// A control for `job`, registered until the guard drops.
    fn register(&self, job: &str) -> (Arc<Control>, RunningGuard) {
        let control = Control::new();
        // A poisoned lock only means a panic mid-insert of a map entry.
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(job.to_owned(), control.clone());
        let guard = RunningGuard {
            running: self.clone(),
            job: job.to_owned(),
        };
        (control, guard)
    }

    /// Stop `job` if it runs here.
    pub fn stop(&self, job: &str) {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(control) = map.get(job) {
            control.request_stop();
        }
    }
}

/// Unregisters a job's stop flag when its transcription ends.
struct RunningGuard {
    running: Running,
    job: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut map = self.running.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&self.job);
    }
}

/// The job system as the handlers and workers share it.
#[derive(Debug, Clone)]
pub struct Jobs {
    pub store: JobStore,
    pub config: Arc<JobConfig>,
    pub stats: Arc<JobStats>,
    /// Wakes an idle worker when a job is queued here.
    wake: Arc<Notify>,
    /// Jobs transcribing in this process, so a cancel stops them at once.
    running: Running,
    webhooks: Option<webhook::Sender>,
}

impl Jobs {
    pub fn new(store: JobStore, config: JobConfig) -> Result<Self, JobError> {
        let webhooks = config
            .webhook_secret
            .is_some()
            .then(|| {
                webhook::Sender::new(
                    config.webhook_timeout,
                    config.webhook_attempts,
                    config.webhook_backoff,
                    config.webhook_policy.clone(),
                )
            })
            .transpose()
            .map_err(|e| JobError::Client(e.to_string()))?;
        Ok(Self {
            store,
            config: Arc::new(config),
            stats: Arc::default(),
            wake: Arc::default(),
            running: Running::default(),
            webhooks,
        })
    }
}

impl Jobs {
    /// The secrets a webhook of tenant `tenant_id` is signed with now: its
    /// current one, then the previous one while a rotation's overlap lasts.
    /// Empty when this server has no webhook key.
    pub async fn signing_secrets(&self, tenant_id: &str) -> Result<Vec<String>, JobError> {
        let Some(key) = &self.config.webhook_secret else {
            return Ok(Vec::new());
        };
        let state = self.store.signing_state(tenant_id).await?;
        let mut secrets = vec![key.tenant_secret(tenant_id, state.generation)];
        if state.previous_active(store::now_ms()) {
            secrets.push(key.tenant_secret(tenant_id, state.generation - 1));
        }
        Ok(secrets)
    }
}

/// Errors of the job layer, mapped once to the envelope.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Store(#[from] JobStoreError),
    #[error("no job `{0}`")]
    NotFound(String),
    #[error("{message}")]
    Invalid {
        param: &'static str,
        message: String,
    },
    #[error(
        "too many jobs queued or running for this tenant (limit {limit}); wait for some to finish"
    )]
    TooMany { limit: u32 },
    #[error("webhook client: {0}")]
    Client(String),
}

/// Seconds a tenant over its job limit is told to wait.
const TOO_MANY_RETRY_AFTER_S: u64 = 10;

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        let message = e.to_string();
        match e {
            JobError::Speech(e) => e.into(),
            JobError::NotFound(_) => ApiError::not_found(message).with_code("job_not_found"),
            JobError::Invalid { param, .. } => ApiError::bad_request(message).with_param(param),
            JobError::TooMany { .. } => {
                ApiError::rate_limited(message, TOO_MANY_RETRY_AFTER_S).with_code("too_many_jobs")
            }
            JobError::Store(_) | JobError::Client(_) => {
                tracing::error!(error = %message, "job store failed");
                ApiError::unavailable("the job store is not available; retry shortly", 5)
            }
        }
    }
}
