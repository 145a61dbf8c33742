//! The billing HTTP API.
//!
//! A tenant's own (`billing:read`):
//! - `GET /v1/billing/budget` — this month's limits, spend, reservations
//!   and alert flags (what the dashboard banner shows).
//! - `GET /v1/billing/invoices` — every month since the first usage,
//!   newest first, the current month a draft; `?format=csv` or
//!   `Accept: text/csv` for CSV.
//! - `GET /v1/billing/invoices/{id}` — one invoice (CSV as above); another
//!   tenant's id is a 404.
//!
//! A tenant's owners (`keys`):
//! - `GET`/`PUT /v1/keys/{key_id}/budget` `{"hard_limit": "10" | null}` —
//!   one of the tenant's keys' own monthly budget (not the calling key's:
//!   a key cannot lift its own cap).
//!
//! Operators (`admin`):
//! - `GET`/`PUT /v1/admin/tenants/{tenant_id}/plan` `{"plan": "pro" | null}`
//! - `GET`/`PUT /v1/admin/tenants/{tenant_id}/budget`
//!   `{"soft_limit": "80" | null, "hard_limit": "100" | null}` (decimal
//!   strings in the catalog's currency; null: the plan's default)
//! - `GET`/`PUT /v1/admin/tenants/{tenant_id}/keys/{key_id}/budget`
//!   `{"hard_limit": "10" | null}` (null: no budget of the key's own)

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::invoice::{self, Invoice};
use super::money::Nanos;
use super::month::Month;
use super::{Billing, BillingError, TenantTerms};
use crate::GatewayState;
use crate::auth::Principal;
use crate::metering::event::now_ms;
use crate::store::billing::MonthRow;
use stratus_kit::ApiJson;

/// Most invoices listed (ten years of months); the dashboard lists as many.
pub const MAX_INVOICES: usize = 120;

/// A tenant's budget this month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    /// Always `billing.budget`.
    pub object: &'static str,
    pub tenant_id: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub currency: String,
    pub plan: String,
    /// Decimal strings; null: no limit.
    #[schema(value_type = Option<String>)]
    pub soft_limit: Option<Nanos>,
    #[schema(value_type = Option<String>)]
    pub hard_limit: Option<Nanos>,
    /// Settled cost of this month's requests.
    #[schema(value_type = String)]
    pub spent: Nanos,
    /// Held by requests still running (their maximum cost).
    #[schema(value_type = String)]
    pub reserved: Nanos,
    /// `hard_limit - spent - reserved` (not below zero); null: no limit.
    #[schema(value_type = Option<String>)]
    pub remaining: Option<Nanos>,
    /// Spend reached the soft limit this month (show a banner).
    pub soft_limit_reached: bool,
    /// Spend reached the hard limit: requests are refused with 429
    /// `insufficient_quota`.
    pub hard_limit_reached: bool,
    /// When the soft-limit alert went out, if it did.
    pub soft_alerted_at: Option<String>,
    pub hard_alerted_at: Option<String>,
    /// The calling API key's own budget (null: the caller is not a key,
    /// or its key has no budget of its own).
    pub key: Option<KeyBudgetView>,
}

/// An API key's own budget this month, under its tenant's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyBudgetView {
    /// Always `billing.key_budget`.
    pub object: &'static str,
    pub key_id: String,
    pub tenant_id: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub currency: String,
    /// Decimal string; null: the key has no budget of its own (its
    /// tenant's still applies).
    #[schema(value_type = Option<String>)]
    pub hard_limit: Option<Nanos>,
    /// Settled cost of the key's requests this month.
    #[schema(value_type = String)]
    pub spent: Nanos,
    /// Held by the key's requests and jobs still running.
    #[schema(value_type = String)]
    pub reserved: Nanos,
    /// `hard_limit - spent - reserved` (not below zero); null: no limit.
    #[schema(value_type = Option<String>)]
    pub remaining: Option<Nanos>,
    /// Spend reached the key's limit: its requests are refused with 429
    /// `insufficient_quota`.
    pub hard_limit_reached: bool,
}

