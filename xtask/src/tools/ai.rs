//! The optional AI operations tools: kubectl-ai, the kagent CLI and Docker's assistant
//! (`docker ai`, Gordon). Their absence is reported, never fatal.

use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use super::{Version, parse_json};
use crate::run::{Call, Runner};

pub const KUBECTL_AI_HINT: &str = "optional: install kubectl-ai (https://github.com/GoogleCloudPlatform/kubectl-ai) and set GEMINI_API_KEY or OPENAI_API_KEY";
pub const KAGENT_HINT: &str =
    "optional: install the kagent CLI (https://kagent.dev/docs/kagent/introduction/installation)";
pub const GORDON_HINT: &str =
    "optional: Docker Desktop with Gordon enabled (Settings > Beta features > Enable Gordon)";

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

/// Whether `docker ai` exists: `Some(version text)` when `docker ai version` succeeds, `None`
/// when docker says the command is unknown (both wordings: before and since docker CLI 28).
pub fn gordon(r: &Runner) -> Result<Option<String>> {
    let out = r.run(
        &Call::new("docker")
            .args(["ai", "version"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    Ok(parse_gordon(out.code, &out.stdout, &out.stderr))
}

pub fn parse_gordon(code: i32, stdout: &str, stderr: &str) -> Option<String> {
    let unknown = stderr.contains("is not a docker command") || stderr.contains("unknown command");
    (code == 0 && !unknown).then(|| stdout.trim().to_string())
}

/// Asks Gordon to review a Dockerfile: the prompt is an argument, the file comes on stdin.
pub fn gordon_review(
    r: &Runner,
    prompt: &str,
    dockerfile: &str,
    timeout: Duration,
) -> Result<String> {
    let out = r.run(
        &Call::new("docker")
            .args(["ai", prompt])
            .stdin(dockerfile)
            .timeout(timeout)
            .hint("`docker ai` needs Docker Desktop with Gordon enabled and signed in"),
    )?;
    Ok(out.stdout)
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

/// Asks kubectl-ai one question non-interactively (`--quiet`); `provider` adds
/// `--llm-provider`/`--model` (keys come from the environment, never from arguments).
pub fn kubectl_ai_ask(
    r: &Runner,
    provider: &[String],
    env: &[(String, String)],
    prompt: &str,
    timeout: Duration,
) -> Result<crate::run::Output> {
    r.run_unchecked(
        &env.iter()
            .fold(Call::new("kubectl-ai"), |c, (k, v)| c.env(k, v))
            .arg("--quiet")
            .args(provider.iter().cloned())
            .arg(prompt)
            .timeout(timeout),
    )
}

/// `kagent invoke --agent NAME --task PROMPT -n NS` (the answer is A2A JSON on stdout).
pub fn kagent_invoke(
    r: &Runner,
    namespace: &str,
    agent: &str,
    prompt: &str,
    timeout: Duration,
) -> Result<crate::run::Output> {
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
            "set OPENAI_API_KEY in .env (or KAGENT_DEFAULT_MODEL_PROVIDER and that provider's key), make sure helm can reach ghcr.io, then run `cargo xtask aiops --install-kagent` again",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_ai_version_lines() {
        assert_eq!(
            parse_kubectl_ai_version("version: 0.0.12\ncommit: abc\ndate: 2025-01-01\n"),
            Some(Version::new(0, 0, 12))
        );
    }

    #[test]
    fn kagent_version_json() {
        let v = parse_kagent_version(r#"{"backend_version":"unknown","build_date":"2025","git_commit":"abc","kagent_version":"0.9.12"}"#)
            .expect("parses");
        assert_eq!(v, Some(Version::new(0, 9, 12)));
    }

    #[test]
    fn kagent_backend_and_install_outcome() {
        let line = r#"{"backend_version":"unknown","build_date":"2025","git_commit":"abc","kagent_version":"0.9.12"}"#;
        assert_eq!(parse_kagent_backend(line), None);
        let up = line.replace("\"unknown\"", "\"0.9.12\"");
        assert_eq!(parse_kagent_backend(&up).as_deref(), Some("0.9.12"));
        assert!(kagent_install_outcome("kagent installed successfully\n", "").is_ok());
        // Exit code 0 but a failure in the text.
        let err = kagent_install_outcome(
            "",
            "OPENAI_API_KEY is not set\nPlease set the OPENAI_API_KEY environment variable\n",
        )
        .expect_err("not installed");
        assert!(crate::error::render(&err).contains("OPENAI_API_KEY is not set"));
        assert!(kagent_install_outcome("Error installing kagent-crds: boom\n", "").is_err());
    }

    #[test]
    fn gordon_missing_in_both_wordings() {
        assert!(
            parse_gordon(
                1,
                "",
                "docker: 'ai' is not a docker command.\nSee 'docker --help'"
            )
            .is_none()
        );
        assert!(
            parse_gordon(
                1,
                "",
                "docker: unknown command: docker ai\n\nRun 'docker --help' for more information"
            )
            .is_none()
        );
        assert_eq!(parse_gordon(0, "v1.2.3\n", "").as_deref(), Some("v1.2.3"));
    }
}
