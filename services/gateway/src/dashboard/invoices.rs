//! The tenant's invoices:
//! - `GET /dashboard/invoices` — every month since the first usage, newest
//!   first: month, status (the current month open, a draft; finished
//!   months closed), total, and line items per model and unit (quantity,
//!   unit price, amount), each with a CSV download link.
//! - `GET /dashboard/invoices/{id}/csv` — one invoice as a CSV attachment,
//!   the same bytes as `GET /v1/billing/invoices/{id}?format=csv`.
//!
//! Who may: the `billing:read` scope, as for `/v1/billing/invoices`. Every
//! role carries it (viewers read usage and bills), so any signed-in user
//! of the tenant sees its invoices; a credential without it (an API key
//! without `billing:read`) gets a 403 page. The invoices are
//! [`Billing::invoices`] / [`Billing::invoice_by_id`], read in-process,
//! and the CSV is the billing module's writer. Amounts and totals show at
//! cents (the exact amount in each `<data>`'s `value` and in the CSV);
//! unit prices, often fractions of a cent, show exactly.
//!
//! [`Billing::invoices`]: crate::billing::Billing::invoices
//! [`Billing::invoice_by_id`]: crate::billing::Billing::invoice_by_id

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use stratus_kit::ApiError;

use super::Session;
use super::layout;
use crate::GatewayState;
use crate::auth::Scope;
use crate::billing::Month;
use crate::billing::api::{MAX_INVOICES, csv_response};
use crate::billing::invoice::{Invoice, Line};
use crate::metering::event::now_ms;

/// This page.
pub const PATH: &str = "/dashboard/invoices";

/// The refusal of a role without `billing:read` (none has it today; the
/// check keeps the page in step with the role-to-scope map).
const NOT_ALLOWED: &str = "Your role may not read this organisation's invoices.";
const NOT_ENABLED: &str = "Billing is not enabled on this gateway: there are no invoices.";

