//! Why a rollout does not finish, from `kubectl get pods -o json`, the events and the logs of
//! the previous run of a crashing container; and the wait that stops as soon as a pod is in a
//! state it cannot leave by itself (a missing image, a crash loop, no node to run on).

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::stages::GateResult;
use crate::tools::kubectl::{self, Kube, Pod};

/// How many log lines of a crashed container the diagnosis shows.
pub const LOG_TAIL: u32 = 15;

/// What is wrong with one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub pod: String,
    pub container: Option<String>,
    pub image: Option<String>,
    /// The waiting reason (`ImagePullBackOff`, `CrashLoopBackOff`, ...) or `Unschedulable`.
    pub reason: String,
    pub message: String,
    pub restarts: u32,
    /// Exit code of the last run, when it ended.
    pub exit_code: Option<i32>,
}

impl Problem {
    /// A state the pod does not leave without a change from outside: stop waiting.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "ImagePullBackOff"
                | "ErrImagePull"
                | "ErrImageNeverPull"
                | "InvalidImageName"
                | "CrashLoopBackOff"
                | "CreateContainerConfigError"
                | "CreateContainerError"
                | "RunContainerError"
                | "Unschedulable"
        )
    }
}

/// The problems of the pods (`kubectl get pods -o json`, parsed); pods that are fine, or still
/// starting normally, give none.
pub fn problems(pods: &[Pod]) -> Vec<Problem> {
    let mut out = Vec::new();
    for pod in pods {
        if let Some((reason, message)) = &pod.unscheduled {
            out.push(Problem {
                pod: pod.name.clone(),
                container: None,
                image: None,
                reason: if reason.is_empty() {
                    "Unschedulable".into()
                } else {
                    reason.clone()
                },
                message: message.clone(),
                restarts: 0,
                exit_code: None,
            });
            continue;
        }
        for cs in &pod.containers {
            let Some((reason, message)) = &cs.waiting else {
                continue;
            };
            if reason.is_empty()
                || matches!(reason.as_str(), "ContainerCreating" | "PodInitializing")
            {
                continue;
            }
            out.push(Problem {
                pod: pod.name.clone(),
                container: Some(cs.name.clone()),
                image: Some(cs.image.clone()).filter(|i| !i.is_empty()),
                reason: reason.clone(),
                message: message.clone(),
                restarts: cs.restarts,
                exit_code: cs.exit_code,
            });
        }
    }
    out
}

/// The reason and the fix for a problem, as a failed gate's detail and help.
pub fn explain(p: &Problem, logs: &str, namespace: &str, registry: bool) -> (String, String) {
    let image = p.image.as_deref().unwrap_or("its image");
    match p.reason.as_str() {
        "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" => {
            let detail = format!(
                "pod {}: {} ({}): the image {image} is not in the cluster{}",
                p.pod,
                p.reason,
                one_line(&p.message),
                if registry { " and could not be pulled" } else { "" }
            );
            let help = if registry {
                "push the images to the registry (`docker push`), check the name and the pull secret, then deploy again".to_string()
            } else {
                "run `cargo xtask build` (it builds the images and puts them where the cluster looks), then deploy again".to_string()
            };
            (detail, help)
        }
        "CrashLoopBackOff" | "RunContainerError" => {
            let container = p.container.as_deref().unwrap_or("?");
            let mut detail = format!(
                "pod {}: container {container} keeps crashing ({}, exit code {}, {} restart(s))",
                p.pod,
                p.reason,
                p.exit_code
                    .map_or_else(|| "unknown".to_string(), |c| c.to_string()),
                p.restarts
            );
            let logs = logs.trim_end();
            if logs.is_empty() {
                detail.push_str("; its previous run printed nothing");
            } else {
                detail.push_str("; the last lines it printed:");
                for l in logs.lines() {
                    detail.push_str("\n    ");
                    detail.push_str(l);
                }
            }
            (
                detail,
                format!(
                    "fix the cause in the log above (configuration: .env and deploy/pipeline.toml); `kubectl logs {} -n {namespace} --previous` shows all of it",
                    p.pod
                ),
            )
        }
        "Unschedulable" => (
            format!(
                "pod {} cannot be scheduled: {}",
                p.pod,
                one_line(&p.message)
            ),
            "the cluster lacks what the pod requests: give minikube more (`cluster.cpus`, `cluster.memory_mb` in deploy/pipeline.toml, then `minikube delete` and `cargo xtask setup`) or lower the requests".into(),
        ),
        "CreateContainerConfigError" | "CreateContainerError" => (
            format!("pod {}: {}: {}", p.pod, p.reason, one_line(&p.message)),
            "a Secret or ConfigMap key the pod needs is missing: check .env (see .env.example) and deploy again".into(),
        ),
        _ => (
            format!("pod {}: {}: {}", p.pod, p.reason, one_line(&p.message)),
            format!("`kubectl describe pod {} -n {namespace}` shows more", p.pod),
        ),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A failing probe or other warning among `events`, newest last: the reason a running pod is
/// not ready.
pub fn probe_failure(events: &[kubectl::Event]) -> Option<&kubectl::Event> {
    events
        .iter()
        .rev()
        .find(|e| e.kind == "Warning" && e.reason == "Unhealthy")
        .or_else(|| events.iter().rev().find(|e| e.kind == "Warning"))
}

/// A Deployment or StatefulSet to wait for.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `deployment/todo-chatbot-backend`.
    pub reference: String,
    /// The label selector of its pods.
    pub selector: String,
}

/// Where to wait: the cluster, and whether its images come from a registry (for the hints).
pub struct Cluster<'a> {
    pub kube: Kube<'a>,
    pub registry: bool,
}

