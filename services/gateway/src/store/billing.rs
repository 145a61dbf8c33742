//! Billing in the store: each tenant's plan and budget, the running
//! month's spend and reservations, and closed invoices.
//!
//! Budget enforcement lives here because it must hold across gateway
//! replicas. What is reserved is a gateway's *lease* of a tenant's month
//! (see `billing::ledger`) or a queued job's bound: a lease grows in one
//! transaction that reads the month row under the write lock (SQLite's
//! single writer; `FOR UPDATE` on PostgreSQL) and grants only while `spent
//! + reserved` is under the hard limit, at most half of what is left or the
//! asking request's maximum cost. So whichever replica asks, the leases
//! together overshoot the limit by less than one request's maximum cost.
//! The same statements run on both backends (`?` numbered for PostgreSQL
//! by [`numbered`]).

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

/// An API key's own budget (see the `key_budgets` migration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBudgetRow {
    pub key_id: String,
    pub tenant_id: String,
    pub hard_limit_nanos: i64,
}

/// One account's month (a tenant's or a key's): what was spent (settled) and what is reserved by
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

/// A new reservation (a job's), on a budget account: a tenant's id or
/// an API key's (see the `key_budgets` migration).
#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub month: &'a str,
    pub amount_nanos: i64,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

/// One gateway's change to its budget for an account's month (see
/// [`Store::change_lease`]).
#[derive(Debug, Clone)]
pub struct LeaseChange<'a> {
    /// The gateway's lease (a reservation row); `None` for a tenant without
    /// a hard limit, whose spend is recorded without one.
    pub lease_id: Option<&'a str>,
    /// Whether the lease was granted before (so its absence means the
    /// sweeper released it).
    pub lease_known: bool,
    pub account_id: &'a str,
    pub month: &'a str,
    /// Settled costs: from the lease to `spent`.
    pub spend_nanos: i64,
    /// Unused lease given back.
    pub release_nanos: i64,
    pub grow: Option<Grow>,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

/// How much a lease may grow by (see [`Store::change_lease`]).
#[derive(Debug, Clone, Copy)]
pub struct Grow {
    /// At least this (the request that asked).
    pub min_nanos: i64,
    /// At most this, unless `min_nanos` is more.
    pub cap_nanos: i64,
    pub hard_limit_nanos: i64,
}

