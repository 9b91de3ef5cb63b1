//! Stage 5, `aiops`: the optional AI operations tools. Detects kubectl-ai (and a model key),
//! the kagent CLI (and whether kagent runs in the cluster) and Docker's assistant (`docker ai`,
//! Gordon); asks each available one a fixed set of read-only questions with a timeout and
//! stores every answer as a transcript (prompt, tool version, time) under `docs/aiops/` or
//! `--out`. A missing tool is reported, not fatal, unless `--strict`.
//!
//! `--install-kagent` runs `kagent install` (its exit code is not trusted: the output is read)
//! and applies `deploy/k8s/kagent/` — a ModelConfig, a RemoteMCPServer pointing at the
//! backend's `/mcp` and an Agent using its five task tools.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::failure;
use crate::flags;
use crate::tools::{self, ai, workloads};
use crate::ui::fmt_duration;

/// How long one question may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(180);

/// The namespace `kagent install` uses.
pub const KAGENT_NAMESPACE: &str = "kagent";

/// The kagent agent `--install-kagent` creates, and kagent's own Kubernetes agent.
pub const TODO_AGENT: &str = "todo-agent";
pub const K8S_AGENT: &str = "k8s-agent";

pub fn run(cx: &Ctx, f: &flags::Aiops) -> Result<i32> {
    execute(cx, &mut Aiops::new(cx.config()?, f))
}

/// The fixed, read-only questions for the cluster tools (`{ns}` is the app's namespace).
pub const CLUSTER_PROMPTS: [(&str, &str); 3] = [
    (
        "health",
        "Summarise the health of namespace {ns}: for each pod its readiness, restarts and recent warning events. Read only: do not change anything.",
    ),
    (
        "restarts",
        "If a pod in namespace {ns} restarted or is not ready, explain the most likely reason from its status, events and previous logs; if none did, say which signals you checked. Read only: do not change anything.",
    ),
    (
        "resources",
        "Compare the CPU and memory requests and limits of the deployments in namespace {ns} with what their pods use now (kubectl top when available) and suggest values. Read only: do not change anything.",
    ),
];

pub const GORDON_PROMPT: &str = "Review this Dockerfile (on stdin) for security, image size and build caching. List concrete problems with the line they are on and a fix. Answer in Markdown.";

pub const TODO_AGENT_PROMPT: &str =
    "List the pending tasks of user demo. Read only: do not add, change or delete anything.";

pub struct Aiops {
    config: Config,
    strict: bool,
    install_kagent: bool,
    out: PathBuf,
    /// (tool, transcript path) for each answer stored by `act`.
    written: Vec<(String, String)>,
    /// (tool, what went wrong) for each question that got no answer.
    failed: Vec<(String, String)>,
    /// kubectl-ai's provider flags, from observe.
    provider: Vec<String>,
}

impl Aiops {
    pub fn new(config: Config, f: &flags::Aiops) -> Aiops {
        Aiops {
            config,
            strict: f.strict,
            install_kagent: f.install_kagent,
            out: f.out.clone(),
            written: Vec::new(),
            failed: Vec::new(),
            provider: Vec::new(),
        }
    }

    fn ns(&self) -> &str {
        &self.config.deploy.namespace
    }

    fn context(&self) -> &str {
        &self.config.cluster.profile
    }
}

/// One optional tool as observed.
#[derive(Debug, Clone, Serialize)]
pub struct AiTool {
    pub name: String,
    pub installed: bool,
    pub version: Option<String>,
    /// Installed and able to answer (a model key, the controller in the cluster, ...).
    pub usable: bool,
    /// What is missing, when not usable.
    pub why: Option<String>,
    pub hint: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub tools: Vec<AiTool>,
    /// `--llm-provider`/`--model` for kubectl-ai when only an OpenAI key is configured.
    pub kubectl_ai_provider: Vec<String>,
    /// The kagent controller's version when it runs in the cluster.
    pub kagent_backend: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Step {
    InstallKagent,
    ApplyKagentAgent,
    Ask {
        tool: String,
        topic: String,
        prompt: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::InstallKagent => write!(f, "install kagent (`kagent install --profile demo`)"),
            Step::ApplyKagentAgent => write!(
                f,
                "apply the kagent ModelConfig, RemoteMCPServer and Agent from deploy/k8s/kagent/"
            ),
            Step::Ask { tool, topic, .. } => write!(f, "ask {tool}: {topic}"),
        }
    }
}

