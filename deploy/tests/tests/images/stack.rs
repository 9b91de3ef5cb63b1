//! Running the images the way the deployment does, and the checks shared by the image tests.

use crate::docker::{self, BACKEND_IMAGE, FRONTEND_IMAGE, POSTGRES_IMAGE, inspect, ok};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// How the chart runs the app containers: read-only root, no capabilities, no privilege gain.
pub const HARDENED: [&str; 5] = [
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
];
/// Test-only database password; it reaches docker through the environment, not the arguments.
pub const PG_PASSWORD: &str = "secret";

/// Runs `docker ARGS` with extra environment variables for the client (for `-e NAME` without a
/// value, which copies the client's value: secrets then stay out of process arguments).
fn ok_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"));
    assert!(
        out.status.success(),
        "docker {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Starts `todo-postgres:15` as user `todo` with database `todo`, and waits until it accepts TCP.
pub fn start_postgres(name: &str, network: Option<&str>) {
    let mut args = vec!["run", "--detach", "--name", name];
    if let Some(net) = network {
        args.extend(["--network", net]);
    }
    args.extend([
        "-e",
        "POSTGRES_USER=todo",
        "-e",
        "POSTGRES_PASSWORD",
        "-e",
        "POSTGRES_DB=todo",
    ]);
    args.push(POSTGRES_IMAGE);
    ok_env(&args, &[("POSTGRES_PASSWORD", PG_PASSWORD)]);
    let started = Instant::now();
    loop {
        let probe = docker::run(&[
            "exec",
            name,
            "pg_isready",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "todo",
            "-d",
            "todo",
        ]);
        if probe.status.success() {
            return;
        }
        let running = inspect(name, "{{.State.Running}}");
        assert!(running == "true", "{name} stopped during start-up");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} not ready within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One query through psql from a client container on `network`, so it takes the remote path
/// (inside the server container, connections from localhost are trusted as in the official image).
pub fn psql(
    network: &str,
    host: &str,
    user: &str,
    password: &str,
    sql: &str,
) -> Result<String, String> {
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            network,
            "-e",
            "PGPASSWORD",
            POSTGRES_IMAGE,
        ])
        .args([
            "psql", "-h", host, "-U", user, "-d", "todo", "-X", "-t", "-A", "-c", sql,
        ])
        .env("PGPASSWORD", password)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Starts the hardened backend on `network` with `database_url`; returns its published port.
pub fn start_backend(name: &str, network: &str, database_url: &str, extra: &[&str]) -> u16 {
    start_backend_with(name, network, database_url, extra, &[])
}

/// [`start_backend`] with more variables for the container, passed as `-e NAME` with the value in
/// the docker client's environment (secrets stay out of the arguments).
pub fn start_backend_with(
    name: &str,
    network: &str,
    database_url: &str,
    extra: &[&str],
    secrets: &[(&str, &str)],
) -> u16 {
    let port = docker::free_port();
    let publish = format!("127.0.0.1:{port}:8000");
    let mut args = vec![
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        network,
        "-p",
        &publish,
    ];
    args.extend(HARDENED);
    args.extend(extra);
    for (k, _) in secrets {
        args.extend(["-e", k]);
    }
    args.extend(["-e", "DATABASE_URL", "-e", "AGENT=rules", BACKEND_IMAGE]);
    let mut env = vec![("DATABASE_URL", database_url)];
    env.extend_from_slice(secrets);
    ok_env(&args, &env);
    port
}

/// Starts the hardened frontend whose BACKEND_URL names the backend container as a Service name
/// would; waits for its /health and returns its published port.
pub fn start_frontend(name: &str, network: &str, backend: &str) -> u16 {
    let port = docker::free_port();
    let publish = format!("127.0.0.1:{port}:3000");
    let backend_url = format!("BACKEND_URL=http://{backend}:8000");
    let mut args = vec![
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        network,
        "-p",
        &publish,
    ];
    args.extend(HARDENED);
    args.extend(["-e", &backend_url, FRONTEND_IMAGE]);
    ok(&args);
    docker::wait_ok(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(30),
        Duration::from_millis(50),
    )
    .expect("frontend /health");
    port
}

/// Through the frontend's port: the page, a task round trip and a chat turn that adds a task.
/// Returns the title of the task it made.
pub fn exercise_through_frontend(port: u16, tag: &str) -> String {
    let base = format!("http://127.0.0.1:{port}");
    let (status, page) = docker::get(&format!("{base}/")).expect("GET /");
    assert_eq!(status, 200, "GET / answered {status}: {page}");
    assert!(
        page.to_ascii_lowercase().contains("<html"),
        "GET / is not a page: {page}"
    );

    let title = format!("image test {tag}");
    let (status, task) = docker::post_json(
        &format!("{base}/api/demo/tasks"),
        &serde_json::json!({ "title": title }),
    )
    .expect("POST /api/demo/tasks");
    assert_eq!(status, 201, "create task: {task}");
    assert_eq!(task["title"], title, "{task}");
    assert_eq!(task["user_id"], "demo", "{task}");
    let (status, list) =
        docker::get(&format!("{base}/api/demo/tasks")).expect("GET /api/demo/tasks");
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&title), "the new task is not listed: {list}");

    let (status, chat) = docker::post_json(
        &format!("{base}/api/demo/chat"),
        &serde_json::json!({ "message": "add buy milk" }),
    )
    .expect("POST /api/demo/chat");
    assert_eq!(status, 200, "chat: {chat}");
    assert!(
        chat["conversation_id"].is_i64(),
        "chat answer without conversation_id: {chat}"
    );
    let calls = chat["tool_calls"].as_array().cloned().unwrap_or_default();
    assert!(
        calls.iter().any(|c| c["name"] == "add_task"),
        "the chat turn called no add_task: {chat}"
    );
    let (_, list) = docker::get(&format!("{base}/api/demo/tasks")).expect("GET /api/demo/tasks");
    let tasks: serde_json::Value = serde_json::from_str(&list).expect("the task list is JSON");
    assert!(
        tasks.as_array().is_some_and(|t| t
            .iter()
            .any(|t| t["title"].as_str().is_some_and(|s| s.contains("buy milk")))),
        "the chat turn added no \"buy milk\" task: {list}"
    );
    title
}

