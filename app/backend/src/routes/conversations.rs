//! `/api/{user_id}/conversations…`: the stored chat history.

use axum::Json;
use axum::extract::State;

use super::extract::{ConversationPath, UserPath};
use crate::domain::{Conversation, Message};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The user's conversations, most recently active first.
#[utoipa::path(get, path = "/api/{user_id}/conversations", tag = "chat",
    params(("user_id" = String, Path)), responses((status = 200, body = [Conversation])))]
pub async fn list(
    State(state): State<AppState>,
    UserPath(user): UserPath,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    Ok(Json(state.store.list_conversations(&user).await?))
}

/// The messages of one conversation, oldest first.
#[utoipa::path(get, path = "/api/{user_id}/conversations/{id}/messages", tag = "chat",
    params(("user_id" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = [Message]), (status = 404, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    ConversationPath(user, id): ConversationPath,
) -> Result<Json<Vec<Message>>, ApiError> {
    if state.store.get_conversation(&user, id).await?.is_none() {
        return Err(ApiError::NotFound(format!("conversation {id} not found")));
    }
    Ok(Json(state.store.list_messages(&user, id).await?))
}
