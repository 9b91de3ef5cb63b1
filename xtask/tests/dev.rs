//! `dev`, `open` and `logs` against the fake cluster tools, in a scratch copy of the project's
//! layout (two apps, a shared crate, the real chart and manifests). `open` is checked against
//! the real frontend behind the fake port-forward.

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod apps;
mod support;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apps::{Apps, alive};
use support::{Env, FRONTEND, list, ready_app_pods};

const PIPELINE: &str = r#"
[cluster]
profile = "demo"
cpus = 1
memory_mb = 2048
ready_timeout_secs = 5

[build]
inputs = ["Cargo.toml", "Cargo.lock", "app/backend/Cargo.toml", "app/frontend/Cargo.toml", "crates"]

[images.backend]
name = "todo-backend"
target = "backend"
budget_mb = 100
inputs = ["app/backend"]

[images.frontend]
name = "todo-frontend"
target = "frontend"
budget_mb = 100
inputs = ["app/frontend"]

[deploy]
namespace = "todo"
timeout_secs = 600
"#;

/// A scratch project laid out like the real one, a running fake cluster whose pods, Services and
/// endpoints answer as after a deploy, and port-forwards that report `ports`.
fn project(ports: (u16, u16)) -> Env {
    let env = Env::new();
    env.write("deploy/pipeline.toml", PIPELINE);
    env.write(
        "deploy/docker/Dockerfile",
        "ARG PROFILE=release\nFROM scratch AS backend\nUSER 65532\nFROM scratch AS frontend\nUSER 65532\n",
    );
    for (path, text) in [
        ("Cargo.toml", "[workspace]\n"),
        ("app/backend/Cargo.toml", "[package]\nname = \"b\"\n"),
        ("app/backend/src/main.rs", "fn main() {}\n"),
        ("app/frontend/Cargo.toml", "[package]\nname = \"f\"\n"),
        ("app/frontend/src/main.rs", "fn main() {}\n"),
        ("crates/shared/src/lib.rs", "pub fn f() {}\n"),
    ] {
        env.write(path, text);
    }
    env.with_deploy_files();
    env.deployed_cluster("ClusterIP", ports);
    env
}

