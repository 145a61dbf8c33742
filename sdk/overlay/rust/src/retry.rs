//! Retries: [`RetryMiddleware`], a [`reqwest_middleware::Middleware`] on the
//! client's stack, resends a request answered 429 or 503 (or whatever the
//! server marks `x-should-retry: true`), never one marked
//! `x-should-retry: false` (a spent budget: waiting cannot help), and one
//! that could not connect at all. It waits what `Retry-After` asks for
//! (seconds or an HTTP date), else the exponential backoff with jitter of
//! reqwest-retry's [`ExponentialBackoff`] policy; never more than the
//! client's cap.
//!
//! Why not reqwest-retry's own `RetryTransientMiddleware`: its
//! `RetryPolicy::should_retry(start_time, n_past_retries)` decides the wait
//! from the attempt count alone and never sees the response, so it cannot
//! honour `Retry-After` (reqwest-retry 0.9). The loop here is that
//! middleware's loop with the response's header in the decision;
//! reqwest-retry supplies the backoff policy and the [`Retryable`]
//! classification ([`RetryableStrategy`]).
//!
//! A streamed body (a multipart upload is one) cannot be cloned for the next
//! attempt, so the middleware reads it into memory once first; every
//! attempt then sends the same bytes.

use std::time::{Duration, SystemTime};

use http::Extensions;
use http_body_util::BodyExt;
use reqwest::header::RETRY_AFTER;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryDecision, RetryPolicy, Retryable, RetryableStrategy};

/// The header by which the server says whether resending can help.
pub const X_SHOULD_RETRY: &str = "x-should-retry";

/// How many times a request was resent; in the extensions of every
/// response the client returns ([`crate::Raw::retries_taken`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetriesTaken(pub u32);

/// Which answers are worth resending: the server's `x-should-retry` wins
/// (`false` where waiting cannot help, such as a spent budget), otherwise
/// 429 and 503 are (the server asked the caller to come back); of the
/// failures without an answer, only those where no connection was made
/// (a timed-out request may have been carried out: it is not resent).
#[derive(Debug, Clone, Copy, Default)]
pub struct StratusRetryStrategy;

impl RetryableStrategy for StratusRetryStrategy {
    fn handle(&self, result: &Result<Response, reqwest_middleware::Error>) -> Option<Retryable> {
        match result {
            Ok(response) => {
                let said = response
                    .headers()
                    .get(X_SHOULD_RETRY)
                    .and_then(|v| v.to_str().ok());
                retryable(response.status().as_u16(), said).then_some(Retryable::Transient)
            }
            Err(reqwest_middleware::Error::Reqwest(e)) if e.is_connect() => {
                Some(Retryable::Transient)
            }
            Err(_) => Some(Retryable::Fatal),
        }
    }
}

/// Whether an answer of `status` with `x-should-retry: should_retry` is
/// worth resending.
pub(crate) fn retryable(status: u16, should_retry: Option<&str>) -> bool {
    match should_retry
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
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
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The retry layer of a [`crate::Stratus`] client (see the module docs).
#[derive(Debug, Clone)]
pub struct RetryMiddleware {
    policy: ExponentialBackoff,
    max_wait: Duration,
}

impl RetryMiddleware {
    /// At most `max_retries` resends; backoff from `backoff`, doubling,
    /// with jitter; no wait longer than `max_wait` (`Retry-After` included).
    pub fn new(max_retries: u32, backoff: Duration, max_wait: Duration) -> Self {
        let policy = ExponentialBackoff::builder()
            .retry_bounds(backoff.min(max_wait), max_wait)
            .jitter(Jitter::Bounded)
            .base(2)
            .build_with_max_retries(max_retries);
        Self { policy, max_wait }
    }

    /// The wait before resend `n_past_retries + 1`, or `None` when the
    /// retries ran out: `Retry-After` when the answer had it (capped),
    /// else the backoff policy's.
    pub fn delay(&self, retry_after_header: Option<&str>, n_past_retries: u32) -> Option<Duration> {
        let RetryDecision::Retry { execute_after } =
            self.policy.should_retry(SystemTime::now(), n_past_retries)
        else {
            return None;
        };
        if let Some(wait) = retry_after(retry_after_header) {
            return Some(wait.min(self.max_wait));
        }
        Some(
            execute_after
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .min(self.max_wait),
        )
    }
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if request.try_clone().is_none() {
            buffer_body(&mut request).await?;
        }
        let mut n_past_retries = 0;
        loop {
            let attempt = request.try_clone().ok_or_else(|| {
                reqwest_middleware::Error::middleware(std::io::Error::other(
                    "the request body cannot be resent",
                ))
            })?;
            let result = next.clone().run(attempt, extensions).await;
            if let Some(Retryable::Transient) = StratusRetryStrategy.handle(&result) {
                let after = result
                    .as_ref()
                    .ok()
                    .and_then(|r| r.headers().get(RETRY_AFTER))
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                if let Some(wait) = self.delay(after.as_deref(), n_past_retries) {
                    drop(result);
                    tokio::time::sleep(wait).await;
                    n_past_retries += 1;
                    continue;
                }
            }
            return result.map(|mut response| {
                response
                    .extensions_mut()
                    .insert(RetriesTaken(n_past_retries));
                response
            });
        }
    }
}

/// Reads a streamed body into memory so that the request can be cloned.
async fn buffer_body(request: &mut Request) -> reqwest_middleware::Result<()> {
    if let Some(body) = request.body_mut().take() {
        let bytes = body
            .collect()
            .await
            .map_err(reqwest_middleware::Error::Reqwest)?
            .to_bytes();
        *request.body_mut() = Some(reqwest::Body::from(bytes));
    }
    Ok(())
}

/// The wait before attempt `attempt + 1` (counting from 0) of a client with
/// `backoff` and `max_wait`: `Retry-After` when sent, else the policy's
/// jittered exponential backoff (`backoff * 2^attempt`, at least half of
/// `backoff`); at most `max_wait`.
pub fn retry_delay(
    retry_after_header: Option<&str>,
    attempt: u32,
    backoff: Duration,
    max_wait: Duration,
) -> Duration {
    RetryMiddleware::new(u32::MAX, backoff, max_wait)
        .delay(retry_after_header, attempt)
        .unwrap_or(max_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_decides_with_x_should_retry() {
        assert!(retryable(429, None) && retryable(503, None));
        assert!(!retryable(500, None) && !retryable(400, None));
        assert!(
            !retryable(429, Some("false")),
            "a spent budget is not retried"
        );
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
        let wait = retry_delay(
            Some(&header),
            0,
            Duration::from_millis(500),
            Duration::from_secs(60),
        );
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(
            retry_delay(
                Some(&past),
                0,
                Duration::from_millis(500),
                Duration::from_secs(60)
            ),
            Duration::ZERO
        );
    }

    #[test]
    fn backoff_without_retry_after_grows_with_jitter() {
        let max = Duration::from_secs(60);
        let wait = retry_delay(None, 2, Duration::from_millis(500), max);
        assert!(
            wait >= Duration::from_millis(240) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
        // An unreadable Retry-After falls back to the backoff, capped.
        assert!(retry_delay(Some("soon"), 40, Duration::from_secs(1), max) <= max);
    }

    #[test]
    fn the_retries_run_out() {
        let retry = RetryMiddleware::new(2, Duration::from_millis(10), Duration::from_secs(1));
        assert!(retry.delay(Some("1"), 1).is_some());
        assert_eq!(retry.delay(Some("1"), 2), None);
    }
}
