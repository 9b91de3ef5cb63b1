//! What a stage observed, what it did and each gate's result, for the summary table and
//! `--json`.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Serialize, Serializer};

use crate::ctx::Ctx;
use crate::run::Record;
use crate::ui::{Tone, fmt_duration, table};

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One mutating action that was made.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub what: String,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

/// The outcome of one gate.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub name: String,
    pub passed: bool,
    /// What was seen (passed) or what is wrong (failed).
    pub detail: String,
    /// The fix, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

/// What a gate check returns.
pub enum GateResult {
    Pass(String),
    Fail { detail: String, help: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub stage: String,
    pub dry_run: bool,
    pub ok: bool,
    pub observed: serde_json::Value,
    /// The planned changes (all of them under `--dry-run`).
    pub plan: Vec<String>,
    pub done: Vec<Done>,
    pub gates: Vec<Gate>,
    /// Notes worth keeping (decisions, skipped optional steps).
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub commands: Vec<Record>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// Stage-specific tables for the human summary (the same facts are in `observed`).
    #[serde(skip)]
    pub tables: Vec<(Vec<&'static str>, Vec<Vec<String>>)>,
}

impl Report {
    pub fn new(stage: &str, dry_run: bool) -> Report {
        Report {
            stage: stage.into(),
            dry_run,
            ok: true,
            observed: serde_json::Value::Null,
            plan: Vec::new(),
            done: Vec::new(),
            gates: Vec::new(),
            notes: Vec::new(),
            error: None,
            commands: Vec::new(),
            duration: Duration::ZERO,
            tables: Vec::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none() && self.gates.iter().all(|g| g.passed)
    }

    pub fn done(&mut self, what: String, duration: Duration) {
        self.done.push(Done { what, duration });
    }

    /// Adds a note and shows it on stderr.
    pub fn note(&mut self, cx: &Ctx, text: impl Into<String>) {
        let text = text.into();
        cx.ui.status("Note", &text, Tone::Plain);
        self.notes.push(text);
    }

    /// Runs one gate check, timing it; an error inside the check counts as a failed gate.
    pub fn gate(&mut self, cx: &Ctx, name: &str, check: impl FnOnce() -> Result<GateResult>) {
        let t = Instant::now();
        let result = check();
        let duration = t.elapsed();
        let gate = match result {
            Ok(GateResult::Pass(detail)) => Gate {
                name: name.into(),
                passed: true,
                detail,
                help: None,
                duration,
            },
            Ok(GateResult::Fail { detail, help }) => Gate {
                name: name.into(),
                passed: false,
                detail,
                help: Some(help),
                duration,
            },
            Err(e) => {
                let text = crate::error::render(&e);
                let (detail, help) = match text.split_once("\nhelp: ") {
                    Some((d, h)) => (d.trim_start_matches("error: ").to_string(), h.to_string()),
                    None => (
                        text.trim_start_matches("error: ").to_string(),
                        "see the error above".into(),
                    ),
                };
                Gate {
                    name: name.into(),
                    passed: false,
                    detail,
                    help: Some(help),
                    duration,
                }
            }
        };
        let (verb, tone) = if gate.passed {
            ("Passed", Tone::Good)
        } else {
            ("FAILED", Tone::Bad)
        };
        cx.ui.status(verb, &format!("gate: {name}"), tone);
        self.gates.push(gate);
    }

    /// Prints the report on stdout: JSON with `--json`, else the plan, the actions and a table
    /// of gates; failed gates also go to stderr with their fix.
    pub fn print(&mut self, cx: &Ctx) -> Result<()> {
        self.ok = self.ok();
        if cx.global.json {
            println!("{}", serde_json::to_string_pretty(self)?);
            return Ok(());
        }
        let ui = &cx.ui;
        if self.dry_run {
            if self.plan.is_empty() {
                ui.out(&format!(
                    "{}: plan: nothing to change (dry run)",
                    self.stage
                ));
            } else {
                ui.out(&format!(
                    "{}: plan (dry run, nothing was changed):",
                    self.stage
                ));
                for (i, s) in self.plan.iter().enumerate() {
                    ui.out(&format!("  {}. {s}", i + 1));
                }
            }
            return Ok(());
        }
        for (headers, rows) in &self.tables {
            print!("{}", table(headers, rows));
        }
        if !cx.global.quiet {
            if self.done.is_empty() && !self.plan.is_empty() {
                ui.out(&format!("{}: nothing was changed", self.stage));
            }
            for d in &self.done {
                ui.out(&format!(
                    "{}: did: {} ({})",
                    self.stage,
                    d.what,
                    fmt_duration(d.duration)
                ));
            }
        }
        if !self.gates.is_empty() {
            let rows: Vec<Vec<String>> = self
                .gates
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        if g.passed {
                            ui.paint_out("pass", Tone::Good)
                        } else {
                            ui.paint_out("FAIL", Tone::Bad)
                        },
                        fmt_duration(g.duration),
                        g.detail.clone(),
                    ]
                })
                .collect();
            print!("{}", table(&["gate", "result", "time", "detail"], &rows));
        }
        for g in self.gates.iter().filter(|g| !g.passed) {
            eprintln!(
                "{}: gate `{}` failed: {}",
                ui.paint("error", Tone::Bad),
                g.name,
                g.detail
            );
            if let Some(h) = &g.help {
                eprintln!("help: {h}");
            }
        }
        ui.out(&format!(
            "{}: {} in {}",
            self.stage,
            if self.ok { "ok" } else { "FAILED" },
            fmt_duration(self.duration)
        ));
        Ok(())
    }
}
