//! # stratus-gateway
//!
//! The one public edge of Stratus. Per request: request id → (auth, limits,
//! budget and metering arrive with their issues) → route to an upstream
//! service → response.
//!
//! ## Layout
//! - [`routing`] — upstreams (in-process router or HTTP replica), forwarding,
//!   `/v1/models` aggregation.
//! - [`store`] — SQLite / PostgreSQL pools and migrations.
//! - [`openapi`] — the public OpenAPI document (every service's operations
//!   merged) and its routes, `/openapi.json` and `/docs`.

pub mod openapi;
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

pub use routing::{Upstream, UpstreamError, Upstreams};
pub use store::{Store, StoreError};

/// What every gateway handler can reach.
#[derive(Debug, Clone)]
pub struct GatewayState {
    pub upstreams: Arc<Upstreams>,
    pub store: Store,
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

    Router::new()
        .route("/v1/models", get(routing::models::list_models))
        .route("/v1/audio/{*rest}", any(forward_speech))
        .route("/v1/embeddings", any(forward_language))
        .route("/v1/language/{*rest}", any(forward_language))
        .with_state(state)
        .merge(health::routes(readiness))
        .merge(openapi::openapi_routes())
        .fallback(stratus_kit::error::not_found_fallback)
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
    Ok(upstream.forward(request).await?)
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
    Ok(upstream.forward(request).await?)
}
