//! The job workers: `config.workers` tasks, each claiming one job at a time
//! from the store, so at most that many jobs of this process run (and the
//! model queues keep room for synchronous requests).
//!
//! Per job: decode the stored audio on a blocking thread (its audio seconds
//! taken from the server's budget; when they are not free the job goes back
//! to the queue and is claimed again later), queue the
//! transcription on the model's worker thread with a sink that reports each
//! segment's end and each window's start (→ progress) and stops decoding
//! when told to, and meanwhile renew the lease (with every progress update,
//! and on a timer of a third of the lease).
//!
//! Cancelling: the model checks its stop flag at every segment and before
//! every 30 s window, so it stops before the next window once the flag is
//! set. A cancel made in this process sets it at once (the job's entry in
//! [`super::Running`]); one made on another replica is seen within
//! [`CANCEL_CHECK`] (a read of the job's row), as is a lost lease, and so
//! is a renewal that changes no row. Nothing is written for a stopped job.
//! The finish is conditional on the lease too (see [`super::store`]).

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::time::Duration;

use stratus_models::ModelError;
use stratus_models::whisper::{Prompt, Task, TranscribeOptions, Transcript};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::store::{ClaimedJob, Lease, Outcome};
use super::{Jobs, api};
use crate::SpeechService;
use crate::api::form::ResponseFormat;
use crate::audio::{self, AudioError, Limits};

/// How often a running job's worker reads whether its job was cancelled
/// (or its lease taken) on another replica: a cancel there stops the model
/// this much later at most, plus the window in progress.
pub const CANCEL_CHECK: Duration = Duration::from_secs(1);

/// The running worker tasks (and the backlog counter); dropping this stops
/// them (a job in progress is then picked up by another worker when its
/// lease expires).
#[derive(Debug)]
pub struct JobWorkers {
    handles: Vec<JoinHandle<()>>,
}

impl JobWorkers {
    /// Start `jobs.config.workers` workers transcribing with `service`'s
    /// models.
    pub fn spawn(service: SpeechService, jobs: Jobs) -> Self {
        let process = uuid::Uuid::now_v7().simple().to_string();
        let handles = (0..jobs.config.workers.max(1))
            .map(|n| {
                let owner = format!("{process}/{n}");
                tokio::spawn(work(service.clone(), jobs.clone(), owner))
            })
            .chain(std::iter::once(tokio::spawn(
                super::metrics::count_backlog(jobs.store.clone()),
            )))
            .collect();
        Self { handles }
    }

