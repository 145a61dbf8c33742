//! The usage API of the caller's tenant:
//! - `GET /v1/usage?start=&end=&bucket=day|hour&group_by=model|endpoint|key|service&format=json|csv`
//!   — totals and per-bucket sums (UTC hours or days), optionally per group;
//!   `format=csv` for a spreadsheet.
//! - `GET /v1/usage/events?start=&end=&cursor=&limit=` — the events
//!   themselves as NDJSON (one JSON object per line) in store order; the
//!   response's `x-stratus-cursor` is the `cursor` for the next page (also
//!   when this one was the last, to follow new events later), and
//!   `x-stratus-has-more` says whether a full page remains.
//!
//! Both answer only for the tenant of the request's [`TenantContext`];
//! there is no parameter that names a tenant.

use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_kit::context::TenantContext;

use super::event::{Units, UnitsView, now_ms};
use super::time;
use crate::GatewayState;
use crate::store::StoreError;
use crate::store::usage::{EventFilter, GroupBy};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Longest range per request: hourly buckets over 31 days (744 rows per
/// group), daily over 366.
const MAX_HOURLY_RANGE_MS: i64 = 31 * DAY_MS;
const MAX_DAILY_RANGE_MS: i64 = 366 * DAY_MS;
/// Events per page: default and most.
const DEFAULT_PAGE: u32 = 1000;
const MAX_PAGE: u32 = 10_000;

fn tenant(context: Option<Extension<TenantContext>>) -> Result<String, ApiError> {
    context
        .map(|Extension(c)| c.tenant_id)
        .ok_or_else(|| ApiError::unauthorized("usage is only shown to an authenticated tenant"))
}

fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

fn store_error(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "usage query failed");
    ApiError::unavailable("the usage store is not answering; retry shortly", 1)
}

fn time_param(value: Option<&str>, name: &'static str) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| time::parse(v).map_err(|e| ApiError::bad_request(e.to_string()).with_param(name)))
        .transpose()
}

/// `GET /v1/usage` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// Start of the range (RFC 3339 or Unix seconds); default: 30 days
    /// (daily) or 24 hours (hourly) before `end`, whole buckets.
    #[param(example = "2026-11-01T00:00:00Z")]
    start: Option<String>,
    /// End of the range, exclusive (RFC 3339 or Unix seconds); default
    /// now.
    end: Option<String>,
    /// `day` (default; ranges up to 366 days) or `hour` (up to 31 days).
    #[param(pattern = "^(day|hour)$", example = "day")]
    bucket: Option<String>,
    /// `model`, `endpoint`, `key`, `service` or `none` (default).
    #[param(pattern = "^(model|endpoint|key|service|none)$", example = "model")]
    group_by: Option<String>,
    /// `json` (default) or `csv` (a spreadsheet download).
    #[param(pattern = "^(json|csv)$", example = "json")]
    format: Option<String>,
}

/// The tenant's usage over a range: totals and per-bucket sums.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Usage)]
struct UsageResponse {
    /// Always `usage`.
    object: &'static str,
    tenant_id: String,
    start: String,
    end: String,
    /// `day` or `hour`.
    bucket: &'static str,
    group_by: Option<&'static str>,
    totals: UnitsView,
    /// The buckets that had usage, oldest first (per group when grouped).
    data: Vec<UsageBucket>,
}

/// One bucket's sums (of one group when grouped).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct UsageBucket {
    start: String,
    end: String,
    /// The group's value (a model, endpoint, key id or service) when
    /// `group_by` is set.
    group: Option<String>,
    #[serde(flatten)]
    units: UnitsView,
}

fn add(total: &mut Units, u: &Units) {
    total.requests += u.requests;
    total.audio_ms += u.audio_ms;
    total.input_tokens += u.input_tokens;
    total.characters += u.characters;
    total.documents += u.documents;
}

