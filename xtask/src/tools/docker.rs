//! `docker`: version and daemon check, image inspection, builds.
//!
//! A [`Docker`] value carries the environment of the daemon it talks to: empty for the local
//! daemon, or the variables parsed from `minikube docker-env` for minikube's daemon. That
//! environment is set on the child process only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Version, parse_json};
use crate::error::failure;
use crate::run::{Call, Output, Runner};

/// Oldest Docker CLI/engine supported (`--format json` templates, BuildKit; Debian 12 ships 20.10).
pub const MIN: Version = Version::new(20, 10, 0);

pub const INSTALL_HINT: &str =
    "install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop";

/// The fix when the client is there but its daemon does not answer.
pub const START_HINT: &str = "start Docker: `sudo systemctl start docker` (Docker Engine on Linux), or open Docker Desktop; then check with `docker info`";

/// The BuildKit builder as `docker buildx version` reports it: `Some(version)` when the buildx
/// plugin answers, `None` when docker has no `buildx` command (the classic builder only).
pub fn buildx_version(r: &Runner) -> Result<Option<String>> {
    let call = Call::new("docker")
        .args(["buildx", "version"])
        .ok_codes(&[0, 1, 125])
        .timeout(Duration::from_secs(20));
    let out = r.run(&call)?;
    Ok(parse_buildx_version(out.code, &out.stdout))
}

/// `github.com/docker/buildx v0.14.1 59582ee` → `v0.14.1`; a failed call → None.
fn parse_buildx_version(code: i32, stdout: &str) -> Option<String> {
    if code != 0 {
        return None;
    }
    let line = stdout.lines().next()?.trim();
    let word = line
        .split_whitespace()
        .find(|w| {
            w.trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
        })
        .unwrap_or(line);
    Some(word.to_string())
}

/// Which daemon a [`Docker`] talks to.
#[derive(Debug, Clone, Default)]
pub struct Docker {
    env: Vec<(String, String)>,
    /// A short name for messages: `local` or the minikube profile.
    pub daemon: String,
}

/// What `docker version` says about the client and the daemon.
#[derive(Debug, Clone, Serialize)]
pub struct DockerVersion {
    pub client: Option<Version>,
    pub server: Option<Version>,
    /// Why the daemon is unreachable (stderr), when it is.
    pub daemon_error: Option<String>,
}

/// The fields of `docker image inspect` the gates need.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default)]
    pub repo_tags: Vec<String>,
    pub size: u64,
    #[serde(default)]
    pub config: ImageConfig,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl ImageInspect {
    /// True when the image's user is set and is neither root's name nor uid 0.
    pub fn runs_as_non_root(&self) -> bool {
        let user = self.config.user.split(':').next().unwrap_or("").trim();
        !(user.is_empty() || user == "root" || user == "0")
    }
}

/// One `docker build`.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// `name:tag`.
    pub image: String,
    pub dockerfile: PathBuf,
    pub target: String,
    pub context: PathBuf,
    pub build_args: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub timeout: Duration,
}

impl Docker {
    /// The local daemon (whatever DOCKER_HOST the user's shell has).
    pub fn local() -> Docker {
        Docker {
            env: Vec::new(),
            daemon: "local".into(),
        }
    }

    /// A daemon reached through the given environment (from `minikube docker-env`).
    pub fn with_env(daemon: impl Into<String>, env: Vec<(String, String)>) -> Docker {
        Docker {
            env,
            daemon: daemon.into(),
        }
    }

    fn call(&self) -> Call {
        self.env
            .iter()
            .fold(Call::new("docker"), |c, (k, v)| c.env(k, v))
    }

