//! Limits: per API key and per tenant, requests per minute, units per
//! minute (tokens for language, audio seconds for speech) and concurrent
//! requests, on every route that forwards to a service.
//!
//! ## Where it runs
//! [`middleware`] wraps the forwarded (metered) routes inside the scope
//! check, so it sees an authenticated [`Principal`]: per request it checks
//! the key's buckets and its tenant's (a dashboard session has no key: only
//! the tenant's), answers 429 if one is spent, and otherwise adds the
//! rate-limit headers to the response and holds the concurrency slots until
//! the response body has finished streaming.
//!
//! ## The arithmetic
//! Rates are GCRA buckets ([`gcra`]): a limit of N per minute allows a
//! burst of N, then one every minute / N. Requests are taken when the
//! request arrives. Units are only known once the service has answered, so
//! a request is let in while its units bucket is not exhausted, and the
//! units the service reported are debited when metering records the usage
//! event ([`UsageHook`], called from `Meter::record`): a large answer can
//! run the bucket into debt, and later requests wait it off. Tokens are the
//! `x-stratus-usage-input-tokens` a language response reports; audio is the
//! `x-stratus-usage-audio-seconds` of a speech response (kept in
//! milliseconds in the bucket).
//!
//! ## Headers (OpenAI's names, plus one family for audio)
//! On every answer of a route with a limit, success and 429 alike, for each
//! limited family (the tighter of key and tenant is shown):
//! - `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`,
//!   `x-ratelimit-reset-requests`
//! - language routes: `x-ratelimit-limit-tokens`,
//!   `x-ratelimit-remaining-tokens`, `x-ratelimit-reset-tokens`
//! - speech routes: `x-ratelimit-limit-audio-seconds`,
//!   `x-ratelimit-remaining-audio-seconds`, `x-ratelimit-reset-audio-seconds`
//!
//! `reset` is the time until the bucket is full again, written as OpenAI
//! does (`20ms`, `1.5s`, `6m0s`). A 429 carries `Retry-After` in whole
//! seconds (rounded up), the error code `rate_limit_exceeded` and a
//! message naming the limit; it is counted in
//! `stratus_gateway_rejections_total{reason=rate_limit|units_limit|concurrency_limit}`.
//!
//! ## Where limits come from
//! Per tenant and per key rows in the store (`PUT /v1/admin/tenants/{id}/limits`,
//! `…/keys/{key_id}/limits`, `stratus tenants limits`, `stratus keys limits`;
//! see [`admin`]), each field falling back to the server-wide default
//! (`--default-tenant-limits`, `--default-key-limits`). Rows are cached for
//! at most [`cache::TTL`] (a write through this gateway invalidates at
//! once), so a change takes effect on every replica within a second,
//! without a restart and without a database query per request.
//!
//! ## Backends
//! - in-process ([`local`], the default): sharded maps, no lock shared by
//!   all tenants; right for one gateway.
//! - Redis ([`redis`], `--redis redis://…`): every check is one atomic Lua
//!   script over all of the request's buckets, on the Redis server's clock,
//!   so N gateways share exactly one budget. If Redis cannot be reached,
//!   `--limits-on-redis-failure` decides: `local` (default) falls back to
//!   this gateway's own buckets — limits then hold per replica instead of
//!   across them, and the API stays up, because rate limits protect
//!   capacity and an outage of the limiter should not become an outage of
//!   the service; `refuse` answers 503 instead, for deployments where a
//!   limit must never be exceeded.
//!
//! ## The edge's share per tenant
//! A tenant whose concurrency no row and no `--default-tenant-limits` sets
//! still has one: the edge's per-tenant share of the in-flight cap
//! ([`crate::EdgeConfig::tenant_in_flight`], half of `--max-in-flight`
//! unless `--max-in-flight-per-tenant` says otherwise), handed in by the
//! router as [`Gate::default_tenant_concurrency`]. Without it the first
//! limit a tenant met was the global cap: one tenant's slow uploads (a
//! slot is held from the headers to the end of the response, so an upload
//! counts for as long as it trickles) took every slot and every other
//! tenant got 503. With it, that tenant gets 429 past its share and the
//! rest of the edge keeps serving the others.
//!
//! Concurrency counts are per gateway process in both backends (a slot is
//! released when the response body ends; a counter in Redis would leak
//! slots whenever a gateway dies mid-request).

