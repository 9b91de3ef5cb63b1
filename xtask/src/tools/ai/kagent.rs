//! The kagent CLI and what its custom resources report.
//!
//! From its source (kagent-dev/kagent, `go/core/cli/internal/cli/agent/`): `kagent invoke`
//! and `kagent install` print their errors to stderr and return without an exit code, so they
//! exit 0 on failure. Without `--stream`, `invoke` prints the A2A result as one JSON object:
//! a task (`kind: task`, `status.state`, `artifacts[].parts[]`, `history[]`) or a message.

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Outcome;
use crate::run::{Call, Output, Runner};
use crate::tools::{Version, parse_json};

pub const KAGENT_HINT: &str =
    "optional: install the kagent CLI (https://kagent.dev/docs/kagent/introduction/installation)";

/// The API version of every kagent resource this project applies.
pub const API_VERSION: &str = "kagent.dev/v1alpha2";

/// `kagent version` prints one JSON line with `kagent_version`.
pub fn kagent_version(r: &Runner) -> Result<Option<Version>> {
    let out = r.run(
        &Call::new("kagent")
            .arg("version")
            .timeout(Duration::from_secs(30)),
    )?;
    parse_kagent_version(&out.stdout)
}

pub fn parse_kagent_version(text: &str) -> Result<Option<Version>> {
    #[derive(Deserialize)]
    struct Raw {
        kagent_version: String,
    }
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or("");
    let raw: Raw = parse_json("kagent version", line)?;
    Ok(Version::find(&raw.kagent_version))
}

/// `kagent version`: the CLI's version and the controller's (`None` when `backend_version` is
/// "unknown", i.e. kagent does not run in the cluster or cannot be reached).
pub fn kagent_versions(r: &Runner) -> Result<(Option<Version>, Option<String>)> {
    let out = r.run(
        &Call::new("kagent")
            .arg("version")
            .timeout(Duration::from_secs(30)),
    )?;
    Ok((
        parse_kagent_version(&out.stdout)?,
        parse_kagent_backend(&out.stdout),
    ))
}

pub fn parse_kagent_backend(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        backend_version: String,
    }
    let line = text.lines().find(|l| l.trim_start().starts_with('{'))?;
    let raw: Raw = serde_json::from_str(line.trim()).ok()?;
    let v = raw.backend_version.trim().to_string();
    (!v.is_empty() && v != "unknown").then_some(v)
}

/// `kagent invoke --namespace NS --agent NAME --task PROMPT` (the answer is A2A JSON on
/// stdout). The timeout is the xtask's own: the CLI's is not relied upon.
pub fn kagent_invoke(
    r: &Runner,
    namespace: &str,
    agent: &str,
    prompt: &str,
    timeout: Duration,
) -> Result<Output> {
    r.run_unchecked(
        &Call::new("kagent")
            .args([
                "invoke",
                "--namespace",
                namespace,
                "--agent",
                agent,
                "--task",
                prompt,
            ])
            .timeout(timeout),
    )
}

