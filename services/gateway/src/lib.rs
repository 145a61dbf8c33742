//! # stratus-gateway
//!
//! The one public edge of Stratus. Per request: request id → (auth, limits,
//! budget and metering arrive with their issues) → route to an upstream
//! service → response.
//!
//! ## Layout
//! - [`routing`] — upstreams (in-process router or a pool of HTTP replicas:
//!   balancing, health checks, safe retries), streaming forwarding with a
//!   body limit, `/v1/models` aggregation.
//! - [`overload`] — the global in-flight cap and the request timeout.
//! - [`observability`] — Prometheus metrics (served on their own listener)
//!   and the structured access log.
//! - [`store`] — SQLite / PostgreSQL pools and migrations.
//! - [`metering`] — a usage event per request that reaches a service
//!   (write-ahead log, batched writer, CloudEvents export, `/v1/usage`).
//! - [`openapi`] — the public OpenAPI document (every service's operations
//!   merged) and its routes, `/openapi.json` and `/docs`.

pub mod metering;
pub mod observability;
pub mod openapi;
pub mod overload;
pub mod routing;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request};
use axum::response::Response;
use axum::routing::{any, get};
use stratus_kit::ApiError;
use stratus_kit::health::{self, Readiness};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use overload::EdgeConfig;
pub use routing::{PoolConfig, Upstream, UpstreamError, Upstreams};
pub use store::{Store, StoreError};

/// What every gateway handler can reach.
#[derive(Debug, Clone)]
pub struct GatewayState {
    pub upstreams: Arc<Upstreams>,
    pub store: Store,
    /// Meters every request forwarded to a service; `None` only where
    /// nothing is billed (tests of other parts).
    pub metering: Option<metering::Meter>,
    /// In-flight cap, request timeout and body limit (see [`overload`]).
    pub edge: EdgeConfig,
}

/// Request ids are UUIDv7: time-ordered, so logs sort by them.
#[derive(Debug, Clone, Copy, Default)]
struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The gateway's router. `readiness` gains probes for the store and every
/// upstream, so `/readyz` is ready only when all of them are.
pub fn router(state: GatewayState, readiness: Readiness) -> Router {
    observability::metrics::ensure_installed();
    let store = state.store.clone();
    readiness.add_probe("store", move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|e| e.to_string()) })
    });
    for upstream in state.upstreams.all() {
        let probe = upstream.clone();
        readiness.add_probe(&format!("upstream:{}", upstream.service()), move || {
            let upstream = probe.clone();
            Box::pin(async move { upstream.ready().await })
        });
    }

    // Metering: wraps the routes that forward to services (it meters only
    // responses an upstream produced), plus the usage API.
    let forwarding = Router::new()
        .route("/v1/audio/{*rest}", any(forward_speech))
        .route("/v1/embeddings", any(forward_language))
        .route("/v1/language/{*rest}", any(forward_language))
        .layer(axum::middleware::from_fn_with_state(
            state.metering.clone(),
            metering::middleware,
        ))
        .merge(metering::api::routes());
    let api = Router::new()
        .route("/v1/models", get(routing::models::list_models))
        .merge(forwarding)
        .with_state(state.clone());
    let api = overload::protect(api, &state.edge);

    Router::new()
        .merge(api)
        .merge(health::routes(readiness))
        .merge(openapi::openapi_routes())
        .fallback(stratus_kit::error::not_found_fallback)
        .layer(axum::middleware::from_fn(
            observability::access_log::observe,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeUuidV7))
}

async fn forward_speech(
    State(state): State<GatewayState>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let upstream = state
        .upstreams
        .speech
        .as_ref()
        .ok_or(UpstreamError::NotConfigured { service: "speech" })?;
    Ok(upstream
        .forward_limited(request, state.edge.max_request_body)
        .await?)
}

async fn forward_language(
    State(state): State<GatewayState>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let upstream = state
        .upstreams
        .language
        .as_ref()
        .ok_or(UpstreamError::NotConfigured {
            service: "language",
        })?;
    Ok(upstream
        .forward_limited(request, state.edge.max_request_body)
        .await?)
}
