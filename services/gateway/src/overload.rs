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
//! - An adaptive limit on the forwarded pool (opt-in): while the
//!   gateway's async runtime runs late (a timer due every few
//!   milliseconds fires more than `max_scheduling_delay` late), the CPUs
//!   are saturated and every admitted request waits behind the others, so
//!   the forwarded pool's limit drops below what is in flight; while the
//!   runtime is on time and the limit binds, it grows again
//!   ([`AdaptiveLimit`]: additive increase, multiplicative decrease, as
//!   TCP's congestion window). A request past the limit is refused 503 +
//!   Retry-After. Lateness, not request duration, is the signal: a
//!   minute-long transcription waits on its upstream without making the
//!   runtime late, so long requests do not shrink the limit, and short
//!   ones do not hide a saturated CPU. A fixed cap cannot do this: sized
//!   for long transcriptions it is far too large a queue of short
//!   requests (loadtest/RESULTS.md). The check is the first thing a
//!   request meets ([`EarlyShed`], outside request ids, tracing, the
//!   access log and authentication): past capacity the refusals compete
//!   with the admitted requests for the same CPUs, so the less a refusal
//!   costs, the further past capacity admitted requests stay fast.
//!   Refusals are counted in `/metrics`, not written to the access log (a
//!   flood would flood it); the limit is a gauge there. Off by default:
//!   where the gateway shares its cores with the load (`stratus serve`'s
//!   models, a benchmark's generator) lateness also comes from the
//!   neighbours, and the limit would shed for them.
//! - Request timeout: from arrival to the response headers (the upload and
//!   the upstream's work included). Past it the upstream call is dropped —
//!   which closes its connection, so the replica can stop — and the caller
//!   gets 504.
//!
//! Health (`/healthz`, `/readyz`) is not behind either: a full gateway must
//! still say it is alive, or an orchestrator would restart it under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use stratus_kit::ApiError;
use tokio::sync::Semaphore;

use crate::observability::metrics::{Rejection, record_adaptive_limit, record_rejection};
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
    /// The forwarded pool's limit shrinks while the runtime runs later
    /// than this and grows while it does not (see the module doc); `None`:
    /// no adaptive limit, only `max_in_flight`.
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
    /// The slots there are.
    capacity: usize,
    timeout: Duration,
}

impl Guard {
    fn new(config: &EdgeConfig) -> Guard {
        let capacity = config.max_in_flight.min(Semaphore::MAX_PERMITS);
        Guard {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            timeout: config.request_timeout,
        }
    }

    /// Requests holding one of the pool's slots now.
    fn in_flight(&self) -> usize {
        self.capacity.saturating_sub(self.slots.available_permits())
    }
}

/// The forwarded pool's adaptive in-flight limit (see the module doc),
/// moved once a tick by how late the tick fired.
#[derive(Debug)]
pub struct AdaptiveLimit {
    limit: AtomicUsize,
    /// The limit never drops below this: enough to keep a few replicas
    /// busy when lateness comes from elsewhere (refusals alone, a
    /// neighbour), where shedding the last requests would not help.
    floor: usize,
    /// `max_in_flight`: the limit never grows past the fixed cap.
    ceiling: usize,
    target: Duration,
}

impl AdaptiveLimit {
    /// How often the limit moves: often enough to follow a burst, rarely
    /// enough that the tick costs nothing (and above the timer's 1 ms
    /// resolution, so lateness is not rounding noise).
    const TICK: Duration = Duration::from_millis(5);
    pub const FLOOR: usize = 16;

