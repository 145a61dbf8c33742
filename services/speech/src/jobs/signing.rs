//! The tenant's webhook signing secret over HTTP (see [`super::webhook`]
//! for how secrets are derived and used):
//!
//! - `GET /v1/audio/webhook-secret` — the secret the tenant's webhooks are
//!   signed with now, to configure a receiver with.
//! - `POST /v1/audio/webhook-secret/rotate` — a new secret; the previous one
//!   keeps signing (a second `v1=` in each delivery) for
//!   `previous_secret_valid_seconds` (default a day, at most a week, 0 to
//!   drop it at once), so receivers can be switched without a missed
//!   delivery. Rotating again inside that window drops the older secret.
//!
//! Through the gateway, reading needs the `speech` scope (whoever submits
//! jobs verifies their webhooks) and rotating the `keys` scope (it is
//! credential management, and breaks receivers not yet switched).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::context::TenantContext;
use stratus_kit::error::ApiError;

use super::api::{jobs_of, tenant_of};
use super::store::{SigningState, now_ms};
use super::{JobError, Jobs};
use crate::SpeechService;

/// How long a replaced secret keeps signing unless the rotation says.
pub const DEFAULT_PREVIOUS_VALID_S: u64 = 24 * 60 * 60;
/// The longest a replaced secret may keep signing.
pub const MAX_PREVIOUS_VALID_S: u64 = 7 * 24 * 60 * 60;
/// Largest rotation body (one small JSON object).
const ROTATE_BODY_LIMIT: usize = 4 * 1024;

/// The routes of this module, for the job table.
pub fn table() -> Vec<(&'static str, MethodRouter<SpeechService>)> {
    vec![
        ("/v1/audio/webhook-secret", get(show)),
        (
            "/v1/audio/webhook-secret/rotate",
            post(rotate).layer(DefaultBodyLimit::max(ROTATE_BODY_LIMIT)),
        ),
    ]
}

/// A tenant's webhook signing secret (`object: "audio.webhook_secret"`).
/// Times are unix seconds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AudioWebhookSecret, example = json!({
    "object": "audio.webhook_secret",
    "secret": "whsec_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": 1764300000, "previous_secret_expires_at": 1764386400
}))]
pub struct SecretView {
    /// Always `audio.webhook_secret`.
    pub object: &'static str,
    /// HMAC-SHA256 key of the `v1` signatures in `x-stratus-signature`
    /// (the whole string, prefix included).
    pub secret: String,
    /// When this secret was made by a rotation; `null` for a tenant's first
    /// secret.
    pub created_at: Option<i64>,
    /// Until when the replaced secret also signs deliveries; `null` when
    /// none does.
    pub previous_secret_expires_at: Option<i64>,
}

/// `POST /v1/audio/webhook-secret/rotate`'s body (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateAudioWebhookSecret)]
pub struct RotateRequest {
    /// Seconds the replaced secret keeps signing: 0 to 604800 (a week);
    /// default 86400.
    #[schema(minimum = 0, maximum = 604800, example = 86400)]
    pub previous_secret_valid_seconds: Option<u64>,
}

fn jobs_with_key(service: &SpeechService) -> Result<&Jobs, ApiError> {
    let jobs = jobs_of(service)?;
    if jobs.config.webhook_secret.is_none() {
        return Err(ApiError::not_found(
            "this server has no webhook key configured (--webhook-secret), so it signs no webhooks",
        )
        .with_code("webhooks_not_configured"));
    }
    Ok(jobs)
}

fn view(jobs: &Jobs, tenant_id: &str, state: SigningState) -> SecretView {
    let secret = jobs
        .config
        .webhook_secret
        .as_ref()
        .map(|key| key.tenant_secret(tenant_id, state.generation))
        .unwrap_or_default();
    SecretView {
        object: "audio.webhook_secret",
        secret,
        created_at: state.created_at.map(|ms| ms / 1000),
        previous_secret_expires_at: state
            .previous_active(now_ms())
            .then_some(state.previous_until)
            .flatten()
            .map(|ms| ms / 1000),
    }
}

/// The tenant's webhook signing secret.
///
/// What job webhooks (`x-stratus-signature`) are signed with now; verify
/// a delivery by recomputing HMAC-SHA256 over `<t>.<body>` with it.
#[utoipa::path(
    get,
    path = "/v1/audio/webhook-secret",
    tag = "audio",
    operation_id = "getAudioWebhookSecret",
    responses(
        (status = 200, description = "The current secret.", body = SecretView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn show(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
) -> Result<Response, ApiError> {
    let jobs = jobs_with_key(&service)?;
    let tenant = tenant_of(context);
    let state = jobs
        .store
        .signing_state(&tenant)
        .await
        .map_err(JobError::from)?;
    Ok(no_store(Json(view(jobs, &tenant, state))))
}

/// Rotate the tenant's webhook signing secret.
///
/// Answers the new secret. The replaced one keeps signing deliveries (a
/// second `v1=`) until `previous_secret_expires_at`, so receivers can be
/// moved to the new one without missing a delivery.
#[utoipa::path(
    post,
    path = "/v1/audio/webhook-secret/rotate",
    tag = "audio",
    operation_id = "rotateAudioWebhookSecret",
    request_body(content = Option<RotateRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The new secret.", body = SecretView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn rotate(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let jobs = jobs_with_key(&service)?;
    let request = parse_rotate(&body)?;
    let valid_s = request
        .previous_secret_valid_seconds
        .unwrap_or(DEFAULT_PREVIOUS_VALID_S);
    let tenant = tenant_of(context);
    let now = now_ms();
    // At most a week, so the product cannot overflow.
    let valid_ms = i64::try_from(valid_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let state = jobs
        .store
        .rotate_signing(&tenant, now, now.saturating_add(valid_ms))
        .await
        .map_err(JobError::from)?;
    tracing::info!(tenant = %tenant, generation = state.generation, "webhook secret rotated");
    Ok(no_store(Json(view(jobs, &tenant, state))))
}

/// The rotation request in `body`: empty is the defaults.
fn parse_rotate(body: &[u8]) -> Result<RotateRequest, ApiError> {
    let invalid = |message: String| {
        ApiError::bad_request(message).with_param("previous_secret_valid_seconds")
    };
    let request: RotateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| invalid(format!("the body is not a rotation request: {e}")))?
    };
    if let Some(s) = request.previous_secret_valid_seconds
        && s > MAX_PREVIOUS_VALID_S
    {
        return Err(invalid(format!(
            "`previous_secret_valid_seconds` must be from 0 to {MAX_PREVIOUS_VALID_S}; got {s}"
        )));
    }
    Ok(request)
}

/// A secret is never cached by a proxy or browser.
fn no_store(body: impl IntoResponse) -> Response {
    ([(axum::http::header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_bodies_are_checked() {
        assert_eq!(
            parse_rotate(b"").unwrap().previous_secret_valid_seconds,
            None
        );
        assert_eq!(
            parse_rotate(br#"{"previous_secret_valid_seconds": 0}"#)
                .unwrap()
                .previous_secret_valid_seconds,
            Some(0)
        );
        for bad in [
            &br#"{"previous_secret_valid_seconds": 604801}"#[..],
            br#"{"previous_secret_valid_seconds": -1}"#,
            br#"{"previous_secret_valid_seconds": "1"}"#,
            br#"{"other": 1}"#,
            b"not json",
        ] {
            assert!(
                parse_rotate(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
