//! `GET /health`: liveness. No I/O, so it never depends on the backend.

use axum::Json;
use serde_json::{Value, json};

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
