//! The binary itself: configuration errors, the healthcheck subcommand, SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_todo-frontend");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn invalid_config_exits_2_naming_the_variable() {
    let out = Command::new(BIN)
        .env("BACKEND_URL", "ftp://x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BACKEND_URL") && err.contains("help:"),
        "{err}"
    );
}

#[test]
fn healthcheck_fails_with_one_line_when_nothing_answers() {
    let port = free_port();
    let out = Command::new(BIN)
        .args(["healthcheck"])
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}/health")), "{err}");
}

#[test]
fn serves_passes_its_healthcheck_and_exits_0_on_sigterm() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("BACKEND_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let ok = Command::new(BIN)
            .args(["healthcheck", &format!("http://127.0.0.1:{port}/health")])
            .status()
            .unwrap()
            .success();
        if ok {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never became healthy"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not exit within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}

/// Kubernetes keeps sending traffic to a terminating pod until its endpoints are removed: with
/// `SHUTDOWN_DELAY` set, 32 keep-alive clients see no refused connection and no failed request
/// during the delay, `/ready` answers 503 at once, and after the delay the port closes and the
/// process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_serves_through_the_delay_then_exits_0() {
    use testkit::load::{self, Plan};
    let delay = Duration::from_secs(2);
    let (mut child, base) = load::start(
        std::path::Path::new(BIN),
        &[
            ("SHUTDOWN_DELAY", "2"),
            ("BACKEND_URL", "http://127.0.0.1:9"),
        ],
    )
    .await
    .unwrap();
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
            .unwrap();
    assert!(report.before.ok > 0, "{report:?}");
    assert_eq!(
        (report.during.refused, report.during.failed),
        (0, 0),
        "{report:#?}"
    );
    assert!(report.during.ok > 0, "{report:?}");
    let (after, answer) = report.ready_failed_after.clone().unwrap();
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
    let (mut child, base) = load::start(
        std::path::Path::new(BIN),
        &[("BACKEND_URL", "http://127.0.0.1:9")],
    )
    .await
    .unwrap();
    let mut slow = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    load::sigterm(&child);
    let (code, waited) =
        tokio::task::spawn_blocking(move || load::wait_exit(&mut child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert_eq!(code, Some(0));
    assert!(
        waited < Duration::from_secs(25) / 5,
        "exit took {waited:?} with a half-sent request open"
    );
}
