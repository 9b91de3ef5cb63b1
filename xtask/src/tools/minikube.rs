//! `minikube`: profile status and configuration, start, addons, docker-env, image load/list.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Version, parse_json};
use crate::run::{Call, Runner, Streams, Supervised};

/// Oldest minikube with `image load`, JSON profile lists and Kubernetes 1.28+.
pub const MIN: Version = Version::new(1, 32, 0);

pub const INSTALL_HINT: &str = "install minikube 1.32+ (https://minikube.sigs.k8s.io/docs/start/)";

/// minikube's exit code for a profile that does not exist (`GUEST_NOT_FOUND`).
pub const EXIT_GUEST_NOT_FOUND: i32 = 85;

fn minikube(profile: &str) -> Call {
    Call::new("minikube").args(["--profile", profile])
}

pub fn version(r: &Runner) -> Result<Version> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        minikube_version: String,
    }
    let out = r.run(
        &Call::new("minikube")
            .args(["version", "--output=json"])
            .timeout(Duration::from_secs(20)),
    )?;
    let raw: Raw = parse_json("minikube version --output=json", &out.stdout)?;
    Version::find(&raw.minikube_version)
        .ok_or_else(|| anyhow::anyhow!("minikube reported no version: {:?}", raw.minikube_version))
}

/// One node's line of `minikube status -o json`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct NodeStatus {
    pub name: String,
    pub host: String,
    pub kubelet: String,
    #[serde(rename = "APIServer")]
    pub api_server: String,
    pub kubeconfig: String,
}

/// What `minikube status` says about a profile.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ProfileState {
    /// No such profile (exit 85).
    Absent,
    /// The profile exists but its machine is stopped or gone.
    Stopped { host: String },
    /// Host, kubelet and API server run and the kubeconfig is configured.
    Running,
    /// The host runs but something else does not (paused, misconfigured, starting).
    Degraded { status: NodeStatus },
}

pub fn status(r: &Runner, profile: &str) -> Result<ProfileState> {
    let out = r.run(
        &minikube(profile)
            .args(["status", "--output", "json"])
            .ok_codes(&[0, 1, 2, 3, 4, 5, 6, 7, EXIT_GUEST_NOT_FOUND])
            .timeout(Duration::from_secs(60)),
    )?;
    parse_status(out.code, &out.stdout).map_err(|e| {
        // The exit codes 1-7 are answers, so a failure that uses one of them (its reason on
        // stderr, or as an error event on stdout) only shows here: name the command and why.
        let stderr = crate::run::last_lines(out.stderr.trim(), 3);
        crate::error::failure(
            format!(
                "`minikube --profile {profile} status --output json` (exit code {}) gave no status: {e}{}",
                out.code,
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!("\n  its stderr ended with: {}", stderr.replace('\n', "\n  "))
                }
            ),
            format!("run `minikube status -p {profile}` by hand; `minikube logs -p {profile}` shows more"),
        )
    })
}

/// Reads `minikube status -o json` given its exit code.
///
/// - Exit 85: no such profile (stdout then holds only message events).
/// - In JSON mode minikube turns its messages (warnings, errors) into CloudEvents objects, one
///   per line on stdout, so the status object may follow such lines; they are skipped.
/// - When the profile's machine is gone (its container was removed), minikube cannot get any
///   node status and prints `null` (exit 7): that profile is stopped, `minikube start`
///   recreates the machine.
pub fn parse_status(code: i32, stdout: &str) -> Result<ProfileState> {
    if code == EXIT_GUEST_NOT_FOUND {
        return Ok(ProfileState::Absent);
    }
    let mut events = Vec::new();
    // Every line that is not an event: the status, as minikube prints it on one line, or over
    // several should it ever be indented.
    let mut rest = Vec::new();
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match event_message(line) {
            Some(m) => events.push(m),
            None => rest.push(line),
        }
    }
    let joined = rest.join("\n");
    let text = (!joined.is_empty()).then_some(joined.as_str());
    let Some(text) = text else {
        anyhow::bail!(
            "no status object on stdout{}",
            events
                .last()
                .map(|m| format!("; minikube said: {m}"))
                .unwrap_or_default()
        );
    };
    // One node prints an object, several print an array; the first is the control plane.
    let first: Option<NodeStatus> = if text.starts_with('[') || text == "null" {
        let all: Option<Vec<NodeStatus>> = parse_json("minikube status -o json", text)?;
        all.and_then(|a| a.into_iter().next())
    } else {
        Some(parse_json("minikube status -o json", text)?)
    };
    let Some(first) = first else {
        return Ok(ProfileState::Stopped {
            host: "Nonexistent".into(),
        });
    };
    Ok(match first.host.as_str() {
        "Running" => {
            let fine = first.kubelet == "Running"
                && first.api_server == "Running"
                && first.kubeconfig == "Configured";
            if fine {
                ProfileState::Running
            } else {
                ProfileState::Degraded { status: first }
            }
        }
        _ => ProfileState::Stopped { host: first.host },
    })
}

