//! Routing requests to upstream services.
//!
//! An [`Upstream`] is either a service's router in this process (`stratus
//! serve`: a tower call, no socket) or a [`ReplicaPool`] of remote replicas
//! reached over HTTP (`stratus gateway`). Both go through
//! [`Upstream::forward`], so the all-in-one and the scaled-out deployment
//! share one code path. Bodies are streamed both ways, never buffered whole
//! (audio uploads, SSE); the request body is counted while it streams and
//! cut off at the configured maximum (413).
//!
//! ## Layout
//! - [`pool`] — replicas of one service: balancing, safe retries, health
//!   checks, DNS refresh.
//! - [`replica`] — one replica's outstanding count and health state.
//! - [`body`] — the streaming body wrappers (once-only, size-limited, guarded).
//! - [`models`] — `/v1/models` aggregated over every upstream.

pub mod body;
pub mod models;
pub mod pool;
pub mod replica;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, Request, Response, StatusCode, header};
use stratus_kit::ApiError;
use stratus_kit::context::{InternalToken, TenantContext};
use stratus_kit::server::BodyProgress;
use tower::ServiceExt;

pub use pool::{PoolConfig, ReplicaPool};
pub use replica::HealthPolicy;

use crate::observability::metrics::{self as m, Rejection};

/// Why an upstream call failed; decides the status the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service} service is not configured on this gateway")]
    NotConfigured { service: &'static str },
    #[error("{service} upstream configuration: {detail}")]
    BadConfig {
        service: &'static str,
        detail: String,
    },
    #[error("no replica of the {service} service is healthy; retry in {retry_after} s")]
    NoHealthyReplica {
        service: &'static str,
        retry_after: u64,
    },
    #[error("{service} service at {url} is unreachable: {detail}")]
    Unreachable {
        service: &'static str,
        url: String,
        detail: String,
    },
    #[error("{service} service at {url} failed during the request: {detail}")]
    Failed {
        service: &'static str,
        url: String,
        detail: String,
    },
    #[error("the request body could not be read: {detail}")]
    RequestBody {
        service: &'static str,
        detail: String,
    },
    #[error("the request body is larger than this gateway's limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// The client sent the body below the server's minimum transfer rate
    /// (`stratus_kit::server::progress`).
    #[error("the request body arrived too slowly (below this server's minimum transfer rate)")]
    BodyTooSlow,
    #[error("{service} service answered something unusable: {detail}")]
    BadResponse {
        service: &'static str,
        detail: String,
    },
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::NotConfigured { .. } => ApiError::not_found(e.to_string()),
            UpstreamError::BadConfig { .. } => ApiError::internal(e.to_string()),
            UpstreamError::NoHealthyReplica { retry_after, .. } => {
                ApiError::unavailable(e.to_string(), retry_after).with_code("no_healthy_upstream")
            }
            UpstreamError::Unreachable { .. } => ApiError::unavailable(e.to_string(), 1),
            UpstreamError::RequestBody { .. } => ApiError::bad_request(e.to_string()),
            UpstreamError::BodyTooLarge { .. } => ApiError::payload_too_large(e.to_string()),
            UpstreamError::BodyTooSlow => ApiError::request_timeout(e.to_string()),
            UpstreamError::Failed { .. } | UpstreamError::BadResponse { .. } => {
                ApiError::bad_gateway(e.to_string())
            }
        }
    }
}

/// Marks a response that came from an upstream service (a response
/// extension): metering counts exactly these, not the gateway's own
/// refusals (no upstream configured, upstream unreachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    pub service: &'static str,
}
/// Which replica answered a request: set on the response's extensions for
/// the access log.
#[derive(Debug, Clone)]
pub struct UpstreamReplica(pub Arc<str>);

/// One upstream service.
#[derive(Clone)]
pub enum Upstream {
    InProcess {
        service: &'static str,
        router: Router,
    },
    Replicas(Arc<ReplicaPool>),
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::InProcess { service, .. } => write!(f, "InProcess({service})"),
            Upstream::Replicas(pool) => write!(f, "{pool:?}"),
        }
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove(header::HOST);
}

impl Upstream {
    /// Replicas reached over HTTP (`http://10.0.0.5:8081`; several URLs, or
    /// comma-separated lists of them), checked and balanced by a pool.
    pub fn replicas(
        service: &'static str,
        urls: &[String],
        config: PoolConfig,
    ) -> Result<Self, UpstreamError> {
        Ok(Upstream::Replicas(ReplicaPool::new(service, urls, config)?))
    }

