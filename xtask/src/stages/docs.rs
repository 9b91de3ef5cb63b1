//! Stage 7, `docs`: the deployment report (`docs/report/report.{md,json}`) from what is
//! observable, and the generated docs (`docs/cli.md`, the chart README's values table).
//! `docs --check` changes nothing and fails when a generated file is stale or a doc states a
//! fact (namespace, release, Secret, image budgets, stage numbers, flags) the code contradicts.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Report, Stage};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::failure;
use crate::flags;
use crate::project::doc_facts;
use crate::project::docs_gen::{self, REGENERATE, stale};
use crate::tools::{self, workloads};
use crate::ui::{Tone, fmt_duration};

/// Where the report goes, relative to the root.
pub const REPORT_DIR: &str = "docs/report";

pub fn run(cx: &Ctx, f: &flags::Docs) -> Result<i32> {
    let config = cx.config()?;
    if f.check {
        let stale = stale(cx, &config)?;
        let drifts = doc_facts::check(&cx.root, &doc_facts::Facts::of(&config))?;
        let ok = stale.is_empty() && drifts.is_empty();
        let drift_lines: Vec<String> = drifts.iter().map(ToString::to_string).collect();
        if cx.global.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "stage": "docs --check", "ok": ok, "stale": stale, "drift": drift_lines
                }))?
            );
        }
        if ok {
            if !cx.global.json {
                cx.ui.out(
                    "docs: the generated files are up to date and the docs agree with the code",
                );
            }
            return Ok(0);
        }
        if !stale.is_empty() && drifts.is_empty() {
            return Err(failure(
                format!("generated files are stale: {}", stale.join(", ")),
                format!("run `{REGENERATE}` and commit the result"),
            ));
        }
        let mut message = format!(
            "{} place(s) in the docs disagree with the code:\n  {}",
            drifts.len(),
            drift_lines.join("\n  ")
        );
        if !stale.is_empty() {
            message.push_str(&format!(
                "\nand generated files are stale: {}",
                stale.join(", ")
            ));
        }
        return Err(failure(
            message,
            format!(
                "fix each doc line above to say what the code says (namespace and release in deploy/pipeline.toml, budgets in [images.*], stage numbers in `up`'s order, flags in `cargo xtask <command> --help`){}",
                if stale.is_empty() {
                    String::new()
                } else {
                    format!(", then run `{REGENERATE}`")
                }
            ),
        ));
    }
    let written = write_generated(cx, &config)?;
    write_report(cx, &config, &[])?;
    let report = REPORT_DIR;
    if cx.global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"stage": "docs", "ok": true, "written": written, "report": report})
            )?
        );
    }
    Ok(0)
}

/// Rewrites the generated files that changed; returns the ones written (or that would be,
/// under `--dry-run`).
pub fn write_generated(cx: &Ctx, config: &Config) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for (rel, wanted) in docs_gen::generated(&cx.root, &config.deploy.chart)? {
        let path = cx.root.join(&rel);
        let now = std::fs::read_to_string(&path).unwrap_or_default();
        if now == wanted {
            cx.ui
                .status("Fresh", &format!("{rel} is up to date"), Tone::Good);
            continue;
        }
        if cx.runner.dry_run() {
            cx.ui.out(&format!("docs: would rewrite {rel} (dry run)"));
        } else {
            write(&path, &wanted)?;
            cx.ui.status("Wrote", &rel, Tone::Good);
        }
        written.push(rel);
    }
    Ok(written)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One gate in the deployment report.
#[derive(Debug, Clone, Serialize)]
pub struct GateRow {
    pub stage: String,
    pub gate: String,
    pub passed: bool,
    pub detail: String,
    pub duration_ms: u64,
}

