//! `/auth/…`: whether auth is on, and sign-up and log-in that return a bearer token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthKeys, hash_password, verify_password};
use crate::domain::{UserId, ValidationError, parse_user_id};
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

/// The email, lower-cased, doubles as the user id, so it must fit the user id alphabet.
fn parse_email(email: &str) -> Result<UserId, ApiError> {
    let email = email.trim().to_lowercase();
    let shaped = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    match parse_user_id(&email) {
        Ok(id) if shaped => Ok(id),
        _ => Err(ValidationError::new(
            "invalid_email",
            "email must look like name@example.com, at most 64 characters of letters, digits, '.', '_', '@' or '-'",
        )
        .into()),
    }
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if (8..=128).contains(&len) {
        Ok(())
    } else {
        Err(ValidationError::new("invalid_password", "password must be 8-128 characters").into())
    }
}

/// Creates an account and returns a token for it.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Credentials,
    responses((status = 201, body = TokenResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    AppJson(body): AppJson<Credentials>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let keys = keys(&state)?;
    let user = parse_email(&body.email)?;
    check_password(&body.password)?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))??;
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
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    AppJson(body): AppJson<Credentials>,
) -> Result<Json<TokenResponse>, ApiError> {
    let keys = keys(&state)?;
    let invalid = || ApiError::Unauthorized("wrong email or password".into());
    let email = body.email.trim().to_lowercase();
    let record = state.store.find_user_by_email(&email).await?;
    let Some(record) = record else {
        return Err(invalid());
    };
    let password = body.password;
    let hash = record.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    if !ok {
        return Err(invalid());
    }
    Ok(Json(TokenResponse {
        token: keys.issue(&record.user_id)?,
        user_id: record.user_id,
    }))
}
