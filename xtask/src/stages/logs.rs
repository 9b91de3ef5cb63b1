//! `logs [backend|frontend|database]`: the logs of every pod of a component, each line prefixed
//! with the component; `--follow` streams until Ctrl-C. The streams are also what `dev` shows.
//!
//! A followed stream is a supervised `kubectl logs --follow --selector ...`; it ends when the pods
//! it follows go away (a rollout), so whoever runs one restarts it when the pods change
//! ([`LogStream::ended`]), asking only for what is newer than the last line it printed.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::{failure, usage};
use crate::flags::{self, Component};
use crate::project::objects::APP_SELECTOR;
use crate::run::{Supervised, interrupted};
use crate::tools::kubectl::Kube;
use crate::tools::kubectl::LogsQuery;

impl Component {
    pub const ALL: [Component; 3] = [Component::Backend, Component::Frontend, Component::Database];

    /// The `app.kubernetes.io/component` label of its pods (chart and raw manifests alike).
    pub fn label(self) -> &'static str {
        match self {
            Component::Backend => "backend",
            Component::Frontend => "frontend",
            Component::Database => "database",
        }
    }

    /// The label selector of its pods.
    pub fn selector(self) -> String {
        format!(
            "{APP_SELECTOR},app.kubernetes.io/component={}",
            self.label()
        )
    }

    /// ANSI colour of its prefix.
    fn colour(self) -> &'static str {
        match self {
            Component::Backend => "36",
            Component::Frontend => "35",
            Component::Database => "33",
        }
    }
}

/// Checks a `--since` value the way kubectl reads it (a Go duration such as `30s`, `10m`,
/// `1h30m`), so a typo is a usage error here rather than kubectl's.
pub fn check_since(value: &str) -> Result<()> {
    let bad = || {
        usage(
            format!("--since {value:?} is not a duration"),
            "give a number and a unit: 30s, 10m, 2h (or 1h30m)",
        )
    };
    let mut digits = String::new();
    let mut parts = 0;
    for c in value.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if matches!(c, 'h' | 'm' | 's') && !digits.is_empty() {
            digits.clear();
            parts += 1;
        } else {
            return Err(bad());
        }
    }
    if parts == 0 || !digits.is_empty() {
        return Err(bad());
    }
    Ok(())
}

/// One log line with its component in front: `backend  | text`. kubectl's `--prefix`
/// (`[pod/NAME/CONTAINER] `) is replaced by the component; with several pods the pod's last
/// name segment is kept (`backend 7d9f | text`).
pub fn prefixed(component: Component, line: &str, colour: bool, with_pod: bool) -> String {
    let (pod, text) = match line
        .strip_prefix("[pod/")
        .and_then(|rest| rest.split_once("] "))
    {
        Some((source, text)) => (source.split('/').next().unwrap_or(""), text),
        None => ("", line),
    };
    let mut label = component.label().to_string();
    if with_pod && let Some(suffix) = pod.rsplit('-').next().filter(|s| !s.is_empty()) {
        label = format!("{label} {suffix}");
    }
    let label = format!("{label:<8}");
    if colour {
        format!("\x1b[{}m{label} |\x1b[0m {text}", component.colour())
    } else {
        format!("{label} | {text}")
    }
}

/// A followed log stream of one component, printed on stdout line by line as it arrives.
pub struct LogStream {
    pub component: Component,
    process: Supervised,
    started: Instant,
    /// Set by the printer when the stream's pipe closed.
    closed: Arc<AtomicBool>,
}

impl LogStream {
    /// Starts `kubectl logs --follow` over the component's pods; lines newer than `since` (all
    /// retained lines when `None`).
    pub fn start(
        cx: &Ctx,
        kube: &Kube,
        component: Component,
        since: Option<String>,
        with_pod: bool,
    ) -> Result<LogStream> {
        let mut process = kube.follow_logs(
            &format!("log stream of {}", component.label()),
            &LogsQuery {
                selector: component.selector(),
                follow: true,
                since,
            },
        )?;
        let closed = Arc::new(AtomicBool::new(false));
        let colour = cx.ui.stdout_colours();
        let redact = cx.runner.redactor();
        if let Some(rx) = process.take_lines() {
            let closed = Arc::clone(&closed);
            std::thread::spawn(move || {
                for line in rx {
                    let text = prefixed(component, &redact(&line), colour, with_pod);
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
                closed.store(true, Ordering::Relaxed);
            });
        }
        Ok(LogStream {
            component,
            process,
            started: Instant::now(),
            closed,
        })
    }

    /// True once kubectl stopped following (its pods went away, or it failed).
    pub fn ended(&mut self) -> bool {
        self.closed.load(Ordering::Relaxed) || matches!(self.process.exited(), Ok(Some(_)))
    }

    /// How long it has been running: a restart asks for lines newer than this.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn stop(&mut self, grace: Duration) {
        self.process.stop(grace);
    }
}

