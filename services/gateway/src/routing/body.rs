//! Bodies on their way through the gateway, streamed frame by frame and never
//! buffered whole.
//!
//! - [`OnceBody`] / [`AttemptBody`]: a request body offered to several
//!   upstream attempts but readable by at most one. An attempt takes the
//!   body from the shared slot on its first poll, so after a failed attempt
//!   [`OnceBody::untouched`] says for certain whether any byte of it could
//!   have left the gateway. That is what makes retrying a streamed upload
//!   safe: only a request whose body was never polled is tried again.
//! - [`LimitedBody`]: counts bytes as they stream in and fails the stream
//!   once it passes the configured maximum (a chunked upload has no
//!   Content-Length to check up front).
//! - [`GuardedBody`]: a response body that holds a guard (an in-flight
//!   permit, a replica's outstanding count) until the stream ends, so a long
//!   SSE stream still counts as in flight.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

/// The request body went past the gateway's maximum while streaming in.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than the gateway's limit of {limit} bytes")]
pub struct BodyTooLarge {
    pub limit: u64,
}

/// A second attempt polled a body the first attempt already took. The
/// retry rule makes this unreachable; it is an error, not a panic, anyway.
#[derive(Debug, thiserror::Error)]
#[error("the request body was already sent to another upstream attempt")]
struct BodyAlreadyTaken;

/// A request body shared by the attempts of one forwarded request.
pub struct OnceBody {
    slot: Mutex<Option<Body>>,
    taken: AtomicBool,
    hint: SizeHint,
    empty: bool,
}

impl OnceBody {
    pub fn new(body: Body) -> Arc<Self> {
        use http_body::Body as _;
        Arc::new(Self {
            hint: body.size_hint(),
            empty: body.is_end_stream(),
            slot: Mutex::new(Some(body)),
            taken: AtomicBool::new(false),
        })
    }

    /// Whether no attempt has polled the body yet (so none sent a byte of it).
    pub fn untouched(&self) -> bool {
        !self.taken.load(Ordering::Acquire)
    }

    /// The body for one attempt.
    pub fn attempt(self: &Arc<Self>) -> AttemptBody {
        AttemptBody {
            source: self.clone(),
            inner: None,
        }
    }

    fn take(&self) -> Option<Body> {
        self.taken.store(true, Ordering::Release);
        // A poisoned lock means a poll panicked while holding it; the slot
        // is a plain Option and still coherent.
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// One attempt's view of a [`OnceBody`].
pub struct AttemptBody {
    source: Arc<OnceBody>,
    inner: Option<Body>,
}

impl http_body::Body for AttemptBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.inner.is_none() {
            match self.source.take() {
                Some(body) => self.inner = Some(body),
                None => return Poll::Ready(Some(Err(axum::Error::new(BodyAlreadyTaken)))),
            }
        }
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Some(body) => body.is_end_stream(),
            None => self.source.empty,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(body) => body.size_hint(),
            None => self.source.hint,
        }
    }
}

/// A request body that fails once more than `limit` bytes have streamed in;
/// `exceeded` tells the forwarding code afterwards that this was the cause.
pub struct LimitedBody {
    inner: Body,
    limit: u64,
    seen: u64,
    exceeded: Arc<AtomicBool>,
}

impl LimitedBody {
    pub fn new(inner: Body, limit: u64, exceeded: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            limit,
            seen: 0,
            exceeded,
        }
    }
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.limit {
                        this.exceeded.store(true, Ordering::Release);
                        return Poll::Ready(Some(Err(axum::Error::new(BodyTooLarge {
                            limit: this.limit,
                        }))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps `guard` alive until the stream ends (or the
/// body is dropped, e.g. when the caller goes away).
pub struct GuardedBody<G> {
    inner: Body,
    guard: Option<G>,
}

impl<G: Send + Unpin + 'static> GuardedBody<G> {
    /// `body` with `guard` attached, as an axum body.
    pub fn wrap(body: Body, guard: G) -> Body {
        use http_body::Body as _;
        if body.is_end_stream() {
            // Nothing will ever be polled: release now.
            drop(guard);
            return body;
        }
        Body::new(Self {
            inner: body,
            guard: Some(guard),
        })
    }
}

impl<G: Send + Unpin + 'static> http_body::Body for GuardedBody<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.guard = None;
        }
        polled
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
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn an_attempt_that_never_polls_leaves_the_body_for_the_next() {
        let once = OnceBody::new(Body::from("audio bytes"));
        drop(once.attempt());
        assert!(once.untouched());
        let bytes = once.attempt().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"audio bytes");
        assert!(!once.untouched());
        assert!(once.attempt().collect().await.is_err());
    }

    #[tokio::test]
    async fn limited_body_fails_past_the_limit_and_says_so() {
        let exceeded = Arc::new(AtomicBool::new(false));
        let chunks = futures::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 100]))),
        );
        let body = LimitedBody::new(Body::from_stream(chunks), 250, exceeded.clone());
        assert!(body.collect().await.is_err());
        assert!(exceeded.load(Ordering::Acquire));

        let exceeded = Arc::new(AtomicBool::new(false));
        let body = LimitedBody::new(Body::from(vec![0u8; 250]), 250, exceeded.clone());
        assert_eq!(body.collect().await.unwrap().to_bytes().len(), 250);
        assert!(!exceeded.load(Ordering::Acquire));
    }
}
