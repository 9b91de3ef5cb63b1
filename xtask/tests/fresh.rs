//! A newcomer's first commands on a machine without a cluster: `up --dry-run`'s whole plan and
//! its one summary, `--json` that agrees with itself, flags a command cannot honour, closed
//! pipes, completions, and the same no-cluster preflight everywhere.

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod support;

use support::Env;

const STAGES: [&str; 7] = [
    "doctor",
    "setup",
    "build",
    "deploy --helm",
    "verify",
    "aiops",
    "docs",
];

#[test]
fn up_dry_run_on_a_fresh_machine_plans_every_stage_then_says_what_would_stop() {
    let env = Env::new();
    env.remove_tool("minikube");
    env.remove_tool("helm");
    let run = env.xtask(&["up", "--dry-run"]);
    assert_eq!(run.code, 1, "{run}");
    for (i, stage) in STAGES.iter().enumerate() {
        assert!(
            run.stdout.contains(&format!("{}. {stage}:", i + 1)),
            "plan lacks stage {stage}: {run}"
        );
    }
    // The stages after doctor plan as if it had passed.
    assert!(
        run.stdout.contains("start minikube profile `demo`"),
        "{run}"
    );
    assert!(run.stdout.contains("build todo-backend"), "{run}");
    assert!(run.stdout.contains("install the Helm release"), "{run}");
    // One summary, on stderr, with its fix.
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(
        errors,
        ["error: a real run would stop: doctor: minikube, helm not found on PATH"],
        "{run}"
    );
    let help = run
        .stderr
        .lines()
        .find(|l| l.starts_with("help:"))
        .unwrap_or_else(|| panic!("no help line: {run}"));
    assert!(
        help.contains("install minikube") && help.contains("install helm"),
        "{run}"
    );
    assert!(env.mutating_calls().is_empty());
}

#[test]
fn up_dry_run_with_every_tool_exits_0() {
    let env = Env::new();
    let run = env.xtask(&["up", "--dry-run"]);
    run.ok();
    assert!(!run.stderr.contains("error:"), "{run}");
    assert!(run.stdout.contains("7. docs:"), "{run}");
}

/// `ok`, `stages[].ok` and `reports[].ok` say the same thing.
fn assert_one_truth(json: &serde_json::Value) {
    let stages = json["stages"].as_array().expect("stages");
    let reports = json["reports"].as_array().expect("reports");
    assert_eq!(stages.len(), reports.len(), "{json:#}");
    for (s, r) in stages.iter().zip(reports) {
        assert_eq!(s["stage"], r["stage"], "{json:#}");
        assert_eq!(s["ok"], r["ok"], "stage {}: {json:#}", s["stage"]);
        let gates_pass = r["gates"]
            .as_array()
            .expect("gates")
            .iter()
            .all(|g| g["passed"] == true);
        let error = !r["error"].is_null();
        assert_eq!(
            r["ok"].as_bool(),
            Some(gates_pass && !error),
            "stage {}: {json:#}",
            s["stage"]
        );
    }
    let all = stages.iter().all(|s| s["ok"] == true);
    let blocked = json["blockers"].as_array().is_some_and(|b| !b.is_empty());
    assert_eq!(json["ok"].as_bool(), Some(all && !blocked), "{json:#}");
}

