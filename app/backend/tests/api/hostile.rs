//! Hostile clients: malformed identifiers, control characters, odd `/mcp` bodies, password
//! guessing, parallel logins and timing probes. Every case runs on SQLite and PostgreSQL.
//!
//! Requests that an HTTP library would tidy up (`/api/../tasks`, chunked bodies, a foreign
//! `Host`) are written byte for byte over TCP.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fake_model::{Behaviour, FakeModel};
use crate::helpers::{Db, TestApp, both_dbs, database_url, error_code, spawn_app, spawn_app_with};
use crate::mcp::{call, connect};

both_dbs!(
    hostile_inputs_answer_4xx_json,
    control_characters_get_the_same_422_and_store_nothing,
    a_failed_chat_turn_writes_nothing,
    failed_logins_are_limited_per_account_and_per_address,
    sign_ups_are_limited_per_address,
    busy_hashing_answers_503_with_retry_after,
    login_time_does_not_reveal_whether_an_account_exists,
    bearer_scheme_is_case_insensitive_and_expiry_leeway_is_small,
    mcp_answers_only_allowed_hosts,
    rss_stays_under_64_mib_with_150_parallel_logins,
);

const SECRET: (&str, &str) = ("AUTH_SECRET", "a-test-secret-with-enough-length");
const JSON_RPC_ACCEPT: &str = "application/json, text/event-stream";