/// The message of one of minikube's CloudEvents lines (`"specversion"` and a
/// `io.k8s.sigs.minikube.*` type), or `None` for any other line.
fn event_message(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let kind = v.get("type")?.as_str()?;
    if v.get("specversion").is_none() || !kind.starts_with("io.k8s.sigs.minikube.") {
        return None;
    }
    Some(
        v.pointer("/data/message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(kind)
            .trim()
            .to_string(),
    )
}

/// The configuration minikube keeps for a profile (`minikube profile list -o json`).
#[derive(Debug, Clone, Serialize)]
pub struct ProfileConfig {
    pub name: String,
    pub status: String,
    pub driver: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub kubernetes_version: String,
    pub runtime: String,
}

/// The profile's configuration, or `None` when it is not listed.
pub fn profile_config(r: &Runner, profile: &str) -> Result<Option<ProfileConfig>> {
    let out = r.run(
        &Call::new("minikube")
            .args(["profile", "list", "--output", "json"])
            .ok_codes(&[0, 14, 80, EXIT_GUEST_NOT_FOUND])
            .timeout(Duration::from_secs(60)),
    )?;
    if out.code != 0 {
        return Ok(None);
    }
    parse_profile_list(&out.stdout, profile)
}

pub fn parse_profile_list(text: &str, profile: &str) -> Result<Option<ProfileConfig>> {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct K8s {
        #[serde(default)]
        kubernetes_version: String,
        #[serde(default)]
        container_runtime: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct Config {
        #[serde(default)]
        driver: String,
        #[serde(default, rename = "CPUs")]
        cpus: u32,
        #[serde(default)]
        memory: u64,
        #[serde(default)]
        kubernetes_config: K8s,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        name: String,
        #[serde(default)]
        status: String,
        #[serde(default)]
        config: Option<Config>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        valid: Vec<Entry>,
    }
    let raw: Raw = parse_json("minikube profile list -o json", text)?;
    Ok(raw.valid.into_iter().find(|e| e.name == profile).map(|e| {
        let c = e.config.unwrap_or_default();
        ProfileConfig {
            name: e.name,
            status: e.status,
            driver: c.driver,
            cpus: c.cpus,
            memory_mb: c.memory,
            kubernetes_version: c.kubernetes_config.kubernetes_version,
            runtime: c.kubernetes_config.container_runtime,
        }
    }))
}

/// How to start a profile.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub driver: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub kubernetes_version: String,
    pub container_runtime: String,
    pub timeout: Duration,
}

impl StartSpec {
    /// The arguments after `minikube --profile P start`.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            format!("--driver={}", self.driver),
            format!("--cpus={}", self.cpus),
            format!("--memory={}", self.memory_mb),
            format!("--kubernetes-version={}", self.kubernetes_version),
        ];
        if !self.container_runtime.is_empty() {
            a.push(format!("--container-runtime={}", self.container_runtime));
        }
        a
    }
}

pub fn start(r: &Runner, profile: &str, spec: &StartSpec) -> Result<()> {
    r.run(
        &minikube(profile)
            .arg("start")
            .args(spec.args())
            .mutating()
            .timeout(spec.timeout)
            .hint(format!(
                "see `minikube logs -p {profile}`; `minikube delete -p {profile}` starts over"
            )),
    )?;
    Ok(())
}

