//! The five task tools: the one place that creates, lists, completes, deletes and updates tasks.
//!
//! The REST handlers call the typed functions; the chat agents and the MCP server call them through
//! the JSON argument types below, whose schemas are derived from the types themselves.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{
    StatusFilter, Task, TaskDescription, TaskId, TaskTitle, UserId, ValidationError,
};
use crate::store::{Store, StoreError, TaskChanges};

pub const ADD_TASK: &str = "add_task";
pub const LIST_TASKS: &str = "list_tasks";
pub const COMPLETE_TASK: &str = "complete_task";
pub const DELETE_TASK: &str = "delete_task";
pub const UPDATE_TASK: &str = "update_task";

/// Why a tool call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("task {0} not found")]
    NotFound(TaskId),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ToolError {
    /// A short text for a model or an MCP client; hides database details.
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(_) => "the database failed; try again".to_owned(),
            other => other.to_string(),
        }
    }
}

pub async fn add_task(
    store: &Store,
    user: &UserId,
    title: &TaskTitle,
    description: &TaskDescription,
) -> Result<Task, ToolError> {
    Ok(store.insert_task(user, title, description).await?)
}

pub async fn list_tasks(
    store: &Store,
    user: &UserId,
    filter: StatusFilter,
) -> Result<Vec<Task>, ToolError> {
    Ok(store.list_tasks(user, filter).await?)
}

/// Reads one task (used by the REST API beside the five tools).
pub async fn get_task(store: &Store, user: &UserId, id: TaskId) -> Result<Task, ToolError> {
    store
        .get_task(user, id)
        .await?
        .ok_or(ToolError::NotFound(id))
}

/// Sets `completed`, or flips it when `completed` is `None`.
pub async fn complete_task(
    store: &Store,
    user: &UserId,
    id: TaskId,
    completed: Option<bool>,
) -> Result<Task, ToolError> {
    let task = match completed {
        None => store.toggle_task(user, id).await?,
        Some(done) => {
            let changes = TaskChanges {
                completed: Some(done),
                ..TaskChanges::default()
            };
            store.update_task(user, id, &changes).await?
        }
    };
    task.ok_or(ToolError::NotFound(id))
}

pub async fn delete_task(store: &Store, user: &UserId, id: TaskId) -> Result<Task, ToolError> {
    store
        .delete_task(user, id)
        .await?
        .ok_or(ToolError::NotFound(id))
}

pub async fn update_task(
    store: &Store,
    user: &UserId,
    id: TaskId,
    changes: &TaskChanges,
) -> Result<Task, ToolError> {
    if changes.title.is_none() && changes.description.is_none() && changes.completed.is_none() {
        return Err(ValidationError::new(
            "nothing_to_update",
            "give at least one of title, description, completed",
        )
        .into());
    }
    store
        .update_task(user, id, changes)
        .await?
        .ok_or(ToolError::NotFound(id))
}

/// Which tasks `list_tasks` returns.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusArg {
    #[default]
    All,
    Pending,
    Completed,
}

impl From<StatusArg> for StatusFilter {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::All => Self::All,
            StatusArg::Pending => Self::Pending,
            StatusArg::Completed => Self::Completed,
        }
    }
}

/// Arguments of `add_task`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AddTaskArgs {
    /// The task title, 1-200 characters.
    pub title: String,
    /// Optional details, up to 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Arguments of `list_tasks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListTasksArgs {
    /// all (default), pending or completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusArg>,
}

/// Arguments of `complete_task`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompleteTaskArgs {
    /// The id of the task.
    pub task_id: i64,
    /// true (default) marks it done, false marks it pending again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// Arguments of `delete_task`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeleteTaskArgs {
    /// The id of the task.
    pub task_id: i64,
}

/// Arguments of `update_task`; give at least one field to change.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UpdateTaskArgs {
    /// The id of the task.
    pub task_id: i64,
    /// The new title, 1-200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new description, up to 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The new completion state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

impl AddTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        let title = TaskTitle::parse(&self.title)?;
        let description = TaskDescription::parse(self.description.as_deref().unwrap_or(""))?;
        add_task(store, user, &title, &description).await
    }
}

