//! `deploy/pipeline.toml`, environment overrides and `.env` secrets.
//!
//! Precedence for every setting: command-line flag > environment variable > file > built-in
//! default. The file is strict: an unknown key or a wrong type fails with the file, the key and
//! what is allowed (exit 2). Secrets never live in the file: they come from `.env` (or the
//! environment) and are only ever passed to tools on stdin or in a child's environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::usage;
use crate::flags::{Global, Strategy};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub cluster: Cluster,
    pub build: Build,
    pub images: BTreeMap<String, Image>,
    pub deploy: Deploy,
    /// The kubectl context named by `--context` or `XTASK_CONTEXT` (not a file setting);
    /// [`Config::context`] resolves it.
    #[serde(skip)]
    pub explicit_context: Option<String>,
    /// `DOCKER_BUILDKIT` as the Docker CLI reads it (Go's boolean spellings); `None` when unset
    /// or unreadable, and the CLI's own default applies.
    #[serde(skip)]
    pub docker_buildkit: Option<bool>,
}

/// The minikube profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    pub profile: String,
    pub driver: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub kubernetes_version: String,
    /// `docker`, `containerd` or `cri-o`; empty leaves minikube's default.
    pub container_runtime: String,
    pub addons: Vec<String>,
    pub start_timeout_secs: u64,
    /// How long the gates wait for the node and kube-system pods.
    pub ready_timeout_secs: u64,
}

impl Default for Cluster {
    fn default() -> Cluster {
        Cluster {
            profile: "todo-chatbot".into(),
            driver: "docker".into(),
            cpus: 2,
            memory_mb: 4096,
            kubernetes_version: "v1.33.1".into(),
            container_runtime: String::new(),
            addons: vec!["metrics-server".into()],
            start_timeout_secs: 900,
            ready_timeout_secs: 300,
        }
    }
}

/// How images are built and reach the cluster.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Build {
    pub strategy: Strategy,
    pub dockerfile: PathBuf,
    /// The build context, relative to the project root.
    pub context: PathBuf,
    /// Files and folders every image is built from (manifests, lock file, shared crates); each
    /// image adds its own (`images.<key>.inputs`). With the Dockerfile, the target and the build
    /// args they make up the image tag. `target*` folders, dot-entries and editor backups inside
    /// folders are skipped.
    pub inputs: Vec<PathBuf>,
    /// `--build-arg` values (e.g. RUST_IMAGE, RUNTIME_IMAGE); they are part of the tag.
    pub args: BTreeMap<String, String>,
    pub timeout_secs: u64,
}

impl Default for Build {
    fn default() -> Build {
        Build {
            strategy: Strategy::Auto,
            dockerfile: "deploy/docker/Dockerfile".into(),
            context: ".".into(),
            inputs: [
                ".dockerignore",
                "Cargo.toml",
                "Cargo.lock",
                ".cargo",
                "app/backend/Cargo.toml",
                "app/frontend/Cargo.toml",
                "crates",
                "xtask/Cargo.toml",
                "deploy/tests/Cargo.toml",
                "deploy/docker/skeleton.sh",
            ]
            .map(PathBuf::from)
            .to_vec(),
            args: BTreeMap::new(),
            timeout_secs: 3600,
        }
    }
}

/// One image built from a Dockerfile target.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub name: String,
    pub target: String,
    /// Largest acceptable image size in MB (10^6 bytes).
    pub budget_mb: u64,
    /// Files and folders only this image is built from (its app), on top of `build.inputs`: a
    /// change here rebuilds and rolls this image alone.
    #[serde(default)]
    pub inputs: Vec<PathBuf>,
}

/// Where and how the app is deployed (stage 4).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deploy {
    pub namespace: String,
    pub release: String,
    pub chart: PathBuf,
    pub manifests: PathBuf,
    pub values: Vec<PathBuf>,
    pub timeout_secs: u64,
    /// Where the backend keeps its data: `auto` (external when `.env` has a postgres
    /// DATABASE_URL, else sqlite), `sqlite`, `internal` (PostgreSQL in the cluster) or `external`.
    pub database: String,
    /// The in-cluster PostgreSQL image (database `internal`).
    pub postgres_image: String,
}

impl Default for Deploy {
    fn default() -> Deploy {
        Deploy {
            namespace: "todo".into(),
            release: "todo-chatbot".into(),
            chart: "deploy/helm/todo-chatbot".into(),
            manifests: "deploy/k8s".into(),
            values: Vec::new(),
            timeout_secs: 300,
            database: "auto".into(),
            postgres_image: "todo-postgres:15".into(),
        }
    }
}

