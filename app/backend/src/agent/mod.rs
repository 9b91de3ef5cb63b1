//! The chat agent: one trait, two implementations (`rules` offline, `openai` with a model).
//!
//! An agent runs one turn: it reads the stored history it is given, calls tools through
//! [`crate::tools`], and returns the reply with a record of every tool call. It keeps nothing
//! between turns.

mod openai;
mod rules;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::config::{AgentMode, Config};
use crate::domain::{Message, UserId};
use crate::store::{Store, StoreError};
use crate::tools::{self, ToolError};

pub use openai::OpenAiAgent;
pub use rules::RulesAgent;

/// What an agent gets for one turn.
pub struct Turn<'a> {
    pub store: &'a Store,
    pub user: &'a UserId,
    /// Earlier messages of the conversation, oldest first (without the new one).
    pub history: &'a [Message],
    pub message: &'a str,
}

/// The agent's answer to one turn.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub response: String,
    pub tool_calls: Vec<ToolCallRecord>,
}

/// One tool call made during a turn, as reported to the client and stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ToolCallRecord {
    pub name: String,
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// The tool's JSON result, or `{"error": "..."}`.
    #[schema(value_type = Object)]
    pub result: Value,
}

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The model could not be reached or answered nonsense; the text never holds the API key.
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Answers chat messages.
#[async_trait::async_trait]
pub trait Agent: Send + Sync {
    /// `rules` or `openai`, for logs.
    fn name(&self) -> &'static str;

    async fn respond(&self, turn: Turn<'_>) -> Result<Reply, AgentError>;
}

/// The agent the configuration asks for.
pub fn from_config(config: &Config) -> Arc<dyn Agent> {
    match (config.effective_agent(), &config.openai.api_key) {
        (AgentMode::OpenAi, Some(key)) => Arc::new(OpenAiAgent::new(
            config.openai.base_url.clone(),
            config.openai.model.clone(),
            key.clone(),
        )),
        _ => Arc::new(RulesAgent),
    }
}

/// Runs one tool and records the call; a tool's own failure becomes an `{"error"}` result, a
/// database failure fails the turn.
pub(crate) async fn run_tool(
    store: &Store,
    user: &UserId,
    name: &str,
    arguments: Value,
) -> Result<ToolCallRecord, AgentError> {
    let result = match tools::call(store, user, name, arguments.clone()).await {
        Ok(value) => value,
        Err(ToolError::Store(e)) => return Err(e.into()),
        Err(e) => serde_json::json!({ "error": e.public_message() }),
    };
    Ok(ToolCallRecord {
        name: name.to_owned(),
        arguments,
        result,
    })
}
