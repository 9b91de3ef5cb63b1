//! `deploy --helm`: the chart's generated values, the values files and `--set` overrides, the
//! lint gate, the hash of everything the release is made from, `helm upgrade --install`, the
//! release and `helm test` gates, and what a failed upgrade's pods said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::secret::TempFile;
use super::{Database, DeployStage, diagnose, overrides};
use crate::ctx::Ctx;
use crate::error::{failure, usage};
use crate::project::objects::{self, POD_SECRET_ANNOTATION, SECRET_NAME};
use crate::stages::{GateResult, Report};
use crate::tools::helm::{self, Major};
use crate::tools::{self, kubectl};

impl DeployStage {
    /// The chart's values made by the xtask: images, pull policy, the Secret's name and the
    /// database mode. JSON, which YAML reads too. Never a secret value.
    pub(super) fn generated_values(
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
    /// Helm's major version (also in raw mode, where a release may have to be removed) and,
    /// for `--helm`, the chart.
    pub(super) fn check_helm(&mut self, cx: &Ctx, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
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

    /// The values files of the release, in order: `deploy.values`, the generated values, then
    /// `--values`.
    fn values_files(&self, cx: &Ctx) -> Result<Vec<PathBuf>> {
        let mut files = self.config_values(cx)?;
        if let Some(f) = &self.values_file {
            files.push(f.path.clone());
        }
        files.extend(overrides::values_files(&self.opts.overrides)?);
        Ok(files)
    }

    /// Observe for `--helm`: the generated values file, the lint gate (a chart or values
    /// problem stops here, before the cluster is touched) and the hash of everything the release
    /// is made from.
    pub(super) fn prepare_release(
        &mut self,
        cx: &Ctx,
        report: &mut Report,
        images: &BTreeMap<String, String>,
        database: Database,
        secret_hash: &str,
        auth: bool,
    ) -> Result<()> {
        let mut values = self.generated_values(images, database, secret_hash, auth);
        if self.lets_kagent_in(cx, &self.context())? {
            values["networkPolicy"] = serde_json::json!({
                "backendExtraFrom": objects::network_peer(),
            });
            report.note(
                cx,
                "kagent runs in the cluster: its namespace may reach the backend (networkPolicy.backendExtraFrom)",
            );
        }
        let text = serde_json::to_string_pretty(&values)?;
        self.values_file = Some(TempFile::write("values.json", &text)?);
        let files = self.values_files(cx)?;
        let set = &self.opts.overrides.set;
        if !set.is_empty() || !self.opts.overrides.values.is_empty() {
            report.note(cx, overrides::describe(&self.opts.overrides));
        }
        let chart = cx.root.join(&self.config.deploy.chart);
        let lint = helm::lint_call(&chart, &files, set);
        if let Some(problems) = helm::lint(&cx.runner, &lint)? {
            return Err(failure(
                format!(
                    "`helm lint --strict {}` found problems:\n{problems}",
                    self.config.deploy.chart.display()
                ),
                "fix the chart, the values files named above (`deploy.values` in deploy/pipeline.toml, --values) or the --set values",
            ));
        }
        report.note(cx, "helm lint --strict: clean");
        self.helm_hash = self.release_inputs_hash(cx, text, &files)?;
        Ok(())
    }

    /// The hash of the chart's files, the generated values (`generated`), every other values
    /// file (in order) and the --set overrides; the same inputs again make no upgrade.
    fn release_inputs_hash(
        &self,
        cx: &Ctx,
        generated: String,
        files: &[PathBuf],
    ) -> Result<String> {
        let (chart_files, _) =
            crate::digest::input_files(&cx.root, std::slice::from_ref(&self.config.deploy.chart))?;
        let mut parts = vec![generated];
        for f in files {
            if self.values_file.as_ref().is_some_and(|t| &t.path == f) {
                continue;
            }
            parts.push(
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
            );
        }
        parts.extend(
            self.opts
                .overrides
                .set
                .iter()
                .map(|kv| format!("--set {kv}")),
        );
        Ok(crate::digest::digest(&cx.root, &chart_files, &parts)?[..16].to_string())
    }

    /// `helm upgrade --install` of `release`; a failure says what the pods and events said.
    pub(super) fn upgrade(&self, cx: &Ctx, release: &str) -> Result<()> {
        let major = self.major.unwrap_or(Major::V4);
        let spec = helm::UpgradeSpec {
            release: release.to_string(),
            chart: cx.root.join(&self.config.deploy.chart),
            namespace: self.ns().to_string(),
            context: Some(self.context()),
            values: self.values_files(cx)?,
            set: self.opts.overrides.set.clone(),
            wait: !self.opts.dev_loop,
            timeout: Duration::from_secs(self.config.deploy.timeout_secs),
            description: format!("cargo xtask deploy --helm, inputs {}", self.helm_hash),
        };
        match helm::upgrade_install(&cx.runner, major, &spec) {
            Ok(out) => {
                cx.ui.detail(out.trim());
                Ok(())
            }
            Err(e) => Err(self.explain_helm_failure(cx, e)),
        }
    }

    /// The release is `deployed`, and `helm test` passes (skipped in the `dev` loop; not run
    /// again when nothing changed and it passed when the release was made).
    pub(super) fn release_gates(&self, cx: &Ctx, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        let context = self.context();
        let ns = self.ns().to_string();
        let timeout = Duration::from_secs(self.config.deploy.timeout_secs);
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

    /// A failed `helm upgrade` (rolled back by helm): what the pods and events said.
    pub(super) fn explain_helm_failure(&self, cx: &Ctx, err: anyhow::Error) -> anyhow::Error {
        let cluster = self.cluster(cx);
        let kube = cluster.kube;
        let mut found = Vec::new();
        for w in self.workloads(Database::Internal) {
            if let Ok(pods) = kube.pods(Some(&w.selector)) {
                found.extend(
                    diagnose::problems(&pods)
                        .into_iter()
                        .filter(|p| p.is_fatal()),
                );
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

/// The chart's `fullname` for a release (no nameOverride): the release name when it contains
/// the chart name, else `<release>-todo-chatbot`.
pub fn helm_fullname(release: &str) -> String {
    if release.contains("todo-chatbot") {
        release.to_string()
    } else {
        format!("{release}-todo-chatbot")
    }
}
