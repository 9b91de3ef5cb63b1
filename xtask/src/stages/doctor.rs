//! `doctor`: are the tools there, new enough, is the Docker daemon reachable, and does the host
//! have what the cluster configuration asks for? Read-only; exit 1 when a required tool is
//! missing or too old.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::flags;
use crate::tools::{self, Version, ai, docker, helm, kubectl, minikube};
use crate::ui::Tone;

pub fn run(cx: &Ctx, _f: &flags::Doctor) -> Result<i32> {
    execute(
        cx,
        &mut Doctor {
            config: cx.config()?,
        },
    )
}

pub struct Doctor {
    pub config: Config,
}

/// One row of the tools table.
#[derive(Debug, Clone, Serialize)]
pub struct ToolCheck {
    pub name: String,
    pub required: bool,
    pub path: Option<String>,
    pub version: Option<String>,
    pub minimum: Option<String>,
    /// For docker: whether the daemon answers; for AI tools: extra facts.
    pub note: String,
    /// Why it is not usable, when it is not.
    pub problem: Option<String>,
    pub hint: &'static str,
}

impl ToolCheck {
    fn new(name: &str, required: bool, min: Option<Version>, hint: &'static str) -> ToolCheck {
        ToolCheck {
            name: name.into(),
            required,
            path: None,
            version: None,
            minimum: min.map(|m| m.to_string()),
            note: String::new(),
            problem: None,
            hint,
        }
    }

    /// Looks the tool up on PATH, then reads its version with `read`.
    fn probe(
        mut self,
        min: Option<Version>,
        read: impl FnOnce(&Path) -> Result<Option<Version>>,
    ) -> ToolCheck {
        let Some(path) = tools::find(&self.name) else {
            self.problem = Some("not found on PATH".into());
            return self;
        };
        self.path = Some(path.display().to_string());
        match read(&path) {
            Ok(Some(v)) => {
                self.version = Some(v.to_string());
                if let Some(m) = min.filter(|m| v < *m) {
                    self.problem = Some(format!("version {v} is older than {m}"));
                }
            }
            Ok(None) => self.problem = Some("could not read its version".into()),
            Err(e) => self.problem = Some(crate::error::headline(&e)),
        }
        self
    }
}

/// Docker: the ENGINE's version (the daemon's, which builds the images; the client's only when
/// the daemon does not answer), whether BuildKit (the buildx plugin) is there, and "start
/// Docker" rather than "install Docker" when the client is there but its daemon is down.
fn docker_check(r: &crate::run::Runner) -> ToolCheck {
    let mut d = ToolCheck::new("docker", true, Some(docker::MIN), docker::INSTALL_HINT);
    let mut seen = None;
    d = d.probe(Some(docker::MIN), |_| {
        let v = docker::Docker::local().version(r)?;
        let engine = v.server;
        seen = Some(v);
        Ok(engine)
    });
    let Some(v) = seen else {
        return d;
    };
    let client = v
        .client
        .map(|c| format!("client {c}"))
        .unwrap_or_else(|| "client version unknown".into());
    match &v.daemon_error {
        None => {
            let buildkit = match docker::buildx_version(r) {
                Ok(Some(b)) => format!("BuildKit available (buildx {b})"),
                Ok(None) => "no BuildKit (docker has no buildx plugin: the classic builder builds the images)".into(),
                Err(e) => format!("BuildKit unknown ({})", crate::error::headline(&e)),
            };
            d.note = format!("engine (daemon) reachable; {client}; {buildkit}");
        }
        Some(e) => {
            // The client answered, so Docker is installed: it needs starting, not installing.
            d.version = v.client.map(|c| c.to_string());
            d.note = format!("{client}; daemon NOT reachable");
            d.problem = Some(format!(
                "the Docker daemon does not answer (the client is installed): {e}"
            ));
            d.hint = docker::START_HINT;
        }
    }
    d
}

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub cpus: usize,
    /// 0 when unknown (the gate then checks the CPUs only).
    pub memory_mb: u64,
    /// Whose CPUs and memory these are.
    pub source: Resources,
    pub wanted_cpus: u32,
    pub wanted_memory_mb: u64,
}

