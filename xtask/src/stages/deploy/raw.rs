//! The raw manifests of `deploy/k8s/`: read in order, placeholders substituted, each object
//! stamped with a hash of its rendered text so a later deploy can tell what changed; and the
//! Secret made from `.env`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Database, DeployStage};
use crate::ctx::Ctx;
use crate::error::usage;
use crate::project::objects::{HASH_ANNOTATION, SECRET_NAME, TOKEN_ANNOTATION, short_hash};

/// One object to apply.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Where it came from: the file name (`30-backend-deployment.yaml`), `15-secret` for the Secret.
    pub source: String,
    pub kind: String,
    pub name: String,
    /// 16 hex digits of the SHA-256 of the rendered text.
    pub hash: String,
    /// The rendered text with the hash annotation; goes to `kubectl apply -f -` on stdin.
    pub text: String,
    /// True for the Secret: its text is never shown.
    pub secret: bool,
}

impl Doc {
    /// `kind/name` as kubectl takes it.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }

    /// Builds a document from rendered text (kind and name read from it).
    pub fn new(order: &str, rendered: &str, secret: bool) -> Result<Doc> {
        let kind = top_level(rendered, "kind")
            .ok_or_else(|| anyhow::anyhow!("{order}: no top-level `kind:`"))?;
        let name = metadata_field(rendered, "name")
            .ok_or_else(|| anyhow::anyhow!("{order}: no `metadata.name`"))?;
        let hash = short_hash(rendered);
        let text = annotate(rendered, HASH_ANNOTATION, &hash);
        Ok(Doc {
            source: order.to_string(),
            kind,
            name,
            hash,
            text,
            secret,
        })
    }
}

impl Doc {
    /// The Secret as a document whose config-hash covers its content and `token`, with the token
    /// in [`TOKEN_ANNOTATION`] (the hash stays on the Secret, readable only with the Secret).
    pub fn secret(order: &str, rendered: &str, token: &str) -> Result<Doc> {
        let mut doc = Doc::new(order, rendered, true)?;
        doc.hash = keyed_hash(rendered, token);
        doc.text = annotate(
            &annotate(rendered, HASH_ANNOTATION, &doc.hash),
            TOKEN_ANNOTATION,
            token,
        );
        Ok(doc)
    }
}

/// The config-hash of the Secret text `rendered` with the rollout token `token`: a Secret
/// found with this hash and this token has exactly this content.
pub fn keyed_hash(rendered: &str, token: &str) -> String {
    short_hash(&format!("{rendered}\n{TOKEN_ANNOTATION}={token}"))
}

/// A new rollout token: 128 bits from the OS's random source, as hex.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the OS random source failed ({e})"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token to use for a Secret whose text is `rendered`: the one it runs with (`live`:
/// its config-hash and token) when its content is unchanged, else a new one.
pub fn rollout_token(rendered: &str, live: Option<(&str, &str)>) -> Result<String> {
    match live {
        Some((hash, token)) if keyed_hash(rendered, token) == hash => Ok(token.to_string()),
        _ => new_token(),
    }
}

/// Replaces `${NAME}` for every key of `vars`; any `${` left is an error naming the file.
pub fn substitute(text: &str, vars: &BTreeMap<&str, String>, file: &str) -> Result<String> {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    if let Some(at) = out.find("${") {
        let rest = &out[at..];
        let end = rest.find('}').map_or(rest.len().min(30), |e| e + 1);
        return Err(usage(
            format!("{file}: unknown placeholder `{}`", &rest[..end]),
            "the manifests may use only ${NAMESPACE}, ${BACKEND_IMAGE}, ${FRONTEND_IMAGE} and ${POSTGRES_IMAGE} (deploy/k8s/README.md)",
        ));
    }
    Ok(out)
}

/// The value of a top-level `key:` line.
fn top_level(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| unquote(v.trim()))
        .filter(|v| !v.is_empty())
}

/// The value of `metadata.<key>` (two spaces in, under the top-level `metadata:`).
fn metadata_field(text: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("metadata:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
                return None;
            }
            if let Some(v) = line.strip_prefix(&format!("  {key}:")) {
                return Some(unquote(v.trim()));
            }
        }
    }
    None
}

