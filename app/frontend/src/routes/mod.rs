//! The frontend's routes, one file per area:
//!
//! - `GET /` — the task list and chat page ([`pages`]);
//! - `POST /tasks`, `POST /tasks/{id}/{toggle,edit,delete}` — task forms ([`tasks`]);
//! - `POST /chat`, `POST /chat/new` — the chat form ([`chat`]);
//! - `GET|POST /login`, `GET|POST /signup`, `POST /logout`, `POST /user` — who is using the page ([`account`]);
//! - `GET /health` ([`health`]), `GET /assets/{name}` ([`assets`]), `/api/*` ([`crate::proxy`]).

pub mod account;
pub mod assets;
pub mod chat;
pub mod extract;
pub mod health;
pub mod pages;
pub mod tasks;

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};

/// A rendered page, or a plain 500 when a template fails (which the compiler mostly rules out).
pub struct Html<T>(pub T);

impl<T: askama::Template> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(body) => (
                [
                    (CONTENT_TYPE, "text/html; charset=utf-8"),
                    (CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "template failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
            }
        }
    }
}

/// A 303 redirect (the answer to a form post) that may set cookies.
pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    resp
}

/// Percent-encodes `text` for a URL query value.
pub fn encode_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
