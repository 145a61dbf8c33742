//! The process's Prometheus recorder and its `/metrics` endpoint, shared by
//! every process that serves (gateway, `serve`, the speech and language
//! replicas).
//!
//! One process-wide recorder (the `metrics` facade is global), installed
//! on first use, so a metric handle made before installation (which would
//! be a silent no-op forever) cannot happen. Each crate names and
//! describes its own metrics (the gateway's requests, the models' queues,
//! the jobs' backlog) through the facade; this module only decides how
//! they are exposed: which histograms get which buckets, and the listener's
//! route. `/metrics` is served on a separate listener (`--metrics-listen`),
//! never as a route of the public API.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of every `*_seconds` histogram: fine below 10 ms, where the
/// gateway's own overhead and a short embedding live, coarse up to the
/// minutes a long transcription takes.
const SECONDS_BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0, 900.0,
];

/// Buckets of `*_batch_size` histograms: inputs per forward pass, powers
/// of two up to the largest batch a batcher forms.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Buckets of `*_realtime_factor` histograms: compute seconds per audio
/// second, so 0.01 is a hundred times faster than real time and above 1 is
/// slower than the audio plays.
const REALTIME_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 3.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder if nothing has yet; return its handle.
/// `None` when another recorder was installed first (an embedding program's
/// own): metrics then go there and `/metrics` says so.
pub fn ensure_installed() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let recorder = bucketed(PrometheusBuilder::new()).build_recorder();
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty");
        return None;
    }
    // Histograms keep their samples until upkeep folds them in; without this
    // a process nobody scrapes would grow without bound.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread did not start");
    }
    Some(handle)
}

/// The builder with every histogram family's buckets (without buckets the
/// exporter would publish summaries, which cannot be summed across
/// replicas).
fn bucketed(builder: PrometheusBuilder) -> PrometheusBuilder {
    let families: [(&str, &[f64]); 3] = [
        ("_seconds", &SECONDS_BUCKETS),
        ("_batch_size", &BATCH_BUCKETS),
        ("_realtime_factor", &REALTIME_BUCKETS),
    ];
    families
        .into_iter()
        .fold(builder, |builder, (suffix, buckets)| {
            // Only an empty bucket list is refused, and none of these is.
            match builder.set_buckets_for_metric(Matcher::Suffix(suffix.into()), buckets) {
                Ok(builder) => builder,
                Err(_) => PrometheusBuilder::new(),
            }
        })
}

/// The text exposition of every metric.
pub fn render() -> String {
    match ensure_installed() {
        Some(handle) => handle.render(),
        None => "# metrics are recorded by another recorder in this process\n".into(),
    }
}

/// `GET /metrics`, for a separate metrics listener only.
pub fn router() -> Router {
    ensure_installed();
    Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render(),
                )
                    .into_response()
            }),
        )
        .fallback(crate::error::not_found_fallback)
        .method_not_allowed_fallback(crate::error::method_not_allowed_fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_histogram_family_gets_its_buckets() {
        let recorder = bucketed(PrometheusBuilder::new()).build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("stratus_test_wait_seconds").record(0.003);
            metrics::histogram!("stratus_test_batch_size").record(5.0);
            metrics::histogram!("stratus_test_realtime_factor").record(0.04);
        });
        let text = handle.render();
        assert!(
            text.contains("stratus_test_wait_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("stratus_test_batch_size_bucket{le=\"8\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("stratus_test_realtime_factor_bucket{le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("quantile"),
            "summaries instead of histograms: {text}"
        );
    }
}
