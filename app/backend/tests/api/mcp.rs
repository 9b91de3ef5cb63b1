use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, both_dbs, spawn_app};

both_dbs!(mcp_client_lists_and_calls_the_tools);

/// A real MCP client over streamable HTTP, with an optional bearer token.
pub async fn connect(
    app: &TestApp,
    token: Option<&str>,
) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"));
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("todo-backend-tests", "0.1.0"),
    )
    .serve(transport)
    .await
    .map_err(|e| e.to_string())
}

/// Calls a tool and returns the result as JSON (`content`, `isError`, …).
pub async fn call(
    client: &RunningService<RoleClient, ClientConfig>,
    name: &'static str,
    args: Value,
) -> Result<Value, String> {
    let args = args.as_object().cloned().expect("object arguments");
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args))
        .await
        .map(|r| serde_json::to_value(r).expect("result JSON"))
        .map_err(|e| e.to_string())
}

/// The JSON inside a tool result's first text block.
pub fn payload(result: &Value) -> Value {
    let text = result["content"][0]["text"].as_str().expect("text content");
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

async fn mcp_client_lists_and_calls_the_tools(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let client = connect(&app, None).await.expect("initialize");
    let info = client.peer_info().expect("server info after initialize");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("todo-backend")
    );

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add_task",
            "complete_task",
            "delete_task",
            "list_tasks",
            "update_task"
        ]
    );
    for tool in &tools {
        let schema = serde_json::to_value(&*tool.input_schema).expect("schema");
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert!(
            schema["properties"]["user_id"].is_object(),
            "{}: {schema}",
            tool.name
        );
        assert!(tool.description.as_ref().is_some_and(|d| !d.is_empty()));
    }

    let added = call(
        &client,
        "add_task",
        json!({ "user_id": "mcp-user", "title": "from mcp" }),
    )
    .await
    .expect("tools/call add_task");
    assert_ne!(added["isError"], true, "{added}");
    let task = payload(&added);
    assert_eq!(task["title"], "from mcp");
    assert_eq!(task["user_id"], "mcp-user");

    // The REST API sees what the MCP tool made: one module does the work for both.
    let listed: Value = app
        .get("/api/mcp-user/tasks")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed, json!([task]));

    let done = call(
        &client,
        "complete_task",
        json!({ "user_id": "mcp-user", "number": task["number"] }),
    )
    .await
    .expect("complete_task");
    assert_eq!(payload(&done)["completed"], true);
    let pending = call(
        &client,
        "list_tasks",
        json!({ "user_id": "mcp-user", "status": "pending" }),
    )
    .await
    .expect("list_tasks");
    assert_eq!(payload(&pending), json!({ "tasks": [], "remaining": 0 }));
    let renamed = call(
        &client,
        "update_task",
        json!({ "user_id": "mcp-user", "number": task["number"], "title": "renamed" }),
    )
    .await
    .expect("update_task");
    assert_eq!(payload(&renamed)["title"], "renamed");

    // Another user's task is not found; bad input is a tool error, not a crash.
    let other = call(
        &client,
        "delete_task",
        json!({ "user_id": "someone-else", "number": task["number"] }),
    )
    .await
    .expect("delete_task");
    assert_eq!(other["isError"], true, "{other}");
    let empty = call(
        &client,
        "add_task",
        json!({ "user_id": "mcp-user", "title": "  " }),
    )
    .await
    .expect("add_task");
    assert_eq!(empty["isError"], true, "{empty}");
    assert!(
        call(
            &client,
            "add_task",
            json!({ "user_id": "bad user", "title": "x" })
        )
        .await
        .is_err()
    );

    let deleted = call(
        &client,
        "delete_task",
        json!({ "user_id": "mcp-user", "number": task["number"] }),
    )
    .await
    .expect("delete_task");
    assert_eq!(payload(&deleted)["id"], task["id"]);
    client.cancel().await.expect("close client");
}
