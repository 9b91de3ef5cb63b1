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
