//! kubectl calls for the AI tools' cluster access, over a [`Kube`] handle: a short-lived token
//! for a ServiceAccount, the context's cluster entry (to build a kubeconfig around that token),
//! the API versions a group serves, and the raw JSON of one custom resource.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::kube::Kube;
use crate::error::failure;
use crate::run::Call;
use crate::tools::parse_json;

/// `kubectl --context CONTEXT` of the handle.
fn kubectl(kube: &Kube) -> Call {
    Call::new("kubectl").args(["--context", kube.context])
}

/// `kubectl create token SA -n NS --duration D`: the token, read from stdout only. The runner
/// registers it as a secret before anything of the output can be shown, so it is redacted
/// from every log and report from then on. A TokenRequest is not stored in the cluster, so
/// the call is not marked as a change.
pub fn create_token(kube: &Kube, service_account: &str, duration: Duration) -> Result<String> {
    let namespace = kube.namespace;
    let out = kube.runner.run(
        &kubectl(kube)
            .args(["create", "token", service_account, "--namespace", namespace])
            .arg(format!("--duration={}s", duration.as_secs()))
            .secret_stdout()
            .timeout(Duration::from_secs(30))
            .hint(format!(
                "the read-only ServiceAccount {namespace}/{service_account} needs to exist and the cluster to issue tokens (Kubernetes 1.24+); or run with --admin to use your own context"
            )),
    )?;
    let token = out.stdout.trim().to_string();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(failure(
            "`kubectl create token` printed no token",
            "run it by hand with -v to see why",
        ));
    }
    Ok(token)
}

/// The cluster entry (`server`, `certificate-authority-data`, ...) of the handle's context,
/// with file references inlined. Only the cluster is asked for: the user's credentials never
/// leave kubectl.
pub fn cluster_entry(kube: &Kube) -> Result<Value> {
    let context = kube.context;
    let out = kube.runner.run(
        &kubectl(kube)
            .args(["config", "view", "--minify", "--flatten"])
            .args(["--output=jsonpath={.clusters[0].cluster}"])
            .timeout(Duration::from_secs(20)),
    )?;
    let v: Value = parse_json("kubectl config view --minify --flatten", &out.stdout)?;
    if v.get("server").and_then(Value::as_str).is_none() {
        return Err(failure(
            format!("the kube context `{context}` names no cluster server"),
            "check `kubectl config view --minify`",
        ));
    }
    Ok(v)
}

/// `kubectl api-resources --api-group=GROUP --no-headers` (rows are parsed by the caller).
pub fn api_resources(kube: &Kube, group: &str) -> Result<String> {
    Ok(kube
        .runner
        .run(
            &kubectl(kube)
                .args([
                    "api-resources",
                    &format!("--api-group={group}"),
                    "--no-headers",
                ])
                .timeout(Duration::from_secs(30)),
        )?
        .stdout)
}

/// `kubectl api-versions`: every `group/version` the cluster serves.
pub fn api_versions(kube: &Kube) -> Result<Vec<String>> {
    Ok(kube
        .runner
        .run(
            &kubectl(kube)
                .arg("api-versions")
                .timeout(Duration::from_secs(30)),
        )?
        .stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// `kubectl get RESOURCE NAME -n NS -o json` in the handle's namespace, or `None` when it
/// does not exist.
pub fn get_json(kube: &Kube, resource: &str, name: &str) -> Result<Option<String>> {
    let namespace = kube.namespace;
    let out = kube.runner.run(
        &kubectl(kube)
            .args([
                "get",
                resource,
                name,
                "--namespace",
                namespace,
                "-o",
                "json",
            ])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    if out.code == 0 {
        return Ok(Some(out.stdout));
    }
    if out.stderr.contains("(NotFound)") {
        return Ok(None);
    }
    Err(crate::tools::read_failed(
        &format!("kubectl get {resource} {name} -n {namespace}"),
        &out.stderr,
        super::reachability_hint(Some(kube.context)),
    ))
}