    pub fn version(&self, r: &Runner) -> Result<DockerVersion> {
        let call = self
            .call()
            .args(["version", "--format", "{{json .}}"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(20));
        let out = r.run(&call)?;
        parse_version(&out)
    }

    /// The CPUs and memory the daemon gives containers (on Docker Desktop, those of its VM, not
    /// the host's); `None` when the daemon does not answer or names neither.
    pub fn resources(&self, r: &Runner) -> Result<Option<Resources>> {
        let call = self
            .call()
            .args(["info", "--format", "{{json .}}"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(20));
        let out = r.run(&call)?;
        Ok(parse_info(&out))
    }

    /// The image as the daemon knows it, or `None` when it has no such image.
    pub fn inspect_image(&self, r: &Runner, image: &str) -> Result<Option<ImageInspect>> {
        let call = self
            .call()
            .args(["image", "inspect", image, "--format", "{{json .}}"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30));
        let out = r.run(&call)?;
        parse_inspect(image, &out)
    }

    /// Builds one image; progress (BuildKit writes it to stderr) is captured for the error.
    pub fn build(&self, r: &Runner, spec: &BuildSpec) -> Result<Output> {
        let mut call = self
            .call()
            .args([
                "build",
                "--tag",
                &spec.image,
                "--target",
                &spec.target,
                "--file",
            ])
            .arg(spec.dockerfile.display().to_string());
        for (k, v) in &spec.build_args {
            call = call.args(["--build-arg".to_string(), format!("{k}={v}")]);
        }
        for (k, v) in &spec.labels {
            call = call.args(["--label".to_string(), format!("{k}={v}")]);
        }
        let hint = format!(
            "fix the error above in {} (target `{}`)",
            spec.dockerfile.display(),
            spec.target
        );
        let call = call
            .arg(spec.context.display().to_string())
            .mutating()
            .timeout(spec.timeout)
            .hint(hint.clone());
        let out = r.run_unchecked(&call)?;
        if out.skipped || out.code == 0 {
            return Ok(out);
        }
        let log = format!("{}\n{}", out.stdout, out.stderr);
        // A base image that cannot be pulled is no fault of the Dockerfile: name it and the
        // ways to provide it.
        let dockerfile = std::fs::read_to_string(&spec.dockerfile).unwrap_or_default();
        if let Some((bases, line)) = pull_failure(&log, &base_images(&dockerfile, &spec.build_args))
        {
            return Err(failure(
                r.redact(&format!(
                    "`{}` could not pull the base image {}: {line}",
                    call.line(),
                    bases
                        .iter()
                        .map(|b| b.describe())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
                provide_hint(&bases, &self.daemon),
            ));
        }
        // A compile error is the useful part, and it is rarely among the last lines: cargo ends
        // with a summary and docker with its own.
        let (what, excerpt) = match compiler_error(&log, COMPILER_ERROR_LINES) {
            Some(e) => ("the compiler said", e),
            None => ("last lines of its output", crate::run::last_lines(&log, 12)),
        };
        Err(failure(
            r.redact(&format!(
                "`{}` failed with exit code {}; {what}:\n  {}",
                call.line(),
                out.code,
                excerpt.replace('\n', "\n  ")
            )),
            hint,
        ))
    }
}

/// A base image a Dockerfile starts from (a `FROM` that is not an earlier stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The image, with `${ARG}` resolved from the build args over the Dockerfile's defaults.
    pub image: String,
    /// The build arg that names it, when the `FROM` line uses one.
    pub arg: Option<String>,
}

impl BaseImage {
    fn describe(&self) -> String {
        match &self.arg {
            Some(a) => format!("`{}` (build arg {a})", self.image),
            None => format!("`{}`", self.image),
        }
    }
}

/// Does a registry have `remote`? (`docker manifest inspect`, read-only; exit 1: no.)
pub fn manifest_exists(r: &Runner, remote: &str) -> Result<bool> {
    let out = r.run(
        &Call::new("docker")
            .args(["manifest", "inspect", remote])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(60)),
    )?;
    Ok(out.code == 0)
}

/// Is `image` in the local daemon? (`docker image inspect`; exit 1: no.)
pub fn image_exists(r: &Runner, image: &str) -> Result<bool> {
    let out = r.run(
        &Call::new("docker")
            .args(["image", "inspect", image, "--format", "{{.Id}}"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    Ok(out.code == 0)
}

/// `docker tag LOCAL REMOTE`, then `docker push REMOTE`.
pub fn tag_and_push(r: &Runner, local_image: &str, remote: &str) -> Result<()> {
    r.run(
        &Call::new("docker")
            .args(["tag", local_image, remote])
            .mutating(),
    )?;
    r.run(
        &Call::new("docker")
            .args(["push", remote])
            .mutating()
            .timeout(Duration::from_secs(1800))
            .hint(format!(
                "log in to the registry first (`docker login {}`), and check that the path exists",
                remote.split('/').next().unwrap_or(remote)
            )),
    )?;
    Ok(())
}

/// The base images of a Dockerfile, in order, each once.
pub fn base_images(dockerfile: &str, build_args: &[(String, String)]) -> Vec<BaseImage> {
    let mut defaults: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut out: Vec<BaseImage> = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        if keyword.eq_ignore_ascii_case("ARG") {
            if let Some((k, v)) = words.next().and_then(|kv| kv.split_once('=')) {
                defaults
                    .entry(k.to_string())
                    .or_insert_with(|| v.trim_matches('"').to_string());
            }
        } else if keyword.eq_ignore_ascii_case("FROM") {
            let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
            let Some(from) = rest.first() else {
                continue;
            };
            let arg = from
                .strip_prefix("${")
                .and_then(|a| a.strip_suffix('}'))
                .or_else(|| from.strip_prefix('$'))
                .map(String::from);
            let image = match &arg {
                Some(a) => build_args
                    .iter()
                    .find(|(k, _)| k == a)
                    .map(|(_, v)| v.clone())
                    .or_else(|| defaults.get(a).cloned())
                    .unwrap_or_default(),
                None => from.to_string(),
            };
            let earlier_stage = stages.contains(&image);
            if let [_, as_kw, name, ..] = rest.as_slice()
                && as_kw.eq_ignore_ascii_case("AS")
            {
                stages.push(name.to_string());
            }
            if !image.is_empty()
                && image != "scratch"
                && !earlier_stage
                && !out.iter().any(|b| b.image == image)
            {
                out.push(BaseImage { image, arg });
            }
        }
    }
    out
}

/// What registries and builders say when an image cannot be pulled.
const PULL_FAILURES: &[&str] = &[
    "failed to resolve source metadata",
    "pull access denied",
    "manifest unknown",
    "not found: manifest",
    "error pulling image",
    "no such host",
    "failed to do request",
    "tls handshake timeout",
    "repository does not exist",
    "toomanyrequests",
    "dial tcp",
];

/// When a failed build's log says a base image could not be pulled: the base images it names
/// (all of them when it names none) and the log line that says so.
pub fn pull_failure<'a>(log: &str, bases: &'a [BaseImage]) -> Option<(Vec<&'a BaseImage>, String)> {
    let line = log.lines().find(|l| {
        let lower = l.to_ascii_lowercase();
        PULL_FAILURES.iter().any(|m| lower.contains(m))
    })?;
    let named: Vec<&BaseImage> = bases
        .iter()
        .filter(|b| {
            log.contains(&b.image) || log.contains(&format!("docker.io/library/{}", b.image))
        })
        .collect();
    let bases: Vec<&BaseImage> = if named.is_empty() {
        bases.iter().collect()
    } else {
        named
    };
    if bases.is_empty() {
        return None;
    }
    Some((bases, line.trim().to_string()))
}

/// The ways to provide base images that cannot be pulled.
fn provide_hint(bases: &[&BaseImage], daemon: &str) -> String {
    let args: Vec<String> = bases
        .iter()
        .filter_map(|b| b.arg.as_ref().map(|a| format!("{a} = \"IMAGE\"")))
        .collect();
    let names: Vec<&str> = bases.iter().map(|b| b.image.as_str()).collect();
    let daemon = if daemon.is_empty() || daemon == "local" {
        "the local Docker daemon".to_string()
    } else {
        format!("the Docker daemon the build uses ({daemon})")
    };
    let mut ways = Vec::new();
    if !args.is_empty() {
        ways.push(format!(
            "name an image you can pull or already have under [build.args] in deploy/pipeline.toml ({})",
            args.join(", ")
        ));
    }
    ways.push(format!(
        "put an image of that exact name into {daemon} (`docker pull` where a registry is reachable, `docker load -i FILE`, or `docker tag OTHER {}`)",
        names.first().copied().unwrap_or("IMAGE")
    ));
    ways.push(
        "without any registry, `bash .ci/base-images.sh` makes the project's default base images locally"
            .to_string(),
    );
    format!("provide {}: {}", names.join(" and "), ways.join("; or "))
}

/// How many lines of a compile error a failed build shows.
const COMPILER_ERROR_LINES: usize = 40;

/// The first compile error in a build log (BuildKit's `#12 3.45 ` prefixes removed): from the
/// first `error[...]` or `error:` line, at most `max` lines, up to cargo's `could not compile`.
pub fn compiler_error(log: &str, max: usize) -> Option<String> {
    let lines: Vec<&str> = log.lines().map(strip_buildkit_prefix).collect();
    let start = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with("error[") || (t.starts_with("error:") && !t.contains("could not compile"))
    })?;
    let mut out = Vec::new();
    for l in &lines[start..] {
        out.push(l.trim_end());
        if l.contains("could not compile") || out.len() >= max {
            break;
        }
    }
    Some(out.join("\n"))
}

/// `#12 3.456 text` → `text` (BuildKit); other lines unchanged.
fn strip_buildkit_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('#') else {
        return line;
    };
    let mut parts = rest.splitn(3, ' ');
    let step = parts.next().unwrap_or("");
    let time = parts.next().unwrap_or("");
    let text = parts.next().unwrap_or("");
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    if numeric(step) && numeric(time) {
        text
    } else {
        line
    }
}

