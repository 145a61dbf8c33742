//! One usage event: what one request that reached a service consumed, and
//! reading the units from what the service reported (the
//! `x-stratus-usage-*` response headers, or the `usage` object of a
//! stream's last event). Nothing here estimates.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use stratus_kit::usage;
use uuid::Uuid;

/// Longest id, name or endpoint kept in an event; longer values (a service
/// or caller sending something absurd) are cut, so a WAL line stays small.
pub const MAX_TEXT: usize = 256;

/// What a request consumed, in the units prices are set in. Audio is kept
/// in whole milliseconds (services report seconds with three decimals), so
/// sums are exact integers on every database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Units {
    pub requests: i64,
    pub audio_ms: i64,
    pub input_tokens: i64,
    pub characters: i64,
    pub documents: i64,
}

impl Units {
    /// One request, with the units a service reported in `headers`. A
    /// header that is not a number is logged and counted as zero: the
    /// service's bug must not fail the caller's request.
    pub fn from_headers(headers: &HeaderMap) -> Units {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Units {
            requests: 1,
            audio_ms: text(usage::AUDIO_SECONDS).map_or(0, |v| seconds_to_ms(v, "header")),
            input_tokens: text(usage::INPUT_TOKENS).map_or(0, |v| count(v, usage::INPUT_TOKENS)),
            characters: text(usage::CHARACTERS).map_or(0, |v| count(v, usage::CHARACTERS)),
            documents: text(usage::DOCUMENTS).map_or(0, |v| count(v, usage::DOCUMENTS)),
        }
    }

    /// Apply the `usage` object of a stream's final event (OpenAI's shapes:
    /// `{"type":"duration","seconds":4.2}` for audio,
    /// `{"input_tokens":…}` / `{"prompt_tokens":…}` for tokens). Returns
    /// whether `event` carried a usage object.
    pub fn apply_stream_usage(&mut self, event: &serde_json::Value) -> bool {
        let Some(usage) = event.get("usage").filter(|u| u.is_object()) else {
            return false;
        };
        if let Some(seconds) = usage.get("seconds").and_then(|s| s.as_f64()) {
            self.audio_ms = seconds_f64_to_ms(seconds);
        }
        let tokens = usage
            .get("input_tokens")
            .or_else(|| usage.get("prompt_tokens"))
            .and_then(|t| t.as_i64());
        if let Some(tokens) = tokens {
            self.input_tokens = tokens.max(0);
        }
        true
    }
}

/// The longest audio a single event may claim (a day): beyond it a number
/// is a service bug, not usage.
const MAX_AUDIO_MS: i64 = 86_400_000;

fn seconds_f64_to_ms(seconds: f64) -> i64 {
    if !seconds.is_finite() || seconds < 0.0 {
        return 0;
    }
    ((seconds * 1000.0).round() as i64).min(MAX_AUDIO_MS)
}

fn seconds_to_ms(value: &str, what: &str) -> i64 {
    match value.trim().parse::<f64>() {
        Ok(seconds) => seconds_f64_to_ms(seconds),
        Err(_) => {
            tracing::warn!(value, what, "unreadable audio seconds in usage; counted 0");
            0
        }
    }
}

fn count(value: &str, name: &str) -> i64 {
    match value.trim().parse::<u64>() {
        Ok(n) => i64::try_from(n).unwrap_or(i64::MAX),
        Err(_) => {
            tracing::warn!(value, header = name, "unreadable usage count; counted 0");
            0
        }
    }
}

/// Longest caller's `x-request-id` kept (longer ones are cut).
pub const MAX_CLIENT_REQUEST_ID: usize = 128;

/// `value` cut to [`MAX_TEXT`] bytes at a character boundary.
pub fn bounded(value: &str) -> String {
    bounded_to(value, MAX_TEXT)
}

