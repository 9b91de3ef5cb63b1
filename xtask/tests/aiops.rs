//! `aiops`: the optional AI tools (kubectl-ai, kagent, `docker ai`) each present (as fakes that
//! answer like the real CLIs: exit codes, output shapes, traces) or absent.

// Runs the bash fakes of tests/fakes, which Unix hosts (Linux, macOS) run; see tests/portable.rs.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};

use support::Env;

const OPENAI_KEY: &str = "sk-test-aiops-0123456789abcdef";
const AUTH_SECRET: &str = "auth-secret-for-tests-0123456789";

/// Puts the fake AI CLIs on the scratch PATH.
fn with_ai_tools(env: &Env, tools: &[&str]) {
    for t in tools {
        env.add_fake(t);
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A running cluster with the app's namespace and its backend Service.
fn cluster(env: &Env) {
    env.xtask(&["setup"]).ok();
    env.knob(
        "kube/objects/_/namespace/todo.json",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"todo"}}"#,
    );
    env.knob(
        "kube/services-todo.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"todo-chatbot-backend"},"spec":{"type":"ClusterIP","ports":[{"port":8000}]}}]}"#,
    );
    env.clear_calls();
}

/// kubectl-ai with an OpenAI key in `.env` and a cluster to ask about.
fn kubectl_ai_ready(env: &Env) -> PathBuf {
    with_ai_tools(env, &["kubectl-ai"]);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    cluster(env);
    env.dir.path().join("report")
}

fn out_arg(out: &Path) -> &str {
    out.to_str().expect("utf-8")
}

/// The token the fake kubectl minted (the fake records each one).
fn minted_tokens(env: &Env) -> Vec<String> {
    files(&env.state.join("kube/tokens"))
}

#[test]
fn every_tool_absent_is_reported_not_fatal_unless_strict() {
    let env = Env::new();
    let run = env.xtask(&["aiops"]);
    run.ok();
    for (tool, hint) in [
        ("kubectl-ai", "install kubectl-ai"),
        ("kagent", "install the kagent CLI"),
        ("docker ai", "Enable Gordon"),
    ] {
        assert!(run.all().contains(tool), "{tool}: {run}");
        assert!(run.all().contains(hint), "{hint}: {run}");
    }
    assert!(run.stdout.contains("skipped"), "{run}");
    assert!(files(&env.project.join("docs/aiops")).is_empty());
    assert!(env.mutating_calls().is_empty());

    let strict = env.xtask(&["aiops", "--strict"]);
    assert_eq!(strict.code, 1, "{strict}");
    assert!(
        strict.stderr.contains("gate `kubectl-ai answered` failed"),
        "{strict}"
    );
}

#[test]
fn kubectl_ai_without_a_key_is_installed_but_not_usable() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai"]);
    let run = env.xtask(&["aiops", "--json"]);
    run.ok();
    let json = run.json();
    let tools = &json["observed"]["tools"];
    assert_eq!(tools[0]["name"], "kubectl-ai");
    assert_eq!(tools[0]["installed"], true);
    assert_eq!(tools[0]["usable"], false);
    assert_eq!(tools[0]["version"], "0.0.12");
    assert_eq!(
        json["observed"]["kubectl_ai_provider"]["key_present"],
        false
    );
    let results = json["observed"]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .filter(|r| r["tool"] == "kubectl-ai")
            .all(|r| r["outcome"] == "skipped"
                && r["why"].as_str().unwrap_or("").contains("no model key")),
        "{results:?}"
    );
    assert!(files(&env.project.join("docs/aiops")).is_empty());
}