/// The outcome of `kagent invoke` and the answer's text. Only a task in state `completed`
/// with some text counts as answered; `input-required` is an approval the agent waits for;
/// anything on stderr, a failed or missing state, or output that is not a task, is a failure
/// that says so.
pub fn invoke_outcome(code: i32, stdout: &str, stderr: &str) -> (Outcome, Option<String>) {
    let err = stderr.trim();
    if !err.is_empty() {
        return (
            Outcome::Failed(format!(
                "kagent printed an error (exit code {code}): {}",
                crate::run::last_lines(err, 3).replace('\n', " / ")
            )),
            None,
        );
    }
    let Some(line) = stdout.lines().map(str::trim).find(|l| l.starts_with('{')) else {
        return (
            Outcome::Failed(format!(
                "no A2A result on stdout (exit code {code}){}",
                if stdout.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", first_chars(stdout.trim(), 120))
                }
            )),
            None,
        );
    };
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return (
                Outcome::Failed(format!("the A2A result is not JSON: {e}")),
                None,
            );
        }
    };
    // Newer CLIs may wrap the result (`{"task": {...}}`); both shapes are read.
    let task = value
        .get("task")
        .filter(|t| t.is_object())
        .unwrap_or(&value);
    let kind = task.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "message" {
        return (
            Outcome::Failed("the agent answered with a bare message, not a task".into()),
            None,
        );
    }
    let status_text = task.pointer("/status/message").map(parts_text);
    let state = task
        .pointer("/status/state")
        .and_then(Value::as_str)
        .map(normalise_state);
    let Some(state) = state else {
        return (
            Outcome::Failed("the A2A result has no task state".into()),
            None,
        );
    };
    let artifacts: String = task
        .get("artifacts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(parts_text)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .unwrap_or_default();
    let answer = Some(artifacts)
        .filter(|t| !t.trim().is_empty())
        .or_else(|| status_text.clone().filter(|t| !t.trim().is_empty()));
    let detail = |t: &Option<String>| {
        t.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| format!(": {}", first_chars(s.trim(), 160)))
            .unwrap_or_default()
    };
    match state.as_str() {
        "completed" => match answer {
            Some(a) => (Outcome::Answered, Some(a)),
            None => (
                Outcome::Failed("the task completed without any text".into()),
                None,
            ),
        },
        "input-required" | "auth-required" => (
            Outcome::Blocked(format!(
                "needed approval: the task stopped in state {state}{}",
                detail(&status_text)
            )),
            answer,
        ),
        other => (
            Outcome::Failed(format!(
                "the task ended in state {other}{}",
                detail(&status_text)
            )),
            answer,
        ),
    }
}

/// `TASK_STATE_INPUT_REQUIRED` and `input-required` both become `input-required`.
fn normalise_state(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    s.strip_prefix("task_state_")
        .unwrap_or(&s)
        .replace('_', "-")
}

/// The text parts of a message or artifact (`parts[].text`), joined.
fn parts_text(v: &Value) -> String {
    v.get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn first_chars(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out.replace('\n', " ")
}

/// `kagent install --profile PROFILE`. It may exit 0 after a failure, so the outcome is read
/// from its text: `Ok(())` only when it printed `kagent installed successfully` and no error.
/// `env` carries the model key to the child (never an argument).
pub fn kagent_install(r: &Runner, profile: &str, env: &[(String, String)]) -> Result<()> {
    let call = env
        .iter()
        .fold(Call::new("kagent"), |c, (k, v)| c.env(k, v))
        .args(["install", "--profile", profile])
        .mutating()
        .timeout(Duration::from_secs(900))
        .hint("see https://kagent.dev/docs/kagent/introduction/installation; it needs helm on PATH and a model key");
    let out = r.run(&call)?;
    if out.skipped {
        return Ok(());
    }
    kagent_install_outcome(&out.stdout, &out.stderr)
}

pub fn kagent_install_outcome(stdout: &str, stderr: &str) -> Result<()> {
    let all = format!("{stdout}\n{stderr}");
    let failed = all.contains("Error installing")
        || all.contains("is not set")
        || !stdout.contains("kagent installed successfully");
    if failed {
        Err(crate::error::failure(
            format!(
                "`kagent install` did not succeed (its exit code is not reliable; its output says):\n  {}",
                crate::run::last_lines(all.trim(), 8).replace('\n', "\n  ")
            ),
            "set OPENAI_API_KEY (or KAGENT_DEFAULT_MODEL_PROVIDER and that provider's key) and make sure helm can reach ghcr.io",
        ))
    } else {
        Ok(())
    }
}

/// One row of `kubectl api-resources --api-group=kagent.dev --no-headers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiResource {
    pub name: String,
    /// `group/version`: the version the cluster prefers for this kind.
    pub api_version: String,
    pub kind: String,
}

/// Reads `NAME [SHORTNAMES] APIVERSION NAMESPACED KIND` rows (the short names may be empty).
pub fn parse_api_resources(text: &str) -> Vec<ApiResource> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 || f[0] == "NAME" {
                return None;
            }
            let n = f.len();
            Some(ApiResource {
                name: f[0].to_string(),
                api_version: f[n - 3].to_string(),
                kind: f[n - 1].to_string(),
            })
        })
        .collect()
}

