//! The chat form without JavaScript: one turn through the backend, then back to the page,
//! which shows the conversation. (With JavaScript the page calls `/api/{user}/chat` through the
//! proxy instead and updates in place.)

use crate::routes::extract::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use crate::routes::{encode_query, see_other};
use crate::session;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ChatForm {
    message: Option<String>,
    conversation_id: Option<String>,
}

pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ChatForm>,
) -> Response {
    let caller = session::caller(&headers);
    let message = form.message.as_deref().unwrap_or("").trim();
    if message.is_empty() {
        return see_other("/?error=Type%20a%20message%20first.#chat", &[]);
    }
    let conversation = form
        .conversation_id
        .as_deref()
        .and_then(|c| c.trim().parse::<i64>().ok());
    match state.backend.chat(&caller, conversation, message).await {
        Ok(reply) => see_other(
            "/#chat",
            &[session::set_conversation(reply.conversation_id)],
        ),
        Err(e) => {
            tracing::warn!(error = %e, "chat turn failed");
            let text = if e.is_unavailable() {
                "The backend is unavailable; the message was not sent.".to_owned()
            } else {
                e.to_string()
            };
            see_other(&format!("/?error={}#chat", encode_query(&text)), &[])
        }
    }
}

/// Starts a fresh conversation on the next message.
pub async fn new_conversation() -> Response {
    see_other(
        "/#chat",
        &[format!(
            "{}=new; Path=/; SameSite=Lax",
            session::CONVERSATION
        )],
    )
}
