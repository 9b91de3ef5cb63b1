//! The two kinds of failure the xtask reports, and how they map to exit codes.
//!
//! Any error ends the process with exit code 1 (a gate or a tool failed) unless it is a
//! [`Usage`] error (bad flags or configuration), which exits 2. Messages are lowercase, quote the
//! file, flag or command, and end with a `help:` line naming the fix.

use std::fmt;

/// Bad usage or configuration: exit code 2.
#[derive(Debug)]
pub struct Usage {
    pub message: String,
    pub help: String,
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nhelp: {}", self.message, self.help)
    }
}

impl std::error::Error for Usage {}

/// Builds a usage error (exit 2) with its fix.
pub fn usage(message: impl Into<String>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage {
        message: message.into(),
        help: help.into(),
    })
}

/// A failure with a fix: exit code 1.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub help: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nhelp: {}", self.message, self.help)
    }
}

impl std::error::Error for Failure {}

/// Builds a failure (exit 1) with its fix.
pub fn failure(message: impl Into<String>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        message: message.into(),
        help: help.into(),
    })
}

/// A fix added on the way up: a stage that knows which of its own commands helps adds it to a
/// tool's error (tools name only their own commands). Rendered as one more `help:` line.
#[derive(Debug)]
struct Help(String);

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "help: {}", self.0)
    }
}

/// Adds a `help:` line to the error of a result.
pub trait WithHelp<T> {
    fn help(self, help: impl Into<String>) -> anyhow::Result<T>;
}

impl<T> WithHelp<T> for anyhow::Result<T> {
    fn help(self, help: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| e.context(Help(help.into())))
    }
}

/// The exit code for an error: 2 when any error in the chain is a usage error, else 1.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.chain().any(|e| e.downcast_ref::<Usage>().is_some()) {
        2
    } else {
        1
    }
}

/// Renders an error for stderr: the message, then each cause, with `help:` lines last
/// (innermost first).
pub fn render(err: &anyhow::Error) -> String {
    let mut lines = Vec::new();
    let mut helps: Vec<Vec<String>> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let mut body = Vec::new();
        let mut help = Vec::new();
        for line in text.lines() {
            match line.strip_prefix("help: ") {
                Some(h) => help.push(h.to_string()),
                None => body.push(line.to_string()),
            }
        }
        helps.push(help);
        if body.is_empty() {
            continue;
        }
        let first = if lines.is_empty() {
            format!("error: {}", body[0])
        } else {
            format!("  caused by: {}", body[0])
        };
        lines.push(first);
        lines.extend(body[1..].iter().map(|l| format!("  {l}")));
    }
    // Innermost first: the tool's own fix, then what the stage adds (run it again, ...).
    for h in helps.into_iter().rev().flatten() {
        lines.push(format!("help: {h}"));
    }
    lines.join("\n")
}

/// The first line of [`render`] without its `error: ` prefix: the error in a table cell or a
/// one-line note.
pub fn headline(err: &anyhow::Error) -> String {
    render(err)
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_anywhere_in_the_chain_exits_2() {
        let err = Err::<(), _>(usage("unknown key `x`", "remove it"))
            .context("reading deploy/pipeline.toml")
            .expect_err("is an error");
        assert_eq!(exit_code(&err), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("boom")), 1);
    }

    #[test]
    fn help_lines_come_last() {
        let err = Err::<(), _>(failure("docker build failed", "run cargo xtask doctor"))
            .context("building backend")
            .expect_err("is an error");
        let text = render(&err);
        assert!(text.starts_with("error: building backend\n  caused by: docker build failed"));
        assert!(text.ends_with("help: run cargo xtask doctor"), "{text}");
    }

    #[test]
    fn a_stage_help_joins_the_tool_help_and_keeps_the_exit_code() {
        let err = Err::<(), _>(usage(
            "`helm status` failed",
            "`kubectl cluster-info` shows why",
        ))
        .help("`cargo xtask status` shows the cluster")
        .expect_err("is an error");
        assert_eq!(exit_code(&err), 2);
        let text = render(&err);
        assert!(text.starts_with("error: `helm status` failed\n"), "{text}");
        assert!(!text.contains("caused by"), "{text}");
        assert!(
            text.ends_with(
                "help: `kubectl cluster-info` shows why\nhelp: `cargo xtask status` shows the cluster"
            ),
            "{text}"
        );
    }
}
