//! The whole command line of `cargo xtask`, in one place.
//!
//! Every subcommand and flag is declared here with its help text; the tasks live in their own
//! modules and receive these structs. `docs/cli.md` is generated from these definitions.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Build, deploy and verify the Todo chatbot on local Kubernetes.
///
/// Each subcommand is one idempotent stage: it checks its tools, observes what exists, plans the
/// changes, makes only the needed ones and gates the result. Exit codes: 0 success, 1 a gate or a
/// tool failed, 2 bad usage or configuration.
#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    version,
    propagate_version = true,
    after_help = "Examples:\n  cargo xtask doctor\n  cargo xtask up\n  cargo xtask build --dry-run\n  cargo xtask status --json | jq .\n  cargo xtask test"
)]
pub struct Xtask {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Flags accepted by every subcommand; one a command cannot honour is refused (exit 2, see
/// [`UNUSED_GLOBALS`]).
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Pipeline configuration file, relative to the project root.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "deploy/pipeline.toml"
    )]
    pub config: PathBuf,

    /// minikube profile to use (overrides XTASK_PROFILE and `cluster.profile`).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// kubectl context of the cluster (overrides XTASK_CONTEXT; default: the minikube profile's).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Kubernetes namespace of the app (overrides XTASK_NAMESPACE and `deploy.namespace`).
    #[arg(long, short = 'n', global = true, value_name = "NAME")]
    pub namespace: Option<String>,

    /// Observe and plan only: print the plan and make no mutating call.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Print a machine-readable report on stdout (progress stays on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// Say more: what was detected and every command run (-vv: their output too).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say less: only errors and the final result.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Never colour the output (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Stage 1: check the tools, their versions, the Docker daemon and the host's resources.
    ///
    /// Required: docker, minikube, kubectl, helm (3 or 4). Optional: kubectl-ai, kagent, `docker
    /// ai`. Exits 1 when a required tool is missing or too old, with an install hint for each.
    ///
    /// Example: cargo xtask doctor
    Doctor(Doctor),

    /// Stage 2: make sure the minikube profile runs with the configured addons and kubectl
    /// points at it.
    ///
    /// Starts the profile only when it is absent or stopped, enables only the missing addons and
    /// switches the kubectl context only when needed. Gates: node Ready, kube-system pods ready,
    /// context set.
    ///
    /// Examples: cargo xtask setup | cargo xtask setup --profile demo --dry-run
    Setup(Setup),

    /// Stage 3: build the backend and frontend images and make them visible to the cluster.
    ///
    /// The tag is a digest of the build's inputs, so an unchanged tree is not rebuilt. With the
    /// docker runtime the images are built against minikube's Docker daemon; otherwise they are
    /// built locally and loaded with `minikube image load`. Gates: image present where the cluster
    /// looks, non-root user, size within budget.
    ///
    /// Examples: cargo xtask build | cargo xtask build --no-cluster | cargo xtask build --review
    Build(Build),

    /// Stage 4: deploy the app with the raw manifests or (with --helm) the Helm chart.
    ///
    /// Example: cargo xtask deploy --helm
    Deploy(Deploy),

    /// Stage 5: check the deployed app end to end (health, readiness, a chat turn).
    ///
    /// Examples: cargo xtask verify | cargo xtask verify --static
    Verify(Verify),

    /// Stage 6: ask the available AI operations tools (kubectl-ai, kagent, docker ai) about the
    /// deployment and store their answers.
    ///
    /// Example: cargo xtask aiops
    Aiops(Aiops),

    /// Stage 7: write the deployment report and regenerate the generated docs.
    ///
    /// Examples: cargo xtask docs | cargo xtask docs --check
    Docs(Docs),

    /// Run every stage in order: 1 doctor, 2 setup, 3 build, 4 deploy, 5 verify, 6 aiops, 7 docs.
    ///
    /// Stops at the first failed gate. With --dry-run: every stage's plan (assuming the stages
    /// before it succeed), then what would stop a real run; exit 0 when nothing would, else 1.
    ///
    /// Example: cargo xtask up
    Up(Up),

    /// Remove the deployment (the Postgres volume stays unless --purge).
    ///
    /// Example: cargo xtask down
    Down(Down),

    /// Show the cluster, images, release, pods, Services (type, ports, URL) and the app's URL.
    /// Read-only.
    ///
    /// Examples: cargo xtask status | cargo xtask status --json
    Status(Status),

    /// Run the project's whole test suite (`cargo test --workspace --locked`).
    ///
    /// First reports which test tiers have their dependency (PostgreSQL, Docker, Chromium,
    /// helm 3 and 4, kubernetes-validate). Outside CI a missing one is a loud warning and its tests
    /// skip; with CI=true it is an error. Arguments after `--` go to `cargo test`. With
    /// --dry-run it prints the tiers and the `cargo test` command line and runs nothing.
    ///
    /// Examples: cargo xtask test | cargo xtask test -- -p todo-backend
    Test(Test),

    /// Print a shell completion script to stdout.
    ///
    /// The bash, zsh and fish scripts complete `cargo xtask <TAB>` (they hook cargo's completion
    /// for the `xtask` subcommand, and work with or without cargo's own completion loaded).
    /// Install lines:
    ///
    ///   bash: cargo xtask completions bash > ~/.local/share/bash-completion/completions/cargo
    ///   zsh:  cargo xtask completions zsh > ~/.cargo-xtask.zsh && echo 'source ~/.cargo-xtask.zsh' >> ~/.zshrc
    ///   fish: cargo xtask completions fish > ~/.config/fish/conf.d/cargo-xtask.fish
    ///
    /// Example: cargo xtask completions bash > ~/.local/share/bash-completion/completions/cargo
    Completions(Completions),

    /// Run backend and frontend as local processes on SQLite, without Docker or a cluster.
    ///
    /// Ctrl-C (or SIGTERM to the xtask) stops both apps at once. Their logs are coloured only on
    /// a terminal, never with NO_COLOR or --no-color.
    ///
    /// Examples: cargo xtask local | cargo xtask local --release
    Local(Local),

    /// Bring the app up, then rebuild and redeploy what changes as you save.
    ///
    /// Runs `up` (doctor, setup, build, deploy) once with the iteration profile, then watches
    /// the image inputs: a save rebuilds only the image(s) whose inputs changed and redeploys
    /// them with the same deploy stage, waiting for the rollout. Meanwhile it keeps
    /// port-forwards to the frontend and the backend on 127.0.0.1 (another free port when busy)
    /// and streams both apps' logs. A failed build or a crashing pod is reported and the watch
    /// goes on. Ctrl-C stops the forwards and log streams and leaves the deployment running.
    ///
    /// Examples: cargo xtask dev | cargo xtask dev --raw | cargo xtask dev --down-on-exit
    Dev(Dev),

    /// Open the app: a port-forward to the frontend Service on 127.0.0.1, kept until Ctrl-C.
    ///
    /// Prints the local URL as the first line on stdout; needs no `minikube tunnel`.
    ///
    /// Examples: cargo xtask open | cargo xtask open --browser
    Open(Open),

    /// Print the logs of every pod of a component (all components when none is named).
    ///
    /// Each line is prefixed with the component. Read-only.
    ///
    /// Examples: cargo xtask logs backend --since 10m | cargo xtask logs --follow
    Logs(Logs),
}

