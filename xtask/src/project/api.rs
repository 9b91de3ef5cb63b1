//! A typed client of the app's HTTP API for the end-to-end checks (`verify` and its restart
//! check): sign-in when the API needs a token, tasks through the frontend's `/api` proxy, a chat
//! turn, and the backend's MCP tool list. The answers are read into the structs below, which
//! hold the fields the checks use of the backend's documented shapes (docs/api.md).

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::http::{Answer, Client, Mcp};

/// `/health` and `/ready`: `{"status": "ok" | "ready"}`.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub status: String,
}

/// `/auth/config`.
#[derive(Debug, Deserialize)]
struct AuthConfig {
    enabled: bool,
}

/// `/auth/signup`'s answer.
#[derive(Debug, Deserialize)]
struct SignedUp {
    token: Option<String>,
    user_id: Option<String>,
}

/// A task as the API returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
}

/// One tool call the agent made in a chat turn.
#[derive(Debug, Deserialize)]
pub struct ToolCall {
    pub name: String,
}

/// A chat turn's answer.
#[derive(Debug, Deserialize)]
pub struct ChatAnswer {
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
}

/// MCP `tools/list`'s result.
#[derive(Debug, Deserialize)]
struct ToolList {
    #[serde(default)]
    tools: Vec<McpTool>,
}

#[derive(Debug, Deserialize)]
struct McpTool {
    name: String,
}

/// An answer with another status than the call expects: its status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

/// What a call gives: the typed answer, or the answer of another status.
pub type Reply<T> = std::result::Result<T, Refused>;

/// Reads `a` as `T`, naming the status and the start of the body when it is not that shape.
pub fn parse<T: DeserializeOwned>(a: &Answer) -> Result<T> {
    serde_json::from_str(&a.body).with_context(|| {
        format!(
            "the answer ({}) is not the expected JSON: {}",
            a.status,
            a.body.chars().take(200).collect::<String>()
        )
    })
}

/// Is `a` a 200 `{"status": want}`?
pub fn is_status(a: &Answer, want: &str) -> bool {
    a.status == 200 && parse::<Status>(a).is_ok_and(|s| s.status == want)
}

/// The API as one user: signed up when the backend requires a token, else the fixed check user.
pub struct Api<'a> {
    client: &'a Client,
    backend: String,
    /// `<frontend>/api/<user>`: every task call goes through the frontend's proxy.
    tasks_base: String,
    user: String,
    token: Option<String>,
    /// `Bearer <token>`, sent on every call when there is a token.
    bearer: Option<String>,
}

impl<'a> Api<'a> {
    /// Signs up a new check user (unique `email`, `password`) when `/auth/config` says the
    /// API needs a token; else uses `xtask-verify` without one.
    pub fn sign_in(
        client: &'a Client,
        backend: &str,
        frontend: &str,
        (email, password): (&str, &str),
    ) -> Result<Api<'a>> {
        let a = client.get(&format!("{backend}/auth/config"))?;
        let enabled = a.status == 200 && parse::<AuthConfig>(&a).is_ok_and(|c| c.enabled);
        let (user, token) = if enabled {
            let a = client.send(
                "POST",
                &format!("{backend}/auth/signup"),
                Some(&json!({"email": email, "password": password})),
                &[],
            )?;
            if a.status != 201 && a.status != 200 {
                bail!("sign-up answered {}: {}", a.status, a.body);
            }
            let s: SignedUp = parse(&a)?;
            let user = s
                .user_id
                .ok_or_else(|| anyhow!("sign-up answer has no user_id: {}", a.body))?;
            (user, s.token)
        } else {
            ("xtask-verify".to_string(), None)
        };
        Ok(Api {
            client,
            backend: backend.to_string(),
            tasks_base: format!("{frontend}/api/{user}"),
            bearer: token.as_ref().map(|t| format!("Bearer {t}")),
            user,
            token,
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        self.bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect()
    }

    fn call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<Answer> {
        let url = format!("{}{path}", self.tasks_base);
        self.client.send(method, &url, body, &self.headers())
    }

    /// `POST tasks`: the new task (201).
    pub fn create_task(&self, title: &str) -> Result<Reply<Task>> {
        let a = self.call("POST", "/tasks", Some(&json!({"title": title})))?;
        if a.status != 201 {
            return Ok(Err(refused(a)));
        }
        let t: Task = parse(&a).with_context(|| format!("no task with an id in {}", a.body))?;
        Ok(Ok(t))
    }

    /// `GET tasks?query`: the listed tasks (200).
    pub fn tasks(&self, query: &str) -> Result<Reply<Vec<Task>>> {
        let a = self.call("GET", &format!("/tasks?{query}"), None)?;
        if a.status != 200 {
            return Ok(Err(refused(a)));
        }
        Ok(Ok(parse(&a)?))
    }

    /// `DELETE tasks/id` (204).
    pub fn delete_task(&self, id: i64) -> Result<Reply<()>> {
        let a = self.call("DELETE", &format!("/tasks/{id}"), None)?;
        Ok(if a.status == 204 {
            Ok(())
        } else {
            Err(refused(a))
        })
    }

    /// `POST chat` with `message`: the answer and its body as sent (200).
    pub fn chat(&self, message: &str) -> Result<Reply<(ChatAnswer, String)>> {
        let a = self.call("POST", "/chat", Some(&json!({"message": message})))?;
        if a.status != 200 {
            return Ok(Err(refused(a)));
        }
        Ok(Ok((parse(&a)?, a.body)))
    }

    /// The names of the tools the backend's MCP endpoint lists.
    pub fn mcp_tools(&self) -> Result<Vec<String>> {
        let mut mcp = Mcp::connect(
            self.client,
            &format!("{}/mcp", self.backend),
            self.token.as_deref(),
        )?;
        let (_, result) = mcp.request("tools/list", json!({}))?;
        let list: ToolList = serde_json::from_value(result)
            .context("MCP tools/list: the result is not a tool list")?;
        Ok(list.tools.into_iter().map(|t| t.name).collect())
    }
}

fn refused(a: Answer) -> Refused {
    Refused {
        status: a.status,
        body: a.body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_read_the_backend_answers() {
        let chat: ChatAnswer = serde_json::from_str(
            r#"{"conversation_id":3,"response":"Added.","tool_calls":[{"name":"add_task","arguments":{"title":"x"},"result":{"id":1}}]}"#,
        )
        .expect("chat");
        assert_eq!(chat.tool_calls[0].name, "add_task");
        let tasks: Vec<Task> = serde_json::from_str(
            r#"[{"id":7,"number":1,"user_id":"u","title":"milk","description":"","completed":false,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}]"#,
        )
        .expect("tasks");
        assert_eq!((tasks[0].id, tasks[0].title.as_str()), (7, "milk"));
        let tools: ToolList =
            serde_json::from_str(r#"{"tools":[{"name":"add_task","inputSchema":{}}]}"#)
                .expect("tools");
        assert_eq!(tools.tools[0].name, "add_task");
        let s: SignedUp = serde_json::from_str(r#"{"token":"t","user_id":"u1"}"#).expect("signup");
        assert_eq!(
            (s.token.as_deref(), s.user_id.as_deref()),
            (Some("t"), Some("u1"))
        );
    }
}
