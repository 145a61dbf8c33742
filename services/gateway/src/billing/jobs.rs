//! Asynchronous transcription jobs: their budget while they wait and run,
//! and their audio metered when they complete.
//!
//! `POST /v1/audio/jobs` is metered like any request, but its audio is
//! transcribed later by a job worker, so the submit's event carries no
//! audio seconds. The job's audio is metered here instead, from the job
//! store (the speech service records `audio_seconds` when a job succeeds;
//! it shares the gateway's database in `stratus serve`, and in scaled-out
//! deployments whose speech replicas use the gateway's PostgreSQL).
//!
//! ## The budget
//! The submit reserves a speech request's maximum cost like any request
//! (admitted only while the month's spend plus everything reserved is
//! under the hard limit). Its `202` names the job (`x-stratus-job-id`) and
//! the most audio it can be billed (`x-stratus-usage-job-audio-seconds`):
//! when metering records the submit, the submit's own cost is charged and
//! the rest of its reservation is handed on to the job — a reservation
//! [`reservation_id`] derives from the job's id, for the job's audio bound
//! (see `Billing::settle`). It stays open while the job is queued and
//! running, and [`collect`] ends it, on whichever replica gets there:
//! - succeeded: the pass that stores the job's usage event settles it to
//!   the audio's cost (charged even if the reservation is gone);
//! - failed or cancelled (or succeeded and already stored): released.
//!
//! A job submitted with an API key that has a budget of its own holds a
//! second reservation the same way, on the key's month
//! ([`key_reservation_id`]), ended with the tenant's; the job's event
//! names the key, so its audio is in the key's spend.
//!
//! So N concurrent submits overshoot the hard limit by at most one
//! reservation, as synchronous requests do. A reservation is released by
//! the sweeper once expired; jobs can wait longer than `reservation_ttl`,
//! so every pass also moves on the expiry of reservations whose jobs are
//! still queued or running (and ends those whose jobs are over or gone).
//!
//! A gateway that dies between the submit's answer and the hand-off leaves
//! the submit's reservation to expire; its job is then charged without one
//! when it completes (the bound assumes gateways do not die mid-request,
//! as it does for synchronous requests). A file whose data runs longer
//! than its header declares is billed for all of it: its job's charge can
//! exceed what was reserved by that difference.
//!
//! ## Exactly once
//! By construction rather than by bookkeeping: the event's id is derived
//! from the job id (a UUIDv7 whose time is the job's finish and whose other
//! bits are a digest of the job id), and events are inserted `ON CONFLICT
//! (id) DO NOTHING`. So re-reading a window of jobs — after a restart, on
//! every replica, or to catch a finish committed late — can never count a
//! job twice, and a job is counted as soon as any gateway reads it after it
//! finished. The budget is charged only by the insert that actually stored
//! the event; every other read of a finished job releases its reservation
//! (a no-op once it is gone), which also catches a hand-off that landed
//! after the job had already been metered. The cursor (the last finish time
//! read) is kept in the store with the export cursors.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use stratus_kit::usage;
use stratus_speech::jobs::JobStatus;
use stratus_speech::jobs::store::{BillingJob, JobStore};

use super::{Billing, BillingError, Month, Nanos, Plan};
use crate::metering::event::{bounded, now_ms};
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
/// What every job's reservation id starts with.
const RESERVATION_PREFIX: &str = "job:";
/// What the reservation on a job's key's own budget starts with.
const KEY_RESERVATION_PREFIX: &str = "keyjob:";

/// The endpoint completed jobs are filed under.
pub const ENDPOINT: &str = "/v1/audio/jobs/{id}";

/// The budget reservation job `job_id` holds while it waits and runs: the
/// same on every replica, so any of them can end it.
pub fn reservation_id(job_id: &str) -> String {
    format!("{RESERVATION_PREFIX}{}", bounded(job_id))
}

/// The reservation job `job_id` holds on its key's own budget, if the key
/// has one.
pub fn key_reservation_id(job_id: &str) -> String {
    format!("{KEY_RESERVATION_PREFIX}{}", bounded(job_id))
}

/// Every reservation job `job_id` may hold: what ending it releases.
fn reservation_ids(job_id: &str) -> [String; 2] {
    [reservation_id(job_id), key_reservation_id(job_id)]
}

/// A job a submit queued, as its `202` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: String,
    /// The most audio the job can be billed, whole milliseconds.
    pub audio_ms: i64,
}

impl Queued {
    /// The job named in a submit's response headers, if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<Queued> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let id = text(usage::JOB_ID).filter(|id| !id.is_empty())?;
        let audio_ms = text(usage::JOB_AUDIO_SECONDS)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            // Up to the millisecond: the bound must not round below the
            // audio the job is metered for.
            .map(|s| ((s * 1000.0).ceil() as i64).min(MAX_AUDIO_MS))?;
        Some(Queued {
            id: id.to_owned(),
            audio_ms,
        })
    }

    /// The most the job's audio can cost under `plan`.
    pub fn max_cost(&self, plan: &Plan) -> Nanos {
        plan.max_cost(
            &Units {
                audio_ms: self.audio_ms,
                ..Units::default()
            },
            ENDPOINT,
        )
    }
}

/// The most audio one job's event may claim (a day), as for requests.
const MAX_AUDIO_MS: i64 = 86_400_000;