/// `docker stop` ends the container with exit code 0 within 2 s.
pub fn assert_stops_cleanly(name: &str) {
    let started = Instant::now();
    ok(&["stop", "--time", "10", name]);
    let took = started.elapsed();
    let code = inspect(name, "{{.State.ExitCode}}");
    eprintln!(
        "docker stop {name}: {:.0} ms, exit code {code}",
        took.as_secs_f64() * 1e3
    );
    assert_eq!(code, "0", "{name} exit code after docker stop");
    assert!(
        took < Duration::from_secs(2),
        "docker stop {name} took {took:?}, budget 2 s"
    );
}

/// Creates a hardened backend on SQLite in a tmpfs, starts it and polls /ready every 2 ms.
/// Returns (time from calling `docker start`, time from the container process start).
pub fn time_start_to_ready(name: &str, network: &str) -> (Duration, Duration) {
    let port = docker::free_port();
    let publish = format!("127.0.0.1:{port}:8000");
    let mut args = vec![
        "create",
        "--name",
        name,
        "--network",
        network,
        "-p",
        &publish,
    ];
    args.extend(HARDENED);
    args.extend(["--tmpfs", "/data:uid=65532,gid=65532,mode=0700"]);
    args.extend([
        "-e",
        "DATABASE_URL=sqlite:///data/todo.db",
        "-e",
        "AGENT=rules",
        BACKEND_IMAGE,
    ]);
    ok(&args);
    let called = Instant::now();
    ok(&["start", name]);
    docker::wait_ok(
        &format!("http://127.0.0.1:{port}/ready"),
        Duration::from_secs(10),
        Duration::from_millis(2),
    )
    .expect("backend /ready after start");
    let ready_at = SystemTime::now();
    let wall = called.elapsed();
    let started_at = unix_nanos(&inspect(name, "{{.State.StartedAt}}"));
    let ready_nanos = ready_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let process = Duration::from_nanos(
        u64::try_from(ready_nanos.saturating_sub(started_at)).unwrap_or(u64::MAX),
    );
    run_quiet_stop(name);
    (wall, process)
}

