//! The access log and the per-request metrics: one middleware on the public
//! router, so no handler repeats them and no request escapes them (refusals
//! by auth, limits or the in-flight cap included).
//!
//! One `tracing` event per request (target `stratus_gateway::access`) with:
//! request id, route template, method, status, latency (to the response
//! headers), the upstream replica that answered, the usage units the
//! service reported (`x-stratus-usage-*`), and tenant and key ids when a
//! [`TenantContext`] is on the request or its response. Never headers,
//! query strings, bodies or credentials: the route *template* is logged,
//! not the path a caller typed.
//!
//! The tenant context is set by authentication, inside this layer; an outer
//! layer cannot see the extensions an inner one adds to the request, so the
//! forwarding code copies the context onto the response, where this layer
//! finds it. Handlers that answer themselves (admin routes) can do the same.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use stratus_kit::context::TenantContext;
use stratus_kit::usage;

use super::metrics as m;
use crate::routing::UpstreamReplica;
use crate::routing::body::GuardedBody;

/// Route label for requests no route matched (raw paths would let any
/// caller mint new label values).
const UNMATCHED: &str = "unmatched";

/// Counts a request in flight until its response body ends.
struct InFlight(metrics::Gauge);

impl InFlight {
    fn begin() -> Self {
        let gauge = metrics::gauge!(m::IN_FLIGHT);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The middleware: add with `Router::layer` (so the matched route is known).
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let context_in = request.extensions().get::<TenantContext>().cloned();
    let in_flight = InFlight::begin();

    let response = next.run(request).await;

    let latency = started.elapsed();
    let status = response.status().as_u16();
    let context = response
        .extensions()
        .get::<TenantContext>()
        .cloned()
        .or(context_in);
    let upstream = response
        .extensions()
        .get::<UpstreamReplica>()
        .map(|r| r.0.clone());
    let unit = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    metrics::counter!(
        m::REQUESTS,
        "route" => route.clone(),
        "method" => method.as_str().to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        m::REQUEST_DURATION,
        "route" => route.clone(),
        "method" => method.as_str().to_owned()
    )
    .record(latency.as_secs_f64());

    tracing::info!(
        target: "stratus_gateway::access",
        request_id = request_id.as_deref(),
        route = %route,
        method = %method,
        status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        upstream = upstream.as_deref(),
        tenant_id = context.as_ref().map(|c| c.tenant_id.as_str()),
        key_id = context.as_ref().and_then(|c| c.key_id.as_deref()),
        user_id = context.as_ref().and_then(|c| c.user_id.as_deref()),
        usage_audio_seconds = unit(usage::AUDIO_SECONDS).as_deref(),
        usage_input_tokens = unit(usage::INPUT_TOKENS).as_deref(),
        usage_characters = unit(usage::CHARACTERS).as_deref(),
        usage_documents = unit(usage::DOCUMENTS).as_deref(),
        "request"
    );

    response.map(|body| GuardedBody::wrap(body, in_flight))
}