/// Where the host-resources figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resources {
    /// With the docker driver: what the daemon gives containers (on Docker Desktop, its VM).
    Docker,
    /// The machine the xtask runs on.
    Host,
}

impl Host {
    /// The CPUs and memory the cluster will get. With the docker driver minikube runs in a
    /// container, so what counts is what Docker gives containers (`docker info`): on Windows and
    /// macOS that is Docker Desktop's VM, often far less than the host. Otherwise, or when Docker
    /// does not say, the host's own (its memory read on Linux only).
    fn observe(r: &crate::run::Runner, driver: &str, docker_up: bool) -> (usize, u64, Resources) {
        if driver == "docker"
            && docker_up
            && let Ok(Some(d)) = docker::Docker::local().resources(r)
        {
            return (d.cpus as usize, d.memory_mb, Resources::Docker);
        }
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        (cpus, host_memory_mb().unwrap_or(0), Resources::Host)
    }

    fn owner(&self) -> &'static str {
        match self.source {
            Resources::Docker => "Docker gives containers",
            Resources::Host => "this host has",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub tools: Vec<ToolCheck>,
    pub host: Host,
}

impl Stage for Doctor {
    type Observed = Observed;
    type Step = String;

    fn name(&self) -> &'static str {
        "doctor"
    }

    fn mutates(&self) -> bool {
        false
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let mut tools = Vec::new();

        tools.push(docker_check(r));

        tools.push(
            ToolCheck::new(
                "minikube",
                true,
                Some(minikube::MIN),
                minikube::INSTALL_HINT,
            )
            .probe(Some(minikube::MIN), |_| minikube::version(r).map(Some)),
        );
        tools.push(
            ToolCheck::new("kubectl", true, Some(kubectl::MIN), kubectl::INSTALL_HINT)
                .probe(Some(kubectl::MIN), |_| kubectl::client_version(r).map(Some)),
        );
        let mut h = ToolCheck::new("helm", true, Some(helm::MIN), helm::INSTALL_HINT)
            .probe(Some(helm::MIN), |p| helm::version(r, p).map(Some));
        if let Some(v) = h.version.as_deref().and_then(Version::find) {
            match helm::Major::of(v) {
                Some(m) => {
                    h.note = match m {
                        helm::Major::V3 => "helm 3 (--atomic, --wait)".into(),
                        helm::Major::V4 => "helm 4 (--rollback-on-failure, --wait=watcher)".into(),
                    }
                }
                None => h.problem = Some(format!("helm {v} is neither 3 nor 4")),
            }
        }
        tools.push(h);

        let mut k = ToolCheck::new("kubectl-ai", false, None, ai::KUBECTL_AI_HINT)
            .probe(None, |_| ai::kubectl_ai_version(r));
        if k.path.is_some() {
            // What `aiops` would use: the provider, its endpoint and whether its key is there.
            let p = crate::project::ai::provider(cx)?;
            k.note = format!("aiops would use provider {}", p.describe());
            if !p.usable() {
                k.problem = Some(format!(
                    "no model key: aiops would use provider {} ({} is in neither the environment nor .env)",
                    p.describe(),
                    p.key_var.unwrap_or("its key")
                ));
            }
        }
        tools.push(k);
        tools.push(
            ToolCheck::new("kagent", false, None, ai::KAGENT_HINT)
                .probe(None, |_| ai::kagent_version(r)),
        );

        let mut g = ToolCheck::new("docker ai", false, None, ai::GORDON_HINT);
        if tools::find("docker").is_some() {
            match ai::gordon(r) {
                Ok(Some(v)) => {
                    g.path = Some("docker plugin".into());
                    g.version = Version::find(&v).map(|v| v.to_string()).or(Some(v));
                }
                Ok(None) => g.problem = Some("not installed (docker has no `ai` command)".into()),
                Err(e) => g.problem = Some(crate::error::headline(&e)),
            }
        } else {
            g.problem = Some("docker not found".into());
        }
        tools.push(g);

        let docker_up = tools
            .iter()
            .any(|t| t.name == "docker" && t.problem.is_none());
        let (cpus, memory_mb, source) = Host::observe(r, &self.config.cluster.driver, docker_up);
        let host = Host {
            cpus,
            memory_mb,
            source,
            wanted_cpus: self.config.cluster.cpus,
            wanted_memory_mb: self.config.cluster.memory_mb,
        };
        report.tables.push((
            vec![
                "tool", "required", "status", "version", "minimum", "path", "note",
            ],
            tools.iter().map(|t| row(cx, t)).collect(),
        ));
        Ok(Observed { tools, host })
    }

