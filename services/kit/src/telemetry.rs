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

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

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

/// The `request` span of a request with these headers.
pub fn request_span(headers: &HeaderMap) -> tracing::Span {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| id.get(..MAX_REQUEST_ID).unwrap_or(id));
    tracing::info_span!("request", request_id, trace_id = trace_id(headers))
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

/// Install the global subscriber. `filter` uses `RUST_LOG` syntax
/// (`info`, `stratus_gateway=debug,info`). Calling it twice is harmless.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
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
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(true, Some(std::ffi::OsStr::new("1"))));
        // An empty NO_COLOR is unset, as no-color.org says.
        assert!(colour_wanted(true, Some(std::ffi::OsStr::new(""))));
    }
}
