//! Routing requests to upstream services.
//!
//! An [`Upstream`] is either a service's router in this process (`stratus
//! serve`: a tower call, no socket) or a remote replica reached over HTTP
//! (`stratus gateway`). Both go through [`Upstream::forward`], so the
//! all-in-one and the scaled-out deployment share one code path. Bodies are
//! streamed both ways, never buffered whole (audio uploads, SSE).

pub mod models;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, Request, Response, StatusCode, header};
use futures::TryStreamExt;
use stratus_kit::ApiError;
use tower::ServiceExt;

/// Why an upstream call failed; decides the status the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service} service is not configured on this gateway")]
    NotConfigured { service: &'static str },
    #[error("{service} service at {url} is unreachable: {detail}")]
    Unreachable {
        service: &'static str,
        url: String,
        detail: String,
    },
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
            UpstreamError::Unreachable { .. } => ApiError::unavailable(e.to_string(), 1),
            UpstreamError::BadResponse { .. } => ApiError::bad_gateway(e.to_string()),
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

/// One upstream service.
#[derive(Clone)]
pub enum Upstream {
    InProcess {
        service: &'static str,
        router: Router,
    },
    Http {
        service: &'static str,
        base_url: String,
        client: reqwest::Client,
    },
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upstream::InProcess { service, .. } => write!(f, "InProcess({service})"),
            Upstream::Http {
                service, base_url, ..
            } => write!(f, "Http({service}, {base_url})"),
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
    /// A replica reached over HTTP at `base_url` (e.g. `http://10.0.0.5:8081`).
    pub fn http(service: &'static str, base_url: &str, client: reqwest::Client) -> Self {
        Upstream::Http {
            service,
            base_url: base_url.trim_end_matches('/').to_string(),
            client,
        }
    }

    /// The service this upstream serves.
    pub fn service(&self) -> &'static str {
        match self {
            Upstream::InProcess { service, .. } | Upstream::Http { service, .. } => service,
        }
    }

    /// Send `request` to the upstream and stream its response back.
    pub async fn forward(
        &self,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        strip_hop_by_hop(request.headers_mut());
        let mut response = self.send(request).await?;
        response.extensions_mut().insert(Reached {
            service: self.service(),
        });
        Ok(response)
    }

    async fn send(&self, request: Request<Body>) -> Result<Response<Body>, UpstreamError> {
        match self {
            Upstream::InProcess { router, .. } => match router.clone().oneshot(request).await {
                Ok(response) => Ok(response),
                Err(never) => match never {},
            },
            Upstream::Http {
                service,
                base_url,
                client,
            } => {
                let path = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let url = format!("{base_url}{path}");
                let (parts, body) = request.into_parts();
                let stream = body.into_data_stream();
                let upstream_request = client
                    .request(parts.method, &url)
                    .headers(parts.headers)
                    .body(reqwest::Body::wrap_stream(stream));
                let response =
                    upstream_request
                        .send()
                        .await
                        .map_err(|e| UpstreamError::Unreachable {
                            service,
                            url: base_url.clone(),
                            detail: e.to_string(),
                        })?;
                let mut builder = Response::builder().status(response.status());
                if let Some(headers) = builder.headers_mut() {
                    headers.extend(response.headers().clone());
                    strip_hop_by_hop(headers);
                }
                let body =
                    Body::from_stream(response.bytes_stream().map_err(std::io::Error::other));
                builder.body(body).map_err(|e| UpstreamError::BadResponse {
                    service,
                    detail: e.to_string(),
                })
            }
        }
    }

    /// GET `path` and parse the JSON body of a 2xx answer.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, UpstreamError> {
        let request =
            Request::get(path)
                .body(Body::empty())
                .map_err(|e| UpstreamError::BadResponse {
                    service: self.service(),
                    detail: e.to_string(),
                })?;
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

    /// Whether the upstream's `/readyz` answers 200.
    pub async fn ready(&self) -> Result<(), String> {
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
