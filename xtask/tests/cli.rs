//! The real xtask binary against fake minikube, docker, kubectl and helm (see `tests/fakes`).

mod support;

use support::Env;

fn assert_no_mutation(env: &Env) {
    let m = env.mutating_calls();
    assert!(m.is_empty(), "expected no mutating call, got {m:#?}");
}

#[test]
fn doctor_with_every_tool_passes() {
    let env = Env::new();
    let run = env.xtask(&["doctor"]);
    run.ok();
    for tool in ["docker", "minikube", "kubectl", "helm"] {
        assert!(run.stdout.contains(tool), "{run}");
    }
    assert!(
        run.stdout.contains("1.38.1"),
        "minikube version read: {run}"
    );
    assert!(
        run.stdout.contains("kubectl-ai"),
        "optional tools listed: {run}"
    );
    assert_no_mutation(&env);
}

#[test]
fn doctor_checks_what_docker_gives_containers_not_the_host() {
    // A Docker Desktop VM with 1 CPU and 1.5 GiB, smaller than the cluster's 1 CPU and 2048 MB.
    let env = Env::new();
    env.knob("docker-cpus", "1\n");
    env.knob("docker-memory", "1610612736\n");
    let run = env.xtask(&["doctor", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let text = run.all();
    assert!(
        text.contains(
            "the cluster asks for 1 CPUs and 2048 MB; Docker gives containers 1 CPUs and 1536 MB"
        ),
        "{run}"
    );
    assert!(
        text.contains("Docker Desktop: Settings > Resources"),
        "{run}"
    );
    assert_eq!(run.json()["observed"]["host"]["source"], "docker", "{run}");

    // Enough: the gate passes and names Docker's figures.
    env.knob("docker-memory", "4294967296\n");
    let run = env.xtask(&["doctor"]);
    run.ok();
    assert!(
        run.all()
            .contains("Docker gives containers 1 CPUs, 4096 MB"),
        "{run}"
    );
}

#[test]
fn doctor_with_a_tool_missing_exits_1_with_the_hint() {
    let env = Env::new();
    env.remove_tool("minikube");
    let run = env.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("MISSING"), "{run}");
    assert!(
        run.stderr.contains("gate `minikube usable` failed"),
        "{run}"
    );
    assert!(run.stderr.contains("help: install minikube 1.32+"), "{run}");
}

#[test]
fn doctor_reports_an_unreachable_docker_daemon() {
    let env = Env::new();
    env.knob("docker-down", "");
    let run = env.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.all().contains("Cannot connect to the Docker daemon"),
        "{run}"
    );
}

#[test]
fn setup_from_nothing_starts_enables_addons_and_passes_gates() {
    let env = Env::new();
    let run = env.xtask(&["setup", "--json"]);
    run.ok();
    let m: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| format!("{} {}", c.tool, c.argv))
        .collect();
    assert_eq!(
        m,
        [
            "minikube start --driver=docker --cpus=1 --memory=2048 --kubernetes-version=v1.33.1",
            "minikube addons enable metrics-server",
            "minikube addons enable ingress",
        ]
    );
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
    assert_eq!(
        gates,
        [
            "profile running",
            "node Ready",
            "kube-system pods ready",
            "kubectl context"
        ]
    );
    assert!(
        report["notes"]
            .to_string()
            .contains("container runtime: docker"),
        "learns the runtime: {report}"
    );
}

#[test]
fn setup_again_makes_no_mutating_call() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&["setup"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stderr.contains("nothing to change"), "{run}");
}

#[test]
fn setup_switches_only_the_context_when_only_it_is_wrong() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.knob("kube/contexts/other", "");
    env.knob("kube/current", "other\n");
    env.clear_calls();
    env.xtask(&["setup"]).ok();
    let m = env.mutating_calls();
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0].argv, "config use-context demo");
}

