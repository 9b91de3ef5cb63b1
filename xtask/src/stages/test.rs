//! `cargo xtask test`: the project's one test command.
//!
//! Reports which test tiers have what they need, starts a throw-away PostgreSQL when the server
//! binaries are installed and `TEST_DATABASE_URL` is unset, warns loudly about missing
//! dependencies (their tests skip) or, with `CI=true`, fails, then runs
//! `cargo test --workspace --locked` and exits with its code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::failure;
use crate::flags;
use crate::run::Call;
use crate::tools::{self, cargo, docker::Docker, helm};
use crate::ui::{Tone, table};

/// One dependency of a test tier.
struct Dep {
    tier: &'static str,
    what: &'static str,
    found: Option<String>,
    hint: &'static str,
}

pub fn run(cx: &Ctx, f: &flags::Test) -> Result<i32> {
    let mut env = Vec::new();
    let postgres = postgres(cx, f, &mut env);
    let deps = vec![
        Dep {
            tier: "app integration",
            what: "PostgreSQL (TEST_DATABASE_URL)",
            found: postgres,
            hint: "apt-get install postgresql-15, then `source .ci/postgres.sh`",
        },
        Dep {
            tier: "images",
            what: "Docker daemon",
            found: Docker::local()
                .version(&cx.runner)
                .ok()
                .and_then(|v| v.server)
                .map(|v| format!("engine {v}")),
            hint: "run `bash .ci/docker.sh` (installs and starts dockerd)",
        },
        Dep {
            tier: "browser",
            what: "Chromium",
            found: executable("CHROMIUM", &["chromium", "chromium-browser"]),
            hint: "run `bash .ci/chromium.sh` (apt-get install chromium chromium-driver)",
        },
        Dep {
            tier: "browser",
            what: "chromedriver",
            found: executable("CHROMEDRIVER", &["chromedriver"]),
            hint: "run `bash .ci/chromium.sh` (apt-get install chromium chromium-driver)",
        },
        Dep {
            tier: "chart",
            what: "helm v3",
            found: helm_of_major(cx, 3),
            hint: "run `bash .ci/helm.sh` (helm v3 as `helm3`, or set HELM3)",
        },
        Dep {
            tier: "chart",
            what: "helm v4",
            found: helm_of_major(cx, 4),
            hint: "run `bash .ci/helm.sh` (helm v4 as `helm`/`helm4`, or set HELM4)",
        },
        Dep {
            tier: "chart",
            what: "kubernetes-validate",
            found: executable("KUBERNETES_VALIDATE", &["kubernetes-validate"])
                .map(|p| p.to_string()),
            hint: "pip install kubernetes-validate",
        },
        Dep {
            tier: "completion",
            what: "zsh",
            found: executable("ZSH", &["zsh"]),
            hint: "run `bash .ci/shells.sh` (apt-get install zsh fish bash-completion)",
        },
        Dep {
            tier: "completion",
            what: "fish",
            found: executable("FISH", &["fish"]),
            hint: "run `bash .ci/shells.sh` (apt-get install zsh fish bash-completion)",
        },
        Dep {
            tier: "completion",
            what: "bash-completion",
            found: Some(PathBuf::from("/usr/share/bash-completion/bash_completion"))
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string()),
            hint: "run `bash .ci/shells.sh` (apt-get install zsh fish bash-completion)",
        },
    ];
    report(cx, &deps);
    let args = cargo::test_args(&f.args);
    if cx.runner.dry_run() {
        cx.ui.out(&format!(
            "test: would run (dry run, nothing was run): cargo {}",
            args.join(" ")
        ));
    }
    let missing: Vec<&Dep> = deps.iter().filter(|d| d.found.is_none()).collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|d| format!("{} ({} tests): {}", d.what, d.tier, d.hint))
            .collect::<Vec<_>>()
            .join("\n  ");
        if testkit::in_ci() {
            return Err(failure(
                format!("CI=true and test dependencies are missing:\n  {list}"),
                "install them in a .ci/<thing>.sh script called from .ci/run",
            ));
        }
        let bar = cx.ui.paint(&"!".repeat(72), Tone::Warn);
        eprintln!("\n{bar}");
        cx.ui.warn(&format!(
            "these test tiers will be SKIPPED (their tests print a notice and pass):\n  {list}"
        ));
        eprintln!("{bar}\n");
    }
    if cx.runner.dry_run() {
        return Ok(0);
    }
    cx.ui
        .status("Running", &format!("cargo {}", args.join(" ")), Tone::Good);
    cargo::passthrough(&cx.runner, &cx.sh, &args, &env)
}