/// What [`Store::change_lease`] did.
#[derive(Debug, Clone, Default)]
pub struct LeaseOutcome {
    /// What the lease grew by (0: not asked, or refused at the limit).
    pub granted_nanos: i64,
    /// The lease was gone (released by the sweeper).
    pub lost: bool,
    /// The month after the change.
    pub month: MonthRow,
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

/// A [`KeyBudgetRow`] from a row of either backend.
macro_rules! key_budget_row {
    ($r:expr) => {
        Ok::<_, StoreError>(KeyBudgetRow {
            key_id: $r.try_get("key_id")?,
            tenant_id: $r.try_get("tenant_id")?,
            hard_limit_nanos: $r.try_get("hard_limit_nanos")?,
        })
    };
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

    /// Key `key_id`'s own budget, if it has one.
    pub async fn key_budget(&self, key_id: &str) -> Result<Option<KeyBudgetRow>, StoreError> {
        let sql = "SELECT key_id, tenant_id, hard_limit_nanos FROM key_budgets WHERE key_id = ?";
        on_backend!(self, |pool, q| {
            let row = sqlx::query(q(sql))
                .bind(key_id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| key_budget_row!(r)).transpose()
        })
    }

    /// Every budget `tenant_id`'s keys have of their own.
    pub async fn key_budgets(&self, tenant_id: &str) -> Result<Vec<KeyBudgetRow>, StoreError> {
        let sql = "SELECT key_id, tenant_id, hard_limit_nanos FROM key_budgets \
                   WHERE tenant_id = ? ORDER BY key_id";
        on_backend!(self, |pool, q| {
            let rows = sqlx::query(q(sql)).bind(tenant_id).fetch_all(pool).await?;
            rows.iter().map(|r| key_budget_row!(r)).collect()
        })
    }

    /// Give key `key_id` of `tenant_id` a monthly hard limit of its own
    /// (`None`: none, only its tenant's applies).
    pub async fn set_key_budget(
        &self,
        tenant_id: &str,
        key_id: &str,
        hard_limit_nanos: Option<i64>,
    ) -> Result<(), StoreError> {
        let now = crate::metering::event::now_ms();
        on_backend!(self, |pool, q| {
            match hard_limit_nanos {
                Some(limit) => {
                    let sql = "INSERT INTO key_budgets (key_id, tenant_id, hard_limit_nanos, updated_at_ms) \
                               VALUES (?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET \
                               hard_limit_nanos = excluded.hard_limit_nanos, \
                               updated_at_ms = excluded.updated_at_ms";
                    sqlx::query(q(sql))
                        .bind(key_id)
                        .bind(tenant_id)
                        .bind(limit)
                        .bind(now)
                        .execute(pool)
                        .await?;
                }
                None => {
                    let sql = "DELETE FROM key_budgets WHERE key_id = ? AND tenant_id = ?";
                    sqlx::query(q(sql))
                        .bind(key_id)
                        .bind(tenant_id)
                        .execute(pool)
                        .await?;
                }
            }
        });
        Ok(())
    }

    /// Raise account `account_id`'s `spent` in `month` to at least
    /// `spent_nanos` (never lowers it: spend the ledger already moved
    /// there stays).
    pub async fn raise_month_spend(
        &self,
        account_id: &str,
        month: &str,
        spent_nanos: i64,
    ) -> Result<(), StoreError> {
        let raise = "UPDATE budget_months SET spent_nanos = ? \
                     WHERE tenant_id = ? AND month = ? AND spent_nanos < ?";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            sqlx::query(q(ENSURE_MONTH))
                .bind(account_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            sqlx::query(q(raise))
                .bind(spent_nanos)
                .bind(account_id)
                .bind(month)
                .bind(spent_nanos)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Settle reservation `id` to the real cost: its amount leaves
    /// `reserved`, `cost` joins `spent` of account `account_id`'s month `month`
    /// (the event's). A reservation already released (expired) is charged
    /// all the same: the request ran. Returns the month's row after.
    pub async fn settle_budget(
        &self,
        id: &str,
        account_id: &str,
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
                .bind(account_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            sqlx::query(q(CHARGE))
                .bind(cost_nanos)
                .bind(account_id)
                .bind(month)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(self
            .budget_month(account_id, month)
            .await?
            .unwrap_or_default())
    }

    /// Apply one gateway's ledger change for a tenant's month in one
    /// transaction (see `billing::ledger`):
    /// - `spend` leaves the lease (if any) and `reserved`, and joins
    ///   `spent`; `release` leaves the lease and `reserved` unspent;
    /// - then, with `grow`, the lease grows by `max(min, min(cap, room /
    ///   2))` where `room` is the hard limit less spent and reserved — only
    ///   while `spent + reserved` is under the hard limit, the same
    ///   condition as a single reservation, so gateways overshoot the limit
    ///   by at most one request's maximum cost together;
    /// - the lease's expiry moves to `expires_at_ms`; an emptied lease row
    ///   is deleted.
    ///
    /// A lease the sweeper already released (its gateway stalled past the
    /// expiry) gave its amount back then: `spend` is charged all the same,
    /// and the outcome says the lease was lost.
    pub async fn change_lease(&self, c: &LeaseChange<'_>) -> Result<LeaseOutcome, StoreError> {
        let shrink = "UPDATE budget_reservations SET amount_nanos = amount_nanos - ?, expires_at_ms = ? \
            WHERE id = ? RETURNING amount_nanos";
        let unreserve_and_charge = "UPDATE budget_months SET reserved_nanos = reserved_nanos - ?, \
            spent_nanos = spent_nanos + ? WHERE tenant_id = ? AND month = ?";
        let read_month = match self {
            Store::Sqlite(_) => {
                "SELECT spent_nanos, reserved_nanos FROM budget_months \
                WHERE tenant_id = ? AND month = ?"
            }
            // The row stays locked until the grow below is written.
            Store::Postgres(_) => {
                "SELECT spent_nanos, reserved_nanos FROM budget_months \
                WHERE tenant_id = ? AND month = ? FOR UPDATE"
            }
        };
        let reserve = "UPDATE budget_months SET reserved_nanos = reserved_nanos + ? \
            WHERE tenant_id = ? AND month = ?";
        let grow_lease = "INSERT INTO budget_reservations \
            (id, tenant_id, month, amount_nanos, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?) \
            ON CONFLICT (id) DO UPDATE SET amount_nanos = budget_reservations.amount_nanos + excluded.amount_nanos, \
            expires_at_ms = excluded.expires_at_ms";
        let drop_empty = "DELETE FROM budget_reservations WHERE id = ? AND amount_nanos <= 0";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            sqlx::query(q(ENSURE_MONTH))
                .bind(c.account_id)
                .bind(c.month)
                .execute(&mut *tx)
                .await?;
            let mut lost = false;
            let mut unreserved = 0;
            if let Some(lease) = c.lease_id {
                let left: Option<i64> = sqlx::query_scalar(q(shrink))
                    .bind(c.spend_nanos.saturating_add(c.release_nanos))
                    .bind(c.expires_at_ms)
                    .bind(lease)
                    .fetch_optional(&mut *tx)
                    .await?;
                match left {
                    Some(_) => unreserved = c.spend_nanos.saturating_add(c.release_nanos),
                    None => lost = c.lease_known,
                }
            }
            if unreserved != 0 || c.spend_nanos != 0 {
                sqlx::query(q(unreserve_and_charge))
                    .bind(unreserved)
                    .bind(c.spend_nanos)
                    .bind(c.account_id)
                    .bind(c.month)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut granted = 0;
            if let (Some(lease), Some(grow)) = (c.lease_id, &c.grow) {
                let row = sqlx::query(q(read_month))
                    .bind(c.account_id)
                    .bind(c.month)
                    .fetch_one(&mut *tx)
                    .await?;
                let (spent, reserved): (i64, i64) =
                    (row.try_get("spent_nanos")?, row.try_get("reserved_nanos")?);
                let used = spent.saturating_add(reserved);
                if used < grow.hard_limit_nanos {
                    let room = grow.hard_limit_nanos.saturating_sub(used);
                    granted = grow.min_nanos.max(grow.cap_nanos.min(room / 2));
                    sqlx::query(q(reserve))
                        .bind(granted)
                        .bind(c.account_id)
                        .bind(c.month)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(q(grow_lease))
                        .bind(lease)
                        .bind(c.account_id)
                        .bind(c.month)
                        .bind(granted)
                        .bind(c.now_ms)
                        .bind(c.expires_at_ms)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if let Some(lease) = c.lease_id {
                sqlx::query(q(drop_empty))
                    .bind(lease)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            let month = self
                .budget_month(c.account_id, c.month)
                .await?
                .unwrap_or_default();
            Ok(LeaseOutcome {
                granted_nanos: granted,
                lost,
                month,
            })
        })
    }

    /// Hand `amount` of a gateway's lease (`None`: a tenant without a hard
    /// limit, which holds none) on to job reservation `job`, in one
    /// transaction: the job was admitted inside the lease, so the month's
    /// `reserved` does not change, only who holds it — unless the lease is
    /// gone (then the job is reserved anew). A job reserved already (a
    /// repeated hand-off) is not reserved twice. Returns whether the lease
    /// gave its part.
    pub async fn lease_to_job(
        &self,
        lease_id: Option<&str>,
        job: &NewReservation<'_>,
    ) -> Result<bool, StoreError> {
        let insert = "INSERT INTO budget_reservations \
            (id, tenant_id, month, amount_nanos, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?) \
            ON CONFLICT (id) DO NOTHING";
        let shrink = "UPDATE budget_reservations SET amount_nanos = amount_nanos - ? WHERE id = ?";
        let reserve = "UPDATE budget_months SET reserved_nanos = reserved_nanos + ? \
            WHERE tenant_id = ? AND month = ?";
        on_backend!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            sqlx::query(q(ENSURE_MONTH))
                .bind(job.account_id)
                .bind(job.month)
                .execute(&mut *tx)
                .await?;
            let new = sqlx::query(q(insert))
                .bind(job.id)
                .bind(job.account_id)
                .bind(job.month)
                .bind(job.amount_nanos)
                .bind(job.now_ms)
                .bind(job.expires_at_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if new == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let from_lease = match lease_id {
                Some(lease) => {
                    sqlx::query(q(shrink))
                        .bind(job.amount_nanos)
                        .bind(lease)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                None => false,
            };
            if !from_lease {
                sqlx::query(q(reserve))
                    .bind(job.amount_nanos)
                    .bind(job.account_id)
                    .bind(job.month)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(from_lease)
        })
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

    /// Account `account_id`'s month (a tenant's or a key's), if anything
    /// was reserved or spent in it.
    pub async fn budget_month(
        &self,
        account_id: &str,
        month: &str,
    ) -> Result<Option<MonthRow>, StoreError> {
        let sql = "SELECT spent_nanos, reserved_nanos, soft_alerted_at_ms, hard_alerted_at_ms \
                   FROM budget_months WHERE tenant_id = ? AND month = ?";
        on_backend!(self, |pool, q| {
            let row = sqlx::query(q(sql))
                .bind(account_id)
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
