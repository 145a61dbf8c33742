//! `GET /dashboard/operator` — the operators' view across tenants, for the
//! owners of the `system` tenant only (the tenant whose keys hold `admin`;
//! see `crate::tenants`): per tenant, this month's usage (requests, audio,
//! tokens), spend, plan and budget (soft and hard limits, the share of the
//! measured one used) and its rate and concurrency limits.
//!
//! Who may: a session of an owner of the system tenant. No role carries
//! the `admin` scope (a session never operates the deployment through the
//! API), so the route needs only a session and this handler refuses
//! everyone else with a 403 page; the navigation shows the link to
//! operators only. The numbers are the ones the admin API answers: usage
//! summed by the store, the spend and budget of [`Billing::budget`] (what
//! the hard limit is enforced against) and the stored limits rows.
//!
//! [`Billing::budget`]: crate::billing::Billing::budget

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::Session;
use super::layout;
use super::spend::{percent_text, permille};
use crate::GatewayState;
use crate::billing::Month;
use crate::billing::api::BudgetView;
use crate::metering::event::{Units, now_ms};
use crate::store::identity::TenantRow;
use crate::store::limits::{LimitRow, LimitScope};

/// This page.
pub const PATH: &str = "/dashboard/operator";

const NOT_ALLOWED: &str = "Only owners of the system organisation see the operator view.";

/// One tenant's row.
#[derive(Debug, Clone)]
pub struct TenantLine {
    pub tenant: TenantRow,
    pub usage: Units,
    /// `None`: billing is off.
    pub budget: Option<BudgetView>,
    /// `None`: the server's defaults.
    pub limits: Option<LimitRow>,
}

fn limit(value: Option<i64>, unit: &str) -> String {
    value.map_or_else(|| format!("default {unit}"), |v| format!("{v} {unit}"))
}

fn limits_text(row: Option<&LimitRow>) -> String {
    match row {
        None => "server defaults".to_string(),
        Some(r) => [
            limit(r.requests_per_minute, "req/min"),
            limit(r.tokens_per_minute, "tokens/min"),
            limit(r.audio_seconds_per_minute, "audio s/min"),
            limit(r.concurrent_requests, "concurrent"),
        ]
        .join(" · "),
    }
}

/// The page's body.
pub fn render(lines: &[TenantLine], month: Month) -> Markup {
    html! {
        p.muted {
            "Every organisation's usage and spend in " time datetime=(month) { (month) }
            " (UTC), with its budget and limits. Change them with the admin API "
            code { "/v1/admin/tenants/{id}/budget" } " and " code { "…/limits" } "."
        }
        div.table-wrap {
            table #tenants {
                caption.muted { (lines.len()) " organisations" }
                thead {
                    tr {
                        th scope="col" { "Organisation" }
                        th.num scope="col" { "Requests" }
                        th.num scope="col" { "Audio (s)" }
                        th.num scope="col" { "Tokens" }
                        th.num scope="col" { "Spent" }
                        th scope="col" { "Plan" }
                        th scope="col" { "Budget (soft / hard)" }
                        th scope="col" { "Limits" }
                    }
                }
                tbody {
                    @for line in lines {
                        tr data-tenant-id=(line.tenant.id) data-tenant=(line.tenant.name) {
                            th scope="row" { (line.tenant.name) br; code.muted { (line.tenant.id) } }
                            td.num.requests { (line.usage.requests) }
                            td.num { (super::chart::number((line.usage.audio_ms as f64 / 100.0).round() / 10.0)) }
                            td.num { (line.usage.input_tokens) }
                            @match &line.budget {
                                None => {
                                    td.num.spent { span.muted { "—" } }
                                    td { span.muted { "billing off" } }
                                    td { span.muted { "—" } }
                                }
                                Some(b) => {
                                    td.num.spent { (layout::money(b.spent, &b.currency)) }
                                    td { (b.plan) }
                                    td.budget { (budget_text(b)) }
                                }
                            }
                            td.limits { (limits_text(line.limits.as_ref())) }
                        }
                    }
                }
            }
        }
    }
}

fn budget_text(b: &BudgetView) -> Markup {
    let measured = b.hard_limit.or(b.soft_limit);
    html! {
        @match (b.soft_limit, b.hard_limit) {
            (None, None) => { span.muted { "none" } }
            (soft, hard) => {
                @match soft { Some(s) => (layout::money(s, &b.currency)), None => "—" }
                " / "
                @match hard { Some(h) => (layout::money(h, &b.currency)), None => "—" }
                @if let Some(limit) = measured {
                    " · " strong { (percent_text(permille(b.spent, limit))) } " used"
                }
            }
        }
    }
}

pub async fn page(State(state): State<GatewayState>, session: Session) -> Response {
    if !session.is_operator() {
        return layout::error_page(StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let month = Month::of_ms(now_ms());
    let store = state.auth.store();
    let tenants = match store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return super::unavailable(e),
    };
    let usage = match state
        .store
        .usage_by_tenant(month.start_ms(), month.end_ms())
        .await
    {
        Ok(u) => u,
        Err(e) => return super::unavailable(e),
    };
    let mut lines = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let budget = match state.billing.as_ref() {
            None => None,
            Some(billing) => match billing.budget(&tenant.id).await {
                Ok(view) => Some(view),
                Err(e) => return super::unavailable(e),
            },
        };
        let limits = match store.limits_of(LimitScope::Tenant, &tenant.id).await {
            Ok(row) => row,
            Err(e) => return super::unavailable(e),
        };
        let units = usage
            .iter()
            .find(|(id, _)| *id == tenant.id)
            .map(|(_, u)| *u)
            .unwrap_or_default();
        lines.push(TenantLine {
            tenant,
            usage: units,
            budget,
            limits,
        });
    }
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Operator",
            PATH,
            &who.viewer(&session),
            &[],
            render(&lines, month),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_listed_escaped_with_their_limits() {
        let line = TenantLine {
            tenant: TenantRow {
                id: "ten_1".into(),
                name: "<i>acme</i>".into(),
                created_at: 0,
            },
            usage: Units {
                requests: 3,
                ..Units::default()
            },
            budget: None,
            limits: Some(LimitRow {
                scope: "tenant".into(),
                subject_id: "ten_1".into(),
                tenant_id: "ten_1".into(),
                requests_per_minute: Some(60),
                tokens_per_minute: None,
                audio_seconds_per_minute: None,
                concurrent_requests: Some(4),
                updated_at: 0,
            }),
        };
        let html = render(&[line], Month::parse("2026-12").unwrap()).into_string();
        assert!(
            html.contains("&lt;i&gt;acme") && !html.contains("<i>acme"),
            "{html}"
        );
        assert!(html.contains("60 req/min · default tokens/min"), "{html}");
        assert!(html.contains("billing off"), "{html}");
        assert!(
            html.contains(r#"<td class="num requests">3</td>"#),
            "{html}"
        );
    }
}
