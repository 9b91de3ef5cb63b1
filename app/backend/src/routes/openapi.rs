//! The OpenAPI document, generated from the handlers' annotations and the types they use.

use axum::Json;
use utoipa::OpenApi;

use super::{auth, chat, conversations, health, tasks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-backend",
        description = "Tasks, a chat agent over them, and an MCP server at /mcp."
    ),
    paths(
        health::health,
        health::ready,
        tasks::list,
        tasks::create,
        tasks::get,
        tasks::update,
        tasks::delete,
        tasks::toggle,
        chat::send,
        conversations::list,
        conversations::messages,
        auth::config,
        auth::signup,
        auth::login,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_route() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for p in [
            "/health",
            "/ready",
            "/api/{user_id}/tasks",
            "/api/{user_id}/tasks/{id}",
            "/api/{user_id}/tasks/{id}/complete",
            "/api/{user_id}/chat",
            "/api/{user_id}/conversations",
            "/api/{user_id}/conversations/{id}/messages",
            "/auth/signup",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
    }
}