/// An answer read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A 4xx answer whose body is an error in JSON: the API's `{"error":{"code","message"}}` or a
    /// JSON-RPC error object.
    pub fn is_4xx_json_error(&self) -> bool {
        let body = self.json();
        (400..500).contains(&self.status)
            && self
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
            && (body["error"]["code"].is_string() || body["error"]["code"].is_i64())
            && body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
    }

    /// The API error code, or the JSON-RPC error code as text.
    pub fn code(&self) -> String {
        let code = &self.json()["error"]["code"];
        code.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| code.to_string())
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` as they are, with
/// `Connection: close`, and reads the whole answer.
pub async fn raw(app: &TestApp, head: &str, body: &[u8]) -> Raw {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    // The server may answer and close before reading everything (413): a failed write is fine.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    parse_answer(&answer).unwrap_or_else(|| {
        panic!(
            "no HTTP answer to {head:?}: {:?}",
            String::from_utf8_lossy(&answer)
        )
    })
}

fn parse_answer(bytes: &[u8]) -> Option<Raw> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Some(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        out.extend_from_slice(&rest[start..end]);
        rest = &rest[(end + 2).min(rest.len())..];
    }
    out
}

/// A JSON request head for `path` with a body of `len` bytes.
fn json_head(method: &str, path: &str, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len}"
    )
}

/// One hostile request and what it must get.
struct Case {
    name: &'static str,
    head: String,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn get(name: &'static str, path: &str, status: u16, code: &'static str) -> Case {
    Case {
        name,
        head: format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1"),
        body: Vec::new(),
        status,
        code,
    }
}

fn with_json(
    name: &'static str,
    method: &str,
    path: &str,
    body: &Value,
    status: u16,
    code: &'static str,
) -> Case {
    let body = body.to_string().into_bytes();
    Case {
        name,
        head: json_head(method, path, body.len()),
        body,
        status,
        code,
    }
}

fn mcp(
    name: &'static str,
    extra_headers: &str,
    body: &[u8],
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        head: format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {JSON_RPC_ACCEPT}\r\nContent-Type: application/json\r\nContent-Length: {}{extra_headers}",
            body.len()
        ),
        body: body.to_vec(),
        status,
        code,
    }
}

/// A chunked body of `total` bytes of JSON-ish text in 8 KiB chunks.
fn chunked(total: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut left = total;
    while left > 0 {
        let n = left.min(8192);
        body.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b' ', n));
        body.extend_from_slice(b"\r\n");
        left -= n;
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

/// The requests of a client that probes the open API.
fn open_api_cases(task_id: i64) -> Vec<Case> {
    let nul = "a\u{0}b";
    let over = 70 * 1024;
    vec![
        get("user id '.'", "/api/./tasks", 422, "invalid_user_id"),
        get("user id '..'", "/api/../tasks", 422, "invalid_user_id"),
        get("user id '%2e%2e'", "/api/%2e%2e/tasks", 422, "invalid_user_id"),
        get("user id '%2E.'", "/api/%2E./tasks", 422, "invalid_user_id"),
        get("user id '...'", "/api/.../tasks", 422, "invalid_user_id"),
        get("user id with NUL", "/api/a%00b/tasks", 422, "invalid_user_id"),
        get("user id with ESC", "/api/a%1Bb/tasks", 422, "invalid_user_id"),
        get("task id '+1'", "/api/demo/tasks/+1", 422, "invalid_task_id"),
        get("task id '%2B1'", "/api/demo/tasks/%2B1", 422, "invalid_task_id"),
        get("task id '01'", &format!("/api/demo/tasks/0{task_id}"), 422, "invalid_task_id"),
        get("task id ' 1'", "/api/demo/tasks/%201", 422, "invalid_task_id"),
        Case {
            name: "complete '+1'",
            head: "PATCH /api/demo/tasks/+1/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0".into(),
            body: Vec::new(),
            status: 422,
            code: "invalid_task_id",
        },
        Case {
            name: "delete '00'",
            head: "DELETE /api/demo/tasks/00 HTTP/1.1\r\nHost: 127.0.0.1".into(),
            body: Vec::new(),
            status: 422,
            code: "invalid_task_id",
        },
        get("conversation id '+1'", "/api/demo/conversations/+1/messages", 422, "invalid_conversation_id"),
        // Requests hyper cannot parse, answered by hyper itself before any route.
        Case {
            name: "not an HTTP request line",
            head: "GARBAGE".into(),
            body: Vec::new(),
            status: 400,
            code: "bad_request",
        },
        Case {
            name: "Content-Length beyond u64",
            head: "POST /api/demo/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999".into(),
            body: b"{}".to_vec(),
            status: 400,
            code: "bad_request",
        },
        get("a 70 KiB path", &format!("/{}", "a".repeat(70 * 1024)), 414, "uri_too_long"),
        Case {
            name: "200 headers",
            head: (0..200).fold("GET /health HTTP/1.1\r\nHost: 127.0.0.1".to_owned(), |h, i| {
                format!("{h}\r\nX-H{i}: 1")
            }),
            body: Vec::new(),
            status: 431,
            code: "headers_too_large",
        },
        get("limit given twice", "/api/demo/tasks?limit=1&limit=2", 422, "invalid_query"),
        get("status given twice", "/api/demo/tasks?status=all&status=pending", 422, "invalid_query"),
        Case {
            name: "complete body over 64 KiB, chunked",
            head: format!("PATCH /api/demo/tasks/{task_id}/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"),
            body: chunked(over),
            status: 413,
            code: "payload_too_large",
        },
        Case {
            name: "complete body with a broken chunk",
            head: format!("PATCH /api/demo/tasks/{task_id}/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"),
            body: b"zz\r\n{}\r\n0\r\n\r\n".to_vec(),
            status: 400,
            code: "bad_request",
        },
        with_json("title with NUL", "POST", "/api/demo/tasks", &json!({ "title": nul }), 422, "invalid_title"),
        with_json("title with ESC", "POST", "/api/demo/tasks", &json!({ "title": "a\u{1b}[2Jb" }), 422, "invalid_title"),
        with_json("description with NUL", "POST", "/api/demo/tasks", &json!({ "title": "t", "description": nul }), 422, "invalid_description"),
        with_json("description with BEL", "POST", "/api/demo/tasks", &json!({ "title": "t", "description": "x\u{7}" }), 422, "invalid_description"),
        with_json("new title with NUL", "PUT", &format!("/api/demo/tasks/{task_id}"), &json!({ "title": nul }), 422, "invalid_title"),
        with_json("new description with NUL", "PUT", &format!("/api/demo/tasks/{task_id}"), &json!({ "description": nul }), 422, "invalid_description"),
        with_json("chat message with NUL", "POST", "/api/demo/chat", &json!({ "message": nul }), 422, "invalid_message"),
        with_json("chat message with C1", "POST", "/api/demo/chat", &json!({ "message": "x\u{85}y" }), 422, "invalid_message"),
        Case {
            name: "/mcp body over 64 KiB, chunked",
            head: format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {JSON_RPC_ACCEPT}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
            ),
            body: chunked(over),
            status: 413,
            code: "payload_too_large",
        },
        mcp("/mcp body over 64 KiB, Content-Length", "", &vec![b' '; over], 413, "payload_too_large"),
        mcp("/mcp malformed JSON", "", b"{\"jsonrpc\":", 400, "-32700"),
        mcp("/mcp empty body", "", b"", 400, "-32700"),
        mcp("/mcp not JSON-RPC", "", b"{\"hello\":\"world\"}", 400, "-32600"),
        mcp("/mcp a batch", "", b"[]", 400, "-32600"),
        mcp("/mcp wrong version", "", b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", 400, "-32600"),
        mcp("/mcp a key given twice", "", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"tools/list\"}", 400, "-32600"),
        Case {
            name: "/mcp without Accept",
            head: "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2".into(),
            body: b"{}".to_vec(),
            status: 406,
            code: "not_acceptable",
        },
        Case {
            name: "/mcp as text/plain",
            head: format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {JSON_RPC_ACCEPT}\r\nContent-Type: text/plain\r\nContent-Length: 2"),
            body: b"{}".to_vec(),
            status: 415,
            code: "unsupported_media_type",
        },
        get("GET /mcp", "/mcp", 405, "method_not_allowed"),
        Case {
            name: "DELETE /mcp",
            head: "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1".into(),
            body: Vec::new(),
            status: 405,
            code: "method_not_allowed",
        },
        Case {
            name: "/mcp for Host evil.example",
            head: format!("POST /mcp HTTP/1.1\r\nHost: evil.example\r\nAccept: {JSON_RPC_ACCEPT}\r\nContent-Type: application/json\r\nContent-Length: 2"),
            body: b"{}".to_vec(),
            status: 403,
            code: "host_not_allowed",
        },
    ]
}

/// The requests of a client that probes sign-up and log-in (auth on).
fn auth_cases() -> Vec<Case> {
    let signup = |name, email: &str, password: &str, code| {
        with_json(
            name,
            "POST",
            "/auth/signup",
            &json!({ "email": email, "password": password }),
            422,
            code,
        )
    };
    let login = |name, email: &str, password: &str, code| {
        with_json(
            name,
            "POST",
            "/auth/login",
            &json!({ "email": email, "password": password }),
            422,
            code,
        )
    };
    vec![
        signup("sign-up email 'a@.'", "a@.", "long enough", "invalid_email"),
        signup(
            "sign-up email 'x@b.'",
            "x@b.",
            "long enough",
            "invalid_email",
        ),
        signup(
            "sign-up email '..@..'",
            "..@..",
            "long enough",
            "invalid_email",
        ),
        signup(
            "sign-up email '.a@b.co'",
            ".a@b.co",
            "long enough",
            "invalid_email",
        ),
        signup(
            "sign-up email with NUL",
            "a\u{0}@b.co",
            "long enough",
            "invalid_email",
        ),
        signup(
            "sign-up password with NUL",
            "p@b.co",
            "long\u{0}enough",
            "invalid_password",
        ),
        signup(
            "sign-up password with ESC",
            "p@b.co",
            "long\u{1b}enough",
            "invalid_password",
        ),
        login(
            "log-in email with NUL",
            "a\u{0}@b.co",
            "long enough",
            "invalid_email",
        ),
        login(
            "log-in password with NUL",
            "a@b.co",
            "long\u{0}enough",
            "invalid_password",
        ),
        Case {
            name: "Basic instead of Bearer",
            head: "GET /api/a@b.co/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YTpi"
                .into(),
            body: Vec::new(),
            status: 401,
            code: "unauthorized",
        },
        mcp(
            "/mcp without a token",
            "",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            401,
            "unauthorized",
        ),
    ]
}

/// Runs the cases and returns how many were answered with a 4xx JSON error.
async fn run_cases(app: &TestApp, cases: &[Case]) -> usize {
    let mut json_4xx = 0;
    for case in cases {
        let answer = raw(app, &case.head, &case.body).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (case.status, case.code),
            "{}: {answer:?} body {}",
            case.name,
            String::from_utf8_lossy(&answer.body)
        );
        if answer.is_4xx_json_error() {
            json_4xx += 1;
        }
        if case.status == 405 {
            assert_eq!(answer.header("allow"), Some("POST"), "{}", case.name);
        }
    }
    json_4xx
}

/// Every hostile input gets its 4xx status and code in JSON, and the app keeps serving.
async fn hostile_inputs_answer_4xx_json(db: Db) {
    let Some(open) = spawn_app(db).await else {
        return;
    };
    let task = open.create_task("demo", "exists").await;
    let id = task["id"].as_i64().expect("id");
    let open_cases = open_api_cases(id);
    let mut answered = run_cases(&open, &open_cases).await;
    let Some(guarded) = spawn_app_with(db, &[SECRET]).await else {
        return;
    };
    let guarded_cases = auth_cases();
    answered += run_cases(&guarded, &guarded_cases).await;
    let tried = open_cases.len() + guarded_cases.len();
    println!(
        "hostile inputs ({db:?}): {tried} tried, {answered} answered with a 4xx JSON error ({}%)",
        answered * 100 / tried
    );
    assert_eq!(answered, tried);
    // Nothing above created or changed a task, and the app still answers.
    let tasks: Value = open
        .get("/api/demo/tasks")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(tasks, json!([task]));
    assert_eq!(open.get("/health").await.status(), 200);
}

/// NUL and other control characters get the same 422 on both engines through every door (REST,
/// chat, MCP, sign-up), and nothing is stored.
async fn control_characters_get_the_same_422_and_store_nothing(db: Db) {
    let Some(app) = spawn_app(db).await else {
        return;
    };
    for title in ["a\u{0}b", "tab\there", "bell\u{7}", "del\u{7f}", "c1\u{9b}"] {
        let res = app
            .post_json("/api/demo/tasks", &json!({ "title": title }))
            .await;
        assert_eq!(error_code(res, 422).await, "invalid_title", "{title:?}");
    }
    let res = app
        .post_json("/api/demo/chat", &json!({ "message": "add x\u{0}y" }))
        .await;
    assert_eq!(error_code(res, 422).await, "invalid_message");
    // Multi-line text keeps its line breaks and tabs.
    let res = app
        .post_json(
            "/api/demo/tasks",
            &json!({ "title": "lines", "description": "one\r\ntwo\tthree" }),
        )
        .await;
    assert_eq!(res.status(), 201);

    let client = connect(&app, None).await.expect("initialize");
    let added = call(
        &client,
        "add_task",
        json!({ "user_id": "demo", "title": "x\u{0}y" }),
    )
    .await
    .expect("a tool error, not a protocol error");
    assert_eq!(added["isError"], true, "{added}");
    assert!(
        call(&client, "list_tasks", json!({ "user_id": ".." }))
            .await
            .is_err(),
        "user id '..' refused over MCP"
    );
    client.cancel().await.expect("close");

    let tasks: Value = app.get("/api/demo/tasks").await.json().await.expect("json");
    let titles: Vec<&str> = tasks
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(titles, ["lines"]);
    let conversations: Value = app
        .get("/api/demo/conversations")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(conversations, json!([]));
}

/// A turn whose model fails stores neither a conversation nor a message, new or continued.
async fn a_failed_chat_turn_writes_nothing(db: Db) {
    let model = FakeModel::start(Behaviour::Fail(500)).await;
    let Some(app) = spawn_app_with(
        db,
        &[
            ("AGENT", "openai"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &model.base_url),
        ],
    )
    .await
    else {
        return;
    };
    for _ in 0..3 {
        let res = app
            .post_json("/api/demo/chat", &json!({ "message": "hello" }))
            .await;
        assert_eq!(error_code(res, 502).await, "model_error");
    }
    let conversations: Value = app
        .get("/api/demo/conversations")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        conversations,
        json!([]),
        "no empty conversation left behind"
    );

    // A conversation made by a turn that worked keeps exactly its messages after a failed one.
    let Some(rules) = spawn_app(db).await else {
        return;
    };
    let first: Value = rules
        .post_json("/api/demo/chat", &json!({ "message": "add buy milk" }))
        .await
        .json()
        .await
        .expect("json");
    let id = first["conversation_id"].as_i64().expect("conversation id");
    let path = format!("/api/demo/conversations/{id}/messages");
    let before: Value = rules.get(&path).await.json().await.expect("json");
    let res = rules
        .post_json(
            "/api/demo/chat",
            &json!({ "message": "x\u{0}", "conversation_id": id }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "invalid_message");
    let after: Value = rules.get(&path).await.json().await.expect("json");
    assert_eq!(before, after);
    assert_eq!(
        before.as_array().map(Vec::len),
        Some(3),
        "user message, tool record, reply: {before}"
    );
}

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    client: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(addr) = client {
        req = req.header("x-forwarded-for", addr);
    }
    req.send().await.expect("login")
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in {:?}", res.headers()))
}

/// Failed logins are counted per account and per client address; the address comes from
/// `X-Forwarded-For` only when the peer is a trusted proxy (loopback is one by default).
async fn failed_logins_are_limited_per_account_and_per_address(db: Db) {
    let limits = [
        SECRET,
        ("LOGIN_FAILURES_PER_ACCOUNT", "3"),
        ("LOGIN_FAILURES_PER_ADDRESS", "5"),
        ("LOGIN_FAILURE_WINDOW_SECS", "600"),
    ];
    let Some(app) = spawn_app_with(db, &limits).await else {
        return;
    };
    let alice = json!({ "email": "alice@example.com", "password": "correct horse" });
    assert_eq!(app.post_json("/auth/signup", &alice).await.status(), 201);
    let a = Some("203.0.113.1");
    for _ in 0..3 {
        let res = login(&app, "alice@example.com", "wrong horse", a).await;
        assert_eq!(error_code(res, 401).await, "unauthorized");
    }
    // The account is locked for everyone, even with the right password, for window / limit.
    let res = login(
        &app,
        "alice@example.com",
        "correct horse",
        Some("198.51.100.9"),
    )
    .await;
    let wait = retry_after(&res);
    assert!((190..=201).contains(&wait), "Retry-After {wait}");
    assert_eq!(error_code(res, 429).await, "too_many_requests");
    // Address a has 3 failures: two more on other accounts, then it is locked too.
    for email in ["bob@example.com", "carol@example.com"] {
        let res = login(&app, email, "whatever1", a).await;
        assert_eq!(error_code(res, 401).await, "unauthorized");
    }
    let res = login(&app, "dave@example.com", "whatever1", a).await;
    assert!(retry_after(&res) >= 1);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_requests");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("address")),
        "{body}"
    );
    // Another address is not affected; a client-supplied entry left of the proxy's does not
    // help the locked one.
    let res = login(&app, "dave@example.com", "whatever1", Some("203.0.113.2")).await;
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = login(
        &app,
        "dave@example.com",
        "whatever1",
        Some("192.0.2.7, 203.0.113.1"),
    )
    .await;
    assert_eq!(error_code(res, 429).await, "too_many_requests");

    // With no trusted proxy the header is ignored: every attempt counts for the peer.
    let Some(strict) = spawn_app_with(
        db,
        &[
            SECRET,
            ("LOGIN_FAILURES_PER_ADDRESS", "2"),
            ("TRUSTED_PROXIES", "none"),
        ],
    )
    .await
    else {
        return;
    };
    for addr in ["192.0.2.1", "192.0.2.2"] {
        let res = login(&strict, "eve@example.com", "whatever1", Some(addr)).await;
        assert_eq!(error_code(res, 401).await, "unauthorized");
    }
    let res = login(
        &strict,
        "mallory@example.com",
        "whatever1",
        Some("192.0.2.3"),
    )
    .await;
    assert_eq!(error_code(res, 429).await, "too_many_requests");
}

async fn signup_from(app: &TestApp, email: &str, client: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/signup"))
        .header("x-forwarded-for", client)
        .json(&json!({ "email": email, "password": "correct horse" }))
        .send()
        .await
        .expect("sign-up")
}

/// Sign-ups that reach the hash (created or `409`) are counted per client address; a refused
/// one is `429` JSON with `Retry-After`, before any hash, and creates nothing. Log-ins from the
/// address and sign-ups from other addresses go on.
async fn sign_ups_are_limited_per_address(db: Db) {
    let Some(app) = spawn_app_with(
        db,
        &[
            SECRET,
            ("SIGNUPS_PER_ADDRESS", "3"),
            ("LOGIN_FAILURE_WINDOW_SECS", "600"),
        ],
    )
    .await
    else {
        return;
    };
    let a = "203.0.113.1";
    assert_eq!(signup_from(&app, "a1@example.com", a).await.status(), 201);
    assert_eq!(signup_from(&app, "a2@example.com", a).await.status(), 201);
    // A taken email counts too: it says whether the email has an account.
    let res = signup_from(&app, "a1@example.com", a).await;
    assert_eq!(error_code(res, 409).await, "email_taken");
    // Refused input does not reach the hash and does not count; the fourth real attempt does.
    let res = app
        .client
        .post(app.url("/auth/signup"))
        .header("x-forwarded-for", a)
        .json(&json!({ "email": "a@.", "password": "correct horse" }))
        .send()
        .await
        .expect("sign-up");
    assert_eq!(res.status(), 422);
    let res = signup_from(&app, "a3@example.com", a).await;
    let wait = retry_after(&res);
    assert!((190..=201).contains(&wait), "Retry-After {wait}");
    assert_eq!(error_code(res, 429).await, "too_many_requests");
    let res = login(&app, "a3@example.com", "correct horse", None).await;
    assert_eq!(error_code(res, 401).await, "unauthorized", "not created");
    // The address may still log in; another address may still sign up.
    let res = login(&app, "a2@example.com", "correct horse", Some(a)).await;
    assert_eq!(res.status(), 200);
    let res = signup_from(&app, "b1@example.com", "203.0.113.2").await;
    assert_eq!(res.status(), 201);
    // A loopback client (the test's own connection, no forwarding header: the operator's tools
    // through a port-forward) is not limited.
    for n in 0..5 {
        let creds =
            json!({ "email": format!("local{n}@example.com"), "password": "correct horse" });
        assert_eq!(app.post_json("/auth/signup", &creds).await.status(), 201);
    }
}

/// With one hashing slot and no wait, parallel logins that find it taken get 503 `busy` with
/// `Retry-After`, in JSON; the others are answered normally.
async fn busy_hashing_answers_503_with_retry_after(db: Db) {
    let Some(app) = spawn_app_with(
        db,
        &[
            SECRET,
            ("PASSWORD_HASH_CONCURRENCY", "1"),
            ("PASSWORD_HASH_WAIT_MS", "0"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("LOGIN_FAILURES_PER_ADDRESS", "0"),
        ],
    )
    .await
    else {
        return;
    };
    let attempts = (0..24).map(|i| {
        let app = &app;
        async move { login(app, &format!("u{i}@example.com"), "whatever1", None).await }
    });
    let answers = futures_join_all(attempts).await;
    let (mut busy, mut wrong) = (0, 0);
    for res in answers {
        match res.status().as_u16() {
            503 => {
                assert!(retry_after(&res) >= 1);
                assert_eq!(error_code(res, 503).await, "busy");
                busy += 1;
            }
            401 => {
                assert_eq!(error_code(res, 401).await, "unauthorized");
                wrong += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(busy > 0 && wrong > 0, "busy {busy}, wrong {wrong}");
}

/// Runs futures concurrently on the current task and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A wrong password for a known email and any password for an unknown one take the same time:
/// the medians differ by less than 20%.
async fn login_time_does_not_reveal_whether_an_account_exists(db: Db) {
    let Some(app) = spawn_app_with(
        db,
        &[
            SECRET,
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("LOGIN_FAILURES_PER_ADDRESS", "0"),
        ],
    )
    .await
    else {
        return;
    };
    let known = json!({ "email": "known@example.com", "password": "correct horse" });
    assert_eq!(app.post_json("/auth/signup", &known).await.status(), 201);
    let time = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let res = login(app, email, "wrong horse", None).await;
            let took = started.elapsed();
            assert_eq!(res.status(), 401);
            took
        }
    };
    for _ in 0..2 {
        time("known@example.com").await;
        time("nobody@example.com").await;
    }
    // The machine is shared and noisy: up to three measurements, each of 31 interleaved pairs.
    // A real leak (a skipped hash is ~50x faster) fails all three; noise rarely fails one.
    let mut ratios = Vec::new();
    for _ in 0..3 {
        let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
        for round in 0..31 {
            // Alternate the order so drift in the machine's load hits both alike.
            if round % 2 == 0 {
                known_times.push(time("known@example.com").await);
                unknown_times.push(time("nobody@example.com").await);
            } else {
                unknown_times.push(time("nobody@example.com").await);
                known_times.push(time("known@example.com").await);
            }
        }
        let (k, u) = (median(known_times), median(unknown_times));
        let ratio = k.as_secs_f64().max(u.as_secs_f64()) / k.as_secs_f64().min(u.as_secs_f64());
        println!("login medians ({db:?}): known {k:?}, unknown {u:?}, ratio {ratio:.3}");
        assert!(
            ratio < 3.0,
            "known {k:?} vs unknown {u:?}: ratio {ratio:.3}"
        );
        ratios.push(ratio);
        if ratio < 1.2 {
            return;
        }
    }
    panic!("login medians differ by 20% or more in every measurement: ratios {ratios:?}");
}

/// `Authorization` accepts the scheme in any case; a token expired more than 5 s ago is refused.
async fn bearer_scheme_is_case_insensitive_and_expiry_leeway_is_small(db: Db) {
    let Some(app) = spawn_app_with(db, &[SECRET]).await else {
        return;
    };
    let creds = json!({ "email": "case@example.com", "password": "correct horse" });
    let signed: Value = app
        .post_json("/auth/signup", &creds)
        .await
        .json()
        .await
        .expect("json");
    let token = signed["token"].as_str().expect("token");
    let tasks = app.url("/api/case@example.com/tasks");
    let with = |value: String| {
        let req = app.client.get(&tasks).header("authorization", value);
        async move { req.send().await.expect("send") }
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        assert_eq!(
            with(format!("{scheme} {token}")).await.status(),
            200,
            "{scheme}"
        );
    }
    assert_eq!(with(format!("Bearer   {token}  ")).await.status(), 200);
    // The path's user id is compared as decoded, like the handlers see it.
    let encoded = app
        .client
        .get(app.url("/api/case%40example.com/tasks"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(encoded.status(), 200);
    for bad in [
        format!("Basic {token}"),
        format!("Bearer{token}"),
        "Bearer".into(),
        String::new(),
    ] {
        let res = with(bad.clone()).await;
        assert_eq!(error_code(res, 401).await, "unauthorized", "{bad:?}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let make = |exp: u64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({ "sub": "case@example.com", "iat": now - 3600, "exp": exp }),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.1.as_bytes()),
        )
        .expect("encode")
    };
    assert_eq!(
        with(format!("Bearer {}", make(now - 2))).await.status(),
        200
    );
    let res = with(format!("Bearer {}", make(now - 10))).await;
    assert_eq!(
        error_code(res, 401).await,
        "unauthorized",
        "10 s past expiry"
    );
}

/// `/mcp` answers localhost, IP addresses and in-cluster Service names by default, plus the names
/// in `MCP_ALLOWED_HOSTS`; any other `Host` gets 403 in JSON.
async fn mcp_answers_only_allowed_hosts(db: Db) {
    let Some(app) = spawn_app_with(db, &[("MCP_ALLOWED_HOSTS", "mcp.example.com")]).await else {
        return;
    };
    let ping = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    let ask = |host: &str| {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAccept: {JSON_RPC_ACCEPT}\r\nContent-Type: application/json\r\nContent-Length: {}",
            ping.len()
        )
    };
    for host in [
        "localhost:8000",
        "127.0.0.1",
        "[::1]:8000",
        "todo-chatbot-backend:8000",
        "todo-chatbot-backend.todo.svc.cluster.local:8000",
        "mcp.example.com",
    ] {
        let answer = raw(&app, &ask(host), ping).await;
        assert_eq!(answer.status, 200, "{host}: {answer:?}");
        assert_eq!(answer.json()["id"], 1, "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:8000",
        "todo.svc.cluster.local.evil.example",
    ] {
        let answer = raw(&app, &ask(host), ping).await;
        assert!(answer.is_4xx_json_error(), "{host}: {answer:?}");
        assert_eq!(
            (answer.status, answer.code()),
            (403, "host_not_allowed".into()),
            "{host}"
        );
    }
    // The REST API is not behind the allow-list (the frontend reaches it by Service name).
    let answer = raw(
        &app,
        "GET /api/demo/tasks HTTP/1.1\r\nHost: evil.example",
        b"",
    )
    .await;
    assert_eq!(answer.status, 200);
}

/// Kibibytes of a `/proc/PID/status` field.
#[cfg(target_os = "linux")]
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// The real binary under 150 parallel wrong-password logins, twice: the peak resident memory
/// stays under 64 MiB, every answer is 401 or 503 `busy` with `Retry-After`.
#[cfg(target_os = "linux")]
async fn rss_stays_under_64_mib_with_150_parallel_logins(db: Db) {
    todo_backend::startup::install_crypto_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(url) = database_url(db, &dir).await else {
        return;
    };
    let server = crate::process::Server::start(&[
        SECRET,
        ("DATABASE_URL", &url),
        ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
        ("LOGIN_FAILURES_PER_ADDRESS", "0"),
    ]);
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let signup = client
        .post(format!("{}/auth/signup", server.address))
        .json(&json!({ "email": "victim@example.com", "password": "correct horse" }))
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status(), 201);
    let start_kib = proc_kib(pid, "VmRSS:");
    let mut report = Vec::new();
    for wave in 1..=2 {
        let attempts = (0..150).map(|_| {
            let req = client
                .post(format!("{}/auth/login", server.address))
                .json(&json!({ "email": "victim@example.com", "password": "wrong horse" }));
            async move { req.send().await.expect("login") }
        });
        let (mut wrong, mut busy) = (0, 0);
        for res in futures_join_all(attempts).await {
            match res.status().as_u16() {
                401 => wrong += 1,
                503 => {
                    assert!(retry_after(&res) >= 1);
                    busy += 1;
                }
                other => panic!("unexpected status {other}"),
            }
            let body: Value = res.json().await.expect("JSON error body");
            assert!(body["error"]["code"].is_string(), "{body}");
        }
        let peak = proc_kib(pid, "VmHWM:");
        let now = proc_kib(pid, "VmRSS:");
        report.push(format!(
            "wave {wave}: {wrong} x 401, {busy} x 503; RSS now {:.1} MiB, peak {:.1} MiB",
            now as f64 / 1024.0,
            peak as f64 / 1024.0
        ));
        assert!(wrong > 0, "some logins must have been hashed");
    }
    let peak = proc_kib(pid, "VmHWM:");
    println!(
        "RSS under 150 parallel logins ({db:?}): start {:.1} MiB; {}",
        start_kib as f64 / 1024.0,
        report.join("; ")
    );
    server.signal("TERM");
    let (code, log) = tokio::task::spawn_blocking(move || server.wait(Duration::from_secs(30)))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{log:#?}");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB is not under 64 MiB");
}

#[cfg(not(target_os = "linux"))]
async fn rss_stays_under_64_mib_with_150_parallel_logins(_db: Db) {
    testkit::require(
        "/proc (Linux), to read the resident memory of a process",
        false,
        "run this test on Linux",
    );
}
