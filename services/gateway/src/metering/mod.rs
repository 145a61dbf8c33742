//! Metering: one usage event for every request that reaches a service,
//! written durably and idempotently, off the request path.
//!
//! The path of an event:
//! 1. [`middleware`] wraps the forwarding routes. When a response comes
//!    back from an upstream (marked [`crate::routing::Reached`]) it builds
//!    a [`UsageEvent`] from the caller's [`TenantContext`] and what the
//!    service reported ([`event::Units::from_headers`], `x-stratus-model`).
//! 2. The event is appended to the write-ahead log ([`wal`]) and the
//!    response is let go only after the append is synced — group commit
//!    shares one sync among concurrent requests. A streamed response
//!    ([`stream`]) is metered from its final event (`usage`), appended
//!    before that event is passed on.
//! 3. The batched writer ([`writer`]) follows the log into the store
//!    (`INSERT … ON CONFLICT (id) DO NOTHING`), and deletes log segments
//!    once stored. A restart replays what is left: nothing lost by a
//!    `kill -9`, nothing counted twice.
//! 4. [`export`] pushes stored events as CloudEvents to a sink;
//!    [`api`] serves `GET /v1/usage` and `GET /v1/usage/events`.
//!
//! If the log cannot be written the request is answered 503 rather than
//! served unbilled. Requests without a tenant context (no authentication in
//! front) are metered under [`UNAUTHENTICATED_TENANT`].

pub mod api;
pub mod event;
pub mod export;
pub mod stream;
pub mod time;
pub mod wal;
pub mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stratus_kit::ApiError;
use stratus_kit::context::TenantContext;
use tokio::sync::watch;
use tokio::task::AbortHandle;

pub use event::{Units, UsageEvent};
pub use export::ExportConfig;

use crate::routing::Reached;
use crate::store::Store;
use wal::{Position, WalError, WalHandle, WalWriter};

/// Told about a request's usage event once it is recorded (durably, or
/// detached for an abandoned stream), with the headers the service
/// answered: billing settles the request's budget reservation to the
/// event's real cost here (and a job's submit hands its reservation on to
/// the job it queued, named in those headers). Put into the request's
/// extensions by a layer in front of [`middleware`]; called at most once.
#[derive(Clone)]
pub struct OnRecorded(Arc<RecordedFn>);

/// What [`OnRecorded`] calls: the event and the response's headers.
type RecordedFn = dyn Fn(&UsageEvent, &HeaderMap) + Send + Sync;

impl OnRecorded {
    pub fn new(f: impl Fn(&UsageEvent, &HeaderMap) + Send + Sync + 'static) -> Self {
        OnRecorded(Arc::new(f))
    }

    pub fn call(&self, event: &UsageEvent, headers: &HeaderMap) {
        (self.0)(event, headers);
    }
}

impl std::fmt::Debug for OnRecorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRecorded")
    }
}

/// The tenant of requests that carry no [`TenantContext`]: only possible
/// while no authentication runs in front of metering.
pub const UNAUTHENTICATED_TENANT: &str = "unauthenticated";

/// How metering is set up.
#[derive(Debug, Clone)]
pub struct MeteringConfig {
    /// The write-ahead log's folder (`$STRATUS_HOME/wal`); one per gateway
    /// process.
    pub wal_dir: PathBuf,
    /// A log segment is closed past this size (then deleted once stored).
    pub wal_segment_bytes: u64,
    /// `fdatasync` every group commit: events survive a power loss, not
    /// only a killed process (which `write` alone survives), for about a
    /// disk sync of latency per request. Off by default (`stratus gateway
    /// --usage-wal-sync`).
    pub wal_sync: bool,
    /// Appends that may wait for the log thread before requests wait.
    pub queue_capacity: usize,
    /// Most events per database insert.
    pub batch_size: usize,
    /// How long the writer waits for more events when the log goes quiet.
    pub flush_interval: Duration,
    /// Push export to a CloudEvents sink, if configured.
    pub export: Option<ExportConfig>,
}

impl MeteringConfig {
    /// Defaults, with the log in `wal_dir`.
    pub fn new(wal_dir: impl Into<PathBuf>) -> Self {
        MeteringConfig {
            wal_dir: wal_dir.into(),
            wal_segment_bytes: 16 << 20,
            wal_sync: false,
            queue_capacity: 8192,
            batch_size: 1000,
            flush_interval: Duration::from_millis(100),
            export: None,
        }
    }
}

