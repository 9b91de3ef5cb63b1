//! `up`: every stage in order — doctor, setup, build, deploy (`--helm` unless `--raw`), verify,
//! aiops, and the docs report — stopping at the first failed gate with its reason and fix. One
//! summary table at the end, then the URL. A second run on an unchanged tree makes no mutating
//! call and says so.
//!
//! The stages are one table, [`STAGES`]: their order is `up`'s order and their numbers are the
//! ones `--help` and the docs use (`docs --check` compares them).
//!
//! `--dry-run` prints a plan for every stage, assuming the stages before it succeed (a stage that
//! cannot observe yet, e.g. without a cluster, shows what it does on a fresh machine), then one
//! summary of what would stop a real run (a failed gate, or a stage that cannot run for a reason
//! no earlier stage fixes) with its `help:` line. Exit 0 when nothing would stop it, 1 otherwise.

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
use super::{Report, drive};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::failure;
use crate::flags;
use crate::ui::{Tone, fmt_duration, table};

/// One stage of `up`.
pub struct Entry {
    /// Its number, as `--help`, the README and docs/stages.md give it.
    pub number: u8,
    /// The subcommand that runs it alone.
    pub name: &'static str,
    /// Runs it (under `--dry-run`: observes and plans).
    run: fn(&Ctx, &Run) -> Result<Report>,
    /// What it does on a fresh machine: its plan under `--dry-run` when it cannot observe yet.
    fresh: fn(&Run) -> Vec<String>,
}

/// The stages `up` runs, in order.
pub const STAGES: [Entry; 7] = [
    Entry {
        number: 1,
        name: "doctor",
        run: doctor,
        fresh: nothing,
    },
    Entry {
        number: 2,
        name: "setup",
        run: setup,
        fresh: fresh_setup,
    },
    Entry {
        number: 3,
        name: "build",
        run: build,
        fresh: fresh_build,
    },
    Entry {
        number: 4,
        name: "deploy",
        run: deploy,
        fresh: fresh_deploy,
    },
    Entry {
        number: 5,
        name: "verify",
        run: verify,
        fresh: fresh_verify,
    },
    Entry {
        number: 6,
        name: "aiops",
        run: aiops,
        fresh: fresh_aiops,
    },
    Entry {
        number: 7,
        name: "docs",
        run: report,
        fresh: fresh_report,
    },
];

impl Entry {
    /// The name its report carries (`deploy --helm` unless `--raw`).
    fn label(&self, f: &flags::Up) -> &'static str {
        match self.name {
            "deploy" if !f.raw => "deploy --helm",
            n => n,
        }
    }
}

/// What the stages of one `up` share.
struct Run<'a> {
    f: &'a flags::Up,
    config: &'a Config,
    dry: bool,
    /// The reports of the stages before this one.
    before: &'a [Report],
}

fn doctor(cx: &Ctx, r: &Run) -> Result<Report> {
    drive(
        cx,
        &mut Doctor {
            config: r.config.clone(),
        },
    )
}

fn setup(cx: &Ctx, r: &Run) -> Result<Report> {
    drive(
        cx,
        &mut Setup {
            config: r.config.clone(),
        },
    )
}

fn build(cx: &Ctx, r: &Run) -> Result<Report> {
    let f = flags::Build {
        no_cluster: false,
        strategy: None,
        images: Vec::new(),
        review: false,
        fast: false,
    };
    drive(cx, &mut BuildStage::new(r.config.clone(), &f)?)
}

fn deploy(cx: &Ctx, r: &Run) -> Result<Report> {
    let opts = Options {
        helm: !r.f.raw,
        overrides: r.f.overrides.clone(),
        ..Options::default()
    };
    drive(cx, &mut DeployStage::new(r.config.clone(), opts))
}

fn verify(cx: &Ctx, r: &Run) -> Result<Report> {
    if r.dry {
        // verify talks to the app (it creates and deletes a task): nothing to observe first.
        let mut report = Report::new("verify", true);
        report.plan = fresh_verify(r);
        return Ok(report);
    }
    // Every database mode keeps its data on a volume or in PostgreSQL: after a deploy that
    // changed something, prove it with a backend restart. An unchanged tree makes no mutating
    // call, so it is skipped then.
    let deployed = r.before.last().is_some_and(|d| !d.done.is_empty());
    let mut stage = ClusterVerify::new(r.config.clone()).restart(deployed && !r.f.no_restart_check);
    drive(cx, &mut stage)
}

