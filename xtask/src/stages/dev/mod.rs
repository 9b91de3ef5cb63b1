//! `dev`: `up` in a loop. It brings the app up once (doctor, setup, build, deploy; the images
//! with the iteration profile), then watches the image inputs. After a burst of saves it works
//! out which images' digests changed, builds only those and redeploys with the same deploy stage
//! `up` uses (Helm or raw), waiting for the rollout with the same diagnosis. A failed build or
//! rollout is printed and the watch goes on.
//!
//! Around the loop run supervised port-forwards to the frontend and the backend (stable local
//! ports; started again when kubectl exits or the pods were replaced) and the apps' log streams.
//! Each cycle ends with one line on stdout: what changed, what was rebuilt, the time from the
//! save to ready. Ctrl-C (or SIGTERM) stops the forwards and streams and exits 0, leaving the
//! deployment running unless `--down-on-exit`.

pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::build::BuildStage;
use super::deploy::{DeployStage, Options, overrides};
use super::doctor::Doctor;
use super::down::Down;
use super::logs::{LogStream, since_secs};
use super::setup::Setup;
use super::{Report, drive};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::flags::{self, Component};
use crate::project::forward::Forward;
use crate::project::images::every_desired_image;
use crate::tools::kubectl::Kube;
use crate::ui::{Tone, fmt_duration};
use watch::Watch;

/// How often the loop looks at the forwards and streams while no file changes.
const TICK: Duration = Duration::from_millis(200);

pub fn run(cx: &Ctx, f: &flags::Dev) -> Result<i32> {
    overrides::check(&f.overrides, !f.raw, "dev")?;
    let mut config = cx.config()?;
    if !f.release {
        config.use_iteration_profile();
    }
    if cx.runner.dry_run() {
        print_plan(cx, &config, f);
        return Ok(0);
    }
    let stop = crate::run::interrupted()?;
    for stage in [
        drive(
            cx,
            &mut Doctor {
                config: config.clone(),
            },
        ),
        drive(
            cx,
            &mut Setup {
                config: config.clone(),
            },
        ),
    ] {
        let report = stage?;
        if !report.ok() {
            print_failed_gates(cx, &report);
            return Ok(1);
        }
    }
    let opts = Options {
        helm: !f.raw,
        overrides: f.overrides.clone(),
        // Each cycle waits for the rollout with the deploy gates (a crashing pod is reported at
        // once, not after helm's timeout and rollback) and skips the chart's test pod, which
        // adds seconds to every save and checks nothing the gates do not.
        dev_loop: true,
        ..Options::default()
    };
    let kube = cx.kube(&config);
    let mut dev = Dev {
        cx,
        kube,
        config: config.clone(),
        opts,
        deployed: BTreeMap::new(),
        forwards: Vec::new(),
        streams: Vec::new(),
        ports: [
            (Component::Frontend, f.frontend_port),
            (Component::Backend, f.backend_port),
        ],
        last_attach: None,
    };
    // Watching starts first, so a save during the first deploy starts a cycle right after it.
    let inputs = watched_inputs(&config);
    let watch = Watch::new(&cx.root, &inputs)?;
    let started = Instant::now();
    let outcome = dev.cycle(&BTreeSet::new(), started);
    cx.ui.out(&format!("dev: first deploy: {outcome}"));
    if !stop.load(Ordering::Relaxed) {
        dev.attach();
    }

    cx.ui.status(
        "Watching",
        &format!(
            "{} (Ctrl-C stops; the deployment keeps running{})",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            if f.down_on_exit {
                " until --down-on-exit removes it"
            } else {
                ""
            }
        ),
        Tone::Plain,
    );
    let debounce = Duration::from_millis(f.debounce_ms.max(10));
    while !stop.load(Ordering::Relaxed) {
        match watch.next(TICK, debounce)? {
            // Ctrl-C on a terminal also stops kubectl: check the flag before anything restarts.
            _ if stop.load(Ordering::Relaxed) => break,
            Some(batch) => {
                let outcome = dev.cycle(&batch.paths, batch.first);
                cx.ui.out(&format!("dev: {outcome}"));
            }
            None => dev.supervise(),
        }
    }
    dev.detach();
    if f.down_on_exit {
        cx.ui
            .status("Removing", "the deployment (--down-on-exit)", Tone::Plain);
        let report = drive(cx, &mut Down::new(config.clone(), false))?;
        if !report.ok() {
            print_failed_gates(cx, &report);
            return Ok(1);
        }
    }
    cx.ui.out(if f.down_on_exit {
        "dev: stopped; the deployment was removed (data volumes stay)"
    } else {
        "dev: stopped; the deployment keeps running (`cargo xtask down` removes it)"
    });
    Ok(0)
}

/// Every path whose change can change an image: the shared inputs, each image's own, the
/// Dockerfile.
fn watched_inputs(config: &Config) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = config.build.inputs.clone();
    for img in config.images.values() {
        out.extend(img.inputs.iter().cloned());
    }
    out.push(config.build.dockerfile.clone());
    out.sort();
    out.dedup();
    out
}

