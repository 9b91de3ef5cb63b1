//! Stage 3, `build`: the backend and frontend images, tagged with a digest of their inputs, made
//! visible to the cluster without a registry.
//!
//! Strategy (setting `build.strategy`, flag `--strategy`): `docker-env` builds against
//! minikube's Docker daemon (its variables set on the docker child only); `image-load` builds
//! with the local daemon and runs `minikube image load`; `auto` picks docker-env when the
//! cluster's container runtime is Docker. `--no-cluster` builds into the local daemon only.
//! Gates: each image present where the cluster looks, non-root, within its size budget.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::{GateResult, Report, Stage, execute};
use crate::config::{Config, ITERATION_PROFILE, Image, PROFILE_ARG};
use crate::ctx::Ctx;
use crate::digest;
use crate::error::{WithHelp, failure, usage};
use crate::flags::{self, Strategy};
use crate::project::images::{DesiredImage, desired_images, size_gate};
use crate::tools::docker::{BuildSpec, Docker};
use crate::tools::minikube::{self, ProfileState};
use crate::tools::{self, ai};

const REVIEW_PROMPT: &str = "Review this Dockerfile (read from stdin) for security, image size and build caching. \
List concrete problems with the line they are on and a fix. Answer in Markdown.";

pub fn run(cx: &Ctx, f: &flags::Build) -> Result<i32> {
    execute(cx, &mut BuildStage::new(cx.config()?, f)?)
}

