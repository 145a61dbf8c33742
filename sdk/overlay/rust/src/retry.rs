//! How long to wait before resending a request answered 429 or 503:
//! `Retry-After` (seconds or an HTTP date) when the server sent it, else
//! exponential backoff with jitter; never more than the client's cap.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The header by which the server says whether resending can help.
pub(crate) const X_SHOULD_RETRY: &str = "x-should-retry";

/// Whether an answer is worth resending: the server's `x-should-retry`
/// wins (`false` where waiting cannot help, such as a spent budget),
/// otherwise 429 and 503 are (the server asked the caller to come back).
pub(crate) fn retryable(status: u16, should_retry: Option<&str>) -> bool {
    match should_retry.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("false") => false,
        Some("true") => true,
        _ => status == 429 || status == 503,
    }
}

/// `Retry-After` as a duration, if the header is there and readable.
pub(crate) fn retry_after(value: Option<&str>) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The wait before attempt `attempt + 1` (counting from 0): `Retry-After`
/// when sent, else `backoff * 2^attempt` with up to 50 % jitter below; at
/// most `max_wait`.
pub fn retry_delay(
    retry_after_header: Option<&str>,
    attempt: u32,
    backoff: Duration,
    max_wait: Duration,
) -> Duration {
    if let Some(wait) = retry_after(retry_after_header) {
        return wait.min(max_wait);
    }
    let exponential = backoff.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    exponential.mul_f64(0.5 + jitter() / 2.0).min(max_wait)
}

/// A number in [0, 1): jitter spreads clients that failed together, it needs
/// no cryptographic quality (the clock's nanoseconds are enough).
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_decides_with_x_should_retry() {
        assert!(retryable(429, None) && retryable(503, None));
        assert!(!retryable(500, None) && !retryable(400, None));
        assert!(!retryable(429, Some("false")), "a spent budget is not retried");
        assert!(retryable(500, Some(" True ")));
    }

    #[test]
    fn retry_after_seconds_wins_and_is_capped() {
        let max = Duration::from_secs(60);
        let half = Duration::from_millis(500);
        assert_eq!(retry_delay(Some("2"), 0, half, max), Duration::from_secs(2));
        assert_eq!(retry_delay(Some("120"), 0, half, max), max);
        assert_eq!(retry_delay(Some(" 0 "), 3, half, max), Duration::ZERO);
    }

    #[test]
    fn retry_after_http_date() {
        let later = SystemTime::now() + Duration::from_secs(30);
        let header = httpdate::fmt_http_date(later);
        let wait = retry_delay(Some(&header), 0, Duration::from_millis(500), Duration::from_secs(60));
        assert!(wait > Duration::from_secs(27) && wait <= Duration::from_secs(30), "{wait:?}");
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(retry_delay(Some(&past), 0, Duration::from_millis(500), Duration::from_secs(60)), Duration::ZERO);
    }

    #[test]
    fn backoff_without_retry_after_grows_with_jitter() {
        let max = Duration::from_secs(60);
        let wait = retry_delay(None, 2, Duration::from_millis(500), max);
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2), "{wait:?}");
        assert_eq!(retry_delay(Some("soon"), 40, Duration::from_secs(1), max), max);
    }
}
