//! Dashboard sign-in: `POST /v1/auth/login` checks email and password and
//! answers a session token, both in the body (for scripts: `Authorization:
//! Bearer <token>`) and as an HttpOnly, SameSite=Strict cookie (for the
//! browser, out of reach of page scripts and other sites' requests),
//! `Secure` whenever the browser reached us over TLS. Sign-ins are
//! throttled per client address and per account (`super::throttle`; 429
//! with Retry-After) and their Argon2 checks run off the async runtime,
//! a bounded number at once (503 when all are busy).
//! `POST /v1/auth/logout` ends the session (server-side: the token stops
//! working within a second, on every replica) and drops the cookie;
//! `GET /v1/auth/me` says who the caller is.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_kit::ApiJson;

use super::client::Client;
use super::jwt::SESSION_TTL;
use super::middleware::SESSION_COOKIE;
use super::{AuthError, Principal, Role, SessionId, password};
use crate::GatewayState;

/// A dashboard user's credentials.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"email": "owner@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A session: its token (also set as the `stratus_session` cookie) and who
/// it is for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>` from scripts.
    pub token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the session is valid for.
    #[schema(example = 43200)]
    pub expires_in: u64,
    pub user_id: String,
    pub tenant_id: String,
    pub role: Role,
    /// This session's CSRF token: a page that uses the cookie (rather than
    /// the bearer token) sends it as `x-csrf-token` on calls that change
    /// something, unless its `Origin` is this deployment's.
    pub csrf_token: String,
}

/// A hash to check wrong emails against, so a login for an unknown email
/// takes as long as one with a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash("not a password of anyone").unwrap_or_default())
}

/// A user who just proved their password: the session token and who they are.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub user_id: String,
    pub tenant_id: String,
    pub role: Role,
}

/// Check `email` and `password` from `client` and start a session
/// (shared by the JSON login and the dashboard's login form). Wrong email
/// and wrong password are one answer and take as long; a disabled user
/// learns it is disabled only with the right password.
pub async fn sign_in(
    state: &GatewayState,
    email: &str,
    password: String,
    client: &Client,
) -> Result<SignedIn, ApiError> {
    let auth = &state.auth;
    let email = email.trim().to_lowercase();
    let attempt = auth.throttle().begin(&email, client.ip).map_err(|t| {
        ApiError::rate_limited(
            format!(
                "too many sign-in attempts; retry in {} s",
                t.retry_after_secs
            ),
            t.retry_after_secs,
        )
        .with_code("login_throttled")
    })?;
    let Some(slot) = auth.throttle().check_slot() else {
        attempt.not_checked();
        return Err(ApiError::unavailable(
            "too many sign-ins are being checked at once; retry shortly",
            1,
        )
        .with_code("overloaded"));
    };
    let user = match auth.store().user_by_email(&email).await {
        Ok(user) => user,
        Err(e) => {
            attempt.not_checked();
            return Err(AuthError::from(e).into());
        }
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // The slot moves into the blocking task: a client that hangs up does
    // not free it before the check really ends.
    let matches = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        match &stored {
            Some(hash) => password::verify(&password, hash),
            None => password::verify(&password, dummy_hash()),
        }
    })
    .await
    .unwrap_or(false);
    let user = match user {
        Some(user) if matches => user,
        _ => {
            attempt.failed();
            return Err(ApiError::unauthorized("wrong email or password"));
        }
    };
    attempt.succeeded();
    if user.disabled_at.is_some() {
        return Err(AuthError::Disabled.into());
    }
    let role: Role = user
        .role
        .parse()
        .map_err(|_| ApiError::internal("internal error"))?;
    let token = auth.start_session(&user, role).await?;
    Ok(SignedIn {
        token,
        user_id: user.id,
        tenant_id: user.tenant_id,
        role,
    })
}

/// The client of a request, under the gateway's trusted proxies and
/// public URL.
pub fn client_of(state: &GatewayState, parts: &Parts) -> Client {
    Client::of(&state.auth.config().web, &parts.headers, &parts.extensions)
}

