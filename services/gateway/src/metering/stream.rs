//! Metering a streamed (server-sent events) response: its usage is in its
//! final event, e.g. speech's
//! `{"type":"transcript.text.done",…,"usage":{"type":"duration","seconds":4.2}}`.
//!
//! The body passes through unchanged, event by event. When the event that
//! carries `usage` (or an `error` event) goes by, the usage event is
//! appended to the log *before* that chunk is passed on, so a caller that
//! saw the end of a stream has its usage recorded. A stream that ends
//! without one is recorded with the units of the response headers and
//! status 502; one the caller abandons, with status 499.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;

use super::{Meter, OnRecorded, UsageEvent, elapsed_ms};

/// Status of a stream that failed after its `200` went out.
const STREAM_FAILED: u16 = 502;
/// Status of a stream whose caller went away (nginx's "client closed").
const CALLER_GONE: u16 = 499;
/// An SSE event larger than this is not a usage event: it is passed on but
/// not scanned.
const MAX_EVENT_BYTES: usize = 1 << 20;

/// Whether `headers` announce server-sent events.
pub fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

/// How a stream ended, as far as metering is concerned.
#[derive(Debug, PartialEq)]
enum Ending {
    /// An event with a `usage` object.
    Usage(serde_json::Value),
    /// An `error` event.
    Error,
}

/// Finds the final event in SSE bytes split anywhere.
#[derive(Debug, Default)]
struct Scanner {
    pending: Vec<u8>,
}

impl Scanner {
    fn feed(&mut self, chunk: &[u8]) -> Option<Ending> {
        self.pending
            .extend(chunk.iter().copied().filter(|b| *b != b'\r'));
        let mut found = None;
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.pending.drain(..end + 2).collect();
            if found.is_none() {
                found = ending_of(&event);
            }
        }
        if self.pending.len() > MAX_EVENT_BYTES {
            self.pending.clear();
        }
        found
    }
}

fn ending_of(event: &[u8]) -> Option<Ending> {
    let text = std::str::from_utf8(event).ok()?;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(&data.join("\n")).ok()?;
    if value.get("type").and_then(|t| t.as_str()) == Some("error") {
        return Some(Ending::Error);
    }
    value
        .get("usage")
        .is_some_and(|u| u.is_object())
        .then_some(Ending::Usage(value))
}

/// The event not yet recorded; recorded with [`CALLER_GONE`] if the body
/// is dropped first.
struct Pending {
    meter: Meter,
    event: Option<UsageEvent>,
    started: Instant,
    on_recorded: Option<OnRecorded>,
    /// The response's headers, for `on_recorded`.
    headers: HeaderMap,
}

impl Pending {
    async fn finish(&mut self, ending: Option<Ending>) -> Result<(), super::MeteringError> {
        let Some(mut event) = self.event.take() else {
            return Ok(());
        };
        match ending {
            Some(Ending::Usage(value)) => {
                event.units.apply_stream_usage(&value);
            }
            Some(Ending::Error) | None => event.status = STREAM_FAILED,
        }
        event.latency_ms = elapsed_ms(self.started);
        self.meter.record(&event).await?;
        if let Some(on_recorded) = &self.on_recorded {
            on_recorded.call(&event, &self.headers);
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut event) = self.event.take() {
            event.status = CALLER_GONE;
            event.latency_ms = elapsed_ms(self.started);
            self.meter.record_detached(&event);
            if let Some(on_recorded) = &self.on_recorded {
                on_recorded.call(&event, &self.headers);
            }
        }
    }
}

/// `response` with its body metered as it streams.
pub fn metered(
    meter: Meter,
    event: UsageEvent,
    started: Instant,
    response: Response,
    on_recorded: Option<OnRecorded>,
) -> Response {
    let (parts, body) = response.into_parts();
    let pending = Pending {
        meter,
        event: Some(event),
        started,
        on_recorded,
        headers: parts.headers.clone(),
    };
    let state = (body.into_data_stream(), Scanner::default(), pending, false);
    let stream = futures::stream::unfold(
        state,
        |(mut inner, mut scanner, mut pending, ended)| async move {
            if ended {
                return None;
            }
            let item: Result<Bytes, std::io::Error> = match inner.next().await {
                Some(Ok(chunk)) => {
                    if pending.event.is_some()
                        && let Some(ending) = scanner.feed(&chunk)
                        && let Err(e) = pending.finish(Some(ending)).await
                    {
                        // Withhold the end of the stream: unrecorded usage
                        // must not look like a success.
                        tracing::error!(error = %e, "usage not recorded; cutting the stream");
                        return Some((
                            Err(std::io::Error::other(e)),
                            (inner, scanner, pending, true),
                        ));
                    }
                    Ok(chunk)
                }
                Some(Err(e)) => {
                    if let Err(record) = pending.finish(None).await {
                        tracing::error!(error = %record, "usage not recorded");
                    }
                    Err(std::io::Error::other(e))
                }
                None => {
                    if let Err(e) = pending.finish(None).await {
                        tracing::error!(error = %e, "usage not recorded");
                        return Some((
                            Err(std::io::Error::other(e)),
                            (inner, scanner, pending, true),
                        ));
                    }
                    return None;
                }
            };
            let ended = item.is_err();
            Some((item, (inner, scanner, pending, ended)))
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_event_is_found_across_chunk_boundaries() {
        let body = "data: {\"type\":\"transcript.text.delta\",\"delta\":\"Hi\"}\n\n\
                    : keep-alive\n\n\
                    data: {\"type\":\"transcript.text.done\",\"text\":\"Hi\",\"usage\":{\"type\":\"duration\",\"seconds\":1.5}}\n\n";
        for split in 1..body.len() {
            let mut scanner = Scanner::default();
            let (a, b) = body.as_bytes().split_at(split);
            let found = scanner.feed(a).or_else(|| scanner.feed(b));
            let Some(Ending::Usage(value)) = found else {
                panic!("split at {split}: {found:?}");
            };
            assert_eq!(value["usage"]["seconds"], 1.5);
        }
        let mut scanner = Scanner::default();
        assert_eq!(
            scanner.feed(b"data: {\"type\":\"error\",\"error\":{\"message\":\"x\"}}\r\n\r\n"),
            Some(Ending::Error)
        );
        assert_eq!(scanner.feed(b"data: not json\n\n"), None);
    }
}
