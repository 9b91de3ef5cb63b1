//! Slow and incomplete requests: a half-sent head or a body shorter than its `Content-Length`
//! gets `408` in the JSON error shape after the read timeout, and writes nothing.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Db, both_dbs, spawn_app_with};

/// The read timeouts of these tests; every wait is checked against it.
const TIMEOUT: Duration = Duration::from_millis(700);
const VARS: [(&str, &str); 2] = [("HEADER_READ_TIMEOUT", "0.7"), ("BODY_READ_TIMEOUT", "0.7")];

/// Sends `raw`, then reads until the server closes; the answer and the time it took.
async fn send_and_wait(address: &str, raw: &[u8]) -> (String, Duration) {
    let mut s = TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .expect("connect");
    s.write_all(raw).await.expect("write");
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

fn json_body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

async fn half_sent_head_gets_408(db: Db) {
    let Some(app) = spawn_app_with(db, &VARS).await else {
        return;
    };
    let (answer, waited) =
        send_and_wait(&app.address, b"GET /health HTTP/1.1\r\nHost: x\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert_eq!(json_body(&answer)["error"]["code"], "request_timeout");
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
}

async fn short_body_gets_408_and_writes_nothing(db: Db) {
    let Some(app) = spawn_app_with(db, &VARS).await else {
        return;
    };
    let raw = b"POST /api/demo/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"title\":\"half";
    let (answer, waited) = send_and_wait(&app.address, raw).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let body = json_body(&answer);
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(body["error"]["message"].is_string());
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
    let tasks: Vec<Value> = app.get("/api/demo/tasks").await.json().await.expect("json");
    assert!(tasks.is_empty(), "{tasks:?}");
}

both_dbs!(
    half_sent_head_gets_408,
    short_body_gets_408_and_writes_nothing
);
