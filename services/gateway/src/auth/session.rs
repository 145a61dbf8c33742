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

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
    pub token_type: &'static str,
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

#[derive(Debug, Serialize)]
pub struct Me {
    pub tenant_id: String,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub scopes: super::Scopes,
    pub role: Option<Role>,
}

pub async fn me(Extension(principal): Extension<Principal>) -> Json<Me> {
    Json(Me {
        tenant_id: principal.tenant_id,
        key_id: principal.key_id,
        user_id: principal.user_id,
        scopes: principal.scopes,
        role: principal.role,
    })
}
