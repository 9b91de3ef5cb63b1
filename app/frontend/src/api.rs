//! The backend's API as the pages use it: typed calls and the shapes they return.

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backend::{Backend, BackendError, PAGE_TIMEOUT, SLOW_TIMEOUT};

/// A user id: the one rule the backend applies too (`crates/todo-types`).
pub use todo_types::UserId;

/// The user of the page when none was chosen (auth off).
pub fn demo_user() -> UserId {
    UserId::parse("demo").expect("\"demo\" follows the user-id rule")
}

/// How many tasks one page of the list shows.
pub const TASK_PAGE: u32 = 50;

/// One page of the task list.
#[derive(Debug, Default)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// The cursor of the next (older) page, when there is one.
    pub next: Option<String>,
}

/// Which tasks the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskFilter {
    #[default]
    All,
    Pending,
    Completed,
}

impl TaskFilter {
    pub const ALL: [TaskFilter; 3] = [Self::All, Self::Pending, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Pending => "Pending",
            Self::Completed => "Completed",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub id: i64,
    /// The user's task number, shown beside the task; the chat takes it ("mark 2 as done").
    #[serde(default)]
    pub number: i64,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub completed: bool,
    #[serde(default)]
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenReply {
    pub token: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChatReply {
    pub conversation_id: i64,
    pub response: String,
    #[serde(default)]
    pub tool_calls: Vec<serde_json::Value>,
}

/// The fields of a task edit; `None` leaves a field as it is.
#[derive(Debug, Default, Serialize)]
pub struct TaskUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// A signed-in or chosen user, and the token to send when auth is on.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    pub token: Option<String>,
}

impl Caller {
    fn tasks(&self) -> String {
        format!("/api/{}/tasks", self.user.as_str())
    }
}

type R<T> = Result<T, BackendError>;

impl Backend {
    pub async fn auth_config(&self) -> R<AuthConfig> {
        self.call(Method::GET, "/auth/config", None, None::<&()>)
            .await
    }

    /// `kind` is `login` or `signup`.
    pub async fn authenticate(&self, kind: &str, email: &str, password: &str) -> R<TokenReply> {
        let body = json!({ "email": email, "password": password });
        let path = format!("/auth/{kind}");
        self.call_within(SLOW_TIMEOUT, Method::POST, &path, None, Some(&body))
            .await
    }

    /// One page of the list, newest first: [`TASK_PAGE`] tasks from `cursor` (the first page
    /// without one), and the cursor of the next page when more follow.
    pub async fn list_tasks(
        &self,
        c: &Caller,
        filter: TaskFilter,
        cursor: Option<&str>,
    ) -> R<TaskPage> {
        let mut path = format!("{}?status={}&limit={TASK_PAGE}", c.tasks(), filter.as_str());
        if let Some(cursor) = cursor {
            path.push_str("&cursor=");
            path.push_str(&crate::routes::encode_query(cursor));
        }
        let (headers, tasks) = self
            .call_with_headers(
                PAGE_TIMEOUT,
                Method::GET,
                &path,
                c.token.as_deref(),
                None::<&()>,
            )
            .await?;
        let next = headers
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(TaskPage { tasks, next })
    }

    pub async fn create_task(&self, c: &Caller, title: &str, description: &str) -> R<Task> {
        let body = json!({ "title": title, "description": description });
        self.call(Method::POST, &c.tasks(), c.token.as_deref(), Some(&body))
            .await
    }

    /// Sets the task's completion state; `None` flips it.
    pub async fn complete_task(&self, c: &Caller, id: i64, completed: Option<bool>) -> R<Task> {
        let path = format!("{}/{id}/complete", c.tasks());
        let body = completed.map(|completed| json!({ "completed": completed }));
        self.call(Method::PATCH, &path, c.token.as_deref(), body.as_ref())
            .await
    }

    pub async fn update_task(&self, c: &Caller, id: i64, update: &TaskUpdate) -> R<Task> {
        let path = format!("{}/{id}", c.tasks());
        self.call(Method::PUT, &path, c.token.as_deref(), Some(update))
            .await
    }

    pub async fn delete_task(&self, c: &Caller, id: i64) -> R<()> {
        let path = format!("{}/{id}", c.tasks());
        self.call::<Option<serde_json::Value>>(
            Method::DELETE,
            &path,
            c.token.as_deref(),
            None::<&()>,
        )
        .await
        .map(|_| ())
    }

    pub async fn chat(&self, c: &Caller, conversation: Option<i64>, message: &str) -> R<ChatReply> {
        let body = match conversation {
            Some(id) => json!({ "conversation_id": id, "message": message }),
            None => json!({ "message": message }),
        };
        let path = format!("/api/{}/chat", c.user.as_str());
        let token = c.token.as_deref();
        self.call_within(SLOW_TIMEOUT, Method::POST, &path, token, Some(&body))
            .await
    }

    pub async fn conversations(&self, c: &Caller) -> R<Vec<Conversation>> {
        let path = format!("/api/{}/conversations", c.user.as_str());
        self.call(Method::GET, &path, c.token.as_deref(), None::<&()>)
            .await
    }

    pub async fn messages(&self, c: &Caller, conversation: i64) -> R<Vec<Message>> {
        let path = format!(
            "/api/{}/conversations/{conversation}/messages",
            c.user.as_str()
        );
        self.call(Method::GET, &path, c.token.as_deref(), None::<&()>)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_follow_the_shared_rule() {
        assert_eq!(demo_user().as_str(), "demo");
        assert!(UserId::parse("a.b_c@d-e").is_ok());
        for bad in ["", " x ", "a/b", "<script>", ".", "..", &"a".repeat(65)] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