pub mod admin;
pub mod cache;
pub mod gcra;
pub mod local;
pub mod redis;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use crate::auth::Principal;
use crate::metering::UsageEvent;
use crate::observability::metrics::{Rejection, record_rejection};
use crate::routing::body::GuardedBody;
use crate::store::Store;
use crate::store::limits::LimitScope;
use gcra::{Decision, Mode, Rate};

/// Largest limit one may set (per minute, or concurrent). The Redis
/// backend counts time in 100 ns ticks in Lua's doubles: up to this many
/// per minute its arithmetic stays exact.
pub const MAX_LIMIT: u64 = 100_000_000;

/// One subject's limits; `None` is no limit at this level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Requests a minute (a burst of this many, then evenly spread).
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    /// Input tokens a minute on language routes, as the service reports them.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Seconds of audio a minute on speech routes, as the service reports them.
    #[serde(default)]
    pub audio_seconds_per_minute: Option<u64>,
    /// Requests in progress at once (a streamed response counts until it ends).
    #[serde(default)]
    pub concurrent_requests: Option<u64>,
}

/// A limit outside `1..=MAX_LIMIT`, or an unreadable default.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadLimit(pub String);

impl LimitSpec {
    /// Each field, by its name.
    fn fields(&self) -> [(&'static str, Option<u64>); 4] {
        [
            ("requests_per_minute", self.requests_per_minute),
            ("tokens_per_minute", self.tokens_per_minute),
            ("audio_seconds_per_minute", self.audio_seconds_per_minute),
            ("concurrent_requests", self.concurrent_requests),
        ]
    }

    /// Every set limit is within `1..=MAX_LIMIT`.
    pub fn validate(&self) -> Result<(), BadLimit> {
        for (name, value) in self.fields() {
            if let Some(v) = value
                && !(1..=MAX_LIMIT).contains(&v)
            {
                return Err(BadLimit(format!(
                    "`{name}` must be 1 to {MAX_LIMIT} (leave it out or null for the server default)"
                )));
            }
        }
        Ok(())
    }

    /// `self`, with the fields it leaves unset taken from `fallback`.
    pub fn or(self, fallback: LimitSpec) -> LimitSpec {
        LimitSpec {
            requests_per_minute: self.requests_per_minute.or(fallback.requests_per_minute),
            tokens_per_minute: self.tokens_per_minute.or(fallback.tokens_per_minute),
            audio_seconds_per_minute: self
                .audio_seconds_per_minute
                .or(fallback.audio_seconds_per_minute),
            concurrent_requests: self.concurrent_requests.or(fallback.concurrent_requests),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }
}

/// `requests_per_minute=600,tokens_per_minute=100000,…` (the config's
/// syntax for the server-wide defaults); empty is no limit.
impl FromStr for LimitSpec {
    type Err = BadLimit;

    fn from_str(text: &str) -> Result<Self, BadLimit> {
        let mut spec = LimitSpec::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| BadLimit(format!("`{part}` is not NAME=NUMBER")))?;
            let value: u64 = value
                .trim()
                .parse()
                .map_err(|_| BadLimit(format!("`{part}`: not a whole number")))?;
            let slot = match name.trim() {
                "requests_per_minute" => &mut spec.requests_per_minute,
                "tokens_per_minute" => &mut spec.tokens_per_minute,
                "audio_seconds_per_minute" => &mut spec.audio_seconds_per_minute,
                "concurrent_requests" => &mut spec.concurrent_requests,
                other => {
                    return Err(BadLimit(format!(
                        "unknown limit `{other}` (requests_per_minute, tokens_per_minute, audio_seconds_per_minute, concurrent_requests)"
                    )));
                }
            };
            *slot = Some(value);
        }
        spec.validate()?;
        Ok(spec)
    }
}

