//! Billing: prices, budgets and invoices.
//!
//! - [`catalog`] — the price catalog (plans of prices per model and unit,
//!   optional default budgets), from a TOML file or built in.
//! - [`money`] — exact integer money ([`money::Nanos`]), never floats.
//! - [`month`] — UTC calendar months, the period of budgets and invoices.
//! - [`invoice`] — monthly invoices from priced usage events; drafts and
//!   immutable closed months; CSV.
//! - [`jobs`] — asynchronous jobs: their budget reservation while they
//!   wait and run, and their audio metered when they complete (exactly
//!   once, by ids derived from the job's).
//! - [`api`] — `/v1/billing/*` and the admin routes for plans and budgets.
//!
//! ## Budget enforcement
//! [`middleware`] wraps every metered route, outside metering. Before a
//! request runs it *holds* the request's maximum cost (see
//! [`Billing::max_cost`]) in this gateway's [`ledger`]: in memory, against
//! a lease of the tenant's budget the ledger takes from the store in
//! chunks — granted only while the month's `spent + reserved` is under the
//! hard limit, and never more than half of what is left — so N concurrent
//! requests on any number of gateways sharing the store overshoot the
//! limit by at most one request's maximum cost. A tenant without a hard
//! limit holds nothing in the store at all. Refused: 429
//! `insufficient_quota`.
//!
//! An API key may have a monthly hard limit of its own, under its
//! tenant's (LiteLLM's per-key `max_budget`): a request made with it holds
//! on the key's book first, then on the tenant's, and each book is leased
//! and bounded alike. A key without a budget of its own holds nothing of
//! its own. When an operator gives a key a budget, the key's month starts
//! from its spend so far (its priced usage events), so a budget set
//! mid-month counts what the key already spent.
//!
//! The hold travels to metering as a [`crate::metering::OnRecorded`] in
//! the request's extensions: when metering records the request's usage
//! event (for a stream, its final event), the hold is *settled* to the
//! event's real cost in memory, and the ledger moves spend to the store in
//! the background. A request whose event is never recorded (it did not
//! reach a service, or the log failed) releases its hold when the request
//! is dropped. A gateway that dies leaves its lease behind; it expires
//! after `reservation_ttl` and the sweeper releases it.
//!
//! An asynchronous job's audio is transcribed after its submit answered:
//! the submit's reservation is not settled but handed on to the job (its
//! audio's bound, which the speech service reports), and held until the
//! job ends — settled to the audio's cost when it succeeded, released when
//! it failed or was cancelled (see [`jobs`]). So jobs are held to the same
//! bound as synchronous requests. Managing a job (reading it, its result,
//! the list, a cancel) is not billed, so it works at the hard limit.
//!
//! When the ledger's sync brings the month's spend to a threshold (soft,
//! then hard limit), the first replica to claim it in the store sends a signed
//! webhook (`budget.soft_limit_reached` / `budget.hard_limit_reached`),
//! once per month per threshold; the flag shows in `GET /v1/billing/budget`.

pub mod api;
pub mod breakdown;
pub mod catalog;
pub mod invoice;
pub mod jobs;
pub mod ledger;
pub mod money;
pub mod month;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stratus_kit::ApiError;
use stratus_kit::destination::DestinationPolicy;

pub use catalog::{Catalog, Plan};
pub use money::Nanos;
pub use month::Month;

use crate::auth::Principal;
use crate::metering::event::now_ms;
use crate::metering::{OnRecorded, Units};
use crate::observability::metrics::{Rejection, record_rejection};
use crate::store::billing::{MonthRow, NewReservation, Threshold};
use crate::store::{Store, StoreError};
use ledger::{Account, Hold, Ledger, LedgerConfig};

/// Where budget alerts are POSTed, the secret they are signed with, and
/// the destination policy job webhooks use (checked at start and before
/// each send; names are resolved through it).
#[derive(Debug, Clone)]
pub struct AlertWebhook {
    pub url: String,
    pub secret: stratus_speech::jobs::webhook::WebhookSecret,
    pub policy: DestinationPolicy,
}

