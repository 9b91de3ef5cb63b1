//! `/auth/…`: whether auth is on, and sign-up and log-in that return a bearer token.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::ClientAddr;
use crate::auth::AuthKeys;
use crate::auth::password::HashError;
use crate::domain::{check_login_password, check_password, parse_login_email, parse_signup_email};
use crate::error::{ApiError, AppJson, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthConfig {
    /// True when `/api` and `/mcp` need a bearer token.
    pub enabled: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    /// The id to use in `/api/{user_id}/…` paths (the normalised email).
    pub user_id: String,
}

/// Tells clients whether to sign in.
#[utoipa::path(get, path = "/auth/config", tag = "auth", responses((status = 200, body = AuthConfig)))]
pub async fn config(State(state): State<AppState>) -> Json<AuthConfig> {
    Json(AuthConfig {
        enabled: state.auth.is_some(),
    })
}

fn keys(state: &AppState) -> Result<&AuthKeys, ApiError> {
    state.auth.as_deref().ok_or_else(|| {
        ApiError::AuthDisabled("authentication is not enabled on this server".into())
    })
}

fn hashing_error(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::Busy {
            retry_after: Duration::from_secs(1),
        },
        HashError::Failed(message) => ApiError::Internal(message.into()),
    }
}

/// Creates an account and returns a token for it.
///
/// Sign-ups that reach the password hash are limited per client address (429 with
/// `Retry-After`).
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Credentials,
    responses((status = 201, body = TokenResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "too many sign-ups from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "every password-hashing slot is busy; see Retry-After", body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<Credentials>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let keys = keys(&state)?;
    let user = parse_signup_email(&body.email)?;
    check_password(&body.password)?;
    state
        .logins
        .check_signup(client)
        .map_err(|retry_after| ApiError::TooManyRequests {
            message: "too many sign-ups from this address; try again later".into(),
            retry_after,
        })?;
    let hash = state
        .hasher
        .hash(body.password)
        .await
        .map_err(hashing_error)?;
    state.logins.signed_up(client);
    state.store.insert_user(&user, user.as_str(), &hash).await?;
    let token = keys.issue(user.as_str())?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            user_id: user.to_string(),
        }),
    ))
}

/// Checks the password and returns a token.
///
/// An unknown email costs the same hash as a wrong password. Failed logins are limited per
/// account and per client address (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "too many failed logins; see Retry-After", body = ErrorBody),
        (status = 503, description = "every password-hashing slot is busy; see Retry-After", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<Credentials>,
) -> Result<Json<TokenResponse>, ApiError> {
    let keys = keys(&state)?;
    let email = parse_login_email(&body.email)?;
    check_login_password(&body.password)?;
    state
        .logins
        .check(email.as_str(), client)
        .map_err(|refused| ApiError::TooManyRequests {
            message: if refused.per_account {
                "too many failed logins for this account; try again later".into()
            } else {
                "too many failed logins from this address; try again later".into()
            },
            retry_after: refused.retry_after,
        })?;
    let record = state.store.find_user_by_email(email.as_str()).await?;
    let stored = record.as_ref().map(|r| r.password_hash.clone());
    let ok = state
        .hasher
        .verify(body.password, stored)
        .await
        .map_err(hashing_error)?;
    match record {
        Some(record) if ok => {
            state.logins.succeeded(email.as_str());
            Ok(Json(TokenResponse {
                token: keys.issue(&record.user_id)?,
                user_id: record.user_id,
            }))
        }
        _ => {
            state.logins.failed(email.as_str(), client);
            Err(ApiError::Unauthorized("wrong email or password".into()))
        }
    }
}
