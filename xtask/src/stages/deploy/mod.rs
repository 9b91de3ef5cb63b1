//! Stages 3 and 4, `deploy` and `deploy --helm`: the app on the cluster, from the raw manifests
//! of `deploy/k8s/` or from the chart `deploy/helm/todo-chatbot`.
//!
//! Both modes share the Namespace (from `00-namespace.yaml`) and the Secret the xtask makes from
//! `.env` and sends to `kubectl apply -f -` on stdin. Every object the xtask applies carries the
//! annotation `todo-chatbot.dev/config-hash`; the Helm release carries the hash of the chart,
//! the values and the images in its description. A deploy whose inputs match what runs makes no
//! mutating call. Switching modes removes the other mode's objects first (the Namespace, the
//! Secret and the volumes stay). Gates: rollouts complete (a pod that cannot start ends the wait
//! at once, with the reason and the fix), Services have ready endpoints, and for Helm the release
//! is `deployed` and `helm test` passes.

pub mod diagnose;
pub mod overrides;
pub mod raw;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::{failure, usage};
use crate::flags;
use crate::project::images::desired_images;
use crate::project::objects::{
    self, APP_SELECTOR, HASH_ANNOTATION, KINDS, POD_SECRET_ANNOTATION, SECRET_NAME,
    TOKEN_ANNOTATION,
};
use crate::tools::helm::{self, Major};
use crate::tools::{self, kubectl};
use diagnose::{Cluster, Workload};
use raw::Doc;

/// The kinds the raw manifests and the chart both make (what a mode switch removes). Claims are
/// not among them: the data stays, and the chart uses the raw manifests' claim as it is.
const WORKLOAD_KINDS: &[&str] = &[
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
    "NetworkPolicy",
];
/// Where the generated POSTGRES_PASSWORD is kept.
const DOTENV: &str = ".env";

pub fn run(cx: &Ctx, f: &flags::Deploy) -> Result<i32> {
    let opts = Options::from(f);
    overrides::check(&opts.overrides, opts.helm, "deploy --helm")?;
    let mut stage = DeployStage::new(cx.config()?, opts);
    execute(cx, &mut stage)
}

/// What `deploy` is asked to do (the flags; `up` builds one too).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The chart instead of the raw manifests (both are stage 4).
    pub helm: bool,
    /// Registry prefix for the images (a real cluster).
    pub registry: Option<String>,
    /// The images of the iteration profile (`build --fast`).
    pub fast: bool,
    /// `--set` and `--values` for the chart.
    pub overrides: flags::Overrides,
    /// The `dev` loop: `helm upgrade` does not wait (the rollout gates wait, and stop at once on
    /// a crashing pod instead of helm waiting out its timeout and rolling back), and there is no
    /// `helm test` gate (the rollout and endpoint gates run every cycle).
    pub dev_loop: bool,
}

impl From<&flags::Deploy> for Options {
    fn from(f: &flags::Deploy) -> Options {
        Options {
            helm: f.helm,
            registry: f.registry.clone(),
            fast: f.fast,
            overrides: f.overrides.clone(),
            dev_loop: false,
        }
    }
}

pub struct DeployStage {
    config: Config,
    opts: Options,
    /// Detected in preflight (helm mode, or raw mode with helm on PATH).
    major: Option<Major>,
    /// The generated values file for the chart (removed when the stage ends).
    values_file: Option<TempFile>,
    /// The rendered objects, in apply order (namespace, secret, ...; only those of the mode).
    docs: Vec<Doc>,
    /// A POSTGRES_PASSWORD generated in this run, saved to `.env` before the Secret is applied.
    generated_password: Option<String>,
    /// The hash of everything the Helm release is made from.
    helm_hash: String,
    /// True once the plan is empty: nothing was changed.
    unchanged: bool,
}

/// The database the backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    Sqlite,
    Internal,
    External,
}

impl Database {
    /// Where the data lives and what a redeploy costs, for the stage's report; `prefix` is the
    /// objects' name prefix (`todo-chatbot` for the raw manifests).
    pub fn persistence_note(self, prefix: &str) -> String {
        match self {
            Database::Sqlite => format!(
                "database sqlite: tasks are kept on the claim {prefix}-sqlite; the one backend pod is replaced with Recreate, so a redeploy has a short outage (deploy.database = \"internal\" or an external DATABASE_URL rolls without one)"
            ),
            Database::Internal => format!(
                "database internal: tasks are kept on PostgreSQL's claim data-{prefix}-postgres-0"
            ),
            Database::External => "database external: tasks are kept in your PostgreSQL".into(),
        }
    }

    fn chart_mode(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Internal => "internal",
            Database::External => "external",
        }
    }
}