fn unquote(v: &str) -> String {
    v.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// Adds `key: "value"` to the top-level `metadata.annotations` (creating the map when absent).
pub fn annotate(text: &str, key: &str, value: &str) -> String {
    let entry = format!("    {key}: \"{value}\"");
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 2);
    let Some(meta) = lines.iter().position(|l| l.starts_with("metadata:")) else {
        return text.to_string();
    };
    // Where the metadata block ends: the next line that is neither indented nor blank.
    let end = lines[meta + 1..]
        .iter()
        .position(|l| !l.starts_with(' ') && !l.trim().is_empty() && !l.starts_with('#'))
        .map_or(lines.len(), |p| meta + 1 + p);
    let existing = (meta + 1..end).find(|&i| lines[i].trim_end() == "  annotations:");
    for (i, l) in lines.iter().enumerate() {
        out.push((*l).to_string());
        match existing {
            Some(a) if i == a => out.push(entry.clone()),
            None if i == meta => {
                out.push("  annotations:".into());
                out.push(entry.clone());
            }
            _ => {}
        }
    }
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The manifest files to apply, sorted by file name: the top folder's `*.yaml` (not
/// `secret.example.yaml`) and, with the in-cluster database, `postgres/*.yaml`.
pub fn manifest_files(dir: &Path, with_postgres: bool) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let mut read_dir = |d: &Path, prefix: &str| -> Result<()> {
        let entries = std::fs::read_dir(d).map_err(|e| {
            usage(
                format!("could not read the manifests folder {}: {e}", d.display()),
                "set `deploy.manifests` in deploy/pipeline.toml to the folder of the raw manifests",
            )
        })?;
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(String::from) else {
                continue;
            };
            if path.is_file() && name.ends_with(".yaml") && !name.contains("example") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                files.push((format!("{prefix}{name}"), text));
            }
        }
        Ok(())
    };
    read_dir(dir, "")?;
    if with_postgres {
        read_dir(&dir.join("postgres"), "postgres/")?;
    }
    files.sort_by(|a, b| file_name(&a.0).cmp(file_name(&b.0)));
    Ok(files)
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

pub use yaml_docs::documents;

/// The Secret as YAML with `stringData` (values JSON-quoted, which YAML reads as double-quoted
/// strings). Keys sorted, so the same input gives the same text and hash.
pub fn secret_yaml(namespace: &str, data: &BTreeMap<String, String>) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {SECRET_NAME}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/name: todo-chatbot\n    app.kubernetes.io/instance: todo-chatbot\n    app.kubernetes.io/component: secrets\n    app.kubernetes.io/part-of: todo-chatbot\n    app.kubernetes.io/managed-by: todo-chatbot-xtask\ntype: Opaque\nstringData:\n"
    );
    for (k, v) in data {
        let quoted = serde_json::Value::String(v.clone()).to_string();
        s.push_str(&format!("  {k}: {quoted}\n"));
    }
    s
}