#[test]
fn every_tool_present_answers_and_each_transcript_is_stored() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai", "kagent"]);
    env.knob("docker-ai", "v1.9.11\n");
    env.knob("kagent/installed", "");
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    cluster(&env);
    let out = env.dir.path().join("transcripts");
    let run = env.xtask(&["aiops", "--out", out_arg(&out)]);
    run.ok();
    let names = files(&out);
    let count = |tool: &str| names.iter().filter(|f| f.contains(tool)).count();
    assert_eq!(count("-kubectl-ai-"), 3, "{names:?}");
    assert_eq!(count("-kagent-"), 2, "{names:?}");
    assert_eq!(count("-docker-ai-"), 1, "{names:?}");
    let kai = names
        .iter()
        .find(|f| f.contains("kubectl-ai-health"))
        .expect("health transcript");
    let text = read(&out.join(kai));
    assert!(text.contains("- Outcome: **answered**"), "{text}");
    assert!(text.contains("Tool: kubectl-ai 0.0.12"), "{text}");
    assert!(text.contains("Time: 20"), "{text}");
    assert!(
        text.contains(
            "Identity: read-only: ServiceAccount todo/todo-aiops-reader bound to ClusterRole `view`"
        ),
        "{text}"
    );
    assert!(
        text.contains("> Summarise the health of namespace todo"),
        "{text}"
    );
    assert!(text.contains("fake answer from provider openai"), "{text}");
    assert!(text.contains("- `kubectl get pods -n todo`"), "{text}");
    let gordon = names
        .iter()
        .find(|f| f.contains("docker-ai"))
        .expect("gordon transcript");
    assert!(read(&out.join(gordon)).contains("v1.9.11"));
    // Every question has a row: tool, question, outcome.
    for row in [
        "health",
        "restarts",
        "resources",
        "todo-agent",
        "dockerfile-review",
    ] {
        assert!(run.stdout.contains(row), "{row}: {run}");
    }
    assert!(run.stdout.contains("answered"), "{run}");
    // The key reached kubectl-ai through its environment only.
    for c in env.calls() {
        assert!(!c.argv.contains(OPENAI_KEY), "{c:?}");
    }
    assert!(!run.all().contains(OPENAI_KEY));
    // The only change: the read-only identity, applied once.
    let m = env.mutating_calls();
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].argv.starts_with("apply"), "{m:?}");
    let applied = read(&env.state.join("stdin.log"));
    assert!(
        applied.contains("kind: ServiceAccount\nmetadata:\n  name: todo-aiops-reader"),
        "{applied}"
    );
    assert!(
        applied.contains("kind: ClusterRole\n  name: view"),
        "{applied}"
    );

    // A second run changes nothing.
    env.clear_calls();
    env.xtask(&["aiops", "--out", out_arg(&out)]).ok();
    assert!(
        env.mutating_calls().is_empty(),
        "{:?}",
        env.mutating_calls()
    );
}