    fn gates(&mut self, cx: &Ctx, observed: &Observed, report: &mut Report) -> Result<()> {
        for t in &observed.tools {
            if !t.required {
                if let Some(p) = &t.problem {
                    report.note(cx, format!("optional {}: {p} ({})", t.name, t.hint));
                }
                continue;
            }
            report.gate(cx, &format!("{} usable", t.name), || {
                Ok(match &t.problem {
                    None => GateResult::Pass(format!(
                        "{} {}",
                        t.version.as_deref().unwrap_or("?"),
                        t.note
                    )),
                    Some(p) => GateResult::Fail {
                        detail: format!("{}: {p}", t.name),
                        help: t.hint.to_string(),
                    },
                })
            });
        }
        let h = &observed.host;
        report.gate(cx, "host resources", || {
            let short_cpu = h.cpus < h.wanted_cpus as usize;
            let short_mem = h.memory_mb > 0 && h.memory_mb < h.wanted_memory_mb;
            let memory = if h.memory_mb > 0 {
                format!("{} MB", h.memory_mb)
            } else {
                "memory unknown".into()
            };
            Ok(if short_cpu || short_mem {
                let lower = "lower `cluster.cpus` / `cluster.memory_mb` in deploy/pipeline.toml (or XTASK_CPUS / XTASK_MEMORY_MB)";
                GateResult::Fail {
                    detail: format!(
                        "the cluster asks for {} CPUs and {} MB; {} {} CPUs and {memory}",
                        h.wanted_cpus,
                        h.wanted_memory_mb,
                        h.owner(),
                        h.cpus
                    ),
                    help: if h.source == Resources::Docker {
                        format!("give Docker more (Docker Desktop: Settings > Resources), or {lower}")
                    } else {
                        lower.into()
                    },
                }
            } else {
                GateResult::Pass(format!(
                    "{} {} CPUs, {memory} (cluster asks {} CPUs, {} MB)",
                    h.owner(),
                    h.cpus,
                    h.wanted_cpus,
                    h.wanted_memory_mb
                ))
            })
        });
        Ok(())
    }
}

fn row(cx: &Ctx, t: &ToolCheck) -> Vec<String> {
    let status = match (&t.problem, t.required) {
        (None, _) => cx.ui.paint_out("ok", Tone::Good),
        (Some(_), true) => cx.ui.paint_out("MISSING", Tone::Bad),
        (Some(_), false) => cx.ui.paint_out("absent", Tone::Warn),
    };
    let status = match (&t.problem, t.path.is_some()) {
        (Some(_), true) if t.required => cx.ui.paint_out("PROBLEM", Tone::Bad),
        (Some(_), true) => cx.ui.paint_out("unusable", Tone::Warn),
        _ => status,
    };
    vec![
        t.name.clone(),
        if t.required { "yes" } else { "optional" }.into(),
        status,
        t.version.clone().unwrap_or_else(|| "-".into()),
        t.minimum.clone().unwrap_or_else(|| "-".into()),
        t.path.clone().unwrap_or_else(|| "-".into()),
        t.problem.clone().unwrap_or_else(|| t.note.clone()),
    ]
}

/// Total memory from `/proc/meminfo` (Linux), in MB.
fn host_memory_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024)
}