/// Read your tenant's usage.
///
/// Totals and per-bucket sums (UTC hours or days) of requests, audio
/// seconds, tokens, characters and documents, optionally per model,
/// endpoint, key or service; `format=csv` for a spreadsheet.
#[utoipa::path(
    get,
    path = "/v1/usage",
    tag = "usage",
    operation_id = "getUsage",
    params(UsageParams),
    responses(
        (status = 200, description = "The usage: JSON, or CSV with `format=csv`.",
            content(
                (UsageResponse = "application/json"),
                (String = "text/csv", example = "bucket_start,bucket_end,requests,audio_seconds,input_tokens,characters,documents\n2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,12,48.5,0,0,0\n")
            )),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub(crate) async fn usage(
    State(state): State<GatewayState>,
    context: Option<Extension<TenantContext>>,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(context)?;
    let Query(params) = params.map_err(bad_query)?;
    let (bucket, bucket_ms, max_range) = match params.bucket.as_deref().unwrap_or("day") {
        "day" => ("day", DAY_MS, MAX_DAILY_RANGE_MS),
        "hour" => ("hour", HOUR_MS, MAX_HOURLY_RANGE_MS),
        other => {
            return Err(ApiError::bad_request(format!(
                "bucket `{other}` is not one of: day, hour"
            ))
            .with_param("bucket"));
        }
    };
    let (group_by, group_name) = match params.group_by.as_deref().unwrap_or("none") {
        "none" => (GroupBy::None, None),
        "model" => (GroupBy::Model, Some("model")),
        "endpoint" => (GroupBy::Endpoint, Some("endpoint")),
        "key" => (GroupBy::Key, Some("key")),
        "service" => (GroupBy::Service, Some("service")),
        other => {
            return Err(ApiError::bad_request(format!(
                "group_by `{other}` is not one of: model, endpoint, key, service, none"
            ))
            .with_param("group_by"));
        }
    };
    let csv = match params.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format `{other}` is not one of: json, csv"
            ))
            .with_param("format"));
        }
    };
    let end = time_param(params.end.as_deref(), "end")?.unwrap_or_else(now_ms);
    // By default the last 30 days (daily) or 24 hours (hourly), whole
    // buckets.
    let default_span = if bucket == "day" { 30 * DAY_MS } else { DAY_MS };
    let start = time_param(params.start.as_deref(), "start")?
        .unwrap_or_else(|| (end - default_span).div_euclid(bucket_ms) * bucket_ms);
    if end <= start {
        return Err(ApiError::bad_request("`end` must be after `start`").with_param("end"));
    }
    if end - start > max_range {
        return Err(ApiError::bad_request(format!(
            "the range is too long for {bucket} buckets: at most {} days",
            max_range / DAY_MS
        ))
        .with_param("start"));
    }
    let rows = state
        .store
        .usage_summary(&tenant_id, start, end, bucket_ms, group_by)
        .await
        .map_err(store_error)?;
    let mut totals = Units::default();
    for row in &rows {
        add(&mut totals, &row.units);
    }
    let data: Vec<UsageBucket> = rows
        .into_iter()
        .map(|row| UsageBucket {
            start: time::format_rfc3339(row.bucket_ms),
            end: time::format_rfc3339(row.bucket_ms + bucket_ms),
            group: row.group,
            units: row.units.into(),
        })
        .collect();
    if csv {
        return Ok(csv_response(group_name, &data));
    }
    Ok(Json(UsageResponse {
        object: "usage",
        tenant_id,
        start: time::format_rfc3339(start),
        end: time::format_rfc3339(end),
        bucket,
        group_by: group_name,
        totals: totals.into(),
        data,
    })
    .into_response())
}

/// A CSV field: quoted when needed, and a leading `= + - @` defused so a
/// spreadsheet does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_response(group_name: Option<&str>, data: &[UsageBucket]) -> Response {
    let mut out = String::from("bucket_start,bucket_end,");
    if let Some(name) = group_name {
        out.push_str(name);
        out.push(',');
    }
    out.push_str("requests,audio_seconds,input_tokens,characters,documents\n");
    for row in data {
        let u = &row.units;
        let _ = write!(out, "{},{},", row.start, row.end);
        if group_name.is_some() {
            out.push_str(&csv_field(row.group.as_deref().unwrap_or("")));
            out.push(',');
        }
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            u.requests, u.audio_seconds, u.input_tokens, u.characters, u.documents
        );
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"usage.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

/// `GET /v1/usage/events` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Only events at or after this time (RFC 3339 or Unix seconds).
    start: Option<String>,
    /// Only events before this time (RFC 3339 or Unix seconds).
    end: Option<String>,
    /// The previous page's `x-stratus-cursor` (start from the beginning
    /// when omitted).
    #[param(example = "0")]
    cursor: Option<String>,
    /// Events per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, example = 1000)]
    limit: Option<u32>,
}

/// Read your tenant's usage events.
///
/// The metered requests themselves as NDJSON (one `UsageEvent` JSON object
/// per line) in the order they were stored. Page with `cursor` =
/// the previous response's `x-stratus-cursor`, which is also where to
/// resume later to follow new events.
#[utoipa::path(
    get,
    path = "/v1/usage/events",
    tag = "usage",
    operation_id = "listUsageEvents",
    params(EventsParams),
    responses(
        (status = 200, description = "One page of events, one JSON object per line (possibly none).",
            content((super::event::EventView = "application/x-ndjson")),
            headers(
                ("x-stratus-cursor" = String, description = "The `cursor` of the next page."),
                ("x-stratus-has-more" = bool, description = "`true` when this page was full, so more may follow at once."))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub(crate) async fn events(
    State(state): State<GatewayState>,
    context: Option<Extension<TenantContext>>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(context)?;
    let Query(params) = params.map_err(bad_query)?;
    let after_seq = match params.cursor.as_deref() {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|c| *c >= 0)
            .ok_or_else(|| {
                ApiError::bad_request("`cursor` is not one this API returned").with_param("cursor")
            })?,
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("`limit` must be 1 to {MAX_PAGE}")).with_param("limit"),
        );
    }
    let from_ms = time_param(params.start.as_deref(), "start")?.unwrap_or(i64::MIN);
    let to_ms = time_param(params.end.as_deref(), "end")?.unwrap_or(i64::MAX);
    let page = state
        .store
        .usage_events(&EventFilter {
            tenant_id: Some(tenant_id),
            after_seq,
            from_ms,
            to_ms,
            limit,
        })
        .await
        .map_err(store_error)?;
    let mut body = Vec::with_capacity(page.len() * 320);
    for stored in &page {
        if serde_json::to_writer(&mut body, &stored.event.view()).is_ok() {
            body.push(b'\n');
        }
    }
    let next = page.last().map_or(after_seq, |e| e.seq);
    let has_more = page.len() == limit as usize;
    let mut response = ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response();
    let headers = response.headers_mut();
    headers.insert("x-stratus-cursor", HeaderValue::from(next));
    headers.insert(
        "x-stratus-has-more",
        HeaderValue::from_static(if has_more { "true" } else { "false" }),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("whisper-tiny.en"), "whisper-tiny.en");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