fn run_quiet_stop(name: &str) {
    docker::run(&["stop", "--time", "5", name]);
}

/// Parses Docker's RFC 3339 timestamp with GNU date (no date crate needed for one call).
fn unix_nanos(rfc3339: &str) -> u128 {
    let out = Command::new("date")
        .args(["-d", rfc3339, "+%s%N"])
        .output()
        .expect("GNU date is on every Debian machine");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("cannot parse the time {rfc3339:?}: {e}"))
}

/// Paths inside a container's file system (`docker export`), without a leading `./` or trailing `/`.
pub fn exported_files(container: &str) -> Vec<String> {
    let tar = std::env::temp_dir().join(format!("{container}.tar"));
    let tar_s = tar.to_string_lossy().into_owned();
    ok(&["export", "--output", &tar_s, container]);
    let out = Command::new("tar")
        .args(["-tf", &tar_s])
        .output()
        .expect("tar is on every Debian machine");
    let _ = std::fs::remove_file(&tar);
    assert!(
        out.status.success(),
        "tar -tf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// What `.dockerignore` lets into the build context of the repository root, listed by a
/// throw-away build.
pub fn context_listing() -> Vec<String> {
    let tag = format!("todo-context-probe:{}", docker::unique("ctx"));
    let dockerfile = "FROM debian:bookworm-slim\nCOPY . /ctx\nRUN cd /ctx && find . -mindepth 1 -printf 'CTX %P\\n'\n";
    let mut child = Command::new("docker")
        .args(["build", "--no-cache", "-t", &tag, "-f", "-", "."])
        .current_dir(docker::repo_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("docker build starts");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(dockerfile.as_bytes())
            .expect("docker reads the Dockerfile");
    }
    let out = child.wait_with_output().expect("docker build finishes");
    docker::run(&["rmi", "--force", &tag]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "context probe build failed:\n{text}");
    text.lines()
        .filter_map(|l| l.split_once("CTX ").map(|(_, p)| p.trim().to_owned()))
        .filter(|p| !p.is_empty() && !p.starts_with('%'))
        .collect()
}

/// Whether the build step whose instruction line matches `is_step` came from the cache, in the
/// legacy builder's output (`Step N/M : …` then ` ---> Using cache`) or BuildKit's plain output
/// (`#N [stage i/n] …` then `#N CACHED`). `None` when no such step is in the log.
pub fn step_cached(log: &str, is_step: impl Fn(&str) -> bool) -> Option<bool> {
    let lines: Vec<&str> = log.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("Step ") && line.contains(" : ") && is_step(line) {
            let block = lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with("Step "));
            return Some(block.map(|l| l.trim()).any(|l| l == "---> Using cache"));
        }
        if line.starts_with('#') && line.contains(" [") && is_step(line) {
            let id = line.split_whitespace().next().unwrap_or("#");
            let cached = format!("{id} CACHED");
            return Some(lines.iter().any(|l| l.trim() == cached));
        }
    }
    None
}

/// A copy of the build context in a temporary folder, where the test may change app code
/// without touching the working tree.
pub struct ContextCopy {
    dir: PathBuf,
}

impl ContextCopy {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(docker::unique("context"));
        std::fs::create_dir_all(&dir).expect("the temporary folder is writable");
        let root = docker::repo_root();
        let items = [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo",
            ".dockerignore",
            "app",
            "crates",
            "xtask",
            "deploy",
        ];
        let status = Command::new("cp")
            .arg("-a")
            .args(items.iter().map(|i| root.join(i)))
            .arg(&dir)
            .status()
            .expect("cp runs");
        assert!(
            status.success(),
            "copying the build context to {} failed",
            dir.display()
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Appends a comment to `app/<app>/src/main.rs`: an app code change that no manifest sees.
    pub fn touch_app_code(&self, app: &str) {
        use std::io::Write;
        let main = self.dir.join("app").join(app).join("src/main.rs");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&main)
            .expect("main.rs exists");
        writeln!(f, "// cache probe {}", docker::unique("probe")).expect("main.rs is writable");
    }
}

impl Drop for ContextCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