/// One object as found in the namespace.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub kind: String,
    pub name: String,
    pub managed_by: String,
    /// The config-hash annotation, when the xtask applied it.
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub mode: &'static str,
    pub context: String,
    pub namespace: String,
    pub namespace_hash: Option<String>,
    pub namespace_exists: bool,
    pub database: Database,
    /// Image key (backend, frontend, postgres) → the reference the pods run.
    pub images: BTreeMap<String, String>,
    pub objects: Vec<Found>,
    pub release: Option<helm::Status>,
    pub helm: Option<String>,
    /// (local `name:tag`, registry reference) of each image the registry lacks.
    pub to_push: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub enum Step {
    /// Tag a locally built image for the registry and push it.
    Push { local: String, remote: String },
    /// Append the generated POSTGRES_PASSWORD to `.env` (kept for every later deploy).
    SavePassword,
    /// Apply one rendered object (by index into the stage's docs).
    Apply {
        index: usize,
        reference: String,
        why: &'static str,
    },
    /// New pods for a Deployment whose Secret changed (raw manifests do not roll by themselves).
    Restart { reference: String },
    /// Remove the raw manifests' objects before the chart takes over.
    RemoveRaw { refs: Vec<String> },
    /// Remove objects of the raw manifests that are no longer wanted (e.g. PostgreSQL's after
    /// a switch to another database; its volume stays).
    Prune { refs: Vec<String> },
    /// Remove the Helm release before the raw manifests take over.
    Uninstall { release: String },
    /// `helm upgrade --install`.
    Upgrade { release: String, install: bool },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Push { remote, .. } => write!(f, "push {remote}"),
            Step::SavePassword => write!(f, "generate POSTGRES_PASSWORD and keep it in .env"),
            Step::Apply { reference, why, .. } => write!(f, "apply {reference} ({why})"),
            Step::Restart { reference } => {
                write!(f, "restart {reference} (its Secret changed)")
            }
            Step::RemoveRaw { refs } => write!(
                f,
                "remove the raw manifests' objects before Helm takes over: {}",
                refs.join(" ")
            ),
            Step::Prune { refs } => write!(
                f,
                "remove what the manifests no longer make: {}",
                refs.join(" ")
            ),
            Step::Uninstall { release } => write!(
                f,
                "uninstall Helm release {release} before the raw manifests take over"
            ),
            Step::Upgrade { release, install } => write!(
                f,
                "helm {} release {release}",
                if *install { "install" } else { "upgrade" }
            ),
        }
    }
}

impl DeployStage {
    pub fn new(mut config: Config, opts: Options) -> DeployStage {
        if opts.fast {
            config.use_iteration_profile();
        }
        DeployStage {
            config,
            opts,
            major: None,
            values_file: None,
            docs: Vec::new(),
            generated_password: None,
            helm_hash: String::new(),
            unchanged: false,
        }
    }

    /// The kubectl context the stage talks to (resolved once, see `Config::context`).
    pub fn context(&self) -> String {
        self.config.context().to_string()
    }

    fn ns(&self) -> &str {
        &self.config.deploy.namespace
    }

    fn release(&self) -> &str {
        &self.config.deploy.release
    }

    /// The chart's object-name prefix for the release (its `fullname` helper).
    fn fullname(&self) -> String {
        helm_fullname(self.release())
    }

    /// `name:tag` with the registry in front when one is set.
    fn image_ref(&self, image: &str) -> String {
        match &self.opts.registry {
            Some(r) => format!("{}/{image}", r.trim_end_matches('/')),
            None => image.to_string(),
        }
    }

    /// The Deployments (and StatefulSet) the gates wait for, with their pods' selectors.
    fn workloads(&self, database: Database) -> Vec<Workload> {
        let (prefix, instance) = if self.opts.helm {
            (self.fullname(), self.release().to_string())
        } else {
            ("todo-chatbot".to_string(), "todo-chatbot".to_string())
        };
        let mut out = Vec::new();
        if database == Database::Internal {
            out.push(("statefulset", "postgres", "database"));
        }
        out.push(("deployment", "backend", "backend"));
        out.push(("deployment", "frontend", "frontend"));
        out.into_iter()
            .map(|(kind, suffix, component)| Workload {
                reference: format!("{kind}/{prefix}-{suffix}"),
                selector: format!(
                    "{APP_SELECTOR},app.kubernetes.io/instance={instance},app.kubernetes.io/component={component}"
                ),
            })
            .collect()
    }

    /// The backend's and the frontend's Service names in this mode (`verify` and `up` reach
    /// the app through the second).
    pub fn services(&self) -> Vec<String> {
        let prefix = if self.opts.helm {
            self.fullname()
        } else {
            "todo-chatbot".to_string()
        };
        vec![format!("{prefix}-backend"), format!("{prefix}-frontend")]
    }