/// What a daemon gives its containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub cpus: u32,
    pub memory_mb: u64,
}

/// Reads `NCPU` and `MemTotal` (bytes) from `docker info --format '{{json .}}'`. With the daemon
/// down the command exits 1 and the server fields are empty: `None`, as for any output without
/// both numbers.
fn parse_info(out: &Output) -> Option<Resources> {
    if out.code != 0 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).ok()?;
    let cpus = u32::try_from(v.get("NCPU")?.as_u64()?).ok()?;
    let memory_mb = v.get("MemTotal")?.as_u64()? / (1024 * 1024);
    (cpus > 0 && memory_mb > 0).then_some(Resources { cpus, memory_mb })
}

/// Reads `docker version --format '{{json .}}'`: `Server` is null when the daemon is down.
///
/// When the CLI cannot even set up its client (a `DOCKER_HOST` it cannot parse, the
/// `DOCKER_CERT_PATH` of `minikube docker-env` without its certificates, a missing context)
/// it fails before the template runs: exit 1, nothing on stdout, the reason on stderr. That
/// daemon cannot be reached either, and the reason is what the user needs to see.
pub fn parse_version(out: &Output) -> Result<DockerVersion> {
    if out.code != 0 && !out.stdout.trim_start().starts_with('{') {
        let e = out.stderr.trim();
        return Ok(DockerVersion {
            client: None,
            server: None,
            daemon_error: Some(if e.is_empty() {
                format!("`docker version` exited with code {}", out.code)
            } else {
                crate::run::last_lines(e, 2).replace('\n', " / ")
            }),
        });
    }
    #[derive(Deserialize)]
    struct Part {
        #[serde(rename = "Version")]
        version: String,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "Client")]
        client: Option<Part>,
        #[serde(rename = "Server")]
        server: Option<Part>,
    }
    let raw: Raw = parse_json("docker version", &out.stdout)?;
    let server = raw.server.and_then(|s| Version::find(&s.version));
    let daemon_error = server.is_none().then(|| {
        let e = out.stderr.trim();
        if e.is_empty() {
            "the Docker daemon did not answer".to_string()
        } else {
            e.lines().last().unwrap_or(e).to_string()
        }
    });
    Ok(DockerVersion {
        client: raw.client.and_then(|c| Version::find(&c.version)),
        server,
        daemon_error,
    })
}

