//! Stage 6, `aiops`: the optional AI operations tools, asked read-only questions in a way
//! whose results can be trusted.
//!
//! - **Read-only by construction.** kubectl-ai runs with `--kubeconfig` pointing at a private
//!   (0600) file that holds only a short-lived token of the ServiceAccount `todo-aiops-reader`,
//!   bound to the built-in `view` ClusterRole in the app's namespace ([`access`]). A write it
//!   attempts is refused by the API server and recorded as "blocked by policy". `--admin`
//!   opts out (the user's own context) and the report says so.
//! - **Truthful outcomes.** Every question ends as answered, blocked (why), failed (why) or
//!   skipped (why), read from what the tool printed, never from its exit code alone: kubectl-ai
//!   exits 0 when it stops for an approval, `kagent invoke` exits 0 after an error. Every AI
//!   call runs under the xtask's own timeout (`--timeout`).
//! - **Traces kept.** kubectl-ai writes its trace (`--trace-path`) into the report folder; it
//!   is redacted (known secrets, credential headers) and linked from the transcript.
//! - **kagent wiring checked.** `--install-kagent` checks the served API versions, applies the
//!   manifests (with `headersFrom` when the backend requires a token), then waits, bounded,
//!   until the RemoteMCPServer lists the five task tools and the Agent is Ready.

pub mod access;
pub mod kagent;
pub mod transcript;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::{WithHelp, failure};
use crate::flags;
use crate::project::ai::provider;
use crate::project::objects::HASH_ANNOTATION;
use crate::tools::ai::kubectl_ai::{self, Provider};
use crate::tools::ai::{self, Outcome, kagent as kg};
use crate::tools::{self, helm};
use transcript::Transcript;

pub use kagent::{K8S_AGENT, TODO_AGENT};

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

const KUBECTL_AI: &str = "kubectl-ai";
const KAGENT: &str = "kagent";
const GORDON: &str = "docker ai";

/// The questions each tool gets: (tool, topic, prompt).
fn questions(ns: &str) -> Vec<(&'static str, &'static str, String)> {
    let mut q: Vec<(&'static str, &'static str, String)> = CLUSTER_PROMPTS
        .iter()
        .map(|(t, p)| (KUBECTL_AI, *t, p.replace("{ns}", ns)))
        .collect();
    q.push((KAGENT, "health", CLUSTER_PROMPTS[0].1.replace("{ns}", ns)));
    q.push((KAGENT, "todo-agent", TODO_AGENT_PROMPT.into()));
    q.push((GORDON, "dockerfile-review", GORDON_PROMPT.into()));
    q
}

pub struct Aiops {
    config: Config,
    strict: bool,
    install_kagent: bool,
    admin: bool,
    timeout: Duration,
    out: PathBuf,
    provider: Option<Provider>,
    /// The read-only kubeconfig, made on the first kubectl-ai question.
    kubeconfig: Option<access::PrivateKubeconfig>,
    /// Why the read-only kubeconfig could not be made (every kubectl-ai question then fails).
    access_error: Option<String>,
    /// What became of each question.
    results: Vec<Asked>,
    wiring: Option<kagent::Wiring>,
    api_check: Option<String>,
}

/// One question's result.
#[derive(Debug, Clone, Serialize)]
pub struct Asked {
    pub tool: String,
    pub topic: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The transcript, relative to the project root.
    pub transcript: Option<String>,
}

impl Aiops {
    pub fn new(config: Config, f: &flags::Aiops) -> Aiops {
        Aiops {
            config,
            strict: f.strict,
            install_kagent: f.install_kagent,
            admin: f.admin,
            timeout: Duration::from_secs(f.timeout.max(1)),
            out: f.out.clone(),
            provider: None,
            kubeconfig: None,
            access_error: None,
            results: Vec::new(),
            wiring: None,
            api_check: None,
        }
    }

    fn ns(&self) -> &str {
        &self.config.deploy.namespace
    }

    fn context(&self) -> &str {
        self.config.context()
    }

    fn out_dir(&self, cx: &Ctx) -> PathBuf {
        if self.out.is_absolute() {
            self.out.clone()
        } else {
            cx.root.join(&self.out)
        }
    }

