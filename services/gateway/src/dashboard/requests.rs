//! `GET /dashboard/requests` — the request log: the tenant's usage events,
//! newest first (time, endpoint, model, status, latency, units, key,
//! request id), [`PAGE`] at a time. Paged with the usage store's own
//! cursor, the events' commit-ordered `seq`, walked backwards
//! (`?before=SEQ`: the older page after the last row shown), and filtered
//! by status class (`?status=2xx|3xx|4xx|5xx`). Only the session's tenant's
//! events are read: no parameter names a tenant.
//!
//! Who may: `usage:read` (every role), as for `GET /v1/usage/events`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::Session;
use super::layout;
use crate::GatewayState;
use crate::auth::Scope;
use crate::metering::event::Units;
use crate::metering::time::format_rfc3339;
use crate::store::usage::{RecentFilter, StoredEvent};

/// This page.
pub const PATH: &str = "/dashboard/requests";
/// Rows per page.
pub const PAGE: u32 = 50;

const NOT_ALLOWED: &str = "Your role may not read this organisation's usage.";

/// The status filters: (key, label, `[min, max)`).
const CLASSES: [(&str, &str, (u16, u16)); 5] = [
    ("all", "All statuses", (0, 1000)),
    ("2xx", "2xx succeeded", (200, 300)),
    ("3xx", "3xx redirected", (300, 400)),
    ("4xx", "4xx refused", (400, 500)),
    ("5xx", "5xx failed", (500, 600)),
];

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    before: Option<String>,
    status: Option<String>,
}

/// What the query asked for, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub before: Option<i64>,
    /// An index into [`CLASSES`].
    pub class: usize,
}

impl Choice {
    /// The choice of `query`; anything unknown is a message for a 400.
    pub fn of(query: &LogQuery) -> Result<Choice, String> {
        let class = match query.status.as_deref() {
            None | Some("") => 0,
            Some(given) => CLASSES
                .iter()
                .position(|c| c.0 == given)
                .ok_or_else(|| "status must be one of: all, 2xx, 3xx, 4xx, 5xx".to_string())?,
        };
        let before = match query.before.as_deref() {
            None | Some("") => None,
            Some(given) => Some(
                given
                    .parse::<i64>()
                    .ok()
                    .filter(|seq| *seq > 0)
                    .ok_or_else(|| "before must be a cursor this page gave".to_string())?,
            ),
        };
        Ok(Choice { before, class })
    }

    fn link(self, before: Option<i64>) -> String {
        let mut query = Vec::new();
        if self.class != 0 {
            query.push(format!("status={}", CLASSES[self.class].0));
        }
        if let Some(seq) = before {
            query.push(format!("before={seq}"));
        }
        if query.is_empty() {
            PATH.to_string()
        } else {
            format!("{PATH}?{}", query.join("&"))
        }
    }
}

