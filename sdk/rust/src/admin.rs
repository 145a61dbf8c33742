//! The gateway's admin, key and usage routes (`/v1/admin/tenants…`,
//! `/v1/usage`). They are not in `openapi/stratus.json` yet, so their
//! types are written here by hand, each with only the fields a client
//! needs (unknown fields are ignored, so the server may add more). Once the
//! document describes these routes, their models come from the generator
//! and these types give way to them.
//!
//! Routes other teams are adding (invoices, …) plug in the same way: a
//! method here over [`Stratus::get_json`] / [`Stratus::post_json`], which
//! already carry the key, the retries and the typed errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::Stratus;
use crate::error::Error;

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
}