/// The model-key variables kubectl-ai reads, and the `.env` ones that can serve it.
fn key_env(cx: &Ctx) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for k in ["GEMINI_API_KEY", "OPENAI_API_KEY"] {
        if let Ok(v) = std::env::var(k)
            && !v.trim().is_empty()
        {
            env.push((k.to_string(), v));
        }
    }
    for (k, v) in cx.secrets()? {
        if k == "OPENAI_API_KEY" && !v.trim().is_empty() && !env.iter().any(|(e, _)| e == &k) {
            env.push((k, v));
        }
    }
    Ok(env)
}

fn kubectl_ai_config_exists() -> bool {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .is_some_and(|h| h.join(".config/kubectl-ai/config.yaml").is_file())
}

impl Stage for Aiops {
    type Observed = Observed;
    type Step = Step;

    fn name(&self) -> &'static str {
        "aiops"
    }

    fn preflight(&mut self, _cx: &Ctx, _report: &mut Report) -> Result<()> {
        if self.install_kagent && tools::find("kagent").is_none() {
            return Err(failure(
                "--install-kagent needs the kagent CLI, which was not found on PATH",
                ai::KAGENT_HINT,
            ));
        }
        Ok(())
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let keys = key_env(cx)?;
        let mut tools_seen = Vec::new();

        let mut kai = AiTool {
            name: "kubectl-ai".into(),
            installed: tools::find("kubectl-ai").is_some(),
            version: None,
            usable: false,
            why: None,
            hint: ai::KUBECTL_AI_HINT,
        };
        let mut provider = Vec::new();
        if kai.installed {
            kai.version = ai::kubectl_ai_version(r)?.map(|v| v.to_string());
            let gemini = keys.iter().any(|(k, _)| k == "GEMINI_API_KEY");
            let openai = keys.iter().any(|(k, _)| k == "OPENAI_API_KEY");
            if !gemini && openai {
                provider = vec![
                    "--llm-provider=openai".to_string(),
                    format!(
                        "--model={}",
                        std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".into())
                    ),
                ];
            }
            kai.usable = gemini || openai || kubectl_ai_config_exists();
            if !kai.usable {
                kai.why = Some(
                    "no model key: set GEMINI_API_KEY, or OPENAI_API_KEY (environment or .env)"
                        .into(),
                );
            }
        }
        tools_seen.push(kai);

        let mut kagent = AiTool {
            name: "kagent".into(),
            installed: tools::find("kagent").is_some(),
            version: None,
            usable: false,
            why: None,
            hint: ai::KAGENT_HINT,
        };
        let mut backend = None;
        if kagent.installed {
            let (v, b) = ai::kagent_versions(r)?;
            kagent.version = v.map(|v| v.to_string());
            backend = b;
            kagent.usable = backend.is_some();
            if !kagent.usable {
                kagent.why = Some(
                    "kagent does not run in the cluster: `cargo xtask aiops --install-kagent`"
                        .into(),
                );
            }
        }
        tools_seen.push(kagent);

        let mut gordon = AiTool {
            name: "docker ai".into(),
            installed: false,
            version: None,
            usable: false,
            why: None,
            hint: ai::GORDON_HINT,
        };
        if tools::find("docker").is_some()
            && let Some(v) = ai::gordon(r)?
        {
            gordon.installed = true;
            gordon.usable = true;
            gordon.version = Some(v).filter(|v| !v.is_empty());
        }
        tools_seen.push(gordon);

        let rows = tools_seen
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    if t.usable {
                        "usable".into()
                    } else if t.installed {
                        "installed, not usable".into()
                    } else {
                        "not installed".into()
                    },
                    t.version.clone().unwrap_or_else(|| "-".into()),
                    t.why.clone().unwrap_or_else(|| {
                        if t.installed {
                            String::new()
                        } else {
                            t.hint.to_string()
                        }
                    }),
                ]
            })
            .collect();
        report
            .tables
            .push((vec!["AI tool", "state", "version", "note"], rows));
        Ok(Observed {
            tools: tools_seen,
            kubectl_ai_provider: provider,
            kagent_backend: backend,
        })
    }

    fn plan(&mut self, _cx: &Ctx, o: &Observed) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        let ns = self.ns().to_string();
        self.provider = o.kubectl_ai_provider.clone();
        if self.install_kagent {
            if o.kagent_backend.is_none() {
                steps.push(Step::InstallKagent);
            }
            steps.push(Step::ApplyKagentAgent);
        }
        let usable = |n: &str| o.tools.iter().any(|t| t.name == n && t.usable);
        if usable("kubectl-ai") {
            for (topic, prompt) in CLUSTER_PROMPTS {
                steps.push(Step::Ask {
                    tool: "kubectl-ai".into(),
                    topic: topic.into(),
                    prompt: prompt.replace("{ns}", &ns),
                });
            }
        }
        if usable("kagent") || self.install_kagent {
            steps.push(Step::Ask {
                tool: "kagent".into(),
                topic: "health".into(),
                prompt: CLUSTER_PROMPTS[0].1.replace("{ns}", &ns),
            });
            steps.push(Step::Ask {
                tool: "kagent".into(),
                topic: "todo-agent".into(),
                prompt: TODO_AGENT_PROMPT.into(),
            });
        }
        if usable("docker ai") {
            steps.push(Step::Ask {
                tool: "docker ai".into(),
                topic: "dockerfile-review".into(),
                prompt: GORDON_PROMPT.into(),
            });
        }
        Ok(steps)
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        match step {
            Step::InstallKagent => {
                let env: Vec<(String, String)> = key_env(cx)?
                    .into_iter()
                    .filter(|(k, _)| k == "OPENAI_API_KEY")
                    .collect();
                ai::kagent_install(&cx.runner, "demo", &env)
            }
            Step::ApplyKagentAgent => {
                let text = self.kagent_manifests(cx)?;
                let out = workloads::apply_manifest(
                    &cx.runner,
                    Some(self.context()),
                    &text,
                    "deploy/k8s/kagent/",
                )?;
                for l in out.lines() {
                    cx.ui.detail(l);
                }
                Ok(())
            }
            Step::Ask {
                tool,
                topic,
                prompt,
            } => {
                match self.ask(cx, tool, topic, prompt) {
                    Ok(path) => self.written.push((tool.clone(), path)),
                    Err(e) => {
                        let text = crate::error::render(&e);
                        cx.ui
                            .warn(&format!("{tool} ({topic}) gave no answer: {text}"));
                        self.failed.push((tool.clone(), format!("{topic}: {text}")));
                    }
                }
                Ok(())
            }
        }
    }

    fn gates(&mut self, cx: &Ctx, o: &Observed, report: &mut Report) -> Result<()> {
        for t in &o.tools {
            let answered = self.written.iter().filter(|(n, _)| n == &t.name).count();
            let failures: Vec<&String> = self
                .failed
                .iter()
                .filter(|(n, _)| n == &t.name)
                .map(|(_, e)| e)
                .collect();
            let label = format!("{} answered", t.name);
            if answered > 0 || !failures.is_empty() {
                let files: Vec<&str> = self
                    .written
                    .iter()
                    .filter(|(n, _)| n == &t.name)
                    .map(|(_, p)| p.as_str())
                    .collect();
                if failures.is_empty() || !self.strict {
                    for f in &failures {
                        report.note(cx, format!("{}: no answer to {f}", t.name));
                    }
                    if answered > 0 {
                        report.gate(cx, &label, || {
                            Ok(GateResult::Pass(format!(
                                "{answered} transcript(s): {}",
                                files.join(", ")
                            )))
                        });
                    }
                } else {
                    report.gate(cx, &label, || {
                        Ok(GateResult::Fail {
                            detail: format!("{} question(s) got no answer", failures.len()),
                            help: format!("{} (see the warnings above)", t.hint),
                        })
                    });
                }
            } else if self.strict {
                report.gate(cx, &label, || {
                    Ok(GateResult::Fail {
                        detail: t.why.clone().unwrap_or_else(|| "not installed".into()),
                        help: t.hint.into(),
                    })
                });
            } else {
                let why = t.why.clone().unwrap_or_else(|| {
                    if t.installed {
                        "not usable".into()
                    } else {
                        format!("not installed ({})", t.hint)
                    }
                });
                report.note(cx, format!("{}: {why}", t.name));
            }
        }
        if self.install_kagent {
            report.gate(cx, "kagent Agent applied", || {
                let out = cx.runner.run_unchecked(
                    &crate::run::Call::new("kubectl")
                        .args(["--context", self.context()])
                        .args([
                            "get",
                            "agents.kagent.dev",
                            TODO_AGENT,
                            "--namespace",
                            KAGENT_NAMESPACE,
                            "-o",
                            "name",
                        ])
                        .timeout(Duration::from_secs(30)),
                )?;
                Ok(if out.code == 0 && out.stdout.contains(TODO_AGENT) {
                    GateResult::Pass(out.stdout.trim().to_string())
                } else {
                    GateResult::Fail {
                        detail: format!("agent {TODO_AGENT} not found: {}", out.stderr.trim()),
                        help:
                            "run `cargo xtask aiops --install-kagent -v` and read kagent's output"
                                .into(),
                    }
                })
            });
        }
        Ok(())
    }
}