/// What can go wrong in metering.
#[derive(Debug, thiserror::Error)]
pub enum MeteringError {
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("usage events were not all stored within {0:?}")]
    DrainTimeout(Duration),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("usage export: {0}")]
    Export(String),
}

/// The running metering pipeline; clones share it.
#[derive(Debug, Clone)]
pub struct Meter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    wal: WalHandle,
    committed: watch::Receiver<Position>,
    stored: watch::Receiver<Position>,
    writer: Mutex<Option<WalWriter>>,
    tasks: Vec<AbortHandle>,
    /// Where recorded units are debited from rate limits.
    limits: crate::limits::UsageHook,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Meter {
    /// Open the log (replaying what a previous run left into `store`) and
    /// start the writer and, if configured, the exporter.
    pub async fn start(store: Store, config: MeteringConfig) -> Result<Meter, MeteringError> {
        let (writer, reader) = wal::open(
            &config.wal_dir,
            config.wal_segment_bytes,
            config.queue_capacity,
            config.wal_sync,
        )?;
        let (stored_tx, stored) = watch::channel(reader.cursor());
        let (following_tx, following) = tokio::sync::oneshot::channel();
        let mut tasks = Vec::new();
        tasks.push(
            tokio::spawn(writer::run(
                store.clone(),
                reader,
                writer.committed.clone(),
                stored_tx,
                writer::WriterConfig {
                    batch_size: config.batch_size,
                    flush_interval: config.flush_interval,
                },
                following_tx,
            ))
            .abort_handle(),
        );
        // Returns once the writer follows the log: batching then starts
        // from the first event recorded (an error means the task is gone,
        // which `drain` reports).
        let _ = following.await;
        if let Some(export) = config.export {
            let source = format!("stratus/{}", store.instance_id().await?);
            let exporter = export::Exporter::new(store.clone(), export, source)?;
            tasks.push(tokio::spawn(exporter.run(stored.clone())).abort_handle());
        }
        Ok(Meter {
            inner: Arc::new(Inner {
                wal: writer.handle.clone(),
                committed: writer.committed.clone(),
                stored,
                writer: Mutex::new(Some(writer)),
                tasks,
                limits: Default::default(),
            }),
        })
    }

    /// Write `event` durably (to the synced log); `Ok` means it will be
    /// stored even if the process dies now.
    pub async fn record(&self, event: &UsageEvent) -> Result<(), MeteringError> {
        self.inner.wal.append(event).await?;
        self.inner.limits.debit(event).await;
        Ok(())
    }

    /// Write `event` without waiting for it to be durable (nobody waits
    /// for the response it belongs to).
    pub fn record_detached(&self, event: &UsageEvent) {
        self.inner.wal.append_detached(event);
        self.inner.limits.debit_detached(event);
    }

    /// Where the units of recorded events go to the rate limits.
    pub fn limits_hook(&self) -> &crate::limits::UsageHook {
        &self.inner.limits
    }

    /// Wait until every event recorded so far is in the store.
    pub async fn drain(&self, limit: Duration) -> Result<(), MeteringError> {
        let target = *self.inner.committed.borrow();
        let mut stored = self.inner.stored.clone();
        match tokio::time::timeout(limit, stored.wait_for(|p| *p >= target)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(MeteringError::DrainTimeout(limit)),
        }
    }

    /// Graceful stop: store what is recorded (up to `limit`), then stop.
    pub async fn shutdown(&self, limit: Duration) -> Result<(), MeteringError> {
        let drained = self.drain(limit).await;
        self.halt().await;
        drained
    }

    /// Stop at once, storing nothing more: what a crash does (the log keeps
    /// what was recorded, for the next start). Also releases the log's lock.
    pub async fn halt(&self) {
        for task in &self.inner.tasks {
            task.abort();
        }
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.stop_blocking()).await;
        }
    }
}

/// The endpoint an event is filed under: the route template, or for the
/// wildcard forwarding routes the path with id-like segments replaced by
/// `{id}` (so the set of endpoints stays small).
fn endpoint_of(matched: Option<&MatchedPath>, path: &str) -> String {
    if let Some(template) = matched.map(MatchedPath::as_str)
        && !template.contains('{')
    {
        return event::bounded(template);
    }
    let plain = |segment: &str| {
        segment.len() <= 32
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && segment.bytes().filter(u8::is_ascii_digit).count() <= 2
    };
    let normalised: Vec<&str> = path
        .split('/')
        .map(|s| if s.is_empty() || plain(s) { s } else { "{id}" })
        .collect();
    event::bounded(&normalised.join("/"))
}

