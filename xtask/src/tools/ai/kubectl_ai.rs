//! kubectl-ai (GoogleCloudPlatform/kubectl-ai): one question per run with `--quiet`.
//!
//! What its source shows, and what this wrapper does about it:
//! - `--quiet` runs the agent once. When the model wants a command that modifies a resource,
//!   the agent asks for approval; in this mode it cannot, so it stops. Depending on the
//!   version it prints `Error: RunOnce mode cannot handle user choice requests` and exits 0,
//!   or prints `RunOnce mode cannot handle permission requests. The following commands
//!   require approval: ...` and exits 1. Both are "blocked: needed approval", never an answer.
//! - `--kubeconfig` is handed to every kubectl it runs (as `KUBECONFIG`), so a read-only
//!   identity makes any write it still attempts fail at the API server (`is forbidden`).
//! - `--trace-path` writes a YAML journal (events separated by `---`): `tool-request` and
//!   `tool-response` for each command, and dumps of the HTTP requests to the model provider,
//!   headers included. It is redacted before it is kept.
//! - The provider comes from `--llm-provider` (default `gemini`, key `GEMINI_API_KEY`);
//!   `openai` and its alias `openai-compatible` read `OPENAI_API_KEY` and the base URL from
//!   `OPENAI_ENDPOINT` (there is no flag for it).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::Outcome;
use crate::run::{Call, Output, Runner};
use crate::tools::Version;

pub const KUBECTL_AI_HINT: &str = "optional: install kubectl-ai (https://github.com/GoogleCloudPlatform/kubectl-ai) and set GEMINI_API_KEY, OPENAI_API_KEY, or OPENAI_BASE_URL for a local model server";

/// Printed (exit 0) when `--quiet` meets a question it cannot ask.
pub const APPROVAL_STOP: &str = "RunOnce mode cannot handle user choice requests";
/// Printed (exit 1) by newer versions when a command needs approval under `--quiet`.
pub const PERMISSION_STOP: &str = "RunOnce mode cannot handle permission requests";

/// The model when an OpenAI(-compatible) provider is used and `OPENAI_MODEL` is unset.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4.1-mini";

/// `kubectl-ai version` prints `version: X` / `commit: ...` / `date: ...`.
pub fn kubectl_ai_version(r: &Runner) -> Result<Option<Version>> {
    let out = r.run(
        &Call::new("kubectl-ai")
            .arg("version")
            .timeout(Duration::from_secs(20)),
    )?;
    Ok(parse_kubectl_ai_version(&out.stdout))
}

pub fn parse_kubectl_ai_version(text: &str) -> Option<Version> {
    text.lines()
        .find_map(|l| l.strip_prefix("version:"))
        .and_then(Version::find)
}

/// Which model provider kubectl-ai would use, and how it is told.
#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    /// `gemini`, `openai`, `openai-compatible`, or `config file`.
    pub name: String,
    pub model: Option<String>,
    /// The base URL of an OpenAI-compatible server (`OPENAI_BASE_URL`).
    pub endpoint: Option<String>,
    /// The variable holding the key, when the provider needs one.
    pub key_var: Option<&'static str>,
    pub key_present: bool,
    /// Arguments for kubectl-ai (never a secret).
    #[serde(skip)]
    pub flags: Vec<String>,
    /// Variables for the child only (keys and the endpoint).
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

impl Provider {
    /// Able to ask: the key is there (or a config file says how).
    pub fn usable(&self) -> bool {
        self.key_present
    }

    /// One line for `doctor` and the report.
    pub fn describe(&self) -> String {
        let mut s = self.name.clone();
        if let Some(m) = &self.model {
            s.push_str(&format!(", model {m}"));
        }
        if let Some(e) = &self.endpoint {
            s.push_str(&format!(", endpoint {e}"));
        }
        match self.key_var {
            Some(k) if self.key_present => s.push_str(&format!(", key {k} present")),
            Some(k) => s.push_str(&format!(", key {k} missing")),
            None => {}
        }
        s
    }
}

