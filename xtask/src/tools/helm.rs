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
