//! The gateway's tenant, key, limit, usage and billing routes
//! (`/v1/admin/tenants…`, `/v1/keys`, `/v1/usage…`, `/v1/billing…`).
//! Tenants, keys and usage totals have the small hand-written types below
//! (only the fields a client needs; unknown fields are ignored, so the
//! server may add more); limits, invoices and usage events use the
//! generated models. Any other JSON route is reachable with
//! [`Stratus::get_json`] / [`Stratus::post_json`], which carry the key,
//! the retries and the typed errors.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Stratus;
use crate::error::Error;
use crate::models::{Invoice, InvoiceList, LimitSpec, LimitsView, UsageEvent};

/// A tenant (organisation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A key just created: `secret` (`sk_…`) is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedKey {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub secret: String,
    pub expires_at: Option<i64>,
}

/// Units consumed (`totals` of a usage report).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UsageTotals {
    pub requests: i64,
    pub audio_seconds: f64,
    pub input_tokens: i64,
    pub characters: i64,
    pub documents: i64,
}

/// `GET /v1/usage`: the key's tenant's consumption over a time range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UsageReport {
    pub tenant_id: String,
    pub start: String,
    pub end: String,
    pub bucket: String,
    pub totals: UsageTotals,
    /// One entry per bucket (and group), as the server wrote it.
    pub data: Vec<BTreeMap<String, serde_json::Value>>,
}

/// The query of [`Stratus::usage`]; `Default` is the server's (today, by day).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageQuery {
    /// RFC 3339 time or date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `day` or `hour`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// e.g. `model`, `key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
}

/// The query of [`Stratus::usage_events_page`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageEventsQuery {
    /// Only events at or after this time (RFC 3339 or Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Only events before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// The previous page's [`UsageEventsPage::cursor`]; `None`: from the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Events per page, 1 to 10000 (server default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One page of `GET /v1/usage/events` (NDJSON, one event per line).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEventsPage {
    pub events: Vec<UsageEvent>,
    /// Where the next page starts (`x-stratus-cursor`).
    pub cursor: Option<String>,
    /// Whether this page was full, so more may follow at once.
    pub has_more: bool,
}

#[derive(Serialize)]
struct NewTenant<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct NewKey<'a> {
    scopes: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

impl Stratus {
    /// Create a tenant (`POST /v1/admin/tenants`; an `admin` key).
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, Error> {
        self.post_json("/v1/admin/tenants", &NewTenant { name }).await
    }

    /// Create a key of tenant `tenant_id` with `scopes`
    /// (`POST /v1/admin/tenants/{id}/keys`; an `admin` key).
    pub async fn create_tenant_key(&self, tenant_id: &str, scopes: &[&str], name: Option<&str>) -> Result<CreatedKey, Error> {
        self.post_json(&format!("/v1/admin/tenants/{tenant_id}/keys"), &NewKey { scopes, name }).await
    }

    /// Create a key of the caller's own tenant (`POST /v1/keys`; a `keys`
    /// key, and only scopes it holds itself).
    pub async fn create_key(&self, scopes: &[&str], name: Option<&str>) -> Result<CreatedKey, Error> {
        self.post_json("/v1/keys", &NewKey { scopes, name }).await
    }

    /// The tenant's usage (`GET /v1/usage`; a `usage:read` key).
    pub async fn usage(&self, query: &UsageQuery) -> Result<UsageReport, Error> {
        self.get_json("/v1/usage", query).await
    }

    /// One page of the tenant's usage events, oldest first
    /// (`GET /v1/usage/events`; a `usage:read` key).
    pub async fn usage_events_page(&self, query: &UsageEventsQuery) -> Result<UsageEventsPage, Error> {
        let response = self.send(|| self.request(Method::GET, "/v1/usage/events").query(query)).await?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let cursor = header("x-stratus-cursor");
        let has_more = header("x-stratus-has-more").as_deref() == Some("true");
        let body = response.text().await.map_err(Error::Connection)?;
        let events = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).map_err(|e| Error::Decode(format!("{e} in `{line}`"))))
            .collect::<Result<_, _>>()?;
        Ok(UsageEventsPage { events, cursor, has_more })
    }

    /// Every usage event between `start` and `end` (either open), page by
    /// page. For a long range, [`Self::usage_events_page`] keeps memory flat.
    pub async fn usage_events(&self, start: Option<&str>, end: Option<&str>) -> Result<Vec<UsageEvent>, Error> {
        let mut query = UsageEventsQuery { start: start.map(str::to_string), end: end.map(str::to_string), ..Default::default() };
        let mut events = Vec::new();
        loop {
            let page = self.usage_events_page(&query).await?;
            events.extend(page.events);
            match page.cursor {
                Some(cursor) if page.has_more => query.cursor = Some(cursor),
                _ => return Ok(events),
            }
        }
    }

    /// Set a tenant's limits, in effect at once
    /// (`PUT /v1/admin/tenants/{id}/limits`; an `admin` key).
    pub async fn set_tenant_limits(&self, tenant_id: &str, limits: &LimitSpec) -> Result<LimitsView, Error> {
        let path = format!("/v1/admin/tenants/{tenant_id}/limits");
        let response = self.send(|| self.request(Method::PUT, &path).json(limits)).await?;
        let body = response.bytes().await.map_err(Error::Connection)?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }

    /// The tenant's monthly invoices, newest first, the current month a
    /// running draft (`GET /v1/billing/invoices`; a `billing:read` key).
    pub async fn list_invoices(&self) -> Result<InvoiceList, Error> {
        self.get_json("/v1/billing/invoices", &()).await
    }

    /// One invoice by id (`inv_…`).
    pub async fn get_invoice(&self, id: &str) -> Result<Invoice, Error> {
        self.get_json(&format!("/v1/billing/invoices/{id}"), &()).await
    }

    /// One invoice as CSV, a row per line item.
    pub async fn invoice_csv(&self, id: &str) -> Result<String, Error> {
        let path = format!("/v1/billing/invoices/{id}");
        let response = self.send(|| self.request(Method::GET, &path).query(&[("format", "csv")])).await?;
        response.text().await.map_err(Error::Connection)
    }
}
