//! Signing in and out of the dashboard:
//! - `GET /dashboard/login` — the form (public);
//! - `POST /dashboard/login` — email + password; on success the session
//!   cookie (the same session as `POST /v1/auth/login`) and a 303 to the
//!   dashboard, otherwise the form again with the reason (401);
//! - `POST /dashboard/logout` — ends the session (server-side, as
//!   `POST /v1/auth/logout`), drops the cookie, back to the form.
//!
//! Sign-ins here are throttled exactly as `POST /v1/auth/login` (one
//! throttle for both, `crate::auth::throttle`): a throttled one gets the
//! form again with the wait, as a 429 with `Retry-After`.
//!
//! Before a session exists, the login form is protected from cross-site
//! posts (login CSRF: a site signing you in as someone else) by a double
//! submit: a random token in a SameSite=Strict cookie scoped to the login
//! path and the same token in the form; a post whose two differ is refused.

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::layout;
use super::{LOGIN_PATH, ROOT, Session};
use crate::GatewayState;
use crate::auth::SessionId;
use crate::auth::client::Client;
use crate::auth::session::{
    cleared_session_cookie, client_of, secure_attribute, session_cookie, sign_in,
};
use crate::tenants::MAX_EMAIL;

/// The login form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "stratus_login_csrf";
/// Longest password accepted here (Argon2 is slow on long inputs; real
/// passwords are far shorter).
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

/// The login form's token from its cookie, if well formed.
fn login_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_CSRF_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The form (with `email` filled in and `error` said), and the cookie that
/// pairs with its token.
fn form(
    status: StatusCode,
    client: &Client,
    token: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let body = html! {
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form method="post" action=(LOGIN_PATH) {
            input type="hidden" name="csrf" value=(token);
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required autocomplete="username" maxlength=(MAX_EMAIL);
            label for="password" { "Password" }
            input #password type="password" name="password" required autocomplete="current-password" maxlength=(MAX_PASSWORD);
            p { button type="submit" { "Sign in" } }
        }
    };
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={LOGIN_PATH}; Max-Age=3600{}",
        secure_attribute(client)
    );
    layout::with_cookie(
        layout::html_response(status, layout::bare_page("Sign in", body)),
        &cookie,
    )
}

/// The token to put in a fresh form: the cookie's if the browser has one
/// (so two open tabs both work), else a new one.
fn token_for(headers: &HeaderMap) -> Result<String, Response> {
    match login_token(headers) {
        Some(token) => Ok(token),
        None => crate::auth::secret::random_hex(32).map_err(|e| {
            tracing::warn!(error = %e, "no randomness for a login form");
            layout::error_page(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }),
    }
}

pub async fn page(State(state): State<GatewayState>, parts: Parts) -> Response {
    let client = client_of(&state, &parts);
    match token_for(&parts.headers) {
        Ok(token) => form(StatusCode::OK, &client, &token, "", None),
        Err(response) => response,
    }
}

pub async fn submit(
    State(state): State<GatewayState>,
    parts: Parts,
    body: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let client = client_of(&state, &parts);
    let headers = &parts.headers;
    let token = match token_for(headers) {
        Ok(token) => token,
        Err(response) => return response,
    };
    let Ok(Form(body)) = body else {
        return form(
            StatusCode::BAD_REQUEST,
            &client,
            &token,
            "",
            Some("Enter an email and a password."),
        );
    };
    let email: String = body.email.chars().take(MAX_EMAIL).collect();
    let paired = login_token(headers)
        .is_some_and(|cookie| bool::from(cookie.as_bytes().ct_eq(body.csrf.as_bytes())));
    if !paired {
        return form(
            StatusCode::FORBIDDEN,
            &client,
            &token,
            &email,
            Some("This sign-in form expired or came from another site. Try again."),
        );
    }
    if body.email.len() > MAX_EMAIL || body.password.len() > MAX_PASSWORD {
        return form(
            StatusCode::BAD_REQUEST,
            &client,
            &token,
            &email,
            Some("That email or password is too long."),
        );
    }
    match sign_in(&state, &body.email, body.password, &client).await {
        Ok(signed_in) => {
            let response = layout::with_cookie(
                layout::redirect(ROOT),
                &session_cookie(&signed_in.token, &client),
            );
            // The login token has served its purpose.
            layout::with_cookie(
                response,
                &format!(
                    "{LOGIN_CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path={LOGIN_PATH}; Max-Age=0{}",
                    secure_attribute(&client)
                ),
            )
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => form(
            StatusCode::UNAUTHORIZED,
            &client,
            &token,
            &email,
            Some("Wrong email or password."),
        ),
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            let wait = e.retry_after.unwrap_or(1);
            let mut response = form(
                StatusCode::TOO_MANY_REQUESTS,
                &client,
                &token,
                &email,
                Some(&format!(
                    "Too many sign-in attempts. Try again in {wait} seconds."
                )),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            response
        }
        Err(e) => super::refused(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<GatewayState>,
    session: Session,
    id: Option<Extension<SessionId>>,
    parts: Parts,
    body: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let given = body.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Err(refusal) = session.check_csrf(&state, &given) {
        return refusal;
    }
    if let Some(Extension(SessionId(id))) = id
        && let Err(e) = state.auth.end_session(&id).await
    {
        return super::unavailable(e);
    }
    layout::with_cookie(
        layout::redirect(LOGIN_PATH),
        &cleared_session_cookie(&client_of(&state, &parts)),
    )
}