impl KeyBudgetView {
    pub fn new(
        tenant_id: &str,
        key_id: &str,
        month: Month,
        currency: &str,
        hard_limit: Option<Nanos>,
        row: &MonthRow,
    ) -> Self {
        let spent = Nanos(row.spent_nanos);
        let reserved = Nanos(row.reserved_nanos);
        KeyBudgetView {
            object: "billing.key_budget",
            key_id: key_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            month: month.to_string(),
            currency: currency.to_owned(),
            hard_limit,
            spent,
            reserved,
            remaining: hard_limit.map(|h| Nanos((h.0 - spent.0 - reserved.0).max(0))),
            hard_limit_reached: hard_limit.is_some_and(|h| spent >= h),
        }
    }
}

impl BudgetView {
    pub fn new(
        tenant_id: &str,
        month: Month,
        currency: &str,
        terms: TenantTerms,
        row: &MonthRow,
    ) -> Self {
        let spent = Nanos(row.spent_nanos);
        let reserved = Nanos(row.reserved_nanos);
        let time = |ms: Option<i64>| ms.map(crate::metering::time::format_rfc3339);
        BudgetView {
            object: "billing.budget",
            tenant_id: tenant_id.to_owned(),
            month: month.to_string(),
            currency: currency.to_owned(),
            plan: terms.plan,
            soft_limit: terms.soft_limit,
            hard_limit: terms.hard_limit,
            spent,
            reserved,
            remaining: terms
                .hard_limit
                .map(|h| Nanos((h.0 - spent.0 - reserved.0).max(0))),
            soft_limit_reached: terms.soft_limit.is_some_and(|s| spent >= s),
            hard_limit_reached: terms.hard_limit.is_some_and(|h| spent >= h),
            soft_alerted_at: time(row.soft_alerted_at_ms),
            hard_alerted_at: time(row.hard_alerted_at_ms),
            key: None,
        }
    }
}

/// An OpenAI-style list of invoices.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<Invoice>,
}

/// `?format=csv` asks for CSV (as does `Accept: text/csv`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatParams {
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// Also list line items that cost nothing (usage of free models or
    /// units); hidden by default, as they change no total.
    #[serde(default)]
    pub include_zero_lines: bool,
}

impl FormatParams {
    /// `invoice` as the caller asked to see it.
    fn shown(&self, mut invoice: Invoice) -> Invoice {
        if !self.include_zero_lines {
            invoice.hide_zero_lines();
        }
        invoice
    }
}

