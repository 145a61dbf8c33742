//! One connection's clock: when it must have sent its request's headers,
//! and how long it may sit idle between requests, before it is closed.
//!
//! Two timeouts with two clocks, as Go's `ReadHeaderTimeout` and
//! `IdleTimeout`:
//! - **header read**: a new connection must finish its first request's
//!   headers within it from the accept; a kept-alive connection within it
//!   from the first byte of its next request. A client that opens sockets
//!   and sends nothing, or half a request, holds a socket and a task for
//!   nothing; it is cut.
//! - **idle**: a kept-alive connection with no request in flight and no
//!   byte of a next one is closed after it.
//!
//! hyper's own `http1::Builder::header_read_timeout` is not used: its timer
//! starts when the previous response ends, so it would also be the
//! keep-alive idle timeout, and a short header timeout would close every
//! idle connection just as quickly (clients then race our close with their
//! next request). A request in flight is never cut here, however quiet its
//! socket: the request timeout and the body's minimum rate (`progress`)
//! govern that time.
//!
//! [`Watched`] wraps the socket and reports reads; the server's service
//! reports each request's start and the end of its response body
//! ([`Activity::request_started`]); [`Activity::expired`] resolves when a
//! deadline passes, and the server then drops the connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection was closed by its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request's headers did not arrive in time.
    HeaderRead,
    /// No next request came on a kept-alive connection.
    Idle,
}

impl Expiry {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::HeaderRead => "header_read_timeout",
            Expiry::Idle => "idle_timeout",
        }
    }
}

#[derive(Debug)]
struct State {
    /// Requests whose response body has not ended.
    in_flight: usize,
    /// Requests received so far.
    served: u64,
    /// When the last response ended.
    idle_since: Instant,
    /// The first byte read while no request was in flight: a next
    /// request's headers have begun.
    head_since: Option<Instant>,
}

/// What the connection's clock knows.
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    header_read: Duration,
    idle: Duration,
    state: Mutex<State>,
    /// Wakes [`Activity::expired`] when a deadline moves earlier (a
    /// request's headers begin) or appears (a response ends).
    changed: Notify,
}

impl Activity {
    pub fn new(header_read: Duration, idle: Duration) -> Arc<Activity> {
        let now = Instant::now();
        Arc::new(Activity {
            accepted: now,
            header_read,
            idle,
            state: Mutex::new(State {
                in_flight: 0,
                served: 0,
                idle_since: now,
                head_since: None,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Only integers change under the lock; a poisoned one is still coherent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived from the client.
    fn on_read(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request's headers were read; the returned guard marks its
    /// response as finished when dropped.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.served += 1;
        state.head_since = None;
        InFlight {
            activity: self.clone(),
        }
    }

    /// The moment this connection is to be closed, if one is set now.
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        let state = self.state();
        if state.in_flight > 0 {
            None
        } else if state.served == 0 {
            Some((self.accepted + self.header_read, Expiry::HeaderRead))
        } else if let Some(head) = state.head_since {
            Some((head + self.header_read, Expiry::HeaderRead))
        } else {
            Some((state.idle_since + self.idle, Expiry::Idle))
        }
    }

    /// Resolves once the connection has passed a deadline.
    pub async fn expired(&self) -> Expiry {
        loop {
            match self.deadline() {
                None => self.changed.notified().await,
                Some((deadline, why)) => {
                    if Instant::now() >= deadline {
                        return why;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// A request in flight on a connection (see [`Activity::request_started`]).
#[derive(Debug)]
pub struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.activity.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_since = None;
        }
        drop(state);
        self.activity.changed.notify_one();
    }
}

/// A socket that tells its [`Activity`] when bytes arrive.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real time (tokio's paused clock needs a feature the workspace does not
    // build), so the durations are short and the checks have some slack.
    const HEADER: Duration = Duration::from_millis(200);
    const IDLE: Duration = Duration::from_millis(400);
    const SLACK: Duration = Duration::from_millis(150);

    fn near(waited: Duration, expected: Duration) -> bool {
        waited >= expected && waited < expected + SLACK
    }

    #[tokio::test]
    async fn a_silent_new_connection_expires_at_the_header_timeout() {
        let activity = Activity::new(HEADER, IDLE);
        let started = Instant::now();
        assert_eq!(activity.expired().await, Expiry::HeaderRead);
        assert!(near(started.elapsed(), HEADER), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_request_in_flight_is_never_expired_then_idle_applies() {
        let activity = Activity::new(HEADER, IDLE);
        let request = activity.request_started();
        let watch = {
            let activity = activity.clone();
            tokio::spawn(async move {
                let why = activity.expired().await;
                (why, Instant::now())
            })
        };
        tokio::time::sleep(HEADER + IDLE).await;
        assert!(!watch.is_finished());
        let ended = Instant::now();
        drop(request);
        let (why, at) = watch.await.unwrap();
        assert_eq!(why, Expiry::Idle);
        assert!(near(at - ended, IDLE), "{:?}", at - ended);
    }

    #[tokio::test]
    async fn the_first_byte_of_a_next_request_starts_the_header_clock() {
        let activity = Activity::new(HEADER, IDLE);
        drop(activity.request_started());
        let watch = {
            let activity = activity.clone();
            tokio::spawn(async move { (activity.expired().await, Instant::now()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let first_byte = Instant::now();
        activity.on_read();
        let (why, at) = watch.await.unwrap();
        assert_eq!(why, Expiry::HeaderRead);
        assert!(near(at - first_byte, HEADER), "{:?}", at - first_byte);
    }
}
