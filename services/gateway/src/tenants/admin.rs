//! The identity HTTP API.
//!
//! Operators (`admin` scope — keys of the system tenant):
//! - `POST /v1/admin/tenants` `{name}`, `GET /v1/admin/tenants`
//! - `POST /v1/admin/tenants/{tenant_id}/keys` `{scopes, name?, expires_in_days?}`,
//!   `GET …/keys`, `DELETE …/keys/{key_id}` (revoke)
//! - `POST /v1/admin/tenants/{tenant_id}/users` `{email, password, role}`,
//!   `GET …/users`, `GET …/users/{user_id}`,
//!   `PATCH …/users/{user_id}` `{role?, disabled?, password?}`,
//!   `DELETE …/users/{user_id}`
//!
//! A tenant's own keys (`keys` scope: an owner's dashboard session, or an
//! API key given `keys`), always within the caller's tenant:
//! - `GET /v1/keys`, `POST /v1/keys`, `DELETE /v1/keys/{key_id}`
//!
//! A key made or revoked here may hold only scopes its maker holds, never
//! `admin`; one made by an API key expires no later than it; and a tenant
//! holds at most `--max-keys-per-tenant` working keys (see `crate::auth`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::{CreatedKeyView, KeyView, UserView};
use crate::GatewayState;
use crate::auth::{AuthError, KeySpec, Principal, Role, Scopes};
use crate::store::identity::TenantRow;
use stratus_kit::ApiJson;

/// Most scopes named in one request (there are fewer than this).
const MAX_SCOPES: usize = 16;

/// An OpenAI-style list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<T>,
}

impl<T> List<T> {
    fn of(data: Vec<T>) -> Json<Self> {
        Json(Self {
            object: "list",
            data,
        })
    }
}

/// A new tenant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "acme"}))]
pub struct CreateTenant {
    /// Unique; letters, digits, `-` and `_`.
    pub name: String,
}

/// A new API key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scopes": ["speech", "language"], "name": "backend", "expires_in_days": 90}))]
pub struct CreateKey {
    /// What the key may do (at most 16 names; see `Scope`).
    #[schema(value_type = Vec<crate::auth::Scope>)]
    pub scopes: Vec<String>,
    /// A label to recognise the key by.
    #[serde(default)]
    pub name: Option<String>,
    /// Days until the key stops working. Omitted: never, for operators and
    /// dashboard owners; a key made by an API key expires no later than
    /// that key (omitted: with it; later: refused).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expires_in_days: Option<u32>,
}

impl CreateKey {
    fn spec(self) -> Result<KeySpec, AuthError> {
        if self.scopes.len() > MAX_SCOPES {
            return Err(AuthError::BadRequest(format!(
                "at most {MAX_SCOPES} scopes"
            )));
        }
        let scopes = Scopes::parse(&self.scopes.join(","))
            .map_err(|e| AuthError::BadRequest(e.to_string()))?;
        Ok(KeySpec {
            name: self.name,
            scopes,
            expires_in_days: self.expires_in_days,
        })
    }
}

/// A new dashboard user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "owner@example.com", "password": "correct horse battery staple", "role": "owner"}))]
pub struct CreateUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    #[schema(value_type = crate::auth::Role)]
    pub role: String,
}