/// Chooses the provider from the settings `get` finds (environment first, then `.env`):
/// `OPENAI_BASE_URL` means an OpenAI-compatible server (llama.cpp, ollama, vLLM...), then
/// `GEMINI_API_KEY` (kubectl-ai's default provider), then `OPENAI_API_KEY`, then kubectl-ai's
/// own config file.
pub fn choose_provider(get: &dyn Fn(&str) -> Option<String>, config_file: bool) -> Provider {
    let val = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let model = val("OPENAI_MODEL").unwrap_or_else(|| DEFAULT_OPENAI_MODEL.into());
    let openai_key = val("OPENAI_API_KEY");
    if let Some(url) = val("OPENAI_BASE_URL") {
        let mut env = vec![("OPENAI_ENDPOINT".to_string(), url.clone())];
        if let Some(k) = &openai_key {
            env.push(("OPENAI_API_KEY".into(), k.clone()));
        }
        return Provider {
            name: "openai-compatible".into(),
            flags: vec![
                "--llm-provider".into(),
                "openai-compatible".into(),
                "--model".into(),
                model.clone(),
            ],
            model: Some(model),
            endpoint: Some(url),
            key_var: Some("OPENAI_API_KEY"),
            key_present: openai_key.is_some(),
            env,
        };
    }
    if let Some(k) = val("GEMINI_API_KEY") {
        return Provider {
            name: "gemini".into(),
            model: None,
            endpoint: None,
            key_var: Some("GEMINI_API_KEY"),
            key_present: true,
            flags: Vec::new(),
            env: vec![("GEMINI_API_KEY".into(), k)],
        };
    }
    if let Some(k) = openai_key {
        return Provider {
            name: "openai".into(),
            flags: vec![
                "--llm-provider".into(),
                "openai".into(),
                "--model".into(),
                model.clone(),
            ],
            model: Some(model),
            endpoint: None,
            key_var: Some("OPENAI_API_KEY"),
            key_present: true,
            env: vec![("OPENAI_API_KEY".into(), k)],
        };
    }
    Provider {
        name: if config_file {
            "config file (~/.config/kubectl-ai/config.yaml)".into()
        } else {
            "gemini".into()
        },
        model: None,
        endpoint: None,
        key_var: (!config_file).then_some("GEMINI_API_KEY"),
        key_present: config_file,
        flags: Vec::new(),
        env: Vec::new(),
    }
}

/// One non-interactive question.
pub struct Ask<'a> {
    pub provider: &'a Provider,
    /// The kubeconfig kubectl-ai hands to kubectl (`None`: the user's own, with `--admin`).
    pub kubeconfig: Option<&'a Path>,
    pub trace: &'a Path,
    pub prompt: &'a str,
    pub timeout: Duration,
}

/// Asks once with `--quiet`; keys reach the child in its environment, never in arguments.
/// The exit code is not the outcome: see [`outcome`].
pub fn ask(r: &Runner, a: &Ask) -> Result<Output> {
    let mut call = a
        .provider
        .env
        .iter()
        .fold(Call::new("kubectl-ai"), |c, (k, v)| c.env(k, v))
        .arg("--quiet")
        .args(a.provider.flags.iter().cloned());
    if let Some(k) = a.kubeconfig {
        call = call.arg("--kubeconfig").arg(k.display().to_string());
    }
    call = call
        .arg("--trace-path")
        .arg(a.trace.display().to_string())
        .arg(a.prompt)
        .timeout(a.timeout);
    r.run_unchecked(&call)
}

/// A request the API server refused, as kubectl prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    pub verb: String,
    pub resource: String,
    /// The line as printed (`... is forbidden: User "..." cannot delete resource ...`).
    pub line: String,
}

impl Denial {
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection" | "escalate" | "bind"
        )
    }
}