    /// Which database, from the setting and `.env`.
    fn database(&self, env: &BTreeMap<String, String>) -> Result<Database> {
        let url = env.get("DATABASE_URL").map(String::as_str).unwrap_or("");
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        Ok(match self.config.deploy.database.as_str() {
            "sqlite" => Database::Sqlite,
            "internal" => Database::Internal,
            "external" if postgres => Database::External,
            "external" => {
                return Err(usage(
                    "deploy.database is `external` but .env has no postgres:// DATABASE_URL",
                    "put DATABASE_URL=postgres://USER:PASSWORD@HOST/DB?sslmode=require in .env (see .env.example), or set deploy.database to sqlite or internal",
                ));
            }
            _ if postgres => Database::External,
            _ => Database::Sqlite,
        })
    }

    /// The Secret's keys: `.env`'s values, the database URL of the mode, and the PostgreSQL
    /// password (from `.env`, else generated once and then kept in `.env`).
    fn secret_data(
        &mut self,
        cx: &Ctx,
        env: &BTreeMap<String, String>,
        database: Database,
    ) -> Result<BTreeMap<String, String>> {
        let mut data = BTreeMap::new();
        for key in ["OPENAI_API_KEY", "AUTH_SECRET"] {
            if let Some(v) = env.get(key).filter(|v| !v.is_empty()) {
                data.insert(key.to_string(), v.clone());
            }
        }
        match database {
            Database::External => {
                data.insert("DATABASE_URL".into(), env["DATABASE_URL"].clone());
            }
            Database::Sqlite => {
                data.insert("DATABASE_URL".into(), "sqlite:///data/todo.db".into());
            }
            Database::Internal => {
                let password = match env.get("POSTGRES_PASSWORD").filter(|v| !v.is_empty()) {
                    Some(p) => p.clone(),
                    None => {
                        let p = random_password()?;
                        self.generated_password = Some(p.clone());
                        p
                    }
                };
                cx.runner.add_secret(&password);
                let host = if self.opts.helm {
                    format!("{}-postgres", self.fullname())
                } else {
                    "todo-chatbot-postgres".into()
                };
                let url = format!("postgres://todo:{password}@{host}:5432/todo");
                cx.runner.add_secret(&url);
                data.insert("DATABASE_URL".into(), url);
                data.insert("POSTGRES_PASSWORD".into(), password);
            }
        }
        Ok(data)
    }

    /// Renders the objects of the mode, in apply order.
    fn render(
        &self,
        cx: &Ctx,
        images: &BTreeMap<String, String>,
        database: Database,
        secret: &BTreeMap<String, String>,
    ) -> Result<Vec<Doc>> {
        let dir = cx.root.join(&self.config.deploy.manifests);
        let files = raw::manifest_files(&dir, database == Database::Internal)?;
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
                    &raw::secret_yaml(self.ns(), secret),
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
            let rendered = raw::substitute(&text, &vars, &shown)?;
            for d in raw::documents(&rendered) {
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
                &raw::secret_yaml(self.ns(), secret),
                true,
            )?);
        }
        Ok(docs)
    }

    /// The chart's values made by the xtask: images, pull policy, the Secret's name and the
    /// database mode. JSON, which YAML reads too. Never a secret value.
    fn generated_values(
        &self,
        images: &BTreeMap<String, String>,
        database: Database,
        secret_hash: &str,
        auth: bool,
    ) -> serde_json::Value {
        let tag_of = |key: &str| {
            images
                .get(key)
                .and_then(|i| i.rsplit_once(':').map(|(_, t)| t.to_string()))
                .unwrap_or_default()
        };
        let repo_of = |key: &str| {
            self.config
                .images
                .get(key)
                .map(|i| i.name.clone())
                .unwrap_or_default()
        };
        serde_json::json!({
            "image": {
                "registry": self.opts.registry.clone().unwrap_or_default().trim_end_matches('/'),
                "pullPolicy": "IfNotPresent",
            },
            "secrets": { "existingSecret": SECRET_NAME },
            "database": { "mode": database.chart_mode() },
            "backend": {
                "image": { "repository": repo_of("backend"), "tag": tag_of("backend") },
                // A changed Secret rolls the backend (the chart checksums only its own Secret).
                "podAnnotations": { POD_SECRET_ANNOTATION: secret_hash },
            },
            "frontend": {
                "image": { "repository": repo_of("frontend"), "tag": tag_of("frontend") },
            },
            // With auth on, "/" redirects to the log-in page; the helm test needs a 2xx page.
            "tests": { "frontendPath": if auth { "/login" } else { "" } },
        })
    }

    /// Whether the chart should let kagent's namespace reach the backend: while that namespace
    /// exists (`aiops --install-kagent` made it) and no values file or `--set` of the user
    /// decides `networkPolicy.backendExtraFrom` itself.
    fn lets_kagent_in(&self, cx: &Ctx, context: &str) -> Result<bool> {
        let mentions = |text: &str| text.contains("backendExtraFrom");
        if self.opts.overrides.set.iter().any(|kv| mentions(kv)) {
            return Ok(false);
        }
        let mut files = self.config_values(cx)?;
        files.extend(overrides::values_files(&self.opts.overrides)?);
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            if mentions(&text) {
                return Ok(false);
            }
        }
        Ok(kubectl::namespace(&cx.runner, Some(context), objects::KAGENT_NAMESPACE)?.is_some())
    }

    /// The values files from the configuration, checked to exist.
    fn config_values(&self, cx: &Ctx) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for v in &self.config.deploy.values {
            let p = cx.root.join(v);
            if !p.is_file() {
                return Err(usage(
                    format!(
                        "the values file {} in `deploy.values` does not exist",
                        v.display()
                    ),
                    "fix `deploy.values` in deploy/pipeline.toml (paths are relative to the project root)",
                ));
            }
            out.push(p);
        }
        Ok(out)
    }

    fn cluster<'a>(&'a self, cx: &'a Ctx) -> Cluster<'a> {
        Cluster {
            kube: cx.kube(&self.config),
            registry: self.opts.registry.is_some(),
        }
    }
}

