//! Push export: stored usage events, as CloudEvents, to an HTTP sink in
//! OpenMeter's ingest shape (`POST` of a JSON array with
//! `Content-Type: application/cloudevents-batch+json`).
//!
//! Each event becomes `{"specversion":"1.0","type":"stratus.usage",
//! "id":<event id>,"source":"stratus/<instance id>","subject":<tenant>,
//! "time":…,"datacontenttype":"application/json","data":{…}}`.
//!
//! Delivery is at least once: the exporter sends the events after the
//! sink's cursor (kept in the store, per sink), and moves the cursor only
//! after a 2xx. A failure is retried with exponential backoff, the same
//! batch again, forever (the events wait in the store). A receiver sees an
//! event twice only if the process stops between the sink's 2xx and the
//! cursor update, or when several gateways export to one sink; CloudEvents
//! ids make both harmless to a receiver that de-duplicates by id (as
//! OpenMeter does).

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::event::{EventView, UsageEvent};
use super::wal::Position;
use super::{MeteringError, time};
use crate::store::Store;
use crate::store::usage::EventFilter;

/// Where and how to push.
#[derive(Clone)]
pub struct ExportConfig {
    /// The sink's URL, e.g. OpenMeter's `…/api/v1/events`.
    pub sink_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
    /// Most events per POST.
    pub batch_size: u32,
    /// How often to look for events stored by other gateways (this one's
    /// own are pushed as soon as they are stored).
    pub poll_interval: Duration,
    /// Time limit of one POST.
    pub timeout: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl std::fmt::Debug for ExportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportConfig")
            .field("sink_url", &crate::store::redact(&self.sink_url))
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl ExportConfig {
    /// Defaults for pushing to `sink_url`.
    pub fn new(sink_url: impl Into<String>) -> Self {
        ExportConfig {
            sink_url: sink_url.into(),
            token: None,
            batch_size: 500,
            poll_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// One CloudEvent.
#[derive(Debug, Serialize)]
pub struct CloudEvent<'a> {
    pub specversion: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub source: &'a str,
    pub subject: &'a str,
    pub time: String,
    pub datacontenttype: &'static str,
    pub data: EventView<'a>,
}

/// `event` as a CloudEvent from `source`.
pub fn cloud_event<'a>(event: &'a UsageEvent, source: &'a str) -> CloudEvent<'a> {
    CloudEvent {
        specversion: "1.0",
        kind: "stratus.usage",
        id: event.id.to_string(),
        source,
        subject: &event.tenant_id,
        time: time::format_rfc3339(event.time_ms),
        datacontenttype: "application/json",
        data: event.view(),
    }
}

/// The exporting task's state.
pub struct Exporter {
    store: Store,
    config: ExportConfig,
    source: String,
    /// The sink's name in the cursor table (its URL without a password).
    sink_key: String,
    client: reqwest::Client,
}

impl Exporter {
    pub fn new(store: Store, config: ExportConfig, source: String) -> Result<Self, MeteringError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.timeout)
            .build()
            .map_err(|e| MeteringError::Export(e.to_string()))?;
        Ok(Exporter {
            sink_key: crate::store::redact(&config.sink_url),
            store,
            config,
            source,
            client,
        })
    }

    /// Export until aborted; `stored` wakes it when this gateway stores
    /// events.
    pub async fn run(self, mut stored: watch::Receiver<Position>) {
        let mut backoff = Backoff::new(self.config.max_backoff);
        loop {
            match self.export_batch().await {
                Ok(0) => {
                    backoff.reset();
                    tokio::select! {
                        _ = stored.changed() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }
                Ok(_) => backoff.reset(),
                Err(e) => {
                    let wait = backoff.next();
                    tracing::warn!(sink = %self.sink_key, error = %e, retry_in = ?wait, "usage export failed");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Send the next batch after the cursor; how many events went.
    async fn export_batch(&self) -> Result<usize, MeteringError> {
        let cursor = self.store.export_cursor(&self.sink_key).await?;
        let batch = self
            .store
            .usage_events(&EventFilter {
                tenant_id: None,
                after_seq: cursor,
                from_ms: i64::MIN,
                to_ms: i64::MAX,
                limit: self.config.batch_size.max(1),
            })
            .await?;
        let Some(last) = batch.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let events: Vec<CloudEvent<'_>> = batch
            .iter()
            .map(|e| cloud_event(&e.event, &self.source))
            .collect();
        let body = serde_json::to_vec(&events).map_err(|e| MeteringError::Export(e.to_string()))?;
        let mut request = self
            .client
            .post(&self.config.sink_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/cloudevents-batch+json",
            )
            .body(body);
        if let Some(token) = &self.config.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| MeteringError::Export(format!("sink unreachable: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(MeteringError::Export(format!("sink answered {status}")));
        }
        self.store.set_export_cursor(&self.sink_key, last).await?;
        Ok(batch.len())
    }
}

/// Exponential backoff with jitter, from 100 ms up to a cap.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Backoff {
            next: Duration::from_millis(100),
            max,
        }
    }

    fn reset(&mut self) {
        self.next = Duration::from_millis(100);
    }

    fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        // Up to a quarter more, so gateways that failed together do not
        // retry together; the low bits of a UUIDv7 are random.
        let jitter = (uuid::Uuid::now_v7().as_u128() % 250) as u32;
        wait + wait * jitter / 1000
    }
}