/// `value` cut to `max` bytes at a character boundary.
pub fn bounded_to(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// One metered request. `id` is a UUIDv7 made when the event is recorded:
/// writes and replays are idempotent by it.
///
/// `status` is the HTTP status the caller got; for a stream it is 502 when
/// the stream ended in an error (or without its final usage event) and 499
/// when the caller went away before the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub id: Uuid,
    /// The gateway's id of the request (the `x-request-id` it answered
    /// with): unique, whatever the caller sent.
    pub request_id: Option<String>,
    /// The `x-request-id` the caller sent, if any (at most
    /// [`MAX_CLIENT_REQUEST_ID`] bytes): the caller's to correlate, never
    /// trusted to be unique. Absent from log lines written before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    pub tenant_id: String,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    /// `speech`, `language`, …: which upstream served it.
    pub service: String,
    /// The route template, e.g. `/v1/audio/transcriptions`.
    pub endpoint: String,
    /// The model the service says served it (`x-stratus-model`).
    pub model: Option<String>,
    pub status: u16,
    pub latency_ms: i64,
    /// When the request arrived, Unix milliseconds (UTC).
    pub time_ms: i64,
    pub units: Units,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The public JSON shape of an event (`GET /v1/usage/events`, the
/// CloudEvents `data`): audio in seconds, time in RFC 3339.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = UsageEvent)]
pub struct EventView<'a> {
    #[schema(value_type = String, example = "0192f7c1-a2b3-7c4d-8e9f-0a1b2c3d4e5f")]
    pub id: &'a Uuid,
    /// The gateway's id of the request (its `x-request-id` response
    /// header): unique.
    pub request_id: Option<&'a str>,
    /// The `x-request-id` the caller sent, if any.
    pub client_request_id: Option<&'a str>,
    pub tenant_id: &'a str,
    pub key_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub service: &'a str,
    pub endpoint: &'a str,
    pub model: Option<&'a str>,
    pub status: u16,
    pub latency_ms: i64,
    pub time: String,
    pub units: UnitsView,
}

/// Units as the API shows them.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[schema(as = UsageUnits)]
pub struct UnitsView {
    pub requests: i64,
    pub audio_seconds: f64,
    pub input_tokens: i64,
    pub characters: i64,
    pub documents: i64,
}

impl From<Units> for UnitsView {
    fn from(u: Units) -> Self {
        UnitsView {
            requests: u.requests,
            // Exact: milliseconds are integers and an f64 holds them exactly.
            audio_seconds: u.audio_ms as f64 / 1000.0,
            input_tokens: u.input_tokens,
            characters: u.characters,
            documents: u.documents,
        }
    }
}

impl UsageEvent {
    /// This event in its public shape.
    pub fn view(&self) -> EventView<'_> {
        EventView {
            id: &self.id,
            request_id: self.request_id.as_deref(),
            client_request_id: self.client_request_id.as_deref(),
            tenant_id: &self.tenant_id,
            key_id: self.key_id.as_deref(),
            user_id: self.user_id.as_deref(),
            service: &self.service,
            endpoint: &self.endpoint,
            model: self.model.as_deref(),
            status: self.status,
            latency_ms: self.latency_ms,
            time: super::time::format_rfc3339(self.time_ms),
            units: self.units.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn units_come_from_the_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(usage::AUDIO_SECONDS, HeaderValue::from_static("4.235"));
        headers.insert(usage::INPUT_TOKENS, HeaderValue::from_static("17"));
        headers.insert(usage::CHARACTERS, HeaderValue::from_static("80"));
        headers.insert(usage::DOCUMENTS, HeaderValue::from_static("2"));
        let units = Units::from_headers(&headers);
        assert_eq!(
            units,
            Units {
                requests: 1,
                audio_ms: 4235,
                input_tokens: 17,
                characters: 80,
                documents: 2
            }
        );
        // Garbage and negatives count nothing; nothing reported is zero.
        headers.insert(usage::AUDIO_SECONDS, HeaderValue::from_static("-3"));
        headers.insert(usage::INPUT_TOKENS, HeaderValue::from_static("many"));
        let units = Units::from_headers(&headers);
        assert_eq!((units.audio_ms, units.input_tokens), (0, 0));
        assert_eq!(
            Units::from_headers(&HeaderMap::new()),
            Units {
                requests: 1,
                ..Units::default()
            }
        );
    }

    #[test]
    fn stream_usage_overrides_the_headers() {
        let mut units = Units {
            requests: 1,
            audio_ms: 4000,
            ..Units::default()
        };
        let done = serde_json::json!({"type": "transcript.text.done", "text": "x",
            "usage": {"type": "duration", "seconds": 4.2}});
        assert!(units.apply_stream_usage(&done));
        assert_eq!(units.audio_ms, 4200);
        let delta = serde_json::json!({"type": "transcript.text.delta", "delta": "x"});
        assert!(!units.apply_stream_usage(&delta));
        let tokens = serde_json::json!({"usage": {"prompt_tokens": 9}});
        assert!(units.apply_stream_usage(&tokens));
        assert_eq!(units.input_tokens, 9);
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let long = "é".repeat(200);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_TEXT);
        assert!(long.starts_with(&cut));
    }
}
