//! Where a month's spend went, for the dashboard: per UTC day and model
//! (the cost chart) and per API key (the keys page). Priced by the same
//! walk as the invoice ([`super::invoice::for_each_charged`] with the
//! tenant's plan), so the breakdown's total is the draft invoice's
//! subtotal to the nano — there is no second pricing path.

use std::collections::BTreeMap;

use super::Nanos;
use super::catalog::Plan;
use super::invoice::for_each_charged;
use super::month::Month;
use crate::store::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;

/// A month's spend, split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// Per (start of the UTC day, model as the invoice names it — `*` for
    /// events without one): only pairs that cost something.
    pub by_day_model: BTreeMap<(i64, String), Nanos>,
    /// Per API key (`None`: requests made with a dashboard session).
    pub by_key: BTreeMap<Option<String>, Nanos>,
    /// All of it: the invoice's subtotal.
    pub total: Nanos,
}

impl Breakdown {
    /// Each model's total for the month, only models that cost something.
    pub fn by_model(&self) -> BTreeMap<&str, Nanos> {
        let mut out: BTreeMap<&str, Nanos> = BTreeMap::new();
        for ((_, model), amount) in &self.by_day_model {
            let entry = out.entry(model.as_str()).or_insert(Nanos::ZERO);
            *entry = entry.plus(*amount);
        }
        out
    }
}

/// Price every event of `tenant_id` in `month` with `plan`, split per day
/// and model and per key.
pub async fn compute(
    store: &Store,
    tenant_id: &str,
    month: Month,
    plan: &Plan,
) -> Result<Breakdown, StoreError> {
    let mut out = Breakdown::default();
    for_each_charged(store, tenant_id, month, plan, |stored, charges| {
        let day = stored.event.time_ms.div_euclid(DAY_MS) * DAY_MS;
        for charge in charges {
            let amount = charge.amount();
            if amount == Nanos::ZERO {
                continue;
            }
            let cell = out
                .by_day_model
                .entry((day, charge.model.clone()))
                .or_insert(Nanos::ZERO);
            *cell = cell.plus(amount);
            let key = out
                .by_key
                .entry(stored.event.key_id.clone())
                .or_insert(Nanos::ZERO);
            *key = key.plus(amount);
            out.total = out.total.plus(amount);
        }
    })
    .await?;
    Ok(out)
}
