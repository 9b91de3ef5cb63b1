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
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .is_some_and(|h| h.join(".config/kubectl-ai/config.yaml").is_file())
}
