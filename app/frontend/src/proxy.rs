//! `/api/*`: a streaming reverse proxy to the backend.
//!
//! Method, path, query, body, status and end-to-end headers pass through; hop-by-hop headers are
//! dropped both ways. The browser's cookies stay here: when the request has no `Authorization`
//! header, the token cookie becomes `Authorization: Bearer`, and a `Set-Cookie` of the backend's
//! answer is dropped. An unreachable backend gives 502 and a hung one 504, both with the JSON
//! error shape; a request body the client broke off or framed badly gives 400 `invalid_body`
//! (the client's mistake, whatever the backend connection then reported). An answer whose body
//! stalls for [`crate::backend::PROXY_BODY_IDLE`] after its head is cut off (the connection
//! ends) rather than holding the client forever. Every answer is `Cache-Control: no-store`.
//!
//! Forwarding headers, which a client can forge: `X-Real-IP`, `Forwarded` and
//! `Proxy-Connection` are dropped. `X-Forwarded-For` and `X-Forwarded-Proto` from the client are
//! kept only when the connection comes from a loopback or private address (an ingress or a proxy
//! in the cluster or on the host); otherwise they are dropped. Then the peer's address is
//! appended to `X-Forwarded-For` and `X-Forwarded-Host` is set to the request's `Host`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Version;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::backend::PROXY_TIMEOUT;
use crate::error::AppError;
use crate::session;
use crate::state::AppState;

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub async fn proxy(State(state): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().copied();
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    strip_hop_by_hop(&mut parts.headers);
    strip_forwarding(&mut parts.headers, peer.map(|ConnectInfo(a)| a));
    let original_host = parts.headers.remove(header::HOST);
    let token = session::token(&parts.headers);
    parts.headers.remove(header::COOKIE);
    if !parts.headers.contains_key(header::AUTHORIZATION)
        && let Some(token) = token
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        parts.headers.insert(header::AUTHORIZATION, value);
    }
    if let Some(ConnectInfo(addr)) = peer {
        append_forwarded_for(&mut parts.headers, addr);
    }
    if let Some(host) = original_host {
        parts
            .headers
            .insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    parts.version = Version::HTTP_11;
    // The client connection reports a body it cannot read (bad chunk framing, an end before the
    // Content-Length) as an error of the stream the backend request is sending; the client
    // library then fails the whole call, which would read as "backend unreachable". The flag
    // tells the two apart.
    let body_broken = Arc::new(AtomicBool::new(false));
    let flag = body_broken.clone();
    let body = Body::new(body.map_err(move |e| {
        flag.store(true, Ordering::SeqCst);
        e
    }));
    let req = Request::from_parts(parts, body);
    match state.backend.send(req, PROXY_TIMEOUT).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            // The browser's cookies are the frontend's (HttpOnly, SameSite, Secure over TLS, see
            // `session` and `guard`): an answer from the backend must not set or overwrite them.
            parts.headers.remove(header::SET_COOKIE);
            parts
                .headers
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            let idle = state.backend.body_idle();
            Response::from_parts(parts, Body::new(IdleBody::new(body, idle)))
        }
        Err(e) if body_broken.load(Ordering::SeqCst) => {
            // A late body is answered 408 by the serve loop instead.
            tracing::info!(%method, %path, error = %e, "the client's request body broke off");
            AppError::BrokenBody.into_response()
        }
        Err(e) => {
            tracing::warn!(%method, %path, error = %e, "proxy request failed");
            AppError::from(&e).into_response()
        }
    }
}

/// A backend answer's body that fails once the backend has sent nothing for `idle` while more
/// is due. The head is already on its way to the client, so the failure can only end the
/// connection: the client sees a cut-off answer instead of waiting forever. A client that reads
/// slowly does not count: the timer runs only while this body waits on the backend.
struct IdleBody {
    inner: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

/// The error that ends a stalled answer.
#[derive(Debug, thiserror::Error)]
#[error("the backend sent nothing more of its answer for {0:?}")]
struct BodyStalled(Duration);

impl IdleBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            armed: false,
        }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if !this.armed {
                    this.timer.as_mut().reset(Instant::now() + this.idle);
                    this.armed = true;
                }
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                tracing::warn!(idle = ?this.idle, "the backend stopped sending an answer; cutting it off");
                Poll::Ready(Some(Err(BodyStalled(this.idle).into())))
            }
            ready => {
                this.armed = false;
                ready.map_err(Into::into)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Removes hop-by-hop headers, including any that `Connection` names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// Forwarding headers no client may set, whoever it is.
const SPOOFABLE: [&str; 3] = ["x-real-ip", "forwarded", "proxy-connection"];

/// Drops the forwarding headers a client could forge (see the module documentation).
pub fn strip_forwarding(headers: &mut HeaderMap, peer: Option<SocketAddr>) {
    for name in SPOOFABLE {
        headers.remove(name);
    }
    if !peer.is_some_and(|p| is_proxy_address(p.ip())) {
        headers.remove("x-forwarded-for");
        headers.remove("x-forwarded-proto");
    }
}

/// Loopback and private addresses: where an ingress or a local proxy connects from.
pub fn is_proxy_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback() || v4.is_private(),
            // fc00::/7, unique local addresses.
            None => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        },
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, addr: SocketAddr) {
    let name = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {}", addr.ip()),
        None => addr.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_and_end_to_end_ones_stay() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert("x-request-id", HeaderValue::from_static("abc"));
        strip_hop_by_hop(&mut h);
        let left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(h.contains_key(header::CONTENT_TYPE) && h.contains_key("x-request-id"));
    }

    #[test]
    fn forgeable_forwarding_headers_go() {
        let forged = || {
            let mut h = HeaderMap::new();
            for name in [
                "x-real-ip",
                "forwarded",
                "proxy-connection",
                "x-forwarded-for",
            ] {
                h.insert(name, HeaderValue::from_static("6.6.6.6"));
            }
            h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
            h
        };
        let mut outside = forged();
        strip_forwarding(&mut outside, Some("203.0.113.9:5000".parse().unwrap()));
        assert!(outside.is_empty(), "{outside:?}");
        let mut ingress = forged();
        strip_forwarding(&mut ingress, Some("10.244.0.7:5000".parse().unwrap()));
        let mut left: Vec<_> = ingress.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["x-forwarded-for", "x-forwarded-proto"]);
        assert!(is_proxy_address("::1".parse().unwrap()));
        assert!(is_proxy_address("fd00::1".parse().unwrap()));
        assert!(is_proxy_address("::ffff:192.168.1.2".parse().unwrap()));
        assert!(!is_proxy_address("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        append_forwarded_for(&mut h, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    }
}
