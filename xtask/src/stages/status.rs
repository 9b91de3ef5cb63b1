//! `status`: the cluster, the images and their tags, the release, the pods and the URL.
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
        let (mut release, mut pods, mut url) = (None, Vec::new(), None);
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
            if let Some(svc) = services.iter().find(|s| s.name.contains("frontend")) {
                url = match (svc.external_ips.first(), svc.node_ports.first()) {
                    (Some(ip), _) => Some(format!("http://{ip}")),
                    (None, Some(port)) if running => {
                        Some(format!("http://{}:{port}", minikube::ip(r, &profile)?))
                    }
                    _ => None,
                };
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
            url,
        };
        report
            .tables
            .push((vec!["what", "state"], summary_rows(cx, &o)));
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
        o.url.clone().unwrap_or_else(|| "-".into()),
    ]);
    rows
}
