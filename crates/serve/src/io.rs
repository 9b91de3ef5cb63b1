//! The socket of one connection, with the head and idle timeouts and the close on drain.
//!
//! hyper reads the socket whenever it waits for a request head, so the timeouts live here: when
//! a read would block, [`GuardedIo`] checks what the connection waits for (see [`Wait`]) and
//! ends the read when that wait has lasted too long, or at once when the drain has begun and no
//! request is being handled.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::{Lifecycle, Options, TIMEOUT_CODE};

/// What a connection waits for while no request is being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Connected, not a byte yet: the head is due within the header timeout of the connect.
    Fresh(Instant),
    /// Part of a head arrived: the rest is due within the header timeout of its first byte.
    Head(Instant),
    /// Between two requests on a keep-alive connection.
    Idle(Instant),
    /// At least one request is being handled or answered.
    Busy(usize),
}

/// Shared by a connection's socket and its service.
#[derive(Debug)]
pub(crate) struct ConnState {
    wait: Mutex<Wait>,
    /// The task blocked in a read: it must re-arm its timer when the last request ends, since
    /// hyper may not read again before the client sends something.
    reader: Mutex<Option<Waker>>,
    /// The last request's body was not read to its end: the client may still be sending it
    /// when the connection closes (see [`GuardedIo::poll_shutdown`]).
    body_unread: AtomicBool,
}

impl ConnState {
    pub(crate) fn new() -> Self {
        Self {
            wait: Mutex::new(Wait::Fresh(Instant::now())),
            reader: Mutex::new(None),
            body_unread: AtomicBool::new(false),
        }
    }

