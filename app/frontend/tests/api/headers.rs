//! What the proxy does to headers, seen by a small echo server standing in for the backend
//! (the real backend does not echo request headers back).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::any;
use serde_json::Value;

use crate::helpers::spawn_frontend;

async fn echo(headers: HeaderMap, uri: axum::http::Uri, body: String) -> impl IntoResponse {
    let seen: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    (
        [
            ("x-backend", "echo"),
            ("cache-control", "no-cache"),
            ("set-cookie", "todo_token=from-backend; Path=/"),
        ],
        Json(serde_json::json!({ "headers": seen, "uri": uri.to_string(), "body": body })),
    )
}

#[tokio::test]
async fn end_to_end_headers_pass_hop_by_hop_ones_do_not() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/{*p}", any(echo)))
            .await
            .unwrap();
    });
    let (addr, _stop) = spawn_frontend(&format!("http://{backend}")).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/demo/tasks?status=all&x=%20y"))
        .header("x-request-id", "req-1")
        .header("accept", "application/json")
        .header("connection", "x-hop-secret")
        .header("x-hop-secret", "must not pass")
        .header("te", "trailers")
        .header("cookie", "todo_token=tok.en-1; todo_user=demo")
        .body("hello body")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-backend"], "echo");
    // `/api` answers are never stored, whatever the backend says.
    assert_eq!(resp.headers()["cache-control"], "no-store");
    // The frontend owns the browser's cookies: the backend cannot set or overwrite them.
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "{:?}",
        resp.headers()
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let seen: Value = resp.json().await.unwrap();
    let h = &seen["headers"];
    assert_eq!(seen["uri"], "/api/demo/tasks?status=all&x=%20y");
    assert_eq!(seen["body"], "hello body");
    assert_eq!(h["x-request-id"], "req-1");
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["authorization"], "Bearer tok.en-1");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-host"], addr.to_string());
    assert_eq!(h["host"], backend.to_string());
    for gone in ["x-hop-secret", "te", "cookie"] {
        assert!(h.get(gone).is_none(), "{gone} was forwarded: {h}");
    }

    // A caller's own Authorization header wins over the cookie.
    let seen: Value = reqwest::Client::new()
        .get(format!("http://{addr}/api/demo/tasks"))
        .header("authorization", "Bearer explicit")
        .header("cookie", "todo_token=from-cookie")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["headers"]["authorization"], "Bearer explicit");
}