/// How billing is set up.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    pub catalog: Arc<Catalog>,
    /// How long a reservation may stay open before the sweeper releases it
    /// (longer than any request, stream included, may run).
    pub reservation_ttl: Duration,
    /// Audio seconds reserved for a speech request (the speech service's
    /// longest accepted audio): the bound used while its duration is
    /// unknown.
    pub reserve_audio_seconds: u32,
    /// Body bytes assumed when a request does not say its length (the
    /// gateway's body limit).
    pub max_request_body: u64,
    /// How often expired reservations are released and finished months'
    /// invoices closed.
    pub sweep_interval: Duration,
    pub webhook: Option<AlertWebhook>,
    /// How the in-memory ledger leases budget and syncs spend.
    pub ledger: LedgerConfig,
}

impl BillingConfig {
    /// Defaults around `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        BillingConfig {
            catalog: Arc::new(catalog),
            reservation_ttl: Duration::from_secs(3600),
            reserve_audio_seconds: 7200,
            max_request_body: 32 * 1024 * 1024,
            sweep_interval: Duration::from_secs(60),
            webhook: None,
            ledger: LedgerConfig::default(),
        }
    }
}

/// What can go wrong in billing.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(
        "the monthly budget of this tenant is spent; raise the hard limit or wait for next month"
    )]
    Exhausted,
    #[error(
        "the monthly budget of this API key is spent; an operator can raise or remove the key's limit, or wait for next month"
    )]
    KeyExhausted,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("stored invoice is unreadable: {0}")]
    Corrupt(String),
    #[error("job store: {0}")]
    Jobs(String),
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            // OpenAI's answer when the quota is used up: not worth a retry
            // (the budget renews next month, or when an operator raises it).
            BillingError::Exhausted | BillingError::KeyExhausted => {
                ApiError::quota_exhausted(e.to_string())
            }
            BillingError::BadRequest(m) => ApiError::bad_request(m),
            BillingError::NotFound(m) => ApiError::not_found(m),
            BillingError::Jobs(e) => {
                tracing::error!(error = %e, "billing: job store");
                ApiError::unavailable("billing is unavailable; retry later", 1)
            }
            BillingError::Store(e) => {
                tracing::error!(error = %e, "billing store");
                ApiError::unavailable("billing is unavailable; retry later", 1)
            }
            BillingError::Corrupt(m) => {
                tracing::error!(error = %m, "billing");
                ApiError::internal("an invoice could not be read")
            }
        }
    }
}

/// A tenant's effective billing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantTerms {
    pub plan: String,
    pub soft_limit: Option<Nanos>,
    pub hard_limit: Option<Nanos>,
}

/// Billing, shared by clones.
#[derive(Debug, Clone)]
pub struct Billing {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: BillingConfig,
    ledger: Ledger,
    http: reqwest::Client,
    tasks: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.lock() {
            for task in tasks.iter() {
                task.abort();
            }
        }
    }
}

