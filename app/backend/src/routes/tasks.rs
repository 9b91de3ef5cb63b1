//! `/api/{user_id}/tasks…`: thin handlers that parse input into domain types and call
//! [`crate::tools`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::extract::{TaskPath, UserPath};
use crate::domain::{
    Cursor, PageLimit, StatusFilter, Task, TaskDescription, TaskRef, TaskTitle, UserId,
    ValidationError,
};
use crate::error::{ApiError, AppJson, ErrorBody};
use crate::state::AppState;
use crate::store::TaskChanges;
use crate::tools;

/// Body of `POST /api/{user_id}/tasks`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTask {
    /// 1-200 characters after trimming.
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// Body of `PUT /api/{user_id}/tasks/{id}`: at least one field.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TaskUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
}

/// Body of `PATCH /api/{user_id}/tasks/{id}/complete`; without a body the state flips.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// The state to set: sending it twice changes nothing the second time.
    pub completed: bool,
}

/// Query of `GET /api/{user_id}/tasks`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `all` (default), `pending` or `completed`.
    pub status: Option<String>,
    /// Tasks per page: a decimal number from 1 to 500, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// The `X-Next-Cursor` of the previous page, to get the next one.
    pub cursor: Option<String>,
}

/// The user's tasks, newest first, one page at a time.
///
/// When more tasks follow, the answer carries `X-Next-Cursor` (pass it back as `cursor`) and a
/// `Link` header with `rel="next"`; the last page has neither. Each task has a stable global `id`,
/// used by these REST routes, and a per-user `number` (1, 2, 3…, never reused), which the page
/// shows and the chat and the MCP tools take.
#[utoipa::path(get, path = "/api/{user_id}/tasks", tag = "tasks",
    params(("user_id" = String, Path), ListQuery),
    responses(
        (status = 200, body = [Task], headers(
            ("X-Next-Cursor" = String, description = "Opaque cursor of the next page; absent on the last page"),
            ("Link" = String, description = "`<url of the next page>; rel=\"next\"`; absent on the last page"))),
        (status = 422, body = ErrorBody, description = "invalid_status, invalid_query (limit) or invalid_cursor")))]
pub async fn list(
    State(state): State<AppState>,
    UserPath(user): UserPath,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // A query that does not fit the fields (a parameter given twice) is as invalid as a bad
    // `limit`: the same 422 `invalid_query`, not a 400 under the same code.
    let Query(query) = query.map_err(|e| ValidationError::new("invalid_query", e.body_text()))?;
    let filter = match query.status.as_deref() {
        None => StatusFilter::All,
        Some(s) => StatusFilter::parse(s)?,
    };
    let limit = match query.limit.as_deref() {
        None => PageLimit::default(),
        Some(l) => PageLimit::parse(l)?,
    };
    let after = query.cursor.as_deref().map(Cursor::parse).transpose()?;
    let (body, next) = state
        .store
        .list_tasks_json(&user, filter, limit, after)
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = next {
        let token = next.token();
        let link = format!(
            "</api/{}/tasks?status={}&limit={}&cursor={token}>; rel=\"next\"",
            path_segment(&user),
            filter.as_str(),
            limit.get()
        );
        if let (Ok(token), Ok(link)) = (HeaderValue::from_str(&token), HeaderValue::from_str(&link))
        {
            headers.insert("x-next-cursor", token);
            headers.insert(header::LINK, link);
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((headers, body).into_response())
}

/// The user id percent-encoded for a path segment (RFC 3986 unreserved characters and `@` stay).
fn path_segment(user: &UserId) -> String {
    let mut out = String::new();
    for b in user.as_str().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Creates a task.
#[utoipa::path(post, path = "/api/{user_id}/tasks", tag = "tasks",
    params(("user_id" = String, Path)), request_body = NewTask,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    UserPath(user): UserPath,
    AppJson(body): AppJson<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let title = TaskTitle::parse(&body.title)?;
    let description = TaskDescription::parse(body.description.as_deref().unwrap_or(""))?;
    let task = tools::add_task(&state.store, &user, &title, &description).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// One task.
#[utoipa::path(get, path = "/api/{user_id}/tasks/{id}", tag = "tasks",
    params(("user_id" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    TaskPath(user, id): TaskPath,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(
        tools::get_task(&state.store, &user, TaskRef::Id(id)).await?,
    ))
}

/// Changes the given fields of a task.
#[utoipa::path(put, path = "/api/{user_id}/tasks/{id}", tag = "tasks",
    params(("user_id" = String, Path), ("id" = i64, Path)), request_body = TaskUpdate,
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    TaskPath(user, id): TaskPath,
    AppJson(body): AppJson<TaskUpdate>,
) -> Result<Json<Task>, ApiError> {
    let changes = TaskChanges {
        title: body.title.as_deref().map(TaskTitle::parse).transpose()?,
        description: body
            .description
            .as_deref()
            .map(TaskDescription::parse)
            .transpose()?,
        completed: body.completed,
    };
    Ok(Json(
        tools::update_task(&state.store, &user, TaskRef::Id(id), &changes).await?,
    ))
}

/// Deletes a task.
#[utoipa::path(delete, path = "/api/{user_id}/tasks/{id}", tag = "tasks",
    params(("user_id" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    TaskPath(user, id): TaskPath,
) -> Result<StatusCode, ApiError> {
    tools::delete_task(&state.store, &user, TaskRef::Id(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a task's completion state with `{"completed": bool}` (idempotent); without a body it
/// flips the state (kept for older clients).
#[utoipa::path(patch, path = "/api/{user_id}/tasks/{id}/complete", tag = "tasks",
    params(("user_id" = String, Path), ("id" = i64, Path)),
    request_body(content = Option<CompleteBody>, description = "Optional: the state to set"),
    responses((status = 200, body = Task), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn toggle(
    State(state): State<AppState>,
    TaskPath(user, id): TaskPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Task>, ApiError> {
    // The body is read here rather than by `Json`, so its rejections (over the size limit, a
    // broken chunked encoding) would otherwise answer in axum's plain text.
    let body = body?;
    let completed = if body.is_empty() {
        None
    } else {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/json (or no body, to flip the state)".into(),
            ));
        }
        let Json(CompleteBody { completed }) = Json::<CompleteBody>::from_bytes(&body)?;
        Some(completed)
    };
    Ok(Json(
        tools::complete_task(&state.store, &user, TaskRef::Id(id), completed).await?,
    ))
}