/// Waits until `w` has rolled out, polling its pods between short `kubectl rollout status`
/// calls: a pod in a state it cannot leave alone ends the wait at once with the diagnosis; at
/// the timeout the diagnosis names what is still wrong (a failing probe from the events).
pub fn wait_rollout(c: &Cluster, w: &Workload, timeout: Duration) -> Result<GateResult> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let slice = left
            .min(Duration::from_secs(10))
            .max(Duration::from_secs(1));
        let why = match c.kube.rollout_status(&w.reference, slice)? {
            None => return Ok(GateResult::Pass(format!("{} rolled out", w.reference))),
            Some(why) => why,
        };
        let found = problems(&c.kube.pods(Some(&w.selector))?);
        let timed_out = Instant::now() >= deadline;
        if let Some(p) = found.iter().find(|p| p.is_fatal()) {
            return diagnosis(c, p);
        }
        if timed_out {
            if let Some(p) = found.first() {
                return diagnosis(c, p);
            }
            let events = c.kube.events(None)?;
            let detail = match probe_failure(&events) {
                Some(e) => format!(
                    "{} did not roll out in {}s: {}: {} ({})",
                    w.reference,
                    timeout.as_secs(),
                    e.object,
                    one_line(&e.message),
                    e.reason
                ),
                None => format!(
                    "{} did not roll out in {}s: {why}",
                    w.reference,
                    timeout.as_secs()
                ),
            };
            return Ok(GateResult::Fail {
                detail,
                help: format!(
                    "`kubectl describe {} -n {}` and `kubectl get events -n {}` show more; a longer wait: `deploy.timeout_secs`",
                    w.reference, c.kube.namespace, c.kube.namespace
                ),
            });
        }
        std::thread::sleep(Duration::from_secs(2).min(left));
    }
}

fn diagnosis(c: &Cluster, p: &Problem) -> Result<GateResult> {
    let logs = match (&p.container, p.reason.as_str()) {
        (Some(container), "CrashLoopBackOff" | "RunContainerError") => {
            c.kube.previous_logs(&p.pod, container, LOG_TAIL)?
        }
        _ => String::new(),
    };
    let logs = c.kube.runner.redact(&logs);
    let (detail, help) = explain(p, &logs, c.kube.namespace, c.registry);
    Ok(GateResult::Fail { detail, help })
}

