//! Stopping an app under load: keep-alive clients hammer it, the test sends SIGTERM, and every
//! request is counted by when it started relative to the signal.
//!
//! Used by both apps' process tests and by `examples/sigterm_load.rs`, which measures a built
//! binary (the figures in docs/benchmarks.md).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// The connection was refused: nothing listened any more.
    Refused,
    /// Any other failure: a reset or closed connection, a timeout, a non-2xx status.
    Failed,
}

/// Counts of outcomes in one period.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub refused: u64,
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// The requests of a run, by when they started.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Started before the signal.
    pub before: Counts,
    /// Started within the shutdown window after the signal (the delay, less a margin).
    pub during: Counts,
    /// Started after the window, while the app drains and exits.
    pub after: Counts,
    /// When `/ready` first answered something other than 200 after the signal, and what.
    pub ready_failed_after: Option<(Duration, String)>,
    /// The first few failures in the window, for the assertion message.
    pub examples: Vec<String>,
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Base URL of the app, `http://127.0.0.1:PORT`.
    pub base: String,
    /// The path each client requests again and again.
    pub path: String,
    pub clients: usize,
    /// Load before the signal.
    pub warm_up: Duration,
    /// The window after the signal in which every request must succeed.
    pub window: Duration,
    /// Load after the window (so refusals after it are seen too).
    pub tail: Duration,
}

/// Runs the plan: `signal` is called once after the warm-up.
pub async fn run(plan: &Plan, signal: impl FnOnce()) -> Report {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..plan.clients {
        let mut client = Client::new(&plan.base);
        let path = plan.path.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let (outcome, detail) = client.get(&path).await;
                seen.push((started, outcome, detail));
                if outcome == Outcome::Refused {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            seen
        }));
    }
    tokio::time::sleep(plan.warm_up).await;
    let signalled = Instant::now();
    signal();
    let ready = tokio::spawn(watch_ready(plan.base.clone(), signalled));
    tokio::time::sleep(plan.window + plan.tail).await;
    stop.store(true, Ordering::SeqCst);
    let mut report = Report::default();
    for t in tasks {
        for (started, outcome, detail) in t.await.unwrap_or_default() {
            let bucket = if started < signalled {
                &mut report.before
            } else if started < signalled + plan.window {
                if outcome != Outcome::Ok && report.examples.len() < 5 {
                    report.examples.push(detail);
                }
                &mut report.during
            } else {
                &mut report.after
            };
            bucket.add(outcome);
        }
    }
    ready.abort();
    report.ready_failed_after = ready.await.ok().flatten();
    report
}

/// One keep-alive HTTP/1.1 client: reuses its connection until the server closes it or asks to
/// (`Connection: close`), and never retries.
pub struct Client {
    authority: String,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// `base` is `http://HOST:PORT`.
    pub fn new(base: &str) -> Self {
        Self {
            authority: base.trim_start_matches("http://").to_owned(),
            conn: None,
        }
    }

    /// GETs `path`; the outcome and, for a failure, what happened.
    pub async fn get(&mut self, path: &str) -> (Outcome, String) {
        match tokio::time::timeout(Duration::from_secs(10), self.exchange(path)).await {
            Ok(Ok((status, close))) => {
                if close {
                    self.conn = None;
                }
                if (200..300).contains(&status) {
                    (Outcome::Ok, String::new())
                } else {
                    (Outcome::Failed, format!("status {status}"))
                }
            }
            Ok(Err((outcome, detail))) => {
                self.conn = None;
                (outcome, detail)
            }
            Err(_) => {
                self.conn = None;
                (Outcome::Failed, "no answer within 10 s".into())
            }
        }
    }

    async fn exchange(&mut self, path: &str) -> Result<(u16, bool), (Outcome, String)> {
        let failed = |what: &str, e: std::io::Error| (Outcome::Failed, format!("{what}: {e}"));
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.authority).await.map_err(|e| {
                let outcome = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    Outcome::Refused
                } else {
                    Outcome::Failed
                };
                (outcome, format!("connect: {e}"))
            })?;
            let _ = stream.set_nodelay(true);
            self.conn = Some(BufReader::new(stream));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err((Outcome::Failed, "no connection".into()));
        };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.authority);
        conn.get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(|e| failed("write", e))?;
        let mut status = None;
        let mut length = None;
        let mut close = false;
        loop {
            let mut line = String::new();
            let n = conn
                .read_line(&mut line)
                .await
                .map_err(|e| failed("read", e))?;
            if n == 0 {
                return Err((Outcome::Failed, "closed before the answer".into()));
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if status.is_none() {
                status = line.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok());
                continue;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            } else if let Some(v) = lower.strip_prefix("connection:") {
                close = v.contains("close");
            }
        }
        let (Some(status), Some(length)) = (status, length) else {
            return Err((Outcome::Failed, "answer without status or length".into()));
        };
        let mut body = vec![0u8; length];
        conn.read_exact(&mut body)
            .await
            .map_err(|e| failed("read body", e))?;
        Ok((status, close))
    }
}

/// Polls `/ready` every 10 ms until it stops answering 200; says what it answered instead.
async fn watch_ready(base: String, since: Instant) -> Option<(Duration, String)> {
    let mut client = Client::new(&base);
    loop {
        let (outcome, detail) = client.get("/ready").await;
        if outcome != Outcome::Ok {
            return Some((since.elapsed(), detail));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Starts `binary` with `env` (plus `HOST=127.0.0.1` and `PORT`), output discarded, and waits
/// until `GET /health` answers 200. Returns the child and its base URL.
pub async fn start(binary: &Path, env: &[(&str, &str)]) -> std::io::Result<(Child, String)> {
    let port = free_port();
    let mut child = Command::new(binary)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if Client::new(&base).get("/health").await.0 == Outcome::Ok {
            return Ok((child, base));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(std::io::Error::other(format!(
        "{} did not answer {base}/health within 30 s",
        binary.display()
    )))
}

/// Sends SIGTERM to `child` with `kill` (no unsafe code needed).
pub fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Waits up to `within` for `child` to exit; kills it after that. Returns the exit code and
/// the time waited.
pub fn wait_exit(child: &mut Child, within: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return (status.code(), started.elapsed());
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            return (None, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
