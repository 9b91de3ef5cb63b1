//! `GET /`: the task list and the chat, rendered on the server.
//!
//! The page answers 200 even when the backend is down or hung (the deploy probes it); it then
//! shows a "backend unavailable" notice instead of the lists.

use crate::routes::extract::Query;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::{Caller, Message, Task, TaskFilter};
use crate::assets::{AssetUrls, URLS};
use crate::backend::BackendError;
use crate::routes::{Html, see_other};
use crate::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub assets: &'static AssetUrls,
    pub user: String,
    pub auth: bool,
    pub unavailable: bool,
    pub error: Option<String>,
    pub filter: TaskFilter,
    pub filters: [TaskFilter; 3],
    pub tasks: Vec<Task>,
    /// The cursor of this page (none on the first) and of the next, older one.
    pub cursor: Option<String>,
    pub next: Option<String>,
    pub edit: Option<i64>,
    pub messages: Vec<ChatLine>,
    pub conversation: Option<i64>,
}

/// One line of the conversation as the page shows it.
pub struct ChatLine {
    /// `user`, `assistant` or `tool` (the CSS class).
    pub role: String,
    pub text: String,
}

impl From<Message> for ChatLine {
    /// Tool results are stored as JSON; the page shows only which tool ran.
    fn from(m: Message) -> Self {
        if m.role != "tool" {
            return Self {
                role: m.role,
                text: m.content,
            };
        }
        let name = serde_json::from_str::<serde_json::Value>(&m.content)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned));
        Self {
            role: m.role,
            text: match name {
                Some(name) => name,
                None => truncate(&m.content, 80),
            },
        }
    }
}

impl IndexPage {
    fn is_editing(&self, task: &Task) -> bool {
        self.edit == Some(task.id)
    }

    /// The query of this page: filter and cursor (for links that come back to it).
    fn here(&self) -> String {
        crate::routes::tasks::list_query(Some(self.filter.as_str()), self.cursor.as_deref())
    }

    /// The link to the page after this one.
    fn next_href(&self) -> Option<String> {
        self.next.as_deref().map(|c| {
            format!(
                "/?filter={}&cursor={}#tasks",
                self.filter.as_str(),
                crate::routes::encode_query(c)
            )
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    filter: Option<String>,
    cursor: Option<String>,
    edit: Option<String>,
    error: Option<String>,
}

/// Reads a filter name leniently: anything unknown shows all tasks.
pub fn parse_filter(raw: Option<&str>) -> TaskFilter {
    match raw {
        Some("pending") => TaskFilter::Pending,
        Some("completed") => TaskFilter::Completed,
        _ => TaskFilter::All,
    }
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let caller = session::caller(&headers);
    let mut page = IndexPage {
        assets: &URLS,
        user: caller.user.as_str().to_owned(),
        auth: false,
        unavailable: false,
        error: q.error.filter(|e| !e.is_empty()).map(|e| truncate(&e, 300)),
        filter: parse_filter(q.filter.as_deref()),
        filters: TaskFilter::ALL,
        tasks: Vec::new(),
        cursor: q.cursor.filter(|c| !c.is_empty() && c.len() <= 512),
        next: None,
        edit: q.edit.and_then(|e| e.parse().ok()),
        messages: Vec::new(),
        conversation: None,
    };
    match state.auth_enabled().await {
        Ok(enabled) => page.auth = enabled,
        Err(e) => {
            tracing::warn!(error = %e, "auth config unavailable");
            page.unavailable = true;
            return Html(page).into_response();
        }
    }
    if page.auth && caller.token.is_none() {
        return see_other("/login", &[]);
    }
    let chosen = session::cookie(&headers, session::CONVERSATION).map(str::to_owned);
    let (tasks, chat) = tokio::join!(
        state
            .backend
            .list_tasks(&caller, page.filter, page.cursor.as_deref()),
        load_conversation(&state, &caller, chosen.as_deref()),
    );
    for err in [tasks.as_ref().err(), chat.as_ref().err()]
        .into_iter()
        .flatten()
    {
        if page.auth && matches!(err.status(), Some(StatusCode::UNAUTHORIZED)) {
            return see_other("/login", &[session::clear(session::TOKEN)]);
        }
        note_error(&mut page, err);
    }
    let tasks = tasks.unwrap_or_default();
    page.tasks = tasks.tasks;
    page.next = tasks.next;
    if let Ok((conversation, messages)) = chat {
        page.conversation = conversation;
        page.messages = messages.into_iter().map(ChatLine::from).collect();
    }
    Html(page).into_response()
}

/// The conversation to show: the one in the cookie, none after "new conversation", else the
/// newest one.
async fn load_conversation(
    state: &AppState,
    caller: &Caller,
    chosen: Option<&str>,
) -> Result<(Option<i64>, Vec<Message>), BackendError> {
    let id = match chosen {
        Some("new") => return Ok((None, Vec::new())),
        Some(raw) => raw.parse::<i64>().ok(),
        None => None,
    };
    let id = match id {
        Some(id) => Some(id),
        None => state
            .backend
            .conversations(caller)
            .await?
            .first()
            .map(|c| c.id),
    };
    let Some(id) = id else {
        return Ok((None, Vec::new()));
    };
    match state.backend.messages(caller, id).await {
        Ok(messages) => Ok((Some(id), messages)),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok((None, Vec::new())),
        Err(e) => Err(e),
    }
}

fn note_error(page: &mut IndexPage, err: &BackendError) {
    if err.is_unavailable() {
        page.unavailable = true;
    } else if page.error.is_none() {
        page.error = Some(err.to_string());
    }
    tracing::warn!(error = %err, "backend call for the page failed");
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
