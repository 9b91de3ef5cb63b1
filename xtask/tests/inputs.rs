//! Per-image inputs, `build --fast` and chart overrides: the real xtask binary against the fake
//! cluster tools, in a scratch project laid out like the real one (two apps, a shared crate).

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod support;

use support::Env;

/// The project's layout: shared manifests and crates, one folder per app.
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
"#;

fn project() -> Env {
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
    env.xtask(&["setup"]).ok();
    env
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

#[test]
fn an_app_change_rebuilds_only_its_image_and_a_shared_change_both() {
    let env = project();
    env.xtask(&["build"]).ok();
    env.clear_calls();

    env.write(
        "app/frontend/src/main.rs",
        "fn main() { println!(\"new\"); }\n",
    );
    env.xtask(&["build"]).ok();
    assert_eq!(built(&env), ["frontend"]);

    env.clear_calls();
    env.write(
        "app/backend/src/main.rs",
        "fn main() { println!(\"new\"); }\n",
    );
    env.xtask(&["build"]).ok();
    assert_eq!(built(&env), ["backend"]);

    env.clear_calls();
    env.write("crates/shared/src/lib.rs", "pub fn g() {}\n");
    env.xtask(&["build"]).ok();
    assert_eq!(built(&env), ["backend", "frontend"]);

    // Editor scratch files and build output are no inputs.
    env.clear_calls();
    env.write("app/backend/src/main.rs~", "backup");
    env.write("app/backend/src/.main.rs.swp", "swap");
    env.write("app/backend/target/debug/x", "out");
    env.xtask(&["build"]).ok();
    assert!(built(&env).is_empty());
}

#[test]
fn build_dry_run_names_the_changed_image_and_why() {
    let env = project();
    env.xtask(&["build"]).ok();
    env.write(
        "app/backend/src/main.rs",
        "fn main() { println!(\"new\"); }\n",
    );
    env.clear_calls();
    let run = env.xtask(&["build", "--dry-run"]);
    run.ok();
    assert!(env.mutating_calls().is_empty());
    let plan: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("1.") || l.trim_start().starts_with("2."))
        .collect();
    assert_eq!(plan.len(), 1, "{run}");
    assert!(
        plan[0].contains("build todo-backend:")
            && plan[0].contains("app/backend/src/main.rs changed since todo-backend:"),
        "{run}"
    );
    assert!(
        run.stderr.contains("frontend: unchanged"),
        "says the other image is unchanged: {run}"
    );
}

#[test]
fn build_fast_passes_the_profile_and_gets_its_own_tags() {
    let env = project();
    let release = env.xtask(&["build", "--json"]).json();
    env.clear_calls();
    let fast = env.xtask(&["build", "--fast", "--json"]);
    fast.ok();
    let builds: Vec<_> = env.mutating_calls();
    assert_eq!(builds.len(), 2, "{builds:#?}");
    for b in &builds {
        assert!(b.argv.contains("--build-arg PROFILE=iter"), "{b:?}");
    }
    let tag = |r: &serde_json::Value| r["observed"]["images"][0]["image"].to_string();
    assert_ne!(
        tag(&release),
        tag(&fast.json()),
        "fast images get their own tags"
    );

    // deploy --fast deploys those images: the same tags as the fast build.
    with_chart(&env);
    env.clear_calls();
    let deploy = env.xtask(&["deploy", "--fast", "--dry-run", "--json"]);
    let images = deploy.json()["observed"]["images"].clone();
    assert_eq!(
        images["backend"].as_str(),
        fast.json()["observed"]["images"][0]["image"].as_str(),
        "{deploy}"
    );

    // A Dockerfile without the argument cannot make an iteration image.
    env.write(
        "deploy/docker/Dockerfile",
        "FROM scratch AS backend\nUSER 65532\nFROM scratch AS frontend\nUSER 65532\n",
    );
    let refused = env.xtask(&["build", "--fast"]);
    assert_eq!(refused.code, 2, "{refused}");
    assert!(refused.stderr.contains("ARG PROFILE"), "{refused}");
    assert!(refused.stderr.contains("help:"), "{refused}");
}

fn with_chart(env: &Env) {
    env.with_deploy_files();
}

fn upgrades(env: &Env) -> Vec<String> {
    env.mutating_calls()
        .iter()
        .filter(|c| c.tool == "helm" && c.argv.starts_with("upgrade"))
        .map(|c| c.argv.clone())
        .collect()
}

#[test]
fn overrides_upgrade_once_then_change_nothing() {
    let env = Env::new();
    with_chart(&env);
    env.xtask(&["setup"]).ok();
    env.xtask(&["deploy", "--helm"]).ok();
    env.write("replicas.yaml", "frontend:\n  replicaCount: 2\n");

    let args = [
        "deploy",
        "--helm",
        "--set",
        "backend.replicaCount=2",
        "--values",
        "replicas.yaml",
    ];
    env.clear_calls();
    env.xtask(&args).ok();
    let up = upgrades(&env);
    assert_eq!(up.len(), 1, "changed overrides upgrade: {up:#?}");
    assert!(up[0].contains("--set backend.replicaCount=2"), "{}", up[0]);
    assert!(up[0].contains("replicas.yaml"), "{}", up[0]);
    let values = std::fs::read_to_string(env.state.join("helm/values.log")).expect("values");
    assert!(values.contains("replicaCount: 2"), "{values}");

    env.clear_calls();
    env.xtask(&args).ok();
    let m = env.mutating_calls();
    assert!(
        m.is_empty(),
        "the same overrides again: no mutating call: {m:#?}"
    );

    // A changed values file is a change.
    env.write("replicas.yaml", "frontend:\n  replicaCount: 3\n");
    env.clear_calls();
    env.xtask(&args).ok();
    assert_eq!(upgrades(&env).len(), 1);

    // Dropping the overrides goes back to the plain release.
    env.clear_calls();
    env.xtask(&["deploy", "--helm"]).ok();
    assert_eq!(upgrades(&env).len(), 1);
}

