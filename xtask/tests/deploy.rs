//! `deploy`, `deploy --helm` and `down`: the real xtask binary against the fake kubectl and
//! helm (see `tests/fakes`, the object store in `kube-store.sh`), with the project's real raw
//! manifests and chart copied into the scratch project.

mod support;

use std::time::{Duration, Instant};

use support::Env;

const OPENAI_KEY: &str = "sk-test-abcdefghijklmnop0123456789";
const AUTH_SECRET: &str = "auth-secret-zyxwvutsrqponm98765";

/// A scratch project with the real manifests and chart, a running fake cluster and a `.env`.
fn cluster() -> Env {
    let env = Env::new();
    env.with_deploy_files();
    env.write(
        ".env",
        &format!("OPENAI_API_KEY={OPENAI_KEY}\nAUTH_SECRET=\"{AUTH_SECRET}\"\n"),
    );
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    env
}

fn mutations(env: &Env) -> Vec<String> {
    env.mutating_calls()
        .iter()
        .map(|c| format!("{} {}", c.tool, c.argv))
        .collect()
}

#[track_caller]
fn assert_no_mutation(env: &Env) {
    let m = mutations(env);
    assert!(m.is_empty(), "expected no mutating call, got {m:#?}");
}

/// No `.env` value in any argv the fakes saw, in the stdout/stderr of `run`, or in the values
/// files helm got; stdin is where they belong.
#[track_caller]
fn assert_secrets_only_on_stdin(env: &Env, run: &support::Run) {
    for c in env.calls() {
        for s in [OPENAI_KEY, AUTH_SECRET] {
            assert!(!c.argv.contains(s), "secret in argv: {c:?}");
        }
    }
    for s in [OPENAI_KEY, AUTH_SECRET] {
        assert!(!run.all().contains(s), "secret in the output: {run}");
    }
    let values = std::fs::read_to_string(env.state.join("helm/values.log")).unwrap_or_default();
    for s in [OPENAI_KEY, AUTH_SECRET] {
        assert!(!values.contains(s), "secret in a values file: {values}");
    }
}

#[test]
fn deploy_applies_in_order_then_a_second_run_changes_nothing() {
    let env = cluster();
    let run = env.xtask(&["deploy", "--json"]);
    run.ok();
    let applied: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| {
            assert!(c.argv.starts_with("apply --server-side"), "{c:?}");
            assert!(c.stdin, "manifests go on stdin: {c:?}");
            c.argv.clone()
        })
        .collect();
    // Namespace, ConfigMap, Secret, the SQLite claim, two Deployments, two Services, two
    // NetworkPolicies.
    assert_eq!(applied.len(), 10, "{applied:#?}");
    let stdin = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin log");
    let order: Vec<usize> = [
        "kind: Namespace",
        "kind: ConfigMap",
        "kind: Secret",
        "kind: PersistentVolumeClaim",
        "name: todo-chatbot-backend\n  namespace",
        "kind: Service",
        "name: todo-chatbot-frontend\n  namespace",
        "kind: NetworkPolicy",
    ]
    .iter()
    .map(|k| stdin.find(k).unwrap_or_else(|| panic!("{k} not applied")))
    .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "applied in file order");
    assert!(!stdin.contains("${"), "placeholders substituted");
    assert!(
        stdin.contains("image: todo-backend:"),
        "digest tag: {stdin}"
    );
    assert!(
        !stdin.contains("kind: StatefulSet"),
        "no in-cluster Postgres with SQLite"
    );
    assert!(stdin.contains(OPENAI_KEY), "the Secret travels on stdin");
    assert!(stdin.contains("DATABASE_URL: \"sqlite:///data/todo.db\""));
    assert_secrets_only_on_stdin(&env, &run);
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
            "deployment/todo-chatbot-backend rolled out",
            "deployment/todo-chatbot-frontend rolled out",
            "service/todo-chatbot-backend has endpoints",
            "service/todo-chatbot-frontend has endpoints",
        ]
    );

    env.clear_calls();
    let again = env.xtask(&["deploy"]);
    again.ok();
    assert_no_mutation(&env);
    assert!(again.stderr.contains("nothing to change"), "{again}");
}