impl Aiops {
    /// The kagent manifests with their placeholders filled.
    fn kagent_manifests(&self, cx: &Ctx) -> Result<String> {
        let path = cx
            .root
            .join(&self.config.deploy.manifests)
            .join("kagent/todo-agent.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let services = workloads::service_ports(&cx.runner, Some(self.context()), self.ns())?;
        let (service, port) =
            super::verify::find_service(&services, "backend").ok_or_else(|| {
                failure(
                    format!("no backend Service in namespace `{}`", self.ns()),
                    "deploy the app first: `cargo xtask deploy --helm`",
                )
            })?;
        Ok(text
            .replace("${KAGENT_NAMESPACE}", KAGENT_NAMESPACE)
            .replace("${NAMESPACE}", self.ns())
            .replace("${BACKEND_SERVICE}", &service)
            .replace("${BACKEND_PORT}", &port.to_string()))
    }

    /// Asks one question and stores the transcript; returns its path (relative to the root).
    fn ask(&self, cx: &Ctx, tool: &str, topic: &str, prompt: &str) -> Result<String> {
        let r = &cx.runner;
        let started = Instant::now();
        let (version, command, out) = match tool {
            "kubectl-ai" => {
                let o = self.provider.clone();
                let env = key_env(cx)?;
                let out = ai::kubectl_ai_ask(r, &o, &env, prompt, ASK_TIMEOUT)?;
                (
                    ai::kubectl_ai_version(r)?.map(|v| v.to_string()),
                    format!("kubectl-ai --quiet {} '<prompt>'", o.join(" ")),
                    out,
                )
            }
            "kagent" => {
                let agent = if topic == "todo-agent" {
                    TODO_AGENT
                } else {
                    K8S_AGENT
                };
                let out = ai::kagent_invoke(r, KAGENT_NAMESPACE, agent, prompt, ASK_TIMEOUT)?;
                (
                    ai::kagent_versions(r)?.0.map(|v| v.to_string()),
                    format!(
                        "kagent invoke --namespace {KAGENT_NAMESPACE} --agent {agent} --task '<prompt>'"
                    ),
                    out,
                )
            }
            _ => {
                let dockerfile_path = cx.root.join(&self.config.build.dockerfile);
                let dockerfile = std::fs::read_to_string(&dockerfile_path)
                    .with_context(|| format!("reading {}", dockerfile_path.display()))?;
                let answer = ai::gordon_review(r, prompt, &dockerfile, ASK_TIMEOUT)?;
                (
                    ai::gordon(r)?,
                    format!(
                        "docker ai '<prompt>' < {}",
                        self.config.build.dockerfile.display()
                    ),
                    crate::run::Output {
                        code: 0,
                        stdout: answer,
                        ..Default::default()
                    },
                )
            }
        };
        if out.code != 0 || out.stdout.trim().is_empty() {
            return Err(failure(
                format!(
                    "`{command}` exited with {} and {}",
                    out.code,
                    crate::run::last_lines(&r.redact(&out.stderr), 4)
                ),
                "run the command by hand to see why",
            ));
        }
        let took = started.elapsed();
        let slug = tool.replace(' ', "-");
        let file = format!("{}-{slug}-{topic}.md", crate::ui::utc_date());
        let dir = if self.out.is_absolute() {
            self.out.clone()
        } else {
            cx.root.join(&self.out)
        };
        let text = transcript(
            tool,
            version.as_deref(),
            &command,
            prompt,
            &r.redact(&out.stdout),
            took,
        );
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(&file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(rel(&cx.root, &path))
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// A transcript: what was asked, of which tool and version, when, and the answer verbatim.
pub fn transcript(
    tool: &str,
    version: Option<&str>,
    command: &str,
    prompt: &str,
    answer: &str,
    took: Duration,
) -> String {
    format!(
        "# {tool} transcript\n\n\
         - Tool: {tool} {}\n\
         - Time: {} (UTC), answered in {}\n\
         - Command: `{command}`\n\n\
         Written by `cargo xtask aiops` from the tool's own output, unedited.\n\n\
         ## Prompt\n\n> {}\n\n## Answer\n\n````text\n{}\n````\n",
        version.unwrap_or("(version unknown)"),
        super::docs::utc_now(),
        fmt_duration(took),
        prompt.replace('\n', "\n> "),
        answer.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_carry_tool_version_time_and_prompt() {
        let t = transcript(
            "kubectl-ai",
            Some("0.0.12"),
            "kubectl-ai --quiet '<prompt>'",
            "Is it healthy?",
            "Yes.\n",
            Duration::from_millis(1500),
        );
        assert!(t.contains("Tool: kubectl-ai 0.0.12"));
        assert!(t.contains("> Is it healthy?"));
        assert!(t.contains("Time: 20"));
        assert!(t.contains("````text\nYes.\n````"));
    }

    #[test]
    fn prompts_are_read_only() {
        for (_, p) in CLUSTER_PROMPTS {
            assert!(p.contains("do not change anything"), "{p}");
            assert!(p.contains("{ns}"), "{p}");
        }
    }
}