/// Waits (at most 30 s, or `timeout` when shorter) until Service `svc` has a ready endpoint.
pub fn wait_endpoints(c: &Cluster, svc: &str, ns: &str, timeout: Duration) -> Result<GateResult> {
    let deadline = Instant::now() + Duration::from_secs(30).min(timeout);
    loop {
        let (ready, total) = c.kube.service_endpoints(svc)?;
        if ready > 0 {
            return Ok(GateResult::Pass(format!("{ready} ready endpoint(s)")));
        }
        if Instant::now() >= deadline {
            return Ok(GateResult::Fail {
                detail: format!("service/{svc} has no ready endpoint ({total} not ready)"),
                help: format!(
                    "its selector must match ready pods: `kubectl get endpointslices -n {ns} -l kubernetes.io/service-name={svc}` and `kubectl get pods -n {ns} --show-labels`"
                ),
            });
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes as `kubectl get pods -o json` prints them (trimmed to the fields that matter).
    const IMAGE_NEVER_PULL: &str = r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"todo-chatbot-backend-7d9c5b9f8-x2x9q","namespace":"todo","labels":{"app.kubernetes.io/component":"backend"}},
       "spec":{"containers":[{"name":"backend","image":"todo-backend:0123456789ab","imagePullPolicy":"Never"}]},
       "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-01-01T00:00:00Z"},{"type":"Ready","status":"False","reason":"ContainersNotReady","message":"containers with unready status: [backend]"}],
         "containerStatuses":[{"name":"backend","image":"todo-backend:0123456789ab","imageID":"","lastState":{},"ready":false,"restartCount":0,"started":false,
           "state":{"waiting":{"reason":"ErrImageNeverPull","message":"Container image \"todo-backend:0123456789ab\" is not present with pull policy of Never"}}}],
         "hostIP":"192.168.49.2","podIP":"10.244.0.7","qosClass":"Burstable","startTime":"2026-01-01T00:00:00Z"}}]}"#;

    const CRASH_LOOP: &str = r#"{"apiVersion":"v1","kind":"List","items":[
      {"metadata":{"name":"todo-chatbot-backend-5c6f-abcde"},"status":{"phase":"Running",
        "conditions":[{"type":"PodScheduled","status":"True"}],
        "containerStatuses":[{"name":"backend","image":"todo-backend:0123456789ab","imageID":"docker://sha256:1","ready":false,"restartCount":4,"started":false,
          "lastState":{"terminated":{"exitCode":2,"reason":"Error","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:01Z","containerID":"docker://1"}},
          "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 40s restarting failed container=backend pod=todo-chatbot-backend-5c6f-abcde_todo(uid)"}}}]}}]}"#;

    const UNSCHEDULABLE: &str = r#"{"items":[{"metadata":{"name":"todo-chatbot-postgres-0"},"status":{"phase":"Pending",
      "conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."}]}}]}"#;

    const STARTING: &str = r#"{"items":[{"metadata":{"name":"a"},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True"}],
      "containerStatuses":[{"name":"c","image":"x:1","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}},
      {"metadata":{"name":"b"},"status":{"phase":"Running","containerStatuses":[{"name":"c","image":"x:1","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}]}"#;

    #[test]
    fn image_never_pulled_says_build() {
        let p = problems(&kubectl::parse_pods(IMAGE_NEVER_PULL).expect("parses"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].reason, "ErrImageNeverPull");
        assert!(p[0].is_fatal());
        let (detail, help) = explain(&p[0], "", "todo", false);
        assert!(
            detail.contains("todo-chatbot-backend-7d9c5b9f8-x2x9q"),
            "{detail}"
        );
        assert!(
            detail.contains("the image todo-backend:0123456789ab is not in the cluster"),
            "{detail}"
        );
        assert!(help.contains("cargo xtask build"), "{help}");
        let (_, help) = explain(&p[0], "", "todo", true);
        assert!(help.contains("push"), "{help}");
    }

    #[test]
    fn crash_loop_shows_exit_code_restarts_and_logs() {
        let p = problems(&kubectl::parse_pods(CRASH_LOOP).expect("parses"));
        assert_eq!(p[0].reason, "CrashLoopBackOff");
        assert_eq!(p[0].exit_code, Some(2));
        assert_eq!(p[0].restarts, 4);
        let (detail, help) = explain(
            &p[0],
            "line one\nerror: DATABASE_URL is invalid\n",
            "todo",
            false,
        );
        assert!(detail.contains("exit code 2, 4 restart(s)"), "{detail}");
        assert!(
            detail.ends_with("    error: DATABASE_URL is invalid"),
            "{detail}"
        );
        assert!(help.contains("--previous"), "{help}");
    }

    #[test]
    fn unschedulable_names_the_resource() {
        let p = problems(&kubectl::parse_pods(UNSCHEDULABLE).expect("parses"));
        assert_eq!(p[0].reason, "Unschedulable");
        let (detail, help) = explain(&p[0], "", "todo", false);
        assert!(detail.contains("Insufficient memory"), "{detail}");
        assert!(help.contains("cluster.memory_mb"), "{help}");
    }

    #[test]
    fn starting_and_running_pods_are_no_problem() {
        assert!(problems(&kubectl::parse_pods(STARTING).expect("parses")).is_empty());
        assert!(problems(&kubectl::parse_pods(r#"{"items":[]}"#).expect("parses")).is_empty());
    }

    #[test]
    fn the_probe_event_explains_a_pod_that_runs_but_is_not_ready() {
        let events = kubectl::parse_events(r#"{"items":[
          {"type":"Normal","reason":"Pulled","message":"Container image already present","involvedObject":{"kind":"Pod","name":"web-1"}},
          {"type":"Warning","reason":"Unhealthy","message":"Readiness probe failed: HTTP probe failed with statuscode: 503","involvedObject":{"kind":"Pod","name":"web-1"}}]}"#).expect("parses");
        let e = probe_failure(&events).expect("found");
        assert_eq!(e.object, "web-1");
        assert!(e.message.contains("statuscode: 503"));
    }
}