    /// A request body was dropped before its end (an early answer, a size limit, a timeout).
    pub(crate) fn body_left_unread(&self) {
        self.body_unread.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_body_unread(&self) -> bool {
        self.body_unread.load(Ordering::SeqCst)
    }

    fn park_reader(&self, waker: &Waker) {
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *reader {
            Some(w) if w.will_wake(waker) => {}
            other => *other = Some(waker.clone()),
        }
    }

    fn wake_reader(&self) {
        let waker = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn update<T>(&self, f: impl FnOnce(&mut Wait) -> T) -> T {
        f(&mut self.wait.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn bytes_arrived(&self) {
        self.update(|w| match *w {
            Wait::Fresh(at) => *w = Wait::Head(at),
            Wait::Idle(_) => *w = Wait::Head(Instant::now()),
            Wait::Head(_) | Wait::Busy(_) => {}
        });
    }

    fn is_busy(&self) -> bool {
        self.update(|w| matches!(w, Wait::Busy(_)))
    }

    fn current(&self) -> Wait {
        self.update(|w| *w)
    }
}

/// One request being handled: from its parsed head until its answer is sent or dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<ConnState>);

impl InFlight {
    pub(crate) fn start(state: Arc<ConnState>) -> Self {
        // A new request means hyper read the previous body to its end after all.
        state.body_unread.store(false, Ordering::SeqCst);
        state.update(|w| match *w {
            Wait::Busy(n) => *w = Wait::Busy(n + 1),
            _ => *w = Wait::Busy(1),
        });
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let idle = self.0.update(|w| match *w {
            Wait::Busy(n) if n > 1 => {
                *w = Wait::Busy(n - 1);
                false
            }
            _ => {
                *w = Wait::Idle(Instant::now());
                true
            }
        });
        if idle {
            self.0.wake_reader();
        }
    }
}

/// The raw answer to a head that did not arrive in time (the connection closes after it).
fn head_timeout_answer() -> Vec<u8> {
    let body = format!(
        r#"{{"error":{{"code":"{TIMEOUT_CODE}","message":"the request head was not received in time"}}}}"#
    );
    format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The status of an answer hyper wrote on its own, for a request it could not parse (a bad
/// request line or header, a URI over 64 KiB, too many headers, a bad `Content-Length`), and
/// the length of that answer. Such an answer is a head alone, `connection: close` and
/// `content-length: 0` with no `content-type`; every answer of the apps has a `content-type`, and
/// a JSON body cannot hold the bare `\r\n` the match needs, so nothing else matches.
fn library_error(buf: &[u8]) -> Option<(u16, usize)> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(code[0], b'4' | b'5') {
        return None;
    }
    let status = std::str::from_utf8(code).ok()?.parse().ok()?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let headers: Vec<&str> = head.split("\r\n").skip(1).collect();
    let only_head = headers.contains(&"content-length: 0")
        && headers.contains(&"connection: close")
        && !headers.iter().any(|h| h.starts_with("content-type:"));
    only_head.then_some((status, end))
}

/// The answer written instead of hyper's empty one: the same status, with the apps' JSON error
/// body.
fn library_error_answer(status: u16) -> Vec<u8> {
    let (code, message) = match status {
        400 => ("bad_request", "the request is not valid HTTP/1.1"),
        414 => ("uri_too_long", "the request target is too long"),
        431 => (
            "headers_too_large",
            "the request headers are too large or too many",
        ),
        505 => (
            "http_version_not_supported",
            "only HTTP/1.1 and HTTP/1.0 are served",
        ),
        s if s >= 500 => ("internal_error", "the request could not be handled"),
        _ => ("bad_request", "the request could not be read"),
    };
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An answer being written in place of hyper's: its bytes, how many are written, and how many
/// of hyper's bytes it stands for.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    stands_for: usize,
}

pub(crate) struct GuardedIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    options: Options,
    lifecycle: Lifecycle,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    /// Set once the write side is shut down: until when the close may linger.
    linger_until: Option<Instant>,
    /// Something arrived after the write side was shut down.
    lingered: bool,
    /// hyper's own error answer being replaced by one in JSON (see [`library_error`]).
    replacing: Option<Replacement>,
}

impl GuardedIo {
    pub(crate) fn new(
        stream: TcpStream,
        state: Arc<ConnState>,
        options: Options,
        lifecycle: Lifecycle,
    ) -> Self {
        Self {
            stream,
            state,
            options,
            lifecycle,
            timer: Box::pin(tokio::time::sleep(options.idle_timeout)),
            armed: None,
            linger_until: None,
            lingered: false,
            replacing: None,
        }
    }

    /// Writes the rest of the replacement answer; `Ready(Ok(n))` with the number of hyper's
    /// bytes it stands for once all of it is written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some(r) = &mut self.replacing {
            if r.written == r.bytes.len() {
                let n = r.stands_for;
                self.replacing = None;
                return Poll::Ready(Ok(n));
            }
            match std::task::ready!(
                Pin::new(&mut self.stream).poll_write(cx, &r.bytes[r.written..])
            ) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => r.written += n,
                Err(e) => {
                    self.replacing = None;
                    return Poll::Ready(Err(e));
                }
            }
        }
        Poll::Ready(Ok(0))
    }

    /// The second half of a lingering close: reads and discards what the client still sends
    /// until it closes its side, at most until `until`.
    ///
    /// Closing a socket whose receive buffer still holds data makes the kernel send a reset
    /// instead of a FIN, and a client still writing its body (every client that writes a
    /// request before reading the answer) then fails with "broken pipe" or "connection reset"
    /// instead of reading the early answer (a 413 from a size limit, a 408). Reading on keeps
    /// the connection orderly. It only waits when there is a reason to: the last body was left
    /// unread, or the client sent something after the answer. During the drain it stops at the
    /// first read that would wait.
    fn poll_linger(&mut self, cx: &mut Context<'_>, until: Instant) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 8192];
        loop {
            // Checked here and not only by the timer: a client that keeps sending keeps this
            // loop busy until the scheduler's budget runs out, which also stops the timer's poll.
            if Instant::now() >= until {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                // The client closed its side (or reset): nothing left to wait for.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => self.lingered = true,
                Poll::Pending => {
                    let expects_more = self.lingered || self.state.is_body_unread();
                    if !expects_more || self.lifecycle.is_draining() {
                        return Poll::Ready(Ok(()));
                    }
                    if self.armed != Some(until) {
                        self.timer.as_mut().reset(until);
                        self.armed = Some(until);
                    }
                    return match self.timer.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }

    /// True when the drain has begun and no request on this connection is being handled. (The
    /// connection task wakes hyper when the drain begins; the last request's end wakes the
    /// reader.)
    fn drained(&self) -> bool {
        self.lifecycle.is_draining() && !self.state.is_busy()
    }

    /// Arms the timer for what the connection waits for; `Some` once that wait is over.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<Wait> {
        let wait = self.state.current();
        let deadline = match wait {
            Wait::Fresh(at) | Wait::Head(at) => at + self.options.header_read_timeout,
            Wait::Idle(at) => at + self.options.idle_timeout,
            Wait::Busy(_) => return None,
        };
        if self.armed != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.armed = Some(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready().then_some(wait)
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A request already in the socket is still read and answered during the drain (with
        // `Connection: close`); only a read that would wait ends the connection.
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.state.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.state.park_reader(cx.waker());
                if this.drained() {
                    // End of stream: hyper closes an idle connection quietly and a half-sent
                    // head as incomplete.
                    return Poll::Ready(Ok(()));
                }
                match this.expired(cx) {
                    None | Some(Wait::Busy(_)) => Poll::Pending,
                    Some(Wait::Idle(_) | Wait::Fresh(_)) => Poll::Ready(Ok(())),
                    Some(Wait::Head(_)) => {
                        // The socket has room for this small answer: nothing else was written
                        // since the last answer was flushed.
                        let _ = this.stream.try_write(&head_timeout_answer());
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the request head was not received in time",
                        )))
                    }
                }
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    /// Passes the bytes on, except hyper's own answer to a request it could not parse, an empty
    /// body that clients cannot read an error from: that one is replaced by the same status with
    /// the apps' JSON error body.
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none()
            && let Some((status, len)) = library_error(buf)
        {
            this.replacing = Some(Replacement {
                bytes: library_error_answer(status),
                written: 0,
                stands_for: len,
            });
        }
        if this.replacing.is_some() {
            // Until it reports them written, hyper offers the same bytes again.
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty());
        if self.replacing.is_some() || first.is_some_and(|b| library_error(b).is_some()) {
            // A partial write of the first slice is a valid vectored write.
            let first: &[u8] = first.map_or(&[], |b| b);
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    /// Sends the FIN after everything written so far, then lingers (see
    /// [`GuardedIo::poll_linger`]); the socket is closed when the connection is dropped.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replacing.is_some() {
            std::task::ready!(this.poll_replacement(cx))?;
        }
        let until = match this.linger_until {
            Some(until) => until,
            None => {
                if let Err(e) = std::task::ready!(Pin::new(&mut this.stream).poll_shutdown(cx)) {
                    // Not connected any more: nothing to linger for.
                    return Poll::Ready(Err(e));
                }
                let until = Instant::now() + this.options.linger_timeout;
                this.linger_until = Some(until);
                until
            }
        };
        this.poll_linger(cx, until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_408_is_one_well_formed_answer() {
        let raw = String::from_utf8(head_timeout_answer()).unwrap_or_default();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 408 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains(r#""code":"request_timeout""#), "{body}");
    }

    #[test]
    fn only_hyper_s_own_error_answers_are_replaced() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 15:31:54 GMT\r\n\r\n";
        assert_eq!(library_error(hyper_400), Some((400, hyper_400.len())));
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(library_error(hyper_431).map(|(s, _)| s), Some(431));
        for app in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"[..],
            b"HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n",
            b"{\"title\":\"HTTP/1.1 400 Bad Request\\r\\n\"}",
        ] {
            assert_eq!(library_error(app), None, "{}", String::from_utf8_lossy(app));
        }
        for status in [400, 414, 431, 505] {
            let raw = String::from_utf8(library_error_answer(status)).unwrap_or_default();
            let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_default();
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{head}"
            );
            assert!(head.contains("content-type: application/json"), "{head}");
            assert!(body.starts_with(r#"{"error":{"code":""#), "{body}");
        }
    }

    #[tokio::test]
    async fn waits_move_with_bytes_and_requests() {
        let state = Arc::new(ConnState::new());
        assert!(matches!(state.current(), Wait::Fresh(_)));
        state.bytes_arrived();
        assert!(matches!(state.current(), Wait::Head(_)));
        let a = InFlight::start(state.clone());
        let b = InFlight::start(state.clone());
        assert_eq!(state.current(), Wait::Busy(2));
        drop(a);
        assert!(state.is_busy());
        drop(b);
        assert!(matches!(state.current(), Wait::Idle(_)));
        state.bytes_arrived();
        assert!(matches!(state.current(), Wait::Head(_)));
    }
}
