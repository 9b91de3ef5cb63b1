//! `down`: removes the app, whichever way it was deployed: the Helm release, the raw
//! manifests' objects and the Secret the xtask made. The volume claims (SQLite's and
//! PostgreSQL's data) and the Namespace holding them stay unless `--purge`, so a later `up`
//! finds the data again; `down` names them and the command that deletes them. Idempotent: with
//! nothing left, nothing is called. Gate: no object of the app is left (but the kept claims).

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::flags;
use crate::project::objects::{APP_SELECTOR, COLUMNS, KINDS};
use crate::tools;
use crate::tools::helm::{self};

pub fn run(cx: &Ctx, f: &flags::Down) -> Result<i32> {
    execute(cx, &mut Down::new(cx.config()?, f.purge))
}

pub struct Down {
    pub config: Config,
    pub purge: bool,
    /// helm is on PATH.
    helm: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub context: String,
    pub namespace: String,
    pub namespace_exists: bool,
    /// The release's status, when there is one.
    pub release: Option<String>,
    /// `kind/name` of every object of the app (without the volumes).
    pub objects: Vec<String>,
    /// The PersistentVolumeClaims of the app (SQLite's or PostgreSQL's data).
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Uninstall(String),
    Delete(Vec<String>),
    DeleteVolumes(Vec<String>),
    DeleteNamespace(String),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Uninstall(r) => write!(f, "uninstall Helm release {r}"),
            Step::Delete(refs) => write!(f, "delete {}", refs.join(" ")),
            Step::DeleteVolumes(refs) => {
                write!(f, "delete the volumes {} (--purge)", refs.join(" "))
            }
            Step::DeleteNamespace(ns) => write!(f, "delete namespace {ns} (--purge)"),
        }
    }
}

/// What `down` says about the claims it keeps: which, that the next `up` finds the data, and the
/// commands that delete them (pure, unit-tested).
pub fn kept_message(volumes: &[String], namespace: &str, context: &str) -> String {
    let names: Vec<&str> = volumes
        .iter()
        .map(|v| v.strip_prefix("persistentvolumeclaim/").unwrap_or(v))
        .collect();
    format!(
        "kept the data on {}: the next `cargo xtask up` finds it again; delete it with \
         `cargo xtask down --purge` (also deletes namespace {namespace}) or \
         `kubectl delete pvc {} -n {namespace} --context {context}`",
        volumes.join(" "),
        names.join(" ")
    )
}

/// The steps for what is left (pure, unit-tested).
pub fn plan(observed: &Observed, release: &str, purge: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if observed.release.is_some() {
        steps.push(Step::Uninstall(release.to_string()));
    }
    if !observed.objects.is_empty() {
        steps.push(Step::Delete(observed.objects.clone()));
    }
    if purge {
        if !observed.volumes.is_empty() {
            steps.push(Step::DeleteVolumes(observed.volumes.clone()));
        }
        if observed.namespace_exists {
            steps.push(Step::DeleteNamespace(observed.namespace.clone()));
        }
    }
    steps
}

impl Down {
    /// The stage for `config` (its resolved kubectl context, see `Config::context`).
    pub fn new(config: Config, purge: bool) -> Down {
        Down {
            config,
            purge,
            helm: false,
        }
    }

    fn context(&self) -> String {
        self.config.context().to_string()
    }

    fn ns(&self) -> &str {
        &self.config.deploy.namespace
    }

    /// What of the app is in the namespace: (objects, volume claims).
    fn leftovers(&self, cx: &Ctx, skip_helm: bool) -> Result<(Vec<String>, Vec<String>)> {
        let kube = cx.kube(&self.config);
        let (claims, objects): (Vec<_>, Vec<_>) = kube
            .objects(KINDS, APP_SELECTOR, &COLUMNS)?
            .into_iter()
            .partition(|o| o.kind == "PersistentVolumeClaim");
        let objects = objects
            .into_iter()
            // Objects of a release go with `helm uninstall`.
            .filter(|o| !(skip_helm && o.label("app.kubernetes.io/managed-by") == Some("Helm")))
            .map(|o| format!("{}/{}", o.kind.to_ascii_lowercase(), o.name))
            .collect();
        let volumes = claims
            .into_iter()
            .map(|o| format!("persistentvolumeclaim/{}", o.name))
            .collect();
        Ok((objects, volumes))
    }
}

impl Stage for Down {
    type Observed = Observed;
    type Step = Step;