#[test]
fn a_secret_set_is_refused_with_a_pointer_to_dotenv() {
    let env = Env::new();
    with_chart(&env);
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let run = env.xtask(&[
        "deploy",
        "--helm",
        "--set",
        "secrets.openaiApiKey=sk-abcdefghijklmnop",
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains(".env"), "{run}");
    assert!(!run.all().contains("sk-abcdefghijklmnop"), "{run}");
    assert!(env.calls().is_empty(), "nothing ran: {:#?}", env.calls());

    let raw = env.xtask(&["up", "--raw", "--set", "a=b"]);
    assert_eq!(raw.code, 2, "{raw}");
    assert!(raw.stderr.contains("help:"), "{raw}");
}

/// The `--file` of each `docker build` since the log was last cleared.
fn dockerfiles(env: &Env) -> Vec<String> {
    env.mutating_calls()
        .iter()
        .filter(|c| c.tool == "docker" && c.argv.starts_with("build "))
        .filter_map(|c| {
            let words: Vec<&str> = c.argv.split(' ').collect();
            let i = words.iter().position(|w| *w == "--file")?;
            words.get(i + 1).map(|f| f.to_string())
        })
        .collect()
}

/// The build uses `buildkit.Dockerfile` (cache mounts) beside the Dockerfile when the engine
/// builds with BuildKit, as the Docker CLI decides: `DOCKER_BUILDKIT` when set, else a client of
/// 23 or newer with the buildx plugin. The classic builder gets the Dockerfile. The tags do not
/// depend on the builder.
#[test]
fn builds_use_the_cache_mount_dockerfile_when_the_engine_has_buildkit() {
    let env = project();
    let only = |used: Vec<String>, file: &str| {
        assert_eq!(used.len(), 2, "{used:?}");
        assert!(
            used.iter().all(|f| f.ends_with(file)),
            "{used:?} not {file}"
        );
    };
    // No buildkit.Dockerfile: the Dockerfile, whatever the builder (the fake client is 28.3.0
    // with buildx).
    env.xtask_with(&["build"], &[("DOCKER_BUILDKIT", "1")]).ok();
    only(dockerfiles(&env), "deploy/docker/Dockerfile");

    env.write(
        "deploy/docker/buildkit.Dockerfile",
        "ARG PROFILE=release\nFROM scratch AS backend\nUSER 65532\nFROM scratch AS frontend\nUSER 65532\n",
    );
    let tags = |vars: &[(&str, &str)]| {
        let plan = env
            .xtask_with(&["build", "--dry-run", "--json"], vars)
            .json();
        plan["observed"]["images"].to_string()
    };
    let with_buildkit = tags(&[("DOCKER_BUILDKIT", "1")]);
    assert!(with_buildkit.contains("todo-backend:"), "{with_buildkit}");
    assert_eq!(
        with_buildkit,
        tags(&[("DOCKER_BUILDKIT", "0")]),
        "the builder changes the tags"
    );

    // A 23+ client with buildx, DOCKER_BUILDKIT unset: BuildKit, and the report says so.
    env.clear_calls();
    let run = env.xtask(&["build"]);
    run.ok();
    only(dockerfiles(&env), "deploy/docker/buildkit.Dockerfile");
    assert!(run.stderr.contains("BuildKit builds the images"), "{run}");

    // DOCKER_BUILDKIT=0: the classic builder, so the Dockerfile (a change makes new tags).
    env.write("app/backend/src/main.rs", "fn main() { let _ = 1; }\n");
    env.write("app/frontend/src/main.rs", "fn main() { let _ = 1; }\n");
    env.clear_calls();
    env.xtask_with(&["build"], &[("DOCKER_BUILDKIT", "0")]).ok();
    only(dockerfiles(&env), "deploy/docker/Dockerfile");

    // No buildx plugin and DOCKER_BUILDKIT unset: the classic builder.
    env.knob("no-buildx", "");
    env.write("app/backend/src/main.rs", "fn main() { let _ = 2; }\n");
    env.write("app/frontend/src/main.rs", "fn main() { let _ = 2; }\n");
    env.clear_calls();
    env.xtask(&["build"]).ok();
    only(dockerfiles(&env), "deploy/docker/Dockerfile");

    // DOCKER_BUILDKIT=1 even without buildx: the CLI is told to use BuildKit.
    env.write("app/backend/src/main.rs", "fn main() { let _ = 3; }\n");
    env.write("app/frontend/src/main.rs", "fn main() { let _ = 3; }\n");
    env.clear_calls();
    env.xtask_with(&["build", "--fast"], &[("DOCKER_BUILDKIT", "true")])
        .ok();
    only(dockerfiles(&env), "deploy/docker/buildkit.Dockerfile");
}
