//! Deny by default. [`authenticate`] wraps the whole router: every request
//! but those to [`PUBLIC_PATHS`] must carry a valid API key or session, or
//! it is answered 401 before routing (unknown paths and wrong methods too).
//! [`authorize`] then runs per route with the [`Access`] the route table
//! (`crate::routes`) gives it: 403 without the needed scope.
//!
//! Credentials, in this order: `Authorization: Bearer sk_…` (an API key),
//! `Authorization: Bearer <JWT>` (a session used from a script), the
//! `stratus_session` cookie (the dashboard).
//!
//! Dashboard pages (`crate::dashboard::is_page`) are refused as pages: no
//! credentials is a 303 to the login page, a missing scope an HTML 403.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stratus_kit::ApiError;

use super::{Auth, AuthError, Principal, Scope, keys};

/// Paths answered without credentials; nothing else is.
pub const PUBLIC_PATHS: [&str; 7] = [
    "/healthz",
    "/readyz",
    "/v1/auth/login",
    "/openapi.json",
    "/docs",
    crate::dashboard::LOGIN_PATH,
    crate::dashboard::STYLESHEET_PATH,
];

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "stratus_session";

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the path must also be in [`PUBLIC_PATHS`]).
    Public,
    /// Any valid credential.
    Authenticated,
    /// A credential holding this scope.
    Scope(Scope),
}

/// Authenticate every request not to a public path; put its [`Principal`]
/// into the request's extensions. Callers' own `x-stratus-*` context headers
/// are dropped here, whatever the route.
pub async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    stratus_kit::context::strip_incoming(request.headers_mut());
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    match principal_of(&auth, request.headers()).await {
        Ok(principal) => {
            // Metering, the usage API and the access log read who the
            // request runs for from the tenant context.
            request.extensions_mut().insert(principal.context());
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(_) if crate::dashboard::is_page(request.uri().path()) => crate::dashboard::to_login(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Whether `path` is served without credentials: [`PUBLIC_PATHS`], and the
/// API reference's own files under `/docs/`.
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || path.starts_with("/docs/")
}

async fn principal_of(auth: &Auth, headers: &HeaderMap) -> Result<Principal, AuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthError::BadScheme)?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::BadScheme)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::BadScheme);
        }
        let token = token.trim();
        return if token.starts_with(keys::KEY_PREFIX) {
            auth.verify_key(token).await
        } else {
            auth.verify_session(token)
        };
    }
    match session_token(headers) {
        Some(token) => auth.verify_session(token),
        None => Err(AuthError::Missing),
    }
}

/// The value of the session cookie, if sent.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// Check the route's [`Access`] against the request's principal.
pub async fn authorize(State(access): State<Access>, request: Request, next: Next) -> Response {
    let principal = request.extensions().get::<Principal>();
    let allowed = match (access, principal) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(AuthError::Missing),
        (Access::Authenticated, Some(_)) => Ok(()),
        (Access::Scope(scope), Some(p)) if p.scopes.contains(scope) => Ok(()),
        (Access::Scope(scope), Some(_)) => Err(AuthError::Forbidden(scope)),
    };
    match allowed {
        Ok(()) => next.run(request).await,
        Err(e) if crate::dashboard::is_page(request.uri().path()) => {
            crate::dashboard::refused(ApiError::from(e))
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