/// A time with seconds: `2026-12-07 19:05:42 UTC`.
fn when(ms: i64) -> String {
    let text = format_rfc3339(ms);
    match (text.get(..10), text.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

/// The units an event reported, in words (`1 request · 1,500 tokens`).
pub fn units_text(u: &Units) -> String {
    let mut parts = Vec::new();
    for (n, one, many) in [
        (u.requests, "request", "requests"),
        (u.input_tokens, "token", "tokens"),
        (u.characters, "character", "characters"),
        (u.documents, "document", "documents"),
    ] {
        if n != 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    if u.audio_ms != 0 {
        parts.push(format!(
            "{} audio s",
            super::chart::number((u.audio_ms as f64 / 100.0).round() / 10.0)
        ));
    }
    if parts.is_empty() {
        "—".to_string()
    } else {
        parts.join(" · ")
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=399 => "status-active",
        _ => "status-revoked",
    }
}

/// The page's body: `events` holds up to one more than [`PAGE`] (the
/// extra one says an older page exists).
pub fn render(events: &[StoredEvent], choice: Choice) -> Markup {
    let more = events.len() > PAGE as usize;
    let shown = &events[..events.len().min(PAGE as usize)];
    let older = more.then(|| shown.last().map(|e| e.seq)).flatten();
    html! {
        form.controls.card method="get" action=(PATH) aria-label="Filter requests" {
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    @for (i, (key, label, _)) in CLASSES.iter().enumerate() {
                        option value=(key) selected[i == choice.class] { (label) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        @if shown.is_empty() {
            p.muted #no-requests {
                @if choice.before.is_some() { "No older requests." } @else { "No requests yet." }
            }
        } @else {
            div.table-wrap {
                table #requests {
                    caption.muted {
                        (shown.len()) " requests, newest first" @if choice.before.is_some() { " (older page)" }
                    }
                    thead {
                        tr {
                            th scope="col" { "Time" }
                            th scope="col" { "Endpoint" }
                            th scope="col" { "Model" }
                            th.num scope="col" { "Status" }
                            th.num scope="col" { "Latency (ms)" }
                            th scope="col" { "Units" }
                            th scope="col" { "Key" }
                            th scope="col" { "Request id" }
                        }
                    }
                    tbody {
                        @for stored in shown {
                            @let e = &stored.event;
                            tr data-seq=(stored.seq) data-status=(e.status)
                                data-request-id=(e.request_id.as_deref().unwrap_or("")) {
                                td { time datetime=(format_rfc3339(e.time_ms)) { (when(e.time_ms)) } }
                                td { code { (e.endpoint) } }
                                td { (e.model.as_deref().unwrap_or("—")) }
                                td.num class=(status_class(e.status)) { (e.status) }
                                td.num { (e.latency_ms) }
                                td { (units_text(&e.units)) }
                                td {
                                    @match &e.key_id {
                                        Some(key) => { code { (key) } }
                                        None => { span.muted { "session" } }
                                    }
                                }
                                td { code { (e.request_id.as_deref().unwrap_or("—")) } }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if choice.before.is_some() {
                a #newer href=(choice.link(None)) { "Newest" }
            }
            @if let Some(seq) = older {
                a #older href=(choice.link(Some(seq))) { "Older" }
            }
        }
    }
}

pub async fn page(
    State(state): State<GatewayState>,
    session: Session,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Response {
    if let Err(refused) = session.require(Scope::UsageRead, NOT_ALLOWED) {
        return refused;
    }
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
    let events = match state
        .store
        .recent_usage_events(&RecentFilter {
            tenant_id: session.tenant_id.clone(),
            before_seq: choice.before,
            status: CLASSES[choice.class].2,
            limit: PAGE + 1,
        })
        .await
    {
        Ok(events) => events,
        Err(e) => return super::unavailable(e),
    };
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Requests",
            PATH,
            &who.viewer(&session),
            &[],
            render(&events, choice),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metering::event::UsageEvent;

    fn event(seq: i64, status: u16) -> StoredEvent {
        StoredEvent {
            seq,
            event: UsageEvent {
                id: uuid::Uuid::now_v7(),
                request_id: Some(format!("req_{seq}")),
                client_request_id: None,
                tenant_id: "t".into(),
                key_id: None,
                user_id: None,
                service: "language".into(),
                endpoint: "/v1/embeddings".into(),
                model: Some("<m>".into()),
                status,
                latency_ms: 7,
                time_ms: 1_795_737_600_000,
                units: Units {
                    requests: 1,
                    input_tokens: 1500,
                    ..Units::default()
                },
            },
        }
    }

    #[test]
    fn queries_are_checked() {
        let q = |before: &str, status: &str| LogQuery {
            before: Some(before.into()),
            status: Some(status.into()),
        };
        assert_eq!(
            Choice::of(&q("42", "4xx")),
            Ok(Choice {
                before: Some(42),
                class: 3
            })
        );
        assert!(Choice::of(&q("x", "")).is_err());
        assert!(Choice::of(&q("-1", "")).is_err());
        assert!(Choice::of(&q("", "<b>")).unwrap_err().contains("status"));
    }

    #[test]
    fn a_full_page_links_to_the_older_one_keeping_the_filter() {
        let events: Vec<StoredEvent> = (0..=i64::from(PAGE))
            .map(|i| event(1000 - i, 200))
            .collect();
        let choice = Choice {
            before: None,
            class: 1,
        };
        let html = render(&events, choice).into_string();
        assert_eq!(html.matches("<tr data-seq=").count(), PAGE as usize);
        let last = 1000 - i64::from(PAGE) + 1;
        assert!(
            html.contains(&format!(
                r#"href="/dashboard/requests?status=2xx&amp;before={last}""#
            )),
            "{html}"
        );
        assert!(
            html.contains("&lt;m&gt;") && !html.contains("<m>"),
            "{html}"
        );
        assert!(html.contains("1 request · 1500 tokens"), "{html}");
        let html = render(
            &events[..3],
            Choice {
                before: Some(5),
                class: 0,
            },
        )
        .into_string();
        assert!(
            !html.contains("id=\"older\"") && html.contains("id=\"newer\""),
            "{html}"
        );
        let none = render(&[], choice).into_string();
        assert!(none.contains("No requests yet."), "{none}");
    }
}
