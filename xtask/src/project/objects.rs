//! The app's objects in the cluster as every stage names them: the label that selects them, the
//! kinds the deploy makes, the Secret made from `.env` and the annotations the xtask stamps on
//! what it applies; how a Service is found by its part name; kagent's namespace, which the
//! app's NetworkPolicy lets in.

use sha2::{Digest, Sha256};

use crate::tools::kubectl::Columns;

/// The label every object of the app carries (raw manifests and chart alike).
pub const APP_SELECTOR: &str = "app.kubernetes.io/name=todo-chatbot";
/// The kinds the deploy stages create in the namespace and look at (the SQLite claim too; a
/// StatefulSet's claims carry no config hash and are never applied).
pub const KINDS: &str =
    "configmaps,secrets,services,deployments,statefulsets,networkpolicies,persistentvolumeclaims";
/// The annotation holding the hash of what the xtask applied.
pub const HASH_ANNOTATION: &str = "todo-chatbot.dev/config-hash";

/// The Secret the xtask makes from `.env`; the chart is pointed at it with `existingSecret`.
pub const SECRET_NAME: &str = "todo-chatbot-secrets";

/// The Secret's rollout token: a random value that changes exactly when the Secret's content
/// changes. The pods carry it (annotation [`POD_SECRET_ANNOTATION`]), so a changed Secret
/// rolls them, while the annotation reveals nothing about the Secret's values.
pub const TOKEN_ANNOTATION: &str = "todo-chatbot.dev/rollout-token";

/// The pods' annotation carrying the Secret's rollout token (set through the chart's
/// `podAnnotations`), so a changed Secret rolls them.
pub const POD_SECRET_ANNOTATION: &str = "todo-chatbot.dev/secret-hash";

/// The label naming who made an object (`kubectl`, `Helm`, ...).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// What the stages read of each object they list: who made it, its config-hash and the
/// Secret's rollout token.
pub const COLUMNS: Columns<'static> = Columns {
    labels: &[MANAGED_BY],
    annotations: &[HASH_ANNOTATION, TOKEN_ANNOTATION],
};

/// 16 hex digits of the SHA-256 of `text`: the config-hash the xtask stamps on what it applies.
pub fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The Service whose name ends in `-part` (or is `part`), else the first whose name contains
/// `part`, with its first port.
pub fn find_service(services: &[(String, Vec<u16>)], part: &str) -> Option<(String, u16)> {
    services
        .iter()
        .find(|(n, _)| n.ends_with(&format!("-{part}")) || n == part)
        .or_else(|| services.iter().find(|(n, _)| n.contains(part)))
        .and_then(|(n, ports)| ports.first().map(|p| (n.clone(), *p)))
}

/// The namespace kagent runs in (`aiops --install-kagent`).
pub const KAGENT_NAMESPACE: &str = "kagent";

/// The NetworkPolicy peer that lets kagent's namespace reach the backend (the chart's
/// `networkPolicy.backendExtraFrom`).
pub fn network_peer() -> serde_json::Value {
    serde_json::json!([{
        "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": KAGENT_NAMESPACE } }
    }])
}