/// What the kagent controller reports about a RemoteMCPServer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct McpServerStatus {
    /// `status.discoveredTools[].name`.
    pub tools: Vec<String>,
    /// The `Accepted` condition's status, reason and message, when present.
    pub accepted: Option<ConditionState>,
}

/// An Agent's `Ready` condition (and `Accepted`, which says why it is not ready).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentStatus {
    pub ready: Option<ConditionState>,
    pub accepted: Option<ConditionState>,
}

impl AgentStatus {
    pub fn is_ready(&self) -> bool {
        self.ready.as_ref().is_some_and(|c| c.status == "True")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConditionState {
    pub status: String,
    pub reason: String,
    pub message: String,
}

impl std::fmt::Display for ConditionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
struct Condition {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

fn condition(conds: &[Condition], kind: &str) -> Option<ConditionState> {
    conds
        .iter()
        .find(|c| c.kind == kind)
        .map(|c| ConditionState {
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
}

/// `kubectl get remotemcpservers.kagent.dev NAME -o json`.
pub fn parse_mcp_server_status(text: &str) -> Result<McpServerStatus> {
    #[derive(Deserialize)]
    struct Tool {
        name: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        conditions: Vec<Condition>,
        #[serde(default)]
        discovered_tools: Vec<Option<Tool>>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        status: Option<Status>,
    }
    let raw: Raw = parse_json("kubectl get remotemcpservers.kagent.dev -o json", text)?;
    let status = raw.status.unwrap_or_default();
    Ok(McpServerStatus {
        tools: status
            .discovered_tools
            .into_iter()
            .flatten()
            .map(|t| t.name)
            .collect(),
        accepted: condition(&status.conditions, "Accepted"),
    })
}

/// `kubectl get agents.kagent.dev NAME -o json`.
pub fn parse_agent_status(text: &str) -> Result<AgentStatus> {
    #[derive(Deserialize, Default)]
    struct Status {
        #[serde(default)]
        conditions: Vec<Condition>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        status: Option<Status>,
    }
    let raw: Raw = parse_json("kubectl get agents.kagent.dev -o json", text)?;
    let status = raw.status.unwrap_or_default();
    Ok(AgentStatus {
        ready: condition(&status.conditions, "Ready"),
        accepted: condition(&status.conditions, "Accepted"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK_DONE: &str = r#"{"artifacts":[{"artifactId":"a1","parts":[{"kind":"text","text":"User demo has 2 pending tasks: 1. buy milk, 2. renew passport."}]}],"contextId":"c1","history":[],"id":"t1","kind":"task","status":{"state":"completed","timestamp":"2026-01-01T00:00:00Z"}}"#;

    #[test]
    fn version_json() {
        let line = r#"{"backend_version":"unknown","build_date":"2025","git_commit":"abc","kagent_version":"0.9.12"}"#;
        let v = parse_kagent_version(line).expect("parses");
        assert_eq!(v, Some(Version::new(0, 9, 12)));
        assert_eq!(parse_kagent_backend(line), None);
        let up = line.replace("\"unknown\"", "\"0.9.12\"");
        assert_eq!(parse_kagent_backend(&up).as_deref(), Some("0.9.12"));
    }

    #[test]
    fn install_outcome_reads_the_text() {
        assert!(kagent_install_outcome("kagent installed successfully\n", "").is_ok());
        let err = kagent_install_outcome(
            "",
            "OPENAI_API_KEY is not set\nPlease set the OPENAI_API_KEY environment variable\n",
        )
        .expect_err("not installed");
        assert!(crate::error::render(&err).contains("OPENAI_API_KEY is not set"));
        assert!(kagent_install_outcome("Error installing kagent-crds: boom\n", "").is_err());
    }

    #[test]
    fn only_a_completed_task_with_text_is_answered() {
        let (o, a) = invoke_outcome(0, &format!("{TASK_DONE}\n"), "");
        assert_eq!(o, Outcome::Answered);
        assert!(a.expect("answer").contains("renew passport"));
        let wrapped = format!("{{\"task\":{TASK_DONE}}}");
        assert_eq!(invoke_outcome(0, &wrapped, "").0, Outcome::Answered);
        let empty = r#"{"kind":"task","id":"t","status":{"state":"completed"},"artifacts":[]}"#;
        assert!(invoke_outcome(0, empty, "").0.is_failed());
    }

    #[test]
    fn a_failed_task_with_exit_0_is_a_failure_that_names_it() {
        let failed = r#"{"kind":"task","id":"t","contextId":"c","status":{"state":"failed","message":{"kind":"message","messageId":"m","role":"agent","parts":[{"kind":"text","text":"model call failed: 401 invalid api key"}]}}}"#;
        let (o, _) = invoke_outcome(0, failed, "");
        assert_eq!(
            o,
            Outcome::Failed(
                "the task ended in state failed: model call failed: 401 invalid api key".into()
            )
        );
        let (o, _) = invoke_outcome(0, r#"{"kind":"task","id":"t"}"#, "");
        assert_eq!(
            o,
            Outcome::Failed("the A2A result has no task state".into())
        );
        let (o, _) = invoke_outcome(0, "", "Error invoking session: connection refused\n");
        assert!(
            matches!(&o, Outcome::Failed(w) if w.contains("Error invoking session: connection refused")),
            "{o:?}"
        );
        let (o, _) = invoke_outcome(0, "", "");
        assert!(o.is_failed());
        let msg = r#"{"kind":"message","messageId":"m","role":"agent","parts":[{"kind":"text","text":"hi"}]}"#;
        assert!(invoke_outcome(0, msg, "").0.is_failed());
    }

    #[test]
    fn input_required_is_blocked_for_approval() {
        let t = r#"{"kind":"task","id":"t","status":{"state":"input-required","message":{"parts":[{"kind":"text","text":"approve delete_task?"}]}}}"#;
        let (o, _) = invoke_outcome(0, t, "");
        assert!(
            matches!(&o, Outcome::Blocked(w) if w.starts_with("needed approval") && w.contains("delete_task")),
            "{o:?}"
        );
        let v2 = r#"{"task":{"id":"t","status":{"state":"TASK_STATE_INPUT_REQUIRED"}}}"#;
        assert!(matches!(invoke_outcome(0, v2, "").0, Outcome::Blocked(_)));
    }

    #[test]
    fn api_resources_rows_with_and_without_short_names() {
        let text = "agents                          kagent.dev/v1alpha2   true         Agent\nmodelconfigs                    kagent.dev/v1alpha3   true         ModelConfig\nremotemcpservers   rmcps        kagent.dev/v1alpha2   true         RemoteMCPServer\n";
        let rows = parse_api_resources(text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].kind, "Agent");
        assert_eq!(rows[1].api_version, "kagent.dev/v1alpha3");
        assert_eq!(rows[2].name, "remotemcpservers");
        assert_eq!(rows[2].api_version, API_VERSION);
    }

    #[test]
    fn crd_status_tools_and_conditions() {
        let rmcp = r#"{"apiVersion":"kagent.dev/v1alpha2","kind":"RemoteMCPServer","metadata":{"name":"todo-mcp"},"status":{"conditions":[{"type":"Accepted","status":"True","reason":"Reconciled","message":""}],"discoveredTools":[{"name":"add_task","description":"d"},{"name":"list_tasks","description":"d"}],"observedGeneration":1}}"#;
        let s = parse_mcp_server_status(rmcp).expect("parses");
        assert_eq!(s.tools, ["add_task", "list_tasks"]);
        assert_eq!(s.accepted.expect("accepted").status, "True");
        let fresh =
            parse_mcp_server_status(r#"{"kind":"RemoteMCPServer","spec":{}}"#).expect("parses");
        assert!(fresh.tools.is_empty());
        let agent = r#"{"kind":"Agent","status":{"conditions":[{"type":"Accepted","status":"True","reason":"AgentReconciled"},{"type":"Ready","status":"False","reason":"DeploymentNotReady","message":"0/1 replicas ready"}]}}"#;
        let a = parse_agent_status(agent).expect("parses");
        assert!(!a.is_ready());
        assert_eq!(
            a.ready.expect("ready").to_string(),
            "False (DeploymentNotReady): 0/1 replicas ready"
        );
    }
}
