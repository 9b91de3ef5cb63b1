//! Extractors: the path's `{user_id}` and `{id}`, validated and rejected in the JSON error shape,
//! and the client's address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;

use crate::domain::{TaskId, UserId, ValidationError, parse_user_id};
use crate::error::ApiError;
use crate::net::client_address;
use crate::state::AppState;

/// Path parameters by name, with rejections in the JSON error shape.
async fn path_params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Vec<(String, String)>, ApiError> {
    Path::<Vec<(String, String)>>::from_request_parts(parts, state)
        .await
        .map(|Path(params)| params)
        .map_err(|e| ApiError::BadRequest {
            code: "invalid_path",
            message: e.body_text(),
        })
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The `{user_id}` of the path, validated.
pub struct UserPath(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = path_params(parts, state).await?;
        Ok(Self(parse_user_id(param(&params, "user_id"))?))
    }
}

/// The `{user_id}` and task `{id}` of the path, validated.
pub struct TaskPath(pub UserId, pub TaskId);

impl<S: Send + Sync> FromRequestParts<S> for TaskPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = path_params(parts, state).await?;
        let user = parse_user_id(param(&params, "user_id"))?;
        Ok(Self(user, TaskId::parse(param(&params, "id"))?))
    }
}

/// The `{user_id}` and conversation `{id}` of the path, validated.
pub struct ConversationPath(pub UserId, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ConversationPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = path_params(parts, state).await?;
        let user = parse_user_id(param(&params, "user_id"))?;
        let id = TaskId::parse(param(&params, "id")).map_err(|_| {
            ValidationError::new(
                "invalid_conversation_id",
                "conversation id must be a positive integer below 2^63",
            )
        })?;
        Ok(Self(user, id.get()))
    }
}

/// The client's address: the TCP peer, or the address a trusted proxy (the frontend, an
/// ingress) put in `X-Forwarded-For` (see [`crate::net::client_address`]).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(Self(client_address(
            peer,
            forwarded,
            &state.trusted_proxies,
        )))
    }
}