/// Changes to a dashboard user; at least one field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "viewer", "disabled": true}))]
pub struct UpdateUser {
    /// A new role; open sessions carry it within a second.
    #[serde(default)]
    #[schema(value_type = Option<crate::auth::Role>)]
    pub role: Option<String>,
    /// `true` disables the user (cannot sign in; every session ends),
    /// `false` enables it again.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new password (8 to 1024 bytes); every session of the user ends.
    #[serde(default)]
    pub password: Option<String>,
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Create a tenant (operators: `admin` scope).
#[utoipa::path(
    post,
    path = "/v1/admin/tenants",
    tag = "admin",
    operation_id = "createTenant",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "The tenant.", body = TenantRow),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 409, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn create_tenant(
    State(state): State<GatewayState>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<Response, ApiError> {
    let row = super::create_tenant(&state.auth, &body.name).await?;
    Ok(created(row))
}

/// List every tenant (operators: `admin` scope).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants",
    tag = "admin",
    operation_id = "listTenants",
    responses(
        (status = 200, description = "Every tenant.", body = List<TenantRow>),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_tenants(
    State(state): State<GatewayState>,
) -> Result<Json<List<TenantRow>>, ApiError> {
    let rows = state
        .auth
        .store()
        .list_tenants()
        .await
        .map_err(AuthError::from)?;
    Ok(List::of(rows))
}

/// Create an API key for a tenant (operators: `admin` scope).
///
/// The answer carries the key's `secret` this once; it is never shown
/// again.
#[utoipa::path(
    post,
    path = "/v1/admin/tenants/{tenant_id}/keys",
    tag = "admin",
    operation_id = "createTenantKey",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`).")),
    request_body = CreateKey,
    responses(
        (status = 201, description = "The key, with its secret.", body = CreatedKeyView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn create_tenant_key(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    let created_key = state.auth.create_key(&tenant.id, body.spec()?).await?;
    Ok(created(CreatedKeyView::from(created_key)))
}

/// List a tenant's API keys (operators: `admin` scope), revoked ones
/// included; never their secrets.
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/keys",
    tag = "admin",
    operation_id = "listTenantKeys",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`).")),
    responses(
        (status = 200, description = "The tenant's keys.", body = List<KeyView>),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_tenant_keys(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<List<KeyView>>, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    list_keys_of(&state, &tenant.id).await
}

/// Revoke a tenant's API key (operators: `admin` scope); it stops working
/// at once.
#[utoipa::path(
    delete,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}",
    tag = "admin",
    operation_id = "revokeTenantKey",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`)."), ("key_id" = String, Path, description = "The key's id (`key_…`).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn revoke_tenant_key(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_key(&tenant_id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a dashboard user in a tenant (operators: `admin` scope).
#[utoipa::path(
    post,
    path = "/v1/admin/tenants/{tenant_id}/users",
    tag = "admin",
    operation_id = "createTenantUser",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`).")),
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user (never the password).", body = UserView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 409, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn create_tenant_user(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: crate::auth::scopes::UnknownRole| AuthError::BadRequest(e.to_string()))?;
    let user =
        super::create_user(&state.auth, &tenant.id, &body.email, body.password, role).await?;
    Ok(created(UserView::from(user)))
}

/// List a tenant's dashboard users (operators: `admin` scope).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/users",
    tag = "admin",
    operation_id = "listTenantUsers",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`).")),
    responses(
        (status = 200, description = "The tenant's users (never their passwords).", body = List<UserView>),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_tenant_users(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<List<UserView>>, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    let rows = state
        .auth
        .store()
        .list_users(&tenant.id)
        .await
        .map_err(AuthError::from)?;
    Ok(List::of(rows.into_iter().map(UserView::from).collect()))
}

/// Show one of a tenant's dashboard users (operators: `admin` scope).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/users/{user_id}",
    tag = "admin",
    operation_id = "getTenantUser",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`)."), ("user_id" = String, Path, description = "The user's id (`usr_…`).")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_tenant_user(
    State(state): State<GatewayState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> Result<Json<UserView>, ApiError> {
    let user = super::user(&state.auth, &tenant_id, &user_id).await?;
    Ok(Json(user.into()))
}