struct Dev<'a> {
    cx: &'a Ctx,
    kube: Kube<'a>,
    config: Config,
    opts: Options,
    /// Image key → the `name:tag` last deployed (or tried).
    deployed: BTreeMap<String, String>,
    forwards: Vec<(Component, Forward)>,
    streams: Vec<LogStream>,
    ports: [(Component, u16); 2],
    /// When forwards and streams were last (re)started, for a retry while they are missing.
    last_attach: Option<Instant>,
}

impl Dev<'_> {
    /// One round: build what changed, deploy, wait. Returns the cycle's line.
    fn cycle(&mut self, changed: &BTreeSet<PathBuf>, since: Instant) -> String {
        let cx = self.cx;
        let what = if changed.is_empty() {
            String::new()
        } else {
            format!("{} changed; ", summarise(changed))
        };
        let desired = match every_desired_image(cx, &self.config) {
            Ok(d) => d,
            Err(e) => return self.failed(&what, "reading the inputs", &e, since),
        };
        let affected: Vec<String> = desired
            .images
            .iter()
            .filter(|d| self.deployed.get(&d.key) != Some(&d.image))
            .map(|d| d.key.clone())
            .collect();
        if affected.is_empty() {
            return format!("{what}no image input changed (nothing to do)");
        }
        let build_flags = flags::Build {
            no_cluster: false,
            strategy: None,
            images: affected.clone(),
            review: false,
            fast: false,
        };
        let built = BuildStage::new(self.config.clone(), &build_flags)
            .and_then(|mut stage| drive(cx, &mut stage));
        let report = match built {
            Ok(r) => r,
            Err(e) => {
                return self.failed(
                    &what,
                    &format!("build of {}", affected.join(", ")),
                    &e,
                    since,
                );
            }
        };
        let rebuilt: Vec<String> = report
            .done
            .iter()
            .filter(|d| d.what.starts_with("build "))
            .filter_map(|d| d.what.split(" (target ").nth(1))
            .filter_map(|rest| rest.split(')').next())
            .map(str::to_string)
            .collect();
        if !report.ok() {
            print_failed_gates(cx, &report);
            return format!(
                "{what}build gates failed after {}; still watching",
                fmt_duration(since.elapsed())
            );
        }
        for d in &desired.images {
            self.deployed.insert(d.key.clone(), d.image.clone());
        }
        let deployed = drive(
            cx,
            &mut DeployStage::new(self.config.clone(), self.opts.clone()),
        );
        let rebuilt_text = if rebuilt.is_empty() {
            format!("{} already built", affected.join(", "))
        } else {
            format!("rebuilt {}", rebuilt.join(", "))
        };
        match deployed {
            Err(e) => self.failed(&format!("{what}{rebuilt_text}; "), "deploy", &e, since),
            Ok(r) if !r.ok() => {
                print_failed_gates(cx, &r);
                format!(
                    "{what}{rebuilt_text}; the rollout failed after {} (see above); still watching",
                    fmt_duration(since.elapsed())
                )
            }
            Ok(_) => {
                self.refresh(&affected, since);
                format!(
                    "{what}{rebuilt_text}; ready in {}",
                    fmt_duration(since.elapsed())
                )
            }
        }
    }

    fn failed(&self, what: &str, step: &str, err: &anyhow::Error, since: Instant) -> String {
        eprintln!("{}", crate::error::render(err));
        format!(
            "{what}{step} failed after {} (see above); still watching",
            fmt_duration(since.elapsed())
        )
    }

    /// The services of the deploy mode, by component.
    fn services(&self) -> Result<Vec<(Component, String, u16)>> {
        let names = DeployStage::new(self.config.clone(), self.opts.clone()).services();
        let ports = self.kube.service_ports()?;
        let mut out = Vec::new();
        for (component, name) in [Component::Backend, Component::Frontend]
            .into_iter()
            .zip(names)
        {
            if let Some((_, p)) = ports.iter().find(|(n, _)| *n == name)
                && let Some(port) = p.first()
            {
                out.push((component, name, *port));
            }
        }
        Ok(out)
    }

    /// Starts the port-forwards and log streams that are not running yet.
    fn attach(&mut self) {
        self.last_attach = Some(Instant::now());
        let services = match self.services() {
            Ok(s) => s,
            Err(e) => {
                self.cx.ui.warn(&format!(
                    "cannot forward ports yet: {}",
                    crate::error::render(&e).lines().next().unwrap_or("")
                ));
                return;
            }
        };
        for (component, local) in self.ports {
            if self.forwards.iter().any(|(c, _)| *c == component) {
                continue;
            }
            let Some((_, name, port)) = services.iter().find(|(c, _, _)| *c == component) else {
                continue;
            };
            match Forward::start(self.cx, &self.kube, name, *port, local) {
                Ok(fwd) => {
                    self.cx
                        .ui
                        .out(&format!("dev: {} at {}", component.label(), fwd.url()));
                    self.forwards.push((component, fwd));
                }
                Err(e) => self.cx.ui.warn(&format!(
                    "port-forward to {name}: {}",
                    crate::error::render(&e).lines().next().unwrap_or("")
                )),
            }
        }
        for component in [Component::Backend, Component::Frontend] {
            if self.streams.iter().any(|s| s.component == component) {
                continue;
            }
            match LogStream::start(self.cx, &self.kube, component, Some("10s".into()), false) {
                Ok(s) => self.streams.push(s),
                Err(e) => self.cx.ui.warn(&format!(
                    "log stream of {}: {}",
                    component.label(),
                    crate::error::render(&e).lines().next().unwrap_or("")
                )),
            }
        }
    }

    /// After a rollout: the forwards and streams of the changed components follow the new pods.
    fn refresh(&mut self, affected: &[String], since: Instant) {
        for (component, fwd) in &mut self.forwards {
            if affected.iter().any(|k| k == component.label())
                && let Err(e) = fwd.restart(&self.kube)
            {
                self.cx.ui.warn(&format!(
                    "port-forward to {}: {}",
                    fwd.service,
                    crate::error::render(&e).lines().next().unwrap_or("")
                ));
            }
        }
        let mut kept = Vec::new();
        for mut s in self.streams.drain(..) {
            if affected.iter().any(|k| k == s.component.label()) {
                s.stop(Duration::from_millis(200));
                let c = s.component;
                match LogStream::start(
                    self.cx,
                    &self.kube,
                    c,
                    Some(since_secs(since.elapsed())),
                    false,
                ) {
                    Ok(n) => kept.push(n),
                    Err(e) => self.cx.ui.warn(&format!(
                        "log stream of {}: {}",
                        c.label(),
                        crate::error::render(&e).lines().next().unwrap_or("")
                    )),
                }
            } else {
                kept.push(s);
            }
        }
        self.streams = kept;
        self.attach();
    }

    /// Between cycles: forwards that exited are started again, ended streams follow the new
    /// pods, and what could not start yet is tried again every few seconds.
    fn supervise(&mut self) {
        for (_, fwd) in &mut self.forwards {
            if let Some(msg) = fwd.keep(&self.kube) {
                self.cx.ui.status("Forward", &msg, Tone::Plain);
            }
        }
        let mut kept = Vec::new();
        for mut s in self.streams.drain(..) {
            if s.ended() && s.age() > Duration::from_secs(2) {
                let c = s.component;
                let since = since_secs(s.age());
                s.stop(Duration::from_millis(100));
                if let Ok(n) = LogStream::start(self.cx, &self.kube, c, Some(since), false) {
                    kept.push(n);
                }
            } else {
                kept.push(s);
            }
        }
        self.streams = kept;
        let missing = self.forwards.len() < self.ports.len() || self.streams.len() < 2;
        if missing
            && self
                .last_attach
                .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            self.attach();
        }
    }

    /// Stops every forward and stream.
    fn detach(&mut self) {
        for (_, f) in &mut self.forwards {
            f.stop();
        }
        for s in &mut self.streams {
            s.stop(Duration::from_millis(300));
        }
        self.forwards.clear();
        self.streams.clear();
    }
}

