//! Measures what clients see when an app binary gets SIGTERM under load.
//!
//! ```text
//! cargo build -p todo-backend -p todo-frontend
//! cargo run -p testkit --features load --example sigterm_load -- target/debug/todo-backend 5
//! cargo run -p testkit --features load --example sigterm_load -- target/debug/todo-frontend 5
//! ```
//!
//! Arguments: the binary and the shutdown delay in seconds (passed as `SHUTDOWN_DELAY`). 32
//! keep-alive clients request `/health` for 1 s, then the binary gets SIGTERM; requests are
//! counted by when they started: within the delay (less 0.2 s) or after it. The backend runs
//! on a throw-away SQLite file; the frontend points at a closed port (its `/health` does not
//! need the backend).
//!
//! With a third argument `half-sent` there is no load: one client sends half a request head
//! (`GET /health HTTP/1.1\r\nHost: x\r\n`) and stops, then the binary gets SIGTERM, and the
//! example prints how long the process took to exit.
//!
//! With `slow-client` there is no SIGTERM: one client sends half a request head and another a
//! `POST /api/demo/tasks` with a `Content-Length` of 100 and 9 bytes of body, and the example
//! prints how long the app kept each connection open (at most 200 s) and its first answer line.

use std::path::PathBuf;
use std::time::Duration;

use testkit::load::{self, Plan};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (binary, delay, half_sent) = match args.as_slice() {
        [binary, delay] => (binary, delay, false),
        [binary, delay, mode] if mode == "half-sent" => (binary, delay, true),
        [binary, delay, mode] if mode == "slow-client" => {
            return slow_clients(binary, delay).await;
        }
        _ => {
            eprintln!("usage: sigterm_load BINARY DELAY_SECS [half-sent|slow-client]");
            return std::process::ExitCode::from(2);
        }
    };
    let Ok(delay_secs) = delay.parse::<f64>() else {
        eprintln!("error: DELAY_SECS {delay:?} is not a number");
        return std::process::ExitCode::from(2);
    };
    let dir = std::env::temp_dir().join(format!("sigterm-load-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = format!("sqlite://{}", dir.join("t.db").display());
    let env = [
        ("SHUTDOWN_DELAY", delay.as_str()),
        ("DATABASE_URL", db.as_str()),
        ("AGENT", "rules"),
        ("BACKEND_URL", "http://127.0.0.1:9"),
    ];
    let (mut child, base) = match load::start(&PathBuf::from(binary), &env).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if half_sent {
        return half_sent_stop(binary, child, &base).await;
    }
    let window = Duration::from_secs_f64(delay_secs)
        .saturating_sub(Duration::from_millis(200))
        .max(Duration::from_millis(500));
    let plan = Plan {
        base,
        path: "/health".into(),
        clients: 32,
        warm_up: Duration::from_secs(1),
        window,
        tail: Duration::from_secs(1),
    };
    let report = load::run(&plan, || load::sigterm(&child)).await;
    let (code, waited) = load::wait_exit(&mut child, Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&dir);
    println!("binary: {binary}, SHUTDOWN_DELAY={delay}, 32 keep-alive clients on /health");
    println!(
        "before SIGTERM: {} ok, {} refused, {} failed",
        report.before.ok, report.before.refused, report.before.failed
    );
    println!(
        "first {:.1} s after SIGTERM: {} ok, {} refused, {} failed",
        window.as_secs_f64(),
        report.during.ok,
        report.during.refused,
        report.during.failed
    );
    println!(
        "later: {} ok, {} refused, {} failed",
        report.after.ok, report.after.refused, report.after.failed
    );
    match report.ready_failed_after {
        Some((d, what)) => println!("/ready: {what} {:.3} s after SIGTERM", d.as_secs_f64()),
        None => println!("/ready kept answering 200"),
    }
    println!(
        "exit code {code:?}, {:.2} s after the load stopped",
        waited.as_secs_f64()
    );
    for e in &report.examples {
        println!("  e.g. {e}");
    }
    std::process::ExitCode::SUCCESS
}

/// SIGTERM while one client has sent half a request head: the time until the process exits.
async fn half_sent_stop(
    binary: &str,
    mut child: std::process::Child,
    base: &str,
) -> std::process::ExitCode {
    use tokio::io::AsyncWriteExt;
    let Ok(mut slow) = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await
    else {
        eprintln!("error: cannot connect to {base}");
        return std::process::ExitCode::FAILURE;
    };
    let _ = slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    load::sigterm(&child);
    let (code, waited) = load::wait_exit(&mut child, Duration::from_secs(60));
    println!(
        "binary: {binary}, one half-sent request head open: exit code {code:?} {:.2} s after SIGTERM",
        waited.as_secs_f64()
    );
    std::process::ExitCode::SUCCESS
}

/// How long the app keeps a connection whose request never completes, and what it answers.
async fn slow_clients(binary: &str, delay: &str) -> std::process::ExitCode {
    let dir = std::env::temp_dir().join(format!("slow-client-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = format!("sqlite://{}", dir.join("t.db").display());
    // The frontend's short body reaches the backend only when one answers: set BACKEND_URL.
    let backend = std::env::var("BACKEND_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into());
    let env = [
        ("SHUTDOWN_DELAY", delay),
        ("DATABASE_URL", db.as_str()),
        ("AGENT", "rules"),
        ("BACKEND_URL", backend.as_str()),
    ];
    let (mut child, base) = match load::start(&PathBuf::from(binary), &env).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let authority = base.trim_start_matches("http://").to_owned();
    let probes: [(&str, &[u8]); 2] = [
        ("half-sent head", b"GET /health HTTP/1.1\r\nHost: x\r\n"),
        (
            "short body",
            b"POST /api/demo/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":",
        ),
    ];
    let runs = probes.map(|(name, raw)| {
        let authority = authority.clone();
        tokio::spawn(async move { (name, probe(&authority, raw).await) })
    });
    for run in runs {
        if let Ok((name, (held, first))) = run.await {
            println!("{binary}: {name}: connection held {held:.1} s, answer: {first}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    std::process::ExitCode::SUCCESS
}

async fn probe(authority: &str, raw: &[u8]) -> (f64, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(authority).await else {
        return (0.0, "connect failed".into());
    };
    let _ = s.write_all(raw).await;
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(200), s.read_to_end(&mut out)).await;
    let first = match read {
        Err(_) => "(still open after 200 s)".to_owned(),
        Ok(_) => String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("(closed without an answer)")
            .to_owned(),
    };
    (started.elapsed().as_secs_f64(), first)
}