/// The build argument that picks the Cargo profile the images are compiled with.
pub const PROFILE_ARG: &str = "PROFILE";
/// Its value for iteration images (`build --fast`, `dev`); the Dockerfile's default is `release`.
pub const ITERATION_PROFILE: &str = "iter";

impl Config {
    /// Builds (and deploys) iteration images: the build arg is part of every tag, so release and
    /// iteration images of the same tree never share a tag.
    pub fn use_iteration_profile(&mut self) {
        self.build
            .args
            .insert(PROFILE_ARG.into(), ITERATION_PROFILE.into());
    }

    /// True when the images are built with the iteration profile.
    pub fn iteration(&self) -> bool {
        self.build.args.get(PROFILE_ARG).map(String::as_str) == Some(ITERATION_PROFILE)
    }

    /// The built-in images when the file names none.
    fn default_images() -> BTreeMap<String, Image> {
        [
            ("backend", "todo-backend", 25),
            ("frontend", "todo-frontend", 25),
        ]
        .into_iter()
        .map(|(key, name, budget)| {
            (
                key.to_string(),
                Image {
                    name: name.into(),
                    target: key.into(),
                    budget_mb: budget,
                    inputs: vec![PathBuf::from(format!("app/{key}"))],
                },
            )
        })
        .collect()
    }