/// `a changed`, `a, b changed`, `a, b and 3 more`.
fn summarise(paths: &BTreeSet<PathBuf>) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.len() {
        0..=2 => names.join(", "),
        n => format!("{}, {} and {} more", names[0], names[1], n - 2),
    }
}

fn print_failed_gates(cx: &Ctx, report: &Report) {
    for g in report.gates.iter().filter(|g| !g.passed) {
        eprintln!(
            "{}: {}: gate `{}` failed: {}",
            cx.ui.paint("error", Tone::Bad),
            report.stage,
            g.name,
            g.detail
        );
        if let Some(h) = &g.help {
            eprintln!("help: {h}");
        }
    }
}

fn print_plan(cx: &Ctx, config: &Config, f: &flags::Dev) {
    cx.ui.out("dev: plan (dry run, nothing was started):");
    cx.ui.out(&format!(
        "  1. doctor, setup, build ({} profile), deploy{}",
        if config.iteration() {
            "iteration"
        } else {
            "release"
        },
        if f.raw { "" } else { " --helm" }
    ));
    cx.ui.out(&format!(
        "  2. watch {}",
        watched_inputs(config)
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    cx.ui.out(&format!(
        "  3. port-forwards: frontend on 127.0.0.1:{}, backend on 127.0.0.1:{}; log streams of both",
        f.frontend_port, f.backend_port
    ));
    cx.ui
        .out("  4. on a change: build the changed images, deploy, wait for the rollout");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_are_summarised() {
        let set = |v: &[&str]| v.iter().map(PathBuf::from).collect::<BTreeSet<_>>();
        assert_eq!(summarise(&set(&["a"])), "a");
        assert_eq!(summarise(&set(&["a", "b"])), "a, b");
        assert_eq!(summarise(&set(&["a", "b", "c", "d"])), "a, b and 2 more");
    }

    #[test]
    fn every_image_input_is_watched() {
        let inputs = watched_inputs(&Config::default());
        for p in ["Cargo.lock", "crates", "deploy/docker/Dockerfile"] {
            assert!(inputs.contains(&PathBuf::from(p)), "{p}: {inputs:?}");
        }
    }
}
