//! kagent wiring: the manifests `--install-kagent` applies, the API versions they need, the
//! bearer token the RemoteMCPServer sends when the backend requires one, and the bounded wait
//! until kagent has discovered the backend's tools and the Agent is Ready.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::error::failure;
use crate::tools::ai::kagent::{self as kg, API_VERSION};
use crate::tools::kubectl::Kube;
use crate::tools::kubectl::access as kubectl_access;

/// The namespace `kagent install` uses.
pub use crate::project::objects::KAGENT_NAMESPACE as NAMESPACE;
pub use crate::project::objects::network_peer;
/// The Agent `--install-kagent` creates, and kagent's own Kubernetes agent.
pub const TODO_AGENT: &str = "todo-agent";
pub const K8S_AGENT: &str = "k8s-agent";
/// The RemoteMCPServer for the backend's `/mcp`.
pub const MCP_SERVER: &str = "todo-mcp";
/// The Secret holding the `Authorization` header the RemoteMCPServer sends (auth on).
pub const MCP_AUTH_SECRET: &str = "todo-mcp-auth";
/// The user whose tasks the agent manages when the backend requires a token.
pub const AGENT_USER: &str = "demo";
/// How long that token is valid; `--install-kagent` again makes a new one.
pub const AGENT_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// The backend's task tools, all of which the RemoteMCPServer must discover.
pub const TASK_TOOLS: [&str; 5] = [
    "add_task",
    "list_tasks",
    "complete_task",
    "delete_task",
    "update_task",
];
/// The tools that change something: the Agent must ask before calling them.
pub const MUTATING_TOOLS: [&str; 4] = ["add_task", "complete_task", "update_task", "delete_task"];

/// The kinds the manifests use, all at [`API_VERSION`].
pub const KINDS: [&str; 3] = ["ModelConfig", "RemoteMCPServer", "Agent"];

/// Fills the manifest template: names, the backend's URL and, when the backend requires a
/// token, the `headersFrom` entry that sends it from [`MCP_AUTH_SECRET`].
pub fn render(template: &str, app_namespace: &str, service: &str, port: u16, auth: bool) -> String {
    let headers = if auth {
        format!(
            "  headersFrom:\n    - name: Authorization\n      valueFrom:\n        type: Secret\n        name: {MCP_AUTH_SECRET}\n        key: Authorization\n"
        )
    } else {
        String::new()
    };
    let mut out = String::new();
    // Comments are for readers of the file; the cluster gets the objects only.
    for l in template
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        if l.trim() == "${MCP_HEADERS_FROM}" {
            out.push_str(&headers);
            continue;
        }
        out.push_str(
            &l.replace("${KAGENT_NAMESPACE}", NAMESPACE)
                .replace("${NAMESPACE}", app_namespace)
                .replace("${BACKEND_SERVICE}", service)
                .replace("${BACKEND_PORT}", &port.to_string()),
        );
        out.push('\n');
    }
    out
}

/// Checks that the Agent in `manifests` lists every task tool and asks before each mutating
/// one (`requireApproval`), so an edit of the YAML cannot quietly let the agent change lists.
pub fn check_tools(manifests: &str) -> Result<()> {
    let list = |key: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = manifests.lines().skip_while(|l| l.trim() != key);
        lines.next();
        for l in lines {
            let t = l.trim();
            if t.starts_with('#') {
                continue;
            }
            match t.strip_prefix("- ") {
                Some(v) => out.push(v.trim().to_string()),
                None => break,
            }
        }
        out
    };
    let names = list("toolNames:");
    let approval = list("requireApproval:");
    let missing: Vec<&str> = TASK_TOOLS
        .iter()
        .copied()
        .filter(|t| !names.iter().any(|n| n == t))
        .collect();
    let unguarded: Vec<&str> = MUTATING_TOOLS
        .iter()
        .copied()
        .filter(|t| !approval.iter().any(|n| n == t))
        .collect();
    if missing.is_empty() && unguarded.is_empty() {
        return Ok(());
    }
    Err(failure(
        format!(
            "deploy/k8s/kagent/todo-agent.yaml: the Agent {}{}",
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    "does not list the tools {} in toolNames",
                    missing.join(", ")
                )
            },
            if unguarded.is_empty() {
                String::new()
            } else {
                format!(
                    "{}lets {} run without approval (requireApproval)",
                    if missing.is_empty() { "" } else { "; it " },
                    unguarded.join(", ")
                )
            }
        ),
        "list all five task tools in toolNames and every one but list_tasks in requireApproval",
    ))
}

/// The chart value that lets kagent's namespace reach the backend through its NetworkPolicy.
pub const PEER_KEY: &str = "networkPolicy.backendExtraFrom";

/// The NetworkPolicy peer for kagent's namespace (what `networkPolicy.backendExtraFrom` holds).
/// Whether release values (`helm get values`) already let kagent's namespace in.
pub fn values_allow_kagent(values: &serde_json::Value) -> bool {
    values
        .pointer("/networkPolicy/backendExtraFrom")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|peers| peers.iter().any(|p| network_peer()[0] == *p))
}