    /// The service this upstream serves.
    pub fn service(&self) -> &'static str {
        match self {
            Upstream::InProcess { service, .. } => service,
            Upstream::Replicas(pool) => pool.service(),
        }
    }

    /// Forward a caller's request: its body may stream at most `max_body`
    /// bytes (checked against Content-Length at once, and counted while it
    /// streams, since a chunked upload announces no length).
    pub async fn forward_limited(
        &self,
        request: Request<Body>,
        max_body: u64,
    ) -> Result<Response<Body>, UpstreamError> {
        let too_large = || {
            m::record_rejection(Rejection::BodyTooLarge);
            UpstreamError::BodyTooLarge { limit: max_body }
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_body) {
            return Err(too_large());
        }
        let context = request.extensions().get::<TenantContext>().cloned();
        let progress = request.extensions().get::<BodyProgress>().cloned();
        let exceeded = Arc::new(AtomicBool::new(false));
        let request =
            request.map(|b| Body::new(body::LimitedBody::new(b, max_body, exceeded.clone())));
        let result = self.forward(request).await;
        // The service (or the connection to it) failed because the body went
        // past the limit: whatever it answered, the caller's fault is the size.
        if exceeded.load(Ordering::Acquire) {
            return Err(too_large());
        }
        // Likewise when the client was too slow sending it.
        if progress.is_some_and(|p| p.too_slow()) {
            m::record_rejection(Rejection::BodyTooSlow);
            return Err(UpstreamError::BodyTooSlow);
        }
        let mut response = result?;
        if let Some(context) = context {
            response.extensions_mut().insert(context);
        }
        Ok(response)
    }

    /// Send `request` to the upstream and stream its response back.
    pub async fn forward(
        &self,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        strip_hop_by_hop(request.headers_mut());
        // Exported traces: the gateway's span is the service's parent.
        stratus_kit::telemetry::inject_trace(request.headers_mut());
        let mut response = self.send(request).await?;
        response.extensions_mut().insert(Reached {
            service: self.service(),
        });
        Ok(response)
    }

    async fn send(&self, request: Request<Body>) -> Result<Response<Body>, UpstreamError> {
        match self {
            Upstream::InProcess { router, .. } => {
                // The service sees what it would over HTTP: method, URI,
                // headers and body. The gateway's extensions stay behind —
                // among them axum's matched path parameters of the gateway's
                // route, which the service's router would otherwise append
                // its own to (a `Path<String>` then finds two and fails).
                let (parts, body) = request.into_parts();
                let mut bare = Request::new(body);
                *bare.method_mut() = parts.method;
                *bare.uri_mut() = parts.uri;
                *bare.version_mut() = parts.version;
                *bare.headers_mut() = parts.headers;
                let mut response = match router.clone().oneshot(bare).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                response
                    .extensions_mut()
                    .insert(UpstreamReplica(Arc::from("in-process")));
                Ok(response)
            }
            Upstream::Replicas(pool) => {
                let (mut response, replica) = pool.forward(request).await?;
                response.extensions_mut().insert(UpstreamReplica(replica));
                Ok(response)
            }
        }
    }

    /// GET `path` with the internal `token` (services answer nothing else
    /// without it) and parse the JSON body of a 2xx answer.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &InternalToken,
    ) -> Result<T, UpstreamError> {
        let mut request =
            Request::get(path)
                .body(Body::empty())
                .map_err(|e| UpstreamError::BadResponse {
                    service: self.service(),
                    detail: e.to_string(),
                })?;
        token.authorize(request.headers_mut());
        let response = self.forward(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .map_err(|e| UpstreamError::BadResponse {
                service: self.service(),
                detail: e.to_string(),
            })?;
        if !status.is_success() {
            return Err(UpstreamError::BadResponse {
                service: self.service(),
                detail: format!("{path} answered {status}"),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| UpstreamError::BadResponse {
            service: self.service(),
            detail: format!("{path}: {e}"),
        })
    }

    /// In process: whether the service's `/readyz` answers 200. Replicas:
    /// whether at least one is healthy (the health checker keeps that
    /// current; asking every replica on each probe would multiply load).
    pub async fn ready(&self) -> Result<(), String> {
        if let Upstream::Replicas(pool) = self {
            return pool.ready();
        }
        let request = Request::get("/readyz")
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let response = self.forward(request).await.map_err(|e| e.to_string())?;
        if response.status() == StatusCode::OK {
            return Ok(());
        }
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(String::from))
            .unwrap_or_else(|| format!("/readyz answered {status}"));
        Err(detail)
    }
}

/// The upstreams of one gateway, by service.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    pub speech: Option<Upstream>,
    pub language: Option<Upstream>,
}

impl Upstreams {
    /// Every configured upstream.
    pub fn all(&self) -> impl Iterator<Item = &Upstream> {
        self.speech.iter().chain(self.language.iter())
    }
}
