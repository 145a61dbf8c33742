//! The minimum transfer rate of request bodies: an upload that delivers
//! fewer than [`MinRate::bytes`] in a [`MinRate::window`] fails, and the
//! request is answered 408 (see `server::serve_with`).
//!
//! Why: a request slot (the gateway's in-flight cap, a tenant's concurrency,
//! a socket, a task) is held from the request's headers until its response.
//! A client that sends its body a byte every few seconds holds one for as
//! long as the request timeout allows — minutes — at no cost to itself; a
//! few dozen such uploads fill the edge. A body that keeps up a minimum
//! rate is cut only if it is also larger than the request timeout allows.
//!
//! The check runs in tumbling windows that start when the body is first
//! read (not when the headers arrived: authentication and admission come
//! first, and a refused request never reads its body). A window is judged
//! when it ends while the reader waits for data (a timer wakes it, so a
//! body that sends nothing at all is cut too), or when data arrives after
//! its end. Time the reader spends not reading (a slow upstream applying
//! back-pressure) is not the client's fault: what the client sent in the
//! meantime sits in the socket buffers and arrives at once on the next read.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The slowest body accepted: at least `bytes` in every `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    pub bytes: u64,
    pub window: Duration,
}

/// A request body fell below the minimum transfer rate.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body arrived too slowly: {seen} bytes in {window:?}, the minimum is {min} bytes"
)]
pub struct BodyTooSlow {
    pub seen: u64,
    pub min: u64,
    pub window: Duration,
}

/// Whether a request's body fell below the minimum rate: in every
/// request's extensions, so a handler that forwards the body (the gateway)
/// can name the cause itself; the server answers 408 in any case.
#[derive(Debug, Clone, Default)]
pub struct BodyProgress(Arc<AtomicBool>);

impl BodyProgress {
    pub fn too_slow(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn trip(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A request body checked against a [`MinRate`]; its [`BodyProgress`]
/// tells the server afterwards that the body failed for slowness (whatever
/// the handler made of the error).
pub struct ProgressBody<B> {
    inner: B,
    rate: MinRate,
    /// When the current window started (first read) and the bytes in it.
    window_start: Option<Instant>,
    seen: u64,
    timer: Option<Pin<Box<Sleep>>>,
    progress: BodyProgress,
}

impl<B> ProgressBody<B> {
    pub fn new(inner: B, rate: MinRate, progress: BodyProgress) -> Self {
        Self {
            inner,
            rate,
            window_start: None,
            seen: 0,
            timer: None,
            progress,
        }
    }

    fn too_slow(&self) -> BodyTooSlow {
        BodyTooSlow {
            seen: self.seen,
            min: self.rate.bytes,
            window: self.rate.window,
        }
    }

    /// Judge the window that started at `start` (it has ended by `now`):
    /// an error if too little came, else a new window from `now`.
    fn judge(&mut self, now: Instant) -> Result<(), BodyTooSlow> {
        if self.seen < self.rate.bytes {
            self.progress.trip();
            return Err(self.too_slow());
        }
        self.window_start = Some(now);
        self.seen = 0;
        Ok(())
    }
}

impl<B> http_body::Body for ProgressBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.progress.too_slow() {
            // Failed already: fail again, never a clean end a reader could
            // take for the whole body.
            return Poll::Ready(Some(Err(axum::Error::new(this.too_slow()))));
        }
        let now = Instant::now();
        let start = *this.window_start.get_or_insert(now);
        let deadline = start + this.rate.window;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                }
                if now >= deadline
                    && let Err(e) = this.judge(now)
                {
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(axum::Error::new(e)))),
            Poll::Ready(None) => {
                this.timer = None;
                Poll::Ready(None)
            }
            Poll::Pending => loop {
                // Waiting for the client: wake at the window's end to judge
                // it even if nothing more ever arrives.
                let deadline = this
                    .window_start
                    .map_or(now, |start| start + this.rate.window);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                ready!(timer.as_mut().poll(cx));
                if let Err(e) = this.judge(Instant::now()) {
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use futures::StreamExt as _;
    use http_body_util::BodyExt;

    /// A body that yields `chunk` bytes every `every`, `count` times.
    fn trickle(chunk: usize, every: Duration, count: usize) -> Body {
        let stream = futures::stream::unfold(0usize, move |sent| async move {
            if sent == count {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((
                Ok::<_, std::io::Error>(Bytes::from(vec![7u8; chunk])),
                sent + 1,
            ))
        });
        Body::from_stream(stream)
    }

    fn rate(bytes: u64, window_ms: u64) -> MinRate {
        MinRate {
            bytes,
            window: Duration::from_millis(window_ms),
        }
    }

    // Real time (tokio's paused clock needs a feature the workspace does
    // not build): windows of a few hundred milliseconds.

    #[tokio::test]
    async fn a_body_that_keeps_the_rate_passes_whole() {
        let tripped = BodyProgress::default();
        // 100 bytes every 10 ms against 1000 in 200 ms: twice the minimum.
        let body = ProgressBody::new(
            trickle(100, Duration::from_millis(10), 40),
            rate(1000, 200),
            tripped.clone(),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 4000);
        assert!(!tripped.too_slow());
    }

    #[tokio::test]
    async fn a_trickle_fails_after_one_window() {
        let tripped = BodyProgress::default();
        // One byte every 30 ms against 500 in 300 ms.
        let body = ProgressBody::new(
            trickle(1, Duration::from_millis(30), 100),
            rate(500, 300),
            tripped.clone(),
        );
        let started = Instant::now();
        let error = body.collect().await.unwrap_err();
        let waited = started.elapsed();
        assert!(tripped.too_slow());
        assert!(error.to_string().contains("too slowly"), "{error}");
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(450),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_body_that_sends_nothing_fails_at_the_window_end() {
        let tripped = BodyProgress::default();
        let silent = Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let body = ProgressBody::new(silent, rate(1, 200), tripped.clone());
        let started = Instant::now();
        assert!(body.collect().await.is_err());
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_millis(350),
            "{waited:?}"
        );
        assert!(tripped.too_slow());
    }

    #[tokio::test]
    async fn a_fast_start_does_not_pay_for_a_stalled_end() {
        // A burst, then silence: the next window is judged on its own.
        let tripped = BodyProgress::default();
        let burst =
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 10_000]))])
                .chain(futures::stream::pending());
        let body = ProgressBody::new(Body::from_stream(burst), rate(100, 200), tripped.clone());
        let started = Instant::now();
        assert!(body.collect().await.is_err());
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(400) && waited < Duration::from_millis(550),
            "{waited:?}"
        );
    }
}
