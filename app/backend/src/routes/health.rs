use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: answers without touching the database.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Status)))]
pub async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: not stopping, and the database answers within a second. From SIGTERM on it
/// answers 503 `shutting_down` while the app still serves for `SHUTDOWN_DELAY`.
#[utoipa::path(get, path = "/ready", tag = "health", responses(
    (status = 200, body = Status),
    (status = 503, body = crate::error::ErrorBody),
))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    if state.lifecycle.is_stopping() {
        return Err(ApiError::ShuttingDown);
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Status { status: "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::error::error_chain(&e), "readiness check failed");
            Err(ApiError::NotReady)
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Err(ApiError::NotReady)
        }
    }
}
