//! `status`: the cluster, the images and their tags, the release, the pods, the Services (type,
//! ports, URL) and the app's URL.
//! Read-only: it makes no mutating call and has no gates.

use anyhow::Result;
use serde::Serialize;

use super::{Report, Stage, execute};
use crate::config::Config;
use crate::ctx::Ctx;
use crate::flags;
use crate::project::images::desired_images;
use crate::tools::helm::{self, Release};
use crate::tools::kubectl::{self, Pod};
use crate::tools::minikube::{self, ProfileState};
use crate::tools::{self};
use crate::ui::Tone;

pub fn run(cx: &Ctx, _f: &flags::Status) -> Result<i32> {
    execute(
        cx,
        &mut Status {
            config: cx.config()?,
        },
    )
}

pub struct Status {
    pub config: Config,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageStatus {
    pub key: String,
    /// `name:tag` the current tree builds.
    pub image: String,
    /// In the cluster's runtime (None: cluster not running).
    pub in_cluster: Option<bool>,
}

/// One Service of the app, as `status` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    /// ClusterIP, NodePort or LoadBalancer.
    pub kind: String,
    /// `port` or `port:nodePort`, comma-separated.
    pub ports: String,
    /// Where it answers from this machine, when it does without a port-forward.
    pub url: Option<String>,
}

/// The Service's URL from this machine: a load balancer's address, else minikube's IP and the
/// node port (`minikube_ip`, when the profile runs), else none (a ClusterIP Service).
pub fn service_url(svc: &kubectl::Service, minikube_ip: Option<&str>) -> Option<String> {
    let port = svc.ports.first().copied().unwrap_or(80);
    let with_port = |host: &str, port: u16| {
        if port == 80 {
            format!("http://{host}")
        } else {
            format!("http://{host}:{port}")
        }
    };
    match (
        svc.external_ips.first(),
        svc.node_ports.first(),
        minikube_ip,
    ) {
        (Some(ip), _, _) => Some(with_port(ip, port)),
        (None, Some(node_port), Some(ip)) => Some(with_port(ip, *node_port)),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub profile: String,
    pub cluster: Option<ProfileState>,
    pub runtime: Option<String>,
    /// kubectl's current context.
    pub context: Option<String>,
    /// The context the cluster was asked through (`--context` > XTASK_CONTEXT > profile).
    pub kube_context: String,
    pub images: Vec<ImageStatus>,
    pub namespace: String,
    pub release: Option<Release>,
    pub pods: Vec<Pod>,
    pub services: Vec<ServiceStatus>,
    pub url: Option<String>,
}

impl Stage for Status {
    type Observed = Observed;
    type Step = String;

    fn name(&self) -> &'static str {
        "status"
    }

    fn mutates(&self) -> bool {
        false
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let profile = self.config.cluster.profile.clone();
        let namespace = self.config.deploy.namespace.clone();
        let has = |t: &str| tools::find(t).is_some();
        let cluster = if has("minikube") {
            Some(minikube::status(r, &profile)?)
        } else {
            None
        };
        let running = cluster == Some(ProfileState::Running);
        let runtime = if running {
            minikube::profile_config(r, &profile)?.map(|c| c.runtime)
        } else {
            None
        };
        let context = if has("kubectl") {
            kubectl::current_context(r)?
        } else {
            None
        };
        let images_cfg: Vec<_> = self.config.images.clone().into_iter().collect();
        let desired = desired_images(cx, &self.config, &images_cfg)?;
        let in_cluster = if running {
            Some(minikube::images(r, &profile)?)
        } else {
            None
        };
        let images = desired
            .images
            .into_iter()
            .map(|want| ImageStatus {
                in_cluster: in_cluster
                    .as_ref()
                    .map(|l| l.iter().any(|i| i.has_tag(&want.image))),
                key: want.key,
                image: want.image,
            })
            .collect::<Vec<_>>();
        if has("kubectl") && !self.config.context_is_explicit() {
            let known = kubectl::contexts(r)?;
            if !known.iter().any(|c| c == self.config.context()) {
                report.note(
                    cx,
                    format!(
                        "{}: run `cargo xtask setup` (it starts minikube and creates the context), or pass --context NAME",
                        crate::project::cluster::no_context(self.config.context())
                    ),
                );
            }
        }
        let (mut release, mut pods, mut url) = (None, Vec::new(), None);
        let mut service_rows = Vec::new();
        // A context named with --context or XTASK_CONTEXT may be another cluster than the
        // profile's: it is asked whether or not the profile runs.
        if running || self.config.context_is_explicit() {
            let kube = cx.kube(&self.config);
            if has("helm") {
                release = helm::list(r, &namespace, Some(kube.context))?
                    .into_iter()
                    .find(|x| x.name == self.config.deploy.release);
            }
            pods = kube.pods(None)?;
            let services = kube.services()?;
            let needs_ip = running && services.iter().any(|s| !s.node_ports.is_empty());
            let ip = if needs_ip {
                Some(minikube::ip(r, &profile)?)
            } else {
                None
            };
            for svc in &services {
                let ports = svc
                    .ports
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match svc.node_ports.get(i) {
                        Some(n) => format!("{p}:{n}"),
                        None => p.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                service_rows.push(ServiceStatus {
                    name: svc.name.clone(),
                    kind: svc.kind.clone(),
                    ports,
                    url: service_url(svc, ip.as_deref()),
                });
            }
            if let Some(svc) = services.iter().find(|s| s.name.contains("frontend")) {
                url = service_url(svc, ip.as_deref());
            }
        }
        let o = Observed {
            profile,
            cluster,
            runtime,
            context,
            kube_context: self.config.context().to_string(),
            images,
            namespace,
            release,
            pods,
            services: service_rows,
            url,
        };
        report
            .tables
            .push((vec!["what", "state"], summary_rows(cx, &o)));
        if !o.services.is_empty() {
            report.tables.push((
                vec!["service", "type", "ports", "url"],
                o.services
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.kind.clone(),
                            s.ports.clone(),
                            s.url.clone().unwrap_or_else(|| {
                                if s.name.ends_with("-frontend") {
                                    "none from here: `cargo xtask open`".into()
                                } else {
                                    "in the cluster only".into()
                                }
                            }),
                        ]
                    })
                    .collect(),
            ));
        }
        Ok(o)
    }
}

