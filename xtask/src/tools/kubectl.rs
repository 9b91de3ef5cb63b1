//! `kubectl`: version, contexts, nodes, pods and services.

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Version, parse_json};
use crate::run::{Call, Runner};

/// Oldest kubectl the manifests are tested with (Kubernetes 1.28 is the oldest cluster target).
pub const MIN: Version = Version::new(1, 28, 0);

pub const INSTALL_HINT: &str =
    "install kubectl 1.28+ (https://kubernetes.io/docs/tasks/tools/, or `minikube kubectl --`)";

fn kubectl(context: Option<&str>) -> Call {
    let c = Call::new("kubectl");
    match context {
        Some(ctx) => c.args(["--context", ctx]),
        None => c,
    }
}

/// `kubectl version --client -o json` (works without a cluster).
pub fn client_version(r: &Runner) -> Result<Version> {
    let out = r.run(
        &Call::new("kubectl")
            .args(["version", "--client", "-o", "json"])
            .timeout(Duration::from_secs(20)),
    )?;
    parse_client_version(&out.stdout)
}

pub fn parse_client_version(text: &str) -> Result<Version> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Info {
        git_version: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        client_version: Info,
    }
    let raw: Raw = parse_json("kubectl version --client -o json", text)?;
    Version::find(&raw.client_version.git_version).ok_or_else(|| {
        anyhow::anyhow!(
            "kubectl reported no version: {:?}",
            raw.client_version.git_version
        )
    })
}

/// The current context, or `None` when none is set.
pub fn current_context(r: &Runner) -> Result<Option<String>> {
    let out = r.run(
        &Call::new("kubectl")
            .args(["config", "current-context"])
            .ok_codes(&[0, 1]),
    )?;
    if out.code == 0 {
        Ok(Some(out.stdout.trim().to_string()).filter(|s| !s.is_empty()))
    } else if out.stderr.contains("current-context is not set") {
        Ok(None)
    } else {
        anyhow::bail!(
            "`kubectl config current-context` failed: {}",
            out.stderr.trim()
        )
    }
}

/// Points kubectl at `context`.
pub fn use_context(r: &Runner, context: &str) -> Result<()> {
    r.run(
        &Call::new("kubectl")
            .args(["config", "use-context", context])
            .mutating()
            .hint(format!(
                "the context `{context}` is missing from your kubeconfig: run `minikube update-context -p {context}`"
            )),
    )?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub ready: bool,
    /// The Ready condition's reason when not ready.
    pub reason: String,
    pub runtime: String,
}

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

/// The nodes and whether each is Ready.
pub fn nodes(r: &Runner, context: Option<&str>) -> Result<Vec<Node>> {
    let out = r.run(
        &kubectl(context)
            .args(["get", "nodes", "-o", "json"])
            .timeout(Duration::from_secs(30)),
    )?;
    parse_nodes(&out.stdout)
}

