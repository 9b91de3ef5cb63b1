//! The read-only identity kubectl-ai runs with: a ServiceAccount in the app's namespace, bound
//! by a RoleBinding to the built-in `view` ClusterRole, a short-lived token for it and a
//! private kubeconfig that holds only that token and the current cluster. A write the tool
//! attempts is refused by the API server, whatever the model asks for.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::tools::kubectl::Kube;
use crate::tools::kubectl::access as kubectl_access;

/// The ServiceAccount and RoleBinding name.
pub const READER: &str = "todo-aiops-reader";
/// The ClusterRole every cluster ships: read most objects, not Secrets, change nothing.
pub const VIEW_ROLE: &str = "view";
/// How long a token lives: one run of questions, with room for slow models.
pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

use crate::project::objects::{HASH_ANNOTATION, short_hash};

/// The ServiceAccount and RoleBinding, as YAML for `kubectl apply`, with the hash of their
/// content in an annotation (so an unchanged pair is not applied again).
pub fn manifests(namespace: &str) -> (String, String) {
    let body = format!(
        "apiVersion: v1\n\
         kind: ServiceAccount\n\
         metadata:\n  name: {READER}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/part-of: todo-chatbot\n    app.kubernetes.io/component: aiops\n    app.kubernetes.io/managed-by: todo-chatbot-xtask\n  annotations:\n    {HASH_ANNOTATION}: \"{{hash}}\"\n\
         automountServiceAccountToken: false\n\
         ---\n\
         apiVersion: rbac.authorization.k8s.io/v1\n\
         kind: RoleBinding\n\
         metadata:\n  name: {READER}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/part-of: todo-chatbot\n    app.kubernetes.io/component: aiops\n    app.kubernetes.io/managed-by: todo-chatbot-xtask\n  annotations:\n    {HASH_ANNOTATION}: \"{{hash}}\"\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {VIEW_ROLE}\n\
         subjects:\n  - kind: ServiceAccount\n    name: {READER}\n    namespace: {namespace}\n"
    );
    let hash = short_hash(&body);
    (body.replace("{hash}", &hash), hash)
}

/// A kubeconfig file readable by the owner only, removed when dropped.
pub struct PrivateKubeconfig {
    dir: PathBuf,
    path: PathBuf,
}

impl PrivateKubeconfig {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateKubeconfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Mints a token for the reader and writes the kubeconfig around it. The token goes from
/// kubectl's stdout into the file; it is never an argument and is redacted from every output.
pub fn read_only_kubeconfig(kube: &Kube) -> Result<PrivateKubeconfig> {
    let cluster = kubectl_access::cluster_entry(kube)?;
    let token = kubectl_access::create_token(kube, READER, TOKEN_TTL)?;
    let text = kubeconfig_text(&cluster, &token, kube.namespace)?;
    write_private(&text)
}

/// A kubeconfig (JSON, which kubectl reads like YAML) with one cluster, one token user and one
/// context whose namespace is the app's.
pub fn kubeconfig_text(
    cluster: &serde_json::Value,
    token: &str,
    namespace: &str,
) -> Result<String> {
    let name = format!("{READER}@{namespace}");
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "cluster", "cluster": cluster }],
        "users": [{ "name": READER, "user": { "token": token } }],
        "contexts": [{
            "name": name,
            "context": { "cluster": "cluster", "user": READER, "namespace": namespace },
        }],
        "current-context": name,
    });
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// Writes `text` to a new file that only the owner can read, in a new private folder.
fn write_private(text: &str) -> Result<PrivateKubeconfig> {
    let base = std::env::temp_dir();
    let mut attempt = 0u32;
    let dir = loop {
        let d = base.join(format!("todo-aiops-{}-{}", std::process::id(), attempt));
        match create_private_dir(&d) {
            Ok(()) => break d,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("creating {}", d.display()));
            }
        }
    };
    let path = dir.join("kubeconfig");
    let guard = PrivateKubeconfig {
        dir,
        path: path.clone(),
    };
    let mut f = open_private(&path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(guard)
}

#[cfg(unix)]
fn create_private_dir(d: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(d)
}

/// Windows: the folder is in the user's own %TEMP% (in the user profile), whose ACL grants only
/// the user, SYSTEM and Administrators; the folder and the file inherit it.
#[cfg(not(unix))]
fn create_private_dir(d: &Path) -> std::io::Result<()> {
    std::fs::create_dir(d)
}

/// Creates a new file with mode 0600 (set at creation, so it is never readable by others).
#[cfg(unix)]
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_grants_view_to_the_reader_only() {
        let (yaml, hash) = manifests("todo");
        assert!(yaml.contains(
            "kind: ServiceAccount\nmetadata:\n  name: todo-aiops-reader\n  namespace: todo"
        ));
        assert!(yaml.contains(
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\n"
        ));
        assert!(yaml.contains(
            "  - kind: ServiceAccount\n    name: todo-aiops-reader\n    namespace: todo\n"
        ));
        assert!(yaml.contains(&format!("config-hash: \"{hash}\"")));
        assert_eq!(manifests("todo").1, hash, "stable");
        assert_ne!(manifests("other").1, hash);
    }

    #[test]
    fn the_kubeconfig_holds_the_cluster_and_the_token_only() {
        let cluster = serde_json::json!({"server": "https://10.0.0.1:8443", "certificate-authority-data": "Q0E="});
        let text = kubeconfig_text(&cluster, "tok-123", "todo").expect("json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(v["users"][0]["user"]["token"], "tok-123");
        assert_eq!(v["users"][0]["user"].as_object().map(|o| o.len()), Some(1));
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://10.0.0.1:8443"
        );
        assert_eq!(v["contexts"][0]["context"]["namespace"], "todo");
        assert_eq!(v["current-context"], v["contexts"][0]["name"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let k = write_private("{}").expect("written");
        let path = k.path().to_path_buf();
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().expect("dir"))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        drop(k);
        assert!(!path.exists());
    }
}