/// The chart's `fullname` for a release (no nameOverride): the release name when it contains
/// the chart name, else `<release>-todo-chatbot`.
pub fn helm_fullname(release: &str) -> String {
    if release.contains("todo-chatbot") {
        release.to_string()
    } else {
        format!("{release}-todo-chatbot")
    }
}

/// 32 letters and digits from the OS's random source (getrandom: Unix and Windows alike) (URL-safe, so the database URL needs no
/// escaping).
fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| {
        anyhow::anyhow!("the OS random source failed ({e}) making a PostgreSQL password")
    })?;
    // 248 = 4 * 62: dropping bytes above it keeps every character equally likely.
    let chars: String = bytes
        .iter()
        .filter(|b| **b < 248)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .take(32)
        .collect();
    if chars.len() < 32 {
        anyhow::bail!("the random source gave too few usable bytes; run the deploy again");
    }
    Ok(chars)
}

/// A file only this user can read, in a private temporary directory (mode 0700 on Unix, the
/// user's own temp folder on Windows), created exclusively (an existing file or a link in its
/// place is an error, never followed); the directory and the file go when dropped.
struct TempFile {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TempFile {
    fn write(name: &str, text: &str) -> Result<TempFile> {
        let dir = tempfile::Builder::new()
            .prefix("todo-chatbot-")
            .tempdir()
            .context("could not create a private temporary directory")?;
        // Only this user may list or enter it (nobody else can write into it either way). On
        // Windows the folder is made in the user's own %TEMP% (in the user profile), whose ACL
        // grants only the user, SYSTEM and Administrators, and the file inherits that ACL.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private", dir.path().display()))?;
        }
        let path = dir.path().join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(TempFile { path, _dir: dir })
    }
}

/// Everything the plan compares, computed in observe.
#[derive(Debug, Clone)]
pub struct Desired<'a> {
    pub helm: bool,
    pub release: &'a str,
    pub docs: &'a [Doc],
    pub helm_hash: &'a str,
    pub password_generated: bool,
}

