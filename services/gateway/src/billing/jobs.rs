//! Metering asynchronous transcription jobs when they complete.
//!
//! `POST /v1/audio/jobs` is metered like any request, but its audio is
//! transcribed later by a job worker, so the submit's event carries no
//! audio seconds. The job's audio is metered here instead, from the job
//! store (the speech service records `audio_seconds` when a job succeeds;
//! it shares the gateway's database in `stratus serve`, and in scaled-out
//! deployments whose speech replicas use the gateway's PostgreSQL).
//!
//! Exactly once, by construction rather than by bookkeeping: the event's
//! id is derived from the job id (a UUIDv7 whose time is the job's finish
//! and whose other bits are a digest of the job id), and events are
//! inserted `ON CONFLICT (id) DO NOTHING`. So re-reading a window of jobs
//! — after a restart, on every replica, or to catch a finish committed
//! late — can never count a job twice, and a job is counted as soon as
//! any gateway reads it after it finished. The budget is charged only by
//! the insert that actually stored the event. The cursor (the last finish
//! time read) is kept in the store with the export cursors.
//!
//! Such a job's audio is not reserved against the hard budget while it
//! runs (the submit's reservation settles when the submit answers): a job
//! admitted under the limit may overshoot it by its own audio.

use sha2::{Digest, Sha256};
use stratus_speech::jobs::store::{FinishedJob, JobStore};

use super::{Billing, BillingError, Month};
use crate::metering::{Units, UsageEvent};
use crate::store::Store;

/// The export-cursor name holding how far job completions were metered.
pub const CURSOR: &str = "internal:speech-job-usage";
/// Jobs re-read before the cursor on every pass: a finish committed a
/// little after its `finished_at` was taken is still seen.
const OVERLAP_MS: i64 = 10 * 60 * 1000;
/// Jobs read per page.
const PAGE: i64 = 500;
/// Pages per pass, so one pass stays short.
const MAX_PAGES: usize = 20;

/// The endpoint completed jobs are filed under.
pub const ENDPOINT: &str = "/v1/audio/jobs/{id}";

/// The usage event of a succeeded job: same id every time it is built.
pub fn job_event(job: &FinishedJob) -> UsageEvent {
    let finished = job.finished_at.unwrap_or(0);
    let digest = Sha256::digest(format!("stratus-job-usage\0{}", job.id).as_bytes());
    let mut random = [0_u8; 10];
    random.copy_from_slice(&digest[..10]);
    let id =
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(finished).unwrap_or(0), &random)
            .into_uuid();
    let audio_ms = job.audio_seconds.map_or(0, |s| {
        if s.is_finite() && s > 0.0 {
            // Whole milliseconds, as the metering of synchronous requests.
            ((s * 1000.0).round() as i64).min(86_400_000)
        } else {
            0
        }
    });
    UsageEvent {
        id,
        request_id: Some(crate::metering::event::bounded(&job.id)),
        tenant_id: crate::metering::event::bounded(&job.tenant_id),
        key_id: None,
        user_id: None,
        service: "speech".into(),
        endpoint: ENDPOINT.into(),
        model: Some(crate::metering::event::bounded(&job.model)),
        status: 200,
        latency_ms: 0,
        time_ms: finished,
        // The submit request was counted when it was answered.
        units: Units {
            requests: 0,
            audio_ms,
            ..Units::default()
        },
    }
}

/// One pass: meter every job that succeeded since the cursor. Returns how
/// many events were new.
pub async fn collect(
    store: &Store,
    jobs: &JobStore,
    billing: Option<&Billing>,
) -> Result<u64, BillingError> {
    let cursor = store.export_cursor(CURSOR).await?;
    let mut from = cursor.saturating_sub(OVERLAP_MS).max(0);
    let mut newest = cursor;
    let mut inserted = 0;
    for _ in 0..MAX_PAGES {
        let page = jobs
            .succeeded_since(from, PAGE)
            .await
            .map_err(|e| BillingError::Jobs(e.to_string()))?;
        for job in &page {
            let event = job_event(job);
            if store
                .insert_usage_events(std::slice::from_ref(&event))
                .await?
                == 1
            {
                inserted += 1;
                if let Some(billing) = billing {
                    billing.charge(&event).await?;
                }
            }
            newest = newest.max(event.time_ms);
        }
        match page.last().and_then(|j| j.finished_at) {
            // A full page: go on from its last finish (ties are re-read and
            // skipped by the event id).
            Some(last) if page.len() as i64 == PAGE && last > from => from = last,
            _ => break,
        }
    }
    if newest > cursor {
        store.set_export_cursor(CURSOR, newest).await?;
    }
    Ok(inserted)
}

/// Run [`collect`] every `interval` until the handle is dropped/aborted.
pub fn spawn(
    store: Store,
    jobs: JobStore,
    billing: Option<Billing>,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            match collect(&store, &jobs, billing.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(events = n, "metered completed jobs"),
                Err(e) => tracing::warn!(error = %e, "metering completed jobs"),
            }
        }
    })
}

impl Billing {
    /// Charge `event` to its tenant's month without a reservation (usage
    /// that was not a request: a completed job), with its alerts.
    pub async fn charge(&self, event: &UsageEvent) -> Result<(), BillingError> {
        let terms = self.terms(&event.tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        let cost = plan.cost(event);
        let month = Month::of_ms(event.time_ms).to_string();
        // No reservation has this id: settling only charges.
        let row = self
            .store()
            .settle_budget("", &event.tenant_id, &month, cost.0)
            .await?;
        self.alert_if_crossed(&event.tenant_id, &month, &terms, &row)
            .await
    }
}