impl ListTasksArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Vec<Task>, ToolError> {
        list_tasks(store, user, self.status.unwrap_or_default().into()).await
    }
}

impl CompleteTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        let id = TaskId::new(self.task_id)?;
        complete_task(store, user, id, Some(self.completed.unwrap_or(true))).await
    }
}

impl DeleteTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        delete_task(store, user, TaskId::new(self.task_id)?).await
    }
}

impl UpdateTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        let id = TaskId::new(self.task_id)?;
        let changes = TaskChanges {
            title: self.title.as_deref().map(TaskTitle::parse).transpose()?,
            description: self
                .description
                .as_deref()
                .map(TaskDescription::parse)
                .transpose()?,
            completed: self.completed,
        };
        update_task(store, user, id, &changes).await
    }
}

/// A tool as offered to a model: name, purpose and JSON schema of its arguments.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

pub const ADD_TASK_DESCRIPTION: &str = "Create a new task for the user.";
pub const LIST_TASKS_DESCRIPTION: &str =
    "List the user's tasks, newest first; filter by status all, pending or completed.";
pub const COMPLETE_TASK_DESCRIPTION: &str =
    "Mark a task as completed (or as pending again with completed=false).";
pub const DELETE_TASK_DESCRIPTION: &str = "Delete a task.";
pub const UPDATE_TASK_DESCRIPTION: &str = "Change a task's title, description or completion state.";

/// The five tools with schemas derived from their argument types.
pub fn specs() -> Vec<ToolSpec> {
    fn schema<T: JsonSchema>() -> Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
    }
    vec![
        ToolSpec {
            name: ADD_TASK,
            description: ADD_TASK_DESCRIPTION,
            parameters: schema::<AddTaskArgs>(),
        },
        ToolSpec {
            name: LIST_TASKS,
            description: LIST_TASKS_DESCRIPTION,
            parameters: schema::<ListTasksArgs>(),
        },
        ToolSpec {
            name: COMPLETE_TASK,
            description: COMPLETE_TASK_DESCRIPTION,
            parameters: schema::<CompleteTaskArgs>(),
        },
        ToolSpec {
            name: DELETE_TASK,
            description: DELETE_TASK_DESCRIPTION,
            parameters: schema::<DeleteTaskArgs>(),
        },
        ToolSpec {
            name: UPDATE_TASK,
            description: UPDATE_TASK_DESCRIPTION,
            parameters: schema::<UpdateTaskArgs>(),
        },
    ]
}

/// Runs a tool by name with JSON arguments, as a model asks for it; the result is JSON.
pub async fn call(
    store: &Store,
    user: &UserId,
    name: &str,
    args: Value,
) -> Result<Value, ToolError> {
    fn parse<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, ToolError> {
        // Models sometimes send `null` for a tool without arguments.
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        serde_json::from_value(args)
            .map_err(|e| ValidationError::new("invalid_arguments", e.to_string()).into())
    }
    fn json<T: Serialize>(value: T) -> Value {
        serde_json::to_value(value).unwrap_or(Value::Null)
    }
    match name {
        ADD_TASK => Ok(json(parse::<AddTaskArgs>(args)?.run(store, user).await?)),
        LIST_TASKS => Ok(json(parse::<ListTasksArgs>(args)?.run(store, user).await?)),
        COMPLETE_TASK => Ok(json(
            parse::<CompleteTaskArgs>(args)?.run(store, user).await?,
        )),
        DELETE_TASK => Ok(json(parse::<DeleteTaskArgs>(args)?.run(store, user).await?)),
        UPDATE_TASK => Ok(json(parse::<UpdateTaskArgs>(args)?.run(store, user).await?)),
        other => Err(ToolError::UnknownTool(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_tools_with_object_schemas() {
        let specs = specs();
        let names: Vec<_> = specs.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                ADD_TASK,
                LIST_TASKS,
                COMPLETE_TASK,
                DELETE_TASK,
                UPDATE_TASK
            ]
        );
        for s in &specs {
            assert_eq!(s.parameters["type"], "object", "{}", s.name);
        }
        assert_eq!(
            specs[0].parameters["required"],
            serde_json::json!(["title"])
        );
    }
}
