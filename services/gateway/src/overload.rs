//! Overload protection for the API routes: a global in-flight cap and a
//! request timeout, so overload sheds load early instead of collapsing.
//!
//! - In-flight cap: a request that finds every slot taken is answered 503 +
//!   Retry-After at once. Queueing it instead would add latency to every
//!   request behind it and keep sockets and memory busy for callers that
//!   may already have given up; an immediate 503 lets the caller's retry or
//!   another gateway replica take it. A slot is held until the response
//!   body has finished streaming, so long SSE streams count (and so do
//!   uploads, from their headers on).
//! - Two pools of slots: the forwarded routes (the model services:
//!   uploads, transcriptions, streams) share `max_in_flight`; the gateway's
//!   own routes (`/v1/models`, usage, billing, keys, admin, dashboard) have
//!   as many of their own. They are cheap and answered from the store, and
//!   uploads that fill the first pool must not make `/v1/models` or a key
//!   revocation answer 503.
//! - One tenant does not get the whole first pool: past its share
//!   ([`EdgeConfig::tenant_in_flight`]) its forwarded requests are refused
//!   429 by the tenant concurrency limit (see `limits`), which releases the
//!   slot it took at once.
//! - Runtime pressure (opt-in): a request to a forwarded route is refused
//!   503 + Retry-After while the gateway's async runtime runs late (a timer
//!   due every few milliseconds fires more than `max_scheduling_delay`
//!   late): the CPUs are saturated, so every admitted request is already
//!   waiting behind others. The in-flight cap alone sheds late for short
//!   requests (a thousand cheap requests in flight are a long queue on two
//!   cores). This check is the first thing a request meets
//!   ([`EarlyShed`], outside request ids, tracing, the access log and
//!   authentication): past capacity the refusals compete with the admitted
//!   requests for the same CPUs, so the less a refusal costs, the further
//!   past capacity admitted requests stay fast. Refusals are counted in
//!   `/metrics`, not written to the access log (a flood would flood it).
//!   Off by default: where the gateway shares its cores with the load (a
//!   co-located generator, `stratus serve`'s models) lateness also comes
//!   from the neighbours (loadtest/RESULTS.md).
//! - Request timeout: from arrival to the response headers (the upload and
//!   the upstream's work included). Past it the upstream call is dropped —
//!   which closes its connection, so the replica can stop — and the caller
//!   gets 504.
//!
//! Health (`/healthz`, `/readyz`) is not behind either: a full gateway must
//! still say it is alive, or an orchestrator would restart it under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use stratus_kit::ApiError;
use tokio::sync::Semaphore;

use crate::observability::metrics::{Rejection, record_rejection};
use crate::routing::body::GuardedBody;

/// Knobs that protect the edge.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Requests forwarded at once, across all callers (and as many again
    /// on the gateway's own routes).
    pub max_in_flight: usize,
    /// Forwarded requests one tenant may have in flight when it has no
    /// concurrency limit of its own; `None`: half of `max_in_flight`.
    pub max_in_flight_per_tenant: Option<usize>,
    /// Longest time from a request's arrival to its response headers.
    pub request_timeout: Duration,
    /// Largest request body, counted while it streams.
    pub max_request_body: u64,
    /// Forwarded requests are shed while the runtime runs later than this
    /// (see the module doc); `None`: never on this account.
    pub max_scheduling_delay: Option<Duration>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            max_in_flight_per_tenant: None,
            request_timeout: Duration::from_secs(600),
            max_request_body: 32 * 1024 * 1024,
            max_scheduling_delay: None,
        }
    }
}

impl EdgeConfig {
    /// The in-flight requests of one tenant without a concurrency limit of
    /// its own: half the cap by default, so one tenant can never hold every
    /// slot, while a single busy tenant (the common case) still has most of
    /// the capacity.
    pub fn tenant_in_flight(&self) -> u64 {
        let share = self
            .max_in_flight_per_tenant
            .unwrap_or(self.max_in_flight / 2)
            .clamp(1, self.max_in_flight.max(1));
        u64::try_from(share).unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone)]
struct Guard {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Guard {
    fn new(config: &EdgeConfig) -> Guard {
        Guard {
            slots: Arc::new(Semaphore::new(
                config.max_in_flight.min(Semaphore::MAX_PERMITS),
            )),
            timeout: config.request_timeout,
        }
    }
}

/// How late the async runtime runs: a task that sleeps [`Pressure::TICK`]
/// at a time records how much longer than that each sleep took (a
/// runnable task waits for a worker thread when the CPUs are saturated,
/// this one included). Readings decay, so pressure ends soon after the
/// load does.
#[derive(Debug, Default)]
pub struct Pressure {
    late_us: AtomicU64,
}

impl Pressure {
    const TICK: Duration = Duration::from_millis(5);

    /// A measured pressure, its task running on the current runtime for
    /// as long as the returned value lives (`None` outside a runtime).
    pub fn start() -> Option<Arc<Pressure>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let pressure = Arc::new(Pressure::default());
        let weak = Arc::downgrade(&pressure);
        runtime.spawn(async move {
            loop {
                let started = tokio::time::Instant::now();
                tokio::time::sleep(Self::TICK).await;
                let Some(pressure) = weak.upgrade() else {
                    return;
                };
                let late = started.elapsed().saturating_sub(Self::TICK);
                pressure.record(late);
            }
        });
        Some(pressure)
    }

