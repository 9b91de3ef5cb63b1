//! The one preflight of every command that talks to the cluster: kubectl is there and knows the
//! context. Every such command says the same thing when there is no cluster yet.

use anyhow::Result;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::failure;
use crate::tools::{self, kubectl};

/// Fails, naming the context and the fix, unless kubectl is installed and has the context the
/// commands use (`--context`, `XTASK_CONTEXT`, else the minikube profile's).
pub fn require_context(cx: &Ctx, config: &Config) -> Result<()> {
    tools::require("kubectl", kubectl::INSTALL_HINT)?;
    let context = config.context();
    let contexts = kubectl::contexts(&cx.runner)?;
    cx.ui
        .detail(&format!("kubectl contexts: {}", contexts.join(", ")));
    if contexts.iter().any(|c| c == context) {
        return Ok(());
    }
    Err(failure(
        no_context(context),
        if config.context_is_explicit() {
            "pass one of the names `kubectl config get-contexts -o name` prints".to_string()
        } else {
            "run `cargo xtask setup` (it starts minikube and creates the context), or pass --context NAME"
                .to_string()
        },
    ))
}

/// The words for a missing context.
pub fn no_context(context: &str) -> String {
    format!("kubectl has no context `{context}`: no cluster to talk to")
}