impl fmt::Display for LimitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .fields()
            .iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name}={v}")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// What the service reports as units for a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Language: input tokens.
    Tokens,
    /// Speech: audio, counted in milliseconds, shown in seconds.
    Audio,
}

impl Unit {
    /// The unit of a forwarded route: audio under `/v1/audio/`, tokens
    /// elsewhere (embeddings, `/v1/language/…`).
    pub fn of_route(path: &str) -> Unit {
        if path.starts_with("/v1/audio") {
            Unit::Audio
        } else {
            Unit::Tokens
        }
    }

    fn of_service(service: &str) -> Option<Unit> {
        match service {
            "speech" => Some(Unit::Audio),
            "language" => Some(Unit::Tokens),
            _ => None,
        }
    }

    /// The header family (`x-ratelimit-*-tokens`).
    fn family(self) -> &'static str {
        match self {
            Unit::Tokens => "tokens",
            Unit::Audio => "audio-seconds",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Unit::Tokens => "tok",
            Unit::Audio => "aud",
        }
    }

    /// Bucket units per shown unit.
    fn scale(self) -> u64 {
        match self {
            Unit::Tokens => 1,
            Unit::Audio => 1000,
        }
    }

    fn limit_of(self, spec: &LimitSpec) -> Option<u64> {
        match self {
            Unit::Tokens => spec.tokens_per_minute,
            Unit::Audio => spec.audio_seconds_per_minute,
        }
    }
}

/// What to do when the Redis backend cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisFailure {
    /// Use this gateway's in-process buckets until Redis is back.
    #[default]
    Local,
    /// Answer 503.
    Refuse,
}

/// Where the buckets live.
#[derive(Debug, Clone, Default)]
pub enum BackendConfig {
    #[default]
    InProcess,
    Redis {
        url: String,
        /// Prefix of every Redis key (several deployments may share a Redis).
        prefix: String,
        on_failure: RedisFailure,
    },
}

/// How limits are set up.
#[derive(Debug, Clone, Default)]
pub struct LimitsConfig {
    /// Limits of a key with no row of its own (per field).
    pub default_key: LimitSpec,
    /// Limits of a tenant with no row of its own (per field).
    pub default_tenant: LimitSpec,
    pub backend: BackendConfig,
}

/// What can go wrong setting limits up.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("rate-limit Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error(transparent)]
    Bad(#[from] BadLimit),
}

/// One operation on one bucket (what the backends apply).
#[derive(Debug, Clone)]
pub struct Op {
    /// Bucket id without the backend's prefix (`k:<key>:req`).
    pub bucket: String,
    pub rate: Rate,
    pub cost: u64,
    pub mode: Mode,
}

#[derive(Debug)]
enum Backend {
    Local(local::Buckets),
    Redis(redis::RedisBuckets, RedisFailure),
}

/// The limiter; cheap to clone. One per gateway (two gateways in one test
/// process have two).
#[derive(Clone)]
pub struct Limits {
    inner: Arc<Inner>,
}

struct Inner {
    store: Option<Store>,
    config: LimitsConfig,
    cache: cache::LimitCache,
    backend: Backend,
    /// The in-process buckets also serve as the fallback of Redis.
    fallback: local::Buckets,
    concurrency: local::Counters,
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

/// One minute, in each backend's ticks.
const MINUTE: Duration = Duration::from_secs(60);

impl Limits {
    /// Limits read from `store` (rows cached) with `config`'s defaults and
    /// backend. Connects to Redis if configured (failing if it cannot:
    /// a wrong URL should stop the start, not surface at the first request).
    pub async fn new(store: Store, config: LimitsConfig) -> Result<Limits, LimitsError> {
        config.default_key.validate()?;
        config.default_tenant.validate()?;
        let backend = match &config.backend {
            BackendConfig::InProcess => Backend::Local(local::Buckets::default()),
            BackendConfig::Redis {
                url,
                prefix,
                on_failure,
            } => Backend::Redis(
                redis::RedisBuckets::connect(url, prefix).await?,
                *on_failure,
            ),
        };
        Ok(Limits {
            inner: Arc::new(Inner {
                store: Some(store),
                config,
                cache: cache::LimitCache::default(),
                backend,
                fallback: local::Buckets::default(),
                concurrency: local::Counters::default(),
            }),
        })
    }