    /// Reads the file (absent means built-in defaults), then applies environment and flags.
    pub fn load(
        root: &Path,
        global: &Global,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let path = root.join(&global.config);
        let mut config = if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                usage(
                    format!("could not read {}: {e}", path.display()),
                    "check the file's permissions or pass another one with --config",
                )
            })?;
            Config::parse(&text, &global.config)?
        } else if global.config == Path::new("deploy/pipeline.toml") {
            Config::default()
        } else {
            return Err(usage(
                format!("the configuration file {} does not exist", path.display()),
                "pass an existing file with --config, or drop the flag to use deploy/pipeline.toml",
            ));
        };
        if config.images.is_empty() {
            config.images = Config::default_images();
        }
        config.apply_env(env)?;
        config.apply_flags(global);
        config.validate(&global.config)?;
        Ok(config)
    }

    /// Parses the file's text; errors name the file, the key and what is allowed.
    pub fn parse(text: &str, file: &Path) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let (place, key) = match e.span() {
                Some(s) => {
                    let at = s.start.min(text.len());
                    let line = text[..at].matches('\n').count() + 1;
                    (format!(" (line {line})"), key_at(text, at))
                }
                None => (String::new(), None),
            };
            let key = key.map(|k| format!("key `{k}`: ")).unwrap_or_default();
            usage(
                format!(
                    "invalid configuration in {}{place}: {key}{msg}",
                    file.display()
                ),
                "fix the key in the file; the keys and their allowed values are commented in deploy/pipeline.toml",
            )
        })
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(v) = get("XTASK_PROFILE") {
            self.cluster.profile = v;
        }
        if let Some(v) = get("XTASK_NAMESPACE") {
            self.deploy.namespace = v;
        }
        if let Some(v) = get("XTASK_CONTEXT") {
            self.explicit_context = Some(v);
        }
        if let Some(v) = get("XTASK_DRIVER") {
            self.cluster.driver = v;
        }
        if let Some(v) = get("XTASK_CPUS") {
            self.cluster.cpus = v.parse().map_err(|_| {
                usage(
                    format!("XTASK_CPUS={v:?} is not a whole number"),
                    "set XTASK_CPUS to a number of CPUs such as 2, or unset it",
                )
            })?;
        }
        if let Some(v) = get("XTASK_MEMORY_MB") {
            self.cluster.memory_mb = v.parse().map_err(|_| {
                usage(
                    format!("XTASK_MEMORY_MB={v:?} is not a whole number"),
                    "set XTASK_MEMORY_MB to megabytes such as 4096, or unset it",
                )
            })?;
        }
        self.docker_buildkit = get("DOCKER_BUILDKIT").and_then(|v| match v.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        });
        if let Some(v) = get("XTASK_BUILD_STRATEGY") {
            self.build.strategy = match v.as_str() {
                "auto" => Strategy::Auto,
                "docker-env" => Strategy::DockerEnv,
                "image-load" => Strategy::ImageLoad,
                _ => {
                    return Err(usage(
                        format!("XTASK_BUILD_STRATEGY={v:?} is not a strategy"),
                        "use auto, docker-env or image-load",
                    ));
                }
            };
        }
        Ok(())
    }

    /// The BuildKit variant of the Dockerfile: `buildkit.Dockerfile` beside a Dockerfile named
    /// `Dockerfile`, when there is one (the same build plus cache mounts for the Cargo registry
    /// and target directory). `build` uses it when the engine builds with BuildKit; both files
    /// are image inputs, so the tag does not depend on the builder.
    pub fn buildkit_dockerfile(&self, root: &Path) -> Option<PathBuf> {
        let dockerfile = &self.build.dockerfile;
        if dockerfile.file_name() != Some(std::ffi::OsStr::new("Dockerfile")) {
            return None;
        }
        let buildkit = dockerfile.with_file_name("buildkit.Dockerfile");
        root.join(&buildkit).is_file().then_some(buildkit)
    }

    fn apply_flags(&mut self, global: &Global) {
        if let Some(p) = &global.profile {
            self.cluster.profile = p.clone();
        }
        if let Some(n) = &global.namespace {
            self.deploy.namespace = n.clone();
        }
        if let Some(c) = global.context.as_ref().filter(|c| !c.is_empty()) {
            self.explicit_context = Some(c.clone());
        }
    }

    /// The kubectl context every cluster-facing command talks to, resolved once: `--context` >
    /// `XTASK_CONTEXT` > the minikube profile's context (minikube names it after the profile).
    pub fn context(&self) -> &str {
        self.explicit_context
            .as_deref()
            .unwrap_or(&self.cluster.profile)
    }

    /// True when the context was named (flag or environment) rather than taken from the profile.
    pub fn context_is_explicit(&self) -> bool {
        self.explicit_context.is_some()
    }

    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |key: &str, why: &str| {
            usage(
                format!("invalid `{key}` in {}: {why}", file.display()),
                "fix the value in the file (or the flag/variable that overrides it)",
            )
        };
        if self.cluster.profile.is_empty() {
            return Err(bad("cluster.profile", "must not be empty"));
        }
        if self.cluster.cpus == 0 {
            return Err(bad("cluster.cpus", "must be at least 1"));
        }
        if self.cluster.memory_mb < 1800 {
            return Err(bad("cluster.memory_mb", "minikube needs at least 1800 MB"));
        }
        if !matches!(
            self.cluster.container_runtime.as_str(),
            "" | "docker" | "containerd" | "cri-o"
        ) {
            return Err(bad(
                "cluster.container_runtime",
                "allowed: \"\" (minikube's default), docker, containerd, cri-o",
            ));
        }
        for (key, img) in &self.images {
            if img.name.is_empty() || img.target.is_empty() {
                return Err(bad(
                    &format!("images.{key}"),
                    "`name` and `target` must not be empty",
                ));
            }
        }
        if self.deploy.namespace.is_empty() {
            return Err(bad("deploy.namespace", "must not be empty"));
        }
        if !matches!(
            self.deploy.database.as_str(),
            "auto" | "sqlite" | "internal" | "external"
        ) {
            return Err(bad(
                "deploy.database",
                "allowed: auto, sqlite, internal, external",
            ));
        }
        Ok(())
    }

    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs(self.cluster.start_timeout_secs)
    }

    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs(self.cluster.ready_timeout_secs)
    }
}

/// The dotted key written on the line holding byte `at` (`[table]` headers before it count).
fn key_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    if line.starts_with('[') {
        return Some(
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string(),
        );
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// Secret names the xtask knows; their values are redacted wherever they come from.
pub const SECRET_NAMES: &[&str] = &["DATABASE_URL", "OPENAI_API_KEY", "AUTH_SECRET"];

/// `.env` keys whose values are settings, not secrets: a model name must be passable as an
/// argument (`kubectl-ai --model`). A base URL counts only while it carries no credentials.
pub fn is_plain_setting(key: &str, value: &str) -> bool {
    match key {
        "OPENAI_MODEL" => true,
        "OPENAI_BASE_URL" => !value.contains('@'),
        _ => false,
    }
}

/// Reads `.env` (`KEY=VALUE` lines, `#` comments, optional `export ` and quotes). A missing file
/// is empty.
pub fn read_dotenv(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(usage(
                format!("could not read {}: {e}", path.display()),
                "check the file's permissions",
            ));
        }
    };
    parse_dotenv(&text, path)
}

