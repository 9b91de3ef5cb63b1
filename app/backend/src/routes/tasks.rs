//! `/api/{user_id}/tasks…`: thin handlers that parse input into domain types and call
//! [`crate::tools`].

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{TaskPath, UserPath};
use crate::domain::{StatusFilter, Task, TaskDescription, TaskTitle};
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

/// Query of `GET /api/{user_id}/tasks`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `all` (default), `pending` or `completed`.
    pub status: Option<String>,
}

/// The user's tasks, newest first.
#[utoipa::path(get, path = "/api/{user_id}/tasks", tag = "tasks",
    params(("user_id" = String, Path), ListQuery),
    responses((status = 200, body = [Task]), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    UserPath(user): UserPath,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest {
        code: "invalid_query",
        message: e.body_text(),
    })?;
    let filter = match query.status.as_deref() {
        None => StatusFilter::All,
        Some(s) => StatusFilter::parse(s)?,
    };
    Ok(Json(tools::list_tasks(&state.store, &user, filter).await?))
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
    Ok(Json(tools::get_task(&state.store, &user, id).await?))
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
        tools::update_task(&state.store, &user, id, &changes).await?,
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
    tools::delete_task(&state.store, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Flips a task between completed and pending.
#[utoipa::path(patch, path = "/api/{user_id}/tasks/{id}/complete", tag = "tasks",
    params(("user_id" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn toggle(
    State(state): State<AppState>,
    TaskPath(user, id): TaskPath,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(
        tools::complete_task(&state.store, &user, id, None).await?,
    ))
}
