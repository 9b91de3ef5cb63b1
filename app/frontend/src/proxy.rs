//! `/api/*`: a streaming reverse proxy to the backend.
//!
//! Method, path, query, body, status and end-to-end headers pass through; hop-by-hop headers are
//! dropped both ways. The browser's cookies stay here: when the request has no `Authorization`
//! header, the token cookie becomes `Authorization: Bearer`. An unreachable backend gives 502 and
//! a hung one 504, both with the JSON error shape.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Version;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

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
    let req = Request::from_parts(parts, body);
    match state.backend.send(req, PROXY_TIMEOUT).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            tracing::warn!(%method, %path, error = %e, "proxy request failed");
            AppError::from(&e).into_response()
        }
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
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        append_forwarded_for(&mut h, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    }
}
