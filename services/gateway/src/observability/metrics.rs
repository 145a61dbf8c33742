//! Prometheus metrics of the gateway: their names and descriptions. The
//! recorder is the process's one (`stratus_kit::metrics`), installed on
//! first use by anything here that registers a metric. `/metrics` is served
//! by [`router`] on a separate listener
//! (`--metrics-listen`): the public router stays deny-by-default, and what
//! the metrics reveal (tenants' traffic shape, replica addresses) never
//! reaches the internet by a forgotten allowlist entry.
//!
//! Label values are bounded: routes are templates (`/v1/audio/transcriptions`:
//! a forwarded request is labelled with the service route it reaches, else
//! `/v1/audio/{*rest}`),
//! never raw paths; replicas and services come from configuration.

use std::sync::OnceLock;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

/// Requests answered, by `route` template, `method` and `status`.
pub const REQUESTS: &str = "stratus_gateway_requests_total";
/// Seconds from a request's arrival to its response headers, by `route` and `method`.
pub const REQUEST_DURATION: &str = "stratus_gateway_request_duration_seconds";
/// Requests whose response has not finished streaming.
pub const IN_FLIGHT: &str = "stratus_gateway_requests_in_flight";
/// Requests refused before reaching an upstream, by `reason` (see [`Rejection`]).
pub const REJECTIONS: &str = "stratus_gateway_rejections_total";
/// The forwarded pool's adaptive in-flight limit now
/// (`--shed-scheduling-delay-ms`; absent when it is off).
pub const ADAPTIVE_LIMIT: &str = "stratus_gateway_adaptive_in_flight_limit";
/// 1 when a replica takes traffic, 0 while it is ejected; by `service`, `replica`.
pub const UPSTREAM_HEALTHY: &str = "stratus_gateway_upstream_healthy";
/// Requests sent to a replica and not finished; by `service`, `replica`.
pub const UPSTREAM_OUTSTANDING: &str = "stratus_gateway_upstream_outstanding";
/// Times a replica was taken out of rotation; by `service`, `replica`.
pub const UPSTREAM_EJECTIONS: &str = "stratus_gateway_upstream_ejections_total";
/// Connection-level failures talking to a replica; by `service`, `replica`, `stage`
/// (`connect`: nothing was sent; `exchange`: failed after sending).
pub const UPSTREAM_FAILURES: &str = "stratus_gateway_upstream_failures_total";
/// Attempts re-sent to another replica after a connect failure; by `service`.
pub const UPSTREAM_RETRIES: &str = "stratus_gateway_upstream_retries_total";
/// Seconds the oldest usage event not yet in the database has waited in
/// the gateway's write-ahead log (0 when the writer has caught up).
pub const USAGE_WAL_LAG: &str = "stratus_usage_wal_lag_seconds";
/// 1, labelled with the CPU tier the models' kernels run at (`isa`) and
/// the best this CPU has (`best`), in processes that run models.
pub const CPU_TIER: &str = "stratus_cpu_tier_info";

/// Why a request was refused before it reached an upstream: the `reason`
/// label of [`REJECTIONS`]. The limits module (rate, concurrency, budget)
/// adds its reasons here and counts them with [`record_rejection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The global in-flight cap was full (`--max-in-flight`).
    InFlightCap,
    /// The forwarded pool was at its adaptive limit
    /// (`--shed-scheduling-delay-ms`).
    AdaptiveLimit,
    /// The request took longer than `--request-timeout`.
    Timeout,
    /// The request body passed `--max-request-body`.
    BodyTooLarge,
    /// The request body came slower than `--min-body-rate-bytes` a window.
    BodyTooSlow,
    /// No replica of the service was healthy.
    NoHealthyReplica,
    /// A per-key or per-tenant request rate limit.
    RateLimit,
    /// A per-key or per-tenant units (tokens, audio seconds) limit.
    UnitsLimit,
    /// A per-key or per-tenant concurrency limit.
    ConcurrencyLimit,
    /// A tenant's budget would be exceeded.
    Budget,
}

impl Rejection {
    pub fn label(self) -> &'static str {
        match self {
            Rejection::InFlightCap => "in_flight_cap",
            Rejection::AdaptiveLimit => "adaptive_limit",
            Rejection::Timeout => "timeout",
            Rejection::BodyTooLarge => "body_too_large",
            Rejection::BodyTooSlow => "body_too_slow",
            Rejection::NoHealthyReplica => "no_healthy_replica",
            Rejection::RateLimit => "rate_limit",
            Rejection::UnitsLimit => "units_limit",
            Rejection::ConcurrencyLimit => "concurrency_limit",
            Rejection::Budget => "budget",
        }
    }
}

/// Record the CPU tier the models of this process run at.
pub fn record_cpu_tier(isa: &'static str, best: &'static str) {
    ensure_installed();
    metrics::gauge!(CPU_TIER, "isa" => isa, "best" => best).set(1.0);
}

/// Set the [`ADAPTIVE_LIMIT`] gauge.
pub fn record_adaptive_limit(limit: usize) {
    ensure_installed();
    metrics::gauge!(ADAPTIVE_LIMIT).set(limit as f64);
}

/// Count one refused request.
pub fn record_rejection(reason: Rejection) {
    ensure_installed();
    metrics::counter!(REJECTIONS, "reason" => reason.label()).increment(1);
}

/// Install the process-wide recorder (`stratus_kit::metrics`) if nothing
/// has yet, and describe the gateway's and the models' metrics once.
/// `None` when another recorder was installed first.
pub fn ensure_installed() -> Option<&'static PrometheusHandle> {
    static DESCRIBED: OnceLock<()> = OnceLock::new();
    let handle = stratus_kit::metrics::ensure_installed();
    DESCRIBED.get_or_init(|| {
        describe();
        stratus_models::metrics::describe();
    });
    handle
}

fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "Requests answered, by route template, method and status."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its response headers."
    );
    metrics::describe_gauge!(
        IN_FLIGHT,
        "Requests whose response has not finished streaming."
    );
    metrics::describe_counter!(
        REJECTIONS,
        "Requests refused before reaching an upstream, by reason."
    );
    metrics::describe_gauge!(
        ADAPTIVE_LIMIT,
        "The forwarded routes' in-flight limit, moved by the runtime's lateness."
    );
    metrics::describe_gauge!(
        UPSTREAM_HEALTHY,
        "1 while a replica takes traffic, 0 while ejected."
    );
    metrics::describe_gauge!(
        UPSTREAM_OUTSTANDING,
        "Requests sent to a replica and not finished."
    );
    metrics::describe_counter!(
        UPSTREAM_EJECTIONS,
        "Times a replica was taken out of rotation."
    );
    metrics::describe_counter!(
        UPSTREAM_FAILURES,
        "Connection-level failures talking to a replica, by stage (connect, exchange)."
    );
    metrics::describe_counter!(
        UPSTREAM_RETRIES,
        "Attempts re-sent to another replica after a connect failure."
    );
    metrics::describe_gauge!(
        USAGE_WAL_LAG,
        metrics::Unit::Seconds,
        "Seconds the oldest usage event not yet stored has waited in the write-ahead log."
    );
    metrics::describe_gauge!(
        CPU_TIER,
        "1, labelled with the CPU tier the model kernels run at (isa) and the best this CPU has (best)."
    );
}

/// The text exposition of every metric.
pub fn render() -> String {
    ensure_installed();
    stratus_kit::metrics::render()
}

/// `GET /metrics`, for the separate metrics listener only.
pub fn router() -> Router {
    ensure_installed();
    stratus_kit::metrics::router()
}