#[test]
fn kubectl_ai_gets_a_private_read_only_kubeconfig_and_the_token_never_shows() {
    let env = Env::new();
    let out = kubectl_ai_ready(&env);
    let run = env.xtask(&["aiops", "-vv", "--json", "--out", out_arg(&out)]);
    run.ok();
    let asks: Vec<_> = env
        .calls()
        .into_iter()
        .filter(|c| c.tool == "kubectl-ai" && c.argv.starts_with("--quiet"))
        .collect();
    assert_eq!(asks.len(), 3, "{asks:?}");
    for c in &asks {
        assert!(c.argv.contains("--kubeconfig /"), "{c:?}");
        assert!(c.argv.contains("--trace-path "), "{c:?}");
    }
    assert_eq!(
        read(&env.state.join("kubectl-ai/kubeconfig-mode")).trim(),
        "-rw-------"
    );
    let tokens = minted_tokens(&env);
    assert_eq!(tokens.len(), 1, "one token per run: {tokens:?}");
    let token = &tokens[0];
    // kubectl-ai got it in the file...
    let kubeconfig = read(&env.state.join("kubectl-ai/kubeconfig"));
    assert!(kubeconfig.contains(token.as_str()), "{kubeconfig}");
    assert!(
        kubeconfig.contains("\"server\": \"https://192.168.49.2:8443\""),
        "{kubeconfig}"
    );
    // ...and nowhere else: no argv, no log, no report, no transcript, no trace.
    assert!(!env.logs().contains(token.as_str()));
    assert!(!run.all().contains(token.as_str()), "{run}");
    for dir in [out.clone(), out.join("traces")] {
        for f in files(&dir) {
            assert!(!read(&dir.join(&f)).contains(token.as_str()), "{f}");
        }
    }
    // The file is gone after the run.
    let path = asks[0]
        .argv
        .split("--kubeconfig ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("path");
    assert!(!Path::new(path).exists(), "{path} left behind");
    assert_eq!(run.json()["observed"]["admin"], false);
}

#[test]
fn the_approval_stop_with_exit_0_is_blocked_not_answered() {
    let env = Env::new();
    let out = kubectl_ai_ready(&env);
    env.knob("kubectl-ai/mode", "If a pod:approval\n");
    let run = env.xtask(&["aiops", "--json", "--out", out_arg(&out)]);
    run.ok();
    let json = run.json();
    let results = json["observed"]["results"].as_array().expect("results");
    let restarts = results
        .iter()
        .find(|r| r["tool"] == "kubectl-ai" && r["topic"] == "restarts")
        .expect("restarts row");
    assert_eq!(restarts["outcome"], "blocked", "{restarts}");
    assert_eq!(
        restarts["why"],
        "needed approval for: kubectl delete pod web-1 -n todo"
    );
    let text = read(
        &env.project
            .join(restarts["transcript"].as_str().expect("path")),
    );
    assert!(
        text.contains("- Outcome: **blocked** (needed approval"),
        "{text}"
    );
    assert!(!text.contains("**answered**"), "{text}");
    let health = results
        .iter()
        .find(|r| r["tool"] == "kubectl-ai" && r["topic"] == "health")
        .expect("health row");
    assert_eq!(health["outcome"], "answered"); // Blocked is not a failure, even with --strict.
    let strict = env.xtask(&["aiops", "--strict", "--out", out_arg(&out)]);
    assert!(strict.stdout.contains("kubectl-ai answered"), "{strict}");
    assert!(
        !strict.stderr.contains("gate `kubectl-ai answered` failed"),
        "{strict}"
    );
}

#[test]
fn a_write_refused_by_the_api_server_is_blocked_by_policy_and_admin_is_reported() {
    let env = Env::new();
    let out = kubectl_ai_ready(&env);
    env.knob("kubectl-ai/mode", "write\n");
    let run = env.xtask(&["aiops", "--out", out_arg(&out)]);
    run.ok();
    assert!(run.stdout.contains("blocked"), "{run}");
    assert!(run.all().contains("by policy"), "{run}");
    let health = files(&out)
        .into_iter()
        .find(|f| f.contains("kubectl-ai-health"))
        .expect("transcript");
    let text = read(&out.join(&health));
    assert!(
        text.contains("**blocked** (by policy: the API server refused `delete pods`"),
        "{text}"
    );
    assert!(
        text.contains("## Refused by the API server (blocked by policy)"),
        "{text}"
    );
    assert!(text.contains("cannot delete resource \"pods\""), "{text}");
    assert!(
        run.stdout
            .contains("read-only: ServiceAccount todo/todo-aiops-reader"),
        "{run}"
    );

    // With --admin the tool runs with the user's context: the write goes through, and the
    // report says who the tool acted as.
    env.clear_calls();
    let admin = env.xtask(&["aiops", "--admin", "--out", out_arg(&out)]);
    admin.ok();
    assert!(
        admin
            .stdout
            .contains("--admin: your own kube context `demo`"),
        "{admin}"
    );
    assert!(
        env.calls()
            .iter()
            .filter(|c| c.tool == "kubectl-ai" && c.argv.starts_with("--quiet"))
            .all(|c| !c.argv.contains("--kubeconfig")),
        "{:?}",
        env.calls()
    );
    let text = read(&out.join(&health));
    assert!(text.contains("**answered**"), "{text}");
    assert!(text.contains("Identity: --admin"), "{text}");
}

#[test]
fn traces_are_kept_in_the_report_folder_redacted_and_linked() {
    let env = Env::new();
    let out = kubectl_ai_ready(&env);
    env.xtask(&["aiops", "--out", out_arg(&out)]).ok();
    let traces = files(&out.join("traces"));
    assert_eq!(traces.len(), 3, "{traces:?}");
    for t in &traces {
        let text = read(&out.join("traces").join(t));
        assert!(text.contains("action: tool-request"), "{text}");
        assert!(!text.contains(OPENAI_KEY), "{text}");
        assert!(text.contains("Authorization: ***"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join("traces").join(t))
                .expect("trace")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{t}: {mode:o}");
        }
    }
    let health = files(&out)
        .into_iter()
        .find(|f| f.contains("kubectl-ai-health"))
        .expect("transcript");
    let link = health.replace(".md", ".trace.yaml");
    assert!(
        read(&out.join(&health)).contains(&format!("[traces/{link}](traces/{link})")),
        "{health}"
    );
}

#[test]
fn the_xtask_enforces_its_own_timeout_on_ai_calls() {
    let env = Env::new();
    let out = kubectl_ai_ready(&env);
    env.knob("kubectl-ai/mode", "Compare the CPU:hang\n");
    let started = std::time::Instant::now();
    let run = env.xtask(&["aiops", "--timeout", "2", "--json", "--out", out_arg(&out)]);
    run.ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let json = run.json();
    let results = json["observed"]["results"].as_array().expect("results");
    let r = results
        .iter()
        .find(|r| r["topic"] == "resources")
        .expect("resources row");
    assert_eq!(r["outcome"], "failed");
    assert_eq!(
        r["why"],
        "no answer within 2s (the xtask's timeout, --timeout)"
    );
    let strict = env.xtask(&[
        "aiops",
        "--strict",
        "--timeout",
        "2",
        "--out",
        out_arg(&out),
    ]);
    assert_eq!(strict.code, 1, "{strict}");
    assert!(
        strict
            .stderr
            .contains("resources: failed (no answer within 2s"),
        "{strict}"
    );
}

#[test]
fn a_local_model_server_gets_the_openai_compatible_provider_and_its_endpoint() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai"]);
    env.write(
        ".env",
        &format!("OPENAI_API_KEY={OPENAI_KEY}\nOPENAI_BASE_URL=http://127.0.0.1:8080/v1\nOPENAI_MODEL=qwen2.5-coder\n"),
    );
    cluster(&env);
    let out = env.dir.path().join("report");
    let run = env.xtask(&["aiops", "--out", out_arg(&out)]);
    run.ok();
    let ask = env
        .calls()
        .into_iter()
        .find(|c| c.tool == "kubectl-ai" && c.argv.starts_with("--quiet"))
        .expect("asked");
    assert!(
        ask.argv
            .contains("--llm-provider openai-compatible --model qwen2.5-coder"),
        "{ask:?}"
    );
    let health = files(&out)
        .into_iter()
        .find(|f| f.contains("kubectl-ai-health"))
        .expect("transcript");
    assert!(
        read(&out.join(health)).contains("provider openai-compatible at http://127.0.0.1:8080/v1"),
        "the endpoint reached kubectl-ai"
    );
    assert!(run.all().contains("kubectl-ai provider: openai-compatible, model qwen2.5-coder, endpoint http://127.0.0.1:8080/v1, key OPENAI_API_KEY present"), "{run}");
}

