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
//!
//! By concern: `raw.rs` the raw manifests (rendering, hashes), `helm_mode.rs` the chart (values,
//! lint, upgrade, release gates), `secret.rs` the database mode, the Secret from `.env` and the
//! private values file, `registry.rs` the images a registry lacks, `diagnose.rs` what the pods
//! and events say while the gates wait, `overrides.rs` `--set`/`--values`; this file the stage's
//! shape: observe, the pure plan, act and the gates.

pub mod diagnose;
mod helm_mode;
pub mod overrides;
pub mod raw;
pub mod registry;
mod secret;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::{Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::{failure, usage};
use crate::flags;
use crate::project::objects::{
    self, APP_SELECTOR, HASH_ANNOTATION, KINDS, MANAGED_BY, SECRET_NAME,
};
use crate::tools::helm::{self, Major};
use crate::tools::kubectl;
use diagnose::{Cluster, Workload};
pub use helm_mode::helm_fullname;
use raw::Doc;
use secret::TempFile;

/// The kinds the raw manifests and the chart both make (what a mode switch removes). Claims are
/// not among them: the data stays, and the chart uses the raw manifests' claim as it is.
const WORKLOAD_KINDS: &[&str] = &[
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
    "NetworkPolicy",
];

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

impl From<kubectl::Object> for Found {
    fn from(o: kubectl::Object) -> Found {
        Found {
            managed_by: o.label(MANAGED_BY).unwrap_or("").to_string(),
            hash: o.annotations.get(HASH_ANNOTATION).cloned(),
            kind: o.kind,
            name: o.name,
        }
    }
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

    /// The objects' name prefix in this mode (`todo-chatbot` for the raw manifests).
    fn prefix(&self) -> String {
        if self.opts.helm {
            self.fullname()
        } else {
            "todo-chatbot".to_string()
        }
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
        let prefix = self.prefix();
        vec![format!("{prefix}-backend"), format!("{prefix}-frontend")]
    }

    fn cluster<'a>(&'a self, cx: &'a Ctx) -> Cluster<'a> {
        Cluster {
            kube: cx.kube(&self.config),
            registry: self.opts.registry.is_some(),
        }
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
        crate::project::cluster::require_context(cx, &self.config)?;
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
        self.check_helm(cx, report)
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let context = self.context();
        let ns = self.ns().to_string();
        // What should run: the images the build stage tags from the tree, and the objects.
        let (mut images, to_push) = self.images(cx)?;
        let env = cx.secrets()?;
        let database = self.database(&env)?;
        report.note(cx, database.persistence_note(&self.prefix()));
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
            Some(_) => kube.objects(KINDS, APP_SELECTOR, &objects::COLUMNS)?,
            None => Vec::new(),
        };
        let secret_hash = self.seal_secret(&listed, &secret)?;
        let objects: Vec<Found> = listed.into_iter().map(Found::from).collect();
        let release = match (&namespace, self.major) {
            (Some(_), Some(_)) => helm::status(&cx.runner, Some(&context), &ns, self.release())?,
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
            self.prepare_release(cx, report, &images, database, &secret_hash, auth)?;
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
                secret::save_password(&cx.root.join(secret::DOTENV), p)
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
            Step::Upgrade { release, .. } => self.upgrade(cx, release),
        }
    }

    fn gates(&mut self, cx: &Ctx, observed: &Observed, report: &mut Report) -> Result<()> {
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
                diagnose::wait_endpoints(&cluster, &svc, &ns, timeout)
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
        if self.opts.helm {
            self.release_gates(cx, report)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
