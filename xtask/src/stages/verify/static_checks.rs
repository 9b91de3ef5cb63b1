//! `verify --static`: the checks that need no cluster. The chart lints strictly and renders with
//! its defaults and every values file in `deploy/helm/values/`; the rendered objects and the raw
//! manifests are valid Kubernetes (`kubernetes-validate --strict`, when installed; with
//! `CI=true` a missing validator fails); images that exist locally are within their size
//! budgets; the generated docs are up to date.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::project::images::{desired_images, size_gate};
use crate::project::{doc_facts, docs_gen};
use crate::stages::{GateResult, Report, Stage};
use crate::tools::docker::Docker;
use crate::tools::{self, helm, kubernetes_validate};
use yaml_docs::documents;

pub struct StaticVerify {
    pub config: Config,
    /// Rendered documents, collected by the render gates for the validation gate.
    rendered: Vec<(String, String)>,
}

impl StaticVerify {
    pub fn new(config: Config) -> StaticVerify {
        StaticVerify {
            config,
            rendered: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalImage {
    pub key: String,
    pub image: String,
    pub size: Option<u64>,
    pub budget_mb: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub helm: Option<String>,
    /// `None` stands for the chart's defaults.
    pub values_files: Vec<Option<String>>,
    pub manifests: Vec<String>,
    pub validator: Option<PathBuf>,
    pub kubernetes_version: String,
    pub images: Vec<LocalImage>,
}

/// The raw manifests' placeholders, filled like a deploy would (images by their default tags).
fn fill_placeholders(text: &str, namespace: &str) -> String {
    text.replace("${BACKEND_IMAGE}", "todo-backend:0.1.0")
        .replace("${FRONTEND_IMAGE}", "todo-frontend:0.1.0")
        .replace("${POSTGRES_IMAGE}", "todo-postgres:15")
        .replace("${NAMESPACE}", namespace)
}

/// `*.yaml` files directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The raw manifests: the folder and its `postgres/` part (`kagent/` holds custom resources
/// the Kubernetes schemas do not know; `aiops --install-kagent` applies them).
fn raw_manifests(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = yaml_files(dir)?;
    files.extend(yaml_files(&dir.join("postgres"))?);
    Ok(files)
}

/// `v1.33.1` → `1.33.0`: kubernetes-validate knows minor versions.
pub fn schema_version(kubernetes_version: &str) -> String {
    let v = kubernetes_version.trim_start_matches('v');
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}.0"),
        _ => "1.33.0".into(),
    }
}

impl Stage for StaticVerify {
    type Observed = Observed;
    type Step = String;

    fn name(&self) -> &'static str {
        "verify --static"
    }

    fn mutates(&self) -> bool {
        false
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let helm = match tools::find("helm") {
            Some(p) => Some(helm::version(r, &p)?.to_string()),
            None => None,
        };
        let values_dir = cx.root.join("deploy/helm/values");
        let mut values_files = vec![None];
        values_files.extend(
            yaml_files(&values_dir)?
                .into_iter()
                .map(|p| Some(rel(&cx.root, &p))),
        );
        let manifests = raw_manifests(&cx.root.join(&self.config.deploy.manifests))?
            .iter()
            .map(|p| rel(&cx.root, p))
            .collect();
        let validator = tools::find("kubernetes-validate");
        let mut images = Vec::new();
        let docker_up = tools::find("docker").is_some()
            && Docker::local()
                .version(r)
                .map(|v| v.daemon_error.is_none())
                .unwrap_or(false);
        let cfg_images: Vec<_> = self.config.images.clone().into_iter().collect();
        let desired = desired_images(cx, &self.config, &cfg_images)?;
        for (want, (_, cfg)) in desired.images.into_iter().zip(&cfg_images) {
            let (key, image) = (want.key, want.image);
            let size = if docker_up {
                Docker::local().inspect_image(r, &image)?.map(|i| i.size)
            } else {
                None
            };
            images.push(LocalImage {
                key,
                image,
                size,
                budget_mb: cfg.budget_mb,
            });
        }
        if !docker_up {
            report.note(
                cx,
                "docker is not available: image budgets are not checked (they are checked by `cargo xtask build`)",
            );
        }
        Ok(Observed {
            helm,
            values_files,
            manifests,
            validator,
            kubernetes_version: schema_version(&self.config.cluster.kubernetes_version),
            images,
        })
    }

