//! Stage 2, `setup`: the minikube profile runs with the configured addons and kubectl points at
//! it. Starts the profile only when absent or stopped, enables only missing addons, switches the
//! context only when needed. Gates: profile running, node Ready, kube-system pods ready, context.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::{WithHelp, failure};
use crate::flags;
use crate::tools::minikube::{ProfileConfig, ProfileState, StartSpec};
use crate::tools::{self, kubectl, minikube};

pub fn run(cx: &Ctx, _f: &flags::Setup) -> Result<i32> {
    execute(
        cx,
        &mut Setup {
            config: cx.config()?,
        },
    )
}

pub struct Setup {
    pub config: Config,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub profile: String,
    pub state: ProfileState,
    pub cluster: Option<ProfileConfig>,
    /// Addon → enabled, as minikube reports it (empty when the profile does not exist).
    pub addons: BTreeMap<String, bool>,
    pub context: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Start(StartSpec),
    Unpause,
    EnableAddon(String),
    UseContext(String),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Start(s) => write!(f, "start minikube ({})", s.args().join(" ")),
            Step::Unpause => write!(f, "unpause minikube"),
            Step::EnableAddon(a) => write!(f, "enable addon {a}"),
            Step::UseContext(c) => write!(f, "point kubectl at context {c}"),
        }
    }
}

impl Setup {
    fn profile(&self) -> &str {
        &self.config.cluster.profile
    }

    fn start_spec(&self) -> StartSpec {
        let c = &self.config.cluster;
        StartSpec {
            driver: c.driver.clone(),
            cpus: c.cpus,
            memory_mb: c.memory_mb,
            kubernetes_version: c.kubernetes_version.clone(),
            container_runtime: c.container_runtime.clone(),
            timeout: self.config.start_timeout(),
        }
    }
}

/// The plan for a profile in `observed` state (pure, so it is unit-tested).
pub fn plan(config: &Config, observed: &Observed, spec: StartSpec) -> Vec<Step> {
    let mut steps = Vec::new();
    let paused = matches!(&observed.state, ProfileState::Degraded { status } if status.api_server == "Paused");
    let start = !paused && !matches!(observed.state, ProfileState::Running);
    if paused {
        steps.push(Step::Unpause);
    } else if start {
        steps.push(Step::Start(spec));
    }
    for addon in &config.cluster.addons {
        if observed.addons.get(addon) != Some(&true) {
            steps.push(Step::EnableAddon(addon.clone()));
        }
    }
    // `minikube start` points kubectl at the profile itself.
    if !start && observed.context.as_deref() != Some(observed.profile.as_str()) {
        steps.push(Step::UseContext(observed.profile.clone()));
    }
    steps
}

impl Stage for Setup {
    type Observed = Observed;
    type Step = Step;

    fn name(&self) -> &'static str {
        "setup"
    }

    fn preflight(&mut self, cx: &Ctx, _report: &mut Report) -> Result<()> {
        for (tool, hint) in [
            ("minikube", minikube::INSTALL_HINT),
            ("kubectl", kubectl::INSTALL_HINT),
        ] {
            tools::require(tool, hint)?;
        }
        if self.config.cluster.driver == "docker" {
            let v = tools::docker::Docker::local().version(&cx.runner)?;
            if let Some(e) = v.daemon_error {
                return Err(failure(
                    format!("the docker driver needs a running Docker daemon: {e}"),
                    "start Docker (Docker Desktop, or `sudo systemctl start docker`), or set `cluster.driver`",
                ));
            }
        }
        Ok(())
    }

    fn observe(&mut self, cx: &Ctx, _report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let profile = self.profile().to_string();
        let state = minikube::status(r, &profile)?;
        cx.ui
            .detail(&format!("minikube profile `{profile}`: {state:?}"));
        let cluster = match state {
            ProfileState::Absent => None,
            _ => minikube::profile_config(r, &profile)?,
        };
        let addons = match state {
            ProfileState::Absent => BTreeMap::new(),
            _ => minikube::addons(r, &profile)?,
        };
        let context = kubectl::current_context(r)?;
        cx.ui.detail(&format!("kubectl context: {context:?}"));
        Ok(Observed {
            profile,
            state,
            cluster,
            addons,
            context,
        })
    }

    fn plan(&mut self, cx: &Ctx, observed: &Observed) -> Result<Vec<Step>> {
        if let Some(c) = &observed.cluster {
            let want = &self.config.cluster;
            if c.cpus != want.cpus || c.memory_mb != want.memory_mb || c.driver != want.driver {
                cx.ui.warn(&format!(
                    "profile `{}` exists with driver {} / {} CPUs / {} MB, the config asks {} / {} / {}; \
                     minikube keeps the existing values (run `minikube delete -p {}` to recreate it)",
                    c.name, c.driver, c.cpus, c.memory_mb, want.driver, want.cpus, want.memory_mb, c.name
                ));
            }
        }
        Ok(plan(&self.config, observed, self.start_spec()))
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        let r = &cx.runner;
        let profile = self.profile().to_string();
        match step {
            Step::Start(spec) => minikube::start(r, &profile, spec)
                .help("`cargo xtask doctor` checks the driver and the machine's resources"),
            Step::Unpause => minikube::unpause(r, &profile),
            Step::EnableAddon(a) => minikube::enable_addon(r, &profile, a),
            Step::UseContext(c) => kubectl::use_context(r, c),
        }
    }

    fn gates(&mut self, cx: &Ctx, _observed: &Observed, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        let profile = self.profile().to_string();
        let timeout = self.config.ready_timeout();
        report.gate(cx, "profile running", || {
            Ok(match minikube::status(r, &profile)? {
                ProfileState::Running => {
                    GateResult::Pass(format!("{profile}: host, kubelet, apiserver running"))
                }
                other => GateResult::Fail {
                    detail: format!("{profile}: {other:?}"),
                    help: format!("see `minikube logs -p {profile}`"),
                },
            })
        });
        report.gate(cx, "node Ready", || {
            wait_until(timeout, || {
                let nodes = kubectl::nodes(r, Some(&profile))?;
                let bad: Vec<String> = nodes
                    .iter()
                    .filter(|n| !n.ready)
                    .map(|n| format!("{} ({})", n.name, n.reason))
                    .collect();
                Ok(if nodes.is_empty() || !bad.is_empty() {
                    GateResult::Fail {
                        detail: format!(
                            "not Ready: {}",
                            if bad.is_empty() {
                                "no nodes".into()
                            } else {
                                bad.join(", ")
                            }
                        ),
                        help: format!("`kubectl --context {profile} describe nodes` shows why"),
                    }
                } else {
                    GateResult::Pass(format!("{} node(s) Ready", nodes.len()))
                })
            })
        });
        report.gate(cx, "kube-system pods ready", || {
            wait_until(timeout, || {
                let pods = kubectl::pods(r, Some(&profile), "kube-system", None)?;
                let bad: Vec<String> = pods
                    .iter()
                    .filter(|p| !p.ready)
                    .map(|p| match &p.problem {
                        Some((reason, _)) => format!("{} ({reason})", p.name),
                        None => format!("{} ({})", p.name, p.phase),
                    })
                    .collect();
                Ok(if pods.is_empty() || !bad.is_empty() {
                    GateResult::Fail {
                        detail: format!("not ready: {}", if bad.is_empty() { "no pods yet".into() } else { bad.join(", ") }),
                        help: format!("`kubectl --context {profile} -n kube-system get pods` and `describe pod` show why"),
                    }
                } else {
                    GateResult::Pass(format!("{} pod(s) ready", pods.len()))
                })
            })
        });
        report.gate(cx, "kubectl context", || {
            let ctx = kubectl::current_context(r)?;
            Ok(if ctx.as_deref() == Some(profile.as_str()) {
                GateResult::Pass(format!("current context is {profile}"))
            } else {
                GateResult::Fail {
                    detail: format!("current context is {}", ctx.as_deref().unwrap_or("not set")),
                    help: format!("kubectl config use-context {profile}"),
                }
            })
        });
        if let Some(c) = minikube::profile_config(r, &profile)? {
            let how = if c.runtime == "docker" {
                "build uses minikube's Docker daemon (docker-env)"
            } else {
                "build loads images with `minikube image load`"
            };
            report.note(cx, format!("container runtime: {} ({how})", c.runtime));
        }
        Ok(())
    }
}

