//! The tenant context the gateway forwards to upstream services.
//!
//! docs/ARCHITECTURE.md: the gateway forwards the authenticated tenant, key id and
//! request id in headers a public caller cannot set. Two halves:
//! - the gateway calls [`strip_incoming`] on every request it accepts (so a
//!   caller's own `x-stratus-*` headers never travel further), then
//!   [`TenantContext::apply`] with the shared [`InternalToken`];
//! - a service wraps its router in
//!   `axum::middleware::from_fn_with_state(token, context::accept)`: with a
//!   token, every request but the health checks must carry it (401
//!   otherwise); context headers are believed only with it, and handlers
//!   read them as an `Option<Extension<TenantContext>>`.
//!
//! In `stratus serve` the gateway and the services share one token made at
//! start; scaled out, every process gets the same `--internal-token`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// The tenant (organisation) the request is made for.
pub const TENANT_ID: &str = "x-stratus-tenant-id";
/// The API key the request authenticated with, by its public id.
pub const KEY_ID: &str = "x-stratus-key-id";
/// The dashboard user the request authenticated as.
pub const USER_ID: &str = "x-stratus-user-id";
/// The secret proving the request came from the gateway.
pub const INTERNAL_TOKEN: &str = "x-stratus-internal-token";

const CONTEXT_HEADERS: [&str; 4] = [TENANT_ID, KEY_ID, USER_ID, INTERNAL_TOKEN];

/// Remove every context header from a request a public caller sent.
pub fn strip_incoming(headers: &mut HeaderMap) {
    for name in CONTEXT_HEADERS {
        headers.remove(name);
    }
}

/// Why an internal token cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the internal token must be at least 32 characters of visible ASCII")]
    TooWeak,
    #[error("cannot read OS randomness for the internal token: {0}")]
    Random(String),
}

/// The secret shared by the gateway and the services behind it.
#[derive(Clone)]
pub struct InternalToken(Arc<str>);

impl std::fmt::Debug for InternalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalToken(…)")
    }
}

impl InternalToken {
    /// A token an operator configured (`--internal-token`).
    pub fn new(secret: &str) -> Result<Self, TokenError> {
        let visible = secret.bytes().all(|b| b.is_ascii_graphic());
        if secret.len() < 32 || !visible {
            return Err(TokenError::TooWeak);
        }
        Ok(Self(secret.into()))
    }

    /// A fresh random token (256 bits), for a single-process deployment.
    pub fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Self(hex::encode(bytes).into()))
    }

    /// Whether `presented` is this token, compared in constant time.
    pub fn verify(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }

    /// Put this token in `headers`, for a request of the gateway's own
    /// that carries no tenant (listing an upstream's models).
    pub fn authorize(&self, headers: &mut HeaderMap) {
        if let Some(value) = self.header_value() {
            headers.insert(INTERNAL_TOKEN, value);
        }
    }

    fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.0).ok()
    }
}

/// Who a request is made for, as the gateway authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantContext {
    pub tenant_id: String,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
}

impl TenantContext {
    /// Write this context and the internal token into an upstream request's
    /// headers (after [`strip_incoming`]). Ids that are not valid header
    /// values are left out rather than forwarded mangled.
    pub fn apply(&self, token: &InternalToken, headers: &mut HeaderMap) {
        strip_incoming(headers);
        let mut set = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        set(TENANT_ID, &self.tenant_id);
        if let Some(key) = &self.key_id {
            set(KEY_ID, key);
        }
        if let Some(user) = &self.user_id {
            set(USER_ID, user);
        }
        if let Some(value) = token.header_value() {
            headers.insert(INTERNAL_TOKEN, value);
        }
    }

    /// The context in `headers`, if they carry `token`; `None` otherwise.
    pub fn from_headers(token: &InternalToken, headers: &HeaderMap) -> Option<Self> {
        let presented = headers.get(INTERNAL_TOKEN)?;
        if !token.verify(presented.as_bytes()) {
            return None;
        }
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            tenant_id: text(TENANT_ID)?,
            key_id: text(KEY_ID),
            user_id: text(USER_ID),
        })
    }
}

/// Paths a service answers without the internal token: the health checks
/// of load balancers, Kubernetes probes and the gateway's health checker.
/// They say whether models are loaded, nothing about any tenant. (A
/// replica serves no `/metrics`; the gateway's are on their own listener.)
pub const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// A service's `router` as it serves behind a gateway: every request in
/// its `request` span (`crate::telemetry::in_request_span`), and tenant
/// context believed only with `token` ([`accept`]; `None`: never).
pub fn behind_gateway(router: axum::Router, token: Option<InternalToken>) -> axum::Router {
    router
        .layer(axum::middleware::from_fn_with_state(token, accept))
        .layer(axum::middleware::from_fn(crate::telemetry::in_request_span))
}

