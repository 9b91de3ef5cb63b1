//! The HTTP/1.1 serve loop of both apps.
//!
//! `axum::serve` accepts connections and hands them to hyper with no read timeouts, and its
//! graceful shutdown closes the listener at once and then waits for every connection, idle or
//! half-sent ones included. This loop serves each connection itself so that it can:
//!
//! - bound slow clients: a request head must arrive within [`Options::header_read_timeout`] of
//!   its first byte (or of the connect), a request body within [`Options::body_read_timeout`] of
//!   its head; both answer `408` (the head's only when part of it arrived). A keep-alive
//!   connection idle for [`Options::idle_timeout`] is closed;
//! - close connections gracefully: an answer given before its body was read to the end carries
//!   `Connection: close`, and the close sends the FIN, then reads and discards what the client
//!   still sends for up to [`Options::linger_timeout`], so the client reads the answer rather
//!   than a reset;
//! - shut down in phases, for rolling updates behind a Service: on the shutdown signal
//!   [`Lifecycle::is_stopping`] turns true (the apps' `/ready` answers 503) and every answer
//!   carries `Connection: close`, while the listener keeps accepting for
//!   [`Options::shutdown_delay`]; then the listener closes, idle and half-received connections
//!   close at once, and the drain waits only for requests being handled, at most
//!   [`Options::drain_deadline`];
//! - answer a request hyper cannot parse (400, 414, 431) in the apps' JSON error shape, where
//!   hyper's own answer has an empty body.

// Tests may unwrap: a panic there is a clear failure.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod body;
mod io;
mod settings;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{CONNECTION, HeaderValue};
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub use body::BodyTimeout;
pub use settings::{SettingError, parse_seconds};

use body::{GuardedBody, TimedBody};
use io::{ConnState, GuardedIo, InFlight};

/// The error code of a `408` answer, in the apps' `{"error":{"code","message"}}` shape.
pub const TIMEOUT_CODE: &str = "request_timeout";

/// The timing of one server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// How long the app keeps serving after the shutdown signal (`SHUTDOWN_DELAY`).
    pub shutdown_delay: Duration,
    /// How long a request head may take, from its first byte (`HEADER_READ_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// How long a request body may take, from the end of its head (`BODY_READ_TIMEOUT`).
    pub body_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// How long the drain waits for requests being handled before closing them anyway.
    pub drain_deadline: Duration,
    /// How long a closing connection may keep reading (and discarding) a request body the
    /// client is still sending after an early answer, so that the client reads that answer
    /// instead of a reset.
    pub linger_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            shutdown_delay: Duration::ZERO,
            header_read_timeout: DEFAULT_READ_TIMEOUT,
            body_read_timeout: DEFAULT_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            drain_deadline: DRAIN_DEADLINE,
            linger_timeout: LINGER_TIMEOUT,
        }
    }
}

/// Default of both read timeouts.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than the 30 s the frontend keeps an idle pooled connection to the backend and the 60 s
/// of common ingress controllers, so a client never reuses a connection the server just closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long requests being handled get after the listener closes.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(25);
/// Long enough for a client on a busy machine to finish sending a body the server will not
/// read (its reads are discarded); short enough that a client that never stops sending costs
/// little.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

impl Options {
    /// Reads `SHUTDOWN_DELAY`, `HEADER_READ_TIMEOUT` and `BODY_READ_TIMEOUT` through `get`
    /// (unset or empty: the defaults 0, 10 and 10 seconds).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let mut options = Self::default();
        let read = |var: &'static str, max_secs: u64, zero_ok: bool| -> Result<_, SettingError> {
            match get(var).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(raw) => settings::seconds_setting(var, &raw, max_secs, zero_ok).map(Some),
            }
        };
        if let Some(d) = read("SHUTDOWN_DELAY", 300, true)? {
            options.shutdown_delay = d;
        }
        if let Some(d) = read("HEADER_READ_TIMEOUT", 300, false)? {
            options.header_read_timeout = d;
        }
        if let Some(d) = read("BODY_READ_TIMEOUT", 300, false)? {
            options.body_read_timeout = d;
        }
        Ok(options)
    }
}

/// Whether the server is stopping, and the signals of the drain.
///
/// Clones share the state. The apps keep one in their state so `/ready` can answer 503 once
/// the shutdown signal arrived; the backend hands the drain token to its MCP streams so they end
/// when the drain starts.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    inner: Arc<LifecycleInner>,
}

#[derive(Debug)]
struct LifecycleInner {
    stopping: AtomicBool,
    /// Read on every socket read, so a plain flag rather than the token's mutex.
    draining: AtomicBool,
    /// Wakes the connection tasks when the drain begins (sharded, cheap to poll).
    drain_tx: watch::Sender<bool>,
    drain_token: CancellationToken,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::with_drain_token(CancellationToken::new())
    }
}

impl Lifecycle {
    pub fn new() -> Self {
        Self::default()
    }