fn wants_csv(params: &FormatParams, headers: &HeaderMap) -> Result<bool, BillingError> {
    match params.format.as_deref() {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        Some(other) => {
            return Err(BillingError::BadRequest(format!(
                "format must be json or csv, not `{other}`"
            )));
        }
        None => {}
    }
    Ok(headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv")))
}

/// `invoices` as a CSV download named `filename.csv` (the API's answer,
/// and the dashboard's download link).
pub(crate) fn csv_response(invoices: &[Invoice], filename: &str) -> Response {
    let mut response = invoice::csv(invoices).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn billing(state: &GatewayState) -> Result<&Billing, ApiError> {
    state
        .billing
        .as_ref()
        .ok_or_else(|| ApiError::not_found("billing is not enabled on this gateway"))
}

/// The caller's budget this month.
///
/// What the dashboard shows as spend vs budget: limits, settled spend,
/// what running requests hold reserved, and whether the soft (banner) and
/// hard (requests refused) limits are reached.
#[utoipa::path(
    get,
    path = "/v1/billing/budget",
    tag = "billing",
    operation_id = "getBudget",
    responses(
        (status = 200, description = "This month's budget.", body = BudgetView),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn own_budget(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<BudgetView>, ApiError> {
    let billing = billing(&state)?;
    let mut view = billing.budget(&principal.tenant_id).await?;
    if let Some(key_id) = &principal.key_id {
        view.key = billing.own_key_budget(&principal.tenant_id, key_id).await?;
    }
    Ok(Json(view))
}

/// The caller's invoices.
///
/// Every month since the first usage, newest first; the current month is
/// a `draft` recomputed on each read, finished months are `closed` and
/// never change. Amounts are exact decimal strings.
#[utoipa::path(
    get,
    path = "/v1/billing/invoices",
    tag = "billing",
    operation_id = "listInvoices",
    params(FormatParams),
    responses(
        (status = 200, description = "The invoices (JSON, or CSV with one row per line item).",
            content((InvoiceList = "application/json"), (String = "text/csv"))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_invoices(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<FormatParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // axum's own rejection is plain text; the API answers in its envelope.
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let csv = wants_csv(&params, &headers)?;
    let invoices: Vec<Invoice> = billing(&state)?
        .invoices(&principal.tenant_id, now_ms(), MAX_INVOICES)
        .await?
        .into_iter()
        .map(|i| params.shown(i))
        .collect();
    if csv {
        return Ok(csv_response(&invoices, "invoices"));
    }
    Ok(Json(InvoiceList {
        object: "list",
        data: invoices,
    })
    .into_response())
}

/// One of the caller's invoices.
#[utoipa::path(
    get,
    path = "/v1/billing/invoices/{id}",
    tag = "billing",
    operation_id = "getInvoice",
    params(("id" = String, Path, description = "The invoice id (`inv_…`)."), FormatParams),
    responses(
        (status = 200, description = "The invoice (JSON, or CSV).",
            content((Invoice = "application/json"), (String = "text/csv"))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_invoice(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    params: Result<Query<FormatParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // axum's own rejection is plain text; the API answers in its envelope.
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let csv = wants_csv(&params, &headers)?;
    let invoice = params.shown(
        billing(&state)?
            .invoice_by_id(&principal.tenant_id, &id, now_ms())
            .await?,
    );
    if csv {
        return Ok(csv_response(std::slice::from_ref(&invoice), &invoice.id));
    }
    Ok(Json(invoice).into_response())
}

/// A tenant's plan.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// A plan of the price catalog; null: the catalog's default plan.
    pub plan: Option<String>,
}

/// A tenant's monthly budget.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    /// Decimal string in the catalog's currency; null: the plan's default.
    pub soft_limit: Option<String>,
    pub hard_limit: Option<String>,
}

async fn known_tenant(state: &GatewayState, tenant_id: &str) -> Result<(), ApiError> {
    crate::tenants::tenant(&state.auth, tenant_id).await?;
    Ok(())
}

/// A tenant's plan (operators).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/plan",
    tag = "billing",
    operation_id = "getTenantPlan",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The plan the tenant is on.", body = PlanBody),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_plan(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<PlanBody>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let terms = billing(&state)?.terms(&tenant_id).await?;
    Ok(Json(PlanBody {
        plan: Some(terms.plan),
    }))
}

/// Put a tenant on a plan (operators).
///
/// Takes effect for the current month's draft and budget at once; closed
/// months keep the plan they were closed with.
#[utoipa::path(
    put,
    path = "/v1/admin/tenants/{tenant_id}/plan",
    tag = "billing",
    operation_id = "setTenantPlan",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    request_body = PlanBody,
    responses(
        (status = 200, description = "The plan the tenant is on now.", body = PlanBody),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn set_plan(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Json<PlanBody>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let billing = billing(&state)?;
    set_tenant_plan(billing, &tenant_id, body.plan.as_deref()).await?;
    let terms = billing.terms(&tenant_id).await?;
    Ok(Json(PlanBody {
        plan: Some(terms.plan),
    }))
}

/// Check `plan` against the catalog and store it (the API and the CLI).
pub async fn set_tenant_plan(
    billing: &Billing,
    tenant_id: &str,
    plan: Option<&str>,
) -> Result<(), BillingError> {
    if let Some(plan) = plan
        && !billing.catalog().plans.contains_key(plan)
    {
        let known: Vec<&str> = billing.catalog().plans.keys().map(String::as_str).collect();
        return Err(BillingError::BadRequest(format!(
            "no plan `{}` in the price catalog (known: {})",
            crate::metering::event::bounded(plan),
            known.join(", ")
        )));
    }
    billing.store().set_tenant_plan(tenant_id, plan).await?;
    billing.forget_terms(tenant_id);
    Ok(())
}

/// Check and store a budget (the API and the CLI).
pub async fn set_tenant_budget(
    billing: &Billing,
    tenant_id: &str,
    soft_limit: Option<&str>,
    hard_limit: Option<&str>,
) -> Result<(), BillingError> {
    let parse = |text: Option<&str>, what: &str| {
        text.map(|t| parse_amount(t, what).map(|n| n.0)).transpose()
    };
    let soft = parse(soft_limit, "soft_limit")?;
    let hard = parse(hard_limit, "hard_limit")?;
    billing
        .store()
        .set_tenant_budget(tenant_id, soft, hard)
        .await?;
    billing.forget_terms(tenant_id);
    Ok(())
}

/// A tenant's budget this month (operators).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/budget",
    tag = "billing",
    operation_id = "getTenantBudget",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    responses(
        (status = 200, description = "The tenant's budget this month.", body = BudgetView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_budget(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<BudgetView>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    Ok(Json(billing(&state)?.budget(&tenant_id).await?))
}

/// Set a tenant's monthly budget (operators).
///
/// The soft limit sends one alert a month (webhook, dashboard banner);
/// the hard limit refuses requests with 429 `insufficient_quota` before
/// they run.
#[utoipa::path(
    put,
    path = "/v1/admin/tenants/{tenant_id}/budget",
    tag = "billing",
    operation_id = "setTenantBudget",
    params(("tenant_id" = String, Path, description = "The tenant's id.")),
    request_body = BudgetBody,
    responses(
        (status = 200, description = "The tenant's budget this month.", body = BudgetView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn set_budget(
    State(state): State<GatewayState>,
    Path(tenant_id): Path<String>,
    ApiJson(body): ApiJson<BudgetBody>,
) -> Result<Json<BudgetView>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let billing = billing(&state)?;
    set_tenant_budget(
        billing,
        &tenant_id,
        body.soft_limit.as_deref(),
        body.hard_limit.as_deref(),
    )
    .await?;
    Ok(Json(billing.budget(&tenant_id).await?))
}

/// An API key's own monthly budget.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyBudgetBody {
    /// Decimal string in the catalog's currency; null: no budget of the
    /// key's own.
    pub hard_limit: Option<String>,
}

impl KeyBudgetBody {
    fn limit(&self) -> Result<Option<Nanos>, BillingError> {
        self.hard_limit
            .as_deref()
            .map(|text| parse_amount(text, "hard_limit"))
            .transpose()
    }
}

/// A budget amount: a decimal string in the catalog's currency, exact to
/// the nano (the API, the CLI and the dashboard read amounts alike);
/// `what` names the field in the error.
pub fn parse_amount(text: &str, what: &str) -> Result<Nanos, BillingError> {
    Nanos::parse(text, 9).map_err(|e| BillingError::BadRequest(format!("{what}: {e}")))
}

/// Key `key_id` of `tenant_id`'s budget, after `change` if given: what
/// the owners' and the operators' routes answer alike, once each has
/// checked the key is one it may read or change.
async fn key_budget(
    state: &GatewayState,
    tenant_id: &str,
    key_id: &str,
    change: Option<&KeyBudgetBody>,
) -> Result<Json<KeyBudgetView>, ApiError> {
    let billing = billing(state)?;
    if let Some(change) = change {
        billing
            .set_key_budget(tenant_id, key_id, change.limit()?)
            .await?;
    }
    Ok(Json(billing.key_budget(tenant_id, key_id).await?))
}

/// Key `key_id` if it is one of `tenant_id`'s (any other: 404, as a key
/// that does not exist).
async fn tenants_key(state: &GatewayState, tenant_id: &str, key_id: &str) -> Result<(), ApiError> {
    let owned = state
        .store
        .key_by_id(key_id)
        .await
        .map_err(BillingError::from)?
        .is_some_and(|row| row.tenant_id == tenant_id);
    if owned {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no API key `{}`",
            crate::metering::event::bounded(key_id)
        )))
    }
}

/// One of your tenant's API keys' own budget this month (`keys` scope).
#[utoipa::path(
    get,
    path = "/v1/keys/{key_id}/budget",
    tag = "keys",
    operation_id = "getKeyBudget",
    params(("key_id" = String, Path, description = "The key's id (`key_…`).")),
    responses(
        (status = 200, description = "The key's budget this month.", body = KeyBudgetView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_own_key_budget(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
) -> Result<Json<KeyBudgetView>, ApiError> {
    tenants_key(&state, &principal.tenant_id, &key_id).await?;
    key_budget(&state, &principal.tenant_id, &key_id, None).await
}

/// Give one of your tenant's API keys a monthly budget of its own (`keys`
/// scope).
///
/// The key's requests are refused with 429 `insufficient_quota` once its
/// month's spend reaches the limit, whatever is left of the tenant's
/// budget. Spend the key made earlier this month counts. A key cannot
/// change its own budget, nor that of a key holding a scope it lacks
/// (403), as for revoking.
#[utoipa::path(
    put,
    path = "/v1/keys/{key_id}/budget",
    tag = "keys",
    operation_id = "setKeyBudget",
    params(("key_id" = String, Path, description = "The key's id (`key_…`).")),
    request_body = KeyBudgetBody,
    responses(
        (status = 200, description = "The key's budget this month.", body = KeyBudgetView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 403, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn set_own_key_budget(
    State(state): State<GatewayState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
    ApiJson(body): ApiJson<KeyBudgetBody>,
) -> Result<Json<KeyBudgetView>, ApiError> {
    if principal.key_id.as_deref() == Some(key_id.as_str()) {
        return Err(ApiError::forbidden(
            "a key cannot change its own budget; use another key or the dashboard",
        ));
    }
    state.auth.key_to_manage(&principal, &key_id).await?;
    key_budget(&state, &principal.tenant_id, &key_id, Some(&body)).await
}

/// An API key's own budget this month (operators).
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}/budget",
    tag = "billing",
    operation_id = "getTenantKeyBudget",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id (`key_…`)."),
    ),
    responses(
        (status = 200, description = "The key's budget this month.", body = KeyBudgetView),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn get_key_budget(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Json<KeyBudgetView>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    tenants_key(&state, &tenant_id, &key_id).await?;
    key_budget(&state, &tenant_id, &key_id, None).await
}

/// Give an API key a monthly budget of its own (operators).
///
/// Under its tenant's budget: the key's requests are refused with 429
/// `insufficient_quota` once its month's spend reaches the limit. Spend
/// the key made earlier this month counts.
#[utoipa::path(
    put,
    path = "/v1/admin/tenants/{tenant_id}/keys/{key_id}/budget",
    tag = "billing",
    operation_id = "setTenantKeyBudget",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id."),
        ("key_id" = String, Path, description = "The key's id (`key_…`)."),
    ),
    request_body = KeyBudgetBody,
    responses(
        (status = 200, description = "The key's budget this month.", body = KeyBudgetView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn set_key_budget(
    State(state): State<GatewayState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<KeyBudgetBody>,
) -> Result<Json<KeyBudgetView>, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    tenants_key(&state, &tenant_id, &key_id).await?;
    key_budget(&state, &tenant_id, &key_id, Some(&body)).await
}
