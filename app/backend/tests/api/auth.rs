use serde_json::{Value, json};

use crate::helpers::{Db, both_dbs, error_code, spawn_app, spawn_app_with};
use crate::mcp::{call, connect, payload};

both_dbs!(auth_guards_api_and_mcp);

const SECRET: [(&str, &str); 1] = [("AUTH_SECRET", "a-test-secret-with-enough-length")];

async fn auth_guards_api_and_mcp(db: Db) {
    let Some(app) = spawn_app_with(db, &SECRET).await else {
        return;
    };
    let config: Value = app.get("/auth/config").await.json().await.expect("json");
    assert_eq!(config, json!({ "enabled": true }));

    let creds = json!({ "email": "Alice@Example.com", "password": "correct horse" });
    let res = app.post_json("/auth/signup", &creds).await;
    assert_eq!(res.status(), 201);
    let signed: Value = res.json().await.expect("json");
    assert_eq!(signed["user_id"], "alice@example.com");
    assert!(
        signed["token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );

    let res = app.post_json("/auth/signup", &creds).await;
    assert_eq!(error_code(res, 409).await, "email_taken");
    let res = app
        .post_json(
            "/auth/signup",
            &json!({ "email": "not-an-email", "password": "long enough" }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "invalid_email");
    let res = app
        .post_json(
            "/auth/signup",
            &json!({ "email": "b@example.com", "password": "short" }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "invalid_password");

    let res = app
        .post_json(
            "/auth/login",
            &json!({ "email": "alice@example.com", "password": "wrong horse" }),
        )
        .await;
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app
        .post_json(
            "/auth/login",
            &json!({ "email": "nobody@example.com", "password": "whatever1" }),
        )
        .await;
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app.post_json("/auth/login", &creds).await;
    assert_eq!(res.status(), 200);
    let login: Value = res.json().await.expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    assert_eq!(login["user_id"], "alice@example.com");

    let mine = app.url("/api/alice@example.com/tasks");
    let res = app.client.get(&mine).send().await.expect("send");
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app
        .client
        .get(&mine)
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app
        .client
        .get(&mine)
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .post(&mine)
        .bearer_auth(&token)
        .json(&json!({ "title": "private" }))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    let res = app
        .client
        .get(app.url("/api/bob/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 403).await, "forbidden");
    let res = app
        .client
        .post(app.url("/api/bob/chat"))
        .bearer_auth(&token)
        .json(&json!({ "message": "list my tasks" }))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 403).await, "forbidden");
    // Health and readiness stay open for probes.
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/ready").await.status(), 200);

    // MCP needs a token, and a token only reaches its own user's tasks.
    let res = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 401).await, "unauthorized");
    assert!(connect(&app, None).await.is_err());
    let client = connect(&app, Some(&token))
        .await
        .expect("initialize with a token");
    let listed = call(
        &client,
        "list_tasks",
        json!({ "user_id": "alice@example.com" }),
    )
    .await
    .expect("list_tasks");
    assert_eq!(payload(&listed)["tasks"][0]["title"], "private");
    assert!(
        call(&client, "list_tasks", json!({ "user_id": "bob" }))
            .await
            .is_err()
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn without_a_secret_the_api_is_open_and_auth_routes_are_404() {
    let Some(app) = spawn_app(Db::Sqlite).await else {
        return;
    };
    let config: Value = app.get("/auth/config").await.json().await.expect("json");
    assert_eq!(config, json!({ "enabled": false }));
    let creds = json!({ "email": "a@example.com", "password": "long enough" });
    for path in ["/auth/signup", "/auth/login"] {
        assert_eq!(
            error_code(app.post_json(path, &creds).await, 404).await,
            "auth_disabled"
        );
    }
    assert_eq!(app.get("/api/anyone/tasks").await.status(), 200);
}