fn report(cx: &Ctx, deps: &[Dep]) {
    let rows: Vec<Vec<String>> = deps
        .iter()
        .map(|d| {
            vec![
                d.tier.to_string(),
                d.what.to_string(),
                match &d.found {
                    Some(s) => cx.ui.paint(&format!("ok  {s}"), Tone::Good),
                    None => cx.ui.paint("MISSING", Tone::Bad),
                },
            ]
        })
        .collect();
    // Under --dry-run the tiers are the result: stdout.
    if cx.runner.dry_run() {
        print!("{}", table(&["tier", "needs", "status"], &rows));
    } else if !cx.global.quiet {
        eprint!("{}", table(&["tier", "needs", "status"], &rows));
    }
}

/// `TEST_DATABASE_URL`, or a server started with `.ci/postgres.sh` when the binaries exist.
fn postgres(cx: &Ctx, f: &flags::Test, env: &mut Vec<(String, String)>) -> Option<String> {
    if let Some(url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(redact_url(&url));
    }
    if f.no_postgres {
        return None;
    }
    let bin = installed_postgres_bin()?;
    let script = cx.root.join(".ci/postgres.sh");
    if !script.is_file() {
        return None;
    }
    if cx.runner.dry_run() {
        return Some(format!(
            "would start one from {} (.ci/postgres.sh)",
            bin.display()
        ));
    }
    cx.ui.status(
        "Starting",
        &format!("PostgreSQL from {} (.ci/postgres.sh)", bin.display()),
        Tone::Good,
    );
    let call = Call::new("bash")
        .arg(script.display().to_string())
        .env("PG_BIN", bin.display().to_string())
        .timeout(Duration::from_secs(120));
    match cx.runner.run(&call) {
        Ok(out) => {
            let url = out
                .stderr
                .lines()
                .find_map(|l| l.strip_prefix("postgres: ready at "))
                .map(|u| u.trim().to_string())?;
            env.push(("TEST_DATABASE_URL".into(), url.clone()));
            Some(redact_url(&url))
        }
        Err(e) => {
            cx.ui.warn(&format!(
                "could not start PostgreSQL: {}",
                crate::error::render(&e)
            ));
            None
        }
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin` that has `initdb`.
fn installed_postgres_bin() -> Option<PathBuf> {
    let mut bins: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    bins.sort();
    bins.pop().map(|(_, b)| b)
}

fn executable(env: &str, names: &[&str]) -> Option<String> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| names.iter().find_map(|n| tools::find(n)))
        .map(|p| p.display().to_string())
}

/// A helm binary of the given major, found like `testkit::helm` finds it.
fn helm_of_major(cx: &Ctx, major: u64) -> Option<String> {
    let (env, names): (&str, &[&str]) = match major {
        3 => ("HELM3", &["helm3"]),
        _ => ("HELM4", &["helm4", "helm"]),
    };
    let path = executable(env, names)?;
    let v = helm::version(&cx.runner, Path::new(&path)).ok()?;
    (v.major == major).then(|| format!("{v} at {path}"))
}

/// Hides a password in a database URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:pw@127.0.0.1:5432/db"),
            "postgres://u:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:55432/postgres"),
            "postgres://postgres@127.0.0.1:55432/postgres"
        );
    }
}
