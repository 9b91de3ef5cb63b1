//! The real xtask binary on any host (Linux, macOS, Windows), with no fake tool: a scratch project
//! whose PATH is an empty folder, or holds a program that is not the tool it is named after.
//! What the fake cluster tools drive (bash scripts, so Unix only) is in the other test files.

mod support;

use support::Env;

const TOOLS: &[&str] = &["docker", "minikube", "kubectl", "helm"];

#[test]
fn help_names_every_stage() {
    let env = Env::bare();
    let run = env.xtask(&["--help"]);
    run.ok();
    for stage in [
        "doctor", "setup", "build", "deploy", "verify", "status", "down",
    ] {
        assert!(run.stdout.contains(stage), "{stage}\n{run}");
    }
}

#[test]
fn doctor_without_tools_names_each_with_a_help_line() {
    let env = Env::bare();
    let run = env.xtask(&["doctor"]);
    assert_eq!(run.code, 1, "{run}");
    for tool in TOOLS {
        assert!(
            run.stderr.contains(&format!("{tool}: not found on PATH")),
            "{tool}\n{run}"
        );
    }
    assert!(run.stderr.contains("help: install minikube"), "{run}");
}

/// A program named like the tool (`kubectl.exe` on Windows, `kubectl` elsewhere) is found on
/// PATH; it is not kubectl, so doctor reads no version from it and says so.
#[test]
fn doctor_finds_a_tool_by_its_host_file_name() {
    let env = Env::bare();
    let fake = env
        .bin
        .join(format!("kubectl{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_xtask"), &fake).expect("copy a program");
    let run = env.xtask(&["doctor", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let report = run.json();
    let tools = report["observed"]["tools"].as_array().expect("tools");
    let kubectl = tools
        .iter()
        .find(|t| t["name"] == "kubectl")
        .expect("kubectl row");
    let found = kubectl["path"].as_str().expect("a path: found on PATH");
    assert_eq!(
        std::path::Path::new(found).canonicalize().expect("exists"),
        fake.canonicalize().expect("exists"),
        "{kubectl:#}"
    );
    assert!(
        kubectl["problem"].is_string(),
        "no version read: {kubectl:#}"
    );
    let minikube = tools
        .iter()
        .find(|t| t["name"] == "minikube")
        .expect("minikube row");
    assert!(minikube["path"].is_null(), "{minikube:#}");
}

#[test]
fn status_without_a_cluster_is_read_only_and_succeeds() {
    let env = Env::bare();
    let run = env.xtask(&["status"]);
    run.ok();
    assert!(run.stdout.contains("minikube not installed"), "{run}");
}

#[test]
fn a_bad_configuration_names_the_file_and_the_fix() {
    let env = Env::bare();
    env.write("deploy/pipeline.toml", "[cluster]\ncpus = \"many\"\n");
    let run = env.xtask(&["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("pipeline.toml"), "{run}");
    assert!(run.stderr.contains("help:"), "{run}");
}
