//! The limits admin API (operators, `admin` scope):
//! - `GET|PUT|DELETE /v1/admin/tenants/{tenant_id}/limits`
//! - `GET|PUT|DELETE /v1/admin/tenants/{tenant_id}/keys/{key_id}/limits`
//!
//! `PUT` replaces the subject's limits with the body
//! (`{"requests_per_minute": 600, "tokens_per_minute": null, …}`; a field
//! left out or null falls back to the server default); `DELETE` removes
//! them all. A key of another tenant is 404. The operations are shared
//! with the CLI ([`set`], [`view`], [`clear`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use stratus_kit::ApiError;

use super::{BadLimit, LimitSpec, Limits, cache};
use crate::GatewayState;
use crate::auth::{AuthError, unix_now};
use crate::store::Store;
use crate::store::limits::{LimitRow, LimitScope};
use stratus_kit::ApiJson;

/// A subject's limits as the API and the CLI show them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LimitsView {
    /// Always `limits`.
    pub object: &'static str,
    pub tenant_id: String,
    /// Set for a key's limits.
    pub key_id: Option<String>,
    // The four limits, spelled out rather than `#[serde(flatten)]` of a
    // `LimitSpec`: a flattened schema is an `allOf` with LimitSpec's
    // `additionalProperties: false`, which no response could satisfy. Null
    // fields: what was set is nothing, the server default applies.
    /// Requests a minute (a burst of this many, then evenly spread).
    pub requests_per_minute: Option<u64>,
    /// Input tokens a minute on language routes, as the service reports them.
    pub tokens_per_minute: Option<u64>,
    /// Seconds of audio a minute on speech routes, as the service reports them.
    pub audio_seconds_per_minute: Option<u64>,
    /// Requests in progress at once (a streamed response counts until it ends).
    pub concurrent_requests: Option<u64>,
    /// When they were last set, Unix seconds (null: never set).
    pub updated_at: Option<i64>,
}

impl LimitsView {
    /// What was set for this subject, as a spec to edit.
    pub fn spec(&self) -> LimitSpec {
        LimitSpec {
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            audio_seconds_per_minute: self.audio_seconds_per_minute,
            concurrent_requests: self.concurrent_requests,
        }
    }
}

impl From<BadLimit> for AuthError {
    fn from(e: BadLimit) -> Self {
        AuthError::BadRequest(e.0)
    }
}

/// The subject of a limits operation, checked to exist (and, for a key,
/// to belong to `tenant_id`).
async fn subject(
    store: &Store,
    tenant_id: &str,
    key_id: Option<&str>,
) -> Result<(LimitScope, String), AuthError> {
    if store.tenant_by_id(tenant_id).await?.is_none() {
        return Err(AuthError::NotFound(format!("no tenant `{tenant_id}`")));
    }
    match key_id {
        None => Ok((LimitScope::Tenant, tenant_id.to_owned())),
        Some(key_id) => match store.key_by_id(key_id).await? {
            Some(row) if row.tenant_id == tenant_id => Ok((LimitScope::Key, key_id.to_owned())),
            _ => Err(AuthError::NotFound(format!("no API key `{key_id}`"))),
        },
    }
}

fn view_of(tenant_id: &str, key_id: Option<&str>, row: Option<&LimitRow>) -> LimitsView {
    let limits: LimitSpec = row.map(cache::spec_of).unwrap_or_default();
    LimitsView {
        object: "limits",
        tenant_id: tenant_id.to_owned(),
        key_id: key_id.map(str::to_owned),
        requests_per_minute: limits.requests_per_minute,
        tokens_per_minute: limits.tokens_per_minute,
        audio_seconds_per_minute: limits.audio_seconds_per_minute,
        concurrent_requests: limits.concurrent_requests,
        updated_at: row.map(|r| r.updated_at),
    }
}