/// A running xtask whose output lines are collected as they come.
struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(env: &Env, args: &[&str]) -> Running {
        let mut child = env.spawn(args);
        let collect = |r: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for l in BufReader::new(r).lines() {
                    let Ok(l) = l else { break };
                    sink.lock().expect("lock").push(l);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
        let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn text(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout.lock().expect("lock").join("\n"),
            self.stderr.lock().expect("lock").join("\n")
        )
    }

    /// Waits for a stdout line (or, with `err`, a stderr line) containing `needle`, after the
    /// first `skip` lines.
    #[track_caller]
    fn wait_for(&mut self, needle: &str, err: bool, skip: usize) -> String {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            let lines = if err { &self.stderr } else { &self.stdout };
            if let Some(l) = lines
                .lock()
                .expect("lock")
                .iter()
                .skip(skip)
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "the xtask exited ({status}) before `{needle}`\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{needle}` within 120s\n{}", self.text());
    }

    fn stdout_len(&self) -> usize {
        self.stdout.lock().expect("lock").len()
    }

    /// The pids of the xtask's child processes right now.
    fn children(&self) -> Vec<u32> {
        let me = self.child.id();
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(me) {
                out.push(pid);
            }
        }
        out
    }

    /// SIGINT, as Ctrl-C sends it; returns the exit code and how long the exit took.
    fn interrupt(&mut self) -> (Option<i32>, Duration) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.code(), started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                panic!("still running 15s after SIGINT\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The targets of the `docker build` calls since the log was last cleared.
fn built(env: &Env) -> Vec<String> {
    env.mutating_calls()
        .iter()
        .filter(|c| c.tool == "docker" && c.argv.starts_with("build "))
        .filter_map(|c| {
            let words: Vec<&str> = c.argv.split(' ').collect();
            let i = words.iter().position(|w| *w == "--target")?;
            words.get(i + 1).map(|t| t.to_string())
        })
        .collect()
}

fn upgrades(env: &Env) -> usize {
    env.mutating_calls()
        .iter()
        .filter(|c| c.tool == "helm" && c.argv.starts_with("upgrade"))
        .count()
}

fn crash_loop(env: &Env) {
    env.knob(
        "kube/pods-todo.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"todo-chatbot-backend-6d4f9-x7k2p","namespace":"todo"},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[{"name":"backend","image":"todo-backend:abc","imageID":"","ready":false,"restartCount":3,"started":false,"lastState":{"terminated":{"exitCode":101,"reason":"Error"}},"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 40s restarting failed container=backend"}}}]}}],"metadata":{"resourceVersion":""}}"#,
    );
    env.knob(
        "kube/logs-todo-chatbot-backend-6d4f9-x7k2p",
        "starting\nthread 'main' panicked at app/backend/src/main.rs:1:13: boom\n",
    );
    env.fail(
        "kubectl-rollout",
        1,
        "error: timed out waiting for the condition",
    );
}

#[test]
fn dev_rebuilds_only_what_changed_survives_a_crash_and_stops_cleanly_on_sigint() {
    let env = project((38101, 38102));
    env.knob(
        "kube/applogs/backend",
        "{\"level\":\"INFO\",\"msg\":\"listening on 0.0.0.0:8000\"}\n",
    );
    env.knob("kube/applogs/frontend", "frontend up\n");
    let mut dev = Running::start(&env, &["dev", "--debounce-ms", "150"]);
    let first = dev.wait_for("dev: first deploy:", false, 0);
    assert!(first.contains("ready in"), "{first}\n{}", dev.text());
    dev.wait_for("Watching", true, 0);
    let backend_url = dev.wait_for("dev: backend at http://127.0.0.1:", false, 0);
    assert!(backend_url.ends_with(":38101"), "{backend_url}");
    dev.wait_for("backend  | {\"level\":\"INFO\"", false, 0);
    dev.wait_for("frontend | frontend up", false, 0);
    assert!(
        env.calls()
            .iter()
            .filter(|c| c.argv.starts_with("build "))
            .all(|c| c.argv.contains("--build-arg PROFILE=iter")),
        "dev builds with the iteration profile"
    );

    // A backend edit: one backend build, one upgrade, no frontend build.
    env.clear_calls();
    let mark = dev.stdout_len();
    env.write(
        "app/backend/src/main.rs",
        "fn main() { println!(\"v2\"); }\n",
    );
    let line = dev.wait_for("dev: app/backend/src/main.rs changed", false, mark);
    assert!(
        line.contains("rebuilt backend") && line.contains("ready in"),
        "{line}\n{}",
        dev.text()
    );
    assert_eq!(built(&env), ["backend"], "{:#?}", env.mutating_calls());
    assert_eq!(upgrades(&env), 1, "{:#?}", env.mutating_calls());
    let upgrade = env
        .mutating_calls()
        .into_iter()
        .find(|c| c.tool == "helm" && c.argv.starts_with("upgrade"))
        .expect("upgrade");
    assert!(
        !upgrade.argv.contains("--wait") && !upgrade.argv.contains("--rollback-on-failure"),
        "the dev loop waits with its own gates, not helm's: {}",
        upgrade.argv
    );
    assert!(
        !env.mutating_calls()
            .iter()
            .any(|c| c.argv.starts_with("test ")),
        "no helm test in the loop"
    );

    // Editor scratch files start no cycle.
    let mark = dev.stdout_len();
    env.write("app/backend/src/.main.rs.swp", "swap");
    env.write("app/backend/src/main.rs~", "backup");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(dev.stdout_len(), mark, "{}", dev.text());

    // A crash: the reason and the last log lines, and dev keeps watching.
    crash_loop(&env);
    env.clear_calls();
    let mark = dev.stdout_len();
    let err_mark = dev.stderr.lock().expect("lock").len();
    env.write(
        "app/backend/src/main.rs",
        "fn main() { panic!(\"boom\"); }\n",
    );
    let line = dev.wait_for("dev: app/backend/src/main.rs changed", false, mark);
    assert!(line.contains("rollout failed"), "{line}\n{}", dev.text());
    dev.wait_for("CrashLoopBackOff", true, err_mark);
    dev.wait_for("panicked at app/backend/src/main.rs", true, err_mark);
    assert!(
        dev.child.try_wait().expect("wait").is_none(),
        "dev still runs"
    );

    // A fix goes through again.
    env.knob("kube/pods-todo.json", &ready_app_pods());
    let _ = std::fs::remove_file(env.state.join("fail/kubectl-rollout"));
    let mark = dev.stdout_len();
    env.write("app/backend/src/main.rs", "fn main() {}\n");
    let line = dev.wait_for("dev: app/backend/src/main.rs changed", false, mark);
    assert!(line.contains("ready in"), "{line}\n{}", dev.text());

    // Ctrl-C: exit 0 within 2 s, no child left, the deployment stays.
    let children = dev.children();
    assert!(!children.is_empty(), "forwards and streams run");
    let forwards = std::fs::read_to_string(env.state.join("kube/forward/pids")).unwrap_or_default();
    let streams =
        std::fs::read_to_string(env.state.join("kube/logs-follow.pids")).unwrap_or_default();
    env.clear_calls();
    let (code, took) = dev.interrupt();
    assert_eq!(code, Some(0), "{}", dev.text());
    assert!(took < Duration::from_secs(2), "took {took:?}");
    std::thread::sleep(Duration::from_millis(300));
    for pid in children.iter().copied().chain(
        forwards
            .lines()
            .chain(streams.lines())
            .filter_map(|l| l.trim().parse().ok()),
    ) {
        assert!(
            !alive(pid),
            "process {pid} was left running\n{}",
            dev.text()
        );
    }
    assert!(
        env.mutating_calls().is_empty(),
        "the deployment stays: {:#?}",
        env.mutating_calls()
    );
    dev.wait_for("dev: stopped; the deployment keeps running", false, 0);
    // The cycle lines (with their save-to-ready times) for whoever runs this with --nocapture.
    eprintln!("{}", dev.text());
}

#[test]
fn dev_with_a_compile_error_prints_it_and_keeps_watching() {
    let env = project((38111, 38112));
    let mut dev = Running::start(&env, &["dev", "--debounce-ms", "100", "--raw"]);
    dev.wait_for("dev: first deploy:", false, 0);
    dev.wait_for("Watching", true, 0);
    env.fail(
        "docker-build",
        1,
        "#12 41.20 error[E0425]: cannot find value `x` in this scope\n#12 41.20  --> app/frontend/src/main.rs:1:13\n#12 41.30 error: could not compile `todo-frontend`\nERROR: failed to solve: exit code: 101",
    );
    let mark = dev.stdout_len();
    let err_mark = dev.stderr.lock().expect("lock").len();
    env.write("app/frontend/src/main.rs", "fn main() { x }\n");
    let line = dev.wait_for("dev: app/frontend/src/main.rs changed", false, mark);
    assert!(line.contains("build of frontend failed"), "{line}");
    dev.wait_for("error[E0425]: cannot find value `x`", true, err_mark);
    assert!(
        dev.child.try_wait().expect("wait").is_none(),
        "dev still runs"
    );
    let (code, _) = dev.interrupt();
    assert_eq!(code, Some(0), "{}", dev.text());
}

#[test]
fn dev_down_on_exit_removes_the_deployment() {
    let env = project((38121, 38122));
    let mut dev = Running::start(&env, &["dev", "--down-on-exit"]);
    dev.wait_for("dev: first deploy:", false, 0);
    dev.wait_for("Watching", true, 0);
    env.clear_calls();
    let (code, _) = dev.interrupt();
    assert_eq!(code, Some(0), "{}", dev.text());
    assert!(
        env.mutating_calls()
            .iter()
            .any(|c| c.tool == "helm" && c.argv.starts_with("uninstall")),
        "{:#?}\n{}",
        env.mutating_calls(),
        dev.text()
    );
}

#[test]
fn open_prints_a_url_that_answers_and_stops_on_sigint() {
    let apps = Apps::start();
    let env = project((apps.backend_port, apps.frontend_port));
    env.xtask(&["setup"]).ok();
    let mut open = Running::start(&env, &["open"]);
    let first = open.wait_for("http", false, 0);
    assert_eq!(
        open.stdout.lock().expect("lock")[0],
        format!("http://127.0.0.1:{}", apps.frontend_port),
        "the URL is the first stdout line"
    );
    let answer = ureq::get(&first)
        .call()
        .expect("the frontend answers")
        .into_body()
        .read_to_string()
        .expect("body");
    assert!(
        answer.contains("<html") || answer.contains("<!DOCTYPE"),
        "{answer}"
    );
    let pid: u32 = std::fs::read_to_string(env.state.join(format!("kube/forward/{FRONTEND}.pid")))
        .expect("the fake forward runs")
        .trim()
        .parse()
        .expect("pid");
    assert!(alive(pid));
    let (code, _) = open.interrupt();
    assert_eq!(code, Some(0), "{}", open.text());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(pid), "the port-forward was stopped");
}