pub fn parse_nodes(text: &str) -> Result<Vec<Node>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NodeInfo {
        #[serde(default)]
        container_runtime_version: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        conditions: Vec<Condition>,
        node_info: Option<NodeInfo>,
    }
    #[derive(Deserialize)]
    struct Raw {
        metadata: Meta,
        status: Status,
    }
    let list: List<Raw> = parse_json("kubectl get nodes", text)?;
    Ok(list
        .items
        .into_iter()
        .map(|n| {
            let ready = n.status.conditions.iter().find(|c| c.kind == "Ready");
            Node {
                name: n.metadata.name,
                ready: ready.is_some_and(|c| c.status == "True"),
                reason: ready
                    .map(|c| c.reason.clone())
                    .unwrap_or_else(|| "no Ready condition".into()),
                runtime: n
                    .status
                    .node_info
                    .map(|i| i.container_runtime_version)
                    .unwrap_or_default(),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Pod {
    pub name: String,
    pub phase: String,
    /// Every container is ready.
    pub ready: bool,
    pub restarts: u32,
    /// The first waiting reason (ImagePullBackOff, CrashLoopBackOff, ...) or the scheduling
    /// problem, with its message.
    pub problem: Option<(String, String)>,
}

/// The pods in `namespace` (optionally matching a label selector).
pub fn pods(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    selector: Option<&str>,
) -> Result<Vec<Pod>> {
    let mut call = kubectl(context).args(["get", "pods", "--namespace", namespace, "-o", "json"]);
    if let Some(s) = selector {
        call = call.args(["--selector", s]);
    }
    let out = r.run(&call.timeout(Duration::from_secs(30)))?;
    parse_pods(&out.stdout)
}

pub fn parse_pods(text: &str) -> Result<Vec<Pod>> {
    #[derive(Deserialize)]
    struct Waiting {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        message: String,
    }
    #[derive(Deserialize, Default)]
    struct State {
        waiting: Option<Waiting>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ContainerStatus {
        ready: bool,
        #[serde(default)]
        restart_count: u32,
        #[serde(default)]
        state: State,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        phase: String,
        #[serde(default)]
        conditions: Vec<Condition>,
        #[serde(default)]
        container_statuses: Vec<ContainerStatus>,
    }
    #[derive(Deserialize)]
    struct Raw {
        metadata: Meta,
        status: Status,
    }
    let list: List<Raw> = parse_json("kubectl get pods", text)?;
    Ok(list
        .items
        .into_iter()
        .map(|p| {
            let cs = &p.status.container_statuses;
            let waiting = cs
                .iter()
                .filter_map(|c| c.state.waiting.as_ref())
                .find(|w| !w.reason.is_empty())
                .map(|w| (w.reason.clone(), w.message.clone()));
            let unscheduled = p
                .status
                .conditions
                .iter()
                .find(|c| c.kind == "PodScheduled" && c.status == "False")
                .map(|c| (c.reason.clone(), c.message.clone()));
            Pod {
                name: p.metadata.name,
                ready: p.status.phase == "Succeeded"
                    || (!cs.is_empty() && cs.iter().all(|c| c.ready)),
                phase: p.status.phase,
                restarts: cs.iter().map(|c| c.restart_count).sum(),
                problem: waiting.or(unscheduled),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub kind: String,
    pub node_ports: Vec<u16>,
    pub external_ips: Vec<String>,
}

/// The Services in `namespace`.
pub fn services(r: &Runner, context: Option<&str>, namespace: &str) -> Result<Vec<Service>> {
    let out = r.run(
        &kubectl(context)
            .args(["get", "services", "--namespace", namespace, "-o", "json"])
            .timeout(Duration::from_secs(30)),
    )?;
    parse_services(&out.stdout)
}

pub fn parse_services(text: &str) -> Result<Vec<Service>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Port {
        node_port: Option<u16>,
    }
    #[derive(Deserialize)]
    struct Spec {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        ports: Vec<Port>,
    }
    #[derive(Deserialize)]
    struct Ingress {
        ip: Option<String>,
        hostname: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Lb {
        #[serde(default)]
        ingress: Vec<Ingress>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        load_balancer: Lb,
    }
    #[derive(Deserialize)]
    struct Raw {
        metadata: Meta,
        spec: Spec,
        #[serde(default)]
        status: Status,
    }
    let list: List<Raw> = parse_json("kubectl get services", text)?;
    Ok(list
        .items
        .into_iter()
        .map(|s| Service {
            name: s.metadata.name,
            kind: s.spec.kind,
            node_ports: s.spec.ports.iter().filter_map(|p| p.node_port).collect(),
            external_ips: s
                .status
                .load_balancer
                .ingress
                .into_iter()
                .filter_map(|i| i.ip.or(i.hostname))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_version_json() {
        let v = parse_client_version(
            r#"{
  "clientVersion": {
    "major": "1",
    "minor": "32+",
    "gitVersion": "v1.32.4-dispatcher",
    "gitCommit": "4cb5f0764b8d5f425645c6f433394fede34a8a26",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T20:09:34Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64"
  },
  "kustomizeVersion": "v5.5.0"
}"#,
        )
        .expect("parses");
        assert_eq!(v, Version::new(1, 32, 4));
    }

    #[test]
    fn node_ready_condition() {
        let nodes = parse_nodes(r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"minikube","labels":{"node-role.kubernetes.io/control-plane":""}},"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status","lastHeartbeatTime":"...","lastTransitionTime":"..."}],"nodeInfo":{"containerRuntimeVersion":"docker://28.x","kubeletVersion":"v1.36.2"}}}],"metadata":{"resourceVersion":""}}"#).expect("parses");
        assert_eq!(nodes.len(), 1);
        assert!(nodes[0].ready);
        assert_eq!(nodes[0].runtime, "docker://28.x");
    }

    #[test]
    fn pod_problems_are_found() {
        let pods = parse_pods(r#"{"items":[
          {"metadata":{"name":"web-1"},"status":{"phase":"Pending","containerStatuses":[{"name":"web","image":"myapp:dev","imageID":"","ready":false,"restartCount":0,"started":false,"state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"myapp:dev\""}}}]}},
          {"metadata":{"name":"web-2"},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/1 nodes are available: 1 Insufficient memory."}]}},
          {"metadata":{"name":"ok"},"status":{"phase":"Running","containerStatuses":[{"name":"a","ready":true,"restartCount":2,"state":{"running":{}}}]}}
        ]}"#).expect("parses");
        assert_eq!(
            pods[0].problem.as_ref().map(|p| p.0.as_str()),
            Some("ImagePullBackOff")
        );
        assert_eq!(
            pods[1].problem.as_ref().map(|p| p.0.as_str()),
            Some("Unschedulable")
        );
        assert!(!pods[1].ready);
        assert!(pods[2].ready && pods[2].problem.is_none());
        assert_eq!(pods[2].restarts, 2);
    }

    #[test]
    fn services_node_ports() {
        let s = parse_services(r#"{"items":[{"metadata":{"name":"todo-frontend"},"spec":{"type":"LoadBalancer","ports":[{"port":80,"nodePort":31234}]},"status":{"loadBalancer":{}}}]}"#).expect("parses");
        assert_eq!(s[0].node_ports, [31234]);
        assert_eq!(s[0].kind, "LoadBalancer");
    }
}
