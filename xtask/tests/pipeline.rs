//! `verify`, `aiops`, `docs` and `up`: the real xtask binary against the fake cluster tools, with
//! the real backend and frontend (built by the test) behind the fake kubectl's port-forward.

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod apps;
mod support;

use std::path::Path;

use apps::{Apps, alive};
use support::{BACKEND, Env, FRONTEND, list, ready_pod};

/// The fake cluster as a deploy leaves it: a running profile, ready pods, the two Services with
/// endpoints, and port-forwards that reach `apps`.
fn deployed(env: &Env, apps: &Apps) {
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    env.deployed_cluster("LoadBalancer", (apps.backend_port, apps.frontend_port));
}

fn forward_pids(env: &Env) -> Vec<u32> {
    [BACKEND, FRONTEND]
        .iter()
        .filter_map(|s| {
            std::fs::read_to_string(env.state.join(format!("kube/forward/{s}.pid"))).ok()
        })
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

fn get(url: &str) -> (u16, String) {
    let mut resp = ureq::get(url).call().expect("GET works");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().expect("body"))
}

#[test]
fn verify_reaches_the_real_apps_through_the_port_forward_and_stops_it() {
    let apps = Apps::start();
    let env = Env::new();
    deployed(&env, &apps);
    let run = env.xtask(&["verify", "--json"]);
    run.ok();
    let report = run.json();
    let gates = report["gates"].as_array().expect("gates");
    let names: Vec<&str> = gates.iter().filter_map(|g| g["name"].as_str()).collect();
    for want in [
        "pods ready, no restarts",
        "backend /health",
        "backend /ready",
        "frontend /",
        "create a task through the frontend",
        "chat turn adds a task",
        "list shows both tasks",
        "clean up the created tasks",
        "MCP tools/list",
    ] {
        assert!(names.contains(&want), "no gate `{want}` in {names:?}");
    }
    for g in gates {
        assert_eq!(g["passed"], true, "{g}");
        assert!(g["duration_ms"].is_u64(), "{g}");
    }
    let mcp = gates
        .iter()
        .find(|g| g["name"] == "MCP tools/list")
        .expect("mcp gate");
    for tool in [
        "add_task",
        "list_tasks",
        "complete_task",
        "delete_task",
        "update_task",
    ] {
        assert!(mcp["detail"].as_str().unwrap_or("").contains(tool), "{mcp}");
    }
    // What verify created is gone again.
    let (status, body) = get(&format!(
        "http://127.0.0.1:{}/api/xtask-verify/tasks",
        apps.backend_port
    ));
    assert_eq!((status, body.trim()), (200, "[]"));
    // The port-forwards were started and are stopped.
    let pids = forward_pids(&env);
    assert_eq!(pids.len(), 2, "both port-forwards ran");
    for pid in pids {
        assert!(!alive(pid), "port-forward {pid} still runs");
    }
    assert!(
        env.mutating_calls().is_empty(),
        "{:?}",
        env.mutating_calls()
    );
}

/// `verify --restart` against the real apps: a task, `kubectl rollout restart` and the wait, the
/// task found again, then deleted. A restart that loses the data (the fake's restart hook
/// deletes the user's tasks, as a backend without a volume would) fails the check.
#[test]
fn verify_restart_checks_a_task_survives_a_new_backend_pod() {
    let apps = Apps::start();
    let env = Env::new();
    deployed(&env, &apps);
    env.knob(
        &format!("kube/objects/todo/deployment/{BACKEND}.json"),
        &format!(r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{BACKEND}","namespace":"todo"}}}}"#),
    );
    // Under --dry-run it is planned, and nothing is changed.
    let dry = env.xtask(&["verify", "--restart", "--dry-run"]);
    dry.ok();
    assert!(
        dry.all().contains(&format!(
            "restart deployment/{BACKEND}, check the task is still there"
        )),
        "{dry}"
    );
    assert!(
        env.mutating_calls().is_empty(),
        "{:?}",
        env.mutating_calls()
    );

    let run = env.xtask(&["verify", "--restart", "--json"]);
    run.ok();
    let report = run.json();
    let gates: Vec<&str> = report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| {
            assert_eq!(g["passed"], true, "{g}");
            g["name"].as_str().expect("name")
        })
        .collect();
    for want in [
        "restart check: create a task".to_string(),
        format!("restart check: deployment/{BACKEND} restarted"),
        "restart check: the task is still there".to_string(),
        "restart check: task deleted".to_string(),
    ] {
        assert!(
            gates.contains(&want.as_str()),
            "no gate {want:?} in {gates:?}"
        );
    }
    let calls: Vec<String> = env.calls().iter().map(|c| c.argv.clone()).collect();
    let restart = calls
        .iter()
        .position(|c| {
            c.starts_with(&format!(
                "rollout restart deployment/{BACKEND} --namespace todo"
            ))
        })
        .unwrap_or_else(|| panic!("no rollout restart: {calls:#?}"));
    assert!(
        calls[restart..]
            .iter()
            .any(|c| c.starts_with(&format!("rollout status deployment/{BACKEND}"))),
        "waits for the rollout: {calls:#?}"
    );
    assert_eq!(
        env.mutating_calls().len(),
        1,
        "only the restart changes something: {:?}",
        env.mutating_calls()
    );
    // The task is gone again.
    let (status, body) = get(&format!(
        "http://127.0.0.1:{}/api/xtask-verify/tasks",
        apps.backend_port
    ));
    assert_eq!((status, body.trim()), (200, "[]"));

    // A restart that loses the data fails, naming the task and the volume.
    env.knob(
        "kube/rollout-restart-hook",
        &format!(
            r#"req() {{
  exec 3<>/dev/tcp/127.0.0.1/{port}
  printf '%s %s HTTP/1.1
Host: localhost
Connection: close

' "$1" "$2" >&3
  cat <&3
  exec 3>&-
}}
for id in $(req GET '/api/xtask-verify/tasks?status=all' | grep -o '"id":[0-9]*' | cut -d: -f2); do
  req DELETE "/api/xtask-verify/tasks/$id" >/dev/null
done
"#,
            port = apps.backend_port
        ),
    );
    let lost = env.xtask(&["verify", "--restart"]);
    assert_eq!(lost.code, 1, "{lost}");
    assert!(
        lost.stderr.contains("is gone after the backend restarted")
            && lost.stderr.contains("not on a volume"),
        "{lost}"
    );
}