/// Chart overrides for one deploy (Helm mode only). They count in the release's inputs hash:
/// the same overrides again change nothing, different ones upgrade.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// Set one chart value, as with `helm --set` (repeatable). Secrets belong in .env, not here.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Add a values file for the chart after `deploy.values` (repeatable; later files win).
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Doctor {}

#[derive(Debug, Args)]
pub struct Setup {}

/// How images reach the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// docker-env when the cluster's runtime is Docker, else image-load.
    Auto,
    /// Build against minikube's Docker daemon (`minikube docker-env`).
    DockerEnv,
    /// Build with the local daemon, then `minikube image load`.
    ImageLoad,
}

#[derive(Debug, Args)]
pub struct Build {
    /// Build into the local Docker daemon only; no cluster needed.
    #[arg(long)]
    pub no_cluster: bool,

    /// How images reach the cluster (overrides XTASK_BUILD_STRATEGY and `build.strategy`).
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,

    /// Build only these images (by their key in pipeline.toml, e.g. backend).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,

    /// Ask Docker's AI assistant (`docker ai`) to review the Dockerfile and store its answer.
    #[arg(long)]
    pub review: bool,

    /// Build with the iteration profile (build arg PROFILE=iter): much quicker to compile,
    /// larger and somewhat slower images. Deploy them with `deploy --fast`.
    #[arg(long)]
    pub fast: bool,
}