#[test]
fn dry_run_lists_the_questions_and_asks_nothing() {
    let env = Env::new();
    let _ = kubectl_ai_ready(&env);
    let run = env.xtask(&["aiops", "--dry-run"]);
    run.ok();
    assert!(run.stdout.contains("ask kubectl-ai: health"), "{run}");
    assert!(
        run.stdout
            .contains("apply ServiceAccount todo-aiops-reader"),
        "{run}"
    );
    assert!(
        !env.calls().iter().any(|c| c.argv.starts_with("--quiet")),
        "asked under --dry-run"
    );
    assert!(minted_tokens(&env).is_empty());
    assert!(env.mutating_calls().is_empty());
}

#[test]
fn kagent_invoke_printing_a_failed_task_with_exit_0_is_a_failure() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    env.knob("kagent/installed", "");
    env.knob("kagent/invoke", "demo:failed\n");
    cluster(&env);
    let run = env.xtask(&["aiops", "--json"]);
    run.ok();
    let json = run.json();
    let results = json["observed"]["results"].as_array().expect("results");
    let todo = results
        .iter()
        .find(|r| r["tool"] == "kagent" && r["topic"] == "todo-agent")
        .expect("todo-agent row");
    assert_eq!(todo["outcome"], "failed", "{todo}");
    assert_eq!(
        todo["why"],
        "the task ended in state failed: litellm.AuthenticationError: OpenAIException - Incorrect API key provided"
    );
    let health = results
        .iter()
        .find(|r| r["tool"] == "kagent" && r["topic"] == "health")
        .expect("health row");
    assert_eq!(health["outcome"], "answered");
    // Errors on stderr with exit 0, and approvals, are read the same way.
    env.knob("kagent/invoke", "demo:error\nSummarise:input-required\n");
    let strict = env.xtask(&["aiops", "--strict"]);
    assert_eq!(strict.code, 1, "{strict}");
    assert!(
        strict
            .all()
            .contains("kagent printed an error (exit code 0): Error invoking session"),
        "{strict}"
    );
    assert!(
        strict
            .all()
            .contains("needed approval: the task stopped in state input-required"),
        "{strict}"
    );
}