fn summary_rows(cx: &Ctx, o: &Observed) -> Vec<Vec<String>> {
    let p = |s: &str, t: Tone| cx.ui.paint_out(s, t);
    let mut rows = vec![vec![
        format!("cluster ({})", o.profile),
        match &o.cluster {
            None => p("minikube not installed", Tone::Warn),
            Some(ProfileState::Running) => p(
                &format!("running, runtime {}", o.runtime.as_deref().unwrap_or("?")),
                Tone::Good,
            ),
            Some(ProfileState::Absent) => p("absent (cargo xtask setup)", Tone::Warn),
            Some(other) => p(&format!("{other:?}"), Tone::Warn),
        },
    ]];
    let current = o.context.clone().unwrap_or_else(|| "not set".into());
    rows.push(vec![
        "kubectl context".into(),
        if current == o.kube_context {
            current
        } else {
            format!("{} (kubectl's current: {current})", o.kube_context)
        },
    ]);
    for i in &o.images {
        let state = match i.in_cluster {
            Some(true) => p("in cluster", Tone::Good),
            Some(false) => p("not in cluster (cargo xtask build)", Tone::Warn),
            None => "cluster not running".into(),
        };
        rows.push(vec![
            format!("image {}", i.key),
            format!("{} {state}", i.image),
        ]);
    }
    rows.push(vec![
        format!("release ({})", o.namespace),
        match &o.release {
            Some(rel) => format!(
                "{} rev {} {} ({})",
                rel.name, rel.revision, rel.status, rel.chart
            ),
            None => "none".into(),
        },
    ]);
    for pod in &o.pods {
        let state = if pod.ready {
            p("ready", Tone::Good)
        } else {
            p(
                &pod.problem
                    .as_ref()
                    .map(|x| x.0.clone())
                    .unwrap_or_else(|| pod.phase.clone()),
                Tone::Bad,
            )
        };
        rows.push(vec![
            format!("pod {}", pod.name),
            format!("{state}, {} restarts", pod.restarts),
        ]);
    }
    rows.push(vec![
        "url".into(),
        o.url.clone().unwrap_or_else(|| {
            if o.services.is_empty() {
                "-".into()
            } else {
                "none from here: run `cargo xtask open` (a port-forward to the frontend)".into()
            }
        }),
    ]);
    rows
}
