//! The real backend and frontend, built once per test binary and started on free loopback
//! ports, for the stages that talk HTTP to the app (`verify`, `up`). A fake cluster's
//! port-forward points at them.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Paths of the two binaries, built with cargo into this test's own target directory.
fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        // CARGO_TARGET_TMPDIR is <target>/tmp: build next to this test binary, so nothing is
        // built twice.
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the tmp dir is inside the target dir")
            .to_path_buf();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "-p", "todo-backend", "-p", "todo-frontend"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "building the apps failed");
        let dir = target.join("debug");
        (dir.join("todo-backend"), dir.join("todo-frontend"))
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the loopback interface accepts a listener on port 0")
}

/// A running backend and frontend; both are stopped when dropped.
pub struct Apps {
    pub backend_port: u16,
    pub frontend_port: u16,
    children: Vec<Child>,
    _data: tempfile::TempDir,
}

impl Apps {
    pub fn start() -> Apps {
        Apps::start_with(&[])
    }

    /// Starts both apps with `backend_env` added to the backend's environment (e.g.
    /// `AUTH_SECRET`).
    pub fn start_with(backend_env: &[(&str, &str)]) -> Apps {
        let (backend, frontend) = binaries();
        let data = tempfile::tempdir().expect("tempdir");
        let backend_port = free_port();
        let frontend_port = free_port();
        let b = Command::new(backend)
            .env_clear()
            .env("PORT", backend_port.to_string())
            .env("HOST", "127.0.0.1")
            .env("AGENT", "rules")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", data.path().join("todo.db").display()),
            )
            .envs(backend_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("backend starts");
        let f = Command::new(frontend)
            .env_clear()
            .env("PORT", frontend_port.to_string())
            .env("HOST", "127.0.0.1")
            .env("BACKEND_URL", format!("http://127.0.0.1:{backend_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("frontend starts");
        let apps = Apps {
            backend_port,
            frontend_port,
            children: vec![b, f],
            _data: data,
        };
        for port in [backend_port, frontend_port] {
            wait_listening(port);
        }
        apps
    }
}

impl Drop for Apps {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_listening(port: u16) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port} after 30s");
}

/// `true` while the process `pid` exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}