    /// Stop every worker now, as a crash would (jobs they hold stay
    /// `running` until their lease expires).
    pub fn abort(&self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

impl Drop for JobWorkers {
    fn drop(&mut self) {
        self.abort();
    }
}

async fn work(service: SpeechService, jobs: Jobs, owner: String) {
    let lease_ms = lease_ms(jobs.config.lease);
    loop {
        match jobs
            .store
            .claim(&owner, lease_ms, jobs.config.max_attempts)
            .await
        {
            Ok(Some(job)) => run(&service, &jobs, &owner, job).await,
            Ok(None) => {
                tokio::select! {
                    () = jobs.wake.notified() => {}
                    () = tokio::time::sleep(jobs.config.poll_interval) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                tokio::time::sleep(jobs.config.poll_interval).await;
            }
        }
    }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Why a claimed job could not start here.
enum NotStarted {
    /// Worth another try (by this or another worker): hand it back.
    Later(String),
    /// The job itself is bad: fail it.
    Bad { code: &'static str, message: String },
}

async fn run(service: &SpeechService, jobs: &Jobs, owner: &str, job: ClaimedJob) {
    let lease = Lease {
        job_id: job.row.id.clone(),
        owner: owner.to_owned(),
        attempt: job.row.attempt,
    };
    tracing::info!(job = %lease.job_id, attempt = lease.attempt, "job claimed");
    // The model's lines for this job name it (the worker carries the span
    // to the model's thread).
    let span = tracing::info_span!("job", job = %lease.job_id, attempt = lease.attempt);
    match transcribe(service, jobs, &lease, job)
        .instrument(span)
        .await
    {
        Ok(Some((transcript, row))) => {
            let format =
                ResponseFormat::parse(&row.response_format).unwrap_or(ResponseFormat::Json);
            let task = task_of(&row.task);
            let outcome = Outcome::Succeeded {
                result: api::render(&transcript, task, format),
                audio_seconds: transcript.duration,
            };
            finish(jobs, &lease, outcome).await;
        }
        // Cancelled, or the lease went to another worker: nothing to write.
        Ok(None) => tracing::info!(job = %lease.job_id, "job stopped: cancelled or lease lost"),
        Err(NotStarted::Later(why)) => {
            tracing::info!(job = %lease.job_id, why, "job handed back to the queue");
            if let Err(e) = jobs.store.release(&lease).await {
                tracing::warn!(job = %lease.job_id, error = %e, "handing a job back failed");
            }
            // Let another worker (or replica) have a go first.
            tokio::time::sleep(jobs.config.poll_interval).await;
        }
        Err(NotStarted::Bad { code, message }) => {
            let outcome = Outcome::Failed {
                code: code.to_owned(),
                message,
            };
            finish(jobs, &lease, outcome).await;
        }
    }
}

fn task_of(task: &str) -> Task {
    if task == "translate" {
        Task::Translate
    } else {
        Task::Transcribe
    }
}

/// Transcribe the job; `Ok(None)` when it was stopped (cancelled, lease
/// lost).
async fn transcribe(
    service: &SpeechService,
    jobs: &Jobs,
    lease: &Lease,
    job: ClaimedJob,
) -> Result<Option<(Transcript, super::JobRow)>, NotStarted> {
    let row = job.row;
    let Some(worker) = service.whisper.get(&row.model) else {
        return Err(NotStarted::Later(format!(
            "model `{}` is not loaded here",
            row.model
        )));
    };
    let config = &service.config;
    let limits = Limits {
        max_seconds: config.max_audio_seconds,
        max_decoded_samples: config.max_decoded_samples,
    };
    let bytes = bytes::Bytes::from(job.audio.unwrap_or_default());
    let (filename, content_type) = (row.filename.clone(), row.content_type.clone());
    let budget = service.audio_budget.clone();
    let (decoded, reservation) = tokio::task::spawn_blocking(move || {
        let mut reservation = budget.reservation();
        audio::decode(
            bytes,
            filename.as_deref(),
            content_type.as_deref(),
            limits,
            &mut reservation,
        )
        .map(|decoded| (decoded, reservation))
    })
    .await
    .map_err(|e| NotStarted::Later(format!("decoding task failed: {e}")))?
    .map_err(|e| match e {
        // The server holds all the audio it may: the job waits its turn in
        // the queue instead of failing.
        AudioError::OverBudget(_) => NotStarted::Later(e.to_string()),
        e => NotStarted::Bad {
            code: "invalid_audio",
            message: e.to_string(),
        },
    })?;

    let duration = decoded.seconds().max(1e-9);
    let format = ResponseFormat::parse(&row.response_format).unwrap_or(ResponseFormat::Json);
    let options = TranscribeOptions {
        task: task_of(&row.task),
        language: row.language.clone(),
        prompt: row.prompt.clone().map(Prompt::Text),
        // As the synchronous route: one decode whatever the format.
        segment_times: format.needs_segment_times() || row.segment_granularity,
        ..TranscribeOptions::default()
    };
    let (control, _running) = jobs.running.register(&lease.job_id);
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let model = control.clone();
    let samples = decoded.samples;
    let reply = worker
        .submit(move |whisper| {
            let result = whisper.transcribe_streaming(&samples, &options, &mut |delta| {
                model.advance(delta.decoded_until);
                // Nobody listening only means the job ended on our side.
                let _ = progress_tx.send(delta.decoded_until);
                if model.stop_requested() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            // The samples' seconds go back to the server's budget with them.
            drop(samples);
            drop(reservation);
            result
        })
        .map_err(|e| NotStarted::Later(e.to_string()))?;

    let lease_ms = lease_ms(jobs.config.lease);
    // `interval` refuses a zero period.
    let mut heartbeat =
        tokio::time::interval((jobs.config.lease / 3).max(Duration::from_millis(10)));
    heartbeat.tick().await;
    let mut cancel_check = tokio::time::interval(CANCEL_CHECK);
    cancel_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    cancel_check.tick().await;
    tokio::pin!(reply);
    let result = loop {
        let held = tokio::select! {
            result = &mut reply => break result,
            Some(until) = progress_rx.recv() => {
                // 1.0 is written with the result.
                let progress = (until / duration).clamp(0.0, 0.99);
                jobs.store.renew(lease, lease_ms, Some(progress)).await
            }
            _ = heartbeat.tick() => jobs.store.renew(lease, lease_ms, None).await,
            _ = cancel_check.tick(), if !control.stop_requested() => {
                jobs.store.holds(lease).await
            }
        };
        match held {
            Ok(true) => {}
            // Cancelled or taken over: stop the model before its next window.
            Ok(false) => control.request_stop(),
            // A database hiccup: keep going; the lease still has time.
            Err(e) => tracing::warn!(job = %lease.job_id, error = %e, "renewing the lease failed"),
        }
    };
    if control.stop_requested() {
        let after_ms = control.decoded_after_stop_ms();
        jobs.stats.stopped.fetch_add(1, Ordering::Relaxed);
        jobs.stats
            .decoded_after_stop_ms
            .fetch_max(after_ms, Ordering::Relaxed);
        tracing::info!(
            job = %lease.job_id,
            decoded_after_stop_s = after_ms as f64 / 1000.0,
            "job stopped midway"
        );
        return Ok(None);
    }
    match result {
        Ok(Ok(transcript)) => Ok(Some((transcript, row))),
        Ok(Err(ModelError::InvalidInput(message))) => Err(NotStarted::Bad {
            code: "invalid_request",
            message,
        }),
        Ok(Err(e)) => {
            tracing::error!(job = %lease.job_id, error = %e, "transcription failed");
            Err(NotStarted::Bad {
                code: "transcription_failed",
                message: "the transcription failed on the server".into(),
            })
        }
        // The model thread ended without answering.
        Err(_) => Err(NotStarted::Later("the model worker stopped".into())),
    }
}

/// Write the outcome (if the lease still holds) and send the webhook.
async fn finish(jobs: &Jobs, lease: &Lease, outcome: Outcome) {
    let succeeded = matches!(outcome, Outcome::Succeeded { .. });
    match jobs.store.finish(lease, &outcome).await {
        Ok(true) => {
            let counter = if succeeded {
                &jobs.stats.succeeded
            } else {
                &jobs.stats.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::info!(job = %lease.job_id, succeeded, "job finished");
            send_webhook(jobs, &lease.job_id).await;
        }
        Ok(false) => {
            jobs.stats.lost.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %lease.job_id, "job finished after its lease was lost; result dropped");
        }
        Err(e) => {
            tracing::error!(job = %lease.job_id, error = %e, "storing a job's outcome failed")
        }
    }
}

/// Deliver the finished job's webhook in the background, if it has one.
async fn send_webhook(jobs: &Jobs, id: &str) {
    let Some(sender) = jobs.webhooks.clone() else {
        return;
    };
    let row = match jobs.store.get_any(id).await {
        Ok(Some(row)) => row,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(job = id, error = %e, "reading a finished job for its webhook failed");
            return;
        }
    };
    let Some(url) = row.webhook_url.clone() else {
        return;
    };
    let event = match row.status() {
        super::JobStatus::Succeeded => "audio.job.succeeded",
        _ => "audio.job.failed",
    };
    let body = serde_json::to_vec(&api::JobView::new(&row, true)).unwrap_or_default();
    let secrets = match jobs.signing_secrets(&row.tenant_id).await {
        Ok(secrets) => secrets,
        Err(e) => {
            // Unsigned is not an option; recorded as failed like any
            // delivery that could not be made.
            tracing::warn!(job = id, error = %e, "reading the tenant's webhook secret failed");
            if let Err(e) = jobs.store.set_webhook_status(id, "failed").await {
                tracing::warn!(job = id, error = %e, "recording a webhook's outcome failed");
            }
            return;
        }
    };
    let store = jobs.store.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        let delivered = sender.deliver(&url, event, &body, &secrets).await;
        let status = if delivered { "delivered" } else { "failed" };
        if let Err(e) = store.set_webhook_status(&id, status).await {
            tracing::warn!(job = id, error = %e, "recording a webhook's outcome failed");
        }
    });
}