/// Every `... is forbidden: User "..." cannot VERB resource "RES" ...` in `text` (plain, or
/// inside a YAML/JSON string where quotes are escaped), once each.
pub fn denials(text: &str) -> Vec<Denial> {
    let text = text.replace("\\\"", "\"").replace("\\n", "\n");
    let mut out: Vec<Denial> = Vec::new();
    for line in text.lines() {
        let Some(at) = line.find("is forbidden: User \"") else {
            continue;
        };
        let rest = &line[at..];
        let Some(c) = rest.find(" cannot ") else {
            continue;
        };
        let after = &rest[c + " cannot ".len()..];
        let verb = after.split_whitespace().next().unwrap_or("").to_string();
        let resource = after
            .split_once("resource \"")
            .and_then(|(_, r)| r.split('"').next())
            .unwrap_or("")
            .to_string();
        let start = line.find("Error from server").unwrap_or(0);
        let mut shown = line[start..].trim().trim_end_matches(',').to_string();
        // The closing quote of a YAML or JSON string the line was cut from.
        if shown.matches('"').count() % 2 == 1 && shown.ends_with('"') {
            shown.pop();
        }
        if !out.iter().any(|d| d.verb == verb && d.resource == resource) {
            out.push(Denial {
                verb,
                resource,
                line: shown,
            });
        }
    }
    out
}

/// The commands kubectl-ai ran, from its trace (`tool-request` events).
pub fn traced_commands(trace: &str) -> Vec<String> {
    let mut out = Vec::new();
    for event in trace.split("\n---") {
        if !event.contains("action: tool-request") {
            continue;
        }
        if let Some(cmd) = event
            .lines()
            .find_map(|l| l.trim().strip_prefix("command: "))
        {
            let cmd = cmd.trim();
            let cmd = cmd
                .strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .or_else(|| cmd.strip_prefix('\'').and_then(|c| c.strip_suffix('\'')))
                .unwrap_or(cmd);
            out.push(cmd.replace("\\\"", "\"").replace("''", "'"));
        }
    }
    out
}

/// The outcome of one `kubectl-ai --quiet` run, from its exit code, its output and its trace.
pub fn outcome(code: i32, stdout: &str, stderr: &str, trace: &str) -> Outcome {
    let all = format!("{stdout}\n{stderr}");
    if all.contains(APPROVAL_STOP) || all.contains(PERMISSION_STOP) {
        let commands = approval_commands(&all);
        return Outcome::Blocked(if commands.is_empty() {
            "needed approval: it wanted to run a command that changes the cluster".into()
        } else {
            format!("needed approval for: {}", commands.join("; "))
        });
    }
    let writes: Vec<Denial> = denials(&format!("{trace}\n{all}"))
        .into_iter()
        .filter(Denial::is_write)
        .collect();
    if let Some(d) = writes.first() {
        return Outcome::Blocked(format!(
            "by policy: the API server refused `{} {}` to the read-only identity",
            d.verb, d.resource
        ));
    }
    if code != 0 {
        let tail = crate::run::last_lines(stderr.trim(), 3);
        return Outcome::Failed(if tail.is_empty() {
            format!("exit code {code}")
        } else {
            format!("exit code {code}: {}", tail.replace('\n', " / "))
        });
    }
    if stdout.trim().is_empty() {
        return Outcome::Failed("exit code 0 but no answer on stdout".into());
    }
    Outcome::Answered
}