/// Resumes a paused profile (`minikube pause` stops the Kubernetes components, not the host).
pub fn unpause(r: &Runner, profile: &str) -> Result<()> {
    r.run(
        &minikube(profile)
            .arg("unpause")
            .mutating()
            .timeout(Duration::from_secs(300))
            .hint(format!("see `minikube logs -p {profile}`")),
    )?;
    Ok(())
}

/// Addon name → enabled.
pub fn addons(r: &Runner, profile: &str) -> Result<BTreeMap<String, bool>> {
    let out = r.run(
        &minikube(profile)
            .args(["addons", "list", "--output", "json"])
            .timeout(Duration::from_secs(60)),
    )?;
    parse_addons(&out.stdout)
}

/// Reads `minikube addons list -o json`: addon name → `{"Status": "enabled"|"disabled", ...}`.
/// For a profile that does not exist minikube still lists every addon, each as an empty
/// object: those count as disabled.
pub fn parse_addons(text: &str) -> Result<BTreeMap<String, bool>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Addon {
        #[serde(default)]
        status: String,
    }
    let raw: BTreeMap<String, Addon> = parse_json("minikube addons list -o json", text)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, v.status == "enabled"))
        .collect())
}

pub fn enable_addon(r: &Runner, profile: &str, addon: &str) -> Result<()> {
    r.run(
        &minikube(profile)
            .args(["addons", "enable", addon])
            .mutating()
            .timeout(Duration::from_secs(600))
            .hint(format!(
                "check the addon name with `minikube addons list -p {profile}`"
            )),
    )?;
    Ok(())
}

/// The variables that point docker at the profile's daemon (`minikube docker-env`).
///
/// `--shell bash` on every host: without it minikube guesses the shell (cmd or PowerShell
/// syntax on Windows). Its bash form writes each value between double quotes exactly as it is,
/// with no escaping, so a Windows `DOCKER_CERT_PATH` (`C:\Users\me\.minikube\certs`) reads back
/// unchanged; its Go template writes LF line ends on every host (CRLF would be read too).
/// `--shell none --output json` (minikube 1.23+) gives the same values as a JSON object; the bash
/// form is kept as the one form every minikube release prints alike.
pub fn docker_env(r: &Runner, profile: &str) -> Result<Vec<(String, String)>> {
    let out = r.run(
        &minikube(profile)
            .args(["docker-env", "--shell", "bash"])
            .timeout(Duration::from_secs(60))
            .hint("docker-env needs the docker container runtime and a single node; set `build.strategy = \"image-load\"`"),
    )?;
    Ok(parse_docker_env(&out.stdout))
}

/// Reads `export KEY="VALUE"` lines; comments and other lines are skipped.
pub fn parse_docker_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.trim().trim_end_matches(';');
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// `minikube service NAME --url`, supervised (with the Docker driver it keeps a tunnel open
/// while it runs): the process and the first URL it printed (within `ready`).
pub fn service_url(
    r: &Runner,
    profile: &str,
    namespace: &str,
    service: &str,
    ready: Duration,
) -> Result<(Supervised, String)> {
    let call = minikube(profile).args(["service", service, "--namespace", namespace, "--url"]);
    let mut p = r.start(
        &format!("minikube service {service}"),
        &call,
        Streams::Lines,
    )?;
    let url = p.wait_line(ready, super::workloads::parse_service_url)?;
    Ok((p, url))
}

pub fn image_load(r: &Runner, profile: &str, image: &str) -> Result<()> {
    r.run(
        &minikube(profile)
            .args(["image", "load", image])
            .mutating()
            .timeout(Duration::from_secs(900))
            .hint(format!(
                "check that `{image}` exists locally (`docker image inspect {image}`) and the profile runs"
            )),
    )?;
    Ok(())
}

/// One image in the cluster's runtime (`minikube image ls --format json`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterImage {
    pub id: String,
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// Bytes, as a decimal string.
    pub size: String,
}

impl ClusterImage {
    /// True when one of the tags names `image` (`docker.io/library/` prefixes are ignored).
    pub fn has_tag(&self, image: &str) -> bool {
        self.repo_tags
            .iter()
            .any(|t| normalise(t) == normalise(image))
    }
}