/// Repeats `check` until it passes or `timeout` runs out; returns the last result.
pub fn wait_until(
    timeout: Duration,
    mut check: impl FnMut() -> Result<GateResult>,
) -> Result<GateResult> {
    let deadline = Instant::now() + timeout;
    loop {
        let result = check()?;
        if matches!(result, GateResult::Pass(_)) || Instant::now() >= deadline {
            return Ok(result);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(state: ProfileState, addons: &[(&str, bool)], context: Option<&str>) -> Observed {
        Observed {
            profile: "p".into(),
            state,
            cluster: None,
            addons: addons.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            context: context.map(String::from),
        }
    }

    fn spec() -> StartSpec {
        Setup {
            config: Config::default(),
        }
        .start_spec()
    }

    #[test]
    fn absent_profile_starts_and_enables_addons() {
        let mut c = Config::default();
        c.cluster.addons = vec!["metrics-server".into(), "ingress".into()];
        let steps = plan(&c, &observed(ProfileState::Absent, &[], None), spec());
        let text: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert!(text[0].starts_with("start minikube"));
        assert_eq!(
            &text[1..],
            ["enable addon metrics-server", "enable addon ingress"]
        );
    }

    #[test]
    fn running_profile_with_everything_plans_nothing() {
        let c = Config::default();
        let o = observed(
            ProfileState::Running,
            &[("metrics-server", true)],
            Some("p"),
        );
        assert!(plan(&c, &o, spec()).is_empty());
    }

    #[test]
    fn wrong_context_is_switched_and_missing_addon_enabled() {
        let c = Config::default();
        let o = observed(
            ProfileState::Running,
            &[("metrics-server", false)],
            Some("kind-x"),
        );
        let text: Vec<String> = plan(&c, &o, spec()).iter().map(|s| s.to_string()).collect();
        assert_eq!(
            text,
            ["enable addon metrics-server", "point kubectl at context p"]
        );
    }

    #[test]
    fn paused_profile_is_unpaused_not_restarted() {
        let status = minikube::NodeStatus {
            name: "p".into(),
            host: "Running".into(),
            kubelet: "Running".into(),
            api_server: "Paused".into(),
            kubeconfig: "Configured".into(),
        };
        let o = observed(
            ProfileState::Degraded { status },
            &[("metrics-server", true)],
            Some("p"),
        );
        let text: Vec<String> = plan(&Config::default(), &o, spec())
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(text, ["unpause minikube"]);
    }

    #[test]
    fn stopped_profile_is_started() {
        let c = Config::default();
        let o = observed(
            ProfileState::Stopped {
                host: "Stopped".into(),
            },
            &[("metrics-server", true)],
            Some("p"),
        );
        let steps = plan(&c, &o, spec());
        assert_eq!(steps.len(), 1);
        assert!(matches!(steps[0], Step::Start(_)));
    }
}