/// The real kagent manifests in the scratch project.
fn kagent_ready(env: &Env) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    env.write(
        "deploy/k8s/kagent/todo-agent.yaml",
        &read(&repo.join("deploy/k8s/kagent/todo-agent.yaml")),
    );
    cluster(env);
}

#[test]
fn install_kagent_fails_on_its_text_even_when_it_exits_0() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    let run = env.xtask(&["aiops", "--install-kagent"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("OPENAI_API_KEY is not set"), "{run}");
    // The tool's own fix, then the stage's: where the key goes and the command to run again.
    assert!(run.stderr.contains("help: set OPENAI_API_KEY"), "{run}");
    assert!(
        run.stderr.contains(
            "help: put the key in .env, then run `cargo xtask aiops --install-kagent` again"
        ),
        "{run}"
    );
}

#[test]
fn install_kagent_applies_the_agent_and_waits_for_its_wiring() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    let run = env.xtask(&["aiops", "--install-kagent"]);
    run.ok();
    let m: Vec<String> = env
        .mutating_calls()
        .iter()
        .map(|c| format!("{} {}", c.tool, c.argv))
        .collect();
    assert!(m[0].starts_with("kagent install"), "{m:?}");
    assert!(m.iter().any(|c| c.contains("apply")), "{m:?}");
    // The API versions were checked before anything was applied.
    let calls: Vec<String> = env.calls().iter().map(|c| c.argv.clone()).collect();
    let api = calls
        .iter()
        .position(|c| c.contains("api-resources --api-group=kagent.dev"))
        .expect("api-resources asked");
    let apply = calls
        .iter()
        .position(|c| c.contains("apply"))
        .expect("applied");
    assert!(api < apply, "{calls:?}");
    let applied = read(&env.state.join("stdin.log"));
    assert!(
        applied.contains("apiVersion: kagent.dev/v1alpha2"),
        "{applied}"
    );
    assert!(applied.contains("kind: RemoteMCPServer"), "{applied}");
    assert!(
        applied.contains("url: http://todo-chatbot-backend.todo.svc.cluster.local:8000/mcp"),
        "{applied}"
    );
    assert!(
        applied.contains("requireApproval:\n            - add_task\n            - complete_task\n            - update_task\n            - delete_task"),
        "{applied}"
    );
    assert!(
        !applied.contains("headersFrom"),
        "no AUTH_SECRET: {applied}"
    );
    assert!(!applied.contains("${"), "placeholders left: {applied}");
    assert!(run.stdout.contains("kagent wiring"), "{run}");
    assert!(
        run.stdout
            .contains("add_task, list_tasks, complete_task, delete_task, update_task"),
        "{run}"
    );
    for c in env.calls() {
        assert!(!c.argv.contains(OPENAI_KEY), "{c:?}");
    }
    assert!(
        files(&env.project.join("docs/aiops"))
            .iter()
            .any(|f| f.contains("kagent-todo-agent")),
        "{run}"
    );
}