/// `; Secure` for a client that reached us over TLS (the browser then
/// never sends the cookie over plain HTTP).
pub fn secure_attribute(client: &Client) -> &'static str {
    if client.https { "; Secure" } else { "" }
}

/// The `Set-Cookie` value that stores session `token` in the browser.
pub fn session_cookie(token: &str, client: &Client) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        secure_attribute(client)
    )
}

/// The `Set-Cookie` value that drops the session cookie.
pub fn cleared_session_cookie(client: &Client) -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_attribute(client)
    )
}

/// Sign in to the dashboard.
///
/// Checks email and password and answers a session token, in the body (for
/// scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
/// SameSite=Strict `stratus_session` cookie (for the browser; `Secure`
/// when reached over TLS). A wrong email and a wrong password are the same
/// 401; a disabled user with the right password is 403. Attempts are
/// throttled per client address and per account (429 with `Retry-After`;
/// failures count, a success resets the account's count from that
/// address); 503 when every password check slot is busy.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = LoginResponse,
            headers(
                ("Set-Cookie" = String, description = "`stratus_session=<token>; HttpOnly; SameSite=Strict; Path=/; Max-Age=…` (`; Secure` over TLS)"),
                ("Cache-Control" = String, description = "`no-store`: the answer holds a credential."),
            )),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 401, response = stratus_kit::error::ErrorEnvelope),
        (status = 403, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 429, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn login(
    State(state): State<GatewayState>,
    parts: Parts,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let client = client_of(&state, &parts);
    let signed_in = sign_in(&state, &body.email, body.password, &client).await?;
    let cookie = session_cookie(&signed_in.token, &client);
    let body = LoginResponse {
        csrf_token: state.auth.sessions().csrf_token(&signed_in.token),
        token: signed_in.token,
        token_type: "Bearer",
        expires_in: SESSION_TTL.as_secs(),
        user_id: signed_in.user_id,
        tenant_id: signed_in.tenant_id,
        role: signed_in.role,
    };
    Ok(no_store(with_cookie(Json(body).into_response(), &cookie)))
}

/// Sign out.
///
/// Ends the session this request authenticated with: its token (cookie or
/// bearer) is refused from now on, on every gateway within a second, and
/// the cookie is cleared. With an API key nothing is ended (revoke keys
/// at `DELETE /v1/keys/{key_id}`).
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    operation_id = "logout",
    responses(
        (status = 204, description = "Signed out: the session is ended and the cookie cleared.",
            headers(("Set-Cookie" = String, description = "`stratus_session=; …; Max-Age=0`"))),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn logout(
    State(state): State<GatewayState>,
    session: Option<Extension<SessionId>>,
    parts: Parts,
) -> Result<Response, ApiError> {
    if let Some(Extension(SessionId(id))) = session {
        state.auth.end_session(&id).await?;
    }
    let client = client_of(&state, &parts);
    Ok(no_store(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &cleared_session_cookie(&client),
    )))
}

pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Mark `response` as never to be cached (it carries a credential).
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Who the caller is: an API key (`key_id`) or a dashboard user
/// (`user_id`, `role`), of one tenant, with its scopes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"tenant_id": "ten_0192f7c1a2b3", "key_id": "key_0192f7c1a2b3", "user_id": null, "scopes": ["speech", "language"], "role": null}))]
pub struct Me {
    pub tenant_id: String,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub scopes: super::Scopes,
    pub role: Option<Role>,
}

/// Who am I.
///
/// The tenant, key or user and scopes of the credentials this request
/// carries.
#[utoipa::path(
    get,
    path = "/v1/auth/me",
    tag = "auth",
    operation_id = "me",
    responses(
        (status = 200, description = "The caller.", body = Me),
    )
)]
pub async fn me(Extension(principal): Extension<Principal>) -> Json<Me> {
    Json(Me {
        tenant_id: principal.tenant_id,
        key_id: principal.key_id,
        user_id: principal.user_id,
        scopes: principal.scopes,
        role: principal.role,
    })
}