fn aiops(cx: &Ctx, r: &Run) -> Result<Report> {
    let f = flags::Aiops {
        strict: false,
        install_kagent: false,
        admin: false,
        timeout: 180,
        out: "docs/aiops".into(),
    };
    drive(cx, &mut Aiops::new(r.config.clone(), &f))
}

/// The deployment report; its `observed` holds the app's URL.
fn report(cx: &Ctx, r: &Run) -> Result<Report> {
    let mut report = Report::new("docs", r.dry);
    if r.dry {
        report.plan = fresh_report(r);
        return Ok(report);
    }
    let t = Instant::now();
    let written = docs::write_report(cx, r.config, &GateRow::from_reports(r.before))?;
    report.observed = serde_json::json!({ "url": written.url });
    report.done(
        format!("wrote {}/report.md and report.json", docs::REPORT_DIR),
        t.elapsed(),
    );
    report.duration = t.elapsed();
    Ok(report)
}

fn nothing(_: &Run) -> Vec<String> {
    Vec::new()
}

fn fresh_setup(r: &Run) -> Vec<String> {
    let c = &r.config.cluster;
    let mut plan = vec![format!(
        "start minikube profile `{}` (driver {}, {} CPUs, {} MB, Kubernetes {})",
        c.profile, c.driver, c.cpus, c.memory_mb, c.kubernetes_version
    )];
    plan.extend(c.addons.iter().map(|a| format!("enable addon {a}")));
    plan
}

fn fresh_build(r: &Run) -> Vec<String> {
    r.config
        .images
        .values()
        .map(|i| {
            format!(
                "build {} (target {}) and make it visible to the cluster",
                i.name, i.target
            )
        })
        .collect()
}

fn fresh_deploy(r: &Run) -> Vec<String> {
    let d = &r.config.deploy;
    let how = if r.f.raw {
        format!("apply the manifests in {}", d.manifests.display())
    } else {
        format!(
            "install the Helm release `{}` from {}",
            d.release,
            d.chart.display()
        )
    };
    vec![
        format!("create namespace `{}`", d.namespace),
        format!(
            "apply secret/{} from .env",
            crate::project::objects::SECRET_NAME
        ),
        how,
        "wait for the rollout".into(),
    ]
}

fn fresh_verify(_: &Run) -> Vec<String> {
    vec!["check pods, endpoints, health, a chat turn and MCP through port-forwards".into()]
}

fn fresh_aiops(_: &Run) -> Vec<String> {
    vec!["ask the installed AI tools read-only questions about the deployment".into()]
}

fn fresh_report(_: &Run) -> Vec<String> {
    vec![format!(
        "write {}/report.md and report.json",
        docs::REPORT_DIR
    )]
}

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub number: u8,
    pub stage: String,
    pub ok: bool,
    pub changes: usize,
    pub gates: String,
    pub duration_ms: u64,
    pub note: String,
}

/// Something that would stop a real run, found under `--dry-run`.
#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    pub stage: String,
    pub problem: String,
    pub help: String,
}

#[derive(Debug, Serialize)]
struct Summary {
    /// False when a stage failed, or (under `--dry-run`) when something would stop a real run.
    ok: bool,
    dry_run: bool,
    stages: Vec<Row>,
    /// Under `--dry-run`: what would stop a real run (empty: nothing known).
    blockers: Vec<Blocker>,
    /// Mutating calls actually made (0 on an unchanged tree).
    mutating_calls: usize,
    url: Option<String>,
    reports: Vec<Report>,
}

