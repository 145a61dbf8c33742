//! Billing in the store: each tenant's plan and budget, the running
//! month's spend and reservations, and closed invoices.
//!
//! Budget enforcement lives here because it must hold across gateway
//! replicas: a reservation is one conditional `UPDATE` of the tenant's
//! month row (`… WHERE spent + reserved < hard_limit`), which SQLite runs
//! under its single writer and PostgreSQL re-checks against the latest row
//! version after waiting on the row lock. So a request is admitted only
//! while the month's spend plus everything reserved is under the limit,
//! whichever replica asks, and concurrent requests overshoot by at most
//! the one reservation that crossed it. The same statements run on both
//! backends (`?` numbered for PostgreSQL by [`numbered`]).

use sqlx::Row;

use super::usage::numbered;
use super::{Store, StoreError};

/// A tenant's billing settings (absent row: the default plan, the plan's
/// budgets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantBillingRow {
    pub tenant_id: String,
    pub plan: Option<String>,
    pub soft_limit_nanos: Option<i64>,
    pub hard_limit_nanos: Option<i64>,
}

/// One tenant's month: what was spent (settled) and what is reserved by
/// requests still running, and when each alert went out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthRow {
    pub spent_nanos: i64,
    pub reserved_nanos: i64,
    pub soft_alerted_at_ms: Option<i64>,
    pub hard_alerted_at_ms: Option<i64>,
}

/// A budget threshold whose crossing is announced once a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Soft,
    Hard,
}

impl Threshold {
    fn column(self) -> &'static str {
        match self {
            Threshold::Soft => "soft_alerted_at_ms",
            Threshold::Hard => "hard_alerted_at_ms",
        }
    }
}

/// A new reservation.
#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub month: &'a str,
    pub amount_nanos: i64,
    /// `None`: no hard limit (reserved anyway, so spend is tracked).
    pub hard_limit_nanos: Option<i64>,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

/// A closed month's invoice as stored: immutable once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRow {
    pub id: String,
    pub tenant_id: String,
    pub month: String,
    pub currency: String,
    pub plan: String,
    pub subtotal_nanos: i64,
    /// The line items, JSON (the invoice module's shape).
    pub lines: String,
    pub closed_at_ms: i64,
}

/// Run `$body` with `$pool` bound to the backend's pool and `$q` turning
/// a `?` statement into one for that backend.
macro_rules! on_backend {
    ($store:expr, |$pool:ident, $q:ident| $body:expr) => {
        match $store {
            Store::Sqlite($pool) => {
                let $q = |s: &str| sqlx::AssertSqlSafe(s.to_owned());
                $body
            }
            Store::Postgres($pool) => {
                let $q = |s: &str| sqlx::AssertSqlSafe(numbered(s));
                $body
            }
        }
    };
}

const ENSURE_MONTH: &str = "INSERT INTO budget_months (tenant_id, month, spent_nanos, reserved_nanos) \
    VALUES (?, ?, 0, 0) ON CONFLICT (tenant_id, month) DO NOTHING";
const TAKE_RESERVATION: &str =
    "DELETE FROM budget_reservations WHERE id = ? RETURNING tenant_id, month, amount_nanos";
const UNRESERVE: &str = "UPDATE budget_months SET reserved_nanos = reserved_nanos - ? \
    WHERE tenant_id = ? AND month = ?";
const CHARGE: &str = "UPDATE budget_months SET spent_nanos = spent_nanos + ? \
    WHERE tenant_id = ? AND month = ?";