#[derive(Debug, Args)]
pub struct Deploy {
    /// Deploy with the Helm chart instead of the raw manifests.
    #[arg(long)]
    pub helm: bool,

    /// Image registry prefix for a real cluster (images are then pushed, not loaded).
    #[arg(long, value_name = "HOST/PATH")]
    pub registry: Option<String>,

    /// Deploy the images of `build --fast` (the iteration profile).
    #[arg(long)]
    pub fast: bool,

    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct Aiops {
    /// Fail when an AI tool is unavailable (default: report and go on).
    #[arg(long)]
    pub strict: bool,

    /// Install kagent and an Agent that manages todos through the app's MCP tools, then wait
    /// until kagent has discovered the backend's five tools and the Agent is Ready.
    #[arg(long)]
    pub install_kagent: bool,

    /// Let kubectl-ai use your own kube context instead of the read-only ServiceAccount
    /// (it can then change the cluster; the report says so).
    #[arg(long)]
    pub admin: bool,

    /// Seconds any one AI call (and the kagent wiring wait) may take.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    pub timeout: u64,

    /// Folder for the transcripts.
    #[arg(long, value_name = "DIR", default_value = "docs/aiops")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct Verify {
    /// Only the checks that need no cluster (chart lint and render, manifests, generated docs).
    #[arg(long = "static", conflicts_with = "restart")]
    pub static_only: bool,

    /// Also check that data survives a new backend pod: create a task, restart the backend
    /// (`kubectl rollout restart`, then wait for the rollout), find the task, delete it.
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct Docs {
    /// Change nothing; fail when a generated file is stale or a doc contradicts the code (the
    /// namespace, release, Secret, image budgets, stage numbers, or a flag that does not exist).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct Up {
    /// Deploy with the raw manifests instead of the Helm chart.
    #[arg(long)]
    pub raw: bool,

    /// Skip the persistence check that follows a deploy that changed something (`verify
    /// --restart`: a task must survive a restart of the backend).
    #[arg(long)]
    pub no_restart_check: bool,

    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct Dev {
    /// Deploy with the raw manifests instead of the Helm chart.
    #[arg(long)]
    pub raw: bool,

    /// Build with the release profile instead of the iteration profile.
    #[arg(long)]
    pub release: bool,

    /// Local port of the frontend's port-forward (another free one when busy).
    #[arg(long, default_value_t = 3000, value_name = "PORT")]
    pub frontend_port: u16,

    /// Local port of the backend's port-forward (another free one when busy).
    #[arg(long, default_value_t = 8000, value_name = "PORT")]
    pub backend_port: u16,

    /// On exit, remove the deployment as `cargo xtask down` does (data volumes stay).
    #[arg(long)]
    pub down_on_exit: bool,

    /// Milliseconds of quiet after a change before a rebuild starts.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub debounce_ms: u64,

    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct Open {
    /// Also open the URL in the default browser.
    #[arg(long)]
    pub browser: bool,

    /// Local port (default: 0, any free port).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub port: u16,
}

/// A part of the app whose pods `logs` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Component {
    Backend,
    Frontend,
    /// The in-cluster PostgreSQL (database mode `internal`).
    Database,
}

#[derive(Debug, Args)]
pub struct Logs {
    /// Which component (default: all).
    #[arg(value_enum)]
    pub component: Option<Component>,

    /// Keep streaming new lines until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Only lines newer than this, e.g. 30s, 10m, 2h.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct Down {
    /// Also delete the volume claims (SQLite's and PostgreSQL's data) and the namespace.
    #[arg(long)]
    pub purge: bool,
}

#[derive(Debug, Args)]
pub struct Status {}

#[derive(Debug, Args)]
pub struct Test {
    /// Do not start a local PostgreSQL server when TEST_DATABASE_URL is unset.
    #[arg(long)]
    pub no_postgres: bool,

    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Completions {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct Local {
    /// Build and run the release binaries (slower to build the first time, much faster to run;
    /// reused when already built).
    #[arg(long)]
    pub release: bool,

    /// Backend port.
    #[arg(long, default_value_t = 8000)]
    pub backend_port: u16,

    /// Frontend port.
    #[arg(long, default_value_t = 3000)]
    pub frontend_port: u16,
}

/// The global flags each command cannot honour (by their clap ids), and why. Giving one is a
/// usage error (exit 2) naming it, never silently ignored.
pub const UNUSED_GLOBALS: &[(&str, &[&str], &str)] = &[
    (
        "doctor",
        &["profile", "context", "namespace"],
        "doctor checks this machine's tools, not a cluster",
    ),
    (
        "setup",
        &["context", "namespace"],
        "setup works on the minikube profile (--profile) and points kubectl at its own context",
    ),
    (
        "build",
        &["context", "namespace"],
        "build puts images into the minikube profile (--profile), not a kubectl context",
    ),
    (
        "completions",
        &[
            "config",
            "profile",
            "context",
            "namespace",
            "dry_run",
            "json",
        ],
        "completions only print a script",
    ),
    (
        "local",
        &["profile", "context", "namespace", "json"],
        "local runs the two apps as processes on this machine, without a cluster",
    ),
    (
        "test",
        &["config", "profile", "context", "namespace", "json"],
        "test runs `cargo test`, which uses no cluster and no pipeline file",
    ),
    (
        "dev",
        &["json"],
        "dev streams logs and one line per cycle until Ctrl-C",
    ),
    (
        "open",
        &["json"],
        "open prints the URL as its first line and keeps the forward",
    ),
    ("logs", &["json"], "logs prints the pods' lines as they are"),
];

/// A usage error (exit 2) when the command line gives its subcommand a global flag it cannot
/// honour (see [`UNUSED_GLOBALS`]).
pub fn refuse_unused_globals(matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let Some((_, ids, why)) = UNUSED_GLOBALS.iter().find(|(n, _, _)| *n == name) else {
        return Ok(());
    };
    let given: Vec<String> = ids
        .iter()
        .filter(|id| {
            sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
                || matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(crate::error::usage(
        format!("`cargo xtask {name}` cannot honour {}", given.join(", ")),
        format!("{why}: drop {}", given.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example() {
        for sub in Xtask::command().get_subcommands() {
            let long = sub
                .get_long_about()
                .map(|s| s.to_string())
                .unwrap_or_default();
            assert!(
                long.contains("Example"),
                "`{}` help has no example",
                sub.get_name()
            );
        }
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let x = Xtask::try_parse_from(["xtask", "build", "--dry-run", "--json", "-vv"])
            .expect("parses");
        assert!(x.global.dry_run && x.global.json);
        assert_eq!(x.global.verbose, 2);
    }

    #[test]
    fn unused_globals_name_real_flags_and_commands() {
        let cmd = Xtask::command();
        let globals: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        for (name, ids, _) in UNUSED_GLOBALS {
            assert!(cmd.find_subcommand(name).is_some(), "no subcommand {name}");
            for id in *ids {
                assert!(globals.iter().any(|g| g == id), "no global flag {id}");
            }
        }
    }

    #[test]
    fn an_unused_global_flag_is_refused_by_name() {
        let m = Xtask::command()
            .try_get_matches_from(["xtask", "completions", "bash", "--namespace", "foo"])
            .expect("parses");
        let err = refuse_unused_globals(&m).expect_err("refused");
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("--namespace"), "{err}");
        let m = Xtask::command()
            .try_get_matches_from(["xtask", "-n", "foo", "local"])
            .expect("parses");
        assert!(refuse_unused_globals(&m).is_err());
        let m = Xtask::command()
            .try_get_matches_from(["xtask", "status", "-n", "foo", "--json"])
            .expect("parses");
        assert!(refuse_unused_globals(&m).is_ok());
    }

    #[test]
    fn test_passes_extra_args_through() {
        let x = Xtask::try_parse_from(["xtask", "test", "--", "-p", "xtask", "--nocapture"])
            .expect("parses");
        match x.cmd {
            Cmd::Test(t) => assert_eq!(t.args, ["-p", "xtask", "--nocapture"]),
            other => panic!("parsed as {other:?}"),
        }
    }
}
