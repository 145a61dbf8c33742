//! `GET /dashboard` — the tenant's usage over time: totals for the range,
//! then one bar chart per service or model (with its numbers in a table),
//! for a range, grouping and metric chosen in a form (plain GET, no script).
//! The sums are the store's (`Store::usage_summary`, the same buckets as
//! `GET /v1/usage`); buckets without usage are drawn as zero. With billing
//! on, this month's spend vs budget ([`super::spend`]) sits above the
//! charts and a reached limit raises a banner.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::chart::{self, Point, Series};
use super::layout;
use super::spend::{self, Spend};
use super::{ROOT, Session};
use crate::GatewayState;
use crate::metering::event::{Units, now_ms};
use crate::metering::time::format_rfc3339;
use crate::store::usage::{GroupBy, SummaryRow};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The ranges one may pick: (key, label, bucket size, bucket count).
const RANGES: [(&str, &str, i64, i64); 4] = [
    ("24h", "Last 24 hours (hourly)", HOUR_MS, 24),
    ("7d", "Last 7 days (daily)", DAY_MS, 7),
    ("30d", "Last 30 days (daily)", DAY_MS, 30),
    ("90d", "Last 90 days (daily)", DAY_MS, 90),
];
const GROUPS: [(&str, &str); 2] = [("service", "Service"), ("model", "Model")];
/// (key, label, unit).
const METRICS: [(&str, &str, &str); 5] = [
    ("requests", "Requests", "requests"),
    ("audio_seconds", "Audio seconds", "audio seconds"),
    ("input_tokens", "Input tokens", "input tokens"),
    ("characters", "Characters", "characters"),
    ("documents", "Documents", "documents"),
];

#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    range: Option<String>,
    group: Option<String>,
    metric: Option<String>,
}

/// What the form chose, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub range: usize,
    pub group: usize,
    pub metric: usize,
}

fn pick<T>(
    options: &[T],
    key: impl Fn(&T) -> &str,
    given: Option<&str>,
    default: usize,
    what: &str,
) -> Result<usize, String> {
    match given {
        None | Some("") => Ok(default),
        Some(value) => options.iter().position(|o| key(o) == value).ok_or_else(|| {
            let known: Vec<&str> = options.iter().map(&key).collect();
            format!("{what} `{value}` is not one of: {}", known.join(", "))
        }),
    }
}

impl Choice {
    /// The choice of `query`; an unknown value is a message for a 400.
    pub fn of(query: &UsageQuery) -> Result<Self, String> {
        Ok(Self {
            range: pick(&RANGES, |r| r.0, query.range.as_deref(), 1, "range")?,
            group: pick(&GROUPS, |g| g.0, query.group.as_deref(), 0, "group")?,
            metric: pick(&METRICS, |m| m.0, query.metric.as_deref(), 0, "metric")?,
        })
    }

    fn group_by(self) -> GroupBy {
        if GROUPS[self.group].0 == "model" {
            GroupBy::Model
        } else {
            GroupBy::Service
        }
    }

    /// `(start, end, bucket)` in Unix milliseconds: whole buckets, the last
    /// one holding `now`.
    pub fn window(self, now: i64) -> (i64, i64, i64) {
        let (_, _, bucket, count) = RANGES[self.range];
        let end = (now.div_euclid(bucket) + 1) * bucket;
        (end - count * bucket, end, bucket)
    }
}

/// The value of metric `metric` (an index into `METRICS`) in `units`.
fn value(metric: usize, units: &Units) -> f64 {
    match METRICS[metric].0 {
        "audio_seconds" => units.audio_ms as f64 / 1000.0,
        "input_tokens" => units.input_tokens as f64,
        "characters" => units.characters as f64,
        "documents" => units.documents as f64,
        _ => units.requests as f64,
    }
}

/// A bucket's label: the hour for hourly ranges, the day otherwise.
fn bucket_label(bucket_ms: i64, bucket: i64) -> String {
    let text = format_rfc3339(bucket_ms);
    let label = if bucket < DAY_MS {
        text.get(..16).map(|t| t.replace('T', " "))
    } else {
        text.get(..10).map(str::to_owned)
    };
    label.unwrap_or(text)
}

