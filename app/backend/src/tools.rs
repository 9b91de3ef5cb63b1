//! The five task tools: the one place that creates, lists, completes, deletes and updates tasks.
//!
//! The REST handlers call the typed functions; the chat agents and the MCP server call them through
//! the JSON argument types below, whose schemas are derived from the types themselves.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{
    Cursor, PageLimit, StatusFilter, Task, TaskDescription, TaskNumber, TaskRef, TaskTitle, UserId,
    ValidationError,
};
use crate::store::{Store, StoreError, TaskChanges, TaskPage};

pub const ADD_TASK: &str = "add_task";
pub const LIST_TASKS: &str = "list_tasks";
pub const COMPLETE_TASK: &str = "complete_task";
pub const DELETE_TASK: &str = "delete_task";
pub const UPDATE_TASK: &str = "update_task";

/// Why a tool call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0} not found")]
    NotFound(TaskRef),
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

/// One page of the user's tasks, newest first.
pub async fn list_tasks(
    store: &Store,
    user: &UserId,
    filter: StatusFilter,
    limit: PageLimit,
    after: Option<Cursor>,
) -> Result<TaskPage, ToolError> {
    Ok(store.list_tasks(user, filter, limit, after).await?)
}

/// Reads one task (used by the REST API beside the five tools).
pub async fn get_task(store: &Store, user: &UserId, id: TaskRef) -> Result<Task, ToolError> {
    store
        .get_task(user, id)
        .await?
        .ok_or(ToolError::NotFound(id))
}

/// Sets `completed`, or flips it when `completed` is `None`.
pub async fn complete_task(
    store: &Store,
    user: &UserId,
    id: TaskRef,
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

pub async fn delete_task(store: &Store, user: &UserId, id: TaskRef) -> Result<Task, ToolError> {
    store
        .delete_task(user, id)
        .await?
        .ok_or(ToolError::NotFound(id))
}

pub async fn update_task(
    store: &Store,
    user: &UserId,
    id: TaskRef,
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

/// The tasks `list_tasks` returns when the call gives no `limit`.
pub const TOOL_LIST_DEFAULT: u32 = 20;
/// The most tasks one `list_tasks` call returns.
pub const TOOL_LIST_MAX: u32 = 100;

/// Arguments of `list_tasks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListTasksArgs {
    /// all (default), pending or completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusArg>,
    /// How many tasks to return: 1-100, default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The next_cursor of the previous answer, to continue the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// What `list_tasks` answers: a capped page and how many tasks it left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    /// The tasks of this page, newest first.
    pub tasks: Vec<Task>,
    /// How many more tasks match after this page.
    pub remaining: i64,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Arguments of `complete_task`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompleteTaskArgs {
    /// The task's number, as list_tasks shows it (not its id).
    pub number: i64,
    /// true (default) marks it done, false marks it pending again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// Arguments of `delete_task`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeleteTaskArgs {
    /// The task's number, as list_tasks shows it (not its id).
    pub number: i64,
}

/// Arguments of `update_task`; give at least one field to change.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UpdateTaskArgs {
    /// The task's number, as list_tasks shows it (not its id).
    pub number: i64,
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

fn number_ref(number: i64) -> Result<TaskRef, ValidationError> {
    TaskNumber::new(number).map(TaskRef::Number)
}

impl ListTasksArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<TaskList, ToolError> {
        let filter = self.status.unwrap_or_default().into();
        let limit = match self.limit.unwrap_or(TOOL_LIST_DEFAULT) {
            n @ 1..=TOOL_LIST_MAX => PageLimit::new(n)?,
            _ => {
                return Err(ValidationError::new(
                    "invalid_arguments",
                    format!("limit must be from 1 to {TOOL_LIST_MAX}"),
                )
                .into());
            }
        };
        let after = self.cursor.as_deref().map(Cursor::parse).transpose()?;
        let page = list_tasks(store, user, filter, limit, after).await?;
        let remaining = match page.next {
            Some(next) => store.count_user_tasks(user, filter, Some(next)).await?,
            None => 0,
        };
        Ok(TaskList {
            tasks: page.tasks,
            remaining,
            next_cursor: page.next.map(Cursor::token),
        })
    }
}

impl CompleteTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        let id = number_ref(self.number)?;
        complete_task(store, user, id, Some(self.completed.unwrap_or(true))).await
    }
}

impl DeleteTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        delete_task(store, user, number_ref(self.number)?).await
    }
}

impl UpdateTaskArgs {
    pub async fn run(&self, store: &Store, user: &UserId) -> Result<Task, ToolError> {
        let id = number_ref(self.number)?;
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
pub const LIST_TASKS_DESCRIPTION: &str = "List the user's tasks, newest first; filter by status \
all, pending or completed. Answers at most `limit` tasks (default 20, at most 100), how many more \
remain, and a next_cursor to pass as `cursor` for the next page. Each task has a `number`: the \
user's task number that the other tools take.";
pub const COMPLETE_TASK_DESCRIPTION: &str = "Mark the task with this number as completed (or as \
pending again with completed=false); setting the state it already has changes nothing.";
pub const DELETE_TASK_DESCRIPTION: &str = "Delete the task with this number.";
pub const UPDATE_TASK_DESCRIPTION: &str =
    "Change the title, description or completion state of the task with this number.";

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
