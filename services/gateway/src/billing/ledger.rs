//! The budget ledger: budgets enforced in memory, so a request pays no
//! store round trip to be admitted or settled.
//!
//! Each gateway keeps a book per budget [`Account`] and month — a tenant,
//! or one of its API keys with a budget of its own (a request holds on
//! both: its key's book first, then its tenant's):
//! - `granted` — budget this gateway took from the store as a *lease* (one
//!   reservation row per book), only for a tenant with a hard limit;
//! - `held` — the maximum cost of its requests in flight;
//! - `unsynced` — the real cost of requests settled here and not yet
//!   moved to the month's `spent` in the store.
//!
//! A request of a tenant with a hard limit is admitted while `unsynced +
//! held + its maximum cost ≤ granted`: a mutex and three integers. When it
//! does not fit, the book gives back its unused lease, moves what it spent
//! to the store and asks for more in one transaction
//! ([`Store::change_lease`]), which grants only while the month's `spent +
//! reserved` is under the hard limit, and at most half of what is left
//! (or the asking request's own maximum, if more). So whatever the number
//! of gateways, the leases together exceed the limit by less than one
//! request's maximum cost — the bound of a per-request reservation — while
//! a busy tenant far from its limit asks the store once per
//! `lease_requests` requests. A tenant without a hard limit holds nothing:
//! its spend is only recorded.
//!
//! In the background ([`Ledger::sync`], every `sync_interval`), every book
//! moves its spend to the store (so `GET /v1/billing/budget`, the soft
//! limit and other gateways see it within that), extends its lease's
//! expiry, and gives the lease back once idle — so budget a quiet gateway
//! holds returns to the others. On shutdown a closing sync gives every
//! lease back. A gateway killed outright leaves its lease to expire
//! (`reservation_ttl`, then the sweeper releases it) and loses at most one
//! sync interval of spend from the month's running total; invoices are
//! computed from usage events and lose nothing.
//!
//! Tenants' terms (plan, limits) are cached for `terms_ttl`, as API keys
//! are: a budget change takes effect on other gateways within it (at once
//! on the gateway that made it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{BillingError, TenantTerms};
use crate::metering::event::now_ms;
use crate::store::Store;
use crate::store::billing::{Grow, LeaseChange, MonthRow, NewReservation};

/// How the ledger runs.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// A lease grows by at most this many of the asking request's maximum
    /// cost (less near the limit): how many requests a busy tenant makes
    /// per store transaction.
    pub lease_requests: u32,
    /// How often spend is moved to the store and leases renewed.
    pub sync_interval: Duration,
    /// A book without requests for this long gives its lease back.
    pub idle_return: Duration,
    /// How long a tenant's terms are believed.
    pub terms_ttl: Duration,
    /// A lease row's expiry, moved on at each sync: how long budget a
    /// killed gateway held stays held.
    pub lease_ttl: Duration,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            lease_requests: 64,
            sync_interval: Duration::from_millis(200),
            idle_return: Duration::from_secs(1),
            terms_ttl: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(3600),
        }
    }
}

/// Whose budget a book keeps: a tenant's, or one API key's. Both are
/// stored alike, under the account's id (tenant and key ids never
/// collide: key ids are `key_<hex>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    Tenant(String),
    Key(String),
}

impl Account {
    /// The id its month rows and reservations are stored under.
    pub fn id(&self) -> &str {
        match self {
            Account::Tenant(id) | Account::Key(id) => id,
        }
    }
}

/// An (account, month) book.
#[derive(Debug)]
struct Book {
    account: Account,
    month: String,
    /// This book's lease row id: the same for the book's life, so a
    /// repeated change is applied to one row.
    lease_id: String,
    state: Mutex<BookState>,
    /// One store change at a time per book (requests that miss wait for
    /// the one already asking rather than all asking).
    changing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct BookState {
    granted: i64,
    held: i64,
    unsynced: i64,
    /// Whether the lease row exists (was granted and not yet emptied).
    leased: bool,
    last_used: Option<Instant>,
    /// When the store last saw a change (and moved the lease's expiry).
    changed: Option<Instant>,
}

impl Book {
    fn state(&self) -> MutexGuard<'_, BookState> {
        // Integers only: a panic while holding it cannot leave them
        // half-updated in a way the next sync does not correct.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request's hold on a book, as [`super::Reservation`] keeps it.
#[derive(Debug)]
pub struct Hold {
    book: Arc<Book>,
    pub amount: i64,
}

impl Hold {
    pub fn account(&self) -> &Account {
        &self.book.account
    }

