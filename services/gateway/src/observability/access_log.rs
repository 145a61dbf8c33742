//! The access log and the per-request metrics: one middleware on the public
//! router, so no handler repeats them and no request escapes them (refusals
//! by auth, limits or the in-flight cap included). The rest of the request
//! runs in its `request` span (`stratus_kit::telemetry::request_span`).
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
use tracing::Instrument;

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

/// The route templates of the services behind the forwarding routes
/// (`/v1/audio/{*rest}` reaches `/v1/audio/transcriptions`, …), read once
/// from the services' own route tables.
fn service_routes() -> &'static [&'static str] {
    static ROUTES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes: Vec<&'static str> = stratus_speech::SpeechService::public_routes()
            .into_iter()
            .map(|(path, _)| path)
            .chain(
                stratus_language::LanguageService::public_routes()
                    .into_iter()
                    .map(|(path, _)| path),
            )
            .collect();
        routes.sort_unstable();
        routes.dedup();
        routes
    })
}

/// Whether `path` is an instance of `template` (`{name}` segments match
/// any one segment).
fn instance_of(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let any = want.starts_with('{') && want.ends_with('}') && !got.is_empty();
                if !any && want != got {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The route label of a request: the gateway's template, or for a
/// forwarding route (`…/{*rest}`) the service route the path is an
/// instance of, so each endpoint has its own series (still a fixed set:
/// a path no service route matches keeps the forwarding template).
fn route_label(matched: Option<&str>, path: &str) -> String {
    let Some(template) = matched else {
        return UNMATCHED.to_owned();
    };
    if template.ends_with("{*rest}")
        && let Some(route) = service_routes().iter().find(|r| instance_of(r, path))
    {
        return (*route).to_owned();
    }
    template.to_owned()
}

/// The middleware: add with `Router::layer` (so the matched route is known).
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        request.uri().path(),
    );
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let context_in = request.extensions().get::<TenantContext>().cloned();
    let in_flight = InFlight::begin();

    let span = stratus_kit::telemetry::request_span(request.headers());
    let response = next.run(request).instrument(span).await;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_requests_are_labelled_with_the_service_route() {
        let forwarded = "/v1/audio/{*rest}";
        assert_eq!(
            route_label(Some(forwarded), "/v1/audio/transcriptions"),
            "/v1/audio/transcriptions"
        );
        assert_eq!(
            route_label(Some(forwarded), "/v1/audio/translations"),
            "/v1/audio/translations"
        );
        // No service route: the forwarding template, never the raw path.
        assert_eq!(
            route_label(Some(forwarded), "/v1/audio/made-up-123"),
            "/v1/audio/{*rest}"
        );
        let language = "/v1/language/{*rest}";
        assert_eq!(
            route_label(Some(language), "/v1/language/sentiment"),
            "/v1/language/sentiment"
        );
        assert_eq!(route_label(None, "/anything"), UNMATCHED);
    }

    #[test]
    fn templates_match_segment_by_segment() {
        assert!(instance_of("/v1/audio/jobs/{id}", "/v1/audio/jobs/abc"));
        assert!(!instance_of("/v1/audio/jobs/{id}", "/v1/audio/jobs/"));
        assert!(!instance_of("/v1/audio/jobs/{id}", "/v1/audio/jobs/a/b"));
        assert!(!instance_of("/v1/embeddings", "/v1/embeddingsx"));
    }
}