fn signed(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// The limits set for a tenant (`key_id` `None`) or one of its keys.
pub async fn view(
    store: &Store,
    tenant_id: &str,
    key_id: Option<&str>,
) -> Result<LimitsView, AuthError> {
    let (scope, id) = subject(store, tenant_id, key_id).await?;
    let row = store.limits_of(scope, &id).await?;
    Ok(view_of(tenant_id, key_id, row.as_ref()))
}

/// Replace the limits of a tenant or one of its keys. `limits` (if given:
/// the running gateway's) forgets its cached row at once; other replicas
/// and a server the CLI wrote for see the change within the cache TTL.
pub async fn set(
    store: &Store,
    limits: Option<&Limits>,
    tenant_id: &str,
    key_id: Option<&str>,
    spec: LimitSpec,
) -> Result<LimitsView, AuthError> {
    spec.validate()?;
    let (scope, id) = subject(store, tenant_id, key_id).await?;
    let row = LimitRow {
        scope: scope.as_str().to_owned(),
        subject_id: id.clone(),
        tenant_id: tenant_id.to_owned(),
        requests_per_minute: signed(spec.requests_per_minute),
        tokens_per_minute: signed(spec.tokens_per_minute),
        audio_seconds_per_minute: signed(spec.audio_seconds_per_minute),
        concurrent_requests: signed(spec.concurrent_requests),
        updated_at: unix_now(),
    };
    store.put_limits(&row).await?;
    if let Some(limits) = limits {
        limits.invalidate(scope, &id);
    }
    Ok(view_of(tenant_id, key_id, Some(&row)))
}

/// Remove the limits set for a tenant or one of its keys (the server
/// defaults apply again).
pub async fn clear(
    store: &Store,
    limits: Option<&Limits>,
    tenant_id: &str,
    key_id: Option<&str>,
) -> Result<(), AuthError> {
    let (scope, id) = subject(store, tenant_id, key_id).await?;
    store.delete_limits(scope, &id).await?;
    if let Some(limits) = limits {
        limits.invalidate(scope, &id);
    }
    Ok(())
}

/// Get a tenant's limits.
///
/// What was set for the tenant; null fields fall back to the server's
/// `--default-tenant-limits`. Tenant limits are shared by all its keys.
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/limits",
    tag = "admin",
    operation_id = "getTenantLimits",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The tenant's limits.", body = LimitsView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_tenant_limits(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<LimitsView>, ApiError> {
    Ok(Json(view(&state.store, &tenant_id, None).await?))
}

/// Set a tenant's limits.
///
/// Replaces them with the body; in force on every gateway within a second.
#[utoipa::path(
    put,
    path = "/v1/admin/tenants/{tenant_id}/limits",
    tag = "admin",
    operation_id = "setTenantLimits",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    request_body = LimitSpec,
    responses(
        (status = 200, description = "The tenant's new limits.", body = LimitsView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn put_tenant_limits(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(spec): ApiJson<LimitSpec>,
) -> Result<Json<LimitsView>, ApiError> {
    Ok(Json(
        set(&state.store, Some(&state.limits), &tenant_id, None, spec).await?,
    ))
}

/// Remove a tenant's limits (the server defaults apply).
#[utoipa::path(
    delete,
    path = "/v1/admin/tenants/{tenant_id}/limits",
    tag = "admin",
    operation_id = "deleteTenantLimits",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn delete_tenant_limits(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    clear(&state.store, Some(&state.limits), &tenant_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get an API key's limits.
///
/// What was set for the key; null fields fall back to the server's
/// `--default-key-limits`. The key's tenant limits apply as well.
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits",
    tag = "admin",
    operation_id = "getKeyLimits",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id (`key_…`)."),
    ),
    responses(
        (status = 200, description = "The key's limits.", body = LimitsView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_key_limits(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Json<LimitsView>, ApiError> {
    Ok(Json(view(&state.store, &tenant_id, Some(&key_id)).await?))
}

/// Set an API key's limits.
///
/// Replaces them with the body; in force on every gateway within a second.
#[utoipa::path(
    put,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits",
    tag = "admin",
    operation_id = "setKeyLimits",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id (`key_…`)."),
    ),
    request_body = LimitSpec,
    responses(
        (status = 200, description = "The key's new limits.", body = LimitsView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn put_key_limits(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
    ApiJson(spec): ApiJson<LimitSpec>,
) -> Result<Json<LimitsView>, ApiError> {
    Ok(Json(
        set(
            &state.store,
            Some(&state.limits),
            &tenant_id,
            Some(&key_id),
            spec,
        )
        .await?,
    ))
}

/// Remove an API key's limits (the server defaults apply).
#[utoipa::path(
    delete,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits",
    tag = "admin",
    operation_id = "deleteKeyLimits",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id (`key_…`)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn delete_key_limits(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    clear(&state.store, Some(&state.limits), &tenant_id, Some(&key_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
