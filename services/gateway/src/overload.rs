//! Overload protection for the forwarded API routes: a global in-flight cap
//! and a request timeout, so overload sheds load early instead of
//! collapsing.
//!
//! - In-flight cap: a request that finds every slot taken is answered 503 +
//!   Retry-After at once. Queueing it instead would add latency to every
//!   request behind it and keep sockets and memory busy for callers that
//!   may already have given up; an immediate 503 lets the caller's retry or
//!   another gateway replica take it. A slot is held until the response
//!   body has finished streaming, so long SSE streams count.
//! - Request timeout: from arrival to the response headers (the upload and
//!   the upstream's work included). Past it the upstream call is dropped —
//!   which closes its connection, so the replica can stop — and the caller
//!   gets 504.
//!
//! Health (`/healthz`, `/readyz`) is not behind either: a full gateway must
//! still say it is alive, or an orchestrator would restart it under load.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stratus_kit::ApiError;
use tokio::sync::Semaphore;

use crate::observability::metrics::{Rejection, record_rejection};
use crate::routing::body::GuardedBody;

/// Knobs that protect the edge.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Requests forwarded at once, across all callers.
    pub max_in_flight: usize,
    /// Longest time from a request's arrival to its response headers.
    pub request_timeout: Duration,
    /// Largest request body, counted while it streams.
    pub max_request_body: u64,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            request_timeout: Duration::from_secs(600),
            max_request_body: 32 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
struct Guard {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

/// Put `api` behind the in-flight cap and the request timeout.
pub fn protect(api: Router, config: &EdgeConfig) -> Router {
    let guard = Guard {
        slots: Arc::new(Semaphore::new(
            config.max_in_flight.min(Semaphore::MAX_PERMITS),
        )),
        timeout: config.request_timeout,
    };
    api.layer(axum::middleware::from_fn_with_state(guard, shed_or_run))
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
