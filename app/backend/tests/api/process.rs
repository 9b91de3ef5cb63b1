//! Tests of the real binary: exit codes, the healthcheck subcommand, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{Db, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_todo-backend");

/// A running `todo-backend` process with its stderr collected.
pub struct Server {
    pub child: Child,
    pub address: String,
    lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on a free port with JSON logs and waits for it to listen.
    pub fn start(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("t.db").display()),
            )
            .env("AGENT", "rules")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn todo-backend");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let address = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no 'listening' line; log so far: {log:#?}"));
            log.push(line.clone());
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if json["message"] == "listening" {
                break format!("http://{}", json["addr"].as_str().expect("addr field"));
            }
        };
        Self {
            child,
            address,
            lines,
            log,
            _dir: dir,
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for exit and returns the exit code with the whole log.
    pub fn wait(mut self, within: Duration) -> (Option<i32>, Vec<String>) {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.log.push(line);
                }
                return (status.code(), self.log);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "todo-backend did not exit within {within:?}; log: {:#?}",
                    self.log
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn invalid_configuration_exits_2_naming_the_variable() {
    for (var, value) in [
        ("PORT", "eighty"),
        ("AGENT", "gpt"),
        ("DATABASE_URL", "mysql://x"),
    ] {
        let out = Command::new(BIN)
            .env_clear()
            .env(var, value)
            .output()
            .expect("run todo-backend");
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var) && stderr.contains("help:"), "{stderr}");
    }
}

#[test]
fn unknown_argument_exits_2() {
    let out = Command::new(BIN).arg("serve-now").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn healthcheck_subcommand_exit_codes() {
    let Some(app) = spawn_app(Db::Sqlite).await else {
        return;
    };
    let run = |url: String| {
        Command::new(BIN)
            .args(["healthcheck", &url])
            .output()
            .expect("run healthcheck")
    };
    let ok = tokio::task::spawn_blocking({
        let url = app.url("/ready");
        move || run(url)
    })
    .await
    .expect("join");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let missing = tokio::task::spawn_blocking({
        let url = app.url("/nope");
        move || run(url)
    })
    .await
    .expect("join");
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("404") && stderr.lines().count() == 1,
        "{stderr}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = Command::new(BIN)
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .output()
        .expect("run");
    assert_eq!(down.status.code(), Some(1));
}

#[test]
fn sigterm_and_sigint_exit_0() {
    for signal in ["TERM", "INT"] {
        let server = Server::start(&[]);
        let status = Command::new(BIN)
            .args(["healthcheck", &format!("{}/health", server.address)])
            .status()
            .expect("healthcheck");
        assert!(status.success());
        server.signal(signal);
        let (code, log) = server.wait(Duration::from_secs(10));
        assert_eq!(code, Some(0), "SIG{signal}; log: {log:#?}");
        assert!(log.iter().any(|l| l.contains("stopped")), "{log:#?}");
    }
}

const KEY: &str = "sk-fake-secret-key-for-the-process-test";

/// SIGTERM while a chat turn waits for a slow model: the turn completes with 200, then the
/// process exits 0, and the API key never appears in its debug log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_slow_request_finishes_it_then_exits_0() {
    use crate::fake_model::{Behaviour, FakeModel};
    todo_backend::startup::install_crypto_provider();
    let model = FakeModel::start(Behaviour::Slow(Duration::from_millis(1500))).await;
    let server = Server::start(&[
        ("AGENT", "openai"),
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", &model.base_url),
        ("RUST_LOG", "debug"),
    ]);
    let request = reqwest::Client::new()
        .post(format!("{}/api/demo/chat", server.address))
        .json(&serde_json::json!({ "message": "add something slowly" }))
        .send();
    let pending = tokio::spawn(request);
    let started = std::time::Instant::now();
    while model.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the model was never called"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("TERM");
    let response = pending
        .await
        .expect("join")
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["response"], "Sorry for the wait, all done.");
    let (code, log) = tokio::task::spawn_blocking(move || server.wait(Duration::from_secs(15)))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{log:#?}");
    assert!(log.len() > 3, "debug log expected: {log:#?}");
    assert!(
        !log.iter().any(|l| l.contains(KEY)),
        "the key leaked into the log"
    );
}

/// Kubernetes keeps sending traffic to a terminating pod until its endpoints are removed: with
/// `SHUTDOWN_DELAY` set, 32 keep-alive clients see no refused connection and no failed request
/// during the delay, `/ready` answers 503 at once, and after the delay the port closes and the
/// process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_serves_through_the_delay_then_exits_0() {
    use testkit::load::{self, Plan};
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let delay = Duration::from_secs(2);
    let (mut child, base) = load::start(
        std::path::Path::new(BIN),
        &[
            ("SHUTDOWN_DELAY", "2"),
            ("DATABASE_URL", &db),
            ("AGENT", "rules"),
        ],
    )
    .await
    .expect("the backend starts");
    let plan = Plan {
        base,
        path: "/health".into(),
        clients: 32,
        warm_up: Duration::from_millis(500),
        // The delay less a margin for the signal's delivery.
        window: delay - Duration::from_millis(300),
        tail: Duration::from_millis(1500),
    };
    let report = load::run(&plan, || load::sigterm(&child)).await;
    let (code, _) =
        tokio::task::spawn_blocking(move || load::wait_exit(&mut child, Duration::from_secs(30)))
            .await
            .expect("join");
    assert!(report.before.ok > 0, "{report:?}");
    assert_eq!(
        (report.during.refused, report.during.failed),
        (0, 0),
        "{report:#?}"
    );
    assert!(report.during.ok > 0, "{report:?}");
    let (after, answer) = report.ready_failed_after.clone().expect("/ready failed");
    assert_eq!(answer, "status 503", "{report:?}");
    assert!(after < delay / 4, "/ready turned 503 only after {after:?}");
    assert!(
        report.after.refused > 0,
        "the port stayed open after the delay: {report:?}"
    );
    assert_eq!(code, Some(0));
}

/// One client that sent half a request head must not hold the shutdown: the process exits
/// within a fifth of the 25 s drain deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_half_sent_request_open_exits_at_once() {
    use testkit::load;
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let (mut child, base) = load::start(
        std::path::Path::new(BIN),
        &[("DATABASE_URL", &db), ("AGENT", "rules")],
    )
    .await
    .expect("the backend starts");
    let mut slow = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connect");
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    load::sigterm(&child);
    let (code, waited) =
        tokio::task::spawn_blocking(move || load::wait_exit(&mut child, Duration::from_secs(30)))
            .await
            .expect("join");
    assert_eq!(code, Some(0));
    assert!(
        waited < Duration::from_secs(25) / 5,
        "exit took {waited:?} with a half-sent request open"
    );
}
