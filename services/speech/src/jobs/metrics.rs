//! What the jobs report to Prometheus (through the `metrics` facade; the
//! recorder and `/metrics` are the process's, `stratus_kit::metrics`).

use std::time::Duration;

use super::store::JobStore;

/// Jobs queued and running in the whole store (every replica's), by
/// `state`: every replica reports the same count, so aggregate with `max`.
pub const JOBS_BACKLOG: &str = "stratus_jobs_backlog";
/// Webhook delivery attempts by `outcome`: `delivered`, `failed` (one try
/// that did not succeed; more may follow), `abandoned` (no try left, or
/// the destination refused by policy).
pub const WEBHOOK_DELIVERIES: &str = "stratus_webhook_deliveries_total";

/// How often the backlog is counted: a cheap indexed count, often enough
/// for an alert on a growing queue.
pub const BACKLOG_INTERVAL: Duration = Duration::from_secs(5);

/// Describe the jobs' metrics to the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        JOBS_BACKLOG,
        "Transcription jobs queued and running in the store, by state (the same on every replica)."
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery tries by outcome: delivered, failed (a try), abandoned (no try left or refused)."
    );
}

/// A webhook try's outcome, the `outcome` label of [`WEBHOOK_DELIVERIES`].
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    Delivered,
    Failed,
    Abandoned,
}

impl Delivery {
    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }
}

/// Count one webhook try's outcome.
pub fn record_delivery(outcome: Delivery) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.label()).increment(1);
}

/// Count the store's backlog every [`BACKLOG_INTERVAL`] until dropped (the
/// caller aborts the task).
pub async fn count_backlog(store: JobStore) {
    let queued = metrics::gauge!(JOBS_BACKLOG, "state" => "queued");
    let running = metrics::gauge!(JOBS_BACKLOG, "state" => "running");
    let mut tick = tokio::time::interval(BACKLOG_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.backlog().await {
            Ok((q, r)) => {
                queued.set(q as f64);
                running.set(r as f64);
            }
            Err(e) => tracing::warn!(error = %e, "counting the job backlog failed"),
        }
    }
}