/// One series per group, with a point for every bucket of the window.
pub fn series(
    rows: &[SummaryRow],
    choice: Choice,
    (start, end, bucket): (i64, i64, i64),
) -> BTreeMap<String, Vec<Point>> {
    let count = usize::try_from((end - start) / bucket).unwrap_or(0);
    let empty: Vec<Point> = (0..count)
        .map(|i| {
            let at = start + i as i64 * bucket;
            Point {
                label: bucket_label(at, bucket),
                bucket: format_rfc3339(at),
                value: 0.0,
            }
        })
        .collect();
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for row in rows {
        let Ok(i) = usize::try_from((row.bucket_ms - start) / bucket) else {
            continue;
        };
        let name = row.group.clone().unwrap_or_else(|| "(none)".to_string());
        let points = out.entry(name).or_insert_with(|| empty.clone());
        if let Some(point) = points.get_mut(i) {
            point.value += value(choice.metric, &row.units);
        }
    }
    out
}

fn add(total: &mut Units, u: &Units) {
    total.requests += u.requests;
    total.audio_ms += u.audio_ms;
    total.input_tokens += u.input_tokens;
    total.characters += u.characters;
    total.documents += u.documents;
}

pub async fn page(
    State(state): State<GatewayState>,
    session: Session,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Response {
    let choice = match query
        .map_err(|e| e.body_text())
        .and_then(|Query(q)| Choice::of(&q))
    {
        Ok(choice) => choice,
        Err(message) => return layout::error_page(StatusCode::BAD_REQUEST, &message),
    };
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let window = choice.window(now_ms());
    let rows = match state
        .store
        .usage_summary(
            &session.tenant_id,
            window.0,
            window.1,
            window.2,
            choice.group_by(),
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) => return super::unavailable(e),
    };
    let spend = spend::load(&state, &session).await;
    let body = render(&rows, choice, window, &spend);
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Usage",
            ROOT,
            &who.viewer(&session),
            &spend::banners(&spend),
            body,
        ),
    )
}

