use serde_json::{Value, json};

use crate::helpers::{Db, both_dbs, error_code, spawn_app};

both_dbs!(
    health_and_ready_answer,
    unknown_routes_and_methods_answer_json,
    openapi_is_served
);

async fn health_and_ready_answer(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({ "status": "ok" })
    );
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({ "status": "ready" })
    );
}

async fn unknown_routes_and_methods_answer_json(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    assert_eq!(error_code(app.get("/nope").await, 404).await, "not_found");
    let res = app
        .client
        .delete(app.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 405).await, "method_not_allowed");
    let res = app
        .client
        .patch(app.url("/api/demo/tasks"))
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res, 405).await, "method_not_allowed");
}

async fn openapi_is_served(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let res = app.get("/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("json");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    assert!(doc["paths"]["/api/{user_id}/tasks"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Task"].is_object());
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_gone() {
    let Some(app) = spawn_app(Db::Sqlite).await else {
        return;
    };
    app.store.close().await;
    assert_eq!(error_code(app.get("/ready").await, 503).await, "not_ready");
    // Liveness does no I/O, so it still answers.
    assert_eq!(app.get("/health").await.status(), 200);
}