/// The steps from what is wanted and what is there (pure, unit-tested).
pub fn plan(want: &Desired, seen: &Observed) -> Vec<Step> {
    let mut steps: Vec<Step> = seen
        .to_push
        .iter()
        .map(|(local, remote)| Step::Push {
            local: local.clone(),
            remote: remote.clone(),
        })
        .collect();
    if want.password_generated {
        steps.push(Step::SavePassword);
    }
    let found = |kind: &str, name: &str| {
        seen.objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    };
    // Switching from Helm to the raw manifests: the release goes first.
    if !want.helm
        && let Some(r) = &seen.release
        && r.status != "uninstalled"
    {
        steps.push(Step::Uninstall {
            release: want.release.to_string(),
        });
    }
    let uninstalling = steps.iter().any(|s| matches!(s, Step::Uninstall { .. }));
    let mut secret_changed = false;
    let mut applied = Vec::new();
    for (index, doc) in want.docs.iter().enumerate() {
        let current = if doc.kind == "Namespace" {
            seen.namespace_exists.then(|| seen.namespace_hash.clone())
        } else {
            found(&doc.kind, &doc.name).map(|o| o.hash.clone())
        };
        let why = match current {
            None => "new",
            Some(h) if h.as_deref() == Some(doc.hash.as_str()) => continue,
            Some(None) => "taken over",
            Some(Some(_)) => "changed",
        };
        if doc.secret && why != "new" {
            secret_changed = true;
        }
        applied.push(doc.reference());
        steps.push(Step::Apply {
            index,
            reference: doc.reference(),
            why,
        });
    }
    if want.helm {
        let raw: Vec<String> = seen
            .objects
            .iter()
            .filter(|o| o.managed_by == "kubectl" && WORKLOAD_KINDS.contains(&o.kind.as_str()))
            .map(|o| format!("{}/{}", o.kind.to_ascii_lowercase(), o.name))
            .collect();
        if !raw.is_empty() {
            steps.push(Step::RemoveRaw { refs: raw });
        }
        let current = seen
            .release
            .as_ref()
            .filter(|r| r.status == "deployed" && r.description.contains(want.helm_hash));
        if current.is_none() {
            steps.push(Step::Upgrade {
                release: want.release.to_string(),
                install: seen.release.is_none(),
            });
        }
    } else {
        let stale: Vec<String> = seen
            .objects
            .iter()
            .filter(|o| o.managed_by == "kubectl" && WORKLOAD_KINDS.contains(&o.kind.as_str()))
            .filter(|o| {
                !want
                    .docs
                    .iter()
                    .any(|d| d.kind == o.kind && d.name == o.name)
            })
            .map(|o| format!("{}/{}", o.kind.to_ascii_lowercase(), o.name))
            .collect();
        if !stale.is_empty() {
            steps.push(Step::Prune { refs: stale });
        }
    }
    if !want.helm && secret_changed && !uninstalling {
        // The raw Deployments read the Secret only when a pod starts.
        let reads_secret = |d: &&Doc| d.kind == "Deployment" && d.text.contains(SECRET_NAME);
        for doc in want.docs.iter().filter(reads_secret) {
            let reference = doc.reference();
            if !applied.contains(&reference) && found(&doc.kind, &doc.name).is_some() {
                steps.push(Step::Restart { reference });
            }
        }
    }
    steps
}

impl Stage for DeployStage {
    type Observed = Observed;
    type Step = Step;

