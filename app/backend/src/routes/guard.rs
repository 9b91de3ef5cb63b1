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
    let path_user = req
        .uri()
        .path()
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    if claims.sub != path_user {
        return Err(ApiError::Forbidden(
            "the token does not grant access to this user's data".into(),
        ));
    }
    Ok(next.run(req).await)
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
