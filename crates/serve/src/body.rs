//! The request body with its arrival deadline, and the response body that marks the end of a
//! request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::Lifecycle;
use crate::io::{ConnState, InFlight};

type DrainWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A request body that did not arrive in time, or was still arriving when the drain began.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

/// The body of one request: fails with [`BodyTimeout`] when the client has not sent all of it
/// within the body timeout of its head, or at once when the drain begins while it is still
/// arriving. `tripped` tells the service to answer 408 whatever the handler made of the error.
pub(crate) struct TimedBody {
    inner: Incoming,
    deadline: Instant,
    lifecycle: Lifecycle,
    /// The timer and the drain watch, made on the first read that has to wait (most bodies are
    /// empty or already buffered).
    waits: Option<(Pin<Box<Sleep>>, DrainWait)>,
    tripped: Arc<AtomicBool>,
    ended: bool,
    /// Told when the body is dropped before its end.
    conn: Arc<ConnState>,
}

impl TimedBody {
    pub(crate) fn new(
        inner: Incoming,
        timeout: Duration,
        lifecycle: Lifecycle,
        conn: Arc<ConnState>,
    ) -> Self {
        Self {
            inner,
            deadline: Instant::now() + timeout,
            lifecycle,
            waits: None,
            tripped: Arc::default(),
            ended: false,
            conn,
        }
    }

    pub(crate) fn tripped(&self) -> Arc<AtomicBool> {
        self.tripped.clone()
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if this.tripped.load(Ordering::SeqCst) {
            return Poll::Ready(Some(Err(BodyTimeout.into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.ended = this.inner.is_end_stream();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => {
                let (deadline, drain) = this.waits.get_or_insert_with(|| {
                    (
                        Box::pin(tokio::time::sleep_until(this.deadline)),
                        Box::pin(this.lifecycle.drained()),
                    )
                });
                let late =
                    deadline.as_mut().poll(cx).is_ready() || drain.as_mut().poll(cx).is_ready();
                if late {
                    this.tripped.store(true, Ordering::SeqCst);
                    return Poll::Ready(Some(Err(BodyTimeout.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        if !http_body::Body::is_end_stream(self) {
            self.conn.body_left_unread();
        }
    }
}

/// A response body that holds its request's [`InFlight`] until the last frame is sent (or the
/// body is dropped), so the drain knows the connection is busy until then.
pub(crate) struct GuardedBody {
    inner: Body,
    in_flight: Option<InFlight>,
}

impl GuardedBody {
    pub(crate) fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
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
