//! `/api/*` through the frontend, against the real backend.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestBackend, spawn_app, spawn_frontend};

#[tokio::test]
async fn each_method_and_status_passes_through() {
    let app = spawn_app().await;
    let api = |p: &str| app.url(&format!("/api/demo{p}"));

    let resp = app
        .http
        .post(api("/tasks"))
        .json(&json!({"title": "proxied"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let task: Value = resp.json().await.unwrap();
    let id = task["id"].as_i64().unwrap();
    assert_eq!(task["user_id"], "demo");

    let resp = app
        .http
        .get(api(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let resp = app
        .http
        .put(api(&format!("/tasks/{id}")))
        .json(&json!({"title": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["title"], "renamed");

    let resp = app
        .http
        .patch(api(&format!("/tasks/{id}/complete")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["completed"], true);

    // The query string reaches the backend.
    let done: Vec<Value> = app
        .http
        .get(api("/tasks?status=completed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    let pending: Vec<Value> = app
        .http
        .get(api("/tasks?status=pending"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(pending.is_empty());

    let resp = app
        .http
        .delete(api(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.bytes().await.unwrap().len(), 0);

    let resp = app
        .http
        .get(api(&format!("/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let err: Value = resp.json().await.unwrap();
    assert!(err["error"]["code"].is_string(), "{err}");
}

#[tokio::test]
async fn error_statuses_and_bodies_are_the_backends() {
    let app = spawn_app().await;
    for (method, path, body, ctype) in [
        (
            Method::POST,
            "/api/demo/tasks",
            "{not json",
            "application/json",
        ),
        (
            Method::POST,
            "/api/demo/tasks",
            "{\"title\":\"\"}",
            "application/json",
        ),
        (
            Method::GET,
            "/api/bad%2Fuser!/tasks",
            "",
            "application/json",
        ),
        (Method::POST, "/api/demo/tasks", "title=x", "text/plain"),
        (Method::DELETE, "/api/demo/tasks", "", "application/json"),
    ] {
        let direct = app
            .http
            .request(method.clone(), app.backend_url(path))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let proxied = app
            .http
            .request(method.clone(), app.url(path))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            direct.status().is_client_error(),
            "{method} {path}: {}",
            direct.status()
        );
        assert_eq!(proxied.status(), direct.status(), "{method} {path}");
        let (d, p): (Value, Value) = (direct.json().await.unwrap(), proxied.json().await.unwrap());
        assert_eq!(d, p, "{method} {path}");
    }
}

#[tokio::test]
async fn large_bodies_stream_through_and_limits_are_the_backends() {
    let app = spawn_app().await;
    let big = format!("{{\"title\":\"{}\"}}", "x".repeat(200 * 1024));
    let direct = app
        .http
        .post(app.backend_url("/api/demo/tasks"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let proxied = app
        .http
        .post(app.url("/api/demo/tasks"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 413);
    assert_eq!(proxied.status(), 413);
}

#[tokio::test]
async fn chat_goes_through_the_proxy() {
    let app = spawn_app().await;
    let resp = app
        .http
        .post(app.url("/api/demo/chat"))
        .json(&json!({"message": "add buy milk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reply: Value = resp.json().await.unwrap();
    assert!(reply["conversation_id"].is_i64());
    assert_eq!(reply["tool_calls"][0]["name"], "add_task", "{reply}");
}

#[tokio::test]
async fn unreachable_backend_gives_502_json() {
    let mut backend = TestBackend::spawn(None).await;
    let (addr, _stop) = spawn_frontend(&backend.url()).await;
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("http://{addr}/api/demo/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    backend.stop().await;
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let resp = http
            .request(method.clone(), format!("http://{addr}/api/demo/tasks"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 502, "{method}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "backend_unavailable");
        assert!(body["error"]["message"].is_string());
    }
    // The page still answers, with the notice.
    let page = http.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Backend unavailable"));
}
