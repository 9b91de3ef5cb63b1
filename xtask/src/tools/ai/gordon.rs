//! Docker's assistant Gordon (`docker ai`), a Docker Desktop plugin.

use std::time::Duration;

use anyhow::Result;

use crate::run::{Call, Runner};

pub const GORDON_HINT: &str =
    "optional: Docker Desktop with Gordon enabled (Settings > Beta features > Enable Gordon)";

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
