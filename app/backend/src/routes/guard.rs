//! The auth guards of `/api/{user_id}/…` and `/mcp` (no-ops when auth is off).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::state::AppState;

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110).
fn bearer(req: &Request) -> Result<&str, ApiError> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token>".into()))
}

/// Guards `/api/{user_id}/…`: the token's `sub` must be the path's user id.
pub async fn require_path_user(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(keys) = &state.auth else {
        return Ok(next.run(req).await);
    };
    let claims = keys.verify(bearer(&req)?)?;
    // Compared decoded, as the handlers see it (`/api/a%40b.co/…` is user `a@b.co`).
    let path_user = req
        .uri()
        .path()
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .and_then(percent_decode);
    if path_user.as_deref() != Some(claims.sub.as_str()) {
        return Err(ApiError::Forbidden(
            "the token does not grant access to this user's data".into(),
        ));
    }
    Ok(next.run(req).await)
}

/// A path segment with its `%XX` escapes decoded; `None` for a bad escape or invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Guards `/mcp`: a valid token is required; tools then check `user_id` against it.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(keys) = &state.auth {
        let claims = keys.verify(bearer(&req)?)?;
        req.extensions_mut().insert(AuthenticatedUser(claims.sub));
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn path_segments_decode_like_the_handlers_see_them() {
        assert_eq!(percent_decode("a%40b.co").as_deref(), Some("a@b.co"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("%2e%2E").as_deref(), Some(".."));
        for bad in ["%", "%4", "%zz", "%ff", "a%+1"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}