#[test]
fn open_without_a_deployment_says_how_to_deploy() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    let run = env.xtask(&["open"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("no frontend Service"), "{run}");
    assert!(run.stderr.contains("help: deploy the app first"), "{run}");
}

#[test]
fn logs_prints_prefixed_lines_of_each_component() {
    let env = project((38131, 38132));
    env.xtask(&["setup"]).ok();
    let pods = |names: &[&str]| {
        list(
            &names
                .iter()
                .map(|n| {
                    format!(r#"{{"metadata":{{"name":"{n}"}},"status":{{"phase":"Running"}}}}"#)
                })
                .collect::<Vec<_>>(),
        )
    };
    env.knob("kube/pods-todo.json", &pods(&["todo-chatbot-backend-1-a"]));
    env.knob("kube/applogs/backend", "one\ntwo\n");
    env.knob("kube/applogs/frontend", "page served\n");
    let run = env.xtask(&["logs", "backend", "--since", "10m"]);
    run.ok();
    assert_eq!(run.stdout, "backend  | one\nbackend  | two\n", "{run}");
    let call = env
        .calls()
        .into_iter()
        .find(|c| c.tool == "kubectl" && c.argv.contains("logs"))
        .expect("kubectl logs");
    for part in [
        "--since=10m",
        "--prefix",
        "app.kubernetes.io/component=backend",
    ] {
        assert!(call.argv.contains(part), "{part} in {}", call.argv);
    }
    let all = env.xtask(&["logs"]);
    all.ok();
    assert!(all.stdout.contains("backend  | one"), "{all}");
    assert!(all.stdout.contains("frontend | page served"), "{all}");

    let bad = env.xtask(&["logs", "--since", "ten minutes"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("--since"), "{bad}");

    let mut follow = Running::start(&env, &["logs", "frontend", "--follow"]);
    follow.wait_for("frontend | page served", false, 0);
    std::fs::write(
        env.state.join("kube/applogs/frontend"),
        "page served\nlater line\n",
    )
    .expect("append");
    follow.wait_for("frontend | later line", false, 0);
    let (code, _) = follow.interrupt();
    assert_eq!(code, Some(0), "{}", follow.text());
}
