//! `aiops`: the optional AI tools (kubectl-ai, kagent, `docker ai`) each present (as fakes that
//! answer like the real CLIs) or absent.

mod support;

use std::path::Path;

use support::Env;

const OPENAI_KEY: &str = "sk-test-aiops-0123456789abcdef";

/// Puts the fake AI CLIs on the scratch PATH.
fn with_ai_tools(env: &Env, tools: &[&str]) {
    let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes");
    for t in tools {
        std::os::unix::fs::symlink(fakes.join(t), env.bin.join(t)).expect("link fake");
    }
}

fn transcripts(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
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
    assert!(transcripts(&env.project.join("docs/aiops")).is_empty());
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
    let tools = &run.json()["observed"]["tools"];
    assert_eq!(tools[0]["name"], "kubectl-ai");
    assert_eq!(tools[0]["installed"], true);
    assert_eq!(tools[0]["usable"], false);
    assert_eq!(tools[0]["version"], "0.0.12");
    assert!(transcripts(&env.project.join("docs/aiops")).is_empty());
}

#[test]
fn every_tool_present_answers_and_each_transcript_is_stored() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai", "kagent"]);
    env.knob("docker-ai", "v1.9.11\n");
    env.knob("kagent/installed", "");
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    env.xtask(&["setup"]).ok();
    env.clear_calls();
    let out = env.dir.path().join("transcripts");
    let run = env.xtask(&["aiops", "--out", out.to_str().expect("utf-8")]);
    run.ok();
    let files = transcripts(&out);
    let count = |tool: &str| files.iter().filter(|f| f.contains(tool)).count();
    assert_eq!(count("-kubectl-ai-"), 3, "{files:?}");
    assert_eq!(count("-kagent-"), 2, "{files:?}");
    assert_eq!(count("-docker-ai-"), 1, "{files:?}");
    let kai = files
        .iter()
        .find(|f| f.contains("kubectl-ai-health"))
        .expect("health transcript");
    let text = std::fs::read_to_string(out.join(kai)).expect("read");
    assert!(text.contains("Tool: kubectl-ai 0.0.12"), "{text}");
    assert!(text.contains("Time: 20"), "{text}");
    assert!(
        text.contains("> Summarise the health of namespace todo"),
        "{text}"
    );
    assert!(text.contains("fake answer from provider openai"), "{text}");
    let gordon = files
        .iter()
        .find(|f| f.contains("docker-ai"))
        .expect("gordon transcript");
    let text = std::fs::read_to_string(out.join(gordon)).expect("read");
    assert!(text.contains("v1.9.11"), "{text}");
    // The key reached kubectl-ai through its environment only.
    for c in env.calls() {
        assert!(!c.argv.contains(OPENAI_KEY), "{c:?}");
    }
    assert!(!run.all().contains(OPENAI_KEY));
    assert!(
        env.mutating_calls().is_empty(),
        "{:?}",
        env.mutating_calls()
    );
}

#[test]
fn dry_run_lists_the_questions_and_asks_nothing() {
    let env = Env::new();
    with_ai_tools(&env, &["kubectl-ai"]);
    env.write(".env", &format!("OPENAI_API_KEY={OPENAI_KEY}\n"));
    let run = env.xtask(&["aiops", "--dry-run"]);
    run.ok();
    assert!(run.stdout.contains("ask kubectl-ai: health"), "{run}");
    assert!(
        !env.calls().iter().any(|c| c.argv.starts_with("--quiet")),
        "asked under --dry-run"
    );
}

/// The real kagent manifests in the scratch project and a deployed backend Service.
fn kagent_ready(env: &Env) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(repo.join("deploy/k8s/kagent/todo-agent.yaml"))
        .expect("kagent manifests");
    env.write("deploy/k8s/kagent/todo-agent.yaml", &text);
    env.xtask(&["setup"]).ok();
    env.knob(
        "kube/services-todo.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"todo-chatbot-backend"},"spec":{"type":"ClusterIP","ports":[{"port":8000}]}}]}"#,
    );
    env.clear_calls();
}

#[test]
fn install_kagent_fails_on_its_text_even_when_it_exits_0() {
    let env = Env::new();
    with_ai_tools(&env, &["kagent"]);
    kagent_ready(&env);
    let run = env.xtask(&["aiops", "--install-kagent"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("OPENAI_API_KEY is not set"), "{run}");
    assert!(
        run.stderr.contains("help: set OPENAI_API_KEY in .env"),
        "{run}"
    );
}

#[test]
fn install_kagent_installs_and_applies_the_agent_pointing_at_the_backend() {
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
    assert!(m.iter().any(|c| c.contains("apply -f -")), "{m:?}");
    let applied = std::fs::read_to_string(env.state.join("stdin.log")).expect("stdin log");
    assert!(
        applied.contains("apiVersion: kagent.dev/v1alpha2"),
        "{applied}"
    );
    assert!(applied.contains("kind: RemoteMCPServer"), "{applied}");
    assert!(
        applied.contains("url: http://todo-chatbot-backend.todo.svc.cluster.local:8000/mcp"),
        "{applied}"
    );
    assert!(!applied.contains("${"), "placeholders left: {applied}");
    assert!(run.stdout.contains("kagent Agent applied"), "{run}");
    for c in env.calls() {
        assert!(!c.argv.contains(OPENAI_KEY), "{c:?}");
    }
    // The kagent agent answered too (kagent now runs in the cluster).
    assert!(
        transcripts(&env.project.join("docs/aiops"))
            .iter()
            .any(|f| f.contains("kagent-todo-agent")),
        "{run}"
    );
}
