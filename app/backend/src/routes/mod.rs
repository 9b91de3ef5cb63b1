//! The HTTP API.
//!
//! - `GET /health`, `GET /ready`, `GET /openapi.json`
//! - `GET /auth/config`, `POST /auth/signup`, `POST /auth/login`
//! - `GET|POST /api/{user_id}/tasks`, `GET|PUT|DELETE /api/{user_id}/tasks/{id}`,
//!   `PATCH /api/{user_id}/tasks/{id}/complete`
//! - `POST /api/{user_id}/chat`, `GET /api/{user_id}/conversations`,
//!   `GET /api/{user_id}/conversations/{id}/messages`
//! - `/mcp` (see [`crate::mcp`])

pub mod auth;
pub mod chat;
pub mod conversations;
pub mod extract;
pub mod guard;
pub mod health;
pub mod openapi;
pub mod tasks;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::mcp;
use crate::state::AppState;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Requests still running after this answer 503 `timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole application router.
pub fn router(state: AppState, cancel: CancellationToken) -> Router {
    let api = Router::new()
        .route("/api/{user_id}/tasks", get(tasks::list).post(tasks::create))
        .route(
            "/api/{user_id}/tasks/{id}",
            get(tasks::get).put(tasks::update).delete(tasks::delete),
        )
        .route("/api/{user_id}/tasks/{id}/complete", patch(tasks::toggle))
        .route("/api/{user_id}/chat", post(chat::send))
        .route("/api/{user_id}/conversations", get(conversations::list))
        .route(
            "/api/{user_id}/conversations/{id}/messages",
            get(conversations::messages),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::require_path_user,
        ));
    // Outermost first: the Host allow-list, the token, then the JSON-RPC gate (method, headers,
    // body size, JSON-RPC shape; see `mcp::http`).
    let mcp = Router::new()
        .nest_service("/mcp", mcp::service(state.clone(), cancel))
        .layer(middleware::from_fn_with_state(BODY_LIMIT, mcp::http::gate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            mcp::http::check_host,
        ));
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/openapi.json", get(openapi::document))
        .route("/auth/config", get(auth::config))
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .merge(api)
        .merge(mcp)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(timeout))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn timeout(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
