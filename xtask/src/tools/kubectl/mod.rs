//! `kubectl`: version, contexts, nodes, pods and services.
//!
//! Stages talk to the cluster through a [`Kube`] handle (runner, context, namespace), made once
//! from the configuration (`Ctx::kube`); the free functions below are what it calls.

pub mod access;
mod kube;
pub mod workloads;

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Version, parse_json};
use crate::run::{Call, Runner};

pub use kube::Kube;

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

/// The fix when a cluster-facing call fails: the kubectl command that shows whether the cluster
/// answers on that context (helm uses the same kubeconfig).
pub fn reachability_hint(context: Option<&str>) -> String {
    format!(
        "check that the cluster answers: `{}`",
        kubectl(context).arg("cluster-info").line()
    )
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

/// The context names in the kubeconfig.
pub fn contexts(r: &Runner) -> Result<Vec<String>> {
    let out = r.run(
        &Call::new("kubectl")
            .args(["config", "get-contexts", "-o", "name"])
            .timeout(Duration::from_secs(20)),
    )?;
    Ok(out
        .stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// `kubectl rollout restart KIND/NAME -n NS`: new pods that read the changed Secret.
pub fn rollout_restart(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    reference: &str,
) -> Result<()> {
    r.run(
        &kubectl(context)
            .args(["rollout", "restart", reference, "--namespace", namespace])
            .mutating(),
    )?;
    Ok(())
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
    /// The PodScheduled condition's reason and message while it is False.
    #[serde(skip)]
    pub unscheduled: Option<(String, String)>,
    /// Every container's state, init containers first.
    #[serde(skip)]
    pub containers: Vec<ContainerState>,
}

/// One container of a pod, as its status says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub name: String,
    pub image: String,
    /// An init container.
    pub init: bool,
    pub ready: bool,
    pub restarts: u32,
    /// The waiting reason and message while it waits (empty reason: none given).
    pub waiting: Option<(String, String)>,
    /// The exit code of its last run: the last terminated state, else the current one.
    pub exit_code: Option<i32>,
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

/// What `kubectl logs` is asked for: the pods of a selector, every container, each line with
/// kubectl's `[pod/NAME/CONTAINER] ` prefix.
#[derive(Debug, Clone)]
pub struct LogsQuery {
    pub selector: String,
    /// Keep streaming (`--follow`).
    pub follow: bool,
    /// Only lines newer than this duration (`--since`, e.g. `10m`).
    pub since: Option<String>,
}

/// How many pods one `kubectl logs --selector` may read at once (kubectl's default is 5).
const MAX_LOG_REQUESTS: u32 = 20;

/// The arguments of `kubectl logs` for `q`. With a selector kubectl shows only the last 10 lines
/// of each pod unless told otherwise, so `--tail=-1` asks for all of them (`--since` limits).
pub fn logs_args(context: Option<&str>, namespace: &str, q: &LogsQuery) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(c) = context {
        args.extend(["--context".to_string(), c.to_string()]);
    }
    args.extend([
        "logs".to_string(),
        "--namespace".to_string(),
        namespace.to_string(),
        format!("--selector={}", q.selector),
        "--all-containers".to_string(),
        "--prefix".to_string(),
        "--tail=-1".to_string(),
        format!("--max-log-requests={MAX_LOG_REQUESTS}"),
    ]);
    if q.follow {
        args.push("--follow".to_string());
    }
    if let Some(s) = &q.since {
        args.push(format!("--since={s}"));
    }
    args
}

/// `kubectl logs` over the pods of `q.selector` (not following).
pub fn logs(r: &Runner, context: Option<&str>, namespace: &str, q: &LogsQuery) -> Result<String> {
    let call = Call::new("kubectl")
        .args(logs_args(context, namespace, q))
        .timeout(Duration::from_secs(60));
    Ok(r.run(&call)?.stdout)
}

pub fn parse_pods(text: &str) -> Result<Vec<Pod>> {
    #[derive(Deserialize, Default)]
    struct Waiting {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        message: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Terminated {
        exit_code: Option<i32>,
    }
    #[derive(Deserialize, Default)]
    struct State {
        waiting: Option<Waiting>,
        terminated: Option<Terminated>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ContainerStatus {
        #[serde(default)]
        name: String,
        #[serde(default)]
        image: String,
        #[serde(default)]
        ready: bool,
        #[serde(default)]
        restart_count: u32,
        #[serde(default)]
        state: State,
        #[serde(default)]
        last_state: State,
    }
    impl ContainerStatus {
        fn typed(self, init: bool) -> ContainerState {
            ContainerState {
                exit_code: self
                    .last_state
                    .terminated
                    .or(self.state.terminated)
                    .and_then(|t| t.exit_code),
                waiting: self.state.waiting.map(|w| (w.reason, w.message)),
                name: self.name,
                image: self.image,
                init,
                ready: self.ready,
                restarts: self.restart_count,
            }
        }
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        phase: String,
        #[serde(default)]
        conditions: Vec<Condition>,
        #[serde(default)]
        init_container_statuses: Vec<ContainerStatus>,
        #[serde(default)]
        container_statuses: Vec<ContainerStatus>,
    }
    #[derive(Deserialize)]
    struct Raw {
        metadata: Meta,
        #[serde(default)]
        status: Status,
    }
    let list: List<Raw> = parse_json("kubectl get pods", text)?;
    Ok(list
        .items
        .into_iter()
        .map(|p| {
            let s = p.status;
            let unscheduled = s
                .conditions
                .iter()
                .find(|c| c.kind == "PodScheduled" && c.status == "False")
                .map(|c| (c.reason.clone(), c.message.clone()));
            let mut containers: Vec<ContainerState> = s
                .init_container_statuses
                .into_iter()
                .map(|c| c.typed(true))
                .collect();
            containers.extend(s.container_statuses.into_iter().map(|c| c.typed(false)));
            let main: Vec<&ContainerState> = containers.iter().filter(|c| !c.init).collect();
            let waiting = main
                .iter()
                .filter_map(|c| c.waiting.as_ref())
                .find(|(reason, _)| !reason.is_empty())
                .cloned();
            Pod {
                name: p.metadata.name,
                ready: s.phase == "Succeeded" || (!main.is_empty() && main.iter().all(|c| c.ready)),
                phase: s.phase,
                restarts: main.iter().map(|c| c.restarts).sum(),
                problem: waiting.or_else(|| unscheduled.clone()),
                unscheduled,
                containers,
            }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub kind: String,
    /// The Service's ports (`spec.ports[].port`), in order.
    pub ports: Vec<u16>,
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
        port: Option<u16>,
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
            ports: s.spec.ports.iter().filter_map(|p| p.port).collect(),
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

/// One object as `kubectl get -o json` lists it: what the deploy stages compare.
#[derive(Debug, Clone, Serialize)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl Object {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

pub fn parse_objects(text: &str) -> Result<Vec<Object>> {
    #[derive(Deserialize)]
    struct ObjMeta {
        name: String,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        annotations: std::collections::BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        kind: String,
        metadata: ObjMeta,
    }
    let to_object = |o: Raw| Object {
        kind: o.kind,
        name: o.metadata.name,
        labels: o.metadata.labels,
        annotations: o.metadata.annotations,
    };
    let value: serde_json::Value = parse_json("kubectl get -o json", text)?;
    if value.get("items").is_some() {
        let list: List<Raw> = serde_json::from_value(value)?;
        Ok(list.items.into_iter().map(to_object).collect())
    } else {
        let one: Raw = serde_json::from_value(value)?;
        Ok(vec![to_object(one)])
    }
}

/// `kubectl get KINDS -n NS -l SELECTOR -o json` (kinds comma-separated, e.g.
/// `deployments,services`).
pub fn objects(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    kinds: &str,
    selector: &str,
    columns: &Columns,
) -> Result<Vec<Object>> {
    // Only these columns: `-o json` of Secrets would carry their data into the output (and
    // into `-vv` logs) base64-encoded.
    let out = r.run(
        &kubectl(context)
            .args(["get", kinds, "--namespace", namespace])
            .args(["--selector", selector, "--no-headers"])
            .arg(format!("--output=custom-columns={}", columns.spec()))
            .timeout(Duration::from_secs(30))
            .hint(reachability_hint(context)),
    )?;
    Ok(columns.parse(&out.stdout))
}

/// Which labels and annotations [`objects`] reads of each object, in this order (the caller's
/// names: the tool knows none of the project's).
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub labels: &'a [&'a str],
    pub annotations: &'a [&'a str],
}

impl Columns<'_> {
    /// The `custom-columns` spec: kind, name, then each label and annotation.
    pub fn spec(&self) -> String {
        let escape = |k: &str| k.replace('.', r"\.");
        let mut cols = vec!["KIND:.kind".to_string(), "NAME:.metadata.name".to_string()];
        for (n, l) in self.labels.iter().enumerate() {
            cols.push(format!("L{n}:.metadata.labels.{}", escape(l)));
        }
        for (n, a) in self.annotations.iter().enumerate() {
            cols.push(format!("A{n}:.metadata.annotations.{}", escape(a)));
        }
        cols.join(",")
    }

    /// Reads the lines of [`Columns::spec`] (`<none>` for a missing value).
    pub fn parse(&self, text: &str) -> Vec<Object> {
        let value = |v: Option<&str>| v.filter(|v| *v != "<none>").map(String::from);
        text.lines()
            .filter_map(|line| {
                let mut f = line.split_whitespace();
                let kind = f.next()?.to_string();
                let name = f.next()?.to_string();
                let mut labels = std::collections::BTreeMap::new();
                for l in self.labels {
                    if let Some(v) = value(f.next()) {
                        labels.insert(l.to_string(), v);
                    }
                }
                let mut annotations = std::collections::BTreeMap::new();
                for a in self.annotations {
                    if let Some(v) = value(f.next()) {
                        annotations.insert(a.to_string(), v);
                    }
                }
                Some(Object {
                    kind,
                    name,
                    labels,
                    annotations,
                })
            })
            .collect()
    }
}

/// The Namespace `name`, or `None` when it does not exist.
pub fn namespace(r: &Runner, context: Option<&str>, name: &str) -> Result<Option<Object>> {
    let out = r.run(
        &kubectl(context)
            .args(["get", "namespace", name, "-o", "json"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    if out.code == 0 {
        return Ok(parse_objects(&out.stdout)?.into_iter().next());
    }
    if out.stderr.contains("(NotFound)") {
        return Ok(None);
    }
    Err(super::read_failed(
        &format!("kubectl get namespace {name}"),
        &out.stderr,
        format!(
            "{}; `kubectl config get-contexts` lists the contexts to choose from",
            reachability_hint(context)
        ),
    ))
}

/// `kubectl apply --server-side -f -` with `doc` on stdin (the only way a Secret reaches the
/// cluster). Server-side apply keeps no `last-applied-configuration` copy of the object, so a
/// Secret's values are not duplicated into an annotation.
pub fn apply_stdin(r: &Runner, context: Option<&str>, doc: &str, what: &str) -> Result<String> {
    let out = r.run(
        &kubectl(context)
            .args(["apply", "--server-side", "--field-manager=todo-chatbot-xtask"])
            .args(["--force-conflicts", "-f", "-"])
            .stdin(doc.as_bytes().to_vec())
            .mutating()
            .timeout(Duration::from_secs(120))
            .hint(format!(
                "{what} was refused by the cluster; `-v` shows the command, the error above the reason"
            )),
    )?;
    Ok(out.stdout)
}

/// `kubectl delete -n NS REF... --ignore-not-found --wait=BOOL` (with `wait`, until the
/// objects are gone, so one of the same name can be created next).
pub fn delete(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    refs: &[String],
    wait: bool,
) -> Result<()> {
    r.run(
        &kubectl(context)
            .args(["delete", "--namespace", namespace])
            .args(refs.iter().cloned())
            .args(["--ignore-not-found".to_string(), format!("--wait={wait}")])
            .mutating()
            .timeout(Duration::from_secs(120)),
    )?;
    Ok(())
}

/// `kubectl delete namespace NAME --ignore-not-found` (everything in it goes too).
pub fn delete_namespace(r: &Runner, context: Option<&str>, name: &str) -> Result<()> {
    r.run(
        &kubectl(context)
            .args([
                "delete",
                "namespace",
                name,
                "--ignore-not-found",
                "--wait=false",
            ])
            .mutating()
            .timeout(Duration::from_secs(120)),
    )?;
    Ok(())
}

/// `kubectl rollout status KIND/NAME -n NS --timeout=Ns`: `Ok(None)` when rolled out, else the
/// reason kubectl gave (a timeout or a progress deadline).
pub fn rollout_status(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    reference: &str,
    wait: Duration,
) -> Result<Option<String>> {
    let out = r.run(
        &kubectl(context)
            .args(["rollout", "status", reference, "--namespace", namespace])
            .arg(format!("--timeout={}s", wait.as_secs().max(1)))
            .ok_codes(&[0, 1])
            .timeout(wait + Duration::from_secs(30)),
    )?;
    Ok(if out.code == 0 {
        None
    } else {
        Some(crate::run::last_lines(out.stderr.trim(), 2))
    })
}

/// The last `tail` lines the previous run of a container printed (`kubectl logs --previous`);
/// empty when there are none.
pub fn previous_logs(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    pod: &str,
    container: &str,
    tail: u32,
) -> Result<String> {
    let out = r.run(
        &kubectl(context)
            .args([
                "logs",
                pod,
                "--namespace",
                namespace,
                "--container",
                container,
            ])
            .args(["--previous".to_string(), format!("--tail={tail}")])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    Ok(if out.code == 0 {
        out.stdout
    } else {
        String::new()
    })
}

/// One event about an object.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `Normal` or `Warning`.
    pub kind: String,
    /// The object the event is about.
    pub object: String,
    pub reason: String,
    pub message: String,
}

/// The events in `namespace` (only those about the object `name`, when given), oldest first.
pub fn events(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    name: Option<&str>,
) -> Result<Vec<Event>> {
    let mut call = kubectl(context).args(["get", "events", "--namespace", namespace]);
    if let Some(name) = name {
        call = call.arg(format!("--field-selector=involvedObject.name={name}"));
    }
    let out = r.run(&call.args(["-o", "json"]).timeout(Duration::from_secs(30)))?;
    parse_events(&out.stdout)
}

pub fn parse_events(text: &str) -> Result<Vec<Event>> {
    #[derive(Deserialize, Default)]
    struct Involved {
        #[serde(default)]
        name: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        involved_object: Involved,
    }
    let list: List<Raw> = parse_json("kubectl get events", text)?;
    Ok(list
        .items
        .into_iter()
        .map(|e| Event {
            kind: e.kind,
            object: e.involved_object.name,
            reason: e.reason,
            message: e.message,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns {
        labels: &["app.kubernetes.io/managed-by"],
        annotations: &["example.dev/config-hash", "example.dev/token"],
    };

    #[test]
    fn columns_spec_escapes_the_dots_of_the_names() {
        assert_eq!(
            COLUMNS.spec(),
            r"KIND:.kind,NAME:.metadata.name,L0:.metadata.labels.app\.kubernetes\.io/managed-by,A0:.metadata.annotations.example\.dev/config-hash,A1:.metadata.annotations.example\.dev/token"
        );
    }

    #[test]
    fn object_columns_with_missing_values() {
        let o = COLUMNS.parse(
            "Deployment   todo-chatbot-backend   kubectl   0123456789abcdef\nSecret   sh.helm.release.v1.todo-chatbot.v1   <none>   <none>\n",
        );
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].label("app.kubernetes.io/managed-by"), Some("kubectl"));
        assert_eq!(
            o[0].annotations
                .get("example.dev/config-hash")
                .map(String::as_str),
            Some("0123456789abcdef")
        );
        assert!(o[1].labels.is_empty() && o[1].annotations.is_empty());
    }

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
        assert_eq!(
            (s[0].ports.as_slice(), s[0].node_ports.as_slice()),
            ([80].as_slice(), [31234].as_slice())
        );
        assert_eq!(s[0].kind, "LoadBalancer");
    }
}
