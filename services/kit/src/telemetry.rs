//! Tracing setup: human-readable lines on a terminal, JSON lines for log
//! collectors. Logs go to stderr so stdout stays for command output (a new
//! API key, `models list --json`).
//!
//! Every request runs in a `request` span ([`in_request_span`]) carrying
//! its `x-request-id` and the trace id of a W3C `traceparent` header, so
//! every line logged while serving it, on a model's thread too (the model
//! workers carry the caller's span to their jobs), names the request and
//! the trace it belongs to: one search finds the gateway's access line,
//! the replica's lines and the model's.
//!
//! With an OTLP endpoint (`--otlp-endpoint`) the spans are also exported
//! as OpenTelemetry traces (OTLP over HTTP, protobuf, batched on a thread
//! of the exporter's own): a request's span continues the caller's trace
//! (its `traceparent` is the parent), and the gateway sends its own span as
//! the parent of the replica's ([`inject_trace`]), so one trace shows the
//! gateway and the service. Without one nothing is exported and a
//! `traceparent` passes through unchanged.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Longest request id a span keeps: a replica reached directly takes any
/// caller's text.
const MAX_REQUEST_ID: usize = 128;

/// The trace id of a well-formed W3C `traceparent` header
/// (`00-<32 hex>-<16 hex>-<2 hex>`, neither id all zeros), else `None`.
pub fn trace_id(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("traceparent")?.to_str().ok()?.trim();
    let mut parts = value.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    // Version 00 has exactly four fields; a later version may add more.
    if version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    (hex(version, 2) && hex(trace, 32) && hex(parent, 16) && hex(flags, 2))
        .then_some(())
        .filter(|()| !zero(trace) && !zero(parent))
        .map(|()| trace)
}

/// The `request` span of a request with these headers; exported, it
/// continues the trace of their `traceparent`.
pub fn request_span(headers: &HeaderMap) -> tracing::Span {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| id.get(..MAX_REQUEST_ID).unwrap_or(id));
    let span = tracing::info_span!("request", request_id, trace_id = trace_id(headers));
    if trace_id(headers).is_some() {
        let parent =
            TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
        // Fails only for a span no exporter records: nothing to continue.
        let _ = span.set_parent(parent);
    }
    span
}

/// Put the current span's trace context in `headers` (`traceparent`), for a
/// request this one makes upstream; nothing when no trace is exported (a
/// caller's `traceparent` then passes through as it came).
pub fn inject_trace(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new()
        .inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
}

/// Middleware: run the rest of the request inside its [`request_span`].
pub async fn in_request_span(request: Request, next: Next) -> Response {
    let span = request_span(request.headers());
    next.run(request).instrument(span).await
}

/// Log line format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Colours only for a person at a terminal: not in files, pipes or a
/// journal (where escape codes are noise), and never with `NO_COLOR` set
/// to anything (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    colour_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn colour_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The exporter's provider, kept to flush it at exit ([`shutdown`]).
static TRACES: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
#[error("--otlp-endpoint {endpoint}: {message}")]
pub struct OtlpError {
    endpoint: String,
    message: String,
}

/// Install the global subscriber. `filter` uses `RUST_LOG` syntax
/// (`info`, `stratus_gateway=debug,info`). With `otlp_endpoint` (an OTLP/HTTP
/// traces URL, `http://collector:4318/v1/traces`) spans are exported there
/// too, as `service.name` `service`. Calling it twice is harmless.
pub fn init(
    format: LogFormat,
    filter: &str,
    otlp_endpoint: Option<&str>,
    service: &str,
) -> Result<(), OtlpError> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let traces = otlp_endpoint
        .map(|endpoint| exporter(endpoint, service))
        .transpose()?
        .map(|provider| {
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("stratus"));
            let _ = TRACES.set(provider);
            layer
        });
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let _ = match format {
        LogFormat::Text => registry.with(lines).try_init(),
        LogFormat::Json => registry.with(lines.json().flatten_event(true)).try_init(),
    };
    Ok(())
}

fn exporter(endpoint: &str, service: &str) -> Result<SdkTracerProvider, OtlpError> {
    let error = |message: String| OtlpError {
        endpoint: endpoint.to_owned(),
        message,
    };
    let url = url_of(endpoint).ok_or_else(|| {
        error(
            "give the collector's http(s) traces URL, e.g. http://collector:4318/v1/traces".into(),
        )
    })?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .map_err(|e| error(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}

/// `endpoint` when it is an http(s) URL with a host.
fn url_of(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    (matches!(scheme, "http" | "https") && !host.is_empty()).then(|| endpoint.to_owned())
}

/// Send the spans not yet exported (at exit; a no-op without an exporter).
pub fn shutdown() {
    if let Some(provider) = TRACES.get()
        && let Err(e) = provider.shutdown()
    {
        tracing::warn!(error = %e, "flushing traces at exit failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traceparent(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", value.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_well_formed_traceparent_gives_a_trace_id() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id(&traceparent(good)),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        // A later version may append fields; version 00 may not.
        assert!(trace_id(&traceparent(&format!("01-{}-extra", &good[3..]))).is_some());
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
        ] {
            assert_eq!(trace_id(&traceparent(bad)), None, "{bad}");
        }
        assert_eq!(trace_id(&HeaderMap::new()), None);
    }

    #[test]
    fn an_otlp_endpoint_is_an_http_url() {
        assert!(url_of("http://collector:4318/v1/traces").is_some());
        assert!(url_of("https://otel.example.com/v1/traces").is_some());
        for bad in [
            "collector:4318",
            "ftp://collector/v1/traces",
            "http:///v1/traces",
        ] {
            assert!(url_of(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(true, Some(std::ffi::OsStr::new("1"))));
        // An empty NO_COLOR is unset, as no-color.org says.
        assert!(colour_wanted(true, Some(std::ffi::OsStr::new(""))));
    }
}
