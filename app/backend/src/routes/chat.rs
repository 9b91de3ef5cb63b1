//! `POST /api/{user_id}/chat`: one stateless turn of the agent.
//!
//! The history comes from the database; the user's message, a record of each tool call and the
//! assistant's reply are stored before the answer is sent.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::extract::UserPath;
use crate::agent::{ToolCallRecord, Turn};
use crate::domain::{Role, ValidationError};
use crate::error::{ApiError, AppJson, ErrorBody};
use crate::state::AppState;

/// A turn must finish within this, below the request timeout.
const TURN_DEADLINE: Duration = Duration::from_secs(25);
const MESSAGE_MAX: usize = 4000;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChatRequest {
    /// Continue this conversation; omit to start a new one.
    #[serde(default)]
    pub conversation_id: Option<i64>,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChatResponse {
    pub conversation_id: i64,
    pub response: String,
    pub tool_calls: Vec<ToolCallRecord>,
}

/// Runs one turn of the agent.
#[utoipa::path(post, path = "/api/{user_id}/chat", tag = "chat",
    params(("user_id" = String, Path)), request_body = ChatRequest,
    responses((status = 200, body = ChatResponse), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    UserPath(user): UserPath,
    AppJson(body): AppJson<ChatRequest>,
) -> Result<Json<ChatResponse>, ApiError> {
    let message = body.message.trim();
    if message.is_empty() || message.chars().count() > MESSAGE_MAX {
        return Err(ValidationError::new(
            "invalid_message",
            format!("message must be 1-{MESSAGE_MAX} characters"),
        )
        .into());
    }
    let store = &state.store;
    let conversation = match body.conversation_id {
        Some(id) => store
            .get_conversation(&user, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("conversation {id} not found")))?,
        None => store.create_conversation(&user).await?,
    };
    let history = store.list_messages(&user, conversation.id).await?;
    store
        .append_message(&user, conversation.id, Role::User, message)
        .await?;
    let turn = Turn {
        store,
        user: &user,
        history: &history,
        message,
    };
    let reply = tokio::time::timeout(TURN_DEADLINE, state.agent.respond(turn))
        .await
        .map_err(|_| ApiError::Model("the turn took too long".into()))??;
    for call in &reply.tool_calls {
        let record = serde_json::to_string(call).unwrap_or_default();
        store
            .append_message(&user, conversation.id, Role::Tool, &record)
            .await?;
    }
    store
        .append_message(&user, conversation.id, Role::Assistant, &reply.response)
        .await?;
    Ok(Json(ChatResponse {
        conversation_id: conversation.id,
        response: reply.response,
        tool_calls: reply.tool_calls,
    }))
}