/// `--since` for a restarted stream: the seconds since `age` ago, plus a little overlap.
pub fn since_secs(age: Duration) -> String {
    format!("{}s", age.as_secs() + 2)
}

pub fn run(cx: &Ctx, f: &flags::Logs) -> Result<i32> {
    if let Some(s) = &f.since {
        check_since(s)?;
    }
    let config = cx.config()?;
    crate::project::cluster::require_context(cx, &config)?;
    let kube = cx.kube(&config);
    let wanted: Vec<Component> = match f.component {
        Some(c) => vec![c],
        None => Component::ALL.to_vec(),
    };
    // Which components have pods (an unknown namespace or an unreachable cluster fails here,
    // with kubectl's reason).
    let mut present = Vec::new();
    for c in &wanted {
        let pods = kube.pods(Some(&c.selector()))?;
        if !pods.is_empty() {
            present.push((*c, pods.len()));
        }
    }
    if present.is_empty() {
        let what = f
            .component
            .map_or("the app".to_string(), |c| c.label().to_string());
        return Err(failure(
            format!(
                "no pods of {what} in namespace `{}` (context `{}`)",
                config.deploy.namespace,
                kube.context
            ),
            match f.component {
                Some(Component::Database) => {
                    "the database runs in the cluster only with `deploy.database = \"internal\"`; `cargo xtask status` shows what runs".to_string()
                }
                _ => "deploy first: `cargo xtask up` (or `cargo xtask dev`)".to_string(),
            },
        ));
    }
    if !f.follow {
        let colour = cx.ui.stdout_colours();
        for (c, n) in &present {
            let out = kube.logs(&LogsQuery {
                selector: c.selector(),
                follow: false,
                since: f.since.clone(),
            })?;
            for line in out.lines() {
                println!("{}", prefixed(*c, &cx.runner.redact(line), colour, *n > 1));
            }
        }
        return Ok(0);
    }
    let stop = interrupted()?;
    let mut streams = Vec::new();
    for (c, n) in &present {
        streams.push(LogStream::start(cx, &kube, *c, f.since.clone(), *n > 1)?);
    }
    loop {
        std::thread::sleep(Duration::from_millis(200));
        // Ctrl-C on a terminal stops kubectl too: the flag is checked before a restart.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        for s in &mut streams {
            // A stream with no pods to follow ends at once: retry at most every two seconds.
            if s.ended() && s.age() > Duration::from_secs(2) {
                // The pods went away (a rollout): follow the new ones once they are there.
                let since = since_secs(s.age());
                let with_pod = kube.pods(Some(&s.component.selector()))?.len() > 1;
                s.stop(Duration::from_millis(200));
                *s = LogStream::start(cx, &kube, s.component, Some(since), with_pod)?;
            }
        }
    }
    for s in &mut streams {
        s.stop(Duration::from_millis(500));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_go_durations_only() {
        for ok in ["30s", "10m", "2h", "1h30m"] {
            check_since(ok).expect(ok);
        }
        for bad in ["", "10", "m", "10 m", "-5m", "1d", "5mins"] {
            assert!(check_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_carry_their_component_not_the_pod() {
        let line = "[pod/todo-chatbot-backend-7d9f-abcde/backend] {\"msg\":\"listening\"}";
        assert_eq!(
            prefixed(Component::Backend, line, false, false),
            "backend  | {\"msg\":\"listening\"}"
        );
        assert_eq!(
            prefixed(Component::Backend, line, false, true),
            "backend abcde | {\"msg\":\"listening\"}"
        );
        assert_eq!(
            prefixed(Component::Frontend, "plain", false, false),
            "frontend | plain"
        );
        assert_eq!(
            prefixed(Component::Database, "x", true, false),
            "\x1b[33mdatabase |\x1b[0m x"
        );
    }

    #[test]
    fn selectors_use_the_component_label() {
        assert_eq!(
            Component::Frontend.selector(),
            "app.kubernetes.io/name=todo-chatbot,app.kubernetes.io/component=frontend"
        );
    }
}
