//! The batched database writer: follows the usage log ([`super::wal`]) and
//! inserts what it finds in batches, off every request's path.
//!
//! Batches form by themselves: when the log goes quiet the writer waits
//! `flush_interval` for more before it inserts (flush by time); under load,
//! each batch is whatever was committed while the previous insert ran, up
//! to `batch_size` (flush by size). An insert that fails (database down) is
//! retried with backoff and never skipped; the log keeps the events
//! meanwhile, on disk, so memory stays bounded. Inserts are idempotent by
//! event id, so the replay after a restart counts nothing twice.

use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::event::{UsageEvent, now_ms};
use super::wal::{Position, WalReader};
use crate::observability::metrics as m;
use crate::store::Store;

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub flush_interval: Duration,
}

/// Follow the log until it stops; publish in `stored` how far every event
/// is in the database. `following` is told once the writer has looked at
/// the log's end, so what is appended afterwards waits for a batch (by
/// size or `flush_interval`) rather than being taken as a backlog.
pub async fn run(
    store: Store,
    mut reader: WalReader,
    mut committed: watch::Receiver<Position>,
    stored: watch::Sender<Position>,
    config: WriterConfig,
    following: oneshot::Sender<()>,
) {
    stored.send_replace(reader.cursor());
    m::ensure_installed();
    let lag = metrics::gauge!(m::USAGE_WAL_LAG);
    let mut following = Some(following);
    loop {
        let target = *committed.borrow_and_update();
        if let Some(following) = following.take() {
            let _ = following.send(());
        }
        if reader.cursor() >= target {
            lag.set(0.0);
            if committed.changed().await.is_err() {
                return;
            }
            // Let the requests arriving now join this batch.
            tokio::time::sleep(config.flush_interval).await;
            continue;
        }
        let batch_size = config.batch_size.max(1);
        let read = tokio::task::spawn_blocking(move || {
            let result = reader.read(target, batch_size);
            (reader, result)
        })
        .await;
        let (returned, result) = match read {
            Ok(pair) => pair,
            Err(e) => {
                tracing::error!(error = %e, "usage log reader stopped");
                return;
            }
        };
        reader = returned;
        let (events, next) = match result {
            Ok(read) => read,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the usage log; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut backoff = Duration::from_millis(50);
        while let Some(oldest) = events.first() {
            lag.set(waited_s(oldest));
            match store.insert_usage_events(&events).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, events = events.len(), retry_in = ?backoff, "storing usage events failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        reader.advance(next);
        stored.send_replace(next);
    }
}

/// Seconds since `event` was logged (its request's arrival plus latency):
/// how far behind the database is while it waits to be stored.
fn waited_s(event: &UsageEvent) -> f64 {
    let logged_ms = event.time_ms.saturating_add(event.latency_ms);
    (now_ms().saturating_sub(logged_ms).max(0) as f64) / 1000.0
}
