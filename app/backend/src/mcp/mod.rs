//! `/mcp`: the five task tools over MCP (streamable HTTP), for outside agents.
//!
//! Each tool takes the `user_id` whose tasks it manages plus the arguments of the tool in
//! [`crate::tools`], which does the work. The server is stateless (no MCP sessions), so any
//! replica answers any request. With auth on, the bearer token's user must be the `user_id`.

pub mod http;

use axum::http::request::Parts;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::auth::AuthenticatedUser;
use crate::domain::{UserId, parse_user_id};
use crate::state::AppState;
use crate::tools::{
    self, AddTaskArgs, CompleteTaskArgs, DeleteTaskArgs, ListTasksArgs, ToolError, UpdateTaskArgs,
};

/// A tool's arguments plus the user they act for.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ForUser<T> {
    /// The user whose tasks to manage (1-64 characters of letters, digits, '.', '_', '@', '-').
    pub user_id: String,
    #[serde(flatten)]
    pub args: T,
}

/// The MCP server handler; cheap to clone, one per request.
#[derive(Clone)]
pub struct TodoMcp {
    state: AppState,
}

/// The tower service mounted at `/mcp`.
pub fn service(
    state: AppState,
    cancel: CancellationToken,
) -> StreamableHttpService<TodoMcp, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        // The Host allow-list is checked in front of the service (`http::check_host`), which
        // answers in the API's JSON error shape and knows the in-cluster Service names.
        .disable_allowed_hosts()
        .with_cancellation_token(cancel);
    StreamableHttpService::new(
        move || {
            Ok(TodoMcp {
                state: state.clone(),
            })
        },
        NeverSessionManager::default().into(),
        config,
    )
}

fn to_result<T: Serialize>(result: Result<T, ToolError>) -> Result<CallToolResult, ErrorData> {
    match result {
        Ok(value) => {
            let json = serde_json::to_string(&value)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            Ok(CallToolResult::success(vec![ContentBlock::text(json)]))
        }
        Err(ToolError::Store(e)) => {
            tracing::error!(error = %crate::error::error_chain(&e), "MCP tool failed");
            Err(ErrorData::internal_error("the database failed", None))
        }
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(
            e.public_message(),
        )])),
    }
}

impl TodoMcp {
    /// The validated user, who must be the token's user when auth is on.
    fn user(&self, user_id: &str, ctx: &RequestContext<RoleServer>) -> Result<UserId, ErrorData> {
        let user =
            parse_user_id(user_id).map_err(|e| ErrorData::invalid_params(e.message, None))?;
        if self.state.auth.is_some() {
            let token_user = ctx
                .extensions
                .get::<Parts>()
                .and_then(|p| p.extensions.get::<AuthenticatedUser>());
            match token_user {
                Some(AuthenticatedUser(sub)) if sub == user.as_str() => {}
                _ => {
                    return Err(ErrorData::invalid_params(
                        "forbidden: the token does not grant access to this user's tasks",
                        None,
                    ));
                }
            }
        }
        Ok(user)
    }
}

#[tool_router]
impl TodoMcp {
    #[tool(name = "add_task", description = tools::ADD_TASK_DESCRIPTION)]
    async fn add_task(
        &self,
        Parameters(p): Parameters<ForUser<AddTaskArgs>>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = self.user(&p.user_id, &ctx)?;
        to_result(p.args.run(&self.state.store, &user).await)
    }

    #[tool(name = "list_tasks", description = tools::LIST_TASKS_DESCRIPTION)]
    async fn list_tasks(
        &self,
        Parameters(p): Parameters<ForUser<ListTasksArgs>>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = self.user(&p.user_id, &ctx)?;
        to_result(p.args.run(&self.state.store, &user).await)
    }

    #[tool(name = "complete_task", description = tools::COMPLETE_TASK_DESCRIPTION)]
    async fn complete_task(
        &self,
        Parameters(p): Parameters<ForUser<CompleteTaskArgs>>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = self.user(&p.user_id, &ctx)?;
        to_result(p.args.run(&self.state.store, &user).await)
    }

    #[tool(name = "delete_task", description = tools::DELETE_TASK_DESCRIPTION)]
    async fn delete_task(
        &self,
        Parameters(p): Parameters<ForUser<DeleteTaskArgs>>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = self.user(&p.user_id, &ctx)?;
        to_result(p.args.run(&self.state.store, &user).await)
    }

    #[tool(name = "update_task", description = tools::UPDATE_TASK_DESCRIPTION)]
    async fn update_task(
        &self,
        Parameters(p): Parameters<ForUser<UpdateTaskArgs>>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = self.user(&p.user_id, &ctx)?;
        to_result(p.args.run(&self.state.store, &user).await)
    }
}

#[tool_handler(
    name = "todo-backend",
    instructions = "Manage a user's to-do list: add_task, list_tasks, complete_task, delete_task, update_task. Every tool takes the user_id."
)]
impl ServerHandler for TodoMcp {}
