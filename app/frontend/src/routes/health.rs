//! `GET /health`: liveness, no I/O. `GET /ready`: readiness, 503 from the shutdown signal on so
//! the Service stops sending new connections while the process still serves (see
//! `SHUTDOWN_DELAY`). Neither depends on the backend: the page answers even when it is down.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::state::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    if state.lifecycle.is_stopping() {
        return Err(AppError::ShuttingDown);
    }
    Ok(Json(json!({ "status": "ready" })))
}