#[test]
fn a_new_image_tag_applies_only_the_deployments() {
    let env = cluster();
    env.xtask(&["deploy"]).ok();
    env.write("app/src/main.rs", "fn main() { println!(\"new\"); }\n");
    env.clear_calls();
    let run = env.xtask(&["deploy", "--json"]);
    run.ok();
    let plan = run.json()["plan"].clone();
    assert_eq!(
        plan,
        serde_json::json!([
            "apply deployment/todo-chatbot-backend (changed)",
            "apply deployment/todo-chatbot-frontend (changed)"
        ])
    );
}

#[test]
fn a_changed_secret_is_applied_and_the_backend_restarted() {
    let env = cluster();
    env.xtask(&["deploy"]).ok();
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}x\n"));
    env.clear_calls();
    let run = env.xtask(&["deploy"]);
    run.ok();
    let m = mutations(&env);
    assert_eq!(m.len(), 2, "only the backend reads the Secret: {m:#?}");
    assert!(m[0].starts_with("kubectl apply"), "{m:#?}");
    assert!(
        m[1].contains("rollout restart deployment/todo-chatbot-backend"),
        "{m:#?}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_mutates_nothing() {
    let env = cluster();
    let run = env.xtask(&["deploy", "--dry-run"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stdout.contains("plan (dry run"), "{run}");
    assert!(
        run.stdout
            .contains("apply deployment/todo-chatbot-backend (new)"),
        "{run}"
    );
    let run = env.xtask(&["deploy", "--helm", "--dry-run"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(
        run.stdout.contains("helm install release todo-chatbot"),
        "{run}"
    );
    env.xtask(&["deploy"]).ok();
    env.clear_calls();
    env.xtask(&["down", "--dry-run", "--purge"]).ok();
    assert_no_mutation(&env);
}

#[test]
fn internal_postgres_gets_a_generated_password_that_stays() {
    let env = cluster();
    env.write(
        "deploy/pipeline.toml",
        &format!("{}database = \"internal\"\n", support::PIPELINE),
    );
    let run = env.xtask(&["deploy"]);
    run.ok();
    let dotenv = std::fs::read_to_string(env.project.join(".env")).expect(".env");
    let password = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("POSTGRES_PASSWORD="))
        .expect("password kept in .env")
        .to_string();
    assert_eq!(password.len(), 32);
    assert!(!run.all().contains(&password), "{run}");
    let stdin = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin");
    assert!(stdin.contains("kind: StatefulSet"));
    assert!(stdin.contains(&format!(
        "postgres://todo:{password}@todo-chatbot-postgres:5432/todo"
    )));
    assert!(env.calls().iter().all(|c| !c.argv.contains(&password)));
    env.clear_calls();
    env.xtask(&["deploy"]).ok();
    assert_no_mutation(&env);
    // down keeps the volume; --purge deletes it.
    let run = env.xtask(&["down"]);
    run.ok();
    assert!(
        run.stderr
            .contains("persistentvolumeclaim/data-todo-chatbot-postgres-0"),
        "{run}"
    );
    assert!(
        env.state
            .join("kube/objects/todo/persistentvolumeclaim/data-todo-chatbot-postgres-0.json")
            .is_file()
    );
    env.xtask(&["down", "--purge"]).ok();
    assert!(!env.state.join("kube/objects/todo").exists());
}

/// SQLite's claim outlives `down` in both modes, `down` names it with the commands that delete
/// it, the next deploy finds it without re-creating it, and `down --purge` deletes it.
#[test]
fn down_keeps_the_sqlite_claim_and_says_how_to_delete_it_purge_deletes_it() {
    let env = cluster();
    let claim = env
        .state
        .join("kube/objects/todo/persistentvolumeclaim/todo-chatbot-sqlite.json");
    for helm in [false, true] {
        let deploy: &[&str] = if helm {
            &["deploy", "--helm"]
        } else {
            &["deploy"]
        };
        env.xtask(deploy).ok();
        assert!(claim.is_file(), "helm {helm}: the claim was made");
        env.clear_calls();
        let run = env.xtask(&["down"]);
        run.ok();
        assert!(claim.is_file(), "helm {helm}: down keeps the claim");
        assert!(
            mutations(&env)
                .iter()
                .all(|m| !m.contains("persistentvolumeclaim") && !m.contains("delete namespace")),
            "helm {helm}: {:#?}",
            mutations(&env)
        );
        for wanted in [
            "kept the data on persistentvolumeclaim/todo-chatbot-sqlite",
            "cargo xtask down --purge",
            "kubectl delete pvc todo-chatbot-sqlite -n todo --context demo",
        ] {
            assert!(run.all().contains(wanted), "helm {helm}: {wanted:?}\n{run}");
        }
        // No object of the app is left but the claim.
        let left: Vec<String> = std::fs::read_dir(env.state.join("kube/objects/todo"))
            .expect("the namespace stays")
            .flat_map(|d| std::fs::read_dir(d.expect("entry").path()).expect("kind dir"))
            .map(|f| f.expect("entry").path().display().to_string())
            .collect();
        assert_eq!(left, [claim.display().to_string()], "helm {helm}");
    }
    // The next deploy takes the claim as it is: no apply of it.
    env.clear_calls();
    env.xtask(&["deploy"]).ok();
    let stdin = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin");
    assert!(claim.is_file());
    env.clear_calls();
    env.xtask(&["deploy"]).ok();
    assert_no_mutation(&env);
    assert!(stdin.contains("kind: Deployment"), "{stdin}");

    let run = env.xtask(&["down", "--purge"]);
    run.ok();
    assert!(!claim.exists(), "--purge deletes the claim");
    assert!(
        !env.state.join("kube/objects/todo").exists(),
        "and the namespace"
    );
}

fn pods_knob(env: &Env, waiting: &str, message: &str, last: &str) {
    env.knob(
        "kube/pods-todo.json",
        &format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"todo-chatbot-backend-6d4f9-x7k2p","namespace":"todo"}},"status":{{"phase":"Pending","conditions":[{{"type":"PodScheduled","status":"True"}}],"containerStatuses":[{{"name":"backend","image":"todo-backend:abc","imageID":"","ready":false,"restartCount":3,"started":false,"lastState":{last},"state":{{"waiting":{{"reason":"{waiting}","message":"{message}"}}}}}}]}}}}],"metadata":{{"resourceVersion":""}}}}"#
        ),
    );
    env.fail(
        "kubectl-rollout",
        1,
        "error: timed out waiting for the condition",
    );
}