    fn name(&self) -> &'static str {
        if self.opts.helm {
            "deploy --helm"
        } else {
            "deploy"
        }
    }

    fn preflight(&mut self, cx: &Ctx, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        tools::require("kubectl", kubectl::INSTALL_HINT)?;
        let context = self.context();
        let contexts = kubectl::contexts(r)?;
        cx.ui
            .detail(&format!("kubectl contexts: {}", contexts.join(", ")));
        if !contexts.contains(&context) {
            return Err(failure(
                format!("kubectl has no context `{context}`"),
                if self.config.context_is_explicit() {
                    "pass one of the names `kubectl config get-contexts -o name` prints".to_string()
                } else {
                    "run `cargo xtask setup` (it starts minikube and creates the context), or pass --context NAME".to_string()
                },
            ));
        }
        let manifests = cx.root.join(&self.config.deploy.manifests);
        if !manifests.is_dir() {
            return Err(usage(
                format!(
                    "the manifests folder {} does not exist",
                    manifests.display()
                ),
                "set `deploy.manifests` in deploy/pipeline.toml",
            ));
        }
        if tools::find("helm").is_some() {
            let v = helm::version(r, Path::new("helm"))?;
            let major = Major::of(v);
            cx.ui.detail(&format!(
                "helm {v}: {}",
                match major {
                    Some(m) => format!(
                        "upgrade flags {}",
                        m.wait_and_rollback(Duration::from_secs(self.config.deploy.timeout_secs))
                            .join(" ")
                    ),
                    None => "not a major this xtask knows (3 or 4)".into(),
                }
            ));
            if self.opts.helm && major.is_none() {
                return Err(failure(
                    format!("helm {v} is not supported"),
                    helm::INSTALL_HINT,
                ));
            }
            self.major = major;
        } else if self.opts.helm {
            tools::require("helm", helm::INSTALL_HINT)?;
        }
        if self.opts.helm {
            let chart = cx.root.join(&self.config.deploy.chart);
            if !chart.join("Chart.yaml").is_file() {
                return Err(usage(
                    format!("no chart at {} (Chart.yaml missing)", chart.display()),
                    "set `deploy.chart` in deploy/pipeline.toml",
                ));
            }
            report.note(
                cx,
                format!(
                    "helm {} flags: {}",
                    if self.major == Some(Major::V3) { 3 } else { 4 },
                    self.major
                        .map(|m| m
                            .wait_and_rollback(Duration::from_secs(self.config.deploy.timeout_secs))
                            .join(" "))
                        .unwrap_or_default()
                ),
            );
        }
        Ok(())
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let context = self.context();
        let ns = self.ns().to_string();
        // What should run: the images the build stage tags from the tree.
        let keys: Vec<(String, crate::config::Image)> = self
            .config
            .images
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let desired = desired_images(cx, &self.config, &keys)?;
        let mut images = BTreeMap::new();
        let mut to_push = Vec::new();
        for want in desired.images {
            let (key, image) = (want.key, want.image);
            let remote = self.image_ref(&image);
            if self.opts.registry.is_some() {
                let present = registry::has(r, &remote)?;
                cx.ui.detail(&format!("registry has {remote}: {present}"));
                if !present {
                    to_push.push((image.clone(), remote.clone()));
                }
            }
            images.insert(key, remote);
        }
        let env = cx.secrets()?;
        let database = self.database(&env)?;
        let prefix = if self.opts.helm {
            self.fullname()
        } else {
            "todo-chatbot".to_string()
        };
        report.note(cx, database.persistence_note(&prefix));
        if database == Database::Internal {
            images.insert(
                "postgres".into(),
                self.image_ref(&self.config.deploy.postgres_image),
            );
        }
        let secret = self.secret_data(cx, &env, database)?;
        self.docs = self.render(cx, &images, database, &secret)?;

        // What runs now.
        let kube = cx.kube(&self.config);
        let namespace = kube.namespace_object()?;
        let listed = match &namespace {
            Some(_) => kube.objects(KINDS, APP_SELECTOR)?,
            None => Vec::new(),
        };
        // The Secret keeps its rollout token while its content is unchanged; the pods carry the
        // token, never a hash of the values.
        let live = listed
            .iter()
            .find(|o| o.kind == "Secret" && o.name == SECRET_NAME)
            .and_then(|o| {
                Some((
                    o.annotations.get(HASH_ANNOTATION)?.as_str(),
                    o.annotations.get(TOKEN_ANNOTATION)?.as_str(),
                ))
            });
        let rendered_secret = raw::secret_yaml(self.ns(), &secret);
        let secret_hash = raw::rollout_token(&rendered_secret, live)?;
        for doc in self.docs.iter_mut().filter(|d| d.secret) {
            *doc = Doc::secret(&doc.source, &rendered_secret, &secret_hash)?;
        }
        let objects = match &namespace {
            Some(_) => listed
                .into_iter()
                .map(|o| Found {
                    managed_by: o
                        .label("app.kubernetes.io/managed-by")
                        .unwrap_or("")
                        .to_string(),
                    hash: o.annotations.get(HASH_ANNOTATION).cloned(),
                    kind: o.kind,
                    name: o.name,
                })
                .collect(),
            None => Vec::new(),
        };
        let release = match (&namespace, self.major) {
            (Some(_), Some(_)) => helm::status(r, Some(&context), &ns, self.release())?,
            _ => None,
        };
        if !self.opts.helm && self.major.is_none() && objects.iter().any(|o| o.managed_by == "Helm")
        {
            return Err(failure(
                format!(
                    "namespace {ns} holds objects of a Helm release, and helm is not on PATH to remove it"
                ),
                "install helm, or run `cargo xtask down` with helm on PATH; or use another namespace (--namespace)",
            ));
        }

        if self.opts.helm {
            let auth = env.get("AUTH_SECRET").is_some_and(|v| !v.is_empty());
            let mut values = self.generated_values(&images, database, &secret_hash, auth);
            if self.lets_kagent_in(cx, &context)? {
                values["networkPolicy"] = serde_json::json!({
                    "backendExtraFrom": objects::network_peer(),
                });
                report.note(
                    cx,
                    "kagent runs in the cluster: its namespace may reach the backend (networkPolicy.backendExtraFrom)",
                );
            }
            let text = serde_json::to_string_pretty(&values)?;
            let file = TempFile::write("values.json", &text)?;
            let path = file.path.clone();
            self.values_file = Some(file);
            let mut files = self.config_values(cx)?;
            files.push(path);
            let user_values = overrides::values_files(&self.opts.overrides)?;
            files.extend(user_values.iter().cloned());
            let set = &self.opts.overrides.set;
            if !set.is_empty() || !user_values.is_empty() {
                report.note(cx, overrides::describe(&self.opts.overrides));
            }
            let chart = cx.root.join(&self.config.deploy.chart);
            // The lint gate: a chart or values problem stops here, before the cluster is touched.
            if let Some(problems) = helm::lint(r, &chart, &files, set)? {
                return Err(failure(
                    format!(
                        "`helm lint --strict {}` found problems:\n{problems}",
                        self.config.deploy.chart.display()
                    ),
                    "fix the chart, the values files named above (`deploy.values` in deploy/pipeline.toml, --values) or the --set values",
                ));
            }
            report.note(cx, "helm lint --strict: clean");
            let (chart_files, _) = crate::digest::input_files(
                &cx.root,
                std::slice::from_ref(&self.config.deploy.chart),
            )?;
            // Everything the release is made from: the generated values, every values file (in
            // order) and the --set overrides; the same inputs again make no upgrade.
            let mut parts = vec![text];
            for f in &files {
                if self.values_file.as_ref().is_some_and(|t| &t.path == f) {
                    continue;
                }
                parts.push(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?,
                );
            }
            parts.extend(set.iter().map(|kv| format!("--set {kv}")));
            self.helm_hash =
                crate::digest::digest(&cx.root, &chart_files, &parts)?[..16].to_string();
        }

        let observed = Observed {
            mode: if self.opts.helm { "helm" } else { "raw" },
            context,
            namespace: ns,
            namespace_hash: namespace
                .as_ref()
                .and_then(|n| n.annotations.get(HASH_ANNOTATION).cloned()),
            namespace_exists: namespace.is_some(),
            database,
            images,
            objects,
            release,
            helm: self.major.map(|m| format!("{m:?}")),
            to_push,
        };
        let rows: Vec<Vec<String>> = observed
            .images
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        report.tables.push((vec!["image", "reference"], rows));
        Ok(observed)
    }

    fn plan(&mut self, cx: &Ctx, observed: &Observed) -> Result<Vec<Step>> {
        let steps = plan(
            &Desired {
                helm: self.opts.helm,
                release: self.release(),
                docs: &self.docs,
                helm_hash: &self.helm_hash,
                password_generated: self.generated_password.is_some(),
            },
            observed,
        );
        for s in &steps {
            match s {
                Step::RemoveRaw { .. } => cx.ui.warn(
                    "switching from the raw manifests to Helm: their Deployments, Services and ConfigMap are removed first (the app is down until the release is ready; the Namespace, the Secret and the volumes stay)",
                ),
                Step::Uninstall { release } => cx.ui.warn(&format!(
                    "switching from Helm to the raw manifests: release {release} is uninstalled first (the app is down until the new objects are ready; the Secret and the PostgreSQL volume stay)"
                )),
                _ => {}
            }
        }
        self.unchanged = steps.is_empty();
        Ok(steps)
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        let r = &cx.runner;
        let kube = cx.kube(&self.config);
        let context = self.context();
        let ns = self.ns().to_string();
        match step {
            Step::Push { local, remote } => registry::push(r, local, remote),
            Step::SavePassword => {
                let Some(p) = &self.generated_password else {
                    return Ok(());
                };
                save_password(&cx.root.join(DOTENV), p)
            }
            Step::Apply { index, .. } => {
                let doc = &self.docs[*index];
                let out = kube.apply(&doc.text, &doc.reference())?;
                cx.ui.detail(&format!("{}: {}", doc.source, out.trim()));
                Ok(())
            }
            Step::Restart { reference } => kube.rollout_restart(reference),
            Step::RemoveRaw { refs } => kube.delete(refs, true),
            Step::Prune { refs } => kube.delete(refs, false),
            Step::Uninstall { release } => helm::uninstall(
                r,
                Some(&context),
                &ns,
                release,
                Duration::from_secs(self.config.deploy.timeout_secs),
            ),
            Step::Upgrade { release, .. } => {
                let major = self.major.unwrap_or(Major::V4);
                let mut values = self.config_values(cx)?;
                if let Some(f) = &self.values_file {
                    values.push(f.path.clone());
                }
                values.extend(overrides::values_files(&self.opts.overrides)?);
                let spec = helm::UpgradeSpec {
                    release: release.clone(),
                    chart: cx.root.join(&self.config.deploy.chart),
                    namespace: ns.clone(),
                    context: Some(context.clone()),
                    values,
                    set: self.opts.overrides.set.clone(),
                    wait: !self.opts.dev_loop,
                    timeout: Duration::from_secs(self.config.deploy.timeout_secs),
                    description: format!("cargo xtask deploy --helm, inputs {}", self.helm_hash),
                };
                match helm::upgrade_install(r, major, &spec) {
                    Ok(out) => {
                        cx.ui.detail(out.trim());
                        Ok(())
                    }
                    Err(e) => Err(self.explain_helm_failure(cx, e)),
                }
            }
        }
    }

    fn gates(&mut self, cx: &Ctx, observed: &Observed, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        let context = self.context();
        let ns = self.ns().to_string();
        let timeout = Duration::from_secs(self.config.deploy.timeout_secs);
        let cluster = self.cluster(cx);
        let mut rolled_out = true;
        for w in self.workloads(observed.database) {
            report.gate(cx, &format!("{} rolled out", w.reference), || {
                diagnose::wait_rollout(&cluster, &w, timeout)
            });
            if report.gates.last().is_some_and(|g| !g.passed) {
                rolled_out = false;
                break;
            }
        }
        if !rolled_out {
            return Ok(());
        }
        for svc in self.services() {
            report.gate(cx, &format!("service/{svc} has endpoints"), || {
                let deadline = Instant::now() + Duration::from_secs(30).min(timeout);
                loop {
                    let (ready, total) = cluster.kube.service_endpoints(&svc)?;
                    if ready > 0 {
                        return Ok(GateResult::Pass(format!("{ready} ready endpoint(s)")));
                    }
                    if Instant::now() >= deadline {
                        return Ok(GateResult::Fail {
                            detail: format!("service/{svc} has no ready endpoint ({total} not ready)"),
                            help: format!("its selector must match ready pods: `kubectl get endpointslices -n {ns} -l kubernetes.io/service-name={svc}` and `kubectl get pods -n {ns} --show-labels`"),
                        });
                    }
                    std::thread::sleep(Duration::from_secs(2));
                }
            });
        }
        if let Some(front) = self.services().pop() {
            report.note(
                cx,
                format!(
                    "open the app: `cargo xtask open` (a port-forward to service/{front}), or `minikube service {front} -n {ns} -p {profile} --url`",
                    profile = self.config.cluster.profile
                ),
            );
        }
        if !self.opts.helm {
            return Ok(());
        }
        let release = self.release().to_string();
        let status = helm::status(r, Some(&context), &ns, &release)?;
        report.gate(cx, &format!("release {release} deployed"), || {
            Ok(match &status {
                Some(s) if s.status == "deployed" => {
                    GateResult::Pass(format!("revision {}, chart {}", s.revision, s.chart))
                }
                Some(s) => GateResult::Fail {
                    detail: format!(
                        "release {release} is {} (revision {})",
                        s.status, s.revision
                    ),
                    help: format!("`helm history {release} -n {ns}` shows what happened"),
                },
                None => GateResult::Fail {
                    detail: format!("there is no release {release} in namespace {ns}"),
                    help: "run `cargo xtask deploy --helm` again with -v".into(),
                },
            })
        });
        if self.opts.dev_loop {
            return Ok(());
        }
        report.gate(cx, "helm test", || {
            let passed_before = status.as_ref().is_some_and(|s| {
                !s.tests.is_empty() && s.tests.iter().all(|(_, phase)| phase == "Succeeded")
            });
            if self.unchanged && passed_before {
                return Ok(GateResult::Pass(
                    "passed when the release was made; nothing changed since".into(),
                ));
            }
            Ok(match helm::test(r, Some(&context), &ns, &release, timeout)? {
                None => GateResult::Pass(format!(
                    "{} test(s) passed",
                    status.as_ref().map_or(0, |s| s.tests.len()).max(1)
                )),
                Some(out) => GateResult::Fail {
                    detail: format!("helm test {release} failed:\n{out}"),
                    help: format!(
                        "`kubectl logs -n {ns} -l helm.sh/hook=test` (or the test pod named above) shows why"
                    ),
                },
            })
        });
        Ok(())
    }
}

