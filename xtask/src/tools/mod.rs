//! Typed wrappers, one file per external tool. Only these modules build the tools' arguments and
//! parse their outputs; everything else calls them.

pub mod ai;
pub mod browser;
pub mod docker;
pub mod helm;
pub mod kubectl;
pub mod minikube;
pub mod version;

#[cfg(test)]
mod crlf;

/// Old path of the workload helpers, now part of `kubectl`.
pub use kubectl::workloads;

use std::path::PathBuf;

use serde::de::DeserializeOwned;

pub use version::Version;

/// The path of `name` on PATH, if any.
pub fn find(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
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
