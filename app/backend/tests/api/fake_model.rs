//! A local stand-in for an OpenAI-compatible chat-completions endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// How the fake answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// First asks for `add_task {"title":"buy milk"}`, then answers in text once the tool result
    /// comes back.
    ToolRoundTrip,
    /// Answers every request with this HTTP status.
    Fail(u16),
    /// Answers 200 with a body that is not a chat completion.
    Garbage,
    /// Waits, then answers in text without tools.
    Slow(Duration),
}

/// Each request's Authorization header and JSON body.
type Log = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Shared {
    behaviour: Behaviour,
    requests: Log,
}

pub struct FakeModel {
    /// The base URL to give as `OPENAI_BASE_URL`.
    pub base_url: String,
    requests: Log,
}

impl FakeModel {
    pub async fn start(behaviour: Behaviour) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            behaviour,
            requests: requests.clone(),
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake model");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            requests,
        }
    }

    /// Every request received: its Authorization header and JSON body.
    pub fn requests(&self) -> Vec<(Option<String>, Value)> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn complete(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared
        .requests
        .lock()
        .expect("lock")
        .push((auth, body.clone()));
    match shared.behaviour {
        Behaviour::Fail(status) => (
            StatusCode::from_u16(status).expect("status"),
            Json(json!({ "error": { "message": "model exploded" } })),
        )
            .into_response(),
        Behaviour::Garbage => Json(json!({ "unexpected": true })).into_response(),
        Behaviour::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Json(text_answer("Sorry for the wait, all done.")).into_response()
        }
        Behaviour::ToolRoundTrip => {
            let last_role = body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| m["role"].clone())
                .unwrap_or(Value::Null);
            if last_role == "tool" {
                Json(text_answer("I added buy milk to your list.")).into_response()
            } else {
                Json(json!({
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "choices": [{
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {
                            "role": "assistant",
                            "content": null,
                            "tool_calls": [{
                                "id": "call_1",
                                "type": "function",
                                "function": { "name": "add_task", "arguments": "{\"title\":\"buy milk\"}" }
                            }]
                        }
                    }]
                }))
                .into_response()
            }
        }
    }
}

fn text_answer(text: &str) -> Value {
    json!({
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": { "role": "assistant", "content": text }
        }]
    })
}