impl DeployStage {
    /// A failed `helm upgrade` (rolled back by helm): what the pods and events said.
    fn explain_helm_failure(&self, cx: &Ctx, err: anyhow::Error) -> anyhow::Error {
        let cluster = self.cluster(cx);
        let kube = cluster.kube;
        let mut found = Vec::new();
        for w in self.workloads(Database::Internal) {
            if let Ok(pods) = kube.pods_json(&w.selector)
                && let Ok(p) = diagnose::problems(&pods)
            {
                found.extend(p.into_iter().filter(|p| p.is_fatal()));
            }
        }
        if let Some(p) = found.first() {
            let logs = match &p.container {
                Some(c) if p.reason == "CrashLoopBackOff" => kube
                    .previous_logs(&p.pod, c, diagnose::LOG_TAIL)
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let (detail, help) =
                diagnose::explain(p, &cx.runner.redact(&logs), self.ns(), cluster.registry);
            return failure(format!("{detail}\n(helm rolled the release back)"), help);
        }
        if let Ok(events) = kube.events(None)
            && let Some(e) = diagnose::probe_failure(&events)
        {
            return err.context(format!(
                "the release did not become ready: {}: {} ({})",
                e.object, e.message, e.reason
            ));
        }
        err
    }
}

/// Appends `POSTGRES_PASSWORD=...` to `.env` (created with mode 0600 when missing).
fn save_password(path: &Path, password: &str) -> Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    // On Windows a new file gets the ACL of the user's project folder.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("opening {} to keep the PostgreSQL password", path.display()))?;
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    write!(
        f,
        "{sep}# Generated by `cargo xtask deploy` for the in-cluster PostgreSQL; keep it (the data volume was made with it).\nPOSTGRES_PASSWORD={password}\n"
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests;