    pub fn month(&self) -> &str {
        &self.book.month
    }

    /// The request ran and cost `cost`: the hold ends, the cost is owed to
    /// the store.
    pub fn settle(&self, cost: i64) {
        let mut state = self.book.state();
        state.held -= self.amount;
        state.unsynced = state.unsynced.saturating_add(cost);
        state.last_used = Some(Instant::now());
    }

    /// The request never reached a service: the hold ends, nothing owed.
    pub fn release(&self) {
        let mut state = self.book.state();
        state.held -= self.amount;
        state.last_used = Some(Instant::now());
    }

    /// The request queued a job: the hold ends, `cost` (the submit's own)
    /// is owed and `job` takes its part of the lease as a reservation of
    /// its own, which the job's end settles or releases.
    pub async fn hand_to_job(&self, cost: i64, job: &NewReservation<'_>, store: &Store) {
        let leased = {
            let mut state = self.book.state();
            state.held -= self.amount;
            state.unsynced = state.unsynced.saturating_add(cost);
            state.last_used = Some(Instant::now());
            // The job's part leaves this gateway's lease now, so it cannot
            // admit another request meanwhile.
            if state.leased {
                state.granted -= job.amount_nanos;
            }
            state.leased
        };
        let lease = leased.then_some(self.book.lease_id.as_str());
        match store.lease_to_job(lease, job).await {
            Ok(true) => {}
            // Not from the lease (none, gone, or the job was handed on
            // before): its part stays with the lease.
            Ok(false) => {
                if leased {
                    self.book.state().granted += job.amount_nanos;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, job = job.id, "reserving a job's budget; it is billed without a reservation");
                if leased {
                    self.book.state().granted += job.amount_nanos;
                }
            }
        }
    }
}

/// Every book of this gateway.
#[derive(Debug)]
pub struct Ledger {
    store: Store,
    config: LedgerConfig,
    books: Mutex<HashMap<(Account, String), Arc<Book>>>,
    terms: Fresh<TenantTerms>,
    /// Keys' own hard limits (`None`: the key has none), cached as terms.
    key_limits: Fresh<Option<i64>>,
}

/// Values read from the store, believed for `ttl` after the read (tenants'
/// terms, keys' limits: what every request asks).
#[derive(Debug)]
struct Fresh<V> {
    ttl: Duration,
    values: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> Fresh<V> {
    fn new(ttl: Duration) -> Self {
        Fresh {
            ttl,
            values: Mutex::default(),
        }
    }

    fn values(&self) -> MutexGuard<'_, HashMap<String, (V, Instant)>> {
        // Whole entries only: a panic holding it leaves nothing half-set.
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Option<V> {
        self.values()
            .get(id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(value, _)| value.clone())
    }

    fn put(&self, id: &str, value: V) {
        self.values().insert(id.to_owned(), (value, Instant::now()));
    }

    fn forget(&self, id: &str) {
        self.values().remove(id);
    }

    /// Drop what is no longer believed.
    fn prune(&self) {
        self.values().retain(|_, (_, at)| at.elapsed() < self.ttl);
    }
}

/// A book's month spend after a sync, for budget alerts.
#[derive(Debug)]
pub struct Synced {
    pub account: Account,
    pub month: String,
    pub row: MonthRow,
}

impl Ledger {
    pub fn new(store: Store, config: LedgerConfig) -> Ledger {
        Ledger {
            store,
            terms: Fresh::new(config.terms_ttl),
            key_limits: Fresh::new(config.terms_ttl),
            config,
            books: Mutex::default(),
        }
    }

