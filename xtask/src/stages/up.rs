//! `up`: every stage in order — doctor, setup, build, deploy (`--helm` unless `--raw`), verify,
//! aiops, and the docs report — stopping at the first failed gate with its reason and fix. One
//! summary table at the end, then the URL. A second run on an unchanged tree makes no mutating
//! call and says so; `--dry-run` prints every stage's plan and changes nothing.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::aiops::Aiops;
use super::build::BuildStage;
use super::deploy::{DeployStage, Options};
use super::docs::{self, GateRow};
use super::doctor::Doctor;
use super::setup::Setup;
use super::verify::ClusterVerify;
use super::{Report, Stage, drive};
use crate::ctx::Ctx;
use crate::flags;
use crate::ui::{Tone, fmt_duration, table};

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub stage: String,
    pub ok: bool,
    pub changes: usize,
    pub gates: String,
    pub duration_ms: u64,
    pub note: String,
}

#[derive(Debug, Serialize)]
struct Summary {
    ok: bool,
    dry_run: bool,
    stages: Vec<Row>,
    /// Mutating calls actually made (0 on an unchanged tree).
    mutating_calls: usize,
    url: Option<String>,
    reports: Vec<Report>,
}

fn row(r: &Report) -> Row {
    let passed = r.gates.iter().filter(|g| g.passed).count();
    Row {
        stage: r.stage.clone(),
        ok: r.ok(),
        changes: if r.dry_run {
            r.plan.len()
        } else {
            r.done.len()
        },
        gates: format!("{passed}/{}", r.gates.len()),
        duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
        note: r
            .notes
            .first()
            .map(|n| {
                if n.chars().count() > 72 {
                    format!("{}...", n.chars().take(69).collect::<String>())
                } else {
                    n.clone()
                }
            })
            .unwrap_or_default(),
    }
}

/// Runs one stage, records its report, and says whether to go on.
fn step<S: Stage>(cx: &Ctx, stage: &mut S, reports: &mut Vec<Report>) -> Result<bool> {
    let name = stage.name();
    cx.ui.status("Stage", name, Tone::Plain);
    match drive(cx, stage) {
        Ok(report) => {
            let ok = report.ok();
            reports.push(report);
            Ok(ok)
        }
        // Under --dry-run a later stage may be unable to observe what an earlier one would have
        // made (no cluster yet): say so and go on planning.
        Err(e) if cx.runner.dry_run() => {
            let mut report = Report::new(name, true);
            let text = crate::error::render(&e);
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            report.notes.push(format!(
                "cannot plan before the stages above have run: {first}"
            ));
            reports.push(report);
            Ok(true)
        }
        Err(e) => {
            let mut report = Report::new(name, false);
            report.error = Some(cx.runner.redact(&crate::error::render(&e)));
            reports.push(report);
            Err(e)
        }
    }
}

