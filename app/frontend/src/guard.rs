//! Cross-site request checks and cookie hardening, as middleware.
//!
//! Every state-changing form route (any method but GET and HEAD on the pages) must come from the
//! page's own origin: `Sec-Fetch-Site`, when the browser sends it, must be `same-origin` (or
//! `none`, a request the user typed); `Origin`, else `Referer`, must name the same host and port
//! as the request's `Host`; a form with neither is refused too. Otherwise the answer is 403
//! `cross_site_request`. `/api` refuses a state-changing call only when the browser says it is
//! cross-site (`Sec-Fetch-Site` or a foreign `Origin`); programs without those headers still
//! reach it.
//!
//! Cookies get `Secure` when the request came over TLS: `X-Forwarded-Proto: https` from a
//! loopback or private peer (the ingress), or always with `COOKIE_SECURE=always`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HOST, ORIGIN, REFERER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::CookieSecure;
use crate::error::AppError;
use crate::proxy::is_proxy_address;
use crate::state::AppState;

/// For the pages: the same-origin check on every state-changing request, `Secure` on cookies.
pub async fn forms(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_safe(req.method())
        && let Err(why) = same_origin(req.headers())
    {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), why, "cross-site form refused");
        return AppError::CrossSite(why).into_response();
    }
    let secure = over_tls(state.cookie_secure, &req);
    let mut resp = next.run(req).await;
    if secure {
        make_secure(resp.headers_mut());
    }
    resp
}

/// For `/api`: a state-changing call the browser marks as cross-site is refused.
pub async fn api(req: Request, next: Next) -> Response {
    if !is_safe(req.method())
        && let Err(why) = not_cross_site(req.headers())
    {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), why, "cross-site API call refused");
        return AppError::CrossSite(why).into_response();
    }
    next.run(req).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `host[:port]` of an `Origin` or `Referer` value (`https://example.com:8443/path`).
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty() && !a.contains('@'))
}

/// `Ok` when the request provably comes from a page of this origin.
pub fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    not_cross_site(headers)?;
    let host = header(headers, HOST).ok_or("the request has no Host header")?;
    let source = match (header(headers, ORIGIN), header(headers, REFERER)) {
        (Some(origin), _) => origin,
        (None, Some(referer)) => referer,
        (None, None) => return Err("a form must come with an Origin or Referer header"),
    };
    match authority(source) {
        Some(a) if a.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err("the form was posted from another site"),
    }
}

/// `Err` when the browser says the request is cross-site; `Ok` when it says nothing.
fn not_cross_site(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = header(headers, "sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err("the request came from another site");
    }
    if let (Some(origin), Some(host)) = (header(headers, ORIGIN), header(headers, HOST))
        && !authority(origin).is_some_and(|a| a.eq_ignore_ascii_case(host))
    {
        return Err("the request came from another site");
    }
    Ok(())
}

/// Whether the browser reached us over TLS (or cookies are always `Secure`).
fn over_tls(policy: CookieSecure, req: &Request) -> bool {
    match policy {
        CookieSecure::Always => true,
        CookieSecure::Auto => {
            let from_proxy = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|ConnectInfo(peer)| is_proxy_address(peer.ip()));
            from_proxy
                && header(req.headers(), "x-forwarded-proto")
                    .and_then(|v| v.split(',').next())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        }
    }
}

/// Adds `Secure` to every `Set-Cookie` that lacks it.
fn make_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(SET_COOKIE);
    for c in cookies {
        let text = c.to_str().unwrap_or_default();
        let secured = if text.is_empty() || text.to_ascii_lowercase().contains("; secure") {
            c
        } else {
            HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(c)
        };
        headers.append(SET_COOKIE, secured);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forms_must_name_this_origin() {
        let ok = [
            headers(&[("host", "todo.example"), ("origin", "https://todo.example")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
            ]),
            headers(&[("host", "a:1"), ("referer", "http://a:1/?filter=all")]),
            headers(&[
                ("host", "a"),
                ("origin", "http://a"),
                ("sec-fetch-site", "same-origin"),
            ]),
        ];
        for h in ok {
            assert_eq!(same_origin(&h), Ok(()), "{h:?}");
        }
        let refused = [
            headers(&[("host", "a")]),
            headers(&[("host", "a"), ("origin", "null")]),
            headers(&[("host", "a"), ("origin", "http://evil.example")]),
            headers(&[("host", "a:1"), ("origin", "http://a:2")]),
            headers(&[("host", "a"), ("origin", "http://a.evil.example")]),
            headers(&[("host", "a"), ("referer", "http://evil.example/a")]),
            headers(&[("host", "a"), ("referer", "http://a@evil.example/")]),
            headers(&[("origin", "http://a")]),
            headers(&[
                ("host", "a"),
                ("origin", "http://a"),
                ("sec-fetch-site", "cross-site"),
            ]),
            headers(&[
                ("host", "a"),
                ("origin", "http://a"),
                ("sec-fetch-site", "same-site"),
            ]),
        ];
        for h in refused {
            assert!(same_origin(&h).is_err(), "{h:?}");
        }
    }

    #[test]
    fn api_calls_without_browser_headers_pass() {
        assert_eq!(not_cross_site(&headers(&[("host", "a")])), Ok(()));
        assert!(not_cross_site(&headers(&[("host", "a"), ("origin", "http://b")])).is_err());
    }

    #[test]
    fn secure_is_added_once() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        h.append(SET_COOKIE, HeaderValue::from_static("b=2; Path=/; Secure"));
        make_secure(&mut h);
        let all: Vec<_> = h.get_all(SET_COOKIE).iter().collect();
        assert_eq!(all, ["a=1; Path=/; Secure", "b=2; Path=/; Secure"]);
    }
}
