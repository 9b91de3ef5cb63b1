//! Hostile clients against the frontend: slow or incomplete requests get 408 in the JSON error
//! shape instead of holding a connection.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestBackend, spawn_frontend_with};

/// The read timeouts of these tests; every wait is checked against it.
const TIMEOUT: Duration = Duration::from_millis(700);

async fn frontend(
    backend: &TestBackend,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    spawn_frontend_with(
        &backend.url(),
        &[("HEADER_READ_TIMEOUT", "0.7"), ("BODY_READ_TIMEOUT", "0.7")],
    )
    .await
}

/// Sends `raw`, then reads until the server closes; the answer and the time it took.
async fn send_and_wait(addr: std::net::SocketAddr, raw: &[u8]) -> (String, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

fn json_body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[tokio::test]
async fn a_half_sent_head_gets_408_json_after_the_header_timeout() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = frontend(&backend).await;
    let (answer, waited) = send_and_wait(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert_eq!(json_body(&answer)["error"]["code"], "request_timeout");
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_short_api_body_gets_408_json_not_a_gateway_error() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = frontend(&backend).await;
    let raw = b"POST /api/demo/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"title\":";
    let (answer, waited) = send_and_wait(addr, raw).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let body = json_body(&answer);
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(body["error"]["message"].is_string());
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
    // Nothing reached the backend's store.
    let tasks = backend_tasks(&backend).await;
    assert!(tasks.is_empty(), "{tasks:?}");
}

#[tokio::test]
async fn a_short_form_body_gets_408() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = frontend(&backend).await;
    let raw = b"POST /user HTTP/1.1\r\nHost: x\r\nOrigin: http://x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nuser_id=al";
    let (answer, _) = send_and_wait(addr, raw).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("set-cookie"),
        "{answer}"
    );
}