#[test]
fn a_remote_mcp_server_with_3_of_5_tools_fails_the_gate_naming_the_2_missing() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    env.knob(
        "kagent/discovered-tools",
        "add_task\nlist_tasks\ncomplete_task\n",
    );
    let started = std::time::Instant::now();
    let run = env.xtask(&["aiops", "--install-kagent", "--timeout", "2"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        run.stderr.contains("RemoteMCPServer kagent/todo-mcp lists 3 of 5 task tools in status.discoveredTools; missing: delete_task, update_task"),
        "{run}"
    );
    // An Agent that is not Ready is named too.
    env.knob(
        "kagent/discovered-tools",
        "add_task list_tasks complete_task delete_task update_task\n",
    );
    env.knob(
        "kagent/agent-ready",
        "False DeploymentNotReady 0/1 replicas ready\n",
    );
    let run = env.xtask(&["aiops", "--install-kagent", "--timeout", "1"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("Agent kagent/todo-agent is not Ready: Ready False (DeploymentNotReady): 0/1 replicas ready"),
        "{run}"
    );
}

#[test]
fn with_auth_secret_the_mcp_server_sends_a_bearer_token_from_a_secret() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    env.write(
        ".env",
        &format!("OPENAI_API_KEY={OPENAI_KEY}\nAUTH_SECRET={AUTH_SECRET}\n"),
    );
    let run = env.xtask(&["aiops", "--install-kagent", "-vv"]);
    run.ok();
    let applied = read(&env.state.join("stdin.log"));
    assert!(
        applied.contains("kind: Secret\nmetadata:\n  name: todo-mcp-auth\n  namespace: kagent"),
        "{applied}"
    );
    assert!(applied.contains("Authorization: \"Bearer eyJ"), "{applied}");
    assert!(
        applied.contains("  headersFrom:\n    - name: Authorization\n      valueFrom:\n        type: Secret\n        name: todo-mcp-auth\n        key: Authorization\n"),
        "{applied}"
    );
    // The token went on stdin only.
    let token = applied
        .split("Bearer ")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("token");
    for c in env.calls() {
        assert!(!c.argv.contains(token), "{c:?}");
    }
    assert!(!run.all().contains(token), "{run}");
    assert!(!run.all().contains(AUTH_SECRET));
}

#[test]
fn only_other_kagent_api_versions_served_is_a_clear_failure() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    env.knob(
        "kube/api-resources-kagent.dev",
        "agents                    kagent.dev/v1alpha3   true   Agent\nmodelconfigs              kagent.dev/v1alpha3   true   ModelConfig\nremotemcpservers   rmcps  kagent.dev/v1alpha3   true   RemoteMCPServer\n",
    );
    env.knob("kube/api-versions", "apps/v1\nkagent.dev/v1alpha3\nv1\n");
    let run = env.xtask(&["aiops", "--install-kagent"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("the cluster serves kagent.dev/v1alpha3 but not kagent.dev/v1alpha2"),
        "{run}"
    );
    assert!(
        !env.mutating_calls()
            .iter()
            .any(|c| c.argv.contains("apply")),
        "nothing applied"
    );
}

