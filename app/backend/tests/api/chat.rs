use serde_json::{Value, json};

use crate::fake_model::{Behaviour, FakeModel};
use crate::helpers::{Db, TestApp, both_dbs, error_code, spawn_app, spawn_app_with};

both_dbs!(
    rules_agent_runs_every_tool,
    conversations_are_stored_and_private,
    openai_agent_round_trips_a_tool_call,
);

async fn chat(app: &TestApp, user: &str, conversation: Option<i64>, message: &str) -> Value {
    let mut body = json!({ "message": message });
    if let Some(id) = conversation {
        body["conversation_id"] = json!(id);
    }
    let res = app.post_json(&format!("/api/{user}/chat"), &body).await;
    assert_eq!(res.status(), 200, "chat {message:?}");
    res.json().await.expect("chat JSON")
}

fn tool_names(reply: &Value) -> Vec<String> {
    reply["tool_calls"]
        .as_array()
        .expect("tool_calls array")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn rules_agent_runs_every_tool(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let r = chat(&app, "demo", None, "add buy milk").await;
    assert_eq!(tool_names(&r), ["add_task"]);
    assert_eq!(
        r["tool_calls"][0]["arguments"],
        json!({ "title": "buy milk" })
    );
    assert_eq!(r["tool_calls"][0]["result"]["title"], "buy milk");
    let milk_id = r["tool_calls"][0]["result"]["id"].as_i64().expect("id");
    let milk = r["tool_calls"][0]["result"]["number"]
        .as_i64()
        .expect("number");
    assert!(
        r["response"].as_str().expect("text").contains("buy milk"),
        "{r}"
    );
    let conversation = r["conversation_id"].as_i64().expect("conversation id");

    let r = chat(
        &app,
        "demo",
        Some(conversation),
        "remind me to call mom tomorrow",
    )
    .await;
    assert_eq!(r["conversation_id"], conversation);
    assert_eq!(r["tool_calls"][0]["result"]["title"], "call mom tomorrow");
    let mom = r["tool_calls"][0]["result"]["number"]
        .as_i64()
        .expect("number");

    let r = chat(&app, "demo", Some(conversation), "what's pending?").await;
    assert_eq!(tool_names(&r), ["list_tasks"]);
    assert_eq!(
        r["tool_calls"][0]["arguments"],
        json!({ "status": "pending" })
    );
    let text = r["response"].as_str().expect("text");
    assert!(
        text.contains("buy milk") && text.contains("call mom tomorrow"),
        "{text}"
    );

    let r = chat(
        &app,
        "demo",
        Some(conversation),
        &format!("mark {milk} as done"),
    )
    .await;
    assert_eq!(tool_names(&r), ["complete_task"]);
    assert_eq!(r["tool_calls"][0]["result"]["completed"], true);

    let r = chat(&app, "demo", Some(conversation), "show completed").await;
    assert!(
        r["response"].as_str().expect("text").contains("buy milk"),
        "{r}"
    );
    assert!(
        !r["response"].as_str().expect("text").contains("call mom"),
        "{r}"
    );

    let r = chat(
        &app,
        "demo",
        Some(conversation),
        "complete call mom tomorrow",
    )
    .await;
    assert_eq!(tool_names(&r), ["list_tasks", "complete_task"]);
    assert_eq!(r["tool_calls"][1]["arguments"]["number"], mom);

    let r = chat(
        &app,
        "demo",
        Some(conversation),
        &format!("rename {mom} to pay rent"),
    )
    .await;
    assert_eq!(tool_names(&r), ["update_task"]);
    assert_eq!(r["tool_calls"][0]["result"]["title"], "pay rent");

    let r = chat(
        &app,
        "demo",
        Some(conversation),
        &format!("delete task {milk}"),
    )
    .await;
    assert_eq!(tool_names(&r), ["delete_task"]);
    assert_eq!(
        error_code(app.get(&format!("/api/demo/tasks/{milk_id}")).await, 404).await,
        "not_found"
    );

    let r = chat(&app, "demo", Some(conversation), "delete task 999999").await;
    assert_eq!(tool_names(&r), ["delete_task"]);
    assert!(r["tool_calls"][0]["result"]["error"].is_string(), "{r}");
    assert!(
        r["response"]
            .as_str()
            .expect("text")
            .contains("couldn't find"),
        "{r}"
    );

    for text in ["help", "what is the meaning of life"] {
        let r = chat(&app, "demo", Some(conversation), text).await;
        assert_eq!(tool_names(&r), Vec::<String>::new(), "{text}");
        assert!(r["response"].as_str().is_some_and(|t| t.len() > 20), "{r}");
    }

    let tasks: Value = app.get("/api/demo/tasks").await.json().await.expect("json");
    assert_eq!(tasks.as_array().map(Vec::len), Some(1));
    assert_eq!(tasks[0]["title"], "pay rent");
    assert_eq!(tasks[0]["completed"], true);
}

async fn conversations_are_stored_and_private(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let first = chat(&app, "alice", None, "add water plants").await;
    let id = first["conversation_id"].as_i64().expect("id");
    chat(&app, "alice", Some(id), "list my tasks").await;
    let second = chat(&app, "alice", None, "hello").await;
    let id2 = second["conversation_id"].as_i64().expect("id");
    assert_ne!(id, id2);

    let list: Value = app
        .get("/api/alice/conversations")
        .await
        .json()
        .await
        .expect("json");
    let ids: Vec<i64> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [id2, id], "newest first");
    assert_eq!(list[0]["user_id"], "alice");
    for field in ["created_at", "updated_at"] {
        assert!(list[0][field].is_string(), "{list}");
    }

    let messages: Value = app
        .get(&format!("/api/alice/conversations/{id}/messages"))
        .await
        .json()
        .await
        .expect("json");
    let roles: Vec<&str> = messages
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(
        roles,
        ["user", "tool", "assistant", "user", "tool", "assistant"]
    );
    assert_eq!(messages[0]["content"], "add water plants");
    assert_eq!(messages[0]["conversation_id"], id);
    assert_eq!(messages[0]["user_id"], "alice");
    let tool: Value = serde_json::from_str(messages[1]["content"].as_str().expect("content"))
        .expect("tool record JSON");
    assert_eq!(tool["name"], "add_task");

    // Bob sees none of it and cannot continue Alice's conversation.
    let bobs: Value = app
        .get("/api/bob/conversations")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(bobs, json!([]));
    let res = app
        .get(&format!("/api/bob/conversations/{id}/messages"))
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .post_json(
            "/api/bob/chat",
            &json!({ "conversation_id": id, "message": "list my tasks" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let bob_tasks: Value = app.get("/api/bob/tasks").await.json().await.expect("json");
    assert_eq!(bob_tasks, json!([]));
}

const KEY: &str = "sk-fake-secret-key-0123456789";

async fn openai_agent_round_trips_a_tool_call(db: Db) {
    let model = FakeModel::start(Behaviour::ToolRoundTrip).await;
    let vars = [
        ("AGENT", "openai"),
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", model.base_url.as_str()),
        ("OPENAI_MODEL", "fake-1"),
    ];
    let Some(app) = spawn_app_with(db, &vars).await else {
        return;
    };
    let first = chat(&app, "demo", None, "I need milk").await;
    let r = chat(
        &app,
        "demo",
        first["conversation_id"].as_i64(),
        "please add buy milk",
    )
    .await;
    assert_eq!(r["response"], "I added buy milk to your list.");
    assert_eq!(tool_names(&r), ["add_task"]);
    assert_eq!(r["tool_calls"][0]["result"]["title"], "buy milk");
    let tasks: Value = app.get("/api/demo/tasks").await.json().await.expect("json");
    assert_eq!(tasks.as_array().map(Vec::len), Some(2), "one task per turn");

    let requests = model.requests();
    assert_eq!(requests.len(), 4, "two model calls per turn");
    for (auth, body) in &requests {
        assert_eq!(auth.as_deref(), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(body["model"], "fake-1");
        let names: Vec<&str> = body["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["function"]["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            names,
            [
                "add_task",
                "list_tasks",
                "complete_task",
                "delete_task",
                "update_task"
            ]
        );
        assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
    }
    // The second turn replays the first turn's dialogue from the database.
    let (_, third) = &requests[2];
    let roles: Vec<&str> = third["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    // The tool result goes back to the model, paired with the call id.
    let (_, fourth) = &requests[3];
    let last = fourth["messages"]
        .as_array()
        .and_then(|m| m.last())
        .expect("last message");
    assert_eq!(last["role"], "tool");
    assert_eq!(last["tool_call_id"], "call_1");
    let result: Value =
        serde_json::from_str(last["content"].as_str().expect("content")).expect("JSON result");
    assert_eq!(result["title"], "buy milk");
}

#[tokio::test]
async fn model_failures_answer_502_without_the_key() {
    for behaviour in [
        Behaviour::Fail(500),
        Behaviour::Fail(401),
        Behaviour::Garbage,
    ] {
        let model = FakeModel::start(behaviour).await;
        let vars = [
            ("AGENT", "openai"),
            ("OPENAI_API_KEY", KEY),
            ("OPENAI_BASE_URL", model.base_url.as_str()),
        ];
        let Some(app) = spawn_app_with(Db::Sqlite, &vars).await else {
            return;
        };
        let res = app
            .post_json("/api/demo/chat", &json!({ "message": "add x" }))
            .await;
        assert_eq!(res.status(), 502, "{behaviour:?}");
        let text = res.text().await.expect("body");
        assert!(!text.contains(KEY), "{text}");
        let body: Value = serde_json::from_str(&text).expect("JSON error");
        assert_eq!(body["error"]["code"], "model_error", "{behaviour:?}");
    }
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", closed.local_addr().expect("addr"));
    drop(closed);
    let vars = [
        ("AGENT", "openai"),
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", url.as_str()),
    ];
    let Some(app) = spawn_app_with(Db::Sqlite, &vars).await else {
        return;
    };
    let res = app
        .post_json("/api/demo/chat", &json!({ "message": "add x" }))
        .await;
    assert_eq!(error_code(res, 502).await, "model_error");
}
