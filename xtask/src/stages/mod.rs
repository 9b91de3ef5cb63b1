//! The stages. Each one is a file implementing [`Stage`]; [`drive`] runs the common shape:
//!
//! ```text
//! preflight -> observe -> plan -> act -> gate
//! ```
//!
//! preflight checks the tools, observe makes read-only calls, plan compares what is with what
//! should be (under `--dry-run` the plan is printed and nothing else happens), act makes only the
//! planned mutating calls, and the gates check the outcome. Everything lands in a [`Report`].
//!
//! A new stage: add `stages/<name>.rs` with a struct implementing [`Stage`], a `pub fn run(cx,
//! flags) -> Result<i32>` that calls [`execute`], and one line in `main.rs`'s dispatch.

pub mod aiops;
pub mod build;
pub mod deploy;
pub mod dev;
pub mod docs;
pub mod doctor;
pub mod down;
pub mod local;
pub mod logs;
pub mod open;
pub mod setup;
pub mod status;
pub mod test;
pub mod up;
pub mod verify;

use std::fmt::Display;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

pub use crate::report::{GateResult, Report};

use crate::ctx::Ctx;
use crate::ui::Tone;

/// One stage of the pipeline.
pub trait Stage {
    /// What observe learned; kept in the report.
    type Observed: Serialize;
    /// One planned mutating action.
    type Step: Display;

    fn name(&self) -> &'static str;

    /// False for read-only stages (doctor, status): no plan is printed for them.
    fn mutates(&self) -> bool {
        true
    }

    /// Are the tools this stage needs present, new enough and their daemons reachable?
    /// (Default: nothing to check.)
    fn preflight(&mut self, _cx: &Ctx, _report: &mut Report) -> Result<()> {
        Ok(())
    }

    /// Read-only calls: what is there now?
    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Self::Observed>;

    /// What must change to reach the desired state (empty: nothing; the default, for the
    /// read-only stages).
    fn plan(&mut self, _cx: &Ctx, _observed: &Self::Observed) -> Result<Vec<Self::Step>> {
        Ok(Vec::new())
    }

    /// Makes one planned change (the default has none to make).
    fn act(&mut self, _cx: &Ctx, _step: &Self::Step) -> Result<()> {
        Ok(())
    }

    /// Checks the outcome, adding one gate result per check to the report (default: none).
    fn gates(&mut self, _cx: &Ctx, _observed: &Self::Observed, _report: &mut Report) -> Result<()> {
        Ok(())
    }
}

/// Runs a stage through its five steps and returns the report.
pub fn drive<S: Stage>(cx: &Ctx, stage: &mut S) -> Result<Report> {
    let started = Instant::now();
    let mut report = Report::new(stage.name(), cx.runner.dry_run() && stage.mutates());
    let name = stage.name();
    cx.ui.step(&format!("{name}: preflight"), || {
        stage.preflight(cx, &mut report)
    })?;
    let observed = cx.ui.step(&format!("{name}: observe"), || {
        stage.observe(cx, &mut report)
    })?;
    report.observed = serde_json::to_value(&observed)?;
    let plan = stage.plan(cx, &observed)?;
    report.plan = plan.iter().map(|s| s.to_string()).collect();
    if cx.runner.dry_run() && stage.mutates() {
        report.duration = started.elapsed();
        report.ok = report.ok();
        return Ok(report);
    }
    // A read-only stage has no plan to talk about.
    if plan.is_empty() && stage.mutates() {
        cx.ui
            .status("Fresh", &format!("{name}: nothing to change"), Tone::Good);
    }
    for step in &plan {
        let label = step.to_string();
        let t = Instant::now();
        cx.ui.step(&label, || stage.act(cx, step))?;
        report.done(label, t.elapsed());
    }
    stage.gates(cx, &observed, &mut report)?;
    report.duration = started.elapsed();
    report.ok = report.ok();
    Ok(report)
}

/// Runs a stage, prints its report (a table, or JSON with `--json`) and returns the exit code:
/// 0 when every gate passed, 1 otherwise.
pub fn execute<S: Stage>(cx: &Ctx, stage: &mut S) -> Result<i32> {
    match drive(cx, stage) {
        Ok(mut report) => {
            report.commands = cx.runner.records();
            report.print(cx)?;
            Ok(if report.ok() { 0 } else { 1 })
        }
        Err(err) => {
            if cx.global.json {
                let mut report = Report::new(stage.name(), cx.runner.dry_run());
                report.ok = false;
                report.error = Some(cx.runner.redact(&crate::error::render(&err)));
                report.commands = cx.runner.records();
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            Err(err)
        }
    }
}