    fn identity(&self) -> String {
        if self.admin {
            format!(
                "--admin: your own kube context `{}` (nothing but the tool's own approval prompt stops a write)",
                self.context()
            )
        } else {
            format!(
                "read-only: ServiceAccount {}/{} bound to ClusterRole `{}`, token valid {} min",
                self.ns(),
                access::READER,
                access::VIEW_ROLE,
                access::TOKEN_TTL.as_secs() / 60
            )
        }
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
    /// The model provider kubectl-ai uses and whether its key is present.
    pub kubectl_ai_provider: Provider,
    /// Who kubectl-ai acts as.
    pub identity: String,
    pub admin: bool,
    /// The kagent controller's version when it runs in the cluster.
    pub kagent_backend: Option<String>,
    /// The read-only ServiceAccount and RoleBinding exist as this xtask would make them.
    pub reader_current: bool,
    /// Why the cluster questions cannot be asked (no cluster, no namespace), if so.
    pub cluster_problem: Option<String>,
    /// With `--install-kagent` and the app deployed by Helm: whether the release's values
    /// already let kagent's namespace through the backend's NetworkPolicy.
    pub kagent_allowed_in: Option<bool>,
}

#[derive(Debug, Clone)]
pub enum Step {
    /// Apply the read-only ServiceAccount and its RoleBinding to `view`.
    EnsureReader,
    InstallKagent,
    CheckKagentApi,
    ApplyKagentAgent,
    /// Let kagent's namespace through the backend's NetworkPolicy (Helm release values).
    AllowKagentIn,
    WaitKagentWiring,
    Ask {
        tool: &'static str,
        topic: &'static str,
        prompt: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::EnsureReader => write!(
                f,
                "apply ServiceAccount {} and its RoleBinding to ClusterRole `{}` (read-only identity for kubectl-ai)",
                access::READER,
                access::VIEW_ROLE
            ),
            Step::InstallKagent => write!(f, "install kagent (`kagent install --profile demo`)"),
            Step::CheckKagentApi => write!(
                f,
                "check that the cluster serves {} (`kubectl api-resources`)",
                kg::API_VERSION
            ),
            Step::ApplyKagentAgent => write!(
                f,
                "apply the kagent ModelConfig, RemoteMCPServer and Agent from deploy/k8s/kagent/"
            ),
            Step::AllowKagentIn => write!(
                f,
                "set {} of the Helm release to let namespace {} reach the backend",
                kagent::PEER_KEY,
                kagent::NAMESPACE
            ),
            Step::WaitKagentWiring => write!(
                f,
                "wait until kagent lists the five task tools and the Agent is Ready"
            ),
            Step::Ask { tool, topic, .. } => write!(f, "ask {tool}: {topic}"),
        }
    }
}