/// The usage event of a succeeded job: same id every time it is built.
pub fn job_event(job: &BillingJob) -> UsageEvent {
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
            ((s * 1000.0).round() as i64).min(MAX_AUDIO_MS)
        } else {
            0
        }
    });
    UsageEvent {
        id,
        request_id: Some(bounded(&job.id)),
        client_request_id: None,
        tenant_id: bounded(&job.tenant_id),
        key_id: job.key_id.as_deref().map(bounded),
        user_id: None,
        service: "speech".into(),
        endpoint: ENDPOINT.into(),
        model: Some(bounded(&job.model)),
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

/// One pass: meter every job that succeeded since the cursor, end the
/// reservations of jobs that ended, and keep those of jobs still queued or
/// running. Returns how many events were new.
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
            .finished_since(from, PAGE)
            .await
            .map_err(|e| BillingError::Jobs(e.to_string()))?;
        let mut ended = Vec::new();
        for job in &page {
            if account(store, billing, job, &mut ended).await? {
                inserted += 1;
            }
            newest = newest.max(job.finished_at.unwrap_or(0));
        }
        if let Some(billing) = billing {
            billing.store().release_budgets(&ended).await?;
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
    if let Some(billing) = billing {
        inserted += billing.keep_job_reservations(store, jobs).await?;
    }
    Ok(inserted)
}

/// Account for `job`: store a succeeded job's event (whose insert, if it
/// was the one, settles the job's reservation), and add the reservation
/// id of any other finished job to `ended` (to be released). Returns
/// whether the event was new.
async fn account(
    store: &Store,
    billing: Option<&Billing>,
    job: &BillingJob,
    ended: &mut Vec<String>,
) -> Result<bool, BillingError> {
    match job.status() {
        JobStatus::Succeeded => {
            let event = job_event(job);
            let new = store
                .insert_usage_events(std::slice::from_ref(&event))
                .await?
                == 1;
            match billing {
                Some(billing) if new => billing.settle_job(&job.id, &event).await?,
                _ => ended.extend(reservation_ids(&job.id)),
            }
            Ok(new)
        }
        JobStatus::Failed | JobStatus::Cancelled => {
            ended.extend(reservation_ids(&job.id));
            Ok(false)
        }
        JobStatus::Queued | JobStatus::Running => Ok(false),
    }
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
    /// Charge job `job_id`'s `event` to its tenant's month, settling the
    /// job's reservation if it still holds one, with its alerts — and to
    /// its key's month, if the key has a budget of its own.
    pub async fn settle_job(&self, job_id: &str, event: &UsageEvent) -> Result<(), BillingError> {
        let terms = self.terms(&event.tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        let cost = plan.cost(event);
        let month = Month::of_ms(event.time_ms).to_string();
        // Only a job submitted with a key can hold a key's reservation.
        if let Some(key_id) = &event.key_id {
            let key_reservation = key_reservation_id(job_id);
            if self.key_limit(key_id).await?.is_some() {
                self.store()
                    .settle_budget(&key_reservation, key_id, &month, cost.0)
                    .await?;
            } else {
                // Its budget was removed while the job ran.
                self.store()
                    .release_budgets(std::slice::from_ref(&key_reservation))
                    .await?;
            }
        }
        let row = self
            .store()
            .settle_budget(&reservation_id(job_id), &event.tenant_id, &month, cost.0)
            .await?;
        self.alert_if_crossed(&event.tenant_id, &month, &terms, &row)
            .await
    }

    /// Look at the job reservations that would expire within half a TTL:
    /// keep those whose job is still queued or running (a new TTL), end the
    /// others as [`collect`] does. Returns how many job events were new.
    async fn keep_job_reservations(
        &self,
        store: &Store,
        jobs: &JobStore,
    ) -> Result<u64, BillingError> {
        let now = now_ms();
        let ttl = self.reservation_ttl_ms();
        let mut due = Vec::new();
        for prefix in [RESERVATION_PREFIX, KEY_RESERVATION_PREFIX] {
            let ids = store
                .reservations_expiring(prefix, now.saturating_add(ttl / 2), PAGE)
                .await?;
            due.extend(ids.into_iter().map(|id| (prefix, id)));
        }
        let mut ended = Vec::new();
        let mut inserted = 0;
        for (prefix, id) in due {
            let job_id = id.strip_prefix(prefix).unwrap_or(&id);
            let job = jobs
                .billing_state(job_id)
                .await
                .map_err(|e| BillingError::Jobs(e.to_string()))?;
            match job {
                Some(job) if !job.status().is_final() => {
                    store
                        .extend_reservation(&id, now.saturating_add(ttl))
                        .await?;
                }
                Some(job) => {
                    if account(store, Some(self), &job, &mut ended).await? {
                        inserted += 1;
                    }
                }
                // Gone (deleted): nothing will be billed for it.
                None => ended.push(id),
            }
        }
        store.release_budgets(&ended).await?;
        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submit_names_its_job_and_audio_bound() {
        let mut headers = HeaderMap::new();
        assert_eq!(Queued::from_headers(&headers), None);
        headers.insert(usage::JOB_ID, "0192-job".parse().unwrap());
        // No bound: not a job the gateway can reserve for.
        assert_eq!(Queued::from_headers(&headers), None);
        headers.insert(usage::JOB_AUDIO_SECONDS, "4.2001".parse().unwrap());
        assert_eq!(
            Queued::from_headers(&headers),
            Some(Queued {
                id: "0192-job".into(),
                audio_ms: 4201,
            })
        );
        headers.insert(usage::JOB_AUDIO_SECONDS, "-1".parse().unwrap());
        assert_eq!(Queued::from_headers(&headers), None);
        assert_eq!(reservation_id("abc"), "job:abc");
        assert_eq!(key_reservation_id("abc"), "keyjob:abc");
    }
}
