//! Helpers over the `docker` command line for the image tests: running commands, unique names,
//! a clean-up guard, the shared image build, and HTTP probes of published ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Image names the tests build (the same repositories the xtask uses, with a tag of their own).
pub const BACKEND_IMAGE: &str = "todo-backend:deploy-tests";
pub const FRONTEND_IMAGE: &str = "todo-frontend:deploy-tests";
pub const POSTGRES_IMAGE: &str = "todo-postgres:15";
/// The version label the tests build with.
pub const VERSION: &str = "0.0.0-test";

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the crate lives two levels below the repository root")
}

/// Runs `docker ARGS` and returns its output, whatever the exit status.
pub fn run<S: AsRef<str>>(args: &[S]) -> Output {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    Command::new("docker")
        .args(&args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"))
}

/// Runs `docker ARGS`, panics with its stderr on failure, returns trimmed stdout.
pub fn ok<S: AsRef<str>>(args: &[S]) -> String {
    let out = run(args);
    let shown: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    assert!(
        out.status.success(),
        "docker {shown:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `docker inspect --format FORMAT NAME` for a container or an image.
pub fn inspect(name: &str, format: &str) -> String {
    ok(&["inspect", "--format", format, name])
}

/// A name prefix unique to this process and moment, so parallel or repeated runs never clash.
pub fn unique(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("todo-it-{}-{nanos:x}-{label}", std::process::id())
}

/// Removes the containers, networks and volumes a test made, also when the test panics.
#[derive(Default)]
pub struct Cleanup {
    containers: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Cleanup {
    pub fn container(&mut self, name: &str) -> String {
        self.containers.push(name.to_owned());
        name.to_owned()
    }
    pub fn network(&mut self, name: &str) -> String {
        ok(&["network", "create", name]);
        self.networks.push(name.to_owned());
        name.to_owned()
    }
    pub fn volume(&mut self, name: &str) -> String {
        ok(&["volume", "create", name]);
        self.volumes.push(name.to_owned());
        name.to_owned()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for c in &self.containers {
                let logs = run(&["logs", "--tail", "40", c]);
                eprintln!(
                    "--- logs of {c} ---\n{}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
        }
        for c in &self.containers {
            run(&["rm", "--force", "--volumes", c]);
        }
        for n in &self.networks {
            run(&["network", "rm", n]);
        }
        for v in &self.volumes {
            run(&["volume", "rm", "--force", v]);
        }
    }
}

/// The output of one `docker build`, stdout and stderr together.
pub struct BuildLog {
    pub text: String,
    pub elapsed: Duration,
}

/// Builds `target` of deploy/docker/Dockerfile from `context` and tags it.
pub fn build_app(
    context: &Path,
    target: &str,
    tag: &str,
    revision: &str,
) -> Result<BuildLog, String> {
    let started = Instant::now();
    // No --progress flag: the legacy builder of a client without buildx rejects it, and BuildKit
    // prints plain progress anyway when its output is not a terminal.
    let out = Command::new("docker")
        .args([
            "build",
            "-f",
            "deploy/docker/Dockerfile",
            "--target",
            target,
            "-t",
            tag,
        ])
        .args(["--build-arg", &format!("VERSION={VERSION}")])
        .args(["--build-arg", &format!("REVISION={revision}")])
        .arg(".")
        .current_dir(context)
        .output()
        .map_err(|e| format!("cannot run docker build: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "docker build --target {target} failed:\n{}",
            tail.join("\n")
        ));
    }
    Ok(BuildLog {
        text,
        elapsed: started.elapsed(),
    })
}

/// The revision label the tests expect: the checked-out commit, or `unknown` outside git.
pub fn revision() -> String {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Builds the two app images once per test binary; every test shares the result.
fn app_images() -> &'static Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo_root();
        let rev = revision();
        for (target, tag) in [("backend", BACKEND_IMAGE), ("frontend", FRONTEND_IMAGE)] {
            let log = build_app(&root, target, tag, &rev)?;
            eprintln!("built {tag} in {:.1}s", log.elapsed.as_secs_f64());
        }
        Ok(())
    })
}

/// Builds the PostgreSQL image once per test binary.
fn postgres_image() -> &'static Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new("docker")
            .args(["build", "-t", POSTGRES_IMAGE, "deploy/docker/postgres"])
            .current_dir(repo_root())
            .output()
            .map_err(|e| format!("cannot run docker build: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "docker build of {POSTGRES_IMAGE} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    })
}

/// Panics with the build error when the app images could not be built.
pub fn require_app_images() {
    if let Err(e) = app_images() {
        panic!("{e}");
    }
}

/// Panics with the build error when the PostgreSQL image could not be built.
pub fn require_postgres_image() {
    if let Err(e) = postgres_image() {
        panic!("{e}");
    }
}

/// A free TCP port on 127.0.0.1 for `-p 127.0.0.1:PORT:...` (chosen before `docker create`, so the
/// timing of a start does not include a `docker port` call).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the loopback interface accepts a listener on port 0")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// GET `url`: the status and the body.
pub fn get(url: &str) -> Result<(u16, String), String> {
    let mut resp = agent().get(url).call().map_err(|e| e.to_string())?;
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((resp.status().as_u16(), body))
}

/// POST a JSON `body` to `url`: the status and the parsed answer.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<(u16, serde_json::Value), String> {
    let mut resp = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let json =
        serde_json::from_str(&text).map_err(|e| format!("{status}: not JSON ({e}): {text}"))?;
    Ok((status, json))
}

/// Polls `url` until it answers 200, for at most `limit`; the time it took.
pub fn wait_ok(url: &str, limit: Duration, interval: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < limit {
        match get(url) {
            Ok((200, _)) => return Ok(started.elapsed()),
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e,
        }
        std::thread::sleep(interval);
    }
    Err(format!(
        "{url} did not answer 200 within {limit:?}; last: {last}"
    ))
}
