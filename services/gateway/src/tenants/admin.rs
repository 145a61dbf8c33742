//! The identity HTTP API.
//!
//! Operators (`admin` scope — keys of the system tenant):
//! - `POST /v1/admin/tenants` `{name}`, `GET /v1/admin/tenants`
//! - `POST /v1/admin/tenants/{tenant_id}/keys` `{scopes, name?, expires_in_days?}`,
//!   `GET …/keys`, `DELETE …/keys/{key_id}` (revoke)
//! - `POST /v1/admin/tenants/{tenant_id}/users` `{email, password, role}`
//!
//! A tenant's own keys (`keys` scope: an owner's dashboard session, or an
//! API key given `keys`), always within the caller's tenant:
//! - `GET /v1/keys`, `POST /v1/keys`, `DELETE /v1/keys/{key_id}`
//!
//! A key made here may hold only scopes its maker holds, and never `admin`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::{CreatedKeyView, KeyView, UserView};
use crate::GatewayState;
use crate::api_json::ApiJson;
use crate::auth::{AuthError, KeySpec, Principal, Role, Scope, Scopes};
use crate::store::identity::TenantRow;

/// Most scopes named in one request (there are fewer than this).
const MAX_SCOPES: usize = 16;

/// An OpenAI-style list.
#[derive(Debug, Serialize)]
pub struct List<T> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub scopes: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub password: String,
    pub role: String,
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

pub async fn create_tenant(
    State(state): State<GatewayState>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<Response, ApiError> {
    let row = super::create_tenant(&state.auth, &body.name).await?;
    Ok(created(row))
}

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

pub async fn create_tenant_key(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    let created_key = state.auth.create_key(&tenant.id, body.spec()?).await?;
    Ok(created(CreatedKeyView::from(created_key)))
}

pub async fn list_tenant_keys(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<List<KeyView>>, ApiError> {
    let tenant = super::tenant(&state.auth, &tenant_id).await?;
    list_keys_of(&state, &tenant.id).await
}

pub async fn revoke_tenant_key(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_key(&tenant_id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

pub async fn list_own_keys(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<List<KeyView>>, ApiError> {
    list_keys_of(&state, &principal.tenant_id).await
}

pub async fn create_own_key(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let spec = body.spec()?;
    if spec.scopes.contains(Scope::Admin) || !spec.scopes.is_subset(&principal.scopes) {
        return Err(AuthError::BadRequest(format!(
            "a new key may hold only scopes you hold yourself ({}), never `admin`",
            principal.scopes
        ))
        .into());
    }
    let created_key = state.auth.create_key(&principal.tenant_id, spec).await?;
    Ok(created(CreatedKeyView::from(created_key)))
}

pub async fn revoke_own_key(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_key(&principal.tenant_id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
