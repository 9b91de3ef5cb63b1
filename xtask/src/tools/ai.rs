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