/// Middleware for a service: turns trusted context headers into a
/// [`TenantContext`] extension and drops context headers it cannot trust.
///
/// With a token configured (behind a gateway), every request except
/// [`OPEN_PATHS`] must carry it, compared in constant time, or is refused
/// with 401 whatever its path or method: a replica reachable on the
/// network serves its gateway and nobody else. With no token (a service
/// run on its own) no context is ever believed and everyone is served as
/// the default tenant, which is why `stratus speech`/`language` refuse to
/// listen beyond loopback without a token unless told to.
pub async fn accept(
    State(token): State<Option<InternalToken>>,
    mut request: Request,
    next: Next,
) -> Response {
    let context = match &token {
        None => None,
        Some(token) => {
            let trusted = request
                .headers()
                .get(INTERNAL_TOKEN)
                .is_some_and(|v| token.verify(v.as_bytes()));
            if !trusted && !OPEN_PATHS.contains(&request.uri().path()) {
                return ApiError::unauthorized(
                    "this service answers only its gateway: the request lacks the right `x-stratus-internal-token`",
                )
                .with_code("internal_token_required")
                .into_response();
            }
            TenantContext::from_headers(token, request.headers())
        }
    };
    strip_incoming(request.headers_mut());
    if let Some(context) = context {
        request.extensions_mut().insert(context);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> InternalToken {
        InternalToken::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn weak_tokens_are_refused() {
        assert!(InternalToken::new("short").is_err());
        assert!(InternalToken::new(&format!("{}\n", "a".repeat(40))).is_err());
        let generated = InternalToken::generate().unwrap();
        assert!(generated.verify(generated.0.as_bytes()));
        assert_ne!(generated.0, InternalToken::generate().unwrap().0);
    }

    #[test]
    fn context_round_trips_only_with_the_token() {
        let context = TenantContext {
            tenant_id: "t1".into(),
            key_id: Some("key_1".into()),
            user_id: None,
        };
        let mut headers = HeaderMap::new();
        headers.insert(USER_ID, HeaderValue::from_static("forged"));
        context.apply(&token(), &mut headers);
        assert!(headers.get(USER_ID).is_none(), "caller's header survived");
        assert_eq!(
            TenantContext::from_headers(&token(), &headers),
            Some(context)
        );

        let other = InternalToken::new(&"z".repeat(32)).unwrap();
        assert_eq!(TenantContext::from_headers(&other, &headers), None);
        headers.remove(INTERNAL_TOKEN);
        assert_eq!(TenantContext::from_headers(&token(), &headers), None);
    }

    async fn answer(
        token: Option<InternalToken>,
        path: &str,
        presented: Option<&str>,
    ) -> (u16, String) {
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/v1/x",
                axum::routing::get(
                    |context: Option<axum::Extension<TenantContext>>| async move {
                        context.map_or_else(|| "none".to_owned(), |c| c.0.tenant_id)
                    },
                ),
            )
            .merge(crate::health::routes(crate::health::Readiness::default()))
            .layer(axum::middleware::from_fn_with_state(token, accept));
        let mut request = axum::http::Request::get(path).header(TENANT_ID, "t1");
        if let Some(presented) = presented {
            request = request.header(INTERNAL_TOKEN, presented);
        }
        let response = app
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn with_a_token_only_health_answers_without_it() {
        let secret = "0123456789abcdef0123456789abcdef";
        let (status, body) = answer(Some(token()), "/v1/x", None).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("internal_token_required"), "{body}");
        assert_eq!(
            answer(Some(token()), "/v1/x", Some(&"z".repeat(32)))
                .await
                .0,
            401
        );
        assert_eq!(answer(Some(token()), "/v1/x", Some("")).await.0, 401);
        // Unknown paths too: nothing is learnt without the token.
        assert_eq!(answer(Some(token()), "/nope", None).await.0, 401);
        assert_eq!(answer(Some(token()), "/healthz", None).await.0, 200);
        assert_ne!(answer(Some(token()), "/readyz", None).await.0, 401);
        assert_eq!(
            answer(Some(token()), "/v1/x", Some(secret)).await,
            (200, "t1".to_owned())
        );
        // No token configured: served, and no context believed.
        assert_eq!(
            answer(None, "/v1/x", Some(secret)).await,
            (200, "none".to_owned())
        );
    }
}
