//! Task forms. Each calls the backend and redirects back to the list (post/redirect/get), so
//! they work without JavaScript; the page script submits the same forms in the background.

use crate::routes::extract::Form;
use crate::routes::extract::Path;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use crate::api::TaskUpdate;
use crate::backend::BackendError;
use crate::routes::pages::parse_filter;
use crate::routes::{encode_query, see_other};
use crate::session;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TaskForm {
    title: Option<String>,
    description: Option<String>,
    filter: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FilterForm {
    filter: Option<String>,
    cursor: Option<String>,
}

/// The check box form: the state the task should have, so a repeated post changes nothing.
#[derive(Deserialize)]
pub struct CompleteForm {
    filter: Option<String>,
    cursor: Option<String>,
    /// `true` or `false`; absent (an old page) flips the state.
    completed: Option<String>,
}

/// The query of a list page: its filter and, past the first page, its cursor.
pub fn list_query(filter: Option<&str>, cursor: Option<&str>) -> String {
    let filter = parse_filter(filter).as_str();
    match cursor.filter(|c| !c.is_empty() && c.len() <= 512) {
        Some(c) => format!("filter={filter}&cursor={}", encode_query(c)),
        None => format!("filter={filter}"),
    }
}

/// Back to the same page of the list (`place` from [`list_query`]), with the error if the call
/// failed.
pub fn back(place: &str, result: Result<(), BackendError>, anchor: &str) -> Response {
    match result {
        Ok(()) => see_other(&format!("/?{place}{anchor}"), &[]),
        Err(e) => {
            tracing::warn!(error = %e, "task form failed");
            let message = if e.is_unavailable() {
                "The backend is unavailable; nothing was changed.".to_owned()
            } else {
                e.to_string()
            };
            see_other(&format!("/?{place}&error={}", encode_query(&message)), &[])
        }
    }
}

fn required_title(raw: Option<&str>) -> Result<String, BackendError> {
    match raw.map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => Err(BackendError::Status {
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_title".into(),
            message: "a task needs a title".into(),
        }),
    }
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TaskForm>,
) -> Response {
    let caller = session::caller(&headers);
    let result = async {
        let title = required_title(form.title.as_deref())?;
        let description = form.description.as_deref().unwrap_or("").trim();
        state
            .backend
            .create_task(&caller, &title, description)
            .await
    }
    .await;
    let anchor = result
        .as_ref()
        .map(|t| format!("#task-{}", t.id))
        .unwrap_or_default();
    // A new task is the newest: the first page shows it.
    back(
        &list_query(form.filter.as_deref(), None),
        result.map(|_| ()),
        &anchor,
    )
}

pub async fn toggle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CompleteForm>,
) -> Response {
    let caller = session::caller(&headers);
    let place = list_query(form.filter.as_deref(), form.cursor.as_deref());
    let completed = match form.completed.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            let error = BackendError::Status {
                status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_body".into(),
                message: "completed must be true or false".into(),
            };
            return back(&place, Err(error), &format!("#task-{id}"));
        }
    };
    let result = state
        .backend
        .complete_task(&caller, id, completed)
        .await
        .map(|_| ());
    back(&place, result, &format!("#task-{id}"))
}

pub async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<TaskForm>,
) -> Response {
    let caller = session::caller(&headers);
    let result = async {
        let update = TaskUpdate {
            title: Some(required_title(form.title.as_deref())?),
            description: Some(form.description.as_deref().unwrap_or("").trim().to_owned()),
            completed: None,
        };
        state.backend.update_task(&caller, id, &update).await
    }
    .await;
    let place = list_query(form.filter.as_deref(), form.cursor.as_deref());
    back(&place, result.map(|_| ()), &format!("#task-{id}"))
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<FilterForm>,
) -> Response {
    let caller = session::caller(&headers);
    let result = state.backend.delete_task(&caller, id).await;
    let place = list_query(form.filter.as_deref(), form.cursor.as_deref());
    back(&place, result, "#tasks")
}