impl Billing {
    /// Billing on `store`, without background work (see [`Billing::start`]).
    pub fn new(store: Store, config: BillingConfig) -> Billing {
        // Only alerts use it: it connects where their policy allows.
        let http = config
            .webhook
            .as_ref()
            .map_or_else(reqwest::Client::builder, |w| w.policy.client_builder())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let mut ledger_config = config.ledger.clone();
        ledger_config.lease_ttl = config.reservation_ttl;
        Billing {
            inner: Arc::new(Inner {
                ledger: Ledger::new(store.clone(), ledger_config),
                store,
                config,
                http,
                tasks: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    /// Billing with its sweeper: every `sweep_interval` it releases expired
    /// reservations and closes finished months' invoices.
    pub fn start(store: Store, config: BillingConfig) -> Billing {
        let billing = Billing::new(store, config);
        let sweeper = billing.clone_weak_task();
        let syncer = billing.ledger_sync_task();
        if let Ok(mut tasks) = billing.inner.tasks.lock() {
            tasks.push(sweeper);
            tasks.push(syncer);
        }
        billing
    }

    /// Every `sync_interval`: the ledger's spend to the store, leases
    /// renewed or given back, alerts for thresholds the spend crossed.
    fn ledger_sync_task(&self) -> tokio::task::AbortHandle {
        let weak = Arc::downgrade(&self.inner);
        let interval = self.inner.config.ledger.sync_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                Billing { inner }.sync_ledger(false).await;
            }
        })
        .abort_handle()
    }

    /// Sync the ledger now (see [`ledger::Ledger::sync`]) and send the
    /// alerts its spend caused. `closing`: give every lease back.
    pub async fn sync_ledger(&self, closing: bool) {
        for synced in self.inner.ledger.sync(closing).await {
            // Alerts are the tenant's: a key's own limit only refuses.
            let Account::Tenant(tenant_id) = &synced.account else {
                continue;
            };
            let terms = match self.cached_terms(tenant_id).await {
                Ok(terms) => terms,
                Err(e) => {
                    tracing::warn!(error = %e, "reading terms for budget alerts");
                    continue;
                }
            };
            if let Err(e) = self
                .alert_if_crossed(tenant_id, &synced.month, &terms, &synced.row)
                .await
            {
                tracing::warn!(error = %e, "budget alerts");
            }
        }
    }

    /// Shutdown: every lease given back, all spend recorded.
    pub async fn shutdown(&self) {
        self.sync_ledger(true).await;
    }

    /// The ledger (tests look at what a gateway holds).
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// Forget `tenant_id`'s cached terms: they were just changed here.
    pub fn forget_terms(&self, tenant_id: &str) {
        self.inner.ledger.forget_terms(tenant_id);
    }

    fn clone_weak_task(&self) -> tokio::task::AbortHandle {
        let weak = Arc::downgrade(&self.inner);
        let interval = self.inner.config.sweep_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let billing = Billing { inner };
                if let Err(e) = billing.sweep(now_ms()).await {
                    tracing::warn!(error = %e, "releasing expired budget reservations");
                }
                if let Err(e) = billing.close_finished_months(now_ms()).await {
                    tracing::warn!(error = %e, "closing invoices");
                }
            }
        })
        .abort_handle()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.config.catalog
    }

    /// `tenant_id`'s plan and budget: its own settings over its plan's.
    pub async fn terms(&self, tenant_id: &str) -> Result<TenantTerms, BillingError> {
        let row = self.store().tenant_billing(tenant_id).await?;
        let row = row.unwrap_or_default();
        let plan = self.catalog().plan(row.plan.as_deref());
        let terms = TenantTerms {
            plan: plan.name.clone(),
            soft_limit: row.soft_limit_nanos.map(Nanos).or(plan.soft_limit),
            hard_limit: row.hard_limit_nanos.map(Nanos).or(plan.hard_limit),
        };
        self.inner.ledger.remember_terms(tenant_id, &terms);
        Ok(terms)
    }

    /// [`Self::terms`], from the ledger's cache when fresh (the request
    /// path).
    async fn cached_terms(&self, tenant_id: &str) -> Result<TenantTerms, BillingError> {
        match self.inner.ledger.cached_terms(tenant_id) {
            Some(terms) => Ok(terms),
            None => self.terms(tenant_id).await,
        }
    }

    /// The most a request to `service` with a body of `content_length`
    /// bytes (unknown: the body limit) can cost under `plan`. Bounds:
    /// - one request, and at most one document per body byte;
    /// - characters and input tokens: at most one per body byte (a token
    ///   or character is at least a byte of the text sent);
    /// - audio (speech only): `reserve_audio_seconds`, the longest audio
    ///   the speech service accepts — a compressed upload's duration is
    ///   not known from its size.
    ///
    /// A service that reports more than this (a bug) is still charged its
    /// real cost; the overshoot bound assumes these bounds hold.
    pub fn max_cost(
        &self,
        plan: &Plan,
        service: &str,
        endpoint: &str,
        content_length: Option<u64>,
    ) -> Nanos {
        let config = &self.inner.config;
        let bytes = content_length
            .unwrap_or(config.max_request_body)
            .min(config.max_request_body);
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let audio_ms = if service == "speech" {
            i64::from(config.reserve_audio_seconds) * 1000
        } else {
            0
        };
        plan.max_cost(
            &Units {
                requests: 1,
                audio_ms,
                input_tokens: bytes,
                characters: bytes,
                documents: bytes,
            },
            endpoint,
        )
    }

    /// Key `key_id`'s own monthly hard limit, if it has one.
    pub async fn key_limit(&self, key_id: &str) -> Result<Option<Nanos>, BillingError> {
        let limit = self
            .store()
            .key_budget(key_id)
            .await?
            .map(|row| row.hard_limit_nanos);
        self.inner.ledger.remember_key_limit(key_id, limit);
        Ok(limit.map(Nanos))
    }

    /// [`Self::key_limit`], from the ledger's cache when fresh.
    async fn cached_key_limit(&self, key_id: &str) -> Result<Option<Nanos>, BillingError> {
        match self.inner.ledger.cached_key_limit(key_id) {
            Some(limit) => Ok(limit.map(Nanos)),
            None => self.key_limit(key_id).await,
        }
    }

    /// Hold the maximum cost of a request of `tenant_id`, made with
    /// `key_id` if by a key, before it runs (see [`ledger`]): on the key's
    /// own budget if it has one, and on the tenant's.
    pub async fn reserve(
        &self,
        tenant_id: &str,
        key_id: Option<&str>,
        service: &str,
        endpoint: &str,
        content_length: Option<u64>,
    ) -> Result<Reservation, BillingError> {
        let terms = self.cached_terms(tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        let amount = self.max_cost(plan, service, endpoint, content_length);
        let month = Month::of_ms(now_ms()).to_string();
        let key_hold = match key_id {
            Some(key_id) => match self.cached_key_limit(key_id).await? {
                Some(limit) => {
                    let account = Account::Key(key_id.to_owned());
                    Some(self.hold(&account, &month, amount.0, Some(limit.0)).await?)
                }
                None => None,
            },
            None => None,
        };
        let account = Account::Tenant(tenant_id.to_owned());
        let hard_limit = terms.hard_limit.map(|n| n.0);
        let hold = match self.hold(&account, &month, amount.0, hard_limit).await {
            Ok(hold) => hold,
            Err(e) => {
                if let Some(key_hold) = &key_hold {
                    key_hold.release();
                }
                return Err(e);
            }
        };
        Ok(Reservation(Arc::new(Held {
            billing: self.clone(),
            hold,
            key_hold,
            plan: terms.plan.clone(),
            amount,
            done: AtomicBool::new(false),
        })))
    }

    /// Hold `amount` on `account`'s book; refused, once more after
    /// releasing expired reservations — leases of dead gateways may be
    /// what fills the budget.
    async fn hold(
        &self,
        account: &Account,
        month: &str,
        amount: i64,
        hard_limit: Option<i64>,
    ) -> Result<Hold, BillingError> {
        let ledger = &self.inner.ledger;
        match ledger.hold(account, month, amount, hard_limit).await {
            Err(BillingError::Exhausted | BillingError::KeyExhausted) => {
                self.sweep(now_ms()).await?;
                ledger.hold(account, month, amount, hard_limit).await
            }
            other => other,
        }
    }

    /// Release reservations that expired before `now_ms`.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, BillingError> {
        let released = self.store().release_expired_budgets(now_ms).await?;
        if released > 0 {
            tracing::info!(released, "released expired budget reservations");
        }
        Ok(released)
    }

    /// A job's submit was recorded: charge the submit's own cost and hand
    /// the rest of its hold on to the job `job` it queued (see [`jobs`]).
    async fn hand_to_job(&self, held: &Held, cost: Nanos, job: &jobs::Queued) {
        let plan = self.catalog().plan(Some(&held.plan));
        let now = now_ms();
        let amount = job.max_cost(plan).0;
        let expires = now.saturating_add(self.reservation_ttl_ms());
        // The key's part first, as requests hold: its reservation has an
        // id of its own, ended with the tenant's.
        let holds = held
            .key_hold
            .iter()
            .map(|hold| (hold, jobs::key_reservation_id(&job.id)))
            .chain([(&held.hold, jobs::reservation_id(&job.id))]);
        for (hold, id) in holds {
            let reservation = NewReservation {
                id: &id,
                account_id: hold.account().id(),
                month: hold.month(),
                amount_nanos: amount,
                now_ms: now,
                expires_at_ms: expires,
            };
            hold.hand_to_job(cost.0, &reservation, self.store()).await;
        }
    }

    fn reservation_ttl_ms(&self) -> i64 {
        i64::try_from(self.inner.config.reservation_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    async fn alert_if_crossed(
        &self,
        tenant_id: &str,
        month: &str,
        terms: &TenantTerms,
        row: &MonthRow,
    ) -> Result<(), BillingError> {
        for (threshold, limit, kind) in [
            (
                Threshold::Soft,
                terms.soft_limit,
                "budget.soft_limit_reached",
            ),
            (
                Threshold::Hard,
                terms.hard_limit,
                "budget.hard_limit_reached",
            ),
        ] {
            let Some(limit) = limit else { continue };
            let already = match threshold {
                Threshold::Soft => row.soft_alerted_at_ms.is_some(),
                Threshold::Hard => row.hard_alerted_at_ms.is_some(),
            };
            if already || row.spent_nanos < limit.0 {
                continue;
            }
            if self
                .store()
                .claim_budget_alert(tenant_id, month, threshold, limit.0, now_ms())
                .await?
            {
                tracing::warn!(tenant_id, month, kind, limit = %limit, "budget threshold reached");
                if let Some(webhook) = self.inner.config.webhook.clone() {
                    let body = serde_json::json!({
                        "type": kind,
                        "tenant_id": tenant_id,
                        "month": month,
                        "currency": self.catalog().currency,
                        "limit": limit,
                        "spent": Nanos(row.spent_nanos),
                        "time": crate::metering::time::format_rfc3339(now_ms()),
                    });
                    let http = self.inner.http.clone();
                    tokio::spawn(deliver(http, webhook, kind, body));
                }
            }
        }
        Ok(())
    }

    /// The budget view of `tenant_id` for the current month.
    pub async fn budget(&self, tenant_id: &str) -> Result<api::BudgetView, BillingError> {
        let terms = self.terms(tenant_id).await?;
        let month = Month::of_ms(now_ms());
        let row = self
            .store()
            .budget_month(tenant_id, &month.to_string())
            .await?
            .unwrap_or_default();
        Ok(api::BudgetView::new(
            tenant_id,
            month,
            &self.catalog().currency,
            terms,
            &row,
        ))
    }

    /// Key `key_id` (of `tenant_id`)'s own budget this month. A key with a
    /// budget shows its book's month; one without, its priced spend.
    pub async fn key_budget(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<api::KeyBudgetView, BillingError> {
        let month = Month::of_ms(now_ms());
        let hard_limit = self.key_limit(key_id).await?;
        let row = match hard_limit {
            Some(_) => self
                .store()
                .budget_month(key_id, &month.to_string())
                .await?
                .unwrap_or_default(),
            None => MonthRow {
                spent_nanos: self.key_spend(tenant_id, key_id, month).await?.0,
                ..MonthRow::default()
            },
        };
        Ok(api::KeyBudgetView::new(
            tenant_id,
            key_id,
            month,
            &self.catalog().currency,
            hard_limit,
            &row,
        ))
    }

    /// Key `key_id`'s own budget if it has one: what `GET
    /// /v1/billing/budget` shows a key. Only its book's row is read (a
    /// key without a budget would need its month's events priced).
    pub async fn own_key_budget(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> Result<Option<api::KeyBudgetView>, BillingError> {
        if self.key_limit(key_id).await?.is_none() {
            return Ok(None);
        }
        self.key_budget(tenant_id, key_id).await.map(Some)
    }

    /// What key `key_id` spent in `month`: its usage events priced as the
    /// invoice prices them.
    async fn key_spend(
        &self,
        tenant_id: &str,
        key_id: &str,
        month: Month,
    ) -> Result<Nanos, BillingError> {
        let breakdown = self.breakdown(tenant_id, month).await?;
        Ok(breakdown
            .by_key
            .get(&Some(key_id.to_owned()))
            .copied()
            .unwrap_or(Nanos::ZERO))
    }

    /// Give key `key_id` of `tenant_id` a monthly hard limit of its own
    /// (`None`: none). A new limit starts the key's month from what it
    /// spent so far, so a budget set mid-month counts that spend.
    pub async fn set_key_budget(
        &self,
        tenant_id: &str,
        key_id: &str,
        hard_limit: Option<Nanos>,
    ) -> Result<(), BillingError> {
        if hard_limit.is_some() {
            let month = Month::of_ms(now_ms());
            let spent = self.key_spend(tenant_id, key_id, month).await?;
            self.store()
                .raise_month_spend(key_id, &month.to_string(), spent.0)
                .await?;
        }
        self.store()
            .set_key_budget(tenant_id, key_id, hard_limit.map(|n| n.0))
            .await?;
        self.inner.ledger.forget_key_limit(key_id);
        Ok(())
    }

    /// Where `tenant_id`'s spend in `month` went (per day and model, per
    /// key), priced with its plan exactly as its draft invoice is.
    pub async fn breakdown(
        &self,
        tenant_id: &str,
        month: Month,
    ) -> Result<breakdown::Breakdown, BillingError> {
        let terms = self.terms(tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        Ok(breakdown::compute(self.store(), tenant_id, month, plan).await?)
    }

    /// `tenant_id`'s invoice for `month`: a draft while the month is not
    /// over, else the closed one (closing it now if nobody has).
    pub async fn invoice(
        &self,
        tenant_id: &str,
        month: Month,
        now_ms: i64,
    ) -> Result<invoice::Invoice, BillingError> {
        // A stored invoice is final, whenever it was closed.
        if month < Month::of_ms(now_ms)
            && let Some(row) = self.store().invoice(tenant_id, &month.to_string()).await?
        {
            return invoice::from_row(&row).map_err(|e| BillingError::Corrupt(e.to_string()));
        }
        if invoice::is_closed(month, now_ms) {
            self.close(tenant_id, month, now_ms).await?;
            let row = self
                .store()
                .invoice(tenant_id, &month.to_string())
                .await?
                .ok_or_else(|| BillingError::Corrupt("closed invoice vanished".into()))?;
            return invoice::from_row(&row).map_err(|e| BillingError::Corrupt(e.to_string()));
        }
        let terms = self.terms(tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        let (lines, subtotal) = invoice::compute(self.store(), tenant_id, month, plan).await?;
        Ok(invoice::draft(
            tenant_id,
            month,
            &self.catalog().currency,
            &plan.name,
            lines,
            subtotal,
        ))
    }

    async fn close(&self, tenant_id: &str, month: Month, now_ms: i64) -> Result<(), BillingError> {
        let terms = self.terms(tenant_id).await?;
        let plan = self.catalog().plan(Some(&terms.plan));
        let (lines, subtotal) = invoice::compute(self.store(), tenant_id, month, plan).await?;
        let lines =
            serde_json::to_string(&lines).map_err(|e| BillingError::Corrupt(e.to_string()))?;
        self.store()
            .insert_invoice(&crate::store::billing::InvoiceRow {
                id: invoice::invoice_id(tenant_id, month),
                tenant_id: tenant_id.to_owned(),
                month: month.to_string(),
                currency: self.catalog().currency.clone(),
                plan: plan.name.clone(),
                subtotal_nanos: subtotal.0,
                lines,
                closed_at_ms: now_ms,
            })
            .await?;
        Ok(())
    }

    /// Close the invoices of the last finished month for every tenant that
    /// used something in it, so later price changes cannot reach them
    /// even if nobody reads them first.
    pub async fn close_finished_months(&self, now_ms: i64) -> Result<(), BillingError> {
        let last = Month::of_ms(now_ms).prev();
        if !invoice::is_closed(last, now_ms) {
            return Ok(());
        }
        let tenants = self
            .store()
            .tenants_with_usage(last.start_ms(), last.end_ms())
            .await?;
        for tenant in tenants {
            if self
                .store()
                .invoice(&tenant, &last.to_string())
                .await?
                .is_none()
            {
                self.close(&tenant, last, now_ms).await?;
            }
        }
        Ok(())
    }

    /// `tenant_id`'s invoice called `id`, as of `now_ms`. Only the tenant's
    /// own ids resolve (an id is a digest of tenant and month), and a
    /// future month has no invoice: anything else is `NotFound`, so one
    /// tenant cannot learn whether another's invoice exists.
    pub async fn invoice_by_id(
        &self,
        tenant_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<invoice::Invoice, BillingError> {
        let month = invoice::month_of_id(tenant_id, id)
            .filter(|m| *m <= Month::of_ms(now_ms))
            .ok_or_else(|| {
                BillingError::NotFound(format!(
                    "no invoice `{}`",
                    crate::metering::event::bounded(id)
                ))
            })?;
        self.invoice(tenant_id, month, now_ms).await
    }

    /// `tenant_id`'s invoices, newest first: every month since its first
    /// usage (at most `limit`), the current one a draft.
    pub async fn invoices(
        &self,
        tenant_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<invoice::Invoice>, BillingError> {
        let current = Month::of_ms(now_ms);
        let first = self
            .store()
            .first_usage_ms(tenant_id)
            .await?
            .map_or(current, Month::of_ms);
        let mut out = Vec::new();
        let mut month = current;
        while month >= first && out.len() < limit {
            out.push(self.invoice(tenant_id, month, now_ms).await?);
            month = month.prev();
        }
        Ok(out)
    }
}

/// POST a signed alert, retrying (three tries, doubling waits).
async fn deliver(
    http: reqwest::Client,
    webhook: AlertWebhook,
    kind: &'static str,
    body: serde_json::Value,
) {
    use stratus_speech::jobs::webhook::{EVENT_HEADER, SIGNATURE_HEADER, sign};
    // An IP-literal host never reaches the client's resolver: check it here.
    if let Err(e) = webhook.policy.check_url(&webhook.url) {
        tracing::warn!(error = %e, kind, "budget webhook destination refused; not sent");
        return;
    }
    let bytes = body.to_string().into_bytes();
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=3 {
        let signature = sign(
            std::slice::from_ref(&webhook.secret),
            now_ms() / 1000,
            &bytes,
        );
        let sent = http
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header(EVENT_HEADER, kind)
            .header(SIGNATURE_HEADER, signature)
            .body(bytes.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(attempt, status = %r.status(), kind, "budget webhook refused"),
            Err(e) => tracing::warn!(attempt, error = %e, kind, "budget webhook failed"),
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// An open hold on the tenant's budget. Settled by metering (through the
/// [`OnRecorded`] it gives), else released when the last handle drops.
#[derive(Debug, Clone)]
pub struct Reservation(Arc<Held>);

#[derive(Debug)]
struct Held {
    billing: Billing,
    /// On the tenant's book.
    hold: Hold,
    /// On the key's own book, when the key has a budget.
    key_hold: Option<Hold>,
    plan: String,
    amount: Nanos,
    done: AtomicBool,
}

impl Reservation {
    /// What was held.
    pub fn amount(&self) -> Nanos {
        self.0.amount
    }

    /// The hook metering calls with the request's event.
    pub fn on_recorded(&self) -> OnRecorded {
        let held = self.0.clone();
        OnRecorded::new(move |event, headers| {
            if held.done.swap(true, Ordering::SeqCst) {
                return;
            }
            let cost = held.billing.catalog().plan(Some(&held.plan)).cost(event);
            let queued =
                jobs::Queued::from_headers(headers).filter(|_| catalog::is_billable(event.status));
            match queued {
                // In memory: no task, no store.
                None => {
                    held.hold.settle(cost.0);
                    if let Some(key_hold) = &held.key_hold {
                        key_hold.settle(cost.0);
                    }
                }
                Some(job) => {
                    let held = held.clone();
                    tokio::spawn(async move { held.billing.hand_to_job(&held, cost, &job).await });
                }
            }
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.done.swap(true, Ordering::SeqCst) {
            self.hold.release();
            if let Some(key_hold) = &self.key_hold {
                key_hold.release();
            }
        }
    }
}

/// The service a metered path forwards to.
fn service_of(path: &str) -> &'static str {
    if path.starts_with("/v1/audio") {
        "speech"
    } else {
        "language"
    }
}

/// Reserve before a metered request runs (see the module doc). With no
/// [`Billing`], or no authenticated caller, it passes requests through.
pub async fn middleware(
    State(billing): State<Option<Billing>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(billing) = billing else {
        return next.run(request).await;
    };
    let Some((tenant_id, key_id)) = request
        .extensions()
        .get::<Principal>()
        .map(|p| (p.tenant_id.clone(), p.key_id.clone()))
    else {
        return next.run(request).await;
    };
    let content_length = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut service = service_of(request.uri().path());
    // A request without a body (a job poll, a cancel) carries no audio or
    // text to bill: reserve only its per-request price.
    let bodiless = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS
    );
    let content_length = if bodiless {
        service = "none";
        Some(0)
    } else {
        content_length
    };
    let endpoint = request.uri().path().to_owned();
    let reservation = match billing
        .reserve(
            &tenant_id,
            key_id.as_deref(),
            service,
            &endpoint,
            content_length,
        )
        .await
    {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, BillingError::Exhausted | BillingError::KeyExhausted) {
                record_rejection(Rejection::Budget);
            }
            drain(request.into_body()).await;
            return ApiError::from(e).into_response();
        }
    };
    request.extensions_mut().insert(reservation.on_recorded());
    request.extensions_mut().insert(reservation.clone());
    next.run(request).await
}

/// Most of a refused request's body read before answering.
const DRAIN_BYTES: usize = 1024 * 1024;
/// Longest wait for it.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Read and drop what is left of a refused request's upload, up to
/// [`DRAIN_BYTES`] and [`DRAIN_TIME`]: answering at once and closing with
/// the upload still arriving makes the client's write fail (a broken pipe)
/// before it reads the 429, so a small upload is taken in first — what a
/// server's lingering close does. A large one is still cut.
async fn drain(body: axum::body::Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while read <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_speech::jobs::webhook::WebhookSecret;

    /// The budget alert follows the job webhooks' policy: a loopback URL
    /// (an operator's typo or an old config) is refused before any
    /// connection.
    #[tokio::test]
    async fn alerts_go_only_where_the_destination_policy_allows() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let webhook = AlertWebhook {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            secret: WebhookSecret::new("s"),
            policy: DestinationPolicy::new().allow_http(true),
        };
        let http = webhook.policy.client_builder().build().unwrap();
        let body = serde_json::json!({"type": "budget.soft_limit_reached"});
        tokio::time::timeout(
            Duration::from_secs(5),
            deliver(http, webhook, "budget.soft_limit_reached", body),
        )
        .await
        .unwrap();
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was made");
    }
}
