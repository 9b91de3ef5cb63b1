//! Typed wrappers, one file per external tool. Only these modules build the tools' arguments and
//! parse their outputs; everything else calls them.

pub mod ai;
pub mod browser;
pub mod cargo;
pub mod docker;
pub mod helm;
pub mod kubectl;
pub mod kubernetes_validate;
pub mod minikube;
pub mod version;

#[cfg(test)]
mod crlf;

/// Old path of the workload helpers, now part of `kubectl`.
pub use kubectl::workloads;

use std::path::PathBuf;

use serde::de::DeserializeOwned;

pub use version::Version;

/// The error of a read whose tool failed for another reason than "not found": the command,
/// the last lines of its stderr, and the fix.
pub fn read_failed(command: &str, stderr: &str, hint: impl Into<String>) -> anyhow::Error {
    crate::error::failure(
        format!(
            "`{command}` failed: {}",
            crate::run::last_lines(stderr.trim(), 3)
        ),
        hint,
    )
}

/// The path of `name` on PATH, or the error a stage stops with: "`name` was not found on
/// PATH" and `hint` (how to install it).
pub fn require(name: &str, hint: &str) -> anyhow::Result<PathBuf> {
    find(name).ok_or_else(|| {
        crate::error::failure(format!("`{name}` was not found on PATH"), hint.to_string())
    })
}

/// The path of `name` on PATH, if any (`name.exe` and the other Windows extensions there).
pub fn find(name: &str) -> Option<PathBuf> {
    crate::run::find_program(name)
}

/// Parses JSON from a tool's stdout, naming the tool when it is not what was expected.
pub fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "could not read the output of `{what}`: {e}\n  output began with: {}",
            text.chars().take(160).collect::<String>()
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn require_names_the_tool_and_how_to_install_it() {
        let err = super::require(
            "definitely-not-a-tool-xyz",
            "install it with your package manager",
        )
        .expect_err("missing");
        let text = crate::error::render(&err);
        assert!(
            text.contains("`definitely-not-a-tool-xyz` was not found on PATH"),
            "{text}"
        );
        assert!(
            text.ends_with("help: install it with your package manager"),
            "{text}"
        );
    }
}