/// The header that carries a request's id.
pub const X_REQUEST_ID: &str = "x-request-id";

/// The `x-request-id` a caller sent, kept apart from the gateway's own id
/// for the request (see [`client_request_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequestId(pub String);

/// Outermost: take the caller's `x-request-id` out of the request (into a
/// [`ClientRequestId`], cut to [`event::MAX_CLIENT_REQUEST_ID`] bytes), so
/// the gateway sets its own — a UUIDv7 for every request, which the
/// response and the usage event carry. A caller's id is any text it likes,
/// the same for many requests or another tenant's: as the event's id it
/// would let a caller make usage records ambiguous.
pub async fn client_request_id(mut request: Request, next: Next) -> Response {
    if let Some(theirs) = request.headers_mut().remove(X_REQUEST_ID) {
        let theirs = String::from_utf8_lossy(theirs.as_bytes());
        let theirs = event::bounded_to(theirs.trim(), event::MAX_CLIENT_REQUEST_ID);
        if !theirs.is_empty() {
            request.extensions_mut().insert(ClientRequestId(theirs));
        }
    }
    next.run(request).await
}

/// What [`middleware`] meters a route's calls with.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `None`: nothing is metered.
    pub meter: Option<Meter>,
    /// Whether the route's calls are billed. One that is not (managing a
    /// job its submit and audio paid for) is recorded without units, so no
    /// price applies to it.
    pub billed: bool,
}

/// Meter the responses of the routes it wraps (see the module doc). With
/// no [`Meter`] it passes requests through.
pub async fn middleware(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Some(meter) = gate.meter else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let time_ms = event::now_ms();
    let context = request.extensions().get::<TenantContext>().cloned();
    let on_recorded = request.extensions().get::<OnRecorded>().cloned();
    // Ours: `client_request_id` assigns every request a fresh one.
    let request_id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(event::bounded);
    let client_request_id = request
        .extensions()
        .get::<ClientRequestId>()
        .map(|c| c.0.clone());
    let endpoint = endpoint_of(
        request.extensions().get::<MatchedPath>(),
        request.uri().path(),
    );

    let response = next.run(request).await;
    let Some(reached) = response.extensions().get::<Reached>().copied() else {
        return response;
    };
    let headers = response.headers();
    let (tenant_id, key_id, user_id) = match context {
        Some(c) => (c.tenant_id, c.key_id, c.user_id),
        None => (UNAUTHENTICATED_TENANT.to_owned(), None, None),
    };
    let event = UsageEvent {
        id: uuid::Uuid::now_v7(),
        request_id,
        client_request_id,
        tenant_id: event::bounded(&tenant_id),
        key_id: key_id.as_deref().map(event::bounded),
        user_id: user_id.as_deref().map(event::bounded),
        service: reached.service.to_owned(),
        endpoint,
        model: headers
            .get(stratus_kit::usage::MODEL)
            .and_then(|v| v.to_str().ok())
            .map(event::bounded),
        status: response.status().as_u16(),
        latency_ms: elapsed_ms(started),
        time_ms,
        units: if gate.billed {
            Units::from_headers(headers)
        } else {
            Units::default()
        },
    };
    if stream::is_event_stream(headers) {
        return stream::metered(meter, event, started, response, on_recorded);
    }
    match meter.record(&event).await {
        Ok(()) => {
            if let Some(on_recorded) = on_recorded {
                on_recorded.call(&event, response.headers());
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "usage not recorded; refusing the response");
            ApiError::unavailable(
                "the request's usage could not be recorded, so its result is withheld; retry later",
                1,
            )
            .into_response()
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_templates_or_normalised_paths() {
        assert_eq!(
            endpoint_of(None, "/v1/audio/transcriptions"),
            "/v1/audio/transcriptions"
        );
        assert_eq!(
            endpoint_of(None, "/v1/audio/jobs/0191f3a2-7c1d-7e55-9d1c-2b6a0c9f1e22"),
            "/v1/audio/jobs/{id}"
        );
        assert_eq!(endpoint_of(None, "/v1/x/AbC"), "/v1/x/{id}");
    }
}