/// Where invoice `id`'s CSV downloads from.
pub fn csv_path(id: &str) -> String {
    format!("{PATH}/{id}/csv")
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-05` as `May 2026` (as given when it is not a month).
fn month_label(month: &str) -> String {
    Month::parse(month)
        .and_then(|m| {
            let name = MONTH_NAMES.get(usize::try_from(m.month).ok()?.checked_sub(1)?)?;
            Some(format!("{name} {}", m.year))
        })
        .unwrap_or_else(|| month.to_owned())
}

/// The unit a line's quantity counts, for people (the API's name stays in
/// the row's `data-unit`).
fn unit_label(unit: &str) -> &str {
    match unit {
        "audio_second" => "audio seconds",
        "1k_tokens" => "1,000 tokens",
        "1k_characters" => "1,000 characters",
        "request" => "requests",
        "document" => "documents",
        other => other,
    }
}

/// (label, CSS class) of an invoice status: a draft is still open.
fn status_label(status: &str) -> (&'static str, &'static str) {
    match status {
        "closed" => ("Closed", "status-closed"),
        _ => ("Open (draft)", "status-open"),
    }
}

/// The page's body: `None` when billing is off.
pub fn render(invoices: Option<&[Invoice]>) -> Markup {
    html! {
        @match invoices {
            None => { p.muted { (NOT_ENABLED) } }
            Some(list) => {
                p.muted {
                    "One invoice per calendar month (UTC). The current month stays open, "
                    "recomputed from usage as it arrives; once a month is over its invoice "
                    "is closed and never changes."
                }
                @for invoice in list { (one(invoice)) }
            }
        }
    }
}

fn one(invoice: &Invoice) -> Markup {
    let heading = format!("{}-heading", invoice.id);
    let (status, class) = status_label(invoice.status);
    let cur = invoice.currency.as_str();
    html! {
        section.card.invoice data-invoice-id=(invoice.id) data-status=(invoice.status)
            aria-labelledby=(heading) {
            div.invoice-head {
                h2 #(heading) {
                    time datetime=(invoice.month) { (month_label(&invoice.month)) }
                    " " span.(class) { (status) }
                }
                a.button.csv href=(csv_path(&invoice.id)) download=(format!("{}.csv", invoice.id)) {
                    "Download CSV"
                    span.visually-hidden { " of " (month_label(&invoice.month)) }
                }
            }
            p.muted {
                "Invoice " code { (invoice.id) } " · plan " (invoice.plan)
                @if let Some(closed) = invoice.closed_at.as_deref() {
                    " · closed " (closed.get(..10).unwrap_or(closed))
                }
            }
            @if invoice.lines.is_empty() {
                p.muted { "No billable usage." }
            } @else {
                div.table-wrap {
                    table.lines {
                        caption.visually-hidden { "Line items of " (month_label(&invoice.month)) }
                        thead {
                            tr {
                                th scope="col" { "Model" }
                                th scope="col" { "Unit" }
                                th.num scope="col" { "Quantity" }
                                th.num scope="col" { "Unit price (" (cur) ")" }
                                th.num scope="col" { "Amount (" (cur) ")" }
                            }
                        }
                        tbody {
                            @for line in &invoice.lines { (row(line)) }
                        }
                    }
                }
            }
            p.invoice-total {
                "Total " strong.total { (layout::money(invoice.subtotal, cur)) }
            }
        }
    }
}

fn row(line: &Line) -> Markup {
    html! {
        tr.line data-unit=(line.unit) {
            td.model { @if line.model == "*" { span.muted { "any model" } } @else { (line.model) } }
            td { (unit_label(&line.unit)) }
            td.num.quantity { (line.quantity) }
            // A unit price is often a fraction of a cent: exact. The
            // amount is money owed: at cents, exact in its `value`.
            td.num.unit-price { (line.unit_price) }
            td.num.amount { data value=(line.amount) title=(format!("{} exactly", line.amount)) { (line.amount.cents()) } }
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
    let invoices = match state.billing.as_ref() {
        None => None,
        Some(billing) => match billing
            .invoices(&session.tenant_id, now_ms(), MAX_INVOICES)
            .await
        {
            Ok(mut list) => {
                // Lines that cost nothing change no total; the API lists
                // them on request (`include_zero_lines`).
                list.iter_mut().for_each(Invoice::hide_zero_lines);
                Some(list)
            }
            Err(e) => return super::refused(ApiError::from(e)),
        },
    };
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Invoices",
            PATH,
            &who.viewer(&session),
            &[],
            render(invoices.as_deref()),
        ),
    )
}

/// `GET /dashboard/invoices/{id}/csv`: another tenant's id, a future month
/// or nonsense is a 404 page, as in the API.
pub async fn csv(
    State(state): State<GatewayState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = session.require(Scope::BillingRead, NOT_ALLOWED) {
        return refused;
    }
    // A user removed since the session began is signed out, as on pages.
    if let Err(response) = super::who(&state, &session).await {
        return response;
    }
    let Some(billing) = state.billing.as_ref() else {
        return layout::error_page(StatusCode::NOT_FOUND, NOT_ENABLED);
    };
    match billing
        .invoice_by_id(&session.tenant_id, &id, now_ms())
        .await
    {
        Ok(mut invoice) => {
            // The API's CSV by default: lines that cost nothing hidden.
            invoice.hide_zero_lines();
            layout::secure(csv_response(std::slice::from_ref(&invoice), &invoice.id))
        }
        Err(e) => super::refused(ApiError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::Nanos;
    use crate::billing::invoice::draft;

    #[test]
    fn an_invoice_shows_its_lines_and_total_escaped() {
        let month = Month::parse("2026-05").unwrap();
        let line = Line {
            model: "<b>m</b>".into(),
            unit: "1k_tokens".into(),
            quantity: "0.012".into(),
            unit_price: Nanos(1_000_000_000),
            amount: Nanos(12_000_000),
            amount_nanos: 12_000_000,
        };
        let invoice = draft(
            "acme",
            month,
            "USD",
            "standard",
            vec![line],
            Nanos(12_000_000),
        );
        let html = render(Some(std::slice::from_ref(&invoice))).into_string();
        assert!(html.contains(">May 2026</time>"), "{html}");
        assert!(html.contains("Open (draft)"), "{html}");
        assert!(
            html.contains("&lt;b&gt;m&lt;/b&gt;") && !html.contains("<b>m"),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<td class="num unit-price">1.00</td><td class="num amount"><data value="0.012" title="0.012 exactly">0.01</data></td>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<strong class="total"><data class="money" value="0.012" title="0.012 USD exactly">0.01 USD</data></strong>"#
            ),
            "{html}"
        );
        assert!(html.contains(&format!(r#"href="/dashboard/invoices/{}/csv""#, invoice.id)));
        assert_eq!(month_label("2026-13"), "2026-13");
        assert!(render(None).into_string().contains("not enabled"));
    }
}