/// The `* command` lines kubectl-ai lists when it asks for approval.
fn approval_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut listing = false;
    for line in text.lines() {
        let l = line.trim();
        if l.contains("require approval") || l.contains("require your approval") {
            listing = true;
            continue;
        }
        if listing {
            match l.strip_prefix("* ") {
                Some(c) => out.push(c.trim().to_string()),
                None if l.is_empty() => {}
                None => listing = false,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn version_lines() {
        assert_eq!(
            parse_kubectl_ai_version("version: 0.0.12\ncommit: abc\ndate: 2025-01-01\n"),
            Some(Version::new(0, 0, 12))
        );
    }

    #[test]
    fn a_base_url_selects_the_openai_compatible_provider_and_its_endpoint() {
        let p = choose_provider(
            &env(&[
                ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
                ("OPENAI_MODEL", "qwen2.5"),
                ("GEMINI_API_KEY", "g-key"),
            ]),
            false,
        );
        assert_eq!(p.name, "openai-compatible");
        assert_eq!(
            p.flags,
            ["--llm-provider", "openai-compatible", "--model", "qwen2.5"]
        );
        assert!(
            p.env
                .contains(&("OPENAI_ENDPOINT".into(), "http://127.0.0.1:8080/v1".into()))
        );
        assert!(!p.key_present, "no OPENAI_API_KEY");
        assert!(p.describe().contains("key OPENAI_API_KEY missing"));
    }

    #[test]
    fn gemini_first_then_openai_then_nothing() {
        let g = choose_provider(
            &env(&[("GEMINI_API_KEY", "g"), ("OPENAI_API_KEY", "o")]),
            false,
        );
        assert_eq!(g.name, "gemini");
        assert!(g.flags.is_empty());
        let o = choose_provider(&env(&[("OPENAI_API_KEY", "o")]), false);
        assert_eq!(o.name, "openai");
        assert_eq!(o.flags[..2], ["--llm-provider", "openai"]);
        assert_eq!(o.model.as_deref(), Some(DEFAULT_OPENAI_MODEL));
        let none = choose_provider(&env(&[("OPENAI_API_KEY", "  ")]), false);
        assert!(!none.usable());
        assert_eq!(none.key_var, Some("GEMINI_API_KEY"));
        assert!(choose_provider(&env(&[]), true).usable());
    }

    #[test]
    fn the_approval_stop_with_exit_0_is_blocked_not_answered() {
        let stdout = "\nThe following commands require your approval to run:\n* kubectl delete pod web-1 -n todo\n\nDo you want to proceed ?\n  1. Yes\n  2. Yes, and don't ask me again\n  3. No\n\n\u{1b}[31mError: RunOnce mode cannot handle user choice requests\u{1b}[0m\n";
        let o = outcome(0, stdout, "", "");
        assert_eq!(
            o,
            Outcome::Blocked("needed approval for: kubectl delete pod web-1 -n todo".into())
        );
        let newer = "RunOnce mode cannot handle permission requests. The following commands require approval:\n* kubectl scale deployment web --replicas=0\nUse --skip-permissions flag to bypass permission checks in RunOnce mode.\n";
        assert!(
            matches!(outcome(1, "", newer, ""), Outcome::Blocked(w) if w.contains("kubectl scale"))
        );
    }

    #[test]
    fn a_write_refused_by_the_api_server_is_blocked_by_policy() {
        let trace = "timestamp: \"2026-01-01T00:00:00Z\"\naction: tool-response\npayload:\n  id: 1\n  response:\n    command: kubectl delete pod web-1 -n todo\n    stderr: \"Error from server (Forbidden): pods \\\"web-1\\\" is forbidden: User \\\"system:serviceaccount:todo:todo-aiops-reader\\\" cannot delete resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"todo\\\"\\n\"\n    exit_code: 1\n\n---\n";
        let o = outcome(0, "I could not delete the pod.\n", "", trace);
        assert!(
            matches!(&o, Outcome::Blocked(w) if w.contains("by policy") && w.contains("delete pods")),
            "{o:?}"
        );
        let d = denials(trace);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].line.starts_with("Error from server (Forbidden)"),
            "{d:?}"
        );
        // A refused read (Secrets are not in `view`) does not block the answer.
        let read = "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:todo:r\" cannot list resource \"secrets\" in API group \"\" in the namespace \"todo\"";
        assert_eq!(outcome(0, "All good.\n", "", read), Outcome::Answered);
        assert!(!denials(read)[0].is_write());
    }

    #[test]
    fn failures_name_the_exit_code_and_the_error() {
        let o = outcome(
            1,
            "",
            "Error: GEMINI_API_KEY environment variable not set\n",
            "",
        );
        assert_eq!(
            o,
            Outcome::Failed(
                "exit code 1: Error: GEMINI_API_KEY environment variable not set".into()
            )
        );
        assert!(outcome(0, "  \n", "", "").is_failed());
        assert_eq!(outcome(0, "Pods are fine.\n", "", ""), Outcome::Answered);
    }

    #[test]
    fn commands_come_from_tool_requests_in_the_trace() {
        let trace = "action: tool-request\npayload:\n  arguments:\n    command: kubectl get pods -n todo\n    modifies_resource: \"no\"\n  name: kubectl\n\n---\n\naction: tool-response\npayload:\n  response:\n    command: kubectl get pods -n todo\n\n---\n\naction: tool-request\npayload:\n  arguments:\n    command: 'kubectl get events -n todo --field-selector type=Warning'\n\n---\n";
        assert_eq!(
            traced_commands(trace),
            [
                "kubectl get pods -n todo",
                "kubectl get events -n todo --field-selector type=Warning"
            ]
        );
    }
}