/// The page's body for `rows` (already summed per bucket and group) and
/// this month's `spend`.
pub fn render(
    rows: &[SummaryRow],
    choice: Choice,
    window: (i64, i64, i64),
    spend: &Spend,
) -> Markup {
    let mut totals = Units::default();
    for row in rows {
        add(&mut totals, &row.units);
    }
    // A group with none of the chosen metric in the range (a language
    // model's audio seconds) gets no chart: an empty chart says nothing.
    let series: BTreeMap<String, Vec<Point>> = series(rows, choice, window)
        .into_iter()
        .filter(|(_, points)| points.iter().any(|p| p.value != 0.0))
        .collect();
    let (_, metric_label, unit) = METRICS[choice.metric];
    let group_label = GROUPS[choice.group].1.to_lowercase();
    html! {
        form.controls.card method="get" action=(ROOT) aria-label="Usage range" {
            div {
                label for="range" { "Range" }
                select #range name="range" {
                    @for (i, (key, label, _, _)) in RANGES.iter().enumerate() {
                        option value=(key) selected[i == choice.range] { (label) }
                    }
                }
            }
            div {
                label for="group" { "Per" }
                select #group name="group" {
                    @for (i, (key, label)) in GROUPS.iter().enumerate() {
                        option value=(key) selected[i == choice.group] { (label) }
                    }
                }
            }
            div {
                label for="metric" { "Show" }
                select #metric name="metric" {
                    @for (i, (key, label, _)) in METRICS.iter().enumerate() {
                        option value=(key) selected[i == choice.metric] { (label) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        h2 { "Totals" }
        dl.totals {
            div { dt { "Requests" } dd #total-requests { (totals.requests) } }
            div { dt { "Audio seconds" } dd { (chart::number((totals.audio_ms as f64 / 100.0).round() / 10.0)) } }
            div { dt { "Input tokens" } dd { (totals.input_tokens) } }
            div { dt { "Characters" } dd { (totals.characters) } }
            div { dt { "Documents" } dd { (totals.documents) } }
        }
        // The month's spend, whatever range is picked: budgets are monthly.
        (spend::render(spend))
        h2 { (metric_label) " per " (group_label) }
        @if rows.is_empty() {
            p.muted #no-usage { "No usage in this range yet." }
        } @else if series.is_empty() {
            p.muted #no-usage { "No " (unit) " in this range." }
        } @else {
            div.charts {
                @for (i, (name, points)) in series.iter().enumerate() {
                    @let id = format!("chart-{i}");
                    figure.chart {
                        figcaption {
                            h3 { (name) }
                            span.muted { (chart::number(chart::total(points))) " " (unit) }
                        }
                        (chart::bar_chart(&Series { id: &id, name, unit, metric: METRICS[choice.metric].0, points }))
                        details {
                            summary { "Data table" }
                            div.table-wrap {
                                table {
                                    caption { (metric_label) " of " (name) }
                                    thead { tr { th scope="col" { "Period" } th.num scope="col" { (metric_label) } } }
                                    tbody {
                                        @for point in points.iter().filter(|p| p.value != 0.0) {
                                            tr { td { (point.label) } td.num { (chart::number(point.value)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted {
            "Times are UTC. The same numbers as CSV: "
            a href=(csv_link(choice, window)) { "download usage.csv" }
            "."
        }
    }
}

/// The usage API's CSV answer for the same window and grouping (the
/// session cookie authenticates it).
fn csv_link(choice: Choice, (start, end, bucket): (i64, i64, i64)) -> String {
    format!(
        "/v1/usage?format=csv&group_by={}&bucket={}&start={}&end={}",
        GROUPS[choice.group].0,
        if bucket < DAY_MS { "hour" } else { "day" },
        format_rfc3339(start),
        format_rfc3339(end)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket_ms: i64, group: &str, requests: i64) -> SummaryRow {
        SummaryRow {
            bucket_ms,
            group: Some(group.into()),
            units: Units {
                requests,
                audio_ms: 1500 * requests,
                ..Units::default()
            },
        }
    }

    #[test]
    fn choices_are_checked() {
        let q = |range: &str| UsageQuery {
            range: Some(range.into()),
            group: None,
            metric: None,
        };
        assert_eq!(Choice::of(&q("24h")).unwrap().range, 0);
        let err = Choice::of(&q("<b>1y</b>")).unwrap_err();
        assert!(
            err.contains("range `<b>1y</b>` is not one of: 24h, 7d, 30d, 90d"),
            "{err}"
        );
    }

    #[test]
    fn every_bucket_is_drawn_and_rows_land_in_theirs() {
        let choice = Choice {
            range: 1,
            group: 0,
            metric: 1,
        };
        let now = 1_795_737_600_000 + 5 * HOUR_MS;
        let window = choice.window(now);
        assert_eq!(window.1 - window.0, 7 * DAY_MS);
        assert!(window.0 <= now && now < window.1);
        let rows = [
            row(window.1 - DAY_MS, "language", 2),
            row(window.0, "speech", 1),
        ];
        let series = series(&rows, choice, window);
        assert_eq!(series["language"].len(), 7);
        assert_eq!(series["language"][6].value, 3.0);
        assert_eq!(series["speech"][0].value, 1.5);
        assert_eq!(chart::total(&series["speech"]), 1.5);
        let html = render(&rows, choice, window, &Spend::Hidden).into_string();
        assert!(html.contains(r#"data-series="language""#), "{html}");
        assert!(html.contains(r#"<dd id="total-requests">3</dd>"#), "{html}");
    }

    #[test]
    fn groups_without_the_metric_get_no_chart() {
        let window = Choice {
            range: 1,
            group: 1,
            metric: 0,
        }
        .window(1_795_737_600_000);
        let mut rows = vec![row(window.0, "whisper", 1)];
        // Documents: neither group has any.
        rows.push(SummaryRow {
            bucket_ms: window.0,
            group: Some("minilm".into()),
            units: Units {
                requests: 2,
                input_tokens: 40,
                ..Units::default()
            },
        });
        let per = |metric| Choice {
            range: 1,
            group: 1,
            metric,
        };
        // Audio seconds: only the speech model has a chart.
        let html = render(&rows, per(1), window, &Spend::Hidden).into_string();
        assert!(html.contains(r#"data-series="whisper""#), "{html}");
        assert!(!html.contains(r#"data-series="minilm""#), "{html}");
        let html = render(&rows, per(4), window, &Spend::Hidden).into_string();
        assert!(!html.contains("<svg"), "{html}");
        assert_eq!(
            html.matches("No documents in this range.").count(),
            1,
            "{html}"
        );
        let html = render(&[], per(0), window, &Spend::Hidden).into_string();
        assert!(html.contains("No usage in this range yet."), "{html}");
        assert!(!html.contains("<svg"), "{html}");
    }
}