/// Reads `docker image inspect NAME --format '{{json .}}'`; a missing image is `None`.
pub fn parse_inspect(image: &str, out: &Output) -> Result<Option<ImageInspect>> {
    if out.code != 0 {
        if out.stderr.contains("No such image") || out.stderr.contains("No such object") {
            return Ok(None);
        }
        return Err(failure(
            format!(
                "`docker image inspect {image}` failed with exit code {}: {}",
                out.code,
                out.stderr.trim()
            ),
            "check that the Docker daemon runs: `docker info`",
        ));
    }
    let first = out
        .stdout
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    parse_json("docker image inspect", first).map(Some)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_compile_error_is_found_in_both_builders_logs() {
        let classic = "Step 12/20 : RUN cargo build\n   Compiling todo-backend v0.1.0\nwarning: unused import\nerror[E0425]: cannot find value `x` in this scope\n --> app/backend/src/main.rs:3:5\n  |\n3 |     x\n  |     ^ not found in this scope\n\nerror: could not compile `todo-backend` (bin \"todo-backend\") due to 1 previous error\nThe command '/bin/sh -c cargo build' returned a non-zero code: 101";
        let e = super::compiler_error(classic, 40).expect("found");
        assert!(e.starts_with("error[E0425]: cannot find value `x`"), "{e}");
        assert!(e.contains("app/backend/src/main.rs:3:5"), "{e}");
        assert!(e.ends_with("due to 1 previous error"), "{e}");
        let buildkit = "#12 41.20 error[E0308]: mismatched types\n#12 41.20  --> app/frontend/src/lib.rs:9:1\n#12 41.30 error: could not compile `todo-frontend`\n#12 ERROR: process \"/bin/sh -c cargo build\" did not complete";
        let e = super::compiler_error(buildkit, 40).expect("found");
        assert_eq!(
            e,
            "error[E0308]: mismatched types\n --> app/frontend/src/lib.rs:9:1\nerror: could not compile `todo-frontend`"
        );
        assert!(super::compiler_error("ERROR: failed to solve: no such file", 40).is_none());
    }

    use super::*;

    #[test]
    fn info_gives_the_daemons_cpus_and_memory_with_lf_or_crlf() {
        // Trimmed from Docker Desktop's `docker info --format '{{json .}}'` (a 2 GiB VM).
        let info = r#"{"ID":"a1b2","Containers":3,"Driver":"overlay2","ServerVersion":"28.3.0","OSType":"linux","NCPU":4,"MemTotal":2063597568,"Name":"docker-desktop","ClientInfo":{"Plugins":[]},"ServerErrors":null}"#;
        for end in ["\n", "\r\n"] {
            assert_eq!(
                parse_info(&out(0, &format!("{info}{end}"), "")),
                Some(Resources {
                    cpus: 4,
                    memory_mb: 1968
                })
            );
        }
        // Daemon down: the JSON still comes, with empty server fields, and the exit code is 1.
        let down = r#"{"ID":"","NCPU":0,"MemTotal":0,"ServerErrors":["Cannot connect to the Docker daemon"]}"#;
        assert_eq!(parse_info(&out(1, down, "Cannot connect")), None);
        assert_eq!(parse_info(&out(0, down, "")), None);
        assert_eq!(parse_info(&out(0, "28.3.0\n", "")), None);
        assert_eq!(parse_info(&out(0, r#"{"NCPU":"4"}"#, "")), None);
    }

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
            ..Output::default()
        }
    }

    #[test]
    fn version_with_daemon_down() {
        let v = parse_version(&out(
            1,
            r#"{"Client":{"Platform":{"Name":"Docker Engine - Community"},"Version":"28.3.0","ApiVersion":"1.51","DefaultAPIVersion":"1.51","GitCommit":"38b7060","GoVersion":"go1.24.4","Os":"linux","Arch":"amd64","BuildTime":"...","Context":"default"},"Server":null}"#,
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
        ))
        .expect("parses");
        assert_eq!(v.client, Some(Version::new(28, 3, 0)));
        assert_eq!(v.server, None);
        assert!(v.daemon_error.expect("error").contains("Cannot connect"));
    }

    #[test]
    fn version_when_the_client_cannot_be_set_up() {
        // The CLI fails while it sets up its client, before the template runs: nothing on
        // stdout, the reason on stderr, exit 1 (here: the certificates `minikube docker-env`
        // pointed DOCKER_CERT_PATH at are gone).
        let v = parse_version(&out(
            1,
            "",
            "unable to resolve docker endpoint: open /home/u/.minikube/certs/ca.pem: no such file or directory\n",
        ))
        .expect("an answer, not a parse error");
        assert_eq!((v.client, v.server), (None, None));
        assert!(v.daemon_error.expect("error").contains("ca.pem"));
        // Exit 0 with something else than JSON is still a parse error that names the command.
        let e = parse_version(&out(0, "Docker version 28.3.0\n", ""))
            .expect_err("not JSON")
            .to_string();
        assert!(e.contains("`docker version`"), "{e}");
    }

    #[test]
    fn version_with_daemon_up() {
        let v = parse_version(&out(
            0,
            r#"{"Client":{"Version":"28.3.0","ApiVersion":"1.51"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Components":[],"Version":"28.3.0","ApiVersion":"1.51","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}}"#,
            "",
        ))
        .expect("parses");
        assert_eq!(v.server, Some(Version::new(28, 3, 0)));
        assert!(v.daemon_error.is_none());
    }

    #[test]
    fn inspect_reads_user_size_and_labels() {
        let i = parse_inspect(
            "myapp:dev",
            &out(
                0,
                r#"{"Id":"sha256:8d4a","RepoTags":["myapp:dev"],"RepoDigests":[],"Created":"2025-01-01T00:00:00Z","Size":123456789,"Config":{"User":"10001","Labels":{"org.opencontainers.image.source":"x"},"Env":[],"Cmd":[]},"Architecture":"amd64","Os":"linux"}"#,
                "",
            ),
        )
        .expect("parses")
        .expect("present");
        assert_eq!(i.size, 123_456_789);
        assert!(i.runs_as_non_root());
    }

    #[test]
    fn inspect_root_and_unset_users_are_root() {
        for user in ["", "root", "0", "0:0"] {
            let json = format!(
                r#"{{"Id":"sha256:1","Size":1,"Config":{{"User":"{user}","Labels":null}}}}"#
            );
            let i = parse_inspect("x", &out(0, &json, ""))
                .expect("parses")
                .expect("present");
            assert!(!i.runs_as_non_root(), "{user:?}");
        }
    }

    #[test]
    fn base_images_resolve_args_and_skip_stages() {
        let dockerfile = "ARG RUST_IMAGE=rust:1.95-slim-bookworm\nARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot\nFROM ${RUST_IMAGE} AS deps\nFROM deps AS build\nFROM --platform=linux/amd64 ${RUNTIME_IMAGE} AS runtime\nFROM runtime AS backend\nFROM debian:bookworm-slim\nFROM scratch AS empty\n";
        let args = vec![("RUNTIME_IMAGE".to_string(), "mine:1".to_string())];
        let bases = super::base_images(dockerfile, &args);
        let names: Vec<(&str, Option<&str>)> = bases
            .iter()
            .map(|b| (b.image.as_str(), b.arg.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("rust:1.95-slim-bookworm", Some("RUST_IMAGE")),
                ("mine:1", Some("RUNTIME_IMAGE")),
                ("debian:bookworm-slim", None)
            ]
        );
    }

    #[test]
    fn a_pull_failure_names_the_base_image_from_either_builder() {
        let bases = super::base_images(
            "ARG RUST_IMAGE=rust:1.95-slim-bookworm\nARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot\nFROM ${RUST_IMAGE} AS deps\nFROM ${RUNTIME_IMAGE}\n",
            &[],
        );
        let buildkit = "#3 ERROR: failed to resolve source metadata for docker.io/library/rust:1.95-slim-bookworm: failed to do request: Head \"https://registry-1.docker.io/v2/library/rust/manifests/1.95-slim-bookworm\": dial tcp: lookup registry-1.docker.io: no such host";
        let (named, line) = super::pull_failure(buildkit, &bases).expect("a pull failure");
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].arg.as_deref(), Some("RUST_IMAGE"));
        assert!(line.contains("no such host"));
        let classic = "Step 1/20 : ARG RUST_IMAGE=rust:1.95-slim-bookworm\nStep 3/20 : FROM ${RUST_IMAGE} AS deps\nGet \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 127.0.0.11:53: no such host";
        assert!(super::pull_failure(classic, &bases).is_some());
        let hint = super::provide_hint(&named, "local");
        for want in [
            "RUST_IMAGE = \"IMAGE\"",
            "[build.args]",
            "docker tag OTHER rust:1.95-slim-bookworm",
            ".ci/base-images.sh",
        ] {
            assert!(hint.contains(want), "{want}: {hint}");
        }
        assert!(super::pull_failure("error[E0308]: mismatched types", &bases).is_none());
    }

    #[test]
    fn buildx_version_is_read_or_absent() {
        assert_eq!(
            super::parse_buildx_version(0, "github.com/docker/buildx v0.14.1 59582ee\n"),
            Some("v0.14.1".into())
        );
        assert_eq!(
            super::parse_buildx_version(0, "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3\r\n"),
            Some("0.13.1+ds1".into())
        );
        assert_eq!(super::parse_buildx_version(1, ""), None);
    }

    #[test]
    fn missing_image_in_both_client_wordings() {
        for err in [
            "Error: No such image: myapp:dev\n",
            "Error response from daemon: No such image: myapp:latest\n",
        ] {
            assert!(
                parse_inspect("myapp:dev", &out(1, "", err))
                    .expect("ok")
                    .is_none()
            );
        }
        assert!(parse_inspect("x", &out(1, "", "Cannot connect to the Docker daemon")).is_err());
    }
}
