//! The kube context is resolved once (`--context` > XTASK_CONTEXT > the profile's) and every
//! cluster-facing command uses it; every tool call runs in the project root, wherever the xtask
//! was started from.

mod support;

use std::path::Path;

use support::Env;

#[track_caller]
fn assert_all_on(env: &Env, what: &str, context: &str) {
    // Cluster calls, not `config ...` or `version`.
    let calls: Vec<(String, String)> = env
        .kubectl_contexts()
        .into_iter()
        .filter(|(_, a)| !a.starts_with("config ") && !a.starts_with("version"))
        .collect();
    assert!(!calls.is_empty(), "{what}: no kubectl call");
    for (c, argv) in &calls {
        assert_eq!(
            c, context,
            "{what}: `kubectl {argv}` is not on context {context}"
        );
    }
}

#[test]
fn deploy_verify_and_aiops_all_use_the_context_flag() {
    let env = Env::new();
    env.with_deploy_files();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let agent = std::fs::read_to_string(repo.join("deploy/k8s/kagent/todo-agent.yaml"))
        .expect("kagent manifests");
    env.write("deploy/k8s/kagent/todo-agent.yaml", &agent);
    env.write(".env", "OPENAI_API_KEY=sk-test-context-0123456789abcdef\n");
    // The only cluster is `other`; the configured profile (`demo`) does not exist.
    env.xtask(&["setup", "--profile", "other"]).ok();
    env.clear_calls();

    env.xtask(&["deploy", "--context", "other"]).ok();
    assert_all_on(&env, "deploy", "other");

    env.clear_calls();
    // verify reaches no app here (the fakes forward to nothing); what matters is where it asked.
    let _ = env.xtask(&["verify", "--context", "other"]);
    assert_all_on(&env, "verify", "other");

    env.clear_calls();
    env.add_fake("kagent");
    let _ = env.xtask_with(
        &["aiops", "--install-kagent"],
        &[("XTASK_CONTEXT", "other")],
    );
    assert_all_on(&env, "aiops (XTASK_CONTEXT)", "other");

    env.clear_calls();
    env.xtask(&["status", "--context", "other"]).ok();
    assert_all_on(&env, "status", "other");

    env.clear_calls();
    env.xtask(&["down", "--context", "other"]).ok();
    assert_all_on(&env, "down", "other");
}

#[test]
fn without_the_flag_the_profile_context_is_used() {
    let env = Env::new();
    env.with_deploy_files();
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let _ = env.xtask(&["verify"]);
    assert_all_on(&env, "verify", "demo");
}

#[track_caller]
fn assert_all_in_root(env: &Env, what: &str) {
    let dirs = env.call_dirs();
    assert!(!dirs.is_empty(), "{what}: no tool call");
    let root = env.project.canonicalize().expect("root");
    for (tool, dir) in dirs {
        assert_eq!(
            dir.canonicalize().expect("dir"),
            root,
            "{what}: {tool} ran outside the project root"
        );
    }
}

#[test]
fn every_call_runs_in_the_project_root_from_a_subfolder() {
    let env = Env::new();
    env.with_deploy_files();
    env.xtask(&["setup"]).ok();

    env.clear_calls();
    let from_root = env.xtask(&["verify", "--static"]);
    env.clear_calls();
    let from_sub = env.xtask_in("app/backend", &["verify", "--static"]);
    assert_eq!(from_root.code, from_sub.code, "{from_root}\n{from_sub}");
    assert_all_in_root(&env, "verify --static");

    env.clear_calls();
    let build = env.xtask_in("app/backend", &["build", "--dry-run"]);
    build.ok();
    assert!(build.stdout.contains("1. build todo-backend:"), "{build}");
    assert_all_in_root(&env, "build --dry-run");
}