impl Store {
    /// A tenant's billing settings, if any were set.
    pub async fn tenant_billing(
        &self,
        tenant_id: &str,
    ) -> Result<Option<TenantBillingRow>, StoreError> {
        let sql = "SELECT tenant_id, plan, soft_limit_nanos, hard_limit_nanos \
                   FROM billing_tenants WHERE tenant_id = ?";
        on_backend!(self, |pool, q| {
            let row = sqlx::query(q(sql))
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok(TenantBillingRow {
                    tenant_id: r.try_get("tenant_id")?,
                    plan: r.try_get("plan")?,
                    soft_limit_nanos: r.try_get("soft_limit_nanos")?,
                    hard_limit_nanos: r.try_get("hard_limit_nanos")?,
                })
            })
            .transpose()
        })
    }

    /// Put `tenant_id` on `plan` (`None`: the default plan).
    pub async fn set_tenant_plan(
        &self,
        tenant_id: &str,
        plan: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO billing_tenants (tenant_id, plan, updated_at_ms) VALUES (?, ?, ?) \
                   ON CONFLICT (tenant_id) DO UPDATE SET plan = excluded.plan, \
                   updated_at_ms = excluded.updated_at_ms";
        let now = crate::metering::event::now_ms();
        on_backend!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(tenant_id)
                .bind(plan)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Set `tenant_id`'s monthly budget (`None`: the plan's).
    pub async fn set_tenant_budget(
        &self,
        tenant_id: &str,
        soft_limit_nanos: Option<i64>,
        hard_limit_nanos: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO billing_tenants (tenant_id, soft_limit_nanos, hard_limit_nanos, updated_at_ms) \
                   VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET \
                   soft_limit_nanos = excluded.soft_limit_nanos, \
                   hard_limit_nanos = excluded.hard_limit_nanos, updated_at_ms = excluded.updated_at_ms";
        let now = crate::metering::event::now_ms();
        on_backend!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(tenant_id)
                .bind(soft_limit_nanos)
                .bind(hard_limit_nanos)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Reserve `amount` for a request in one transaction: only while the
    /// month's spent + reserved is below the hard limit. Returns whether
    /// the reservation was made.
    pub async fn reserve_budget(&self, r: &NewReservation<'_>) -> Result<bool, StoreError> {
        let update = if r.hard_limit_nanos.is_some() {
            "UPDATE budget_months SET reserved_nanos = reserved_nanos + ? \
             WHERE tenant_id = ? AND month = ? AND spent_nanos + reserved_nanos < ?"
        } else {
            "UPDATE budget_months SET reserved_nanos = reserved_nanos + ? \
             WHERE tenant_id = ? AND month = ?"
        };
        let insert = "INSERT INTO budget_reservations \
            (id, tenant_id, month, amount_nanos, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            sqlx::query(q(ENSURE_MONTH))
                .bind(r.tenant_id)
                .bind(r.month)
                .execute(&mut *tx)
                .await?;
            let mut query = sqlx::query(q(update))
                .bind(r.amount_nanos)
                .bind(r.tenant_id)
                .bind(r.month);
            if let Some(hard) = r.hard_limit_nanos {
                query = query.bind(hard);
            }
            if query.execute(&mut *tx).await?.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(q(insert))
                .bind(r.id)
                .bind(r.tenant_id)
                .bind(r.month)
                .bind(r.amount_nanos)
                .bind(r.now_ms)
                .bind(r.expires_at_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Settle reservation `id` to the real cost: its amount leaves
    /// `reserved`, `cost` joins `spent` of `tenant_id`'s month `month`
    /// (the event's). A reservation already released (expired) is charged
    /// all the same: the request ran. Returns the month's row after.
    pub async fn settle_budget(
        &self,
        id: &str,
        tenant_id: &str,
        month: &str,
        cost_nanos: i64,
    ) -> Result<MonthRow, StoreError> {
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(q(TAKE_RESERVATION))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(held) = held {
                let (t, m, amount): (String, String, i64) = (
                    held.try_get("tenant_id")?,
                    held.try_get("month")?,
                    held.try_get("amount_nanos")?,
                );
                sqlx::query(q(UNRESERVE))
                    .bind(amount)
                    .bind(&t)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(q(ENSURE_MONTH))
                .bind(tenant_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            sqlx::query(q(CHARGE))
                .bind(cost_nanos)
                .bind(tenant_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(self
            .budget_month(tenant_id, month)
            .await?
            .unwrap_or_default())
    }

    /// Release reservation `id` without charging (the request never
    /// reached a service). Returns whether it was still held.
    pub async fn release_budget(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(q(TAKE_RESERVATION))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(held) = held else {
                return Ok(false);
            };
            let (t, m, amount): (String, String, i64) = (
                held.try_get("tenant_id")?,
                held.try_get("month")?,
                held.try_get("amount_nanos")?,
            );
            sqlx::query(q(UNRESERVE))
                .bind(amount)
                .bind(&t)
                .bind(&m)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Settle a job's submit and hand its reservation on to the job, in
    /// one transaction: reservation `id` leaves `reserved`, `cost` (the
    /// submit's own) joins `spent` of `tenant_id`'s month `month`, and
    /// `job` is reserved. Not checked against the hard limit: the submit
    /// was admitted with a reservation at least as large (the longest
    /// audio), of which the job's bound is a part. A job reserved already
    /// (a repeated hand-off) is not reserved twice. Returns `month`'s row
    /// after.
    pub async fn hand_budget_to_job(
        &self,
        id: &str,
        tenant_id: &str,
        month: &str,
        cost_nanos: i64,
        job: &NewReservation<'_>,
    ) -> Result<MonthRow, StoreError> {
        let insert = "INSERT INTO budget_reservations \
            (id, tenant_id, month, amount_nanos, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?) \
            ON CONFLICT (id) DO NOTHING";
        let reserve = "UPDATE budget_months SET reserved_nanos = reserved_nanos + ? \
            WHERE tenant_id = ? AND month = ?";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(q(TAKE_RESERVATION))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(held) = held {
                let (t, m, amount): (String, String, i64) = (
                    held.try_get("tenant_id")?,
                    held.try_get("month")?,
                    held.try_get("amount_nanos")?,
                );
                sqlx::query(q(UNRESERVE))
                    .bind(amount)
                    .bind(&t)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await?;
            }
            for m in [month, job.month] {
                sqlx::query(q(ENSURE_MONTH))
                    .bind(tenant_id)
                    .bind(m)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(q(CHARGE))
                .bind(cost_nanos)
                .bind(tenant_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            let new = sqlx::query(q(insert))
                .bind(job.id)
                .bind(job.tenant_id)
                .bind(job.month)
                .bind(job.amount_nanos)
                .bind(job.now_ms)
                .bind(job.expires_at_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if new == 1 {
                sqlx::query(q(reserve))
                    .bind(job.amount_nanos)
                    .bind(job.tenant_id)
                    .bind(job.month)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(self
            .budget_month(tenant_id, month)
            .await?
            .unwrap_or_default())
    }

    /// Release the reservations among `ids` that are still held, in one
    /// transaction. Returns how many were.
    pub async fn release_budgets(&self, ids: &[String]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let take = format!(
            "DELETE FROM budget_reservations WHERE id IN ({}) \
             RETURNING tenant_id, month, amount_nanos",
            vec!["?"; ids.len()].join(", ")
        );
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            let mut query = sqlx::query(q(&take));
            for id in ids {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            for row in &rows {
                let (t, m, amount): (String, String, i64) = (
                    row.try_get("tenant_id")?,
                    row.try_get("month")?,
                    row.try_get("amount_nanos")?,
                );
                sqlx::query(q(UNRESERVE))
                    .bind(amount)
                    .bind(&t)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(rows.len() as u64)
        })
    }

    /// Ids of the open reservations whose id starts with `prefix` (no `%`
    /// or `_` in it) and that expire before `before_ms`, soonest first (at
    /// most `limit`).
    pub async fn reservations_expiring(
        &self,
        prefix: &str,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT id FROM budget_reservations WHERE expires_at_ms < ? \
                   AND id LIKE ? ORDER BY expires_at_ms LIMIT ?";
        let pattern = format!("{prefix}%");
        on_backend!(self, |pool, q| {
            Ok(sqlx::query_scalar::<_, String>(q(sql))
                .bind(before_ms)
                .bind(&pattern)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Move the expiry of reservation `id` to `expires_at_ms` (it is still
    /// needed). Returns whether it is held.
    pub async fn extend_reservation(
        &self,
        id: &str,
        expires_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE budget_reservations SET expires_at_ms = ? WHERE id = ?";
        on_backend!(self, |pool, q| {
            let done = sqlx::query(q(sql))
                .bind(expires_at_ms)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Release every reservation that expired before `now_ms` (its
    /// gateway died between reserve and settle). Returns how many.
    pub async fn release_expired_budgets(&self, now_ms: i64) -> Result<u64, StoreError> {
        let take = "DELETE FROM budget_reservations WHERE expires_at_ms < ? \
                    RETURNING tenant_id, month, amount_nanos";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(q(take))
                .bind(now_ms)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                let (t, m, amount): (String, String, i64) = (
                    row.try_get("tenant_id")?,
                    row.try_get("month")?,
                    row.try_get("amount_nanos")?,
                );
                sqlx::query(q(UNRESERVE))
                    .bind(amount)
                    .bind(&t)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(rows.len() as u64)
        })
    }

    /// `tenant_id`'s month, if anything was reserved or spent in it.
    pub async fn budget_month(
        &self,
        tenant_id: &str,
        month: &str,
    ) -> Result<Option<MonthRow>, StoreError> {
        let sql = "SELECT spent_nanos, reserved_nanos, soft_alerted_at_ms, hard_alerted_at_ms \
                   FROM budget_months WHERE tenant_id = ? AND month = ?";
        on_backend!(self, |pool, q| {
            let row = sqlx::query(q(sql))
                .bind(tenant_id)
                .bind(month)
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok(MonthRow {
                    spent_nanos: r.try_get("spent_nanos")?,
                    reserved_nanos: r.try_get("reserved_nanos")?,
                    soft_alerted_at_ms: r.try_get("soft_alerted_at_ms")?,
                    hard_alerted_at_ms: r.try_get("hard_alerted_at_ms")?,
                })
            })
            .transpose()
        })
    }

    /// Claim the once-a-month alert for `threshold`: true for exactly one
    /// caller (across replicas), once `spent` has reached `limit_nanos`.
    pub async fn claim_budget_alert(
        &self,
        tenant_id: &str,
        month: &str,
        threshold: Threshold,
        limit_nanos: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let column = threshold.column();
        let sql = format!(
            "UPDATE budget_months SET {column} = ? WHERE tenant_id = ? AND month = ? \
             AND {column} IS NULL AND spent_nanos >= ?"
        );
        on_backend!(self, |pool, q| {
            let done = sqlx::query(q(&sql))
                .bind(now_ms)
                .bind(tenant_id)
                .bind(month)
                .bind(limit_nanos)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The stored (closed) invoice of `tenant_id` for `month`.
    pub async fn invoice(
        &self,
        tenant_id: &str,
        month: &str,
    ) -> Result<Option<InvoiceRow>, StoreError> {
        let sql = "SELECT id, tenant_id, month, currency, plan, subtotal_nanos, lines, closed_at_ms \
                   FROM invoices WHERE tenant_id = ? AND month = ?";
        on_backend!(self, |pool, q| {
            let row = sqlx::query(q(sql))
                .bind(tenant_id)
                .bind(month)
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok(InvoiceRow {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    month: r.try_get("month")?,
                    currency: r.try_get("currency")?,
                    plan: r.try_get("plan")?,
                    subtotal_nanos: r.try_get("subtotal_nanos")?,
                    lines: r.try_get("lines")?,
                    closed_at_ms: r.try_get("closed_at_ms")?,
                })
            })
            .transpose()
        })
    }

    /// Store a closed invoice unless one is stored for its tenant and
    /// month already (two replicas closing at once keep the first).
    pub async fn insert_invoice(&self, row: &InvoiceRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO invoices (id, tenant_id, month, currency, plan, subtotal_nanos, lines, closed_at_ms) \
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, month) DO NOTHING";
        on_backend!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(&row.id)
                .bind(&row.tenant_id)
                .bind(&row.month)
                .bind(&row.currency)
                .bind(&row.plan)
                .bind(row.subtotal_nanos)
                .bind(&row.lines)
                .bind(row.closed_at_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// When `tenant_id`'s first usage event happened, if any.
    pub async fn first_usage_ms(&self, tenant_id: &str) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MIN(occurred_at_ms) FROM usage_events WHERE tenant_id = ?";
        on_backend!(self, |pool, q| {
            Ok(sqlx::query_scalar::<_, Option<i64>>(q(sql))
                .bind(tenant_id)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Tenants with usage in `[from_ms, to_ms)` (the invoice closer).
    pub async fn tenants_with_usage(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT tenant_id FROM usage_events \
                   WHERE occurred_at_ms >= ? AND occurred_at_ms < ?";
        on_backend!(self, |pool, q| {
            Ok(sqlx::query_scalar::<_, String>(q(sql))
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await?)
        })
    }
}