#[test]
fn verify_with_auth_on_signs_up_and_uses_the_token() {
    let apps = Apps::start_with(&[("AUTH_SECRET", "verify-test-secret-0123456789abcdef")]);
    let env = Env::new();
    deployed(&env, &apps);
    let run = env.xtask(&["verify", "--json"]);
    run.ok();
    let gates = run.json()["gates"].clone();
    let chat = gates
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["name"] == "chat turn adds a task")
        .expect("chat gate")
        .clone();
    assert_eq!(chat["passed"], true, "{chat}");
    // Without a token the API refuses, so the checks above really used one.
    let status = ureq::get(&format!(
        "http://127.0.0.1:{}/api/xtask-verify/tasks",
        apps.backend_port
    ))
    .config()
    .http_status_as_error(false)
    .build()
    .call()
    .expect("answers")
    .status()
    .as_u16();
    assert_eq!(status, 401);
}

#[test]
fn verify_fails_with_what_failed_and_a_hint() {
    let apps = Apps::start();
    let env = Env::new();
    deployed(&env, &apps);
    env.knob(
        "kube/pods-todo.json",
        &list(&[ready_pod("todo-chatbot-backend-7d9f-abcde", 3)]),
    );
    // The backend's port-forward reaches a port where nothing listens.
    env.knob(
        &format!("kube/forward/{BACKEND}"),
        &apps::free_port().to_string(),
    );
    let run = env.xtask(&["verify"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("gate `pods ready, no restarts` failed: todo-chatbot-backend-7d9f-abcde"),
        "{run}"
    );
    assert!(run.stderr.contains("3 restarts"), "{run}");
    assert!(
        run.stderr.contains("gate `backend /health` failed"),
        "{run}"
    );
    assert!(run.stderr.contains("help: "), "{run}");
    // One line per check, each with its time.
    assert!(run.stdout.contains("frontend /"), "{run}");
    for pid in forward_pids(&env) {
        assert!(!alive(pid), "port-forward {pid} still runs");
    }
}

#[test]
fn verify_without_a_deployment_says_how_to_deploy() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    let run = env.xtask(&["verify"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("no pods in the namespace"), "{run}");
    assert!(run.stderr.contains("cargo xtask deploy --helm"), "{run}");
}

/// A scratch project with the real chart (for the values table) and its README.
fn with_chart(env: &Env) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in ["values.yaml", "values.schema.json", "README.md"] {
        let text = std::fs::read_to_string(repo.join("deploy/helm/todo-chatbot").join(f))
            .expect("chart file");
        env.write(&format!("deploy/helm/todo-chatbot/{f}"), &text);
    }
}

#[test]
fn docs_check_fails_after_a_values_change_until_regenerated() {
    let env = Env::new();
    with_chart(&env);
    env.xtask(&["docs"]).ok();
    env.xtask(&["docs", "--check"]).ok();
    assert!(env.project.join("docs/cli.md").is_file());
    assert!(env.project.join("docs/report/report.md").is_file());
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.project.join("docs/report/report.json")).expect("json"),
    )
    .expect("report parses");
    assert!(report["tools"].as_array().is_some_and(|t| !t.is_empty()));

    let values = env.project.join("deploy/helm/todo-chatbot/values.yaml");
    let text = std::fs::read_to_string(&values).expect("values");
    let changed = text.replacen("  port: 8000", "  port: 8080", 1);
    assert_ne!(text, changed, "the values file has the backend port");
    std::fs::write(&values, changed).expect("write");
    let run = env.xtask(&["docs", "--check"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("deploy/helm/todo-chatbot/README.md"),
        "{run}"
    );
    assert!(run.stderr.contains("help: run `cargo xtask docs`"), "{run}");

    env.xtask(&["docs"]).ok();
    env.xtask(&["docs", "--check"]).ok();
    let readme = std::fs::read_to_string(env.project.join("deploy/helm/todo-chatbot/README.md"))
        .expect("readme");
    assert!(
        readme.contains("| `backend.port` | integer | `8080` |"),
        "{readme}"
    );
}

#[test]
fn docs_check_fails_when_the_cli_reference_is_edited() {
    let env = Env::new();
    with_chart(&env);
    env.xtask(&["docs"]).ok();
    env.write("docs/cli.md", "# hand-edited\n");
    let run = env.xtask(&["docs", "--check"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("docs/cli.md"), "{run}");
}
