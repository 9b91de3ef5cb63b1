//! Who the browser is: cookies read from a request and the `Set-Cookie` values that change them.
//!
//! `todo_user` holds the user id (chosen on the page, or from login when auth is on); `todo_token`
//! holds the backend token, HttpOnly so page scripts never see it; `todo_conversation` holds the
//! current chat so it survives reloads (scripts set it too). All are `SameSite=Lax`, so other
//! sites cannot post forms with them.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::api::{Caller, UserId, demo_user};

pub const USER: &str = "todo_user";
pub const TOKEN: &str = "todo_token";
pub const CONVERSATION: &str = "todo_conversation";

const YEAR: u64 = 365 * 24 * 3600;
const WEEK: u64 = 7 * 24 * 3600;

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The token, if it has only the characters a bearer token may have.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, TOKEN)
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
        })
        .map(str::to_owned)
}

/// The caller the cookies describe; the user defaults to `demo`.
pub fn caller(headers: &HeaderMap) -> Caller {
    let user = cookie(headers, USER)
        .and_then(|u| UserId::parse(u).ok())
        .unwrap_or_else(demo_user);
    Caller {
        user,
        token: token(headers),
    }
}

/// The conversation the page shows, if one was started.
pub fn conversation(headers: &HeaderMap) -> Option<i64> {
    cookie(headers, CONVERSATION).and_then(|c| c.parse().ok())
}

pub fn set_user(user: &UserId) -> String {
    format!(
        "{USER}={}; Path=/; Max-Age={YEAR}; SameSite=Lax",
        user.as_str()
    )
}

pub fn set_token(token: &str) -> String {
    format!("{TOKEN}={token}; Path=/; Max-Age={WEEK}; HttpOnly; SameSite=Lax")
}

pub fn set_conversation(id: i64) -> String {
    format!("{CONVERSATION}={id}; Path=/; Max-Age={YEAR}; SameSite=Lax")
}

pub fn clear(name: &str) -> String {
    format!("{name}=; Path=/; Max-Age=0; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn reads_cookies_and_defaults_to_demo() {
        let h = headers("a=1; todo_user=alice; todo_conversation=7");
        assert_eq!(caller(&h).user.as_str(), "alice");
        assert_eq!(conversation(&h), Some(7));
        assert_eq!(caller(&HeaderMap::new()).user.as_str(), "demo");
        assert_eq!(caller(&headers("todo_user=<b>")).user.as_str(), "demo");
    }

    #[test]
    fn rejects_tokens_with_header_breaking_characters() {
        assert_eq!(
            token(&headers("todo_token=abc.def-1")).as_deref(),
            Some("abc.def-1")
        );
        assert_eq!(token(&headers("todo_token=a\tb")), None);
    }

    #[test]
    fn token_cookie_is_http_only() {
        let c = set_token("t");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"));
    }
}