impl DeployStage {
    /// Renders the objects of the mode, in apply order.
    pub(super) fn render(
        &self,
        cx: &Ctx,
        images: &BTreeMap<String, String>,
        database: Database,
        secret: &BTreeMap<String, String>,
    ) -> Result<Vec<Doc>> {
        let dir = cx.root.join(&self.config.deploy.manifests);
        let files = manifest_files(&dir, database == Database::Internal)?;
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        vars.insert("NAMESPACE", self.ns().to_string());
        for (key, var) in [
            ("backend", "BACKEND_IMAGE"),
            ("frontend", "FRONTEND_IMAGE"),
            ("postgres", "POSTGRES_IMAGE"),
        ] {
            if let Some(i) = images.get(key) {
                vars.insert(var, i.clone());
            }
        }
        let mut docs = Vec::new();
        let mut secret_done = false;
        for (name, text) in files {
            let file = name.rsplit('/').next().unwrap_or(&name).to_string();
            if !secret_done && file.as_str() > "15" {
                docs.push(Doc::new(
                    "15-secret",
                    &secret_yaml(self.ns(), secret),
                    true,
                )?);
                secret_done = true;
            }
            let shown = self
                .config
                .deploy
                .manifests
                .join(&name)
                .display()
                .to_string();
            let rendered = substitute(&text, &vars, &shown)?;
            for d in documents(&rendered) {
                let doc = Doc::new(&file, &d, false).with_context(|| format!("reading {shown}"))?;
                // With Helm only the Namespace comes from the raw manifests.
                if !self.opts.helm || doc.kind == "Namespace" {
                    docs.push(doc);
                }
            }
        }
        if !secret_done {
            docs.push(Doc::new(
                "15-secret",
                &secret_yaml(self.ns(), secret),
                true,
            )?);
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &str = "# comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ${NAMESPACE}\n  labels:\n    a: b\nspec:\n  template:\n    metadata:\n      labels:\n        a: b\n";

    #[test]
    fn the_rollout_token_is_kept_while_the_secret_is_unchanged() {
        let text = secret_yaml(
            "todo",
            &BTreeMap::from([("K".to_string(), "v1".to_string())]),
        );
        let first = rollout_token(&text, None).expect("token");
        assert_eq!(first.len(), 32);
        let doc = Doc::secret("15-secret", &text, &first).expect("doc");
        assert!(
            doc.text
                .contains(&format!("{TOKEN_ANNOTATION}: \"{first}\""))
        );
        // Unchanged content: the same token, so the same pods annotation.
        let again = rollout_token(&text, Some((&doc.hash, &first))).expect("token");
        assert_eq!(again, first);
        // Changed content: a new token.
        let changed = secret_yaml(
            "todo",
            &BTreeMap::from([("K".to_string(), "v2".to_string())]),
        );
        let next = rollout_token(&changed, Some((&doc.hash, &first))).expect("token");
        assert_ne!(next, first);
        // A Secret made before tokens (plain content hash): a new token, so it is applied again.
        let legacy = short_hash(&text);
        assert_ne!(rollout_token(&text, Some((&legacy, "x"))).expect("t"), "x");
        // The token is no function of the values.
        assert_ne!(rollout_token(&text, None).expect("t"), first);
    }

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_refused() {
        let vars = BTreeMap::from([("NAMESPACE", "todo".to_string())]);
        let out = substitute(DEPLOY, &vars, "x.yaml").expect("substitutes");
        assert!(out.contains("namespace: todo"));
        let err = substitute("image: ${OTHER}\n", &vars, "y.yaml").expect_err("unknown");
        assert!(crate::error::render(&err).contains("y.yaml: unknown placeholder `${OTHER}`"));
    }

    #[test]
    fn annotation_goes_into_the_top_level_metadata_only() {
        let out = annotate(DEPLOY, HASH_ANNOTATION, "abc");
        assert!(
            out.contains("metadata:\n  annotations:\n    todo-chatbot.dev/config-hash: \"abc\"\n  name: web\n"),
            "{out}"
        );
        assert_eq!(out.matches("annotations:").count(), 1);
        let with = "kind: X\nmetadata:\n  name: a\n  annotations:\n    k: v\nspec: {}\n";
        let out = annotate(with, "h", "1");
        assert_eq!(
            out,
            "kind: X\nmetadata:\n  name: a\n  annotations:\n    h: \"1\"\n    k: v\nspec: {}\n"
        );
    }

    #[test]
    fn doc_reads_kind_and_name_and_hashes_the_text() {
        let d = Doc::new("30-x.yaml", DEPLOY, false).expect("doc");
        assert_eq!((d.kind.as_str(), d.name.as_str()), ("Deployment", "web"));
        assert_eq!(d.reference(), "deployment/web");
        assert_eq!(d.hash.len(), 16);
        let other = Doc::new("30-x.yaml", &DEPLOY.replace("a: b", "a: c"), false).expect("doc");
        assert_ne!(d.hash, other.hash);
    }

    #[test]
    fn the_real_manifests_render_with_every_placeholder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/k8s");
        let files = manifest_files(&dir, true).expect("reads");
        let names: Vec<&str> = files.iter().map(|(n, _)| file_name(n)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.first(), Some(&"00-namespace.yaml"));
        assert!(names.contains(&"21-postgres-statefulset.yaml"));
        let vars = BTreeMap::from([
            ("NAMESPACE", "todo".to_string()),
            ("BACKEND_IMAGE", "b:1".to_string()),
            ("FRONTEND_IMAGE", "f:1".to_string()),
            ("POSTGRES_IMAGE", "p:15".to_string()),
        ]);
        for (name, text) in &files {
            for doc in documents(&substitute(text, &vars, name).expect("renders")) {
                let d = Doc::new(name, &doc, false).expect("doc");
                assert!(d.text.contains(HASH_ANNOTATION), "{name}");
            }
        }
        // namespace, configmap, SQLite claim, two Deployments, two Services, network policies.
        assert_eq!(manifest_files(&dir, false).expect("reads").len(), 8);
    }

    #[test]
    fn secret_values_are_quoted_and_sorted() {
        let data = BTreeMap::from([
            ("OPENAI_API_KEY".to_string(), "sk-\"x\"".to_string()),
            (
                "DATABASE_URL".to_string(),
                "sqlite:///data/todo.db".to_string(),
            ),
        ]);
        let y = secret_yaml("todo", &data);
        let a = y.find("DATABASE_URL").expect("key");
        let b = y.find("OPENAI_API_KEY").expect("key");
        assert!(a < b);
        assert!(y.contains(r#"OPENAI_API_KEY: "sk-\"x\"""#), "{y}");
    }
}