#[test]
fn setup_restarts_a_stopped_profile_and_unpauses_a_paused_one() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.knob("minikube/demo/host", "Stopped\n");
    env.clear_calls();
    env.xtask(&["setup"]).ok();
    let m = env.mutating_calls();
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(m[0].argv.starts_with("start --driver=docker"), "{m:#?}");
    env.knob("minikube/demo/host", "Paused\n");
    env.clear_calls();
    env.xtask(&["setup"]).ok();
    let m = env.mutating_calls();
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(m[0].argv, "unpause");
}

#[test]
fn setup_dry_run_prints_the_plan_and_changes_nothing() {
    let env = Env::new();
    let run = env.xtask(&["setup", "--dry-run"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stdout.contains("plan (dry run"), "{run}");
    assert!(run.stdout.contains("1. start minikube"), "{run}");
    assert!(run.stdout.contains("enable addon ingress"), "{run}");
    assert!(!env.state.join("minikube/demo").exists());
}

#[test]
fn setup_failure_names_the_command_and_exit_code() {
    let env = Env::new();
    env.fail(
        "minikube-start",
        55,
        "❌  Exiting due to DRV_DOCKER_NOT_RUNNING: Found docker, but the docker service isn't running.",
    );
    let run = env.xtask(&["setup"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("`minikube --profile demo start"),
        "{run}"
    );
    assert!(run.stderr.contains("failed with exit code 55"), "{run}");
    assert!(run.stderr.contains("DRV_DOCKER_NOT_RUNNING"), "{run}");
    assert!(
        run.stderr.contains("help: see `minikube logs -p demo`"),
        "{run}"
    );
}

#[test]
fn build_twice_builds_nothing_the_second_time() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&["build"]);
    run.ok();
    let builds: Vec<_> = env.mutating_calls();
    assert_eq!(builds.len(), 2, "{builds:#?}");
    assert!(
        builds
            .iter()
            .all(|c| c.tool == "docker" && c.argv.starts_with("build "))
    );
    assert!(
        run.stderr.contains("docker-env"),
        "says which strategy and why: {run}"
    );
    // docker-env: the images are in minikube's daemon, not the local one.
    assert!(
        env.state
            .join("docker/minikube-demo")
            .read_dir()
            .expect("store")
            .count()
            == 2
    );
    assert!(!env.state.join("docker/local").exists());
    env.clear_calls();
    let run = env.xtask(&["build"]);
    run.ok();
    assert_no_mutation(&env);
}

#[test]
fn build_after_a_source_change_rebuilds_with_a_new_tag() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    let first = env.xtask(&["build", "--json"]).json();
    env.write("app/src/main.rs", "fn main() { println!(\"changed\"); }\n");
    env.clear_calls();
    let second = env.xtask(&["build", "--json"]).json();
    assert_eq!(env.mutating_calls().len(), 2);
    let tag = |r: &serde_json::Value| {
        r["observed"]["images"][0]["image"]
            .as_str()
            .map(String::from)
    };
    assert_ne!(tag(&first), tag(&second));
}

#[test]
fn build_with_containerd_loads_images_into_minikube() {
    let env = Env::new();
    env.write(
        "deploy/pipeline.toml",
        &support::PIPELINE.replace(
            "driver = \"docker\"",
            "driver = \"docker\"\ncontainer_runtime = \"containerd\"",
        ),
    );
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&["build"]);
    run.ok();
    let m: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c.tool,
                c.argv
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    assert_eq!(m.len(), 4, "{m:#?}");
    assert_eq!(
        m.iter().filter(|c| c.starts_with("docker build")).count(),
        2
    );
    assert_eq!(
        m.iter()
            .filter(|c| c.starts_with("minikube image load"))
            .count(),
        2
    );
    assert!(run.stderr.contains("image-load"), "{run}");
    env.clear_calls();
    env.xtask(&["build"]).ok();
    assert_no_mutation(&env);
}

