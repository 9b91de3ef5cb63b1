//! Stage 5, `verify`: the deployed app, end to end. Every pod Ready with no restarts, the
//! Services have endpoints; then, through port-forwards the xtask starts and always stops:
//! backend `/health` and `/ready`, frontend `/`, a task created, a chat turn that adds a
//! uniquely named task, a list that shows both (all through the frontend's `/api`), the
//! created tasks deleted again, and MCP `tools/list` naming the five tools.
//! `verify --restart` also checks that data survives a new backend pod: a task created, the
//! backend restarted (`kubectl rollout restart` and wait), the task still listed, then deleted.
//! `verify --static` runs the checks that need no cluster (see `static_checks.rs`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::Serialize;

mod static_checks;

use super::{GateResult, Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::flags;
use crate::project::api::{self, Api, Refused};
use crate::project::http::{Answer, Client};
use crate::project::objects::find_service;
use crate::run::Supervised;
use crate::tools::kubectl::{Kube, Pod};
use crate::tools::{self, minikube};
use static_checks::StaticVerify;

/// The MCP tools the backend must offer.
pub const MCP_TOOLS: [&str; 5] = [
    "add_task",
    "list_tasks",
    "complete_task",
    "delete_task",
    "update_task",
];

pub fn run(cx: &Ctx, f: &flags::Verify) -> Result<i32> {
    let config = cx.config()?;
    if f.static_only {
        execute(cx, &mut StaticVerify::new(config))
    } else {
        execute(cx, &mut ClusterVerify::new(config).restart(f.restart))
    }
}

pub struct ClusterVerify {
    pub config: Config,
    forwards: Vec<Supervised>,
    /// Also the persistence check: a task must survive a restart of the backend.
    restart: bool,
}

impl ClusterVerify {
    pub fn new(config: Config) -> ClusterVerify {
        ClusterVerify {
            config,
            forwards: Vec::new(),
            restart: false,
        }
    }

    /// With the persistence check (`verify --restart`; `up` after a deploy that changed something).
    pub fn restart(mut self, on: bool) -> ClusterVerify {
        self.restart = on;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub namespace: String,
    pub pods: Vec<Pod>,
    /// (name, ports)
    pub services: Vec<(String, Vec<u16>)>,
    pub backend: Option<(String, u16)>,
    pub frontend: Option<(String, u16)>,
}

impl Stage for ClusterVerify {
    type Observed = Observed;
    type Step = String;

    fn name(&self) -> &'static str {
        "verify"
    }

    /// Only the restart check changes something (new backend pods); under `--dry-run` it is
    /// planned and not run.
    fn mutates(&self) -> bool {
        self.restart
    }

    fn preflight(&mut self, cx: &Ctx, _report: &mut Report) -> Result<()> {
        crate::project::cluster::require_context(cx, &self.config)
    }

    fn observe(&mut self, cx: &Ctx, _report: &mut Report) -> Result<Observed> {
        let kube = cx.kube(&self.config);
        let ns = self.config.deploy.namespace.clone();
        let pods = kube.pods(None)?;
        let services = kube.service_ports()?;
        Ok(Observed {
            backend: find_service(&services, "backend"),
            frontend: find_service(&services, "frontend"),
            namespace: ns,
            pods,
            services,
        })
    }

    fn plan(&mut self, cx: &Ctx, o: &Observed) -> Result<Vec<String>> {
        // The restart happens between two checks, in the gates; a real run records no step.
        Ok(match (&o.backend, self.restart && cx.runner.dry_run()) {
            (Some((backend, _)), true) => vec![format!(
                "create a task, restart deployment/{backend}, check the task is still there, delete it"
            )],
            _ => Vec::new(),
        })
    }

    fn gates(&mut self, cx: &Ctx, o: &Observed, report: &mut Report) -> Result<()> {
        let deploy_hint = "run `cargo xtask deploy --helm` (or `cargo xtask up`), then `cargo xtask status` to see the pods";
        report.gate(cx, "pods ready, no restarts", || Ok(pods_gate(&o.pods)));
        let (Some(backend), Some(frontend)) = (o.backend.clone(), o.frontend.clone()) else {
            report.gate(cx, "services found", || {
                Ok(GateResult::Fail {
                    detail: format!(
                        "no backend and frontend Service in namespace `{}` (found: {})",
                        o.namespace,
                        o.services
                            .iter()
                            .map(|s| s.0.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    help: deploy_hint.into(),
                })
            });
            return Ok(());
        };
        for svc in [&backend.0, &frontend.0] {
            report.gate(cx, &format!("endpoints of {svc}"), || {
                let (ready, total) =
                    cx.kube(&self.config).service_endpoints(svc)?;
                Ok(if ready > 0 {
                    GateResult::Pass(format!("{ready} of {total} ready"))
                } else {
                    GateResult::Fail {
                        detail: format!("{svc} has no ready endpoint ({total} in all)"),
                        help: "its pods are not Ready or the selector matches no pod: `cargo xtask status`".into(),
                    }
                })
            });
        }
        let mut urls = (None, None);
        report.gate(cx, "port-forwards started", || {
            let b = self.forward(cx, &backend.0, backend.1)?;
            let f = self.forward(cx, &frontend.0, frontend.1)?;
            let detail = format!("backend {b}, frontend {f}");
            urls = (Some(b), Some(f));
            Ok(GateResult::Pass(detail))
        });
        let (Some(b), Some(f)) = urls else {
            self.stop_forwards();
            return Ok(());
        };
        app_checks(cx, report, &b, &f);
        if self.restart && report.ok() {
            let wait = Duration::from_secs(self.config.deploy.timeout_secs);
            let kube = cx.kube(&self.config);
            restart_check(cx, report, &kube, &backend.0, (&b, &f), wait);
        }
        self.stop_forwards();
        Ok(())
    }
}

impl ClusterVerify {
    /// Starts `kubectl port-forward service/NAME :PORT` and returns the local URL; when the
    /// port-forward fails for the frontend, `minikube service --url` is tried.
    fn forward(&mut self, cx: &Ctx, service: &str, port: u16) -> Result<String> {
        let kube = cx.kube(&self.config);
        match kube.port_forward(service, port, Duration::from_secs(30)) {
            Ok((pf, local)) => {
                self.forwards.push(pf);
                Ok(format!("http://127.0.0.1:{local}"))
            }
            Err(e) if service.contains("frontend") && tools::find("minikube").is_some() => {
                cx.ui.warn(&format!(
                    "port-forward to {service} failed; trying `minikube service --url`: {e:#}"
                ));
                let (svc, url) = minikube::service_url(
                    &cx.runner,
                    &self.config.cluster.profile,
                    kube.namespace,
                    service,
                    Duration::from_secs(60),
                )?;
                self.forwards.push(svc);
                Ok(url)
            }
            Err(e) => Err(e),
        }
    }

    fn stop_forwards(&mut self) {
        for mut f in self.forwards.drain(..) {
            f.stop(Duration::from_secs(3));
        }
    }
}

/// Ready pods without restarts (finished test pods are ignored).
pub fn pods_gate(pods: &[Pod]) -> GateResult {
    let live: Vec<&Pod> = pods.iter().filter(|p| p.phase != "Succeeded").collect();
    if live.is_empty() {
        return GateResult::Fail {
            detail: "no pods in the namespace".into(),
            help: "deploy first: `cargo xtask deploy --helm` or `cargo xtask up`".into(),
        };
    }
    let bad: Vec<String> = live
        .iter()
        .filter(|p| !p.ready || p.restarts > 0)
        .map(|p| {
            let why = p.problem.as_ref().map(|x| x.0.clone()).unwrap_or_else(|| {
                if p.ready {
                    "ready".into()
                } else {
                    format!("{} not ready", p.phase)
                }
            });
            format!("{} ({why}, {} restarts)", p.name, p.restarts)
        })
        .collect();
    if bad.is_empty() {
        GateResult::Pass(format!("{} pods", live.len()))
    } else {
        GateResult::Fail {
            detail: bad.join("; "),
            help: "see `kubectl describe pod NAME` and `kubectl logs NAME --previous`; a restart means a crash or a failed liveness probe".into(),
        }
    }
}

/// A name no earlier run used.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{:x}-{}", nanos & 0xffff_ffff, std::process::id())
}

/// The HTTP checks against the forwarded backend (`b`) and frontend (`f`) URLs.
pub fn app_checks(cx: &Ctx, report: &mut Report, b: &str, f: &str) {
    let client = Client::new(Duration::from_secs(15));
    let expect = |url: &str, ok: &dyn Fn(&Answer) -> bool| -> Result<GateResult> {
        let a = client
            .wait_ok(url, Duration::from_secs(20))
            .or_else(|_| client.get(url))?;
        Ok(if ok(&a) {
            GateResult::Pass(format!("{} ({} bytes)", a.status, a.body.len()))
        } else {
            GateResult::Fail {
                detail: format!(
                    "GET {url} answered {}: {}",
                    a.status,
                    a.body.chars().take(160).collect::<String>()
                ),
                help: "see the pod's log: `kubectl logs -n NAMESPACE deploy/NAME`".into(),
            }
        })
    };
    report.gate(cx, "backend /health", || {
        expect(&format!("{b}/health"), &|a| api::is_status(a, "ok"))
    });
    report.gate(cx, "backend /ready", || {
        expect(&format!("{b}/ready"), &|a| api::is_status(a, "ready"))
    });
    report.gate(cx, "frontend /", || {
        expect(&format!("{f}/"), &|a| {
            a.status == 200 && a.body.contains('<')
        })
    });
    let api = match sign_in(&client, b, f) {
        Ok(api) => api,
        Err(e) => {
            report.gate(cx, "sign-up for the checks", || Err(e));
            return;
        }
    };
    let title = unique("verify-task");
    let chat_name = unique("verify-chat");
    let mut created: Vec<i64> = Vec::new();
    report.gate(cx, "create a task through the frontend", || {
        Ok(match api.create_task(&title)? {
            Ok(task) => {
                created.push(task.id);
                GateResult::Pass(format!("task {}", task.id))
            }
            Err(r) => api_fail("POST tasks", &r),
        })
    });
    report.gate(cx, "chat turn adds a task", || chat_adds(&api, &chat_name));
    report.gate(cx, "list shows both tasks", || {
        lists_both(&api, &title, &chat_name, &mut created)
    });
    report.gate(cx, "clean up the created tasks", || {
        let mut left = Vec::new();
        for id in &created {
            if let Err(r) = api.delete_task(*id)? {
                left.push(format!("{id} ({})", r.status));
            }
        }
        Ok(if left.is_empty() {
            GateResult::Pass(format!("{} deleted", created.len()))
        } else {
            GateResult::Fail {
                detail: format!("could not delete tasks {}", left.join(", ")),
                help: format!("delete them by hand: DELETE /api/{}/tasks/ID", api.user()),
            }
        })
    });
    report.gate(cx, "MCP tools/list", || {
        let names = api.mcp_tools()?;
        let missing: Vec<&str> = MCP_TOOLS
            .iter()
            .copied()
            .filter(|t| !names.iter().any(|n| n == t))
            .collect();
        Ok(if missing.is_empty() {
            GateResult::Pass(format!("{} tools: {}", names.len(), names.join(", ")))
        } else {
            GateResult::Fail {
                detail: format!("missing tools: {} (listed: {})", missing.join(", "), names.join(", ")),
                help: "the backend image is older than the MCP tools: `cargo xtask build` and deploy again".into(),
            }
        })
    });
}

/// A chat turn asked to add `name` calls the `add_task` tool.
fn chat_adds(api: &Api, name: &str) -> Result<GateResult> {
    let (answer, body) = match api.chat(&format!("add {name}"))? {
        Ok(a) => a,
        Err(r) => return Ok(api_fail("POST chat", &r)),
    };
    let calls: Vec<&str> = answer.tool_calls.iter().map(|c| c.name.as_str()).collect();
    Ok(if calls.contains(&"add_task") {
        GateResult::Pass(format!("tool calls: {}", calls.join(", ")))
    } else {
        GateResult::Fail {
            detail: format!(
                "the chat answer called no add_task: {}",
                body.chars().take(200).collect::<String>()
            ),
            help: "check the backend's agent setting (AGENT) and its log".into(),
        }
    })
}

/// The list shows the task `title` and the one the chat added (`chat_name`, whose id joins
/// `created` for the clean-up).
fn lists_both(
    api: &Api,
    title: &str,
    chat_name: &str,
    created: &mut Vec<i64>,
) -> Result<GateResult> {
    let items = match api.tasks("status=all")? {
        Ok(items) => items,
        Err(r) => return Ok(api_fail("GET tasks", &r)),
    };
    let find = |needle: &str| items.iter().find(|t| t.title.contains(needle));
    if let Some(t) = find(chat_name) {
        created.push(t.id);
    }
    let mut missing = String::new();
    if find(title).is_none() {
        missing.push_str(&format!(" `{title}`"));
    }
    if find(chat_name).is_none() {
        missing.push_str(&format!(" `{chat_name}` (added by chat)"));
    }
    Ok(if missing.is_empty() {
        GateResult::Pass(format!("{} tasks listed", items.len()))
    } else {
        GateResult::Fail {
            detail: format!("missing from the list:{missing}"),
            help: "the backend did not store the task: see its log".into(),
        }
    })
}

/// The persistence check: a task created through the frontend, the backend Deployment
/// (`deployment`, named like its Service) restarted and rolled out, the task listed again through
/// the frontend (whose port-forward outlives the backend's pods), then deleted.
fn restart_check(
    cx: &Ctx,
    report: &mut Report,
    kube: &Kube,
    deployment: &str,
    (b, f): (&str, &str),
    wait: Duration,
) {
    let ns = kube.namespace;
    let client = Client::new(Duration::from_secs(15));
    let api = match sign_in(&client, b, f) {
        Ok(api) => api,
        Err(e) => {
            report.gate(cx, "sign-up for the restart check", || Err(e));
            return;
        }
    };
    let title = unique("verify-kept");
    let mut id = None;
    report.gate(cx, "restart check: create a task", || {
        Ok(match api.create_task(&title)? {
            Ok(task) => {
                id = Some(task.id);
                GateResult::Pass(format!("task {}", task.id))
            }
            Err(r) => api_fail("POST tasks", &r),
        })
    });
    let Some(id) = id else { return };
    let reference = format!("deployment/{deployment}");
    report.gate(cx, &format!("restart check: {reference} restarted"), || {
        kube.rollout_restart(&reference)?;
        Ok(match kube.rollout_status(&reference, wait)? {
            None => GateResult::Pass("new pods rolled out".into()),
            Some(why) => GateResult::Fail {
                detail: format!("{reference} did not roll out after the restart: {why}"),
                help: format!("`kubectl describe {reference} -n {ns}` and `cargo xtask status`; with SQLite the claim must be bound (`kubectl get pvc -n {ns}`)"),
            },
        })
    });
    report.gate(cx, "restart check: the task is still there", || {
        // The Service reaches the new pod once it is ready; a moment of 502 or 503 is expected.
        let started = Instant::now();
        let list = loop {
            match api.tasks("status=all&limit=500") {
                Ok(Ok(items)) => break items,
                Ok(Err(r)) if started.elapsed() > Duration::from_secs(60) => {
                    return Ok(api_fail("GET tasks after the restart", &r));
                }
                Err(e) if started.elapsed() > Duration::from_secs(60) => return Err(e),
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        };
        let kept = list.iter().any(|t| t.id == id);
        Ok(if kept {
            GateResult::Pass(format!("task {id} survived a new backend pod"))
        } else {
            GateResult::Fail {
                detail: format!("task {id} (`{title}`) is gone after the backend restarted: its data is not on a volume"),
                help: format!("with SQLite the file must be on a claim (`kubectl get pvc -n {ns}`; database.sqlite.persistence.enabled in the chart); or use deploy.database = \"internal\""),
            }
        })
    });
    report.gate(cx, "restart check: task deleted", || {
        Ok(match api.delete_task(id)? {
            Ok(()) => GateResult::Pass(format!("task {id} deleted")),
            Err(r) if r.status == 404 => GateResult::Pass(format!("task {id} deleted")),
            Err(r) => api_fail(&format!("DELETE task {id}"), &r),
        })
    });
}

fn api_fail(what: &str, r: &Refused) -> GateResult {
    let (status, body) = (r.status, &r.body);
    let hint = match status {
        401 | 403 => "the API needs a token: check AUTH_SECRET in .env",
        502 => "the frontend cannot reach the backend: check BACKEND_URL and the backend Service",
        _ => "see the backend's log: `kubectl logs -n NAMESPACE deploy/NAME-backend`",
    };
    GateResult::Fail {
        detail: format!(
            "{what} answered {status}: {}",
            body.chars().take(200).collect::<String>()
        ),
        help: hint.into(),
    }
}

/// The user the checks act as: a fixed name on an open API; with auth on, a fresh account.
fn sign_in<'a>(client: &'a Client, backend: &str, frontend: &str) -> Result<Api<'a>> {
    let email = format!("{}@verify.invalid", unique("xtask"));
    let password = unique("pw-Verify");
    Api::sign_in(client, backend, frontend, (&email, &password))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str, ready: bool, restarts: u32) -> Pod {
        Pod {
            name: name.into(),
            phase: phase.into(),
            ready,
            restarts,
            problem: None,
            unscheduled: None,
            containers: Vec::new(),
        }
    }

    #[test]
    fn pods_gate_wants_ready_without_restarts() {
        assert!(matches!(
            pods_gate(&[
                pod("a", "Running", true, 0),
                pod("t", "Succeeded", false, 0)
            ]),
            GateResult::Pass(_)
        ));
        assert!(matches!(
            pods_gate(&[pod("a", "Running", true, 1)]),
            GateResult::Fail { .. }
        ));
        assert!(matches!(pods_gate(&[]), GateResult::Fail { .. }));
    }

    #[test]
    fn services_by_component() {
        let s = vec![
            ("todo-chatbot-backend".to_string(), vec![8000]),
            ("todo-chatbot-frontend".to_string(), vec![80]),
        ];
        assert_eq!(
            find_service(&s, "backend"),
            Some(("todo-chatbot-backend".into(), 8000))
        );
        assert_eq!(
            find_service(&s, "frontend"),
            Some(("todo-chatbot-frontend".into(), 80))
        );
    }
}
