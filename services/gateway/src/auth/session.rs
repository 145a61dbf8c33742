//! Dashboard sign-in: `POST /v1/auth/login` checks email and password and
//! answers a session token, both in the body (for scripts: `Authorization:
//! Bearer <token>`) and as an HttpOnly, SameSite=Strict cookie (for the
//! browser, out of reach of page scripts and other sites' requests).
//! `POST /v1/auth/logout` drops the cookie; `GET /v1/auth/me` says who the
//! caller is.

use std::sync::OnceLock;

use crate::api_json::ApiJson;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::jwt::{Claims, SESSION_TTL};
use super::middleware::SESSION_COOKIE;
use super::{AuthError, Principal, Role, password, unix_now};
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

/// Check `email` and `password` and issue a session (shared by the JSON
/// login and the dashboard's login form). Wrong email and wrong password
/// are one answer and take as long.
pub async fn sign_in(
    state: &GatewayState,
    email: &str,
    password: String,
) -> Result<SignedIn, ApiError> {
    let email = email.trim().to_lowercase();
    let user = state
        .auth
        .store()
        .user_by_email(&email)
        .await
        .map_err(AuthError::from)?;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let matches = tokio::task::spawn_blocking(move || password::verify(&password, &stored))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(user) if matches => user,
        _ => return Err(ApiError::unauthorized("wrong email or password")),
    };
    let role: Role = user
        .role
        .parse()
        .map_err(|_| ApiError::internal("internal error"))?;
    let claims = Claims::new(&user.id, &user.tenant_id, role.as_str(), unix_now());
    let token = state
        .auth
        .sessions()
        .issue(&claims)
        .map_err(AuthError::from)?;
    Ok(SignedIn {
        token,
        user_id: user.id,
        tenant_id: user.tenant_id,
        role,
    })
}

/// The `Set-Cookie` value that stores session `token` in the browser.
pub fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that drops the session cookie.
pub fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// Sign in to the dashboard.
///
/// Checks email and password and answers a session token, in the body (for
/// scripts: `Authorization: Bearer <token>`) and as an HttpOnly,
/// SameSite=Strict `stratus_session` cookie (for the browser). A wrong
/// email and a wrong password are the same 401.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = LoginResponse,
            headers(("Set-Cookie" = String, description = "`stratus_session=<token>; HttpOnly; SameSite=Strict; Path=/; Max-Age=…`"))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 401, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn login(
    State(state): State<GatewayState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let signed_in = sign_in(&state, &body.email, body.password).await?;
    let cookie = session_cookie(&signed_in.token);
    let body = LoginResponse {
        token: signed_in.token,
        token_type: "Bearer",
        expires_in: SESSION_TTL.as_secs(),
        user_id: signed_in.user_id,
        tenant_id: signed_in.tenant_id,
        role: signed_in.role,
    };
    Ok(with_cookie(Json(body).into_response(), &cookie))
}

/// Sign out of the dashboard.
///
/// Clears the session cookie. The token itself stays valid until it
/// expires (sessions are stateless); a script simply drops it.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    operation_id = "logout",
    responses(
        (status = 204, description = "Signed out: the cookie is cleared.",
            headers(("Set-Cookie" = String, description = "`stratus_session=; …; Max-Age=0`"))),
    )
)]
pub async fn logout() -> Response {
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &cleared_session_cookie(),
    )
}

pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
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