    fn name(&self) -> &'static str {
        "down"
    }

    fn preflight(&mut self, cx: &Ctx, _report: &mut Report) -> Result<()> {
        crate::project::cluster::require_context(cx, &self.config)?;
        self.helm = tools::find("helm").is_some();
        Ok(())
    }

    fn observe(&mut self, cx: &Ctx, _report: &mut Report) -> Result<Observed> {
        let context = self.context();
        let ns = self.ns().to_string();
        let exists = cx.kube(&self.config).namespace_object()?.is_some();
        let (release, (objects, volumes)) = if exists {
            let release = if self.helm {
                helm::status(&cx.runner, Some(&context), &ns, &self.config.deploy.release)?
                    .map(|s| s.status)
            } else {
                None
            };
            let left = self.leftovers(cx, release.is_some())?;
            (release, left)
        } else {
            (None, (Vec::new(), Vec::new()))
        };
        if !self.helm && objects.iter().any(|o| o.contains("todo-chatbot")) {
            cx.ui
                .detail("helm is not on PATH: a Helm release, if any, is not looked for");
        }
        Ok(Observed {
            context,
            namespace: ns,
            namespace_exists: exists,
            release,
            objects,
            volumes,
        })
    }

    fn plan(&mut self, cx: &Ctx, observed: &Observed) -> Result<Vec<Step>> {
        let steps = plan(observed, &self.config.deploy.release, self.purge);
        // A real run says it once the app is gone (a note of the gate step).
        if cx.runner.dry_run() && !self.purge && !observed.volumes.is_empty() {
            cx.ui.status(
                "Keep",
                &kept_message(&observed.volumes, &observed.namespace, &observed.context),
                crate::ui::Tone::Plain,
            );
        }
        Ok(steps)
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        let r = &cx.runner;
        let context = self.context();
        let timeout = Duration::from_secs(self.config.deploy.timeout_secs);
        match step {
            Step::Uninstall(release) => {
                helm::uninstall(r, Some(&context), self.ns(), release, timeout)
            }
            // What `helm uninstall` removed already is skipped by --ignore-not-found.
            Step::Delete(refs) | Step::DeleteVolumes(refs) => {
                cx.kube(&self.config).delete(refs, true)
            }
            Step::DeleteNamespace(ns) => cx.kube(&self.config).in_namespace(ns).delete_namespace(),
        }
    }

    fn gates(&mut self, cx: &Ctx, _observed: &Observed, report: &mut Report) -> Result<()> {
        let ns = self.ns().to_string();
        let purge = self.purge;
        let exists = cx.kube(&self.config).namespace_object()?.is_some();
        let (objects, volumes) = if exists {
            self.leftovers(cx, false)?
        } else {
            (Vec::new(), Vec::new())
        };
        let kept = (!volumes.is_empty()).then(|| kept_message(&volumes, &ns, &self.context()));
        report.gate(cx, "app removed", || {
            Ok(if objects.is_empty() && (!purge || volumes.is_empty()) {
                GateResult::Pass(match &kept {
                    None => format!("nothing of the app is left in namespace {ns}"),
                    Some(_) => format!("only the kept volume claims remain: {}", volumes.join(" ")),
                })
            } else {
                GateResult::Fail {
                    detail: format!("still there: {}", [objects.clone(), volumes.clone()].concat().join(" ")),
                    help: format!("`kubectl get all,pvc -n {ns}` shows them; objects being deleted can take a few seconds, run `cargo xtask down` again"),
                }
            })
        });
        if let Some(k) = kept {
            report.note(cx, k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(release: bool, objects: &[&str], volumes: &[&str]) -> Observed {
        Observed {
            context: "demo".into(),
            namespace: "todo".into(),
            namespace_exists: true,
            release: release.then(|| "deployed".to_string()),
            objects: objects.iter().map(|s| s.to_string()).collect(),
            volumes: volumes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn texts(steps: &[Step]) -> Vec<String> {
        steps.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kept_claims_are_named_with_the_commands_that_delete_them() {
        let m = kept_message(
            &[
                "persistentvolumeclaim/todo-chatbot-sqlite".to_string(),
                "persistentvolumeclaim/data-todo-chatbot-postgres-0".to_string(),
            ],
            "todo",
            "todo-chatbot",
        );
        assert!(
            m.contains("persistentvolumeclaim/todo-chatbot-sqlite"),
            "{m}"
        );
        assert!(m.contains("cargo xtask down --purge"), "{m}");
        assert!(
            m.contains(
                "kubectl delete pvc todo-chatbot-sqlite data-todo-chatbot-postgres-0 -n todo --context todo-chatbot"
            ),
            "{m}"
        );
    }

    #[test]
    fn nothing_left_plans_nothing() {
        assert!(plan(&observed(false, &[], &[]), "r", false).is_empty());
        let mut gone = observed(false, &[], &[]);
        gone.namespace_exists = false;
        assert!(plan(&gone, "r", true).is_empty());
    }

    #[test]
    fn release_and_objects_go_and_volumes_stay_without_purge() {
        let o = observed(
            true,
            &["secret/todo-chatbot-secrets"],
            &["persistentvolumeclaim/data-0"],
        );
        assert_eq!(
            texts(&plan(&o, "todo-chatbot", false)),
            [
                "uninstall Helm release todo-chatbot",
                "delete secret/todo-chatbot-secrets"
            ]
        );
        assert_eq!(
            texts(&plan(&o, "todo-chatbot", true))[2..],
            [
                "delete the volumes persistentvolumeclaim/data-0 (--purge)",
                "delete namespace todo (--purge)"
            ]
        );
    }
}