fn row(number: u8, r: &Report) -> Row {
    let passed = r.gates.iter().filter(|g| g.passed).count();
    Row {
        number,
        stage: r.stage.clone(),
        ok: r.ok,
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

/// The failed gates of a stage as one blocker: gates failing for the same reason are named
/// together (`minikube, helm not found on PATH`).
fn gate_blocker(r: &Report) -> Option<Blocker> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut helps: Vec<String> = Vec::new();
    for g in r.gates.iter().filter(|g| !g.passed) {
        let (who, why) = match g.detail.split_once(": ") {
            Some((who, why)) if !who.contains(' ') => (who.to_string(), why.to_string()),
            _ => (String::new(), g.detail.clone()),
        };
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(who),
            None => groups.push((why, vec![who])),
        }
        if let Some(h) = &g.help
            && !helps.contains(h)
        {
            helps.push(h.clone());
        }
    }
    if groups.is_empty() {
        return None;
    }
    let problem = groups
        .iter()
        .map(|(why, names)| {
            let names: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| !n.is_empty())
                .collect();
            match (names.is_empty(), why.starts_with("not found")) {
                (true, _) => why.clone(),
                (false, true) => format!("{} {why}", names.join(", ")),
                (false, false) => format!("{}: {why}", names.join(", ")),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(Blocker {
        stage: r.stage.clone(),
        problem,
        help: helps.join("; "),
    })
}

/// An error's first line and its `help:` lines.
fn split_error(cx: &Ctx, e: &anyhow::Error) -> (String, String) {
    let text = cx.runner.redact(&crate::error::render(e));
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string();
    let help = text
        .lines()
        .filter_map(|l| l.strip_prefix("help: "))
        .collect::<Vec<_>>()
        .join("; ");
    (first, help)
}

pub fn run(cx: &Ctx, f: &flags::Up) -> Result<i32> {
    super::deploy::overrides::check(&f.overrides, !f.raw, "up")?;
    let started = Instant::now();
    let config = cx.config()?;
    let dry = cx.runner.dry_run();
    let mut reports: Vec<Report> = Vec::new();
    let mut numbers: Vec<u8> = Vec::new();
    let mut blockers: Vec<Blocker> = Vec::new();
    let mut error = None;
    for entry in &STAGES {
        let run = Run {
            f,
            config: &config,
            dry,
            before: &reports,
        };
        let label = entry.label(f);
        cx.ui.status(
            "Stage",
            &format!("{} of {}: {label}", entry.number, STAGES.len()),
            Tone::Plain,
        );
        let outcome = (entry.run)(cx, &run);
        let fresh = (entry.fresh)(&run);
        numbers.push(entry.number);
        match outcome {
            Ok(mut report) => {
                report.ok = report.ok();
                let ok = report.ok;
                if dry && let Some(b) = gate_blocker(&report) {
                    blockers.push(b);
                }
                reports.push(report);
                if !ok && !dry {
                    break;
                }
            }
            // Under --dry-run a stage may be unable to observe what an earlier one would have
            // made (no cluster yet): show its plan on a fresh machine and go on. When nothing
            // before it has anything to do, the reason would stop a real run as well.
            Err(e) if dry => {
                let (first, help) = split_error(cx, &e);
                let earlier = reports.iter().any(|r| !r.plan.is_empty() || !r.ok);
                let mut report = Report::new(label, true);
                report.plan = fresh;
                if earlier {
                    report.notes.push(format!(
                        "cannot observe before the stages above have run ({first}); this is its plan on a fresh machine"
                    ));
                } else {
                    report.ok = false;
                    report.error = Some(first.clone());
                    blockers.push(Blocker {
                        stage: label.to_string(),
                        problem: first,
                        help,
                    });
                }
                reports.push(report);
            }
            Err(e) => {
                let mut report = Report::new(label, false);
                report.error = Some(cx.runner.redact(&crate::error::render(&e)));
                report.ok = false;
                reports.push(report);
                error = Some(e);
                break;
            }
        }
    }
    let all_ran = reports.len() == STAGES.len();
    let ok = error.is_none() && all_ran && reports.iter().all(|r| r.ok) && blockers.is_empty();
    let url = reports
        .iter()
        .find(|r| r.stage == "docs")
        .and_then(|r| r.observed.get("url"))
        .and_then(|u| u.as_str())
        .map(String::from);
    let mutating = cx
        .runner
        .records()
        .iter()
        .filter(|r| r.mutating && !r.skipped)
        .count();
    let rows: Vec<Row> = numbers
        .iter()
        .zip(&reports)
        .map(|(n, r)| row(*n, r))
        .collect();
    if cx.global.json {
        let summary = Summary {
            ok,
            dry_run: dry,
            stages: rows,
            blockers: blockers.clone(),
            mutating_calls: mutating,
            url: url.clone(),
            reports,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if dry {
        print_plan(cx, &numbers, &reports);
        cx.ui.out(&format!(
            "up: plan printed (dry run, nothing was changed) in {}",
            fmt_duration(started.elapsed())
        ));
    } else {
        print_summary(cx, &reports, &rows);
        if ok {
            if mutating == 0 {
                cx.ui.out("up: nothing changed: every stage was already in the desired state (no mutating call)");
            } else {
                cx.ui.out(&format!("up: {mutating} mutating call(s) made"));
            }
        }
        if let Some(u) = &url {
            cx.ui.out(&format!("open {u}"));
        } else if ok {
            cx.ui.out(&format!(
                "the frontend Service has no external address yet: run `cargo xtask open` (a port-forward, no tunnel needed), or `minikube tunnel -p {}`",
                config.cluster.profile
            ));
        }
        cx.ui.out(&format!(
            "up: {} in {}",
            if ok { "ok" } else { "FAILED" },
            fmt_duration(started.elapsed())
        ));
    }
    if let Some(e) = error {
        return Err(e);
    }
    if !blockers.is_empty() {
        let problem = blockers
            .iter()
            .map(|b| format!("{}: {}", b.stage, b.problem))
            .collect::<Vec<_>>()
            .join("; ");
        let help = blockers
            .iter()
            .map(|b| b.help.as_str())
            .filter(|h| !h.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(failure(
            format!("a real run would stop: {problem}"),
            if help.is_empty() {
                "fix the problem above, then run `cargo xtask up --dry-run` again".to_string()
            } else {
                help
            },
        ));
    }
    Ok(if ok { 0 } else { 1 })
}

/// The dry run's plan on stdout: each stage with its number, its steps, what would fail and
/// its notes.
fn print_plan(cx: &Ctx, numbers: &[u8], reports: &[Report]) {
    for (n, r) in numbers.iter().zip(reports) {
        cx.ui.out(&format!("{n}. {}:", r.stage));
        let failed: Vec<_> = r.gates.iter().filter(|g| !g.passed).collect();
        if !r.dry_run && failed.is_empty() && r.error.is_none() {
            cx.ui.out(&format!(
                "  read-only: {} of {} checks pass",
                r.gates.len(),
                r.gates.len()
            ));
        } else if r.plan.is_empty() && r.notes.is_empty() && r.error.is_none() {
            cx.ui.out("  nothing to change");
        }
        for (i, s) in r.plan.iter().enumerate() {
            cx.ui.out(&format!("  {}. {s}", i + 1));
        }
        for g in failed {
            cx.ui.out(&format!("  would fail: {}", g.detail));
        }
        if let Some(e) = &r.error {
            cx.ui.out(&format!("  would fail: {e}"));
        }
        for n in &r.notes {
            cx.ui.out(&format!("  note: {n}"));
        }
    }
}

fn print_summary(cx: &Ctx, reports: &[Report], rows: &[Row]) {
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
    if let Some(stopped) = reports.iter().find(|r| !r.ok) {
        eprintln!(
            "up: stopped at `{}`; the stages after it did not run",
            stopped.stage
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Gate;

    fn failed(detail: &str, help: &str) -> Gate {
        Gate {
            name: "x".into(),
            passed: false,
            detail: detail.into(),
            help: Some(help.into()),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn gates_failing_for_one_reason_are_named_together() {
        let mut r = Report::new("doctor", false);
        r.gates
            .push(failed("minikube: not found on PATH", "install minikube"));
        r.gates
            .push(failed("helm: not found on PATH", "install helm"));
        r.gates.push(failed(
            "the cluster asks for 4 CPUs and 8192 MB; this host has 2 CPUs",
            "lower cluster.cpus",
        ));
        let b = gate_blocker(&r).expect("a blocker");
        assert_eq!(
            b.problem,
            "minikube, helm not found on PATH; the cluster asks for 4 CPUs and 8192 MB; this host has 2 CPUs"
        );
        assert_eq!(b.help, "install minikube; install helm; lower cluster.cpus");
        assert!(gate_blocker(&Report::new("setup", false)).is_none());
    }

    #[test]
    fn stages_are_the_pipelines_in_its_order_and_numbers() {
        let names: Vec<&str> = STAGES.iter().map(|e| e.name).collect();
        assert_eq!(names, crate::project::pipeline::STAGES);
        for e in &STAGES {
            assert_eq!(Some(e.number), crate::project::pipeline::number(e.name));
        }
    }
}