#[test]
fn build_strategy_flag_and_image_selection() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    env.xtask(&["build", "--strategy", "image-load", "--image", "backend"])
        .ok();
    let m: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| format!("{} {}", c.tool, c.argv))
        .collect();
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(
        m[0].starts_with("docker build --tag todo-backend:"),
        "{m:#?}"
    );
    assert!(
        m[1].starts_with("minikube image load todo-backend:"),
        "{m:#?}"
    );
    let run = env.xtask(&["build", "--image", "db"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("use one of: backend, frontend"),
        "{run}"
    );
}

#[test]
fn docker_env_on_a_containerd_cluster_is_refused() {
    let env = Env::new();
    env.write(
        "deploy/pipeline.toml",
        &support::PIPELINE.replace(
            "driver = \"docker\"",
            "driver = \"docker\"\ncontainer_runtime = \"containerd\"",
        ),
    );
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&["build", "--strategy", "docker-env"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("runs `containerd`"), "{run}");
    assert_no_mutation(&env);
}

#[test]
fn build_dry_run_prints_the_plan_and_builds_nothing() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&["build", "--dry-run"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stdout.contains("1. build todo-backend:"), "{run}");
    assert!(run.stdout.contains("2. build todo-frontend:"), "{run}");
}

#[test]
fn build_needs_a_running_cluster_unless_no_cluster() {
    let env = Env::new();
    let run = env.xtask(&["build"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("help: run `cargo xtask setup` first"),
        "{run}"
    );
    env.remove_tool("minikube");
    let run = env.xtask(&["build", "--no-cluster"]);
    run.ok();
    assert_eq!(
        env.state
            .join("docker/local")
            .read_dir()
            .expect("store")
            .count(),
        2
    );
}

#[test]
fn failing_docker_build_exits_1_with_stderr_tail_and_hint() {
    let env = Env::new();
    env.fail(
        "docker-build",
        1,
        "#12 [build 4/4] RUN cargo build --release --locked\n#12 ERROR: process \"/bin/sh -c cargo build\" did not complete successfully: exit code: 101\nERROR: failed to solve: process \"/bin/sh -c cargo build --release --locked\" did not complete successfully: exit code: 101",
    );
    let run = env.xtask(&["build", "--no-cluster"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("`docker build --tag todo-backend:"),
        "{run}"
    );
    assert!(run.stderr.contains("failed with exit code 1"), "{run}");
    assert!(
        run.stderr.contains("ERROR: failed to solve"),
        "tail shown: {run}"
    );
    assert!(run.stderr.contains("help: fix the error above in"), "{run}");
}

#[test]
fn build_gates_catch_root_user_and_size_over_budget() {
    let env = Env::new();
    env.knob("image-user", "");
    env.knob("image-size-frontend", "95000000");
    let run = env.xtask(&["build", "--no-cluster"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("gate `backend non-root` failed"),
        "{run}"
    );
    assert!(run.stderr.contains("runs as root (no USER)"), "{run}");
    assert!(
        run.stderr
            .contains("95.0 MB is 15.0 MB (19%) over the 80 MB budget"),
        "{run}"
    );
}

#[test]
fn build_review_without_docker_ai_says_so_and_goes_on() {
    let env = Env::new();
    let run = env.xtask(&["build", "--no-cluster", "--review"]);
    run.ok();
    assert!(
        run.stderr.contains("`docker ai`) is not available"),
        "{run}"
    );
}

#[test]
fn build_review_with_docker_ai_stores_the_answer() {
    let env = Env::new();
    env.knob("docker-ai", "v1.9.11\n");
    env.xtask(&["build", "--no-cluster", "--review"]).ok();
    let review =
        std::fs::read_to_string(env.project.join("docs/aiops/gordon-dockerfile-review.md"))
            .expect("review written");
    assert!(
        review.contains("v1.9.11") && review.contains("non-root user"),
        "{review}"
    );
    let ai = env
        .calls()
        .into_iter()
        .find(|c| c.argv.starts_with("ai Review"))
        .expect("asked");
    assert!(ai.stdin, "the Dockerfile goes on stdin");
}

#[test]
fn secrets_from_dotenv_never_reach_argv_logs_or_output() {
    let env = Env::new();
    let secrets = [
        "sk-test-0123456789abcdef",
        "auth-secret-value-42",
        "pw-in-the-url-77",
    ];
    env.write(
        ".env",
        &format!(
            "OPENAI_API_KEY={}\nAUTH_SECRET=\"{}\"\nDATABASE_URL=postgres://u:{}@db:5432/todo\n",
            secrets[0], secrets[1], secrets[2]
        ),
    );
    // A tool that echoes a secret in its error output: the xtask must redact it.
    env.fail("docker-build", 1, &format!("ERROR: bad key {}", secrets[0]));
    let mut outputs = String::new();
    for args in [
        &["doctor", "-vv"][..],
        &["setup", "-vv", "--json"],
        &["build", "-vv"],
        &["status", "-vv", "--json"],
    ] {
        outputs.push_str(&env.xtask(args).all());
    }
    assert!(
        outputs.contains("ERROR: bad key ***"),
        "redacted tail shown: {outputs}"
    );
    let logs = env.logs();
    for s in secrets {
        assert!(!logs.contains(s), "secret {s} in the fakes' logs");
        assert!(!outputs.contains(s), "secret {s} in the output");
    }
}

#[test]
fn json_reports_parse_for_every_implemented_stage() {
    let env = Env::new();
    for args in [
        &["doctor", "--json"][..],
        &["setup", "--json"],
        &["build", "--json"],
        &["status", "--json"],
        &["build", "--json", "--dry-run"],
    ] {
        let run = env.xtask(args);
        let v = run.json();
        assert_eq!(v["stage"], args[0], "{run}");
        assert!(
            v["ok"].is_boolean() && v["gates"].is_array() && v["commands"].is_array(),
            "{v}"
        );
    }
}

#[test]
fn json_on_failure_still_parses_and_carries_the_error() {
    let env = Env::new();
    let run = env.xtask(&["build", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert!(
        v["error"].as_str().expect("error").contains("not running"),
        "{v}"
    );
}

#[test]
fn status_is_read_only_and_shows_images_and_url() {
    let env = Env::new();
    env.xtask(&["setup"]).ok();
    env.xtask(&["build"]).ok();
    env.knob(
        "kube/services-todo.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"todo-frontend"},"spec":{"type":"LoadBalancer","ports":[{"port":80,"nodePort":31234}]},"status":{"loadBalancer":{}}}]}"#,
    );
    env.clear_calls();
    let run = env.xtask(&["status"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stdout.contains("in cluster"), "{run}");
    assert!(run.stdout.contains("http://192.168.49.2:31234"), "{run}");
}

#[test]
fn bad_configuration_exits_2_naming_file_and_key() {
    let env = Env::new();
    env.write("deploy/pipeline.toml", "[cluster]\nprofil = \"x\"\n");
    let run = env.xtask(&["setup"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("deploy/pipeline.toml (line 2): key `cluster.profil`"),
        "{run}"
    );
    assert!(
        run.stderr.contains("`profile`"),
        "names what is allowed: {run}"
    );
    assert_no_mutation(&env);
}

#[test]
fn bad_usage_exits_2() {
    let env = Env::new();
    assert_eq!(env.xtask(&["build", "--strategy", "teleport"]).code, 2);
    assert_eq!(env.xtask(&["frobnicate"]).code, 2);
}

#[test]
fn completions_print_a_script() {
    let env = Env::new();
    let run = env.xtask(&["completions", "bash"]);
    run.ok();
    assert!(
        run.stdout.contains("complete -F _cargo_xtask_cargo"),
        "{run}"
    );
}

#[test]
fn test_command_under_ci_fails_on_a_missing_tier_before_running_tests() {
    let env = Env::new();
    let run = env.xtask_with(&["test"], &[("CI", "true")]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("MISSING"), "{run}");
    assert!(
        run.stderr
            .contains("CI=true and test dependencies are missing"),
        "{run}"
    );
    assert!(run.stderr.contains("Chromium (browser tests)"), "{run}");
    assert!(!run.stderr.contains("Running cargo test"), "{run}");
}