pub fn run(cx: &Ctx, f: &flags::Up) -> Result<i32> {
    super::deploy::overrides::check(&f.overrides, !f.raw, "up")?;
    let started = Instant::now();
    let config = cx.config()?;
    let dry = cx.runner.dry_run();
    let mut reports = Vec::new();
    let result = (|| -> Result<bool> {
        if !step(
            cx,
            &mut Doctor {
                config: config.clone(),
            },
            &mut reports,
        )? {
            return Ok(false);
        }
        if !step(
            cx,
            &mut Setup {
                config: config.clone(),
            },
            &mut reports,
        )? {
            return Ok(false);
        }
        let build_flags = flags::Build {
            no_cluster: false,
            strategy: None,
            images: Vec::new(),
            review: false,
            fast: false,
        };
        if !step(
            cx,
            &mut BuildStage::new(config.clone(), &build_flags)?,
            &mut reports,
        )? {
            return Ok(false);
        }
        let opts = Options {
            helm: !f.raw,
            overrides: f.overrides.clone(),
            ..Options::default()
        };
        if !step(
            cx,
            &mut DeployStage::new(config.clone(), opts),
            &mut reports,
        )? {
            return Ok(false);
        }
        if dry {
            // verify talks to the app (it creates and deletes a task): nothing to plan.
            let mut r = Report::new("verify", true);
            r.plan.push(
                "check pods, endpoints, health, a chat turn and MCP through port-forwards".into(),
            );
            reports.push(r);
        } else {
            // Every database mode keeps its data on a volume or in PostgreSQL: after a deploy
            // that changed something, prove it with a backend restart. An unchanged tree makes
            // no mutating call, so it is skipped then.
            let deployed = reports.last().is_some_and(|r| !r.done.is_empty());
            let verify =
                ClusterVerify::new(config.clone()).restart(deployed && !f.no_restart_check);
            if !step(cx, &mut { verify }, &mut reports)? {
                return Ok(false);
            }
        }
        let aiops_flags = flags::Aiops {
            strict: false,
            install_kagent: false,
            admin: false,
            timeout: 180,
            out: "docs/aiops".into(),
        };
        if !step(
            cx,
            &mut Aiops::new(config.clone(), &aiops_flags),
            &mut reports,
        )? {
            return Ok(false);
        }
        Ok(true)
    })();
    let mut url = None;
    let ok = match &result {
        Ok(true) => {
            let t = Instant::now();
            let report = docs::write_report(cx, &config, &GateRow::from_reports(&reports))?;
            url = report.url.clone();
            let mut r = Report::new("docs", dry);
            if dry {
                r.plan.push(format!(
                    "write {}/report.md and report.json",
                    docs::REPORT_DIR
                ));
            } else {
                r.done(
                    format!("wrote {}/report.md and report.json", docs::REPORT_DIR),
                    t.elapsed(),
                );
            }
            r.duration = t.elapsed();
            reports.push(r);
            true
        }
        _ => false,
    };
    let mutating = cx
        .runner
        .records()
        .iter()
        .filter(|r| r.mutating && !r.skipped)
        .count();
    let rows: Vec<Row> = reports.iter().map(row).collect();
    if cx.global.json {
        let summary = Summary {
            ok,
            dry_run: dry,
            stages: rows,
            mutating_calls: mutating,
            url: url.clone(),
            reports,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(cx, &reports, &rows, dry);
        if !dry && ok {
            if mutating == 0 {
                cx.ui.out("up: nothing changed: every stage was already in the desired state (no mutating call)");
            } else {
                cx.ui.out(&format!("up: {mutating} mutating call(s) made"));
            }
        }
        if let Some(u) = &url {
            cx.ui.out(&format!("open {u}"));
        } else if ok && !dry {
            cx.ui.out(&format!(
                "the frontend Service has no external address yet: run `cargo xtask open` (a port-forward, no tunnel needed), or `minikube tunnel -p {}`",
                config.cluster.profile
            ));
        }
        cx.ui.out(&format!(
            "up: {} in {}",
            if dry {
                "plan printed (dry run, nothing was changed)"
            } else if ok {
                "ok"
            } else {
                "FAILED"
            },
            fmt_duration(started.elapsed())
        ));
    }
    match result {
        Err(e) => Err(e),
        Ok(_) if ok => Ok(0),
        Ok(_) => Ok(1),
    }
}

fn print_summary(cx: &Ctx, reports: &[Report], rows: &[Row], dry: bool) {
    if dry {
        for r in reports {
            cx.ui.out(&format!("{}:", r.stage));
            if r.plan.is_empty() && r.notes.is_empty() {
                cx.ui.out("  nothing to change");
            }
            for (i, s) in r.plan.iter().enumerate() {
                cx.ui.out(&format!("  {}. {s}", i + 1));
            }
            for n in &r.notes {
                cx.ui.out(&format!("  note: {n}"));
            }
        }
        return;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .zip(reports)
        .map(|(row, r)| {
            vec![
                row.stage.clone(),
                if r.error.is_some() {
                    cx.ui.paint_out("ERROR", Tone::Bad)
                } else if row.ok {
                    cx.ui.paint_out("pass", Tone::Good)
                } else {
                    cx.ui.paint_out("FAIL", Tone::Bad)
                },
                if row.changes == 0 {
                    "none".into()
                } else {
                    row.changes.to_string()
                },
                row.gates.clone(),
                fmt_duration(Duration::from_millis(row.duration_ms)),
                row.note.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["stage", "result", "changes", "gates", "time", "note"],
            &cells
        )
    );
    for r in reports {
        for g in r.gates.iter().filter(|g| !g.passed) {
            eprintln!(
                "{}: {}: gate `{}` failed: {}",
                cx.ui.paint("error", Tone::Bad),
                r.stage,
                g.name,
                g.detail
            );
            if let Some(h) = &g.help {
                eprintln!("help: {h}");
            }
        }
    }
    if let Some(stopped) = reports.iter().find(|r| !r.ok()) {
        eprintln!(
            "up: stopped at `{}`; the stages after it did not run",
            stopped.stage
        );
    }
}