/// A setting from the environment, else from `.env`.
fn setting(cx: &Ctx, key: &str) -> Result<Option<String>> {
    if let Ok(v) = std::env::var(key)
        && !v.trim().is_empty()
    {
        return Ok(Some(v));
    }
    Ok(cx.secrets()?.remove(key).filter(|v| !v.trim().is_empty()))
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
        let provider = provider(cx)?;
        let mut tools_seen = Vec::new();

        let mut kai = AiTool {
            name: KUBECTL_AI.into(),
            installed: tools::find("kubectl-ai").is_some(),
            version: None,
            usable: false,
            why: None,
            hint: ai::KUBECTL_AI_HINT,
        };
        let mut cluster_problem = None;
        let mut reader_current = false;
        if kai.installed {
            kai.version = ai::kubectl_ai_version(r)?.map(|v| v.to_string());
            kai.usable = provider.usable();
            if !kai.usable {
                kai.why = Some(format!(
                    "no model key: provider {} (set GEMINI_API_KEY, OPENAI_API_KEY, or OPENAI_BASE_URL and OPENAI_API_KEY, in the environment or .env)",
                    provider.describe()
                ));
            } else if !self.admin
                && let Err(e) = crate::project::cluster::require_context(cx, &self.config)
            {
                // The same words as every other command without a cluster.
                cluster_problem = Some(
                    crate::error::render(&e)
                        .trim_start_matches("error: ")
                        .replace("\nhelp: ", ": "),
                );
            } else if !self.admin {
                let kube = cx.kube(&self.config);
                match kube.namespace_object() {
                    Ok(Some(_)) => {
                        let (_, hash) = access::manifests(self.ns());
                        let found = kube.objects(
                            "serviceaccounts,rolebindings",
                            "app.kubernetes.io/component=aiops",
                            &crate::project::objects::COLUMNS,
                        )?;
                        reader_current = ["serviceaccount", "rolebinding"].iter().all(|k| {
                            found.iter().any(|o| {
                                o.kind.eq_ignore_ascii_case(k)
                                    && o.name == access::READER
                                    && o.annotations.get(HASH_ANNOTATION) == Some(&hash)
                            })
                        });
                    }
                    Ok(None) => {
                        cluster_problem = Some(format!(
                            "namespace `{}` does not exist: deploy the app first (`cargo xtask deploy --helm`)",
                            self.ns()
                        ));
                    }
                    Err(e) => {
                        cluster_problem = Some(format!(
                            "the cluster does not answer ({}): `cargo xtask setup`, or --admin to skip the read-only identity",
                            crate::error::headline(&e)
                        ));
                    }
                }
            }
        }
        tools_seen.push(kai);

        let mut kagent_tool = AiTool {
            name: KAGENT.into(),
            installed: tools::find("kagent").is_some(),
            version: None,
            usable: false,
            why: None,
            hint: ai::KAGENT_HINT,
        };
        let mut backend = None;
        if kagent_tool.installed {
            let (v, b) = ai::kagent_versions(r)?;
            kagent_tool.version = v.map(|v| v.to_string());
            backend = b;
            kagent_tool.usable = backend.is_some();
            if !kagent_tool.usable {
                kagent_tool.why = Some(
                    "kagent does not run in the cluster: `cargo xtask aiops --install-kagent`"
                        .into(),
                );
            }
        }
        tools_seen.push(kagent_tool);

        let mut gordon = AiTool {
            name: GORDON.into(),
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
        let kagent_allowed_in = if self.install_kagent {
            self.kagent_allowed_in(cx)?
        } else {
            None
        };
        self.provider = Some(provider.clone());
        Ok(Observed {
            kagent_allowed_in,
            tools: tools_seen,
            kubectl_ai_provider: provider,
            identity: self.identity(),
            admin: self.admin,
            kagent_backend: backend,
            reader_current,
            cluster_problem,
        })
    }

    fn plan(&mut self, _cx: &Ctx, o: &Observed) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        let tool = |n: &str| o.tools.iter().find(|t| t.name == n);
        let usable = |n: &str| tool(n).is_some_and(|t| t.usable);
        let kagent_ready = usable(KAGENT) || self.install_kagent;
        if self.install_kagent {
            if o.kagent_backend.is_none() {
                steps.push(Step::InstallKagent);
            }
            steps.push(Step::CheckKagentApi);
            steps.push(Step::ApplyKagentAgent);
            if o.kagent_allowed_in == Some(false) {
                steps.push(Step::AllowKagentIn);
            }
            steps.push(Step::WaitKagentWiring);
        }
        let kai_ok = usable(KUBECTL_AI) && o.cluster_problem.is_none();
        if kai_ok && !self.admin && !o.reader_current {
            steps.push(Step::EnsureReader);
        }
        self.results.clear();
        for (t, topic, prompt) in questions(self.ns()) {
            let ask = match t {
                KUBECTL_AI => kai_ok,
                KAGENT => kagent_ready,
                _ => usable(t),
            };
            if ask {
                steps.push(Step::Ask {
                    tool: t,
                    topic,
                    prompt,
                });
                continue;
            }
            let why = match (t, &o.cluster_problem) {
                (KUBECTL_AI, Some(p)) if usable(KUBECTL_AI) => p.clone(),
                _ => tool(t)
                    // The tools table above has the hint for a missing tool.
                    .map(|x| {
                        x.why.clone().unwrap_or_else(|| {
                            if x.installed {
                                "not usable"
                            } else {
                                "not installed"
                            }
                            .into()
                        })
                    })
                    .unwrap_or_else(|| "not installed".into()),
            };
            self.results.push(Asked {
                tool: t.into(),
                topic: topic.into(),
                outcome: Outcome::Skipped(why),
                transcript: None,
            });
        }
        Ok(steps)
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        let r = &cx.runner;
        match step {
            Step::EnsureReader => {
                let (text, _) = access::manifests(self.ns());
                let out = cx
                    .kube(&self.config)
                    .apply(&text, "the read-only ServiceAccount and RoleBinding")?;
                for l in out.lines() {
                    cx.ui.detail(l);
                }
                Ok(())
            }
            Step::InstallKagent => {
                let env: Vec<(String, String)> = setting(cx, "OPENAI_API_KEY")?
                    .map(|v| vec![("OPENAI_API_KEY".to_string(), v)])
                    .unwrap_or_default();
                ai::kagent_install(r, "demo", &env).help(
                    "put the key in .env, then run `cargo xtask aiops --install-kagent` again",
                )
            }
            Step::CheckKagentApi => {
                self.api_check = Some(kagent::check_api(&cx.kube(&self.config))?);
                Ok(())
            }
            Step::ApplyKagentAgent => {
                let text = self.kagent_manifests(cx)?;
                kagent::check_tools(&text)?;
                let out = cx.kube(&self.config).apply(&text, "deploy/k8s/kagent/")?;
                for l in out.lines() {
                    cx.ui.detail(l);
                }
                Ok(())
            }
            Step::AllowKagentIn => self.allow_kagent_in(cx),
            Step::WaitKagentWiring => {
                let kube = cx.kube(&self.config);
                self.wiring = Some(kagent::wait_for_wiring(
                    &kube.in_namespace(kagent::NAMESPACE),
                    self.timeout,
                )?);
                Ok(())
            }
            Step::Ask {
                tool,
                topic,
                prompt,
            } => {
                let asked = self.ask(cx, tool, topic, prompt)?;
                if let Outcome::Failed(why) | Outcome::Blocked(why) = &asked.outcome {
                    cx.ui.warn(&format!(
                        "{tool} ({topic}): {} ({why})",
                        asked.outcome.label()
                    ));
                }
                self.results.push(asked);
                Ok(())
            }
        }
    }

    fn gates(&mut self, cx: &Ctx, o: &Observed, report: &mut Report) -> Result<()> {
        // The kubeconfig (and its token) is not needed any more.
        self.kubeconfig = None;
        let all = questions(self.ns());
        self.results.sort_by_key(|a| {
            all.iter()
                .position(|(t, topic, _)| *t == a.tool && *topic == a.topic)
        });
        if o.tools.iter().any(|t| t.name == KUBECTL_AI && t.installed) {
            report.note(cx, format!("kubectl-ai identity: {}", o.identity));
            report.note(
                cx,
                format!("kubectl-ai provider: {}", o.kubectl_ai_provider.describe()),
            );
            // In the printed report too: who kubectl-ai acted as is the first thing to know
            // about its answers (and `--admin` must not go unnoticed).
            report.tables.push((
                vec!["kubectl-ai acts as", "model provider"],
                vec![vec![o.identity.clone(), o.kubectl_ai_provider.describe()]],
            ));
        }
        let rows = self
            .results
            .iter()
            .map(|a| {
                vec![
                    a.tool.clone(),
                    a.topic.clone(),
                    a.outcome.label().to_string(),
                    a.outcome.why().unwrap_or("").to_string(),
                    a.transcript.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        report.tables.push((
            vec!["AI tool", "question", "outcome", "why", "transcript"],
            rows,
        ));
        report.observed["results"] = serde_json::to_value(&self.results)?;

        for t in &o.tools {
            let mine: Vec<&Asked> = self.results.iter().filter(|a| a.tool == t.name).collect();
            let count = |label: &str| mine.iter().filter(|a| a.outcome.label() == label).count();
            let (answered, blocked, failed) =
                (count("answered"), count("blocked"), count("failed"));
            let summary = format!("{answered} answered, {blocked} blocked, {failed} failed");
            let label = format!("{} answered", t.name);
            let failures: Vec<String> = mine
                .iter()
                .filter(|a| a.outcome.is_failed() || matches!(a.outcome, Outcome::Skipped(_)))
                .map(|a| format!("{}: {}", a.topic, a.outcome))
                .collect();
            if self.strict && (failed > 0 || answered + blocked == 0) {
                report.gate(cx, &label, || {
                    Ok(GateResult::Fail {
                        detail: format!("{summary}; {}", failures.join("; ")),
                        help: t.hint.into(),
                    })
                });
            } else if answered > 0 {
                report.gate(cx, &label, || Ok(GateResult::Pass(summary.clone())));
            } else if answered + blocked + failed > 0 {
                report.note(cx, format!("{}: {summary}", t.name));
            } else if let Some(first) = mine.first() {
                report.note(cx, format!("{}: {}", t.name, first.outcome));
            }
        }
        if self.install_kagent {
            let w = self.wiring.clone().unwrap_or_default();
            let api = self.api_check.clone().unwrap_or_default();
            report.gate(cx, "kagent wiring", || {
                Ok(if w.complete() {
                    GateResult::Pass(format!(
                        "{api}; RemoteMCPServer {}/{} lists {}; Agent {} Ready",
                        kagent::NAMESPACE,
                        kagent::MCP_SERVER,
                        w.discovered.join(", "),
                        TODO_AGENT
                    ))
                } else {
                    GateResult::Fail {
                        detail: "the wiring was not checked".into(),
                        help: "run `cargo xtask aiops --install-kagent -v`".into(),
                    }
                })
            });
        }
        Ok(())
    }
}

impl Aiops {
    /// The kagent manifests with their placeholders filled (and the bearer token's Secret first
    /// when the backend requires one).
    fn kagent_manifests(&self, cx: &Ctx) -> Result<String> {
        let path = cx
            .root
            .join(&self.config.deploy.manifests)
            .join("kagent/todo-agent.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let services = cx.kube(&self.config).service_ports()?;
        let (service, port) = crate::project::objects::find_service(&services, "backend")
            .ok_or_else(|| {
                failure(
                    format!("no backend Service in namespace `{}`", self.ns()),
                    "deploy the app first: `cargo xtask deploy --helm`",
                )
            })?;
        let auth_secret = setting(cx, "AUTH_SECRET")?;
        let mut docs = String::new();
        if let Some(secret) = &auth_secret {
            let token = kagent::mcp_token(secret, kagent::AGENT_USER, kagent::AGENT_TOKEN_TTL_SECS);
            cx.runner.add_secret(&token);
            docs.push_str(&kagent::auth_secret_doc(&token));
            docs.push_str("---\n");
        }
        docs.push_str(&kagent::render(
            &text,
            self.ns(),
            &service,
            port,
            auth_secret.is_some(),
        ));
        Ok(docs)
    }

    /// `Some(allowed)` when the app runs from its Helm release (helm on PATH), else `None`.
    fn kagent_allowed_in(&self, cx: &Ctx) -> Result<Option<bool>> {
        if tools::find("helm").is_none() {
            return Ok(None);
        }
        let r = &cx.runner;
        let release = &self.config.deploy.release;
        if helm::status(r, Some(self.context()), self.ns(), release)?.is_none() {
            return Ok(None);
        }
        let values = helm::get_values(r, Some(self.context()), self.ns(), release)?;
        Ok(Some(kagent::values_allow_kagent(&values)))
    }

    /// Adds kagent's namespace to the backend's allowed peers, keeping every other value the
    /// release was given (`deploy --helm` keeps it while the kagent namespace exists).
    fn allow_kagent_in(&self, cx: &Ctx) -> Result<()> {
        let r = &cx.runner;
        let bin = tools::find("helm").ok_or_else(|| {
            failure(
                "helm is not on PATH",
                "install helm 3 or 4 (`cargo xtask doctor`)",
            )
        })?;
        let v = helm::version(r, &bin)?;
        let major = helm::Major::of(v).ok_or_else(|| {
            failure(
                format!("helm {v} is neither 3 nor 4"),
                "install helm 3 or 4 (`cargo xtask doctor`)",
            )
        })?;
        let out = helm::set_value(
            r,
            major,
            &helm::SetValue {
                release: self.config.deploy.release.clone(),
                chart: cx.root.join(&self.config.deploy.chart),
                namespace: self.ns().to_string(),
                context: Some(self.context().to_string()),
                set_json: format!("{}={}", kagent::PEER_KEY, kagent::network_peer()),
                timeout: Duration::from_secs(self.config.deploy.timeout_secs),
                description: "cargo xtask aiops --install-kagent: kagent may reach the backend"
                    .into(),
            },
        )?;
        cx.ui.detail(out.trim());
        Ok(())
    }

    /// Asks one question, writes its transcript (and trace), and says what became of it. Only
    /// a problem of the xtask itself (a file it cannot write) is an error.
    fn ask(
        &mut self,
        cx: &Ctx,
        tool: &'static str,
        topic: &'static str,
        prompt: &str,
    ) -> Result<Asked> {
        let started = Instant::now();
        let dir = self.out_dir(cx);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = format!(
            "{}-{}-{topic}",
            crate::clock::utc_date(),
            tool.replace(' ', "-")
        );
        let file = dir.join(format!("{stem}.md"));
        let asked = match tool {
            KUBECTL_AI => self.ask_kubectl_ai(cx, &dir, &stem, prompt, started)?,
            KAGENT => self.ask_kagent(cx, topic, prompt, started)?,
            _ => self.ask_gordon(cx, prompt, started)?,
        };
        let text = cx.runner.redact(&asked.render());
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        Ok(Asked {
            tool: tool.into(),
            topic: topic.into(),
            outcome: asked.outcome,
            transcript: Some(rel(&cx.root, &file)),
        })
    }

    fn ask_kubectl_ai(
        &mut self,
        cx: &Ctx,
        dir: &Path,
        stem: &str,
        prompt: &str,
        started: Instant,
    ) -> Result<Answer> {
        let r = &cx.runner;
        let version = ai::kubectl_ai_version(r)?.map(|v| v.to_string());
        let provider = self
            .provider
            .clone()
            .unwrap_or_else(|| kubectl_ai::choose_provider(&|_| None, false));
        let mut answer = Answer::new(KUBECTL_AI, version, prompt, self.identity());
        if !self.admin && self.kubeconfig.is_none() && self.access_error.is_none() {
            match access::read_only_kubeconfig(&cx.kube(&self.config)) {
                Ok(k) => self.kubeconfig = Some(k),
                Err(e) => self.access_error = Some(crate::error::headline(&e)),
            }
        }
        let kubeconfig = self.kubeconfig.as_ref().map(|k| k.path().to_path_buf());
        answer.command = format!(
            "kubectl-ai --quiet {}{}--trace-path {} '<prompt>'",
            provider
                .flags
                .iter()
                .map(|f| format!("{f} "))
                .collect::<String>(),
            if kubeconfig.is_some() {
                "--kubeconfig <private read-only kubeconfig> "
            } else {
                ""
            },
            format_args!("traces/{stem}.trace.yaml")
        );
        if let Some(e) = &self.access_error {
            answer.outcome = Outcome::Failed(format!("no read-only identity: {e}"));
            answer.took = started.elapsed();
            return Ok(answer);
        }
        let traces = dir.join("traces");
        std::fs::create_dir_all(&traces)
            .with_context(|| format!("creating {}", traces.display()))?;
        let trace_file = traces.join(format!("{stem}.trace.yaml"));
        // kubectl-ai writes the raw trace (with the provider's request headers) into a file
        // the xtask made private first; it keeps that mode when kubectl-ai truncates it.
        let _ = std::fs::remove_file(&trace_file);
        drop(
            access::open_private(&trace_file)
                .with_context(|| format!("creating {}", trace_file.display()))?,
        );
        let result = kubectl_ai::ask(
            r,
            &kubectl_ai::Ask {
                provider: &provider,
                kubeconfig: kubeconfig.as_deref(),
                trace: &trace_file,
                prompt,
                timeout: self.timeout,
            },
        );
        let raw_trace = std::fs::read_to_string(&trace_file).unwrap_or_default();
        let trace = ai::mask_credential_headers(&r.redact(&raw_trace));
        std::fs::write(&trace_file, &trace)
            .with_context(|| format!("writing {}", trace_file.display()))?;
        answer.trace = Some(format!("traces/{stem}.trace.yaml"));
        answer.commands = kubectl_ai::traced_commands(&trace);
        answer.denials = kubectl_ai::denials(&trace);
        match result {
            Ok(out) => {
                answer.outcome = kubectl_ai::outcome(out.code, &out.stdout, &out.stderr, &trace);
                answer.text = if out.stdout.trim().is_empty() {
                    out.stderr
                } else {
                    out.stdout
                };
            }
            Err(e) => answer.outcome = Outcome::Failed(self.call_error(&e)),
        }
        answer.took = started.elapsed();
        Ok(answer)
    }

    fn ask_kagent(&self, cx: &Ctx, topic: &str, prompt: &str, started: Instant) -> Result<Answer> {
        let r = &cx.runner;
        let agent = if topic == "todo-agent" {
            TODO_AGENT
        } else {
            K8S_AGENT
        };
        let version = ai::kagent_versions(r)?.0.map(|v| v.to_string());
        let mut answer = Answer::new(
            KAGENT,
            version,
            prompt,
            format!(
                "kagent's own service account in namespace {}",
                kagent::NAMESPACE
            ),
        );
        answer.command = format!(
            "kagent invoke --namespace {} --agent {agent} --task '<prompt>'",
            kagent::NAMESPACE
        );
        match ai::kagent_invoke(r, kagent::NAMESPACE, agent, prompt, self.timeout) {
            Ok(out) => {
                let (outcome, text) = kg::invoke_outcome(out.code, &out.stdout, &out.stderr);
                answer.outcome = outcome;
                answer.text = text.unwrap_or_else(|| format!("{}{}", out.stdout, out.stderr));
            }
            Err(e) => answer.outcome = Outcome::Failed(self.call_error(&e)),
        }
        answer.took = started.elapsed();
        Ok(answer)
    }

    fn ask_gordon(&self, cx: &Ctx, prompt: &str, started: Instant) -> Result<Answer> {
        let r = &cx.runner;
        let dockerfile_path = cx.root.join(&self.config.build.dockerfile);
        let dockerfile = std::fs::read_to_string(&dockerfile_path)
            .with_context(|| format!("reading {}", dockerfile_path.display()))?;
        let mut answer = Answer::new(
            GORDON,
            ai::gordon(r)?,
            prompt,
            "local (no cluster access)".into(),
        );
        answer.command = format!(
            "docker ai '<prompt>' < {}",
            self.config.build.dockerfile.display()
        );
        match ai::gordon_review(r, prompt, &dockerfile, self.timeout) {
            Ok(text) if !text.trim().is_empty() => {
                answer.outcome = Outcome::Answered;
                answer.text = text;
            }
            Ok(_) => answer.outcome = Outcome::Failed("no answer on stdout".into()),
            Err(e) => answer.outcome = Outcome::Failed(self.call_error(&e)),
        }
        answer.took = started.elapsed();
        Ok(answer)
    }

    /// A failed call (timeout, missing program, exit code) as one line for the report.
    fn call_error(&self, e: &anyhow::Error) -> String {
        let text = crate::error::headline(e);
        if text.contains("timed out") {
            format!(
                "no answer within {}s (the xtask's timeout, --timeout)",
                self.timeout.as_secs()
            )
        } else {
            text
        }
    }
}

/// What one question produced, before it is written.
struct Answer {
    tool: &'static str,
    version: Option<String>,
    command: String,
    identity: String,
    prompt: String,
    outcome: Outcome,
    text: String,
    commands: Vec<String>,
    denials: Vec<kubectl_ai::Denial>,
    trace: Option<String>,
    took: Duration,
}

impl Answer {
    fn new(tool: &'static str, version: Option<String>, prompt: &str, identity: String) -> Answer {
        Answer {
            tool,
            version,
            command: String::new(),
            identity,
            prompt: prompt.into(),
            outcome: Outcome::Failed("not asked".into()),
            text: String::new(),
            commands: Vec::new(),
            denials: Vec::new(),
            trace: None,
            took: Duration::ZERO,
        }
    }

    fn render(&self) -> String {
        Transcript {
            tool: self.tool,
            version: self.version.as_deref(),
            command: &self.command,
            identity: &self.identity,
            prompt: &self.prompt,
            outcome: &self.outcome,
            answer: &self.text,
            commands: &self.commands,
            denials: &self.denials,
            trace: self.trace.as_deref(),
            took: self.took,
        }
        .render()
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_read_only() {
        for (_, p) in CLUSTER_PROMPTS {
            assert!(p.contains("do not change anything"), "{p}");
            assert!(p.contains("{ns}"), "{p}");
        }
        assert!(TODO_AGENT_PROMPT.contains("do not add, change or delete"));
    }

    #[test]
    fn every_tool_has_its_questions() {
        let q = questions("todo");
        assert_eq!(q.iter().filter(|(t, _, _)| *t == KUBECTL_AI).count(), 3);
        assert_eq!(q.iter().filter(|(t, _, _)| *t == KAGENT).count(), 2);
        assert_eq!(q.iter().filter(|(t, _, _)| *t == GORDON).count(), 1);
        assert!(q[0].2.contains("namespace todo"));
    }
}