    /// `tenant_id`'s terms if known within `terms_ttl`.
    pub fn cached_terms(&self, tenant_id: &str) -> Option<TenantTerms> {
        self.terms.get(tenant_id)
    }

    pub fn remember_terms(&self, tenant_id: &str, terms: &TenantTerms) {
        self.terms.put(tenant_id, terms.clone());
    }

    /// Forget `tenant_id`'s terms (they were just changed here).
    pub fn forget_terms(&self, tenant_id: &str) {
        self.terms.forget(tenant_id);
    }

    /// Key `key_id`'s own hard limit if known within `terms_ttl`
    /// (`Some(None)`: known to have none).
    pub fn cached_key_limit(&self, key_id: &str) -> Option<Option<i64>> {
        self.key_limits.get(key_id)
    }

    pub fn remember_key_limit(&self, key_id: &str, limit: Option<i64>) {
        self.key_limits.put(key_id, limit);
    }

    /// Forget `key_id`'s limit (it was just changed here).
    pub fn forget_key_limit(&self, key_id: &str) {
        self.key_limits.forget(key_id);
    }

    fn book(&self, account: &Account, month: &str) -> Arc<Book> {
        let mut books = self.books.lock().unwrap_or_else(|p| p.into_inner());
        books
            .entry((account.clone(), month.to_owned()))
            .or_insert_with(|| {
                Arc::new(Book {
                    account: account.clone(),
                    month: month.to_owned(),
                    lease_id: format!("lease_{}", uuid::Uuid::now_v7().simple()),
                    state: Mutex::default(),
                    changing: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// Hold `amount` of `account`'s budget for `month` under `hard_limit`
    /// (`None`: held without a limit). Refused: [`BillingError::Exhausted`]
    /// or, for a key, [`BillingError::KeyExhausted`].
    pub async fn hold(
        &self,
        account: &Account,
        month: &str,
        amount: i64,
        hard_limit: Option<i64>,
    ) -> Result<Hold, BillingError> {
        let book = self.book(account, month);
        let Some(hard_limit) = hard_limit else {
            let mut state = book.state();
            state.held += amount;
            state.last_used = Some(Instant::now());
            drop(state);
            return Ok(Hold { book, amount });
        };
        if Self::try_hold(&book, amount) {
            return Ok(Hold { book, amount });
        }
        // Missed: one store change at a time; whoever waited may fit now.
        let fitted = {
            let _changing = book.changing.lock().await;
            if Self::try_hold(&book, amount) {
                true
            } else {
                let cap = amount.saturating_mul(i64::from(self.config.lease_requests.max(1)));
                let grow = Grow {
                    min_nanos: amount,
                    cap_nanos: cap,
                    hard_limit_nanos: hard_limit,
                };
                self.change(&book, true, Some(grow)).await?;
                Self::try_hold(&book, amount)
            }
        };
        match (fitted, account) {
            (true, _) => Ok(Hold { book, amount }),
            (false, Account::Tenant(_)) => Err(BillingError::Exhausted),
            (false, Account::Key(_)) => Err(BillingError::KeyExhausted),
        }
    }

    fn try_hold(book: &Book, amount: i64) -> bool {
        let mut state = book.state();
        let fits = state
            .unsynced
            .saturating_add(state.held)
            .saturating_add(amount)
            <= state.granted;
        if fits {
            state.held += amount;
            state.last_used = Some(Instant::now());
        }
        fits
    }

    /// Apply a change to `book`'s lease in the store: move its spend,
    /// give back its unused part when `give_back`, and grow it by `grow`.
    /// The caller holds `book.changing`.
    async fn change(
        &self,
        book: &Book,
        give_back: bool,
        grow: Option<Grow>,
    ) -> Result<MonthRow, BillingError> {
        let (spend, release, leased) = {
            let mut state = book.state();
            let spend = state.unsynced;
            let release = if give_back && state.leased {
                (state.granted - state.unsynced - state.held).max(0)
            } else {
                0
            };
            // Taken out at once: nothing is admitted from what is being
            // given back while the store is asked.
            state.granted -= release;
            (spend, release, state.leased)
        };
        let now = now_ms();
        let ttl = i64::try_from(self.config.lease_ttl.as_millis()).unwrap_or(i64::MAX);
        // A tenant that never had a lease (no hard limit) has none to
        // shrink; its spend goes straight to `spent`.
        let has_lease = leased || grow.is_some();
        let outcome = self
            .store
            .change_lease(&LeaseChange {
                lease_id: has_lease.then_some(book.lease_id.as_str()),
                lease_known: leased,
                account_id: book.account.id(),
                month: &book.month,
                spend_nanos: spend,
                release_nanos: release,
                grow,
                now_ms: now,
                expires_at_ms: now.saturating_add(ttl),
            })
            .await;
        let mut state = book.state();
        match outcome {
            Ok(outcome) => {
                state.unsynced -= spend;
                if leased {
                    state.granted -= spend;
                }
                if outcome.lost {
                    // The sweeper gave the whole lease back: what is held
                    // now runs on without one (a stalled gateway's
                    // requests), and the next request asks afresh.
                    state.granted = 0;
                }
                state.granted += outcome.granted_nanos;
                state.leased = state.granted > 0;
                state.changed = Some(Instant::now());
                Ok(outcome.month)
            }
            Err(e) => {
                // Nothing was applied: what was taken out goes back.
                state.granted += release;
                Err(e.into())
            }
        }
    }

    /// Move every book's spend to the store, renew leases, give back those
    /// of idle books and forget books with nothing left. Returns the books'
    /// months after, for budget alerts.
    pub async fn sync(&self, closing: bool) -> Vec<Synced> {
        let books: Vec<Arc<Book>> = {
            let books = self.books.lock().unwrap_or_else(|p| p.into_inner());
            books.values().cloned().collect()
        };
        let mut synced = Vec::new();
        for book in books {
            let (spend, idle, leased, empty, renewed) = {
                let state = book.state();
                let idle = closing
                    || (state.held == 0
                        && state
                            .last_used
                            .is_none_or(|t| t.elapsed() >= self.config.idle_return));
                let empty = state.granted == 0 && state.held == 0 && state.unsynced == 0;
                // A busy lease's expiry is moved on well before it comes.
                let renewed = state
                    .changed
                    .is_some_and(|t| t.elapsed() < self.config.lease_ttl / 4);
                (state.unsynced, idle, state.leased, empty, renewed)
            };
            if empty {
                if idle {
                    self.forget_if_empty(&book);
                }
                continue;
            }
            if spend == 0 && (!leased || (!idle && renewed)) {
                continue;
            }
            let _changing = book.changing.lock().await;
            match self.change(&book, idle, None).await {
                Ok(row) => {
                    if spend > 0 {
                        synced.push(Synced {
                            account: book.account.clone(),
                            month: book.month.clone(),
                            row,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, account = book.account.id(), "syncing budget spend; retried next time")
                }
            }
        }
        self.terms.prune();
        self.key_limits.prune();
        synced
    }

    fn forget_if_empty(&self, book: &Arc<Book>) {
        let mut books = self.books.lock().unwrap_or_else(|p| p.into_inner());
        let state = book.state();
        let empty = state.granted == 0 && state.held == 0 && state.unsynced == 0;
        // Only when no request holds a handle on it besides the map and us.
        if empty && Arc::strong_count(book) <= 2 {
            books.remove(&(book.account.clone(), book.month.clone()));
        }
    }

    /// What this gateway holds for `account` in `month`: (granted, held,
    /// unsynced). For tests and the budget view's freshness.
    pub fn book_state(&self, account: &Account, month: &str) -> Option<(i64, i64, i64)> {
        let books = self.books.lock().unwrap_or_else(|p| p.into_inner());
        books.get(&(account.clone(), month.to_owned())).map(|book| {
            let state = book.state();
            (state.granted, state.held, state.unsynced)
        })
    }
}