    fn gates(&mut self, cx: &Ctx, o: &Observed, report: &mut Report) -> Result<()> {
        let chart = self.config.deploy.chart.clone();
        let release = self.config.deploy.release.clone();
        let ns = self.config.deploy.namespace.clone();
        if o.helm.is_none() {
            report.gate(cx, "chart lint", || {
                Ok(GateResult::Fail {
                    detail: "helm was not found on PATH".into(),
                    help: tools::helm::INSTALL_HINT.into(),
                })
            });
        } else {
            for values in &o.values_files {
                let case = values.as_deref().unwrap_or("defaults");
                let values = values.as_slice();
                report.gate(cx, &format!("chart lint ({case})"), || {
                    let call = helm::lint_call(&chart, values, &[]);
                    Ok(match helm::lint(&cx.runner, &call)? {
                        None => GateResult::Pass("no warnings".into()),
                        Some(problems) => GateResult::Fail {
                            detail: problems.replace('\n', "; "),
                            help: format!("run `{}` and fix what it reports", call.line()),
                        },
                    })
                });
                let mut rendered = None;
                report.gate(cx, &format!("chart render ({case})"), || {
                    Ok(
                        match helm::template(&cx.runner, &release, &chart, &ns, values)? {
                            Ok(text) => {
                                let n = documents(&text).len();
                                rendered = Some(text);
                                GateResult::Pass(format!("{n} objects"))
                            }
                            Err(detail) => GateResult::Fail {
                                detail,
                                help: "run the `helm template` command above to see the whole error, then fix the template or the values file".into(),
                            },
                        },
                    )
                });
                if let Some(text) = rendered {
                    self.rendered.push((format!("helm-{}", slug(case)), text));
                }
            }
        }
        let mut sources = self.rendered.clone();
        for m in &o.manifests {
            let text =
                std::fs::read_to_string(cx.root.join(m)).with_context(|| format!("reading {m}"))?;
            sources.push((format!("raw-{}", slug(m)), fill_placeholders(&text, &ns)));
        }
        match &o.validator {
            Some(validator) => {
                report.gate(cx, "manifests valid (kubernetes-validate --strict)", || {
                    validate(cx, validator, &o.kubernetes_version, &sources)
                });
            }
            None if testkit::in_ci() => {
                report.gate(cx, "manifests valid (kubernetes-validate --strict)", || {
                    Ok(GateResult::Fail {
                        detail: "kubernetes-validate is not installed (CI=true makes this a failure)".into(),
                        help: kubernetes_validate::INSTALL_HINT.into(),
                    })
                });
            }
            None => report.note(
                cx,
                "kubernetes-validate is not installed: the manifests were NOT validated against the Kubernetes schemas (pip install kubernetes-validate)",
            ),
        }
        for img in &o.images {
            match img.size {
                Some(bytes) => report.gate(cx, &format!("image budget ({})", img.key), || {
                    Ok(size_gate(bytes, img.budget_mb))
                }),
                None => report.notes.push(format!(
                    "{} is not built locally: its size budget was not checked",
                    img.image
                )),
            }
        }
        report.gate(cx, "generated docs up to date", || {
            let stale = docs_gen::stale(cx, &self.config)?;
            Ok(if stale.is_empty() {
                GateResult::Pass(format!("{} files", docs_gen::GENERATED.len()))
            } else {
                GateResult::Fail {
                    detail: format!("stale: {}", stale.join(", ")),
                    help: "run `cargo xtask docs` and commit the result".into(),
                }
            })
        });
        report.gate(cx, "docs agree with the code", || {
            let drifts = doc_facts::check(&cx.root, &doc_facts::Facts::of(&self.config))?;
            Ok(if drifts.is_empty() {
                GateResult::Pass("namespace, release, Secret, budgets, stage numbers, flags".into())
            } else {
                GateResult::Fail {
                    detail: drifts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                    help: "fix each doc line named to say what the code says (`cargo xtask docs --check` lists them)".into(),
                }
            })
        });
        Ok(())
    }
}

fn validate(
    cx: &Ctx,
    validator: &Path,
    version: &str,
    sources: &[(String, String)],
) -> Result<GateResult> {
    let dir = std::env::temp_dir().join(format!("xtask-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _cleanup = RemoveOnDrop(dir.clone());
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    let mut objects = 0;
    for (name, text) in sources {
        let fresh: Vec<String> = documents(text)
            .into_iter()
            .filter(|d| seen.insert(d.clone()))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        objects += fresh.len();
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, fresh.join("\n---\n"))?;
        files.push(file);
    }
    let v = kubernetes_validate::validate(&cx.runner, validator, version, &files)?;
    if v.all_valid(objects) {
        return Ok(GateResult::Pass(format!(
            "{objects} distinct objects valid for Kubernetes {version}"
        )));
    }
    let mut detail = v
        .problems
        .iter()
        .take(8)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if detail.is_empty() {
        detail = format!(
            "exit code {}, {} of {objects} objects checked: {}",
            v.code, v.passed, v.stderr_tail
        );
    }
    Ok(GateResult::Fail {
        detail,
        help: "fix the objects named above (the chart under deploy/helm, the manifests under deploy/k8s)".into(),
    })
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_versions() {
        assert_eq!(schema_version("v1.33.1"), "1.33.0");
        assert_eq!(schema_version("1.28"), "1.28.0");
    }

    #[test]
    fn documents_skip_empty_and_comment_only() {
        let docs = documents(
            "---\n# Source: a\napiVersion: v1\nkind: A\n---\n# only a comment\n---\nkind: B\n",
        );
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn placeholders_are_filled() {
        let t = fill_placeholders("namespace: ${NAMESPACE}\nimage: ${BACKEND_IMAGE}", "demo");
        assert_eq!(t, "namespace: demo\nimage: todo-backend:0.1.0");
    }
}