    fn new(target: Duration, ceiling: usize) -> AdaptiveLimit {
        AdaptiveLimit {
            limit: AtomicUsize::new(ceiling),
            floor: Self::FLOOR.min(ceiling),
            ceiling,
            target,
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Whether one more request may join the `in_flight` ones.
    fn admits(&self, in_flight: usize) -> bool {
        in_flight < self.limit()
    }

    /// One tick's reading: the runtime ran `late`, with `in_flight`
    /// forwarded requests.
    /// - Late: a tenth below what is in flight, so the limit binds at
    ///   once however high it had grown, and keeps falling while the
    ///   lateness lasts.
    /// - On time, and the limit binds (the next request would be
    ///   refused): up by one and a thirty-second, so it probes for more
    ///   without overshooting a saturated CPU by much in one tick.
    /// - On time and not binding: unchanged; growing a limit nothing
    ///   tests would only leave it far above the next burst's capacity.
    fn adjust(&self, late: Duration, in_flight: usize) {
        let limit = self.limit();
        let next = if late > self.target {
            in_flight.min(limit) * 9 / 10
        } else if in_flight + 1 >= limit {
            limit + 1 + limit / 32
        } else {
            limit
        };
        self.limit
            .store(next.clamp(self.floor, self.ceiling), Ordering::Relaxed);
    }
}

/// Refuses requests to the forwarded routes past the [`AdaptiveLimit`],
/// before any other work is done for them (see the module doc); cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct EarlyShed {
    limit: Arc<AdaptiveLimit>,
    /// The forwarded pool, whose requests in flight the limit applies to.
    pool: Guard,
    /// How the forwarded routes' paths begin: a route's path up to its
    /// first parameter (`/v1/audio/`), or the whole path when it has none
    /// (`/v1/embeddings`, matched exactly).
    forwarded: Arc<[(&'static str, bool)]>,
}

impl EarlyShed {
    /// For the `forwarded` route paths (as the route table spells them)
    /// and `overload`'s forwarded pool; `None` when the config asks for no
    /// adaptive limit, or outside a runtime.
    pub fn new(
        config: &EdgeConfig,
        overload: &Overload,
        forwarded: &[&'static str],
    ) -> Option<EarlyShed> {
        let target = config.max_scheduling_delay?;
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let pool = overload.forwarded.clone();
        let limit = Arc::new(AdaptiveLimit::new(target, pool.capacity));
        let forwarded = forwarded
            .iter()
            .map(|path| match path.find('{') {
                Some(at) => (&path[..at], true),
                None => (*path, false),
            })
            .collect();
        let shed = EarlyShed {
            limit,
            pool,
            forwarded,
        };
        let weak = Arc::downgrade(&shed.limit);
        let pool = shed.pool.clone();
        // Measures how late the runtime runs: a task that sleeps a tick at
        // a time sees how much longer than that each sleep took (a
        // runnable task waits for a worker thread when the CPUs are
        // saturated, this one included). It ends with the router.
        runtime.spawn(async move {
            loop {
                let started = tokio::time::Instant::now();
                tokio::time::sleep(AdaptiveLimit::TICK).await;
                let Some(limit) = weak.upgrade() else {
                    return;
                };
                let late = started.elapsed().saturating_sub(AdaptiveLimit::TICK);
                let before = limit.limit();
                limit.adjust(late, pool.in_flight());
                if limit.limit() != before {
                    record_adaptive_limit(limit.limit());
                }
            }
        });
        record_adaptive_limit(shed.limit.limit());
        Some(shed)
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
        && !shed.limit.admits(shed.pool.in_flight())
        && shed.is_forwarded(request.uri().path())
    {
        record_rejection(Rejection::AdaptiveLimit);
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
        let overload = Overload::new(&config);
        let forwarded = ["/v1/audio/{*rest}", "/v1/embeddings"];
        let shed = EarlyShed::new(&config, &overload, &forwarded).unwrap();
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
        assert!(EarlyShed::new(&off, &overload, &forwarded).is_none());
    }

    #[test]
    fn the_limit_falls_below_what_is_in_flight_while_late_and_grows_back_while_it_binds() {
        let target = Duration::from_millis(10);
        let late = Duration::from_millis(11);
        let on_time = Duration::from_millis(1);
        let limit = AdaptiveLimit::new(target, 1024);
        assert_eq!(limit.limit(), 1024);
        assert!(limit.admits(1023) && !limit.admits(1024));

        // Late: a tenth below what is in flight, however high it was.
        limit.adjust(late, 500);
        assert_eq!(limit.limit(), 450);
        assert!(!limit.admits(450) && limit.admits(449));
        // Still late while completions drain the pool: it keeps falling,
        // never under the floor.
        limit.adjust(late, 450);
        assert_eq!(limit.limit(), 405);
        for _ in 0..100 {
            limit.adjust(late, limit.limit());
        }
        assert_eq!(limit.limit(), AdaptiveLimit::FLOOR);
        // At exactly the target the runtime counts as on time.
        limit.adjust(target, 0);
        assert_eq!(limit.limit(), AdaptiveLimit::FLOOR);

        // On time but not binding: nothing tests the limit, it stays.
        limit.adjust(on_time, 3);
        assert_eq!(limit.limit(), AdaptiveLimit::FLOOR);
        // On time and binding: up by one and a thirty-second a tick.
        limit.adjust(on_time, AdaptiveLimit::FLOOR);
        assert_eq!(limit.limit(), AdaptiveLimit::FLOOR + 1);
        limit.adjust(on_time, 64);
        assert_eq!(limit.limit(), AdaptiveLimit::FLOOR + 2);
        // And never past the fixed cap.
        for _ in 0..1000 {
            limit.adjust(on_time, limit.limit());
        }
        assert_eq!(limit.limit(), 1024);
    }

    #[test]
    fn a_cap_below_the_floor_is_the_floor() {
        let limit = AdaptiveLimit::new(Duration::from_millis(5), 4);
        limit.adjust(Duration::from_millis(50), 4);
        assert_eq!(limit.limit(), 4);
        assert!(limit.admits(3) && !limit.admits(4));
    }
}
