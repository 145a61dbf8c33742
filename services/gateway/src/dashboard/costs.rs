//! `GET /dashboard/costs` — this month's spend over time by model: one
//! bar per UTC day of the month, stacked by model, then each model's total
//! and a day × model table. The amounts are [`Billing::breakdown`]'s: the
//! tenant's events priced with its plan by the same walk as its draft
//! invoice, so the month's total here is the invoice's subtotal. Models
//! that cost nothing this month get no layer; a month with no spend says
//! so in one line. Money at cents, the exact amount in each `<data>`.
//!
//! Who may: `billing:read` (every role), as for the invoices.
//!
//! [`Billing::breakdown`]: crate::billing::Billing::breakdown

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use stratus_kit::ApiError;

use super::Session;
use super::chart::{self, Layer, Stacked};
use super::layout;
use crate::GatewayState;
use crate::auth::Scope;
use crate::billing::breakdown::Breakdown;
use crate::billing::{Month, Nanos};
use crate::metering::event::now_ms;
use crate::metering::time::format_rfc3339;

/// This page.
pub const PATH: &str = "/dashboard/costs";

const DAY_MS: i64 = 86_400_000;
const NOT_ALLOWED: &str = "Your role may not read this organisation's spend.";
const NOT_ENABLED: &str = "Billing is not enabled on this gateway: requests are not priced.";

/// The model as people read it (`*`: events that named none).
fn model_label(model: &str) -> &str {
    if model == "*" { "any model" } else { model }
}

/// The month's days as chart buckets, and one layer per model that cost
/// something (ordered by name, as the invoice lists them).
pub fn layers(breakdown: &Breakdown, month: Month) -> (Vec<(String, String)>, Vec<Layer>) {
    let start = month.start_ms();
    let days = usize::try_from((month.end_ms() - start) / DAY_MS).unwrap_or(0);
    let buckets = (0..days)
        .map(|d| {
            let at = format_rfc3339(start + d as i64 * DAY_MS);
            (at.get(..10).unwrap_or(&at).to_owned(), at)
        })
        .collect();
    let layers = breakdown
        .by_model()
        .into_keys()
        .map(|model| Layer {
            name: model_label(model).to_owned(),
            values: (0..days)
                .map(|d| {
                    let day = start + d as i64 * DAY_MS;
                    breakdown
                        .by_day_model
                        .get(&(day, model.to_owned()))
                        .copied()
                        .unwrap_or(Nanos::ZERO)
                })
                .collect(),
        })
        .collect();
    (buckets, layers)
}

/// The page's body: `None` when billing is off.
pub fn render(costs: Option<(&Breakdown, Month, &str)>) -> Markup {
    let Some((breakdown, month, cur)) = costs else {
        return html! { p.muted { (NOT_ENABLED) } };
    };
    let (buckets, layers) = layers(breakdown, month);
    html! {
        p.muted {
            "Spend in " time datetime=(month) { (month) } " (UTC days), priced with your plan "
            "as this month's invoice is; amounts at cents (the invoice CSV has them exactly)."
        }
        dl.totals {
            div { dt { "Spent this month" } dd #costs-total { (layout::money(breakdown.total, cur)) } }
        }
        @if layers.is_empty() {
            p.muted #no-costs { "No spend in " (month) " yet." }
        } @else {
            figure.chart.wide {
                figcaption { h2 { "Spend per day by model" } }
                (chart::stacked_chart(&Stacked {
                    id: "cost-chart",
                    title: "Spend per day by model",
                    currency: cur,
                    buckets: &buckets,
                    layers: &layers,
                }))
                ul.legend aria-label="Models" {
                    @for (i, layer) in layers.iter().enumerate() {
                        li data-model=(layer.name) {
                            svg.swatch viewBox="0 0 10 10" aria-hidden="true" {
                                rect width="10" height="10" fill=(chart::color(i)) {}
                            }
                            span.model { (layer.name) } " "
                            span.amount { (layout::money(layer.total(), cur)) }
                        }
                    }
                }
            }
            details {
                summary { "Data table" }
                div.table-wrap {
                    table #costs-table {
                        caption { "Spend per day and model (" (cur) ")" }
                        thead {
                            tr {
                                th scope="col" { "Day" }
                                @for layer in &layers { th.num scope="col" { (layer.name) } }
                            }
                        }
                        tbody {
                            @for (d, (label, _)) in buckets.iter().enumerate() {
                                @if layers.iter().any(|l| l.values.get(d).is_some_and(|v| v.0 != 0)) {
                                    tr {
                                        th scope="row" { (label) }
                                        @for layer in &layers {
                                            td.num { (layout::money(layer.values.get(d).copied().unwrap_or(Nanos::ZERO), cur)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(State(state): State<GatewayState>, session: Session) -> Response {
    if let Err(refused) = session.require(Scope::BillingRead, NOT_ALLOWED) {
        return refused;
    }
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let month = Month::of_ms(now_ms());
    let breakdown = match state.billing.as_ref() {
        None => None,
        Some(billing) => match billing.breakdown(&session.tenant_id, month).await {
            Ok(b) => Some((b, billing.catalog().currency.clone())),
            Err(e) => return super::refused(ApiError::from(e)),
        },
    };
    let body = render(breakdown.as_ref().map(|(b, cur)| (b, month, cur.as_str())));
    layout::html_response(
        axum::http::StatusCode::OK,
        layout::page("Costs", PATH, &who.viewer(&session), &[], body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_without_spend_get_no_layer_and_an_empty_month_one_line() {
        let month = Month::parse("2026-12").unwrap();
        let day = month.start_ms() + 2 * DAY_MS;
        let mut b = Breakdown::default();
        b.by_day_model
            .insert((day, "whisper".into()), Nanos(1_234_000_000));
        b.by_day_model.insert((day, "*".into()), Nanos(6_000_000));
        b.total = Nanos(1_240_000_000);
        let html = render(Some((&b, month, "USD"))).into_string();
        assert_eq!(html.matches(r#"<li data-model="#).count(), 2, "{html}");
        assert!(html.contains(r#"data-model="any model""#), "{html}");
        assert!(html.contains(r#"data-total="1.24""#), "{html}");
        assert!(html.contains(">1.23 USD</data>"), "{html}");
        // Only the day with spend is a row; a 31-day month is 31 buckets.
        assert_eq!(html.matches(r#"<th scope="row">"#).count(), 1, "{html}");
        let (buckets, _) = layers(&b, month);
        assert_eq!(buckets.len(), 31);

        let empty = render(Some((&Breakdown::default(), month, "USD"))).into_string();
        assert!(!empty.contains("<svg"), "{empty}");
        assert_eq!(empty.matches("No spend in 2026-12 yet.").count(), 1);
        assert!(render(None).into_string().contains("not enabled"));
    }
}