/// The Secret with the header value, for `kubectl apply` on stdin (never a file or argument).
pub fn auth_secret_doc(token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {MCP_AUTH_SECRET}\n  namespace: {NAMESPACE}\n  labels:\n    app.kubernetes.io/part-of: todo-chatbot\n    app.kubernetes.io/managed-by: todo-chatbot-xtask\ntype: Opaque\nstringData:\n  Authorization: \"Bearer {token}\"\n"
    )
}

/// An HS256 token for `user`, signed with the backend's `AUTH_SECRET` (the backend checks the
/// signature, `sub` and `exp`).
pub fn mcp_token(secret: &str, user: &str, ttl_secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    sign_hs256(
        secret.as_bytes(),
        &serde_json::json!({ "sub": user, "iat": now, "exp": now + ttl_secs }).to_string(),
    )
}

fn sign_hs256(key: &[u8], claims: &str) -> String {
    let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", b64url(claims.as_bytes()));
    let sig = hmac_sha256(key, input.as_bytes());
    format!("{input}.{}", b64url(&sig))
}

/// HMAC-SHA256 (RFC 2104) on the sha2 crate the xtask already uses for image tags.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Checks that the cluster serves every kind the manifests use at [`API_VERSION`]:
/// `kubectl api-resources` first (the preferred versions), then `kubectl api-versions` for a
/// kind whose preferred version is another one.
pub fn check_api(kube: &Kube) -> Result<String> {
    let rows = kg::parse_api_resources(&kubectl_access::api_resources(kube, "kagent.dev")?);
    let missing: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| !rows.iter().any(|row| row.kind == *k))
        .collect();
    if !missing.is_empty() {
        return Err(failure(
            format!(
                "the cluster serves no kagent.dev kind {} (`kubectl api-resources --api-group=kagent.dev` lists {})",
                missing.join(", "),
                if rows.is_empty() {
                    "nothing".to_string()
                } else {
                    rows.iter()
                        .map(|r| r.kind.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            "install kagent (its CRDs come with it): `cargo xtask aiops --install-kagent`, or `kagent install`",
        ));
    }
    let other: Vec<String> = rows
        .iter()
        .filter(|row| KINDS.contains(&row.kind.as_str()) && row.api_version != API_VERSION)
        .map(|row| format!("{} ({})", row.kind, row.api_version))
        .collect();
    if other.is_empty() {
        return Ok(format!("{} served at {API_VERSION}", KINDS.join(", ")));
    }
    let served = kubectl_access::api_versions(kube)?;
    if served.iter().any(|v| v == API_VERSION) {
        return Ok(format!(
            "{API_VERSION} served (preferred: {})",
            other.join(", ")
        ));
    }
    let kagent: Vec<&str> = served
        .iter()
        .filter(|v| v.starts_with("kagent.dev/"))
        .map(String::as_str)
        .collect();
    Err(failure(
        format!(
            "the cluster serves {} but not {API_VERSION}, which deploy/k8s/kagent/todo-agent.yaml uses ({})",
            kagent.join(", "),
            other.join(", ")
        ),
        "install a kagent release that serves kagent.dev/v1alpha2 (0.9.x does), or port the manifests to the served version",
    ))
}

/// What the wiring wait saw last.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Wiring {
    pub discovered: Vec<String>,
    pub missing_tools: Vec<String>,
    pub agent_ready: bool,
    pub agent_detail: String,
}

impl Wiring {
    pub fn complete(&self) -> bool {
        self.missing_tools.is_empty() && self.agent_ready
    }
}

/// One look at the RemoteMCPServer's discovered tools and the Agent's Ready condition
/// (`kagent` is a handle on kagent's namespace).
pub fn look(kagent: &Kube) -> Result<Wiring> {
    let mut w = Wiring::default();
    match kubectl_access::get_json(kagent, "remotemcpservers.kagent.dev", MCP_SERVER)? {
        Some(json) => {
            let s = kg::parse_mcp_server_status(&json)?;
            w.discovered = s.tools;
        }
        None => w.discovered = Vec::new(),
    }
    w.missing_tools = TASK_TOOLS
        .iter()
        .filter(|t| !w.discovered.iter().any(|d| d == *t))
        .map(|t| t.to_string())
        .collect();
    match kubectl_access::get_json(kagent, "agents.kagent.dev", TODO_AGENT)? {
        Some(json) => {
            let s = kg::parse_agent_status(&json)?;
            w.agent_ready = s.is_ready();
            w.agent_detail = match (&s.ready, &s.accepted) {
                (Some(c), _) => format!("Ready {c}"),
                (None, Some(a)) => format!("no Ready condition yet; Accepted {a}"),
                (None, None) => "no status yet".into(),
            };
        }
        None => w.agent_detail = "the Agent does not exist".into(),
    }
    Ok(w)
}

/// Waits, at most `limit`, until the RemoteMCPServer lists all five task tools and the Agent
/// is Ready; otherwise fails naming what is missing.
pub fn wait_for_wiring(kagent: &Kube, limit: Duration) -> Result<Wiring> {
    let started = Instant::now();
    loop {
        let w = look(kagent)?;
        if w.complete() {
            return Ok(w);
        }
        if started.elapsed() >= limit {
            let mut problems = Vec::new();
            if !w.missing_tools.is_empty() {
                problems.push(format!(
                    "RemoteMCPServer {NAMESPACE}/{MCP_SERVER} lists {} of {} task tools in status.discoveredTools; missing: {}",
                    TASK_TOOLS.len() - w.missing_tools.len(),
                    TASK_TOOLS.len(),
                    w.missing_tools.join(", ")
                ));
            }
            if !w.agent_ready {
                problems.push(format!(
                    "Agent {NAMESPACE}/{TODO_AGENT} is not Ready: {}",
                    w.agent_detail
                ));
            }
            return Err(failure(
                format!(
                    "kagent is not wired to the backend after {}s:\n  {}",
                    limit.as_secs(),
                    problems.join("\n  ")
                ),
                format!(
                    "kagent must reach the backend's /mcp: check `kubectl -n {NAMESPACE} describe remotemcpserver {MCP_SERVER}` and the controller's logs; with the chart's NetworkPolicy on, the kagent namespace must be allowed in (see docs/aiops.md); with AUTH_SECRET set, the Secret {MCP_AUTH_SECRET} must hold a valid token"
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(500).min(limit.saturating_sub(started.elapsed())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "kind: RemoteMCPServer\nspec:\n  url: http://${BACKEND_SERVICE}.${NAMESPACE}.svc.cluster.local:${BACKEND_PORT}/mcp\n  timeout: 30s\n  ${MCP_HEADERS_FROM}\n---\nkind: Agent\nmetadata:\n  namespace: ${KAGENT_NAMESPACE}\n";

    #[test]
    fn headers_from_only_with_auth() {
        let open = render(TEMPLATE, "todo", "todo-chatbot-backend", 8000, false);
        assert!(!open.contains("headersFrom"), "{open}");
        assert!(!open.contains("${"), "{open}");
        assert!(open.contains("url: http://todo-chatbot-backend.todo.svc.cluster.local:8000/mcp\n  timeout: 30s\n---"), "{open}");
        let auth = render(TEMPLATE, "todo", "b", 8000, true);
        assert!(auth.contains("  headersFrom:\n    - name: Authorization\n      valueFrom:\n        type: Secret\n        name: todo-mcp-auth\n        key: Authorization\n---"), "{auth}");
        assert!(auth.contains("namespace: kagent"));
    }

    #[test]
    fn the_shipped_agent_lists_every_tool_and_guards_the_mutating_ones() {
        let shipped = include_str!("../../../../deploy/k8s/kagent/todo-agent.yaml");
        check_tools(shipped).expect("the shipped manifests are right");
        // The file ends with the requireApproval list; drop its last entry.
        let (unguarded, last) = shipped.trim_end().rsplit_once('\n').expect("lines");
        assert_eq!(last.trim(), "- delete_task");
        let text =
            crate::error::render(&check_tools(unguarded).expect_err("delete_task unguarded"));
        assert!(
            text.contains("lets delete_task run without approval"),
            "{text}"
        );
    }

    #[test]
    fn the_peer_is_found_in_release_values() {
        assert!(!values_allow_kagent(&serde_json::json!({})));
        let v = serde_json::json!({"networkPolicy": {"backendExtraFrom": network_peer()}});
        assert!(values_allow_kagent(&v));
        let other = serde_json::json!({"networkPolicy": {"backendExtraFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mcp"}}}]}});
        assert!(!values_allow_kagent(&other));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long_key = [0xaau8; 131];
        let mac = hmac_sha256(
            &long_key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_hs256_jwts_for_the_user() {
        assert_eq!(b64url(b"f"), "Zg");
        assert_eq!(b64url(b"fo"), "Zm8");
        assert_eq!(b64url(b"foo"), "Zm9v");
        // The example of RFC 7515 appendix A.1 uses another key format; this checks the shape
        // and that the signature covers header and claims.
        let t = sign_hs256(b"secret", r#"{"sub":"demo","iat":1,"exp":2}"#);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
        assert_eq!(parts[1], b64url(br#"{"sub":"demo","iat":1,"exp":2}"#));
        assert_ne!(t, sign_hs256(b"other", r#"{"sub":"demo","iat":1,"exp":2}"#));
        let doc = auth_secret_doc(&t);
        assert!(doc.contains(&format!("Authorization: \"Bearer {t}\"")));
        assert!(doc.contains("namespace: kagent"));
    }
}
