//! Which model kubectl-ai asks, as `aiops` and `doctor` both see it: from the environment,
//! else from `.env`, else kubectl-ai's own config file.

use std::path::PathBuf;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::tools::ai::kubectl_ai::{self, Provider};

/// kubectl-ai's provider, from the environment and `.env`.
pub fn provider(cx: &Ctx) -> Result<Provider> {
    let dotenv = cx.secrets()?;
    let get = |k: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| dotenv.get(k).cloned())
    };
    Ok(kubectl_ai::choose_provider(
        &get,
        kubectl_ai_config_exists(),
    ))
}

fn kubectl_ai_config_exists() -> bool {
    kubectl_ai_config_dirs()
        .iter()
        .any(|d| d.join("kubectl-ai").join("config.yaml").is_file())
}

/// Where kubectl-ai looks for `kubectl-ai/config.yaml`: the user's configuration folder (Go's
/// `os.UserConfigDir`: `%AppData%` on Windows, `~/Library/Application Support` on macOS,
/// `$XDG_CONFIG_HOME` or `~/.config` elsewhere), then `~/.config` on every host.
fn kubectl_ai_config_dirs() -> Vec<PathBuf> {
    let home = std::env::home_dir();
    let mut dirs = Vec::new();
    if cfg!(windows) {
        dirs.extend(std::env::var_os("APPDATA").map(PathBuf::from));
    } else if cfg!(target_os = "macos") {
        dirs.extend(
            home.as_ref()
                .map(|h| h.join("Library").join("Application Support")),
        );
    } else {
        dirs.extend(
            std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        );
    }
    dirs.extend(home.map(|h| h.join(".config")));
    dirs
}
