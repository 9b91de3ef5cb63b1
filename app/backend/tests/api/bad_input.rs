use serde_json::json;

use crate::helpers::{Db, both_dbs, error_code, spawn_app};

both_dbs!(bad_inputs_answer_4xx_json);

/// Method, path, content type, body, expected status, expected error code.
type Case<'a> = (&'a str, String, Option<&'a str>, String, u16, &'a str);

/// Each bad request answers its 4xx status with the JSON error shape, and the app keeps serving.
async fn bad_inputs_answer_4xx_json(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    let task = app.create_task("demo", "exists").await;
    let id = task["id"].as_i64().expect("id");
    let long = "x".repeat(10_000);
    let huge = format!("{{\"title\":\"{}\"}}", "y".repeat(1024 * 1024));
    let json_ct = "application/json";
    // (method, path, content type, body, status, code)
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            "{\"title\": ".into(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            "not json".into(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "title": 5 }).to_string(),
            422,
            "invalid_body",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "name": "x" }).to_string(),
            422,
            "invalid_body",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!([1, 2]).to_string(),
            422,
            "invalid_body",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "title": "" }).to_string(),
            422,
            "invalid_title",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "title": "   " }).to_string(),
            422,
            "invalid_title",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "title": long }).to_string(),
            422,
            "invalid_title",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            json!({ "title": "ok", "description": "d".repeat(2001) }).to_string(),
            422,
            "invalid_description",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some(json_ct),
            huge,
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            Some("text/plain"),
            json!({ "title": "x" }).to_string(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/demo/tasks".into(),
            None,
            json!({ "title": "x" }).to_string(),
            415,
            "unsupported_media_type",
        ),
        (
            "GET",
            "/api/demo/tasks/abc".into(),
            None,
            String::new(),
            422,
            "invalid_task_id",
        ),
        (
            "GET",
            "/api/demo/tasks/-1".into(),
            None,
            String::new(),
            422,
            "invalid_task_id",
        ),
        (
            "GET",
            "/api/demo/tasks/0".into(),
            None,
            String::new(),
            422,
            "invalid_task_id",
        ),
        (
            "GET",
            "/api/demo/tasks/99999999999999999999999".into(),
            None,
            String::new(),
            422,
            "invalid_task_id",
        ),
        (
            "GET",
            "/api/demo/tasks/9223372036854775807".into(),
            None,
            String::new(),
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/api/demo/tasks/1.5".into(),
            None,
            String::new(),
            422,
            "invalid_task_id",
        ),
        (
            "GET",
            "/api/demo/tasks?status=done".into(),
            None,
            String::new(),
            422,
            "invalid_status",
        ),
        (
            "GET",
            "/api/demo/tasks?status=".into(),
            None,
            String::new(),
            422,
            "invalid_status",
        ),
        (
            "GET",
            format!("/api/{}/tasks", "u".repeat(65)),
            None,
            String::new(),
            422,
            "invalid_user_id",
        ),
        (
            "GET",
            "/api/bad%20user/tasks".into(),
            None,
            String::new(),
            422,
            "invalid_user_id",
        ),
        (
            "GET",
            "/api/bad%ZZ/tasks".into(),
            None,
            String::new(),
            422,
            "invalid_user_id",
        ),
        (
            "PUT",
            format!("/api/demo/tasks/{id}"),
            Some(json_ct),
            "{}".into(),
            422,
            "nothing_to_update",
        ),
        (
            "PUT",
            format!("/api/demo/tasks/{id}"),
            Some(json_ct),
            json!({ "completed": "yes" }).to_string(),
            422,
            "invalid_body",
        ),
        (
            "PUT",
            format!("/api/demo/tasks/{id}"),
            Some(json_ct),
            json!({ "title": "" }).to_string(),
            422,
            "invalid_title",
        ),
        (
            "POST",
            "/api/demo/chat".into(),
            Some(json_ct),
            json!({ "message": "" }).to_string(),
            422,
            "invalid_message",
        ),
        (
            "POST",
            "/api/demo/chat".into(),
            Some(json_ct),
            json!({ "message": "hi", "conversation_id": "x" }).to_string(),
            422,
            "invalid_body",
        ),
        (
            "POST",
            "/api/demo/chat".into(),
            Some(json_ct),
            json!({ "message": "hi", "conversation_id": 424242 }).to_string(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/api/demo/conversations/abc/messages".into(),
            None,
            String::new(),
            422,
            "invalid_conversation_id",
        ),
        (
            "GET",
            "/api/demo/conversations/77/messages".into(),
            None,
            String::new(),
            404,
            "not_found",
        ),
        (
            "POST",
            "/auth/signup".into(),
            Some(json_ct),
            json!({ "email": "a@b.co", "password": "password1" }).to_string(),
            404,
            "auth_disabled",
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let mut req = app
            .client
            .request(method.parse().expect("method"), app.url(&path))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let got = res.status().as_u16();
        assert_eq!(got, status, "{method} {path}");
        assert_eq!(error_code(res, status).await, code, "{method} {path}");
    }
    // Nothing above created or changed a task.
    let tasks: serde_json::Value = app.get("/api/demo/tasks").await.json().await.expect("json");
    assert_eq!(tasks, json!([task]));
}