fn select(config: &Config, wanted: &[String]) -> Result<Vec<(String, Image)>> {
    for w in wanted {
        if !config.images.contains_key(w) {
            return Err(usage(
                format!("--image {w}: no such image in the configuration"),
                format!(
                    "use one of: {}",
                    config.images.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(config
        .images
        .iter()
        .filter(|(k, _)| wanted.is_empty() || wanted.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

pub struct BuildStage {
    config: Config,
    images: Vec<(String, Image)>,
    no_cluster: bool,
    review: bool,
    /// The setting; resolved to docker-env or image-load in preflight.
    strategy: Strategy,
    /// The daemon images are built with.
    docker: Docker,
    /// Each image's inputs as observed, by key (kept after a build).
    inputs: std::collections::BTreeMap<String, DesiredImage>,
    /// The BuildKit variant of the Dockerfile, when the engine builds with BuildKit (preflight).
    buildkit: Option<PathBuf>,
}

/// Where the images must end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The local daemon only (`--no-cluster`).
    Local,
    /// Built inside minikube's Docker daemon.
    DockerEnv,
    /// Built locally, then `minikube image load`.
    ImageLoad,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageState {
    pub key: String,
    /// `name:tag`.
    pub image: String,
    pub digest: String,
    /// The daemon that builds has it.
    pub built: bool,
    /// When not built: what changed since the last build of this image.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// The cluster's runtime has it (image-load only).
    pub in_cluster: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub target: Target,
    pub daemon: String,
    pub images: Vec<ImageState>,
    pub inputs: usize,
    /// `docker ai` version, when `--review` asked for it and it is there.
    pub gordon: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Build {
        key: String,
        image: String,
        digest: String,
        why: String,
    },
    Load {
        image: String,
    },
    Review {
        gordon: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Build {
                key, image, why, ..
            } => {
                write!(f, "build {image} (target {key})")?;
                if !why.is_empty() {
                    write!(f, ": {why}")?;
                }
                Ok(())
            }
            Step::Load { image } => write!(f, "load {image} into minikube"),
            Step::Review { .. } => write!(f, "ask docker ai to review the Dockerfile"),
        }
    }
}

/// The plan for the observed images (pure, unit-tested).
pub fn plan(observed: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    for i in &observed.images {
        if !i.built {
            steps.push(Step::Build {
                key: i.key.clone(),
                image: i.image.clone(),
                digest: i.digest.clone(),
                why: i.why.clone(),
            });
        }
        if observed.target == Target::ImageLoad && i.in_cluster != Some(true) {
            steps.push(Step::Load {
                image: i.image.clone(),
            });
        }
    }
    if let Some(g) = &observed.gordon {
        steps.push(Step::Review { gordon: g.clone() });
    }
    steps
}

impl BuildStage {
    /// The stage for `config` and the command-line flags (also what `up` runs).
    pub fn new(mut config: Config, f: &flags::Build) -> Result<BuildStage> {
        if f.fast {
            config.use_iteration_profile();
        }
        let strategy = f.strategy.unwrap_or(config.build.strategy);
        let images = select(&config, &f.images)?;
        Ok(BuildStage {
            config,
            images,
            no_cluster: f.no_cluster,
            review: f.review,
            strategy,
            docker: Docker::local(),
            inputs: std::collections::BTreeMap::new(),
            buildkit: None,
        })
    }

    fn profile(&self) -> &str {
        &self.config.cluster.profile
    }

    fn target(&self) -> Target {
        if self.no_cluster {
            Target::Local
        } else if self.strategy == Strategy::DockerEnv {
            Target::DockerEnv
        } else {
            Target::ImageLoad
        }
    }

    /// The Dockerfile `docker build` gets: the BuildKit variant when preflight chose it.
    fn dockerfile(&self, cx: &Ctx) -> PathBuf {
        cx.root.join(
            self.buildkit
                .as_ref()
                .unwrap_or(&self.config.build.dockerfile),
        )
    }

    fn spec(&self, cx: &Ctx, key: &str, image: &str, digest: &str) -> Result<BuildSpec> {
        let img = self
            .images
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, i)| i)
            .ok_or_else(|| anyhow::anyhow!("no image `{key}`"))?;
        Ok(BuildSpec {
            image: image.to_string(),
            dockerfile: self.dockerfile(cx),
            target: img.target.clone(),
            context: cx.root.join(&self.config.build.context),
            build_args: self.config.build.args.clone().into_iter().collect(),
            labels: vec![
                ("org.opencontainers.image.title".into(), img.name.clone()),
                ("io.todo-chatbot.inputs-digest".into(), digest.to_string()),
            ],
            timeout: Duration::from_secs(self.config.build.timeout_secs),
        })
    }

    /// Is `image` where the cluster (or, with --no-cluster, the local daemon) looks?
    fn present_for_cluster(&self, cx: &Ctx, image: &str) -> Result<bool> {
        Ok(match self.target() {
            Target::Local | Target::DockerEnv => {
                self.docker.inspect_image(&cx.runner, image)?.is_some()
            }
            Target::ImageLoad => minikube::images(&cx.runner, self.profile())?
                .iter()
                .any(|i| i.has_tag(image)),
        })
    }
}

impl Stage for BuildStage {
    type Observed = Observed;
    type Step = Step;

    fn name(&self) -> &'static str {
        "build"
    }

    fn preflight(&mut self, cx: &Ctx, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        tools::require("docker", tools::docker::INSTALL_HINT)?;
        let dockerfile = self.dockerfile(cx);
        if !dockerfile.is_file() {
            return Err(usage(
                format!("the Dockerfile {} does not exist", dockerfile.display()),
                "set `build.dockerfile` in deploy/pipeline.toml",
            ));
        }
        if self.config.iteration() {
            let text = std::fs::read_to_string(&dockerfile)?;
            if !declares_arg(&text, PROFILE_ARG) {
                return Err(usage(
                    format!(
                        "the iteration profile needs `ARG {PROFILE_ARG}` in {}, which has none",
                        self.config.build.dockerfile.display()
                    ),
                    format!(
                        "declare `ARG {PROFILE_ARG}=release` in the build stage and pass it to `cargo build --profile`, or build without --fast"
                    ),
                ));
            }
            report.note(
                cx,
                format!("iteration profile: --build-arg {PROFILE_ARG}={ITERATION_PROFILE}"),
            );
        }
        if !self.no_cluster {
            tools::require(
                "minikube",
                "install minikube, or build without a cluster: `cargo xtask build --no-cluster`",
            )?;
            let profile = self.profile().to_string();
            if minikube::status(r, &profile)? != ProfileState::Running {
                return Err(failure(
                    format!("the minikube profile `{profile}` is not running"),
                    "run `cargo xtask setup` first, or `cargo xtask build --no-cluster`",
                ));
            }
            let runtime = minikube::profile_config(r, &profile)?
                .map(|c| c.runtime)
                .unwrap_or_default();
            let resolved = match (self.strategy, runtime.as_str()) {
                (Strategy::Auto, "docker") => Strategy::DockerEnv,
                (Strategy::Auto, _) => Strategy::ImageLoad,
                (Strategy::DockerEnv, rt) if rt != "docker" => {
                    return Err(usage(
                        format!(
                            "strategy docker-env needs the docker container runtime, but profile `{profile}` runs `{rt}`"
                        ),
                        "use `--strategy image-load` or `build.strategy = \"auto\"`",
                    ));
                }
                (s, _) => s,
            };
            let why = match self.strategy {
                Strategy::Auto => format!("auto: the cluster's container runtime is `{runtime}`"),
                _ => "set in the configuration or by flag".to_string(),
            };
            self.strategy = resolved;
            report.note(
                cx,
                format!(
                    "images reach the cluster by {} ({why})",
                    if resolved == Strategy::DockerEnv {
                        "docker-env"
                    } else {
                        "image-load"
                    }
                ),
            );
            if resolved == Strategy::DockerEnv {
                let env = minikube::docker_env(r, &profile)?;
                cx.ui.detail(&format!(
                    "docker-env: {}",
                    env.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                self.docker = Docker::with_env(format!("minikube ({profile})"), env);
            }
        }
        let v = self.docker.version(r)?;
        if let Some(e) = v.daemon_error {
            return Err(failure(
                format!(
                    "the Docker daemon ({}) does not answer: {e}",
                    self.docker.daemon
                ),
                "start Docker, or for minikube's daemon run `cargo xtask setup`",
            ));
        }
        if let Some(file) = self.config.buildkit_dockerfile(&cx.root) {
            // As the CLI decides: DOCKER_BUILDKIT when set; otherwise a 23+ client builds with
            // BuildKit when its buildx plugin is there, an older one with the classic builder
            // (which rejects the cache mounts).
            let buildkit = match self.config.docker_buildkit {
                Some(on) => on,
                None => {
                    v.client.is_some_and(|c| c.major >= 23)
                        && tools::docker::buildx_version(r).ok().flatten().is_some()
                }
            };
            if buildkit {
                report.note(
                    cx,
                    format!(
                        "BuildKit builds the images: {} (cache mounts for the Cargo registry and target directory)",
                        file.display()
                    ),
                );
                self.buildkit = Some(file);
            }
        }
        Ok(())
    }

    fn observe(&mut self, cx: &Ctx, report: &mut Report) -> Result<Observed> {
        let r = &cx.runner;
        let desired = desired_images(cx, &self.config, &self.images)?;
        let cluster_images = match self.target() {
            Target::ImageLoad => Some(minikube::images(r, self.profile())?),
            _ => None,
        };
        let mut images = Vec::new();
        for want in desired.images {
            let built = self.docker.inspect_image(r, &want.image)?.is_some();
            let in_cluster = cluster_images
                .as_ref()
                .map(|list| list.iter().any(|i| i.has_tag(&want.image)));
            cx.ui.detail(&format!(
                "{}: built={built} in_cluster={in_cluster:?}",
                want.image
            ));
            let why = if built {
                report.note(
                    cx,
                    format!("{}: unchanged ({} is built)", want.key, want.image),
                );
                // What an image found built was made from, so the next change can be named.
                let known = digest::last_built(&cx.root, &want.key)
                    .is_some_and(|rec| rec.image == want.image);
                if !known && !cx.runner.dry_run() {
                    digest::remember_built(
                        &cx.root,
                        &want.key,
                        &digest::BuiltRecord {
                            image: want.image.clone(),
                            inputs: want.inputs.clone(),
                        },
                    )?;
                }
                String::new()
            } else {
                why_build(cx, &want)
            };
            images.push(ImageState {
                key: want.key.clone(),
                image: want.image.clone(),
                digest: want.digest.clone(),
                built,
                why,
                in_cluster,
            });
            self.inputs.insert(want.key.clone(), want);
        }
        let gordon = if self.review { ai::gordon(r)? } else { None };
        if self.review && gordon.is_none() {
            cx.ui.warn(&format!(
                "--review: Docker's AI assistant (`docker ai`) is not available, so no review; {}",
                ai::GORDON_HINT
            ));
        }
        Ok(Observed {
            target: self.target(),
            daemon: self.docker.daemon.clone(),
            images,
            inputs: desired.inputs,
            gordon,
        })
    }

    fn plan(&mut self, _cx: &Ctx, observed: &Observed) -> Result<Vec<Step>> {
        Ok(plan(observed))
    }

    fn act(&mut self, cx: &Ctx, step: &Step) -> Result<()> {
        let r = &cx.runner;
        match step {
            Step::Build {
                key, image, digest, ..
            } => {
                let spec = self.spec(cx, key, image, digest)?;
                self.docker
                    .build(r, &spec)
                    .help("then run `cargo xtask build` again; `-vv` shows the whole build log")?;
                if let Some(want) = self.inputs.get(key) {
                    digest::remember_built(
                        &cx.root,
                        key,
                        &digest::BuiltRecord {
                            image: image.clone(),
                            inputs: want.inputs.clone(),
                        },
                    )?;
                }
                Ok(())
            }
            Step::Load { image } => minikube::image_load(r, self.profile(), image),
            Step::Review { gordon } => {
                let path = self.dockerfile(cx);
                let text = std::fs::read_to_string(&path)?;
                let answer = ai::gordon_review(r, REVIEW_PROMPT, &text, Duration::from_secs(300))?;
                let out = cx.root.join("docs/aiops/gordon-dockerfile-review.md");
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let body = format!(
                    "# Dockerfile review by Docker's AI assistant\n\nTool: `docker ai` {gordon}; date: {}; file: `{}`.\n\nPrompt: {REVIEW_PROMPT}\n\n---\n\n{}\n",
                    crate::clock::utc_date(),
                    self.config.build.dockerfile.display(),
                    answer.trim()
                );
                std::fs::write(&out, body)?;
                cx.ui
                    .status("Wrote", &out.display().to_string(), crate::ui::Tone::Good);
                Ok(())
            }
        }
    }

    fn gates(&mut self, cx: &Ctx, observed: &Observed, report: &mut Report) -> Result<()> {
        let r = &cx.runner;
        let place = match observed.target {
            Target::Local => "the local Docker daemon".to_string(),
            Target::DockerEnv => format!("minikube's Docker daemon ({})", self.profile()),
            Target::ImageLoad => format!("minikube's container runtime ({})", self.profile()),
        };
        for state in &observed.images {
            let budget_mb = self
                .images
                .iter()
                .find(|(k, _)| *k == state.key)
                .map(|(_, i)| i.budget_mb)
                .unwrap_or(0);
            report.gate(cx, &format!("{} present", state.key), || {
                Ok(if self.present_for_cluster(cx, &state.image)? {
                    GateResult::Pass(format!("{} in {place}", state.image))
                } else {
                    GateResult::Fail {
                        detail: format!("{} is not in {place}", state.image),
                        help: "run `cargo xtask build` again; `-v` shows each command".into(),
                    }
                })
            });
            let inspect = self.docker.inspect_image(r, &state.image)?;
            report.gate(cx, &format!("{} non-root", state.key), || {
                let Some(i) = &inspect else {
                    return Ok(missing(&state.image, &self.docker.daemon));
                };
                Ok(if i.runs_as_non_root() {
                    GateResult::Pass(format!("USER {}", i.config.user))
                } else {
                    GateResult::Fail {
                        detail: format!(
                            "{} runs as {}",
                            state.image,
                            if i.config.user.is_empty() {
                                "root (no USER)"
                            } else {
                                &i.config.user
                            }
                        ),
                        help: format!(
                            "set a numeric non-root `USER` (e.g. 65532) in the `{}` stage of {}",
                            state.key,
                            self.config.build.dockerfile.display()
                        ),
                    }
                })
            });
            report.gate(cx, &format!("{} size", state.key), || {
                let Some(i) = &inspect else {
                    return Ok(missing(&state.image, &self.docker.daemon));
                };
                if self.config.iteration() {
                    // The budget is for the release images; iteration images trade size for
                    // compile time, and a dev loop must not stop on it.
                    return Ok(GateResult::Pass(format!(
                        "{:.1} MB (iteration profile; the {budget_mb} MB budget applies to release images)",
                        i.size as f64 / 1e6
                    )));
                }
                Ok(size_gate(i.size, budget_mb))
            });
        }
        Ok(())
    }
}

/// Why `want` must be built: what changed since the last build of the same image key.
pub fn why_build(cx: &Ctx, want: &DesiredImage) -> String {
    match digest::last_built(&cx.root, &want.key) {
        Some(rec) if rec.image == want.image => {
            "built here before, but no longer where the build looks".to_string()
        }
        Some(rec) => format!(
            "{} since {}",
            digest::why(&want.inputs.changes_since(&rec.inputs), 3),
            rec.image
        ),
        None => "no earlier build recorded".to_string(),
    }
}

/// True when the Dockerfile has an `ARG NAME` (with or without a default) line.
fn declares_arg(dockerfile: &str, name: &str) -> bool {
    dockerfile.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next().is_some_and(|w| w.eq_ignore_ascii_case("ARG"))
            && words
                .next()
                .is_some_and(|w| w.split('=').next() == Some(name))
    })
}

fn missing(image: &str, daemon: &str) -> GateResult {
    GateResult::Fail {
        detail: format!("{image} is not in the {daemon} Docker daemon"),
        help: "run `cargo xtask build` again".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(built: bool, in_cluster: Option<bool>) -> ImageState {
        ImageState {
            key: "backend".into(),
            image: "todo-backend:0123456789ab".into(),
            digest: "0123456789ab".into(),
            built,
            why: String::new(),
            in_cluster,
        }
    }

    fn observed(target: Target, images: Vec<ImageState>) -> Observed {
        Observed {
            target,
            daemon: "local".into(),
            images,
            inputs: 3,
            gordon: None,
        }
    }

    #[test]
    fn built_image_is_not_rebuilt() {
        assert!(plan(&observed(Target::DockerEnv, vec![state(true, None)])).is_empty());
        let steps = plan(&observed(Target::DockerEnv, vec![state(false, None)]));
        assert_eq!(steps.len(), 1);
        assert!(matches!(steps[0], Step::Build { .. }));
    }

    #[test]
    fn image_load_loads_what_the_cluster_lacks() {
        let steps: Vec<String> = plan(&observed(Target::ImageLoad, vec![state(true, Some(false))]))
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(steps, ["load todo-backend:0123456789ab into minikube"]);
        assert!(plan(&observed(Target::ImageLoad, vec![state(true, Some(true))])).is_empty());
        assert_eq!(
            plan(&observed(
                Target::ImageLoad,
                vec![state(false, Some(false))]
            ))
            .len(),
            2
        );
    }

    #[test]
    fn profile_arg_is_found_with_or_without_default() {
        assert!(declares_arg("FROM x\nARG PROFILE=release\n", "PROFILE"));
        assert!(declares_arg("arg PROFILE\n", "PROFILE"));
        assert!(!declares_arg("ARG PROFILES=x\n# ARG PROFILE\n", "PROFILE"));
    }

    #[test]
    fn unknown_image_selection_is_a_usage_error() {
        let err = select(&Config::default(), &["db".into()]);
        assert!(err.is_err());
    }
}