#[test]
fn up_json_agrees_with_itself_when_doctor_fails() {
    let env = Env::new();
    env.remove_tool("minikube");
    let run = env.xtask(&["up", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let json = run.json();
    assert_eq!(json["ok"], false, "{run}");
    assert_eq!(json["stages"][0]["ok"], false, "{run}");
    assert_eq!(json["reports"][0]["ok"], false, "{run}");
    assert_one_truth(&json);

    let dry = env.xtask(&["up", "--json", "--dry-run"]);
    assert_eq!(dry.code, 1, "{dry}");
    let json = dry.json();
    assert_eq!(json["stages"].as_array().map(Vec::len), Some(7), "{dry}");
    assert_eq!(json["blockers"][0]["stage"], "doctor", "{dry}");
    assert_one_truth(&json);
}

#[test]
fn up_json_agrees_with_itself_when_a_later_stage_fails() {
    let env = Env::new();
    env.knob("image-size-backend", "900000000");
    let run = env.xtask(&["up", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let json = run.json();
    let last = json["stages"]
        .as_array()
        .and_then(|s| s.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["stage"], "build", "{run}");
    assert_eq!(last["ok"], false, "{run}");
    assert_one_truth(&json);
}

/// Runs the xtask with its stdout a pipe whose reader has already gone (as `| head -1` leaves
/// it), and returns the exit code and stderr.
fn with_closed_stdout(env: &Env, args: &[&str]) -> (i32, String) {
    use std::io::Read;
    let mut child = env.spawn(args);
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let env = Env::new();
    let commands: [&[&str]; 7] = [
        &["completions", "bash"],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["doctor"],
        &["up", "--dry-run"],
        &["status"],
        &["--help"],
    ];
    for args in commands {
        for _ in 0..3 {
            let (code, stderr) = with_closed_stdout(&env, args);
            assert!(
                !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
                "{args:?}: {stderr}"
            );
            assert_ne!(code, 101, "{args:?}: {stderr}");
            assert_eq!(code, 0, "{args:?}: {stderr}");
        }
    }
}

#[test]
fn a_global_flag_a_command_cannot_honour_is_refused_by_name() {
    let env = Env::new();
    for (args, flag) in [
        (
            &["completions", "bash", "--namespace", "foo"][..],
            "--namespace",
        ),
        (&["--namespace", "foo", "local"][..], "--namespace"),
        (&["local", "--json"][..], "--json"),
        (&["completions", "zsh", "--dry-run"][..], "--dry-run"),
        (&["test", "--context", "other"][..], "--context"),
        (&["doctor", "--profile", "demo"][..], "--profile"),
    ] {
        let run = env.xtask(args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        let first = run.stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error:") && first.contains(flag),
            "{args:?}: {run}"
        );
        assert!(run.stderr.contains("help: "), "{args:?}: {run}");
        assert!(run.stdout.is_empty(), "{args:?}: {run}");
    }
    assert!(env.calls().is_empty(), "{:#?}", env.calls());
    // Flags a command does honour stay accepted.
    env.xtask(&["completions", "bash", "--no-color", "-q"]).ok();
    env.xtask(&["status", "-n", "todo", "--json"]);
}

#[test]
fn test_dry_run_prints_the_command_and_the_tiers_and_runs_nothing() {
    let env = Env::new();
    let run = env.xtask_with(
        &["test", "--dry-run", "--", "-p", "todo-backend"],
        &[("CARGO", "/nonexistent/cargo")],
    );
    run.ok();
    assert!(
        run.stdout
            .contains("would run (dry run, nothing was run): cargo test --locked -p todo-backend"),
        "{run}"
    );
    for tier in [
        "app integration",
        "images",
        "browser",
        "chart",
        "completion",
    ] {
        assert!(run.stdout.contains(tier), "no tier {tier}: {run}");
    }
    assert!(!run.all().contains("Running cargo"), "{run}");
}

#[test]
fn docs_check_fails_on_a_doc_that_contradicts_the_code() {
    let env = Env::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in ["values.yaml", "values.schema.json", "README.md"] {
        let text = std::fs::read_to_string(repo.join("deploy/helm/todo-chatbot").join(f))
            .expect("chart file");
        env.write(&format!("deploy/helm/todo-chatbot/{f}"), &text);
    }
    let good = "# App\n\n1. `doctor`\n2. `setup`\n3. `build`\n4. `deploy --helm`\n5. `verify`\n6. `aiops`\n7. `docs`\n\n`cargo xtask up --dry-run`, then `kubectl get pods -n todo`.\nEach image is at most 80 MB.\n";
    env.write("README.md", good);
    env.xtask(&["docs"]).ok();
    env.xtask(&["docs", "--check"]).ok();
    let drifted = good
        .replace("-n todo", "-n todo-chatbot")
        .replace("at most 80 MB", "at most 150 MB")
        .replace("up --dry-run", "up --helm")
        .replace("5. `verify`\n6. `aiops`", "5. `aiops`\n6. `verify`");
    env.write("README.md", &drifted);
    env.write(
        "deploy/helm/values/mine.yaml",
        "secrets:\n  existingSecret: todo-chatbot-env\n",
    );
    let run = env.xtask(&["docs", "--check"]);
    assert_eq!(run.code, 1, "{run}");
    for want in [
        "README.md:11: namespace `todo-chatbot`",
        "README.md:12: image budget 150 MB",
        "README.md:11: `cargo xtask up` has no flag --helm",
        "README.md:7: item 5 is `aiops`",
        "deploy/helm/values/mine.yaml:2: Secret `todo-chatbot-env`",
    ] {
        assert!(run.stderr.contains(want), "no `{want}`: {run}");
    }
    assert!(run.stderr.contains("help: "), "{run}");
    let json = env.xtask(&["docs", "--check", "--json"]);
    assert_eq!(json.code, 1, "{json}");
    assert_eq!(json.json()["ok"], false, "{json}");
}

#[test]
fn doctor_reports_the_engine_version_and_buildkit() {
    let env = Env::new();
    env.knob("engine-version", "20.10.24");
    let run = env.xtask(&["doctor", "--json"]);
    run.ok();
    let json = run.json();
    let docker = json["observed"]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "docker"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        docker["version"], "20.10.24",
        "the engine's, not the client's: {run}"
    );
    let note = docker["note"].as_str().unwrap_or("");
    assert!(note.contains("client 28.3.0"), "{note}");
    assert!(
        note.contains("BuildKit available (buildx v0.25.0)"),
        "{note}"
    );

    env.knob("no-buildx", "");
    let run = env.xtask(&["doctor"]);
    run.ok();
    assert!(run.stdout.contains("no BuildKit"), "{run}");
}

#[test]
fn doctor_says_start_docker_when_the_daemon_is_down() {
    let env = Env::new();
    env.knob("docker-down", "");
    let run = env.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("help: start Docker"), "{run}");
    assert!(!run.stderr.contains("help: install Docker"), "{run}");
    assert!(
        run.stdout
            .contains("the Docker daemon does not answer (the client is installed)"),
        "{run}"
    );
    // Without the client at all, it is still "install Docker".
    let env = Env::new();
    env.remove_tool("docker");
    let run = env.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("help: install Docker"), "{run}");
}

#[test]
fn a_base_image_that_cannot_be_pulled_is_named_with_the_ways_to_provide_it() {
    let env = Env::new();
    env.write(
        "deploy/docker/Dockerfile",
        "ARG RUST_IMAGE=rust:1.95-slim-bookworm\nARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot\nFROM ${RUST_IMAGE} AS build\nFROM ${RUNTIME_IMAGE} AS backend\nUSER 65532\nFROM ${RUNTIME_IMAGE} AS frontend\nUSER 65532\n",
    );
    env.fail(
        "docker-build",
        1,
        "Step 1/7 : ARG RUST_IMAGE=rust:1.95-slim-bookworm\nStep 3/7 : FROM ${RUST_IMAGE} AS build\nGet \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 127.0.0.11:53: no such host",
    );
    let run = env.xtask(&["build", "--no-cluster"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(
            "could not pull the base image `rust:1.95-slim-bookworm` (build arg RUST_IMAGE)"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("no such host"), "{run}");
    let help = run
        .stderr
        .lines()
        .find(|l| l.starts_with("help: "))
        .unwrap_or_default();
    for want in [
        "RUST_IMAGE = \"IMAGE\"",
        "[build.args] in deploy/pipeline.toml",
        "docker load",
        ".ci/base-images.sh",
    ] {
        assert!(help.contains(want), "no `{want}` in the help: {run}");
    }
    assert!(!run.stderr.contains("fix the error above"), "{run}");
}

#[test]
fn every_cluster_command_without_a_context_says_run_setup() {
    let env = Env::new();
    for args in [
        &["verify"][..],
        &["deploy", "--helm"],
        &["down"],
        &["logs"],
        &["open"],
    ] {
        let run = env.xtask(args);
        assert_eq!(run.code, 1, "{args:?}: {run}");
        assert!(
            run.stderr
                .contains("error: kubectl has no context `demo`: no cluster to talk to"),
            "{args:?}: {run}"
        );
        assert!(
            run.stderr.contains("help: run `cargo xtask setup`"),
            "{args:?}: {run}"
        );
        assert!(
            !run.stderr.contains("does not exist"),
            "raw kubectl output: {args:?}: {run}"
        );
    }
    // status is read-only: it says so too, exits 0, and talks of no plan.
    let run = env.xtask(&["status"]);
    run.ok();
    assert!(
        run.stderr.contains("kubectl has no context `demo`")
            && run.stderr.contains("run `cargo xtask setup`"),
        "{run}"
    );
    assert!(!run.all().contains("nothing to change"), "{run}");
    let doctor = env.xtask(&["doctor"]);
    assert!(!doctor.all().contains("nothing to change"), "{doctor}");
}

#[test]
fn status_lists_the_services_with_type_ports_and_url() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.knob(
        "kube/services-todo.json",
        r#"{"apiVersion":"v1","kind":"List","items":[
{"metadata":{"name":"todo-chatbot-backend"},"spec":{"type":"ClusterIP","ports":[{"port":8000}]}},
{"metadata":{"name":"todo-chatbot-frontend"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}}
],"metadata":{"resourceVersion":""}}"#,
    );
    let run = env.xtask(&["status"]);
    run.ok();
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {run}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("todo-chatbot-frontend"),
        "todo-chatbot-frontend NodePort 80:30080 http://192.168.49.2:30080"
    );
    assert_eq!(
        line("todo-chatbot-backend"),
        "todo-chatbot-backend ClusterIP 8000 in the cluster only"
    );
    let json = env.xtask(&["status", "--json"]).json();
    assert_eq!(
        json["observed"]["services"][1]["type"],
        serde_json::Value::Null
    );
    assert_eq!(json["observed"]["services"][1]["kind"], "NodePort");
    assert_eq!(json["observed"]["url"], "http://192.168.49.2:30080");
}

