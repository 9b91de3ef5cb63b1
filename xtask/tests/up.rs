//! `up`: the whole pipeline against the fake cluster tools, with the real backend and frontend
//! (built by the test) behind the fake kubectl's port-forward, the project's real manifests and
//! chart in the scratch project.

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod apps;
mod support;

use apps::Apps;
use support::Env;

/// A scratch project with the real chart and manifests; the fake cluster's pods, Services,
/// endpoints and port-forwards (reaching `apps`) answer as after a deploy.
fn project(apps: &Apps) -> Env {
    let env = Env::new();
    env.with_deploy_files();
    env.deployed_cluster("ClusterIP", (apps.backend_port, apps.frontend_port));
    env
}

fn stages(run: &support::Run) -> Vec<(String, bool)> {
    run.json()["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap_or("").to_string(),
                s["ok"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn up_runs_the_stages_in_order_then_a_second_run_changes_nothing() {
    let apps = Apps::start();
    let env = project(&apps);
    let first = env.xtask(&["up", "--json"]);
    first.ok();
    let names: Vec<String> = stages(&first).into_iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        [
            "doctor",
            "setup",
            "build",
            "deploy --helm",
            "verify",
            "aiops",
            "docs"
        ],
        "{first}"
    );
    assert!(stages(&first).iter().all(|s| s.1), "{first}");
    assert!(first.json()["mutating_calls"].as_u64() > Some(0), "{first}");
    // The order of the mutating calls follows the stages.
    let m = env.mutating_calls();
    let pos = |tool: &str, start: &str| {
        m.iter()
            .position(|c| c.tool == tool && c.argv.starts_with(start))
            .unwrap_or_else(|| panic!("no `{tool} {start}` in {m:#?}"))
    };
    assert!(pos("minikube", "start") < pos("docker", "build"));
    assert!(pos("docker", "build") < pos("helm", "upgrade"));
    // After a deploy that changed something, the persistence check restarts the backend.
    assert!(
        pos("helm", "upgrade") < pos("kubectl", "rollout restart deployment/todo-chatbot-backend"),
        "{m:#?}"
    );
    assert!(
        first
            .stdout
            .contains("restart check: the task is still there"),
        "{first}"
    );
    assert!(env.project.join("docs/report/report.json").is_file());

    env.clear_calls();
    let second = env.xtask(&["up"]);
    second.ok();
    assert!(
        env.mutating_calls().is_empty(),
        "{:#?}",
        env.mutating_calls()
    );
    assert!(
        second.stdout.contains("nothing changed") && second.stdout.contains("no mutating call"),
        "{second}"
    );
    for stage in [
        "doctor", "setup", "build", "deploy", "verify", "aiops", "docs",
    ] {
        assert!(
            second.stdout.contains(stage),
            "summary lacks {stage}: {second}"
        );
    }
}

#[test]
fn up_stops_at_the_first_failed_gate_with_its_reason() {
    let apps = Apps::start();
    let env = project(&apps);
    // The image comes out over its size budget: the build gate fails.
    env.knob("image-size-backend", "900000000");
    let run = env.xtask(&["up"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("build: gate"), "{run}");
    assert!(run.stderr.contains("over the"), "{run}");
    assert!(run.stderr.contains("help: "), "{run}");
    assert!(run.stderr.contains("up: stopped at `build`"), "{run}");
    // Nothing after build ran.
    assert!(
        !env.calls()
            .iter()
            .any(|c| c.tool == "helm" && c.argv.starts_with("upgrade")),
        "deploy ran after a failed gate"
    );
    assert!(!run.stdout.contains("verify"), "{run}");
}

#[test]
fn up_dry_run_prints_the_whole_plan_and_mutates_nothing() {
    let apps = Apps::start();
    let env = project(&apps);
    let run = env.xtask(&["up", "--dry-run"]);
    run.ok();
    assert!(
        env.mutating_calls().is_empty(),
        "{:#?}",
        env.mutating_calls()
    );
    for stage in [
        "doctor:",
        "setup:",
        "build:",
        "deploy --helm:",
        "verify:",
        "aiops:",
        "docs:",
    ] {
        assert!(run.stdout.contains(stage), "plan lacks {stage}: {run}");
    }
    assert!(run.stdout.contains("start minikube"), "{run}");
    assert!(run.stdout.contains("nothing was changed"), "{run}");
    assert!(!env.project.join("docs/report/report.json").exists());
}

#[test]
fn up_no_restart_check_deploys_without_restarting_the_backend() {
    let apps = Apps::start();
    let env = project(&apps);
    let run = env.xtask(&["up", "--no-restart-check"]);
    run.ok();
    assert!(
        env.mutating_calls()
            .iter()
            .any(|c| c.argv.starts_with("upgrade")),
        "it deployed: {:#?}",
        env.mutating_calls()
    );
    assert!(
        env.calls()
            .iter()
            .all(|c| !c.argv.starts_with("rollout restart")),
        "{:#?}",
        env.calls()
    );
    assert!(!run.all().contains("restart check"), "{run}");
}
