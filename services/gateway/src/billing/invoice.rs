//! Monthly invoices: line items (model × unit × quantity × unit price)
//! computed from the month's usage events priced with the tenant's plan,
//! and their CSV form.
//!
//! The current month (and the one before, until [`CLOSE_GRACE_MS`] past
//! its end, while late events still arrive) is a running *draft*,
//! recomputed on every read. After that the month is *closed*: computed
//! once, stored, and from then on read back unchanged — a later price or
//! plan change does not touch it. Closing happens on the first read or by
//! the periodic closer ([`super::Billing::close_finished_months`]),
//! whichever comes first; two replicas closing at once keep the first
//! stored copy.
//!
//! Totals are exact: each line's amount is its base quantity times the
//! price per base unit, both integers (see [`super::money`]), so the
//! subtotal equals the sum of every event's cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::{Charge, Plan, PriceUnit};
use super::money::{Nanos, decimal};
use super::month::Month;
use crate::metering::time::format_rfc3339;
use crate::store::usage::{EventFilter, StoredEvent};
use crate::store::{Store, StoreError};

/// How long after a month ends its invoice stays a draft: events of
/// requests that started in the month are stored up to a request timeout
/// (plus the writer's flush) later.
pub const CLOSE_GRACE_MS: i64 = 3_600_000;

/// Events read per page while pricing a month.
const PAGE: u32 = 5000;

/// One line item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    /// The model as the events name it (`*`: events without a model).
    pub model: String,
    /// What the unit price is per: `audio_second`, `1k_characters`,
    /// `1k_tokens`, `request`, `document`.
    pub unit: String,
    /// Quantity in `unit`s, exact decimal (minimums applied).
    pub quantity: String,
    /// Price per `unit`, exact decimal.
    #[schema(value_type = String)]
    pub unit_price: Nanos,
    /// `quantity × unit_price`, exact decimal.
    #[schema(value_type = String)]
    pub amount: Nanos,
    /// The same amount in billionths of the currency, for exact sums.
    pub amount_nanos: i64,
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Invoice {
    /// Always `invoice`.
    pub object: &'static str,
    pub id: String,
    pub tenant_id: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// `draft` (still changing) or `closed` (final, immutable).
    pub status: &'static str,
    /// ISO 4217.
    pub currency: String,
    pub plan: String,
    pub period_start: String,
    pub period_end: String,
    pub lines: Vec<Line>,
    /// Sum of the lines, exact decimal.
    #[schema(value_type = String)]
    pub subtotal: Nanos,
    pub subtotal_nanos: i64,
    /// When a closed invoice was closed.
    pub closed_at: Option<String>,
}

impl Invoice {
    /// Drop the line items that cost nothing (free models or units): they
    /// change no total and bury the lines that do. Kept in the stored
    /// invoice; the API shows them on request.
    pub fn hide_zero_lines(&mut self) {
        self.lines.retain(|line| line.amount_nanos != 0);
    }
}

/// The id of `tenant_id`'s invoice for `month`: the month and a digest of
/// both, so ids are stable (the draft keeps its id when it closes) and one
/// tenant's id means nothing for another tenant.
pub fn invoice_id(tenant_id: &str, month: Month) -> String {
    let mut hash = Sha256::new();
    hash.update(b"stratus-invoice\0");
    hash.update(tenant_id.as_bytes());
    hash.update(b"\0");
    hash.update(month.to_string().as_bytes());
    let digest = hash.finalize();
    format!(
        "inv_{:04}{:02}_{}",
        month.year,
        month.month,
        hex::encode(&digest[..8])
    )
}

/// The month an invoice id names, if it is one of `tenant_id`'s.
pub fn month_of_id(tenant_id: &str, id: &str) -> Option<Month> {
    let rest = id.strip_prefix("inv_")?;
    let (ym, _) = rest.split_once('_')?;
    if ym.len() != 6 || !ym.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month = Month::parse(&format!("{}-{}", &ym[..4], &ym[4..]))?;
    (invoice_id(tenant_id, month) == id).then_some(month)
}

/// The running sums of a month: per (model, unit), the base quantity and
/// its charge's price.
#[derive(Debug, Default)]
pub struct Tally {
    lines: BTreeMap<(String, PriceUnit), (i64, Nanos, Nanos)>,
}

impl Tally {
    /// Add one event's charges.
    pub fn add(&mut self, charges: &[Charge]) {
        for c in charges {
            let entry = self.lines.entry((c.model.clone(), c.unit)).or_insert((
                0,
                c.price.unit_price,
                c.price.base_price,
            ));
            entry.0 = entry.0.saturating_add(c.base_quantity);
        }
    }

    /// The line items and their subtotal.
    pub fn lines(&self) -> (Vec<Line>, Nanos) {
        let mut subtotal = Nanos::ZERO;
        let lines = self
            .lines
            .iter()
            .map(|((model, unit), (base, unit_price, base_price))| {
                let amount = base_price.times(*base);
                subtotal = subtotal.plus(amount);
                let scale = match unit.base_per_unit() {
                    1000 => 3,
                    _ => 0,
                };
                Line {
                    model: model.clone(),
                    unit: unit.as_str().to_owned(),
                    quantity: decimal(i128::from(*base), scale, 0),
                    unit_price: *unit_price,
                    amount,
                    amount_nanos: amount.0,
                }
            })
            .collect();
        (lines, subtotal)
    }
}