#[test]
fn local_release_builds_the_release_binaries() {
    let env = Env::new();
    let run = env.xtask(&["local", "--release", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .contains("cargo build -p todo-backend -p todo-frontend --release"),
        "{run}"
    );
    let debug = env.xtask(&["local", "--dry-run"]);
    assert!(!debug.stdout.contains("--release"), "{debug}");
}

#[test]
fn aiops_without_a_cluster_says_run_setup_like_the_others() {
    let env = Env::new();
    env.add_fake("kubectl-ai");
    env.write(".env", "OPENAI_API_KEY=sk-test-0123456789abcdef\n");
    let run = env.xtask(&["aiops"]);
    assert!(
        run.all().contains(
            "kubectl has no context `demo`: no cluster to talk to: run `cargo xtask setup`"
        ),
        "{run}"
    );
    assert!(
        !run.all().contains("memcache.go"),
        "raw kubectl output: {run}"
    );
}

/// Runs the xtask on a terminal (a pseudo-terminal from `script`) and returns what it printed.
fn on_a_terminal(script: &std::path::Path, env: &Env, args: &str, no_color: bool) -> String {
    let out = std::process::Command::new(script)
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_xtask")),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", &env.bin)
        .env("HOME", env.dir.path())
        .envs(env.fake_vars())
        .env("XTASK_PROJECT_ROOT", &env.project)
        .env("TERM", "xterm")
        .envs(no_color.then_some(("NO_COLOR", "1")))
        .output()
        .expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let Some(script) = testkit::executable(
        "script (util-linux), for a pseudo-terminal",
        "SCRIPT",
        &["script"],
        "apt-get install util-linux",
    ) else {
        return;
    };
    let env = Env::new();
    let piped = env.xtask(&["doctor"]);
    assert!(!piped.all().contains('\x1b'), "colour into a pipe: {piped}");
    let tty = on_a_terminal(&script, &env, "doctor", false);
    assert!(
        tty.contains("\x1b[32;1m"),
        "no colour on a terminal: {tty:?}"
    );
    let no_color = on_a_terminal(&script, &env, "doctor", true);
    assert!(
        !no_color.contains("\x1b[32;1m") && !no_color.contains("\x1b[31;1m"),
        "colour despite NO_COLOR: {no_color:?}"
    );
    let flag = on_a_terminal(&script, &env, "doctor --no-color", false);
    assert!(
        !flag.contains("\x1b[32;1m"),
        "colour despite --no-color: {flag:?}"
    );
}