pub fn parse_dotenv(text: &str, path: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(usage(
                format!("{} line {}: expected KEY=VALUE", path.display(), n + 1),
                "see .env.example for the format",
            ));
        };
        let v = v.trim();
        let v = ['"', '\'']
            .iter()
            .find_map(|q| v.strip_prefix(*q).and_then(|x| x.strip_suffix(*q)))
            .unwrap_or(v);
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn global(args: &[&str]) -> Global {
        let mut v = vec!["xtask"];
        v.extend(args);
        v.push("status");
        crate::flags::Xtask::parse_from(v).global
    }

    fn root_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("deploy")).expect("mkdir");
        std::fs::write(dir.path().join("deploy/pipeline.toml"), text).expect("write");
        dir
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let dir = root_with("[cluster]\nprofile = \"from-file\"\n");
        let none = |_: &str| None;
        let env = |k: &str| (k == "XTASK_PROFILE").then(|| "from-env".to_string());
        let c = Config::load(dir.path(), &global(&[]), &none).expect("loads");
        assert_eq!(c.cluster.profile, "from-file");
        let c = Config::load(dir.path(), &global(&[]), &env).expect("loads");
        assert_eq!(c.cluster.profile, "from-env");
        let c =
            Config::load(dir.path(), &global(&["--profile", "from-flag"]), &env).expect("loads");
        assert_eq!(c.cluster.profile, "from-flag");
        let empty = root_with("");
        let c = Config::load(empty.path(), &global(&[]), &none).expect("loads");
        assert_eq!(c.cluster.profile, Cluster::default().profile);
        assert_eq!(c.images.len(), 2);
    }

    #[test]
    fn context_flag_beats_env_beats_profile() {
        let dir = root_with("[cluster]\nprofile = \"from-file\"\n");
        let none = |_: &str| None;
        let env = |k: &str| (k == "XTASK_CONTEXT").then(|| "from-env".to_string());
        let c = Config::load(dir.path(), &global(&[]), &none).expect("loads");
        assert_eq!(c.context(), "from-file");
        assert!(!c.context_is_explicit());
        let c = Config::load(dir.path(), &global(&["--profile", "p2"]), &none).expect("loads");
        assert_eq!(c.context(), "p2", "the profile's context follows --profile");
        let c = Config::load(dir.path(), &global(&[]), &env).expect("loads");
        assert_eq!(c.context(), "from-env");
        let c =
            Config::load(dir.path(), &global(&["--context", "from-flag"]), &env).expect("loads");
        assert_eq!(c.context(), "from-flag");
        assert!(c.context_is_explicit());
    }

    #[test]
    fn unknown_key_names_file_key_and_allowed() {
        let err = Config::parse("[cluster]\ncpu = 2\n", Path::new("deploy/pipeline.toml"))
            .expect_err("rejected");
        let text = crate::error::render(&err);
        assert!(
            text.contains("deploy/pipeline.toml (line 2): key `cluster.cpu`"),
            "{text}"
        );
        assert!(text.contains("cpu"), "{text}");
        assert!(text.contains("cpus"), "names what is allowed: {text}");
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn wrong_type_is_named() {
        let err = Config::parse("[cluster]\ncpus = \"two\"\n", Path::new("p.toml"))
            .expect_err("rejected");
        let text = crate::error::render(&err);
        assert!(
            text.contains("p.toml (line 2): key `cluster.cpus`"),
            "{text}"
        );
        assert!(text.contains("expected u32"), "{text}");
    }

    #[test]
    fn bad_strategy_env_is_a_usage_error() {
        let dir = root_with("");
        let env = |k: &str| (k == "XTASK_BUILD_STRATEGY").then(|| "teleport".to_string());
        let err = Config::load(dir.path(), &global(&[]), &env).expect_err("rejected");
        assert!(crate::error::render(&err).contains("XTASK_BUILD_STRATEGY"));
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn missing_explicit_config_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Config::load(dir.path(), &global(&["--config", "nope.toml"]), &|_| None)
            .expect_err("rejected");
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn dotenv_forms() {
        let m = parse_dotenv(
            "# comment\nOPENAI_API_KEY=sk-1\nexport AUTH_SECRET=\"s p\"\nDATABASE_URL='postgres://u:p@h/db'\n\n",
            Path::new(".env"),
        )
        .expect("parses");
        assert_eq!(m["OPENAI_API_KEY"], "sk-1");
        assert_eq!(m["AUTH_SECRET"], "s p");
        assert_eq!(m["DATABASE_URL"], "postgres://u:p@h/db");
        assert!(parse_dotenv("just words\n", Path::new(".env")).is_err());
    }
}