    /// A lifecycle whose drain cancels `token`.
    pub fn with_drain_token(token: CancellationToken) -> Self {
        Self {
            inner: Arc::new(LifecycleInner {
                stopping: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                drain_tx: watch::Sender::new(false),
                drain_token: token,
            }),
        }
    }

    /// True from the shutdown signal on: readiness probes should fail.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Cancelled when the listener has closed and the drain begins.
    pub fn drain_token(&self) -> CancellationToken {
        self.inner.drain_token.clone()
    }

    fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    fn start_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.drain_tx.send_replace(true);
        self.inner.drain_token.cancel();
    }

    /// Completes when the drain has begun.
    fn drained(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.drain_tx.subscribe();
        async move {
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }
}

/// What every connection task shares.
struct Shared {
    router: Router,
    options: Options,
    lifecycle: Lifecycle,
    read_timeout: fn() -> Response<Body>,
}

/// A bound listener and what it serves.
pub struct Server {
    pub listener: TcpListener,
    pub router: Router,
    pub options: Options,
    pub lifecycle: Lifecycle,
    /// The app's `408` answer for a request body that did not arrive in time (its error type's
    /// JSON body with code [`TIMEOUT_CODE`]).
    pub read_timeout: fn() -> Response<Body>,
}

impl Server {
    /// Serves until `shutdown` completes, then runs the shutdown phases and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener,
            router,
            options,
            lifecycle,
            read_timeout,
        } = self;
        let shared = Arc::new(Shared {
            router,
            options,
            lifecycle: lifecycle.clone(),
            read_timeout,
        });
        let mut conns = JoinSet::new();
        accept_until(&listener, &mut conns, &shared, shutdown).await;

        lifecycle.stop();
        tracing::info!(
            delay_secs = options.shutdown_delay.as_secs_f64(),
            open_connections = conns.len(),
            "shutdown requested: /ready answers 503; serving on for the shutdown delay"
        );
        accept_until(
            &listener,
            &mut conns,
            &shared,
            tokio::time::sleep(options.shutdown_delay),
        )
        .await;
        drop(listener);

        tracing::info!(
            open_connections = conns.len(),
            "stopped accepting; closing idle connections and draining requests in flight"
        );
        lifecycle.start_drain();
        let drained = tokio::time::timeout(options.drain_deadline, async {
            while let Some(done) = conns.join_next().await {
                log_panic(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open_connections = conns.len(),
                "drain deadline passed; closing connections with requests in flight"
            );
            conns.abort_all();
        }
    }
}

/// Accepts connections until `until` completes, reaping finished connection tasks.
async fn accept_until(
    listener: &TcpListener,
    conns: &mut JoinSet<()>,
    shared: &Arc<Shared>,
    until: impl Future<Output = ()>,
) {
    let mut until = pin!(until);
    loop {
        tokio::select! {
            biased;
            () = &mut until => return,
            Some(done) = conns.join_next(), if !conns.is_empty() => log_panic(done),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    conns.spawn(serve_connection(stream, peer, shared.clone()));
                }
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    // Out of file descriptors or memory: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed; retrying in 1 s");
                    tokio::select! {
                        () = &mut until => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
}

fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %e, "a connection task panicked");
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // Small JSON answers should leave at once rather than wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let state = Arc::new(ConnState::new());
    let drained = shared.lifecycle.drained();
    let io = GuardedIo::new(
        stream,
        state.clone(),
        shared.options,
        shared.lifecycle.clone(),
    );
    let service = ConnService {
        shared,
        state,
        peer,
    };
    let conn = http1::Builder::new()
        // The head timeout is GuardedIo's: hyper's would also close idle keep-alive connections
        // after the same time, and it closes without an answer.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), service);
    let mut conn = pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = drained => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection closed with an error");
    }
}

/// The router behind one connection: counts requests in flight, bounds the body's arrival and
/// asks the client to reconnect elsewhere once the server is stopping.
struct ConnService {
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    peer: SocketAddr,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(self.state.clone());
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let timed = TimedBody::new(
            body,
            self.shared.options.body_read_timeout,
            self.shared.lifecycle.clone(),
            self.state.clone(),
        );
        let tripped = timed.tripped();
        let req = Request::from_parts(parts, Body::new(timed));
        let shared = self.shared.clone();
        let state = self.state.clone();
        Box::pin(async move {
            let Ok(mut resp) = shared.router.clone().oneshot(req).await;
            let timed_out = tripped.load(Ordering::SeqCst);
            if timed_out {
                resp = (shared.read_timeout)();
            }
            // An answer given before the body was read to its end (a size limit, a refusal)
            // ends the connection: the client must not send its next request on it.
            if timed_out || state.is_body_unread() || shared.lifecycle.is_stopping() {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp.map(|b| Body::new(GuardedBody::new(b, in_flight))))
        })
    }
}