#[test]
fn image_pull_back_off_fails_with_the_build_hint() {
    let env = cluster();
    pods_knob(
        &env,
        "ErrImageNeverPull",
        "Container image \\\"todo-backend:abc\\\" is not present with pull policy of Never",
        "{}",
    );
    let run = env.xtask(&["deploy"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("the image todo-backend:abc is not in the cluster"),
        "{run}"
    );
    assert!(
        run.stderr.contains("help: run `cargo xtask build`"),
        "{run}"
    );
    assert!(
        run.stderr.contains("todo-chatbot-backend-6d4f9-x7k2p"),
        "{run}"
    );
}

#[test]
fn crash_loop_fails_at_once_with_the_last_log_lines() {
    let env = cluster();
    // A long timeout: the test proves the wait ends without it.
    env.write(
        "deploy/pipeline.toml",
        &format!("{}timeout_secs = 600\n", support::PIPELINE),
    );
    pods_knob(
        &env,
        "CrashLoopBackOff",
        "back-off 40s restarting failed container=backend",
        r#"{"terminated":{"exitCode":2,"reason":"Error"}}"#,
    );
    env.knob(
        "kube/logs-todo-chatbot-backend-6d4f9-x7k2p",
        &format!("starting\nerror: invalid DATABASE_URL (key {OPENAI_KEY})\n"),
    );
    let started = Instant::now();
    let run = env.xtask(&["deploy"]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited too long"
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("keeps crashing"), "{run}");
    assert!(run.stderr.contains("exit code 2, 3 restart(s)"), "{run}");
    assert!(run.stderr.contains("error: invalid DATABASE_URL"), "{run}");
    assert!(!run.all().contains(OPENAI_KEY), "logs are redacted: {run}");
    assert!(
        env.calls().iter().any(
            |c| c.argv.starts_with("logs todo-chatbot-backend-6d4f9-x7k2p")
                && c.argv.contains("--previous")
        ),
        "reads the previous run's log"
    );
}

#[test]
fn helm_deploy_installs_then_changes_nothing_with_helm_4_and_3() {
    for (version, flags) in [
        ("v4.1.4", &["--rollback-on-failure", "--wait=watcher"][..]),
        ("v3.17.0", &["--atomic", "--wait"][..]),
    ] {
        let env = cluster();
        env.knob("helm-version", version);
        let run = env.xtask(&["deploy", "--helm", "--json", "-v"]);
        run.ok();
        let m = mutations(&env);
        assert_eq!(m.len(), 4, "{version}: {m:#?}");
        assert!(m[0].starts_with("kubectl apply"), "namespace first: {m:#?}");
        assert!(m[1].starts_with("kubectl apply"), "then the Secret: {m:#?}");
        let upgrade = &m[2];
        assert!(
            upgrade.starts_with("helm upgrade --install todo-chatbot"),
            "{upgrade}"
        );
        for f in flags {
            assert!(
                upgrade.split(' ').any(|a| a == *f),
                "{version}: {f} in {upgrade}"
            );
        }
        if version.starts_with("v4") {
            assert!(!upgrade.contains("--atomic"), "{upgrade}");
        }
        assert!(!upgrade.contains("--set"), "{upgrade}");
        assert!(m[3].starts_with("helm test todo-chatbot"), "{m:#?}");
        let values = std::fs::read_to_string(env.state.join("helm/values.log")).expect("values");
        assert!(
            values.contains(r#""existingSecret": "todo-chatbot-secrets""#),
            "{values}"
        );
        assert!(
            values.contains(r#""pullPolicy": "IfNotPresent""#),
            "{values}"
        );
        assert!(
            values.contains(r#""repository": "todo-backend""#),
            "{values}"
        );
        // The pods' secret-hash is the Secret's random rollout token, not a hash of its values.
        let stdin = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin");
        let token = stdin
            .lines()
            .find_map(|l| l.trim().strip_prefix("todo-chatbot.dev/rollout-token: "))
            .map(|t| t.trim_matches('"').to_string())
            .expect("the Secret carries its rollout token");
        assert_eq!(token.len(), 32, "{token}");
        assert!(
            values.contains(&format!(r#""todo-chatbot.dev/secret-hash": "{token}""#)),
            "{values}"
        );
        assert_secrets_only_on_stdin(&env, &run);
        let report = run.json();
        for g in report["gates"].as_array().expect("gates") {
            assert_eq!(g["passed"], true, "{g}");
        }
        assert!(
            report["gates"]
                .to_string()
                .contains("release todo-chatbot deployed"),
            "{report}"
        );
        assert!(
            run.stderr.contains(&format!("helm {}", &version[1..])),
            "-v names helm: {run}"
        );

        env.clear_calls();
        let again = env.xtask(&["deploy", "--helm"]);
        again.ok();
        assert_no_mutation(&env);
        assert!(
            env.calls()
                .iter()
                .any(|c| c.tool == "helm" && c.argv.starts_with("lint --strict")),
            "lint is a gate every time"
        );
    }
}

#[test]
fn helm_lint_failure_stops_before_the_cluster_is_touched() {
    let env = cluster();
    env.fail(
        "helm-lint",
        1,
        "[ERROR] values.yaml: - at '/backend/replicaCount': got string, want integer\nError: 1 chart(s) linted, 1 chart(s) failed",
    );
    let run = env.xtask(&["deploy", "--helm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("helm lint --strict"), "{run}");
    assert!(run.stderr.contains("got string, want integer"), "{run}");
    assert_no_mutation(&env);
}

#[test]
fn a_failing_helm_test_fails_the_gate() {
    let env = cluster();
    env.fail(
        "helm-test",
        1,
        "Error: 1 error occurred:\n\t* pod todo-chatbot-test-health failed",
    );
    let run = env.xtask(&["deploy", "--helm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("gate `helm test` failed"), "{run}");
}

#[test]
fn raw_to_helm_and_back_removes_the_other_modes_objects() {
    let env = cluster();
    env.xtask(&["deploy"]).ok();
    env.clear_calls();
    let run = env.xtask(&["deploy", "--helm"]);
    run.ok();
    assert!(
        run.stderr
            .contains("switching from the raw manifests to Helm"),
        "{run}"
    );
    let m = mutations(&env);
    let delete = m
        .iter()
        .position(|c| c.starts_with("kubectl delete"))
        .expect("raw objects deleted");
    let upgrade = m
        .iter()
        .position(|c| c.starts_with("helm upgrade"))
        .expect("installed");
    assert!(delete < upgrade, "{m:#?}");
    assert!(
        m[delete].contains("deployment/todo-chatbot-backend"),
        "{m:#?}"
    );
    assert!(!m[delete].contains("secret/"), "the Secret stays: {m:#?}");
    assert!(
        !m.iter()
            .any(|c| c.contains("apply") && c.contains("secret")),
        "unchanged Secret not re-applied"
    );

    env.clear_calls();
    let run = env.xtask(&["deploy"]);
    run.ok();
    assert!(
        run.stderr
            .contains("switching from Helm to the raw manifests"),
        "{run}"
    );
    let m = mutations(&env);
    assert!(m[0].starts_with("helm uninstall todo-chatbot"), "{m:#?}");
    assert!(m.iter().any(|c| c.starts_with("kubectl apply")), "{m:#?}");
    env.clear_calls();
    env.xtask(&["deploy"]).ok();
    assert_no_mutation(&env);
}

#[test]
fn down_twice_second_time_nothing_to_do() {
    let env = cluster();
    env.xtask(&["deploy", "--helm"]).ok();
    env.clear_calls();
    let run = env.xtask(&["down"]);
    run.ok();
    let m = mutations(&env);
    assert!(m[0].starts_with("helm uninstall todo-chatbot"), "{m:#?}");
    assert!(
        m.iter()
            .any(|c| c.starts_with("kubectl delete") && c.contains("secret/todo-chatbot-secrets")),
        "{m:#?}"
    );
    env.clear_calls();
    let run = env.xtask(&["down"]);
    run.ok();
    assert_no_mutation(&env);
    assert!(run.stderr.contains("nothing to change"), "{run}");
}

#[test]
fn registry_and_context_flags_reach_the_images_and_the_tools() {
    let env = cluster();
    env.knob("kube/contexts/prod", "");
    env.knob("minikube/prod/host", "Running\n");
    // The profile's own cluster is down: only a call with --context prod reaches a cluster.
    env.knob("minikube/demo/host", "Stopped\n");
    env.xtask(&["build", "--no-cluster"]).ok();
    env.clear_calls();
    let run = env.xtask(&[
        "deploy",
        "--context",
        "prod",
        "--registry",
        "registry.example.com/todo",
        "--json",
    ]);
    run.ok();
    let stdin = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin");
    assert!(
        stdin.contains("image: registry.example.com/todo/todo-backend:"),
        "{stdin}"
    );
    let pushed: Vec<String> = mutations(&env)
        .into_iter()
        .filter(|c| c.starts_with("docker"))
        .collect();
    assert_eq!(pushed.len(), 4, "tag and push both images: {pushed:#?}");
    assert!(
        pushed[1].starts_with("docker push registry.example.com/todo/todo-backend:"),
        "{pushed:#?}"
    );
    env.clear_calls();
    env.xtask(&[
        "deploy",
        "--context",
        "prod",
        "--registry",
        "registry.example.com/todo",
    ])
    .ok();
    assert_no_mutation(&env);
    let missing = env.xtask(&["deploy", "--context", "nope"]);
    assert_eq!(missing.code, 1, "{missing}");
    assert!(
        missing.stderr.contains("kubectl has no context `nope`"),
        "{missing}"
    );
}

#[test]
fn a_failed_helm_upgrade_is_explained_from_the_pods() {
    let env = cluster();
    pods_knob(
        &env,
        "ImagePullBackOff",
        "Back-off pulling image \\\"todo-backend:abc\\\"",
        "{}",
    );
    env.fail(
        "helm-upgrade",
        1,
        "Error: UPGRADE FAILED: release todo-chatbot failed, and has been rolled back due to rollback-on-failure being set: context deadline exceeded",
    );
    let run = env.xtask(&["deploy", "--helm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("the image todo-backend:abc is not in the cluster"),
        "{run}"
    );
    assert!(run.stderr.contains("helm rolled the release back"), "{run}");
    assert!(
        run.stderr.contains("help: run `cargo xtask build`"),
        "{run}"
    );
}