    /// Take a reading: the larger of it and half the previous one.
    fn record(&self, late: Duration) {
        let late = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let decayed = self.late_us.load(Ordering::Relaxed) / 2;
        self.late_us.store(late.max(decayed), Ordering::Relaxed);
    }

    /// How late the runtime runs now.
    pub fn late(&self) -> Duration {
        Duration::from_micros(self.late_us.load(Ordering::Relaxed))
    }
}

/// Refuses requests to the forwarded routes while the runtime runs late,
/// before any other work is done for them (see the module doc); cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct EarlyShed {
    pressure: Arc<Pressure>,
    max: Duration,
    /// How the forwarded routes' paths begin: a route's path up to its
    /// first parameter (`/v1/audio/`), or the whole path when it has none
    /// (`/v1/embeddings`, matched exactly).
    forwarded: Arc<[(&'static str, bool)]>,
}

impl EarlyShed {
    /// For the `forwarded` route paths (as the route table spells them);
    /// `None` when the config asks for no shedding on pressure, or outside
    /// a runtime.
    pub fn new(config: &EdgeConfig, forwarded: &[&'static str]) -> Option<EarlyShed> {
        let max = config.max_scheduling_delay?;
        let pressure = Pressure::start()?;
        let forwarded = forwarded
            .iter()
            .map(|path| match path.find('{') {
                Some(at) => (&path[..at], true),
                None => (*path, false),
            })
            .collect();
        Some(EarlyShed {
            pressure,
            max,
            forwarded,
        })
    }

    fn is_forwarded(&self, path: &str) -> bool {
        self.forwarded.iter().any(|&(start, prefix)| {
            if prefix {
                path.starts_with(start)
            } else {
                path == start
            }
        })
    }
}

/// The [`EarlyShed`] check, as a middleware (outermost).
pub async fn shed_early(
    State(shed): State<Option<EarlyShed>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(shed) = &shed
        && shed.pressure.late() > shed.max
        && shed.is_forwarded(request.uri().path())
    {
        record_rejection(Rejection::Pressure);
        return ApiError::unavailable("the gateway is overloaded; retry shortly", 1)
            .with_code("overloaded")
            .into_response();
    }
    next.run(request).await
}

/// The two pools of slots (see the module doc); cheap to clone.
#[derive(Debug, Clone)]
pub struct Overload {
    forwarded: Guard,
    own: Guard,
}

impl Overload {
    pub fn new(config: &EdgeConfig) -> Overload {
        Overload {
            forwarded: Guard::new(config),
            own: Guard::new(config),
        }
    }

    /// `handler` behind the request timeout and the in-flight cap of its
    /// pool: the forwarded routes' or the gateway's own.
    pub fn protect<S>(&self, handler: MethodRouter<S>, forwarded: bool) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let guard = if forwarded {
            self.forwarded.clone()
        } else {
            self.own.clone()
        };
        handler.layer(axum::middleware::from_fn_with_state(guard, shed_or_run))
    }
}

async fn shed_or_run(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Ok(permit) = guard.slots.clone().try_acquire_owned() else {
        record_rejection(Rejection::InFlightCap);
        return ApiError::unavailable(
            "the gateway is at its in-flight request limit; retry shortly",
            1,
        )
        .with_code("overloaded")
        .into_response();
    };
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response.map(|body| GuardedBody::wrap(body, permit)),
        Err(_) => {
            record_rejection(Rejection::Timeout);
            ApiError::gateway_timeout(format!(
                "the request did not complete within {} s",
                guard.timeout.as_secs_f64()
            ))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_forwarded_routes_are_shed_early() {
        let config = EdgeConfig {
            max_scheduling_delay: Some(Duration::from_millis(10)),
            ..EdgeConfig::default()
        };
        let shed = EarlyShed::new(&config, &["/v1/audio/{*rest}", "/v1/embeddings"]).unwrap();
        for path in [
            "/v1/audio/transcriptions",
            "/v1/audio/jobs/j1",
            "/v1/embeddings",
        ] {
            assert!(shed.is_forwarded(path), "{path}");
        }
        for path in [
            "/v1/models",
            "/v1/embeddings/x",
            "/v1/audiox",
            "/healthz",
            "/",
        ] {
            assert!(!shed.is_forwarded(path), "{path}");
        }
        let off = EdgeConfig::default();
        assert!(EarlyShed::new(&off, &["/v1/embeddings"]).is_none());
    }

    #[test]
    fn pressure_follows_the_latest_reading_and_decays() {
        let pressure = Pressure::default();
        pressure.record(Duration::from_millis(40));
        assert_eq!(pressure.late(), Duration::from_millis(40));
        // A prompt tick halves it: pressure ends soon after the load does.
        for want in [20, 10, 5] {
            pressure.record(Duration::ZERO);
            assert_eq!(pressure.late(), Duration::from_millis(want));
        }
        pressure.record(Duration::from_millis(30));
        assert_eq!(pressure.late(), Duration::from_millis(30));
    }
}