/// Sends `raw`, closes the sending side (the client has nothing more to say) and reads the
/// answer.
async fn send_and_half_close(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_broken_api_body_is_the_clients_400_not_a_gateway_error() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = frontend(&backend).await;
    let head = "POST /api/demo/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    // A chunk size that is not hexadecimal.
    let bad_chunk = format!("{head}Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n");
    let (answer, _) = send_and_wait(addr, bad_chunk.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(
        json_body(&answer)["error"]["code"],
        "invalid_body",
        "{answer}"
    );
    // A body that ends (the client closed its side) before its Content-Length.
    let short = format!("{head}Content-Length: 100\r\n\r\n{{\"title\":\"cut");
    let answer = send_and_half_close(addr, short.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(
        json_body(&answer)["error"]["code"],
        "invalid_body",
        "{answer}"
    );
    let tasks = backend_tasks(&backend).await;
    assert!(tasks.is_empty(), "{tasks:?}");
}

/// A stand-in backend that sends the head of every answer and the first byte of its body, then
/// nothing more, holding the connection open.
async fn stalling_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[";
                let _ = s.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_backend_that_stops_mid_answer_does_not_hold_the_client() {
    use todo_frontend::backend::Backend;
    use todo_frontend::config::{BackendUrl, CookieSecure};
    use todo_frontend::state::AppState;

    let url = stalling_backend().await;
    let backend = Backend::new(BackendUrl::parse(&url).unwrap()).with_body_idle(TIMEOUT);
    let state = AppState::new(backend, todo_serve::Lifecycle::new(), CookieSecure::Auto);
    let app = todo_frontend::startup::router(state)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (answer, waited) = send_and_wait(
        addr,
        b"GET /api/demo/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // The head was already sent: the answer can only be cut short, and the connection ends.
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\n["), "{answer}");
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < TIMEOUT * 10,
        "{waited:?}"
    );
}

/// A request (method, path, content type and body) and the status and error code it gets.
type Mistake = (
    reqwest::Method,
    &'static str,
    Option<(&'static str, String)>,
    u16,
    &'static str,
);

#[tokio::test]
async fn client_mistakes_on_pages_answer_4xx_in_the_json_error_shape() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = spawn_frontend_with(&backend.url(), &[]).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = format!("http://{addr}");
    let form = "application/x-www-form-urlencoded";
    let big = format!("title={}", "a".repeat(3 * 1024 * 1024));
    let cases: [Mistake; 11] = [
        (
            reqwest::Method::GET,
            "/no/such/page",
            None,
            404,
            "not_found",
        ),
        (reqwest::Method::GET, "/api", None, 404, "not_found"),
        (
            reqwest::Method::GET,
            "/assets/app.css",
            None,
            404,
            "not_found",
        ),
        (
            reqwest::Method::PUT,
            "/tasks",
            None,
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            "/logout",
            None,
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::POST,
            "/tasks",
            Some(("application/json", r#"{"title":"x"}"#.into())),
            415,
            "unsupported_media_type",
        ),
        (
            reqwest::Method::POST,
            "/tasks",
            Some((form, "title=a&title=b".into())),
            422,
            "invalid_form",
        ),
        (
            reqwest::Method::POST,
            "/tasks",
            Some((form, big)),
            413,
            "payload_too_large",
        ),
        (
            reqwest::Method::POST,
            "/tasks/abc/toggle",
            Some((form, String::new())),
            400,
            "invalid_path",
        ),
        (
            reqwest::Method::POST,
            "/tasks/99999999999999999999/delete",
            Some((form, String::new())),
            400,
            "invalid_path",
        ),
        (
            reqwest::Method::GET,
            "/?filter=all&filter=pending",
            None,
            400,
            "invalid_query",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let mut req = http
            .request(method.clone(), format!("http://{addr}{path}"))
            .header("origin", &origin);
        if let Some((ty, body)) = body {
            req = req.header("content-type", ty).body(body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let tasks = backend_tasks(&backend).await;
    assert!(tasks.is_empty(), "{tasks:?}");
}

/// The tasks of user `demo` in the backend's store, read past the frontend.
async fn backend_tasks(backend: &TestBackend) -> Vec<Value> {
    reqwest::get(format!("{}/api/demo/tasks", backend.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A stand-in backend that answers every request with the headers it received, as JSON.
async fn header_echo() -> String {
    use axum::http::HeaderMap;
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let map: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.to_str().unwrap_or("?"))))
            .collect();
        (
            [("cache-control", "public, max-age=3600")],
            axum::Json(Value::Object(map)),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn forged_forwarding_headers_do_not_reach_the_backend_and_api_answers_are_no_store() {
    let backend = header_echo().await;
    let (addr, _stop) = spawn_frontend_with(&backend, &[]).await;
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/api/demo/tasks"))
        .header("x-real-ip", "6.6.6.6")
        .header("forwarded", "for=6.6.6.6;proto=https")
        .header("proxy-connection", "keep-alive")
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let seen: Value = resp.json().await.unwrap();
    for dropped in ["x-real-ip", "forwarded", "proxy-connection", "cookie"] {
        assert!(
            seen.get(dropped).is_none(),
            "{dropped} reached the backend: {seen}"
        );
    }
    // The test connects from loopback, as an ingress in the cluster would from a private
    // address: its X-Forwarded-For is kept and the peer appended. (From a public address it is
    // dropped; the unit tests of `proxy` cover that.)
    assert_eq!(seen["x-forwarded-for"], "10.1.2.3, 127.0.0.1", "{seen}");
    assert_eq!(seen["x-forwarded-host"], addr.to_string(), "{seen}");
}

#[tokio::test]
async fn gateway_errors_are_json_and_no_store() {
    // Nothing listens on port 9 (discard) on the test machine: 502 from the proxy.
    let (addr, _stop) = spawn_frontend_with("http://127.0.0.1:9", &[]).await;
    let resp = reqwest::get(format!("http://{addr}/api/demo/tasks"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "backend_unavailable");
}

fn form_post(addr: std::net::SocketAddr, path: &str, body: &str) -> reqwest::RequestBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
}

#[tokio::test]
async fn cross_site_forms_are_refused_with_403_and_change_nothing() {
    let backend = TestBackend::spawn(Some("a-test-secret-of-enough-length")).await;
    let (addr, _stop) = spawn_frontend_with(&backend.url(), &[]).await;
    let cases = [
        ("/login", "email=attacker%40evil.example&password=password1"),
        (
            "/signup",
            "email=attacker%40evil.example&password=password1",
        ),
        ("/user", "user_id=mallory"),
        ("/tasks", "title=planted"),
        ("/tasks/1/delete", ""),
        ("/chat", "message=add+planted"),
        ("/logout", ""),
    ];
    for (path, body) in cases {
        for origin in [
            Some(("origin", "https://evil.example")),
            Some(("origin", "null")),
            Some(("referer", "https://evil.example/page")),
            None,
        ] {
            let mut req = form_post(addr, path, body);
            if let Some((name, value)) = origin {
                req = req.header(name, value);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 403, "{path} {origin:?}");
            assert!(
                resp.headers().get("set-cookie").is_none(),
                "{path} {origin:?}"
            );
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"]["code"], "cross_site_request", "{path}");
        }
    }
    // The browser's own fetch metadata is believed over a matching Origin.
    let resp = form_post(addr, "/user", "user_id=mallory")
        .header("origin", format!("http://{addr}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn cross_site_api_calls_are_refused_but_programs_pass() {
    let backend = TestBackend::spawn(None).await;
    let (addr, _stop) = spawn_frontend_with(&backend.url(), &[]).await;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/demo/tasks");
    let refused = http
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"title": "planted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let program = http
        .post(&url)
        .json(&serde_json::json!({"title": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(program.status(), 201);
    let titles: Vec<Value> = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert_eq!(titles[0]["title"], "mine");
}

#[tokio::test]
async fn cookies_are_secure_over_tls_or_when_configured() {
    let backend = TestBackend::spawn(None).await;
    let set_cookies = |resp: &reqwest::Response| -> Vec<String> {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let (addr, _stop) = spawn_frontend_with(&backend.url(), &[]).await;
    let origin = format!("http://{addr}");
    let plain = form_post(addr, "/user", "user_id=alice")
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 303);
    let cookies = set_cookies(&plain);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| !c.contains("Secure")),
        "{cookies:?}"
    );
    // Through a TLS-terminating ingress (the test connects from loopback, a proxy address).
    let tls = form_post(addr, "/user", "user_id=alice")
        .header("origin", format!("https://{addr}"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(tls.status(), 303);
    let cookies = set_cookies(&tls);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );

    let (addr, _stop2) = spawn_frontend_with(&backend.url(), &[("COOKIE_SECURE", "always")]).await;
    let always = form_post(addr, "/user", "user_id=alice")
        .header("origin", format!("http://{addr}"))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&always);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );
}
