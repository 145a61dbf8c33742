//! # stratus-gateway
//!
//! The one public edge of Stratus. Per request: request id → authentication
//! (deny by default) → authorization (the route's scope) → rate and
//! concurrency limits → budget reservation → metering → route to an
//! upstream service, with the caller's tenant context → response.
//!
//! ## Layout
//! - [`routes`] — the route table: every route and who may call it.
//! - [`auth`] — API keys, sessions, the server secret, the auth middleware,
//!   the [`auth::Principal`] a request runs as.
//! - [`tenants`] — tenants, keys and users: the admin and self-service API,
//!   the bootstrap admin key.
//! - [`routing`] — upstreams (in-process router or a pool of HTTP replicas:
//!   balancing, health checks, safe retries), streaming forwarding with a
//!   body limit, `/v1/models` aggregation.
//! - [`overload`] — the global in-flight caps (forwarded routes, the
//!   gateway's own) and the request timeout.
//! - [`limits`] — per-key and per-tenant rates (requests, units) and
//!   concurrency: in-process or shared through Redis; their admin API.
//! - [`observability`] — Prometheus metrics (served on their own listener)
//!   and the structured access log.
//! - [`store`] — SQLite / PostgreSQL pools, migrations and rows.
//! - [`metering`] — a usage event per request that reaches a service
//!   (write-ahead log, batched writer, CloudEvents export, `/v1/usage`).
//! - [`billing`] — price catalog, monthly budgets (reserve before a
//!   request runs, settle when metering records it) and invoices.
//! - [`dashboard`] — the usage dashboard at `/dashboard`: server-rendered
//!   pages (login, usage charts, API keys, members) over the same store.
//! - [`openapi`] — the public OpenAPI document (every service's operations
//!   merged) and its routes, `/openapi.json` and `/docs`.

pub mod auth;
pub mod billing;
pub mod dashboard;
pub mod limits;
pub mod metering;
pub mod observability;
pub mod openapi;
pub mod overload;
pub mod routes;
pub mod routing;
pub mod store;
pub mod tenants;

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request};
use axum::response::Response;
use stratus_kit::ApiError;
use stratus_kit::context::InternalToken;
use stratus_kit::health::{self, Readiness};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use auth::{Auth, Principal};
pub use overload::EdgeConfig;
pub use routing::{PoolConfig, Upstream, UpstreamError, Upstreams};
pub use store::{Store, StoreError};

/// What every gateway handler can reach.
#[derive(Debug, Clone)]
pub struct GatewayState {
    pub upstreams: Arc<Upstreams>,
    pub store: Store,
    pub auth: Auth,
    /// Proves to upstream services that forwarded tenant context is ours.
    pub internal_token: InternalToken,
    /// Meters every request forwarded to a service; `None` only where
    /// nothing is billed (tests of other parts).
    pub metering: Option<metering::Meter>,
    /// Prices, budgets and invoices; `None`: no budget is enforced and the
    /// billing routes answer 404.
    pub billing: Option<billing::Billing>,
    /// In-flight cap, request timeout and body limit (see [`overload`]).
    pub edge: EdgeConfig,
    /// Per-key and per-tenant limits ([`limits::Limits::disabled`]: none).
    pub limits: limits::Limits,
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

    if let Some(meter) = &state.metering {
        // Units reported by services are debited from the limits when
        // metering records them.
        meter.limits_hook().attach(state.limits.clone());
    }
    let auth = state.auth.clone();
    let overload = overload::Overload::new(&state.edge);
    let table = routes::table();
    let forwarded: Vec<&'static str> = table
        .iter()
        .filter(|route| route.metered != routes::Metered::No)
        .map(|route| route.path)
        .collect();
    let shed_early = overload::EarlyShed::new(&state.edge, &overload, &forwarded);
    let mut api = Router::new();
    for route in table {
        let mut handler = route.handler;
        if route.metered != routes::Metered::No {
            let billed = route.metered == routes::Metered::Billed;
            // Metering wraps only the routes that forward to services: it
            // meters responses an upstream produced.
            handler = handler.layer(axum::middleware::from_fn_with_state(
                metering::Gate {
                    meter: state.metering.clone(),
                    billed,
                },
                metering::middleware,
            ));
            // Outside metering: the reservation must be in the request's
            // extensions before metering reads them.
            if billed {
                handler = handler.layer(axum::middleware::from_fn_with_state(
                    state.billing.clone(),
                    billing::middleware,
                ));
            }
            // Inside the scope check (so the caller is known), outside
            // the budget and metering (a refused request reserves nothing
            // and reaches no service).
            handler = handler.layer(axum::middleware::from_fn_with_state(
                limits::Gate {
                    limits: state.limits.clone(),
                    unit: limits::Unit::of_route(route.path),
                    default_tenant_concurrency: Some(state.edge.tenant_in_flight()),
                },
                limits::middleware,
            ));
        }
        let check = axum::middleware::from_fn_with_state(route.access, auth::middleware::authorize);
        // Outside the scope check: a full gateway sheds before any work.
        let forwarded = route.metered != routes::Metered::No;
        let handler = overload.protect(handler.layer(check), forwarded);
        api = api.route(route.path, handler);
    }
    let api = api.with_state(state.clone());

    Router::new()
        .merge(api)
        .merge(health::routes(readiness))
        .merge(openapi::openapi_routes())
        .fallback(stratus_kit::error::not_found_fallback)
        // Last, so it reaches every route above.
        .method_not_allowed_fallback(stratus_kit::error::method_not_allowed_fallback)
        // Outside the routes, so unknown paths and methods are refused too.
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::middleware::authenticate,
        ))
        // Outside authentication, so refusals are logged and counted too.
        .layer(axum::middleware::from_fn(
            observability::access_log::observe,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeUuidV7))
        // Outside the request id: the caller's is kept apart, so every
        // request gets one of ours.
        .layer(axum::middleware::from_fn(metering::client_request_id))
        // Outermost: a refusal on pressure costs as little as it can.
        .layer(axum::middleware::from_fn_with_state(
            shed_early,
            overload::shed_early,
        ))
}

/// Tell the upstream who the caller is, in headers only the gateway can set.
fn with_context(state: &GatewayState, principal: &Principal, request: &mut Request<Body>) {
    principal
        .context()
        .apply(&state.internal_token, request.headers_mut());
}

pub(crate) async fn forward_speech(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    mut request: Request<Body>,
) -> Result<Response, ApiError> {
    with_context(&state, &principal, &mut request);
    let upstream = state
        .upstreams
        .speech
        .as_ref()
        .ok_or(UpstreamError::NotConfigured { service: "speech" })?;
    Ok(upstream
        .forward_limited(request, state.edge.max_request_body)
        .await?)
}

pub(crate) async fn forward_language(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    mut request: Request<Body>,
) -> Result<Response, ApiError> {
    with_context(&state, &principal, &mut request);
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
