//! Serving a router: each connection on its own clock (header read and
//! keep-alive idle timeouts, see [`connection`]), each request body held to
//! a minimum transfer rate (see [`progress`]), until SIGTERM or Ctrl-C, then
//! finishing the requests in flight before returning (Kubernetes sends
//! SIGTERM and waits for exactly this).
//!
//! `axum::serve` is not used: it gives no way to bound how long a client
//! may take to send its headers or how long an idle connection is kept,
//! and a public edge without them is held open by anyone who opens
//! sockets and says nothing. This loop is axum's (HTTP/1.1, upgrades,
//! graceful shutdown), plus those clocks, plus the peer's address in each
//! request's extensions as axum's [`ConnectInfo`].

pub mod connection;
pub mod progress;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::ApiError;
use connection::{Activity, InFlight, Watched};
use progress::ProgressBody;
pub use progress::{BodyProgress, MinRate};

/// How patient the server is with its clients (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// From the accept (first request) or the first byte of a next request
    /// (kept-alive connection) to the end of the request's headers.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// The slowest request body accepted (`None`: any); a slower one is
    /// answered 408 and its connection closed.
    pub min_body_rate: Option<MinRate>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(75),
            min_body_rate: Some(MinRate {
                bytes: 1024,
                window: Duration::from_secs(10),
            }),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

/// Serve `app` on `listener` with the default [`ServerConfig`] until
/// `shutdown` resolves; in-flight requests complete before this returns.
/// Each request carries its peer's address
/// (`axum::extract::ConnectInfo<SocketAddr>`), which the gateway's sign-in
/// throttle counts per client.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, ServerConfig::default()).await
}

/// Serve `app` on `listener` with `config` until `shutdown` resolves;
/// in-flight requests complete before this returns, and nothing new is
/// accepted once it begins.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    config: ServerConfig,
) -> std::io::Result<()> {
    // Dropping `stop` tells every connection to finish; each holds a
    // `done` receiver until it has, so `finished.closed()` waits for all.
    let (stop, stop_rx) = watch::channel(());
    let (finished, done) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    app.clone(),
                    config,
                    stop_rx.clone(),
                    done.clone(),
                ));
            }
            // The client gave up before we accepted: nothing to do.
            Err(e) if is_connection_error(&e) => {}
            // Out of file descriptors and the like: wait for some to free
            // up rather than spin on the error.
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    drop(listener);
    drop(stop);
    drop(stop_rx);
    drop(done);
    finished.closed().await;
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    config: ServerConfig,
    mut stop: watch::Receiver<()>,
    done: watch::Receiver<()>,
) {
    let activity = Activity::new(config.header_read_timeout, config.idle_timeout);
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        handle(
            app.clone(),
            request,
            requests.request_started(),
            config.min_body_rate,
            peer,
        )
    });
    let mut conn = pin!(
        hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades()
    );
    let mut expired = pin!(activity.expired());
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            why = &mut expired => {
                // Nothing is in flight (the clock never runs then), so
                // closing the socket loses no request.
                tracing::debug!(%peer, reason = why.as_str(), "closing a connection");
                break;
            }
        }
    }
    drop(done);
}

/// One request: its body held to the minimum rate, then `app`; a body
/// that fell below the rate is answered 408 whatever the handler made of
/// its error.
async fn handle(
    app: Router,
    request: Request<Incoming>,
    in_flight: InFlight,
    min_rate: Option<MinRate>,
    peer: SocketAddr,
) -> Result<Response, Infallible> {
    let progress = BodyProgress::default();
    let mut request = match min_rate {
        Some(rate) if rate.bytes > 0 => {
            request.map(|body| Body::new(ProgressBody::new(body, rate, progress.clone())))
        }
        _ => request.map(Body::new),
    };
    request.extensions_mut().insert(ConnectInfo(peer));
    request.extensions_mut().insert(progress.clone());
    let response = app.oneshot(request).await?;
    let response = if progress.too_slow() {
        too_slow(min_rate)
    } else {
        response
    };
    Ok(response.map(|body| Body::new(Tracked::new(body, in_flight))))
}

/// The 408 for a body below the minimum rate; the connection is closed
/// after it (the rest of the body will not be read).
fn too_slow(rate: Option<MinRate>) -> Response {
    let (bytes, window) = rate.map_or((0, 0.0), |r| (r.bytes, r.window.as_secs_f64()));
    let mut response = ApiError::request_timeout(format!(
        "the request body arrived too slowly: this server needs at least {bytes} bytes every {window} s"
    ))
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A response body that marks its request finished (for the connection's
/// clock) when it ends or is dropped.
struct Tracked {
    inner: Body,
    in_flight: Option<InFlight>,
}

impl Tracked {
    fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.in_flight = None;
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
    use axum::routing::get;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn shutdown_finishes_requests_in_flight() {
        let app = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "done"
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, async {
            let _ = stopped.await;
        }));

        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        // The request is in flight when shutdown begins.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();

        let mut response = String::new();
        socket.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("done"), "{response}");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        // And nothing new is accepted afterwards.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