fn normalise(tag: &str) -> &str {
    tag.strip_prefix("docker.io/library/")
        .or_else(|| tag.strip_prefix("docker.io/"))
        .unwrap_or(tag)
}

pub fn images(r: &Runner, profile: &str) -> Result<Vec<ClusterImage>> {
    let out = r.run(
        &minikube(profile)
            .args(["image", "ls", "--format", "json"])
            .timeout(Duration::from_secs(120)),
    )?;
    parse_json("minikube image ls --format json", &out.stdout)
}

pub fn ip(r: &Runner, profile: &str) -> Result<String> {
    let out = r.run(&minikube(profile).arg("ip").timeout(Duration::from_secs(30)))?;
    Ok(out.stdout.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_running_stopped_absent() {
        let running = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#;
        assert_eq!(parse_status(0, running).expect("ok"), ProfileState::Running);
        let stopped = r#"{"Name":"minikube","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped","Worker":false}"#;
        assert_eq!(
            parse_status(7, stopped).expect("ok"),
            ProfileState::Stopped {
                host: "Stopped".into()
            }
        );
        let absent = "{\"data\":{\"message\":\"Profile \\\"nope\\\" not found.\"},\"datacontenttype\":\"application/json\",\"id\":\"1\",\"source\":\"https://minikube.sigs.k8s.io/\",\"specversion\":\"1.0\",\"type\":\"io.k8s.sigs.minikube.info\"}\n";
        assert_eq!(parse_status(85, absent).expect("ok"), ProfileState::Absent);
        let paused = r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Paused","Kubeconfig":"Configured","Worker":false}"#;
        assert!(matches!(
            parse_status(2, paused).expect("ok"),
            ProfileState::Degraded { .. }
        ));
        let multi = format!("[{running},{running}]");
        assert_eq!(parse_status(0, &multi).expect("ok"), ProfileState::Running);
    }

    #[test]
    fn status_of_a_profile_whose_machine_is_gone_is_stopped() {
        // With the profile's container removed, minikube gets no node status at all and
        // marshals the empty list: stdout is `null` (no newline), exit code 7.
        assert_eq!(
            parse_status(7, "null").expect("ok"),
            ProfileState::Stopped {
                host: "Nonexistent".into()
            }
        );
        assert_eq!(
            parse_status(7, "[]").expect("ok"),
            ProfileState::Stopped {
                host: "Nonexistent".into()
            }
        );
    }

    #[test]
    fn status_after_message_events_is_read() {
        // In JSON mode minikube's warnings are CloudEvents lines on stdout, before the status
        // object (which has no trailing newline).
        let text = "{\"data\":{\"message\":\"minikube is low on disk space\"},\"datacontenttype\":\"application/json\",\"id\":\"5f0c\",\"source\":\"https://minikube.sigs.k8s.io/\",\"specversion\":\"1.0\",\"type\":\"io.k8s.sigs.minikube.warning\"}\n{\"Name\":\"minikube\",\"Host\":\"Running\",\"Kubelet\":\"Running\",\"APIServer\":\"Running\",\"Kubeconfig\":\"Configured\",\"Worker\":false,\"TimeToStop\":\"Nonexistent\"}";
        assert_eq!(parse_status(0, text).expect("ok"), ProfileState::Running);
        // The same object indented over several lines reads the same.
        let indented = "{\n  \"Name\": \"minikube\",\n  \"Host\": \"Running\",\n  \"Kubelet\": \"Running\",\n  \"APIServer\": \"Running\",\n  \"Kubeconfig\": \"Configured\"\n}\n";
        assert_eq!(
            parse_status(0, indented).expect("ok"),
            ProfileState::Running
        );
        // An error event and no status object: the event's message is the error.
        let error = "{\"data\":{\"exitcode\":\"10\",\"message\":\"status json failure\",\"name\":\"MK_STATUS_JSON\"},\"datacontenttype\":\"application/json\",\"id\":\"9\",\"source\":\"https://minikube.sigs.k8s.io/\",\"specversion\":\"1.0\",\"type\":\"io.k8s.sigs.minikube.error\"}\n";
        let e = parse_status(10, error).expect_err("no status").to_string();
        assert!(e.contains("status json failure"), "{e}");
        assert!(parse_status(1, "").is_err());
    }

    #[test]
    fn addons_of_a_missing_profile_are_empty_objects() {
        // `minikube addons list -o json` without a profile lists every addon as `{}`.
        let a = parse_addons(r#"{"ambassador":{},"metrics-server":{}}"#).expect("ok");
        assert_eq!(a.get("metrics-server"), Some(&false));
    }

    #[test]
    fn profile_list_runtime() {
        let text = r#"{"invalid":[],"valid":[{"Name":"minikube","Status":"OK","Config":{"Name":"minikube","Memory":4096,"CPUs":2,"Driver":"docker","KubernetesConfig":{"KubernetesVersion":"v1.36.2","ClusterName":"minikube","ContainerRuntime":"docker"},"Nodes":[{"Name":"","IP":"192.168.49.2","Port":8443,"KubernetesVersion":"v1.36.2","ContainerRuntime":"docker","ControlPlane":true,"Worker":true}],"Addons":{"metrics-server":true}},"Active":true,"ActiveKubeContext":true}]}"#;
        let p = parse_profile_list(text, "minikube")
            .expect("ok")
            .expect("listed");
        assert_eq!(p.runtime, "docker");
        assert_eq!((p.cpus, p.memory_mb), (2, 4096));
        assert!(parse_profile_list(text, "other").expect("ok").is_none());
        assert!(
            parse_profile_list(r#"{"invalid":[],"valid":[]}"#, "minikube")
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn addons_enabled_map() {
        let a = parse_addons(r#"{"ingress":{"Profile":"minikube","Status":"disabled"},"metrics-server":{"Profile":"minikube","Status":"enabled","Maintainer":"Kubernetes"}}"#).expect("ok");
        assert_eq!(a.get("ingress"), Some(&false));
        assert_eq!(a.get("metrics-server"), Some(&true));
    }

    #[test]
    fn docker_env_exports() {
        let env = parse_docker_env(
            "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://127.0.0.1:32842\"\nexport DOCKER_CERT_PATH=\"/home/u/.minikube/certs\"\nexport MINIKUBE_ACTIVE_DOCKERD=\"minikube\"\n\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p minikube docker-env)\n",
        );
        assert_eq!(env.len(), 4);
        assert_eq!(
            env[1],
            ("DOCKER_HOST".into(), "tcp://127.0.0.1:32842".into())
        );
    }

    #[test]
    fn docker_env_keeps_a_windows_cert_path_as_it_is() {
        let env = parse_docker_env(
            "export DOCKER_TLS_VERIFY=\"1\"\r\nexport DOCKER_HOST=\"tcp://127.0.0.1:50123\"\r\nexport DOCKER_CERT_PATH=\"C:\\Users\\me\\.minikube\\certs\"\r\nexport MINIKUBE_ACTIVE_DOCKERD=\"minikube\"\r\n",
        );
        assert_eq!(
            env[2],
            (
                "DOCKER_CERT_PATH".into(),
                r"C:\Users\me\.minikube\certs".into()
            )
        );
        assert_eq!(env[3].1, "minikube");
    }

    #[test]
    fn image_tags_match_with_or_without_docker_io() {
        let imgs: Vec<ClusterImage> = parse_json(
            "minikube image ls",
            r#"[{"id":"8d4a","repoDigests":[],"repoTags":["docker.io/library/todo-backend:abc"],"size":"123456789"}]"#,
        )
        .expect("ok");
        assert!(imgs[0].has_tag("todo-backend:abc"));
        assert!(!imgs[0].has_tag("todo-backend:def"));
        assert_eq!(imgs[0].size, "123456789");
    }

    #[test]
    fn start_arguments() {
        let s = StartSpec {
            driver: "docker".into(),
            cpus: 2,
            memory_mb: 4096,
            kubernetes_version: "v1.33.0".into(),
            container_runtime: String::new(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            s.args(),
            [
                "--driver=docker",
                "--cpus=2",
                "--memory=4096",
                "--kubernetes-version=v1.33.0"
            ]
        );
    }
}
