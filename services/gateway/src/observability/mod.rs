//! What the gateway tells its operators: Prometheus metrics and the
//! structured access log.
//!
//! - [`metrics`] — the metric names, the process-wide recorder and the
//!   `/metrics` router served on its own address (`--metrics-listen`).
//! - [`access_log`] — one tracing event and one set of metric updates per
//!   request, as a middleware on the public router.

pub mod access_log;
pub mod metrics;
