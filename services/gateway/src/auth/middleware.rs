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
//! A browser sends the cookie by itself, whoever's page made the request,
//! so an API call that changes something (any method but GET, HEAD,
//! OPTIONS) authenticated by the cookie alone must also prove it comes
//! from our own pages: an `Origin` matching this deployment (or
//! `Sec-Fetch-Site: same-origin`; see `super::client::WebConfig::same_origin`)
//! or the session's CSRF token in `x-csrf-token`; otherwise 403
//! `csrf_failed`. SameSite=Strict already keeps other *sites* from sending
//! the cookie; this also stops sibling origins of the same site and
//! anything that copied the cookie. Dashboard form posts carry their
//! per-form CSRF token instead (checked by their handlers).
//!
//! Dashboard pages (`crate::dashboard::is_page`) are refused as pages: no
//! credentials is a 303 to the login page, a missing scope an HTML 403.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stratus_kit::ApiError;

use super::client::is_unsafe;
use super::{Auth, AuthError, Principal, Scope, SessionId, keys};

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
/// The header a cookie-authenticated API call may carry its session's
/// CSRF token in (the token of the dashboard's forms; also in the login
/// answer).
pub const CSRF_HEADER: &str = "x-csrf-token";

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
    let path = request.uri().path();
    match principal_of(&auth, request.headers()).await {
        Ok(found) => {
            if let Some(cookie) = &found.cookie
                && is_unsafe(request.method())
                && !crate::dashboard::is_page(path)
                && !from_our_pages(&auth, &request, cookie)
            {
                return ApiError::forbidden(
                    "a request signed in by the session cookie must come from this deployment's own \
                     pages: send its `Origin` or the session's `x-csrf-token`, or authenticate with \
                     `Authorization: Bearer`",
                )
                .with_code("csrf_failed")
                .into_response();
            }
            // Metering, the usage API and the access log read who the
            // request runs for from the tenant context.
            request.extensions_mut().insert(found.principal.context());
            request.extensions_mut().insert(found.principal);
            if let Some(session) = found.session {
                request.extensions_mut().insert(session);
            }
            next.run(request).await
        }
        Err(_) if crate::dashboard::is_page(path) => crate::dashboard::to_login(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Whether a cookie-authenticated `request` proves it came from our pages
/// (see the module doc).
fn from_our_pages(auth: &Auth, request: &Request, cookie: &str) -> bool {
    let headers = request.headers();
    let token_matches = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| auth.sessions().csrf_matches(cookie, given));
    token_matches
        || auth
            .config()
            .web
            .same_origin(headers, request.uri().authority().map(|a| a.as_str()))
}

/// Who a request authenticated as, and how.
struct Found {
    principal: Principal,
    /// Set for sessions.
    session: Option<SessionId>,
    /// The session token when it came from the cookie (not a header).
    cookie: Option<String>,
}

/// Whether `path` is served without credentials: [`PUBLIC_PATHS`], and the
/// API reference's own files under `/docs/`.
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || path.starts_with("/docs/")
}

async fn principal_of(auth: &Auth, headers: &HeaderMap) -> Result<Found, AuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthError::BadScheme)?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::BadScheme)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::BadScheme);
        }
        let token = token.trim();
        if token.starts_with(keys::KEY_PREFIX) {
            return Ok(Found {
                principal: auth.verify_key(token).await?,
                session: None,
                cookie: None,
            });
        }
        let (principal, session) = auth.verify_session(token).await?;
        return Ok(Found {
            principal,
            session: Some(session),
            cookie: None,
        });
    }
    let token = session_token(headers).ok_or(AuthError::Missing)?;
    let (principal, session) = auth.verify_session(token).await?;
    Ok(Found {
        principal,
        session: Some(session),
        cookie: Some(token.to_string()),
    })
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