/// Price every event of `tenant_id` in `month` with `plan`.
pub async fn compute(
    store: &Store,
    tenant_id: &str,
    month: Month,
    plan: &Plan,
) -> Result<(Vec<Line>, Nanos), StoreError> {
    let mut tally = Tally::default();
    for_each_charged(store, tenant_id, month, plan, |_, charges| {
        tally.add(charges);
    })
    .await?;
    Ok(tally.lines())
}

/// Call `each` with every event of `tenant_id` in `month` and its charges
/// under `plan`: the one walk that invoices and the dashboard's cost
/// breakdowns ([`super::breakdown`]) both price with, so they agree.
pub async fn for_each_charged(
    store: &Store,
    tenant_id: &str,
    month: Month,
    plan: &Plan,
    mut each: impl FnMut(&StoredEvent, &[Charge]),
) -> Result<(), StoreError> {
    let mut after_seq = 0;
    loop {
        let page = store
            .usage_events(&EventFilter {
                tenant_id: Some(tenant_id.to_owned()),
                after_seq,
                from_ms: month.start_ms(),
                to_ms: month.end_ms(),
                limit: PAGE,
            })
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after_seq = last.seq;
        for stored in &page {
            each(stored, &plan.charges(&stored.event));
        }
    }
    Ok(())
}

/// A draft invoice.
pub fn draft(
    tenant_id: &str,
    month: Month,
    currency: &str,
    plan: &str,
    lines: Vec<Line>,
    subtotal: Nanos,
) -> Invoice {
    Invoice {
        object: "invoice",
        id: invoice_id(tenant_id, month),
        tenant_id: tenant_id.to_owned(),
        month: month.to_string(),
        status: "draft",
        currency: currency.to_owned(),
        plan: plan.to_owned(),
        period_start: format_rfc3339(month.start_ms()),
        period_end: format_rfc3339(month.end_ms()),
        lines,
        subtotal,
        subtotal_nanos: subtotal.0,
        closed_at: None,
    }
}

/// Whether `month` is over for good at `now_ms` (past the grace).
pub fn is_closed(month: Month, now_ms: i64) -> bool {
    month.end_ms().saturating_add(CLOSE_GRACE_MS) <= now_ms
}

/// The invoice stored as closed, back in its API shape.
pub fn from_row(row: &crate::store::billing::InvoiceRow) -> Result<Invoice, serde_json::Error> {
    let lines: Vec<Line> = serde_json::from_str(&row.lines)?;
    let month = Month::parse(&row.month).unwrap_or_else(|| Month::of_ms(0));
    let mut invoice = draft(
        &row.tenant_id,
        month,
        &row.currency,
        &row.plan,
        lines,
        Nanos(row.subtotal_nanos),
    );
    invoice.id = row.id.clone();
    invoice.status = "closed";
    invoice.closed_at = Some(format_rfc3339(row.closed_at_ms));
    Ok(invoice)
}

/// Quote a CSV field when it needs it (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The CSV of invoices: one row per line item, then a `subtotal` row per
/// invoice (its `unit` column says `subtotal`).
pub fn csv(invoices: &[Invoice]) -> String {
    let mut out =
        String::from("invoice_id,month,status,currency,model,unit,quantity,unit_price,amount\n");
    for inv in invoices {
        let prefix = format!(
            "{},{},{},{}",
            field(&inv.id),
            field(&inv.month),
            inv.status,
            field(&inv.currency)
        );
        for line in &inv.lines {
            out.push_str(&format!(
                "{prefix},{},{},{},{},{}\n",
                field(&line.model),
                field(&line.unit),
                line.quantity,
                line.unit_price,
                line.amount
            ));
        }
        out.push_str(&format!("{prefix},,subtotal,,,{}\n", inv.subtotal));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_belong_to_one_tenant_and_month() {
        let month = Month::parse("2026-03").unwrap();
        let id = invoice_id("acme", month);
        assert!(id.starts_with("inv_202603_"), "{id}");
        assert_eq!(month_of_id("acme", &id), Some(month));
        assert_eq!(month_of_id("globex", &id), None);
        assert_eq!(month_of_id("acme", "inv_202603_0000000000000000"), None);
        assert_eq!(month_of_id("acme", "nonsense"), None);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let inv = draft(
            "t",
            Month::parse("2026-01").unwrap(),
            "USD",
            "p",
            vec![Line {
                model: "a,\"b\"".into(),
                unit: "request".into(),
                quantity: "3".into(),
                unit_price: Nanos(10_000_000),
                amount: Nanos(30_000_000),
                amount_nanos: 30_000_000,
            }],
            Nanos(30_000_000),
        );
        let text = csv(&[inv]);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(
            rows[1].ends_with(",\"a,\"\"b\"\"\",request,3,0.01,0.03"),
            "{}",
            rows[1]
        );
        assert!(rows[2].ends_with(",,subtotal,,,0.03"), "{}", rows[2]);
    }
}
