//! [`Raw`]: a typed result with the response it came from (status,
//! headers: the request id, the rate limits, what the request was metered
//! for), from [`crate::Stratus::with_raw_response`].

use std::collections::BTreeMap;
use std::ops::Deref;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A result and its response's status and headers.
#[derive(Debug, Clone)]
pub struct Raw<T> {
    /// The typed result.
    pub data: T,
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// How many times the request was resent before this answer.
    pub retries_taken: u32,
}

/// One `x-ratelimit-*` family (`requests`, `tokens`, `audio-seconds`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// `x-ratelimit-limit-<family>`.
    pub limit: u64,
    /// `x-ratelimit-remaining-<family>`.
    pub remaining: u64,
    /// `x-ratelimit-reset-<family>`: when the window refills, e.g. `600ms`.
    pub reset: String,
}

impl<T> Raw<T> {
    /// The result, without the response.
    pub fn into_inner(self) -> T {
        self.data
    }

    /// The same response with the result turned into another.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Raw<U> {
        Raw {
            data: f(self.data),
            status: self.status,
            headers: self.headers,
            retries_taken: self.retries_taken,
        }
    }

    /// A header's value, if it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The gateway's `x-request-id` (also the usage event's `request_id`).
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
    }

    /// The `x-ratelimit-*` headers by family (`requests`, …); a limit the
    /// tenant does not have is not there.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimit> {
        let number = |name: String| {
            self.header(&name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        self.headers
            .keys()
            .filter_map(|name| name.as_str().strip_prefix("x-ratelimit-limit-"))
            .map(|family| {
                let limit = RateLimit {
                    limit: number(format!("x-ratelimit-limit-{family}")),
                    remaining: number(format!("x-ratelimit-remaining-{family}")),
                    reset: self
                        .header(&format!("x-ratelimit-reset-{family}"))
                        .unwrap_or_default()
                        .to_string(),
                };
                (family.to_string(), limit)
            })
            .collect()
    }

    /// What the request is metered for, from the `x-stratus-usage-*`
    /// headers (`characters`, `documents`, `input_tokens`, `audio_seconds`, …).
    pub fn usage(&self) -> BTreeMap<String, f64> {
        self.headers
            .iter()
            .filter_map(|(name, value)| {
                let unit = name.as_str().strip_prefix("x-stratus-usage-")?;
                let amount = value.to_str().ok()?.trim().parse::<f64>().ok()?;
                Some((unit.replace('-', "_"), amount))
            })
            .collect()
    }
}

impl<T> Deref for Raw<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_limits_usage_and_the_request_id() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-request-id", "req_1"),
            ("x-ratelimit-limit-requests", "100"),
            ("x-ratelimit-remaining-requests", "99"),
            ("x-ratelimit-reset-requests", "600ms"),
            ("x-stratus-usage-characters", "5"),
            ("x-stratus-usage-input-tokens", "4"),
        ] {
            headers.insert(name, value.parse().unwrap_or_else(|_| unreachable!()));
        }
        let raw = Raw {
            data: 1,
            status: StatusCode::OK,
            headers,
            retries_taken: 0,
        };
        assert_eq!(raw.request_id(), Some("req_1"));
        let limits = raw.rate_limits();
        assert_eq!(
            limits["requests"],
            RateLimit {
                limit: 100,
                remaining: 99,
                reset: "600ms".into()
            }
        );
        assert_eq!(raw.usage()["input_tokens"], 4.0);
        assert_eq!(*raw.map(|n| n + 1), 2);
    }
}