impl GateRow {
    pub fn from_reports(reports: &[Report]) -> Vec<GateRow> {
        reports
            .iter()
            .flat_map(|r| {
                r.gates.iter().map(|g| GateRow {
                    stage: r.stage.clone(),
                    gate: g.name.clone(),
                    passed: g.passed,
                    detail: g.detail.clone(),
                    duration_ms: u64::try_from(g.duration.as_millis()).unwrap_or(u64::MAX),
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolRow {
    pub name: String,
    pub version: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageRow {
    pub key: String,
    pub image: String,
    pub in_cluster: Option<bool>,
    pub id: Option<String>,
    pub size_bytes: Option<u64>,
}

/// The deployment report.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentReport {
    pub generated_at: String,
    pub profile: String,
    pub namespace: String,
    pub tools: Vec<ToolRow>,
    pub images: Vec<ImageRow>,
    pub release: Option<tools::helm::Release>,
    pub containers: Vec<workloads::Container>,
    pub pods: Vec<tools::kubectl::Pod>,
    /// Empty when the report was written outside `cargo xtask up`.
    pub gates: Vec<GateRow>,
    pub url: Option<String>,
}

/// Observes the cluster (read-only) and writes `docs/report/report.{json,md}`.
pub fn write_report(cx: &Ctx, config: &Config, gates: &[GateRow]) -> Result<DeploymentReport> {
    let report = cx.ui.step("docs: observing the deployment", || {
        observe(cx, config, gates)
    })?;
    let dir = cx.root.join(REPORT_DIR);
    if cx.runner.dry_run() {
        cx.ui.out(&format!(
            "docs: would write {REPORT_DIR}/report.md and report.json (dry run)"
        ));
        return Ok(report);
    }
    write(
        &dir.join("report.json"),
        &(serde_json::to_string_pretty(&report)? + "\n"),
    )?;
    write(&dir.join("report.md"), &markdown(&report))?;
    cx.ui.status(
        "Wrote",
        &format!("{REPORT_DIR}/report.md and report.json"),
        Tone::Good,
    );
    Ok(report)
}

fn observe(cx: &Ctx, config: &Config, gates: &[GateRow]) -> Result<DeploymentReport> {
    let mut scratch = Report::new("docs", false);
    let mut doctor = super::doctor::Doctor {
        config: config.clone(),
    };
    let d = doctor.observe(cx, &mut scratch)?;
    let mut status = super::status::Status {
        config: config.clone(),
    };
    let s = status.observe(cx, &mut scratch)?;
    let running = s.cluster == Some(tools::minikube::ProfileState::Running);
    let cluster_images = if running {
        tools::minikube::images(&cx.runner, &s.profile).unwrap_or_default()
    } else {
        Vec::new()
    };
    let images = s
        .images
        .iter()
        .map(|i| {
            let found = cluster_images.iter().find(|c| c.has_tag(&i.image));
            ImageRow {
                key: i.key.clone(),
                image: i.image.clone(),
                in_cluster: i.in_cluster,
                id: found.map(|c| c.id.clone()),
                size_bytes: found.and_then(|c| c.size.parse().ok()),
            }
        })
        .collect();
    let containers = if running {
        cx.kube(config).containers()?
    } else {
        Vec::new()
    };
    Ok(DeploymentReport {
        generated_at: crate::clock::utc_now(),
        profile: s.profile.clone(),
        namespace: s.namespace.clone(),
        tools: d
            .tools
            .into_iter()
            .map(|t| ToolRow {
                name: t.name,
                version: t.version,
                path: t.path,
            })
            .collect(),
        images,
        release: s.release,
        containers,
        pods: s.pods,
        gates: gates.to_vec(),
        url: s.url,
    })
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn markdown(r: &DeploymentReport) -> String {
    let mut s = String::new();
    s.push_str("# Deployment report\n\n");
    s.push_str(&format!(
        "Written by `cargo xtask docs` (or `up`) at {} from what the tools reported. \
         Profile `{}`, namespace `{}`.\n\n",
        r.generated_at, r.profile, r.namespace
    ));
    s.push_str(&format!("URL: {}\n\n", opt(&r.url)));
    s.push_str("## Tools\n\n| tool | version | path |\n|---|---|---|\n");
    for t in &r.tools {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            t.name,
            opt(&t.version),
            opt(&t.path)
        ));
    }
    s.push_str("\n## Images\n\n| image | in cluster | id | size |\n|---|---|---|---|\n");
    for i in &r.images {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            i.image,
            match i.in_cluster {
                Some(true) => "yes",
                Some(false) => "no",
                None => "cluster not running",
            },
            opt(&i.id),
            i.size_bytes
                .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                .unwrap_or_else(|| "-".into())
        ));
    }
    s.push_str("\n## Release\n\n");
    match &r.release {
        Some(rel) => s.push_str(&format!(
            "`{}` revision {} ({}), chart {}, app {}\n",
            rel.name, rel.revision, rel.status, rel.chart, rel.app_version
        )),
        None => s.push_str("No Helm release (raw manifests, or nothing deployed).\n"),
    }
    s.push_str("\n## Workloads and resources\n\n| workload | container | image | requests | limits |\n|---|---|---|---|---|\n");
    for c in &r.containers {
        s.push_str(&format!(
            "| {} | {} | `{}` | {} | {} |\n",
            c.workload, c.container, c.image, c.requests, c.limits
        ));
    }
    s.push_str("\n## Pods\n\n| pod | phase | ready | restarts |\n|---|---|---|---|\n");
    for p in &r.pods {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            p.name, p.phase, p.ready, p.restarts
        ));
    }
    s.push_str("\n## Gates\n\n");
    if r.gates.is_empty() {
        s.push_str("No gates in this report: it was written by `cargo xtask docs` alone; `cargo xtask up` records every gate.\n");
    } else {
        s.push_str("| stage | gate | result | time | detail |\n|---|---|---|---|---|\n");
        for g in &r.gates {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                g.stage,
                g.gate,
                if g.passed { "pass" } else { "FAIL" },
                fmt_duration(std::time::Duration::from_millis(g.duration_ms)),
                g.detail.replace('|', "\\|").replace('\n', " ")
            ));
        }
    }
    s
}