    /// No limits at all (tests of other parts, and a gateway without a
    /// store): every request passes, no headers are added.
    pub fn disabled() -> Limits {
        Limits {
            inner: Arc::new(Inner {
                store: None,
                config: LimitsConfig::default(),
                cache: cache::LimitCache::default(),
                backend: Backend::Local(local::Buckets::default()),
                fallback: local::Buckets::default(),
                concurrency: local::Counters::default(),
            }),
        }
    }

    /// Forget the cached row of a subject (after a write through this gateway).
    pub fn invalidate(&self, scope: LimitScope, subject_id: &str) {
        self.inner.cache.invalidate(scope, subject_id);
    }

    /// The limits in force for a subject: its row, field by field falling
    /// back to the server default.
    async fn effective(&self, scope: LimitScope, subject_id: &str) -> Result<LimitSpec, Refusal> {
        let default = match scope {
            LimitScope::Tenant => self.inner.config.default_tenant,
            LimitScope::Key => self.inner.config.default_key,
        };
        let Some(store) = &self.inner.store else {
            return Ok(default);
        };
        let own = self
            .inner
            .cache
            .get(store, scope, subject_id)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "limits store unavailable");
                Refusal::unavailable("the limits store is unavailable")
            })?;
        Ok(own.unwrap_or_default().or(default))
    }

    /// The cached limits only (no store query): the debit after a response
    /// runs where the check before it has just filled the cache.
    fn effective_cached(&self, scope: LimitScope, subject_id: &str) -> LimitSpec {
        let default = match scope {
            LimitScope::Tenant => self.inner.config.default_tenant,
            LimitScope::Key => self.inner.config.default_key,
        };
        self.inner
            .cache
            .peek(scope, subject_id)
            .unwrap_or_default()
            .or(default)
    }

    /// Check a request of `principal` on a route of `unit`; a tenant with
    /// no concurrency limit of its own or by default gets
    /// `default_tenant_concurrency`.
    pub async fn admit(
        &self,
        principal: &Principal,
        unit: Unit,
        default_tenant_concurrency: Option<u64>,
    ) -> Result<Admission, Refusal> {
        if self.inner.store.is_none() {
            return Ok(Admission::default());
        }
        let mut subjects = Vec::with_capacity(2);
        if let Some(key) = &principal.key_id {
            subjects.push((LimitScope::Key, key.as_str()));
        }
        subjects.push((LimitScope::Tenant, principal.tenant_id.as_str()));

        let mut ops = Vec::with_capacity(4);
        // Which header family and subject each op is.
        let mut shown: Vec<(Family, LimitScope, usize)> = Vec::with_capacity(4);
        let mut concurrency = Vec::new();
        for (scope, id) in &subjects {
            let spec = self.effective(*scope, id).await?;
            let tag = scope_tag(*scope);
            if let Some(limit) = spec.requests_per_minute {
                shown.push((Family::Requests, *scope, ops.len()));
                ops.push(Op {
                    bucket: format!("{tag}:{id}:req"),
                    rate: Rate { limit, period: 0 },
                    cost: 1,
                    mode: Mode::Take,
                });
            }
            if let Some(limit) = unit.limit_of(&spec) {
                shown.push((Family::Units(unit), *scope, ops.len()));
                ops.push(Op {
                    bucket: format!("{tag}:{id}:{}", unit.tag()),
                    rate: Rate {
                        limit: limit.saturating_mul(unit.scale()),
                        period: 0,
                    },
                    cost: 1,
                    mode: Mode::Peek,
                });
            }
            let concurrent = match scope {
                LimitScope::Tenant => spec.concurrent_requests.or(default_tenant_concurrency),
                LimitScope::Key => spec.concurrent_requests,
            };
            if let Some(limit) = concurrent {
                concurrency.push((format!("{tag}:{id}"), limit));
            }
        }

        let decisions = if ops.is_empty() {
            Vec::new()
        } else {
            self.run(ops).await?
        };
        let headers = rate_headers(&shown, &decisions);
        if let Some((family, scope, index)) =
            shown.iter().find(|(_, _, i)| !decisions[*i].0.allowed)
        {
            let (decision, op) = &decisions[*index];
            let (reason, what) = match family {
                Family::Requests => (Rejection::RateLimit, "requests per minute".to_owned()),
                Family::Units(unit) => (
                    Rejection::UnitsLimit,
                    format!("{} per minute", unit.family().replace('-', " ")),
                ),
            };
            record_rejection(reason);
            let level = match scope {
                LimitScope::Key => "API key",
                LimitScope::Tenant => "organization",
            };
            return Err(Refusal {
                error: ApiError::rate_limited(
                    format!(
                        "rate limit reached for this {level}: {what}; retry after the time in Retry-After"
                    ),
                    retry_seconds(ticks_to_duration(decision.retry_after, op.rate.period)),
                ),
                headers,
            });
        }

        let mut guards = Vec::with_capacity(concurrency.len());
        for (subject, limit) in concurrency {
            match self.inner.concurrency.acquire(&subject, limit) {
                Some(guard) => guards.push(guard),
                None => {
                    record_rejection(Rejection::ConcurrencyLimit);
                    // Give back the requests this one took.
                    self.refund(&shown, &decisions);
                    return Err(Refusal {
                        error: ApiError::rate_limited(
                            format!(
                                "too many concurrent requests (limit {limit}) for this {}; retry when one finishes",
                                if subject.starts_with("k:") {
                                    "API key"
                                } else {
                                    "organization"
                                }
                            ),
                            1,
                        ),
                        headers,
                    });
                }
            }
        }
        Ok(Admission { headers, guards })
    }

    /// Undo the requests taken by an admission refused afterwards (by
    /// concurrency): best effort, in-process only — a refund in Redis
    /// would need its own round trip and could pay back a bucket another
    /// gateway has since refilled.
    fn refund(&self, shown: &[(Family, LimitScope, usize)], decisions: &[(Decision, Op)]) {
        let buckets = match &self.inner.backend {
            Backend::Local(b) => b,
            Backend::Redis(..) => return,
        };
        for (family, _, index) in shown {
            if *family == Family::Requests {
                let (_, op) = &decisions[*index];
                buckets.refund(op);
            }
        }
    }

    /// Run `ops` on the backend (falling back as configured).
    async fn run(&self, mut ops: Vec<Op>) -> Result<Vec<(Decision, Op)>, Refusal> {
        match &self.inner.backend {
            Backend::Local(buckets) => {
                for op in &mut ops {
                    op.rate.period = local::ticks(MINUTE);
                }
                Ok(buckets.apply(ops))
            }
            Backend::Redis(shared, on_failure) => {
                for op in &mut ops {
                    op.rate.period = redis::ticks(MINUTE);
                }
                match shared.apply(&ops).await {
                    Ok(decisions) => Ok(decisions.into_iter().zip(ops).collect()),
                    Err(e) => {
                        tracing::warn!(error = %e, "rate-limit Redis unavailable");
                        match on_failure {
                            RedisFailure::Refuse => Err(Refusal::unavailable(
                                "the rate limiter is unavailable; retry shortly",
                            )),
                            RedisFailure::Local => {
                                for op in &mut ops {
                                    op.rate.period = local::ticks(MINUTE);
                                }
                                Ok(self.inner.fallback.apply(ops))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Debit the units `event` reports from its key's and tenant's units
    /// buckets (called when metering records the event).
    pub async fn debit(&self, event: &UsageEvent) {
        if let Some(ops) = self.debit_ops(event) {
            self.apply_debit(ops).await;
        }
    }

    fn debit_ops(&self, event: &UsageEvent) -> Option<Vec<Op>> {
        self.inner.store.as_ref()?;
        let unit = Unit::of_service(&event.service)?;
        let cost = match unit {
            Unit::Tokens => event.units.input_tokens,
            Unit::Audio => event.units.audio_ms,
        };
        let cost = u64::try_from(cost).ok().filter(|c| *c > 0)?;
        let mut subjects = Vec::with_capacity(2);
        if let Some(key) = &event.key_id {
            subjects.push((LimitScope::Key, key.as_str()));
        }
        subjects.push((LimitScope::Tenant, event.tenant_id.as_str()));
        let ops: Vec<Op> = subjects
            .into_iter()
            .filter_map(|(scope, id)| {
                let limit = unit.limit_of(&self.effective_cached(scope, id))?;
                Some(Op {
                    bucket: format!("{}:{id}:{}", scope_tag(scope), unit.tag()),
                    rate: Rate {
                        limit: limit.saturating_mul(unit.scale()),
                        period: 0,
                    },
                    cost,
                    mode: Mode::Debit,
                })
            })
            .collect();
        (!ops.is_empty()).then_some(ops)
    }

    async fn apply_debit(&self, mut ops: Vec<Op>) {
        match &self.inner.backend {
            Backend::Local(buckets) => {
                for op in &mut ops {
                    op.rate.period = local::ticks(MINUTE);
                }
                buckets.apply(ops);
            }
            Backend::Redis(shared, _) => {
                for op in &mut ops {
                    op.rate.period = redis::ticks(MINUTE);
                }
                if let Err(e) = shared.apply(&ops).await {
                    tracing::warn!(error = %e, "rate-limit Redis unavailable; units debited locally");
                    for op in &mut ops {
                        op.rate.period = local::ticks(MINUTE);
                    }
                    self.inner.fallback.apply(ops);
                }
            }
        }
    }
}

fn scope_tag(scope: LimitScope) -> &'static str {
    match scope {
        LimitScope::Key => "k",
        LimitScope::Tenant => "t",
    }
}

/// A header family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Requests,
    Units(Unit),
}

impl Family {
    fn suffix(self) -> &'static str {
        match self {
            Family::Requests => "requests",
            Family::Units(unit) => unit.family(),
        }
    }

    fn scale(self) -> u64 {
        match self {
            Family::Requests => 1,
            Family::Units(unit) => unit.scale(),
        }
    }
}

/// The `x-ratelimit-*` headers: per family, the bucket with the least
/// remaining (a refused one first).
fn rate_headers(shown: &[(Family, LimitScope, usize)], decisions: &[(Decision, Op)]) -> HeaderMap {
    let mut tightest: Vec<(Family, &Decision, &Op)> = Vec::with_capacity(2);
    for (family, _, index) in shown {
        let (decision, op) = &decisions[*index];
        match tightest.iter_mut().find(|(f, _, _)| f == family) {
            Some(slot) => {
                let worse = (!decision.allowed && slot.1.allowed)
                    || (decision.allowed == slot.1.allowed
                        && decision.remaining < slot.1.remaining);
                if worse {
                    *slot = (*family, decision, op);
                }
            }
            None => tightest.push((*family, decision, op)),
        }
    }
    let mut headers = HeaderMap::new();
    for (family, decision, op) in tightest {
        let suffix = family.suffix();
        let scale = family.scale();
        let mut put = |what: &str, value: String| {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(format!("x-ratelimit-{what}-{suffix}").as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        };
        put("limit", (op.rate.limit / scale).to_string());
        put("remaining", (decision.remaining / scale).to_string());
        put(
            "reset",
            format_reset(ticks_to_duration(decision.reset_after, op.rate.period)),
        );
    }
    headers
}

/// `ticks` of a clock whose minute is `period` ticks, as a duration.
fn ticks_to_duration(ticks: i64, period: i64) -> Duration {
    if ticks <= 0 || period <= 0 {
        return Duration::ZERO;
    }
    let nanos = i128::from(ticks) * 60_000_000_000 / i128::from(period);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Whole seconds to wait, rounded up (at least 1).
fn retry_seconds(wait: Duration) -> u64 {
    let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
    nanos.div_ceil(1_000_000_000).max(1)
}

/// A duration as OpenAI writes its reset headers: `20ms`, `1.5s`, `6m0s`.
pub fn format_reset(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    // Whole milliseconds decide the unit, so 59.9996 s is `59.999s`, never
    // a rounded-up `60s` that reads like neither form.
    if ms < 60_000 {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return format!("{text}s");
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

/// A request let in: its headers and the concurrency slots it holds.
#[derive(Debug, Default)]
pub struct Admission {
    pub headers: HeaderMap,
    guards: Vec<local::Slot>,
}

/// A request refused: the 429 (or 503), with the rate-limit headers.
#[derive(Debug)]
pub struct Refusal {
    pub error: ApiError,
    pub headers: HeaderMap,
}

impl Refusal {
    fn unavailable(message: &str) -> Refusal {
        Refusal {
            error: ApiError::unavailable(message, 1),
            headers: HeaderMap::new(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// The state of [`middleware`]: the limiter, the route's unit and the
/// edge's per-tenant share of the in-flight cap.
#[derive(Debug, Clone)]
pub struct Gate {
    pub limits: Limits,
    pub unit: Unit,
    /// Concurrent requests of a tenant that has no limit of its own (see
    /// the module doc); `None`: unlimited.
    pub default_tenant_concurrency: Option<u64>,
}

/// Check the caller's limits (see the module doc). Without a
/// [`Principal`] (nothing authenticated in front) it passes requests.
pub async fn middleware(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        return next.run(request).await;
    };
    match gate
        .limits
        .admit(principal, gate.unit, gate.default_tenant_concurrency)
        .await
    {
        Err(refusal) => refusal.into_response(),
        Ok(admission) => {
            let mut response = next.run(request).await;
            response.headers_mut().extend(admission.headers);
            if admission.guards.is_empty() {
                response
            } else {
                response.map(|body| GuardedBody::wrap(body, admission.guards))
            }
        }
    }
}

/// Where metering hands recorded usage events to the limiter (see
/// `Meter::record`): set once when the router is built.
#[derive(Debug, Default)]
pub struct UsageHook {
    limits: OnceLock<Limits>,
}

impl UsageHook {
    /// Send units of recorded events to `limits` from now on.
    pub fn attach(&self, limits: Limits) {
        if self.limits.set(limits).is_err() {
            tracing::debug!("a limiter was already attached to this meter");
        }
    }

    /// Debit `event`'s units (waits for the backend).
    pub async fn debit(&self, event: &UsageEvent) {
        if let Some(limits) = self.limits.get() {
            limits.debit(event).await;
        }
    }

    /// Debit `event`'s units without waiting.
    pub fn debit_detached(&self, event: &UsageEvent) {
        if let Some(limits) = self.limits.get()
            && let Some(ops) = limits.debit_ops(event)
        {
            let limits = limits.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { limits.apply_debit(ops).await });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_durations_are_written_as_openai_does() {
        assert_eq!(format_reset(Duration::from_millis(20)), "20ms");
        assert_eq!(format_reset(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_reset(Duration::from_secs(1)), "1s");
        assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
        assert_eq!(format_reset(Duration::ZERO), "0ms");
        assert_eq!(format_reset(Duration::from_micros(59_999_600)), "59.999s");
        assert_eq!(format_reset(Duration::from_millis(60_000)), "1m0s");
    }

    #[test]
    fn specs_parse_validate_and_fall_back() {
        let spec: LimitSpec = "requests_per_minute=600, concurrent_requests=4"
            .parse()
            .unwrap();
        assert_eq!(spec.requests_per_minute, Some(600));
        assert_eq!(spec.concurrent_requests, Some(4));
        assert_eq!(
            spec.to_string(),
            "requests_per_minute=600,concurrent_requests=4"
        );
        assert!("".parse::<LimitSpec>().unwrap().is_empty());
        assert!("requests_per_minute=0".parse::<LimitSpec>().is_err());
        assert!("rpm=5".parse::<LimitSpec>().is_err());
        assert!("requests_per_minute=five".parse::<LimitSpec>().is_err());
        assert!(
            format!("tokens_per_minute={}", MAX_LIMIT + 1)
                .parse::<LimitSpec>()
                .is_err()
        );
        let own = LimitSpec {
            tokens_per_minute: Some(10),
            ..LimitSpec::default()
        };
        let merged = own.or(spec);
        assert_eq!(merged.tokens_per_minute, Some(10));
        assert_eq!(merged.requests_per_minute, Some(600));
    }
}