#[test]
fn a_closed_stderr_ends_a_command_quietly_too() {
    use std::io::Read;
    let env = Env::new();
    for args in [&["doctor"][..], &["up", "--dry-run"]] {
        let mut child = env.spawn(args);
        drop(child.stderr.take());
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("read stdout");
        let code = child.wait().expect("wait").code();
        assert_eq!(code, Some(0), "{args:?}: {stdout}");
    }
}

#[test]
fn verify_static_fails_on_a_doc_that_contradicts_the_code() {
    let env = Env::new();
    env.with_deploy_files();
    env.xtask(&["docs"]).ok();
    env.write("README.md", "Run `cargo xtask up --helm`.\n");
    let run = env.xtask(&["verify", "--static"]);
    assert_eq!(run.code, 1, "{run}");
    let gate = run
        .stdout
        .lines()
        .find(|l| l.starts_with("docs agree with the code"))
        .unwrap_or_else(|| panic!("no docs gate: {run}"));
    assert!(gate.contains("FAIL"), "{run}");
    assert!(
        run.stderr
            .contains("README.md:1: `cargo xtask up` has no flag --helm"),
        "{run}"
    );
    env.write("README.md", "Run `cargo xtask up --raw`.\n");
    let run = env.xtask(&["verify", "--static"]);
    let gate = run
        .stdout
        .lines()
        .find(|l| l.starts_with("docs agree with the code"))
        .unwrap_or_else(|| panic!("no docs gate: {run}"));
    assert!(gate.contains("pass"), "{run}");
}