/// Change a tenant's dashboard user (operators: `admin` scope): its role,
/// disabled or not, its password.
///
/// Disabling the user or setting its password ends every session it has,
/// on every gateway within a second; a new role applies to its open
/// sessions within a second. Another tenant's user is 404.
#[utoipa::path(
    patch,
    path = "/v1/admin/tenants/{tenant_id}/users/{user_id}",
    tag = "admin",
    operation_id = "updateTenantUser",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`)."), ("user_id" = String, Path, description = "The user's id (`usr_…`).")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user as changed.", body = UserView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn update_tenant_user(
    State(state): State<GatewayState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let auth = &state.auth;
    if body.role.is_none() && body.disabled.is_none() && body.password.is_none() {
        return Err(AuthError::BadRequest(
            "nothing to change: give `role`, `disabled` or `password`".into(),
        )
        .into());
    }
    // Everything is checked before anything changes.
    let role = body
        .role
        .as_deref()
        .map(|r| {
            r.parse::<Role>()
                .map_err(|e| AuthError::BadRequest(e.to_string()))
        })
        .transpose()?;
    if let Some(password) = &body.password
        && !(crate::auth::password::MIN_PASSWORD_BYTES..=crate::auth::password::MAX_PASSWORD_BYTES)
            .contains(&password.len())
    {
        return Err(AuthError::Password(crate::auth::password::PasswordError::Length).into());
    }
    let user = super::user(auth, &tenant_id, &user_id).await?;
    if let Some(role) = role {
        super::set_user_role(auth, &user.tenant_id, &user.id, role).await?;
    }
    if let Some(disabled) = body.disabled {
        super::set_user_disabled(auth, &user.tenant_id, &user.id, disabled).await?;
    }
    if let Some(password) = body.password {
        super::set_user_password(auth, &user.tenant_id, &user.id, password).await?;
    }
    let user = super::user(auth, &user.tenant_id, &user.id).await?;
    Ok(Json(user.into()))
}

/// Delete a tenant's dashboard user (operators: `admin` scope); its
/// sessions end at once. Another tenant's user is 404.
#[utoipa::path(
    delete,
    path = "/v1/admin/tenants/{tenant_id}/users/{user_id}",
    tag = "admin",
    operation_id = "deleteTenantUser",
    params(("tenant_id" = String, Path, description = "The tenant's id (`ten_…`)."), ("user_id" = String, Path, description = "The user's id (`usr_…`).")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn delete_tenant_user(
    State(state): State<GatewayState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    super::delete_user(&state.auth, &tenant_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_keys_of(
    state: &GatewayState,
    tenant_id: &str,
) -> Result<Json<List<KeyView>>, ApiError> {
    let rows = state
        .auth
        .store()
        .list_keys(tenant_id)
        .await
        .map_err(AuthError::from)?;
    Ok(List::of(rows.into_iter().map(KeyView::from).collect()))
}

/// List your tenant's API keys (`keys` scope), revoked ones included;
/// never their secrets.
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "keys",
    operation_id = "listKeys",
    responses(
        (status = 200, description = "The keys.", body = List<KeyView>),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_own_keys(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<List<KeyView>>, ApiError> {
    list_keys_of(&state, &principal.tenant_id).await
}

/// Create an API key for your tenant (`keys` scope).
///
/// It may hold only scopes you hold yourself, never `admin`. Made with an
/// API key, it expires no later than that key: without `expires_in_days`
/// it expires with it, and a later expiry is refused (400). A tenant
/// holds at most a configured number of working keys (409
/// `key_limit_reached`: revoke one first). The answer carries its
/// `secret` this once.
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    operation_id = "createKey",
    request_body = CreateKey,
    responses(
        (status = 201, description = "The key, with its secret.", body = CreatedKeyView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 409, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn create_own_key(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let created_key = state.auth.create_own_key(&principal, body.spec()?).await?;
    Ok(created(CreatedKeyView::from(created_key)))
}

/// Revoke one of your tenant's API keys (`keys` scope); it stops working
/// at once. You must hold every scope the key holds (403 otherwise).
/// Another tenant's key is 404.
#[utoipa::path(
    delete,
    path = "/v1/keys/{key_id}",
    tag = "keys",
    operation_id = "revokeKey",
    params(("key_id" = String, Path, description = "The key's id (`key_…`).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 403, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn revoke_own_key(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_own_key(&principal, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
