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
    let out = kube.runner.run(
        &kubectl(kube)
            .args([
                "api-resources",
                &format!("--api-group={group}"),
                "--no-headers",
            ])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    api_resources_rows(out.code, &out.stdout, &out.stderr).map_err(|stderr| {
        crate::tools::read_failed(
            &format!("kubectl api-resources --api-group={group}"),
            &stderr,
            super::reachability_hint(Some(kube.context)),
        )
    })
}

/// The rows of `kubectl api-resources`, or its stderr when it failed. When one API group's
/// discovery fails (an aggregated API such as `metrics.k8s.io` whose server is not ready yet,
/// which the metrics-server addon causes for a while after it starts) kubectl still prints the
/// rows of every group it could read, then `error: unable to retrieve the complete list of
/// server APIs: ...`, and exits 1: those rows are the answer for the other groups.
fn api_resources_rows(code: i32, stdout: &str, stderr: &str) -> Result<String, String> {
    if code == 0 || stderr.contains("unable to retrieve the complete list of server APIs") {
        Ok(stdout.to_string())
    } else {
        Err(stderr.to_string())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resources_keeps_the_rows_when_another_group_fails_discovery() {
        // kubectl prints what it could discover, then the aggregated API that did not answer
        // on stderr, and exits 1.
        let rows = "agents                 kagent.dev/v1alpha2   true   Agent\n";
        let partial = "error: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request\n";
        assert_eq!(api_resources_rows(1, rows, partial).as_deref(), Ok(rows));
        assert_eq!(api_resources_rows(0, rows, "").as_deref(), Ok(rows));
        // An unreachable cluster is still a failure.
        let refused = "The connection to the server 127.0.0.1:32771 was refused - did you specify the right host or port?\n";
        assert_eq!(api_resources_rows(1, "", refused), Err(refused.to_string()));
    }
}
