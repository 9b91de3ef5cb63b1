//! `POST /api/{user_id}/chat`: one stateless turn of the agent.
//!
//! The history comes from the database; the user's message, a record of each tool call and the
//! assistant's reply are stored in one transaction (with the conversation, when the turn starts
//! one) before the answer is sent. A turn that fails stores no message and no conversation; the
//! tools it already called (an added task, say) keep their effect.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::extract::UserPath;
use crate::agent::{ToolCallRecord, Turn};
use crate::domain::{Role, ValidationError, check_multiline_text};
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
    check_multiline_text("invalid_message", "message", message)?;
    let store = &state.store;
    // An existing conversation is checked now; a new one is created only when the turn is
    // stored, in the same transaction as its messages, so a failed turn leaves nothing behind.
    let history = match body.conversation_id {
        Some(id) => {
            store
                .get_conversation(&user, id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("conversation {id} not found")))?;
            store.list_messages(&user, id).await?
        }
        None => Vec::new(),
    };
    let turn = Turn {
        store,
        user: &user,
        history: &history,
        message,
    };
    let reply = tokio::time::timeout(TURN_DEADLINE, state.agent.respond(turn))
        .await
        .map_err(|_| ApiError::Model("the turn took too long".into()))??;
    // A model may answer with characters PostgreSQL cannot store.
    let response = reply.response.replace('\0', "\u{FFFD}");
    let records: Vec<String> = reply
        .tool_calls
        .iter()
        .map(|call| serde_json::to_string(call).unwrap_or_default())
        .collect();
    let mut messages = vec![(Role::User, message)];
    messages.extend(records.iter().map(|r| (Role::Tool, r.as_str())));
    messages.push((Role::Assistant, response.as_str()));
    let conversation_id = store
        .save_turn(&user, body.conversation_id, &messages)
        .await?;
    Ok(Json(ChatResponse {
        conversation_id,
        response,
        tool_calls: reply.tool_calls,
    }))
}