#[test]
fn doctor_reports_the_provider_aiops_would_use_and_whether_its_key_is_present() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai"]);
    env.write(".env", "OPENAI_BASE_URL=http://127.0.0.1:11434/v1\n");
    let run = env.xtask(&["doctor"]);
    assert!(
        run.all().contains("no model key: aiops would use provider openai-compatible, model gpt-4.1-mini, endpoint http://127.0.0.1:11434/v1, key OPENAI_API_KEY missing"),
        "{run}"
    );
    let run = env.xtask_with(&["doctor"], &[("GEMINI_API_KEY", "gemini-test-key-0123")]);
    // OPENAI_BASE_URL (a local model server) wins over a Gemini key.
    assert!(run.all().contains("provider openai-compatible"), "{run}");
    env.write(".env", "");
    let run = env.xtask_with(&["doctor"], &[("GEMINI_API_KEY", "gemini-test-key-0123")]);
    assert!(
        run.all()
            .contains("aiops would use provider gemini, key GEMINI_API_KEY present"),
        "{run}"
    );
    assert!(!run.all().contains("gemini-test-key-0123"));
}

#[test]
fn install_kagent_lets_the_kagent_namespace_through_the_charts_network_policy() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    // The app runs from its Helm release.
    env.knob(
        "helm/todo/todo-chatbot.json",
        r#"{"name":"todo-chatbot","namespace":"todo","revision":"1","updated":"2026-01-01 00:00:00.000000000 +0000 UTC","status":"deployed","chart":"todo-chatbot-0.1.0","app_version":"0.1.0"}"#,
    );
    let run = env.xtask(&["aiops", "--install-kagent"]);
    run.ok();
    let upgrades: Vec<String> = env
        .mutating_calls()
        .iter()
        .filter(|c| c.tool == "helm")
        .map(|c| c.argv.clone())
        .collect();
    assert_eq!(upgrades.len(), 1, "{upgrades:?}");
    assert!(
        upgrades[0].contains(r#"--reuse-values --set-json networkPolicy.backendExtraFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kagent"}}}]"#),
        "{upgrades:?}"
    );
    // Before the wiring wait: kagent can reach /mcp only once it is let in.
    let calls: Vec<String> = env
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.tool, c.argv))
        .collect();
    let set = calls
        .iter()
        .position(|c| c.contains("--set-json"))
        .expect("set");
    let wait = calls
        .iter()
        .position(|c| c.contains("get remotemcpservers.kagent.dev"))
        .expect("waited");
    assert!(set < wait, "{calls:?}");
    // Once set, a second run leaves the release alone.
    env.clear_calls();
    env.xtask(&["aiops", "--install-kagent"]).ok();
    assert!(
        !env.mutating_calls().iter().any(|c| c.tool == "helm"),
        "{:?}",
        env.mutating_calls()
    );
}

#[test]
fn deploy_helm_keeps_kagent_let_in_while_its_namespace_exists() {
    let env = Env::new();
    env.with_deploy_files();
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    env.xtask(&["setup"]).ok();
    env.xtask(&["deploy", "--helm"]).ok();
    let values = || read(&env.state.join("helm/values.log"));
    assert!(!values().contains("backendExtraFrom"), "no kagent yet");
    // kagent is installed: the next deploy lets its namespace in, once.
    env.knob(
        "kube/objects/_/namespace/kagent.json",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kagent"}}"#,
    );
    env.clear_calls();
    let run = env.xtask(&["deploy", "--helm"]);
    run.ok();
    assert!(run.all().contains("kagent runs in the cluster"), "{run}");
    assert!(
        env.mutating_calls()
            .iter()
            .any(|c| c.tool == "helm" && c.argv.starts_with("upgrade")),
        "{:?}",
        env.mutating_calls()
    );
    let text = values();
    let last = text.rsplit("# ").next().unwrap_or("");
    assert!(
        text.contains("\"backendExtraFrom\": [")
            && text.contains("\"kubernetes.io/metadata.name\": \"kagent\""),
        "{last}"
    );
    env.clear_calls();
    env.xtask(&["deploy", "--helm"]).ok();
    assert!(
        !env.mutating_calls()
            .iter()
            .any(|c| c.tool == "helm" && c.argv.starts_with("upgrade")),
        "{:?}",
        env.mutating_calls()
    );
}
