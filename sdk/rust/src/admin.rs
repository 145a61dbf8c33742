//! The gateway's tenant, key, limit, usage and billing routes
//! (`/v1/admin/tenants…`, `/v1/keys`, `/v1/usage…`, `/v1/billing…`), typed
//! with the generated models (`Tenant`, `CreatedApiKey`, `Usage`,
//! `UsageEvent`, `LimitsView`, `InvoiceList`, `Invoice`); usage events
//! page as a `Stream`. Any other JSON route is reachable with
//! [`Stratus::get_json`] / [`Stratus::post_json`], which carry the key,
//! the retries and the typed errors.

use futures_util::{Stream, TryStreamExt};
use reqwest::Method;
use serde::Serialize;

use crate::client::Stratus;
use crate::error::Error;
use crate::models::{
    CreateKey, CreateTenant, CreatedApiKey, Invoice, InvoiceList, LimitSpec, LimitsView, Scope,
    Tenant, Usage, UsageEvent,
};

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

impl Stratus {
    /// Create a tenant (`POST /v1/admin/tenants`; an `admin` key).
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, Error> {
        self.post_json("/v1/admin/tenants", &CreateTenant::new(name.to_string()))
            .await
    }

    /// Create a key of tenant `tenant_id` with `scopes`
    /// (`POST /v1/admin/tenants/{id}/keys`; an `admin` key). The answer's
    /// `secret` (`sk_…`) is shown this once.
    pub async fn create_tenant_key(
        &self,
        tenant_id: &str,
        scopes: &[Scope],
        name: Option<&str>,
    ) -> Result<CreatedApiKey, Error> {
        self.post_json(
            &format!("/v1/admin/tenants/{tenant_id}/keys"),
            &new_key(scopes, name),
        )
        .await
    }

    /// Create a key of the caller's own tenant (`POST /v1/keys`; a `keys`
    /// key, and only scopes it holds itself).
    pub async fn create_key(
        &self,
        scopes: &[Scope],
        name: Option<&str>,
    ) -> Result<CreatedApiKey, Error> {
        self.post_json("/v1/keys", &new_key(scopes, name)).await
    }

    /// The tenant's usage (`GET /v1/usage`; a `usage:read` key).
    pub async fn usage(&self, query: &UsageQuery) -> Result<Usage, Error> {
        self.get_json("/v1/usage", query).await
    }

    /// One page of the tenant's usage events, oldest first
    /// (`GET /v1/usage/events`, NDJSON; a `usage:read` key).
    pub async fn usage_events_page(
        &self,
        query: &UsageEventsQuery,
    ) -> Result<UsageEventsPage, Error> {
        let response = self
            .send(self.request(Method::GET, "/v1/usage/events").query(query))
            .await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let cursor = header("x-stratus-cursor");
        let has_more = header("x-stratus-has-more").as_deref() == Some("true");
        let body = response.text().await?;
        let events = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| Error::Decode(format!("{e} in `{line}`")))
            })
            .collect::<Result<_, _>>()?;
        Ok(UsageEventsPage {
            events,
            cursor,
            has_more,
        })
    }

    /// Every usage event `query` selects, oldest first, fetched a page at a
    /// time as the stream is read (the cursor and `has_more` of each page's
    /// `x-stratus-cursor` / `x-stratus-has-more` headers lead to the next).
    /// Keep the last page's cursor ([`Self::usage_events_page`]) to read
    /// only what is new later.
    pub fn usage_events(
        &self,
        query: UsageEventsQuery,
    ) -> impl Stream<Item = Result<UsageEvent, Error>> + Send + '_ {
        futures_util::stream::try_unfold(Some(query), move |query| async move {
            let Some(mut query) = query else {
                return Ok::<_, Error>(None);
            };
            let page = self.usage_events_page(&query).await?;
            let next = match page.cursor {
                Some(cursor) if page.has_more => {
                    query.cursor = Some(cursor);
                    Some(query)
                }
                _ => None,
            };
            Ok(Some((
                futures_util::stream::iter(page.events.into_iter().map(Ok)),
                next,
            )))
        })
        .try_flatten()
    }

    /// Set a tenant's limits, in effect at once
    /// (`PUT /v1/admin/tenants/{id}/limits`; an `admin` key).
    pub async fn set_tenant_limits(
        &self,
        tenant_id: &str,
        limits: &LimitSpec,
    ) -> Result<LimitsView, Error> {
        let path = format!("/v1/admin/tenants/{tenant_id}/limits");
        let response = self
            .send(self.request(Method::PUT, &path).json(limits))
            .await?;
        crate::client::decode(&response.bytes().await?)
    }

    /// The tenant's monthly invoices, newest first, the current month a
    /// running draft (`GET /v1/billing/invoices`; a `billing:read` key).
    pub async fn list_invoices(&self) -> Result<InvoiceList, Error> {
        self.get_json("/v1/billing/invoices", &()).await
    }

    /// One invoice by id (`inv_…`).
    pub async fn get_invoice(&self, id: &str) -> Result<Invoice, Error> {
        self.get_json(&format!("/v1/billing/invoices/{id}"), &())
            .await
    }

    /// One invoice as CSV, a row per line item.
    pub async fn invoice_csv(&self, id: &str) -> Result<String, Error> {
        let path = format!("/v1/billing/invoices/{id}");
        let response = self
            .send(self.request(Method::GET, &path).query(&[("format", "csv")]))
            .await?;
        Ok(response.text().await?)
    }
}

fn new_key(scopes: &[Scope], name: Option<&str>) -> CreateKey {
    CreateKey {
        name: name.map(str::to_string),
        ..CreateKey::new(scopes.to_vec())
    }
}
