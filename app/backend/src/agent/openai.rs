//! An OpenAI-compatible chat-completions model with tool calling.
//!
//! One turn is a bounded loop: send the conversation and the five tool schemas, run the tool calls
//! the model asks for, send their results back, until the model answers in text. The API key goes
//! only into the `Authorization` header; errors name the status, never the key or the body.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Agent, AgentError, Reply, Turn, run_tool};
use crate::tools;

/// Model round trips per turn before the agent gives up.
const MAX_ROUNDS: usize = 5;
/// Earlier messages sent as context.
const HISTORY: usize = 20;
const SYSTEM_PROMPT: &str = "You are a friendly assistant that manages the user's to-do list. \
Use the tools to add, list, complete, update and delete tasks. Tasks are named by their number \
(the `number` field, shown to the user as #N); never invent numbers, list the tasks first when \
unsure. Answer briefly in plain sentences.";

/// Talks to `{base_url}/chat/completions`.
pub struct OpenAiAgent {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: SecretString,
}

impl OpenAiAgent {
    pub fn new(base_url: String, model: String, api_key: SecretString) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            client,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model,
            api_key,
        }
    }

    async fn complete(
        &self,
        messages: &[Value],
        tools: &Value,
    ) -> Result<ModelMessage, AgentError> {
        let body = json!({
            "model": self.model,
            "messages": messages,
            "tools": tools,
            "tool_choice": "auto",
        });
        let response = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                let why = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                tracing::warn!(endpoint = %self.endpoint, "model {why}");
                AgentError::Model(format!("the model endpoint {why}"))
            })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(endpoint = %self.endpoint, %status, "model answered with an error status");
            return Err(AgentError::Model(format!(
                "the model answered HTTP {}",
                status.as_u16()
            )));
        }
        let parsed: Completion = response.json().await.map_err(|_| {
            AgentError::Model("the model's answer was not a chat completion".to_owned())
        })?;
        parsed
            .choices
            .into_iter()
            .next()
            .map(|c| c.message)
            .ok_or_else(|| AgentError::Model("the model's answer had no choices".to_owned()))
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ModelMessage,
}

#[derive(Deserialize)]
struct ModelMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ModelToolCall>,
}

#[derive(Deserialize, serde::Serialize, Clone)]
struct ModelToolCall {
    id: String,
    #[serde(default = "function_type", rename = "type")]
    kind: String,
    function: FunctionCall,
}

fn function_type() -> String {
    "function".to_owned()
}

#[derive(Deserialize, serde::Serialize, Clone)]
struct FunctionCall {
    name: String,
    /// JSON text, as the API sends it.
    #[serde(default)]
    arguments: String,
}

fn tool_schemas() -> Value {
    Value::Array(
        tools::specs()
            .into_iter()
            .map(|s| {
                json!({
                    "type": "function",
                    "function": { "name": s.name, "description": s.description, "parameters": s.parameters },
                })
            })
            .collect(),
    )
}

#[async_trait::async_trait]
impl Agent for OpenAiAgent {
    fn name(&self) -> &'static str {
        "openai"
    }

    async fn respond(&self, turn: Turn<'_>) -> Result<Reply, AgentError> {
        let tools = tool_schemas();
        let mut messages = vec![json!({ "role": "system", "content": SYSTEM_PROMPT })];
        let start = turn.history.len().saturating_sub(HISTORY);
        for m in &turn.history[start..] {
            // Stored tool records have no call ids to pair with, so only the dialogue is replayed.
            if m.role == "user" || m.role == "assistant" {
                messages.push(json!({ "role": m.role, "content": m.content }));
            }
        }
        messages.push(json!({ "role": "user", "content": turn.message }));

        let mut reply = Reply::default();
        for _ in 0..MAX_ROUNDS {
            let answer = self.complete(&messages, &tools).await?;
            if answer.tool_calls.is_empty() {
                reply.response = answer
                    .content
                    .filter(|c| !c.trim().is_empty())
                    .unwrap_or_else(|| "Done.".to_owned());
                return Ok(reply);
            }
            messages.push(json!({
                "role": "assistant",
                "content": answer.content,
                "tool_calls": answer.tool_calls,
            }));
            for call in answer.tool_calls {
                let arguments: Value = if call.function.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&call.function.arguments)
                        .unwrap_or_else(|_| json!({ "_unparsed": call.function.arguments }))
                };
                let record =
                    run_tool(turn.store, turn.user, &call.function.name, arguments).await?;
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": record.result.to_string(),
                }));
                reply.tool_calls.push(record);
            }
        }
        reply.response =
            "I made several changes but could not finish; please check your tasks.".to_owned();
        Ok(reply)
    }
}
