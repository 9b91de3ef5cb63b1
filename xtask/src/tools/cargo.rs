//! `cargo`: the build of the apps that `local` runs and the test command. The cargo that runs
//! the xtask (`$CARGO`, set by `cargo run`) is the one used, so the toolchain stays the same.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use crate::run::{Call, Runner};

/// The cargo that started the xtask, else the one on PATH.
pub fn program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo build [--release] -p P... --manifest-path MANIFEST`.
pub fn build_args(packages: &[&str], release: bool, manifest: &Path) -> Vec<String> {
    let mut args = vec!["build".to_string()];
    if release {
        args.push("--release".into());
    }
    for p in packages {
        args.extend(["-p".to_string(), p.to_string()]);
    }
    args.extend([
        "--manifest-path".to_string(),
        manifest.display().to_string(),
    ]);
    args
}

/// Runs `cargo ARGS` with its progress and errors on the terminal; its exit code.
pub fn passthrough(
    r: &Runner,
    sh: &xshell::Shell,
    args: &[String],
    env: &[(String, String)],
) -> Result<i32> {
    r.passthrough(sh, &program(), args, env)
}

/// The executables a build made, by package name: the same `build_args` again (a no-op after
/// [`passthrough`] built them) with cargo's JSON messages read.
pub fn executables_of(r: &Runner, build_args: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let out = r.run(
        &Call::new(program())
            .args(build_args.iter().cloned())
            .arg("--message-format=json-render-diagnostics")
            .timeout(Duration::from_secs(600)),
    )?;
    Ok(executables(&out.stdout))
}

/// The executables in cargo's JSON messages, by package name.
pub fn executables(messages: &str) -> Vec<(String, PathBuf)> {
    #[derive(Deserialize)]
    struct Target {
        name: String,
    }
    #[derive(Deserialize)]
    struct Msg {
        reason: String,
        target: Option<Target>,
        executable: Option<PathBuf>,
    }
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Msg>(l).ok())
        .filter(|m| m.reason == "compiler-artifact")
        .filter_map(|m| Some((m.target?.name, m.executable?)))
        .collect()
}

/// `cargo test --workspace --locked` plus the user's arguments; `--workspace` is dropped when
/// they name packages (cargo would otherwise still test every member).
pub fn test_args(extra: &[String]) -> Vec<String> {
    let names_package = extra.iter().any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
    });
    let mut args = vec!["test".to_string()];
    if !names_package {
        args.push("--workspace".into());
    }
    args.push("--locked".into());
    args.extend(extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_from_cargo_messages() {
        let text = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["lib"],"name":"testkit"},"executable":null}
{"reason":"compiler-artifact","package_id":"y","target":{"kind":["bin"],"name":"todo-backend"},"executable":"/t/debug/todo-backend"}
{"reason":"build-finished","success":true}"#;
        let bins = executables(text);
        assert_eq!(
            bins,
            vec![(
                "todo-backend".to_string(),
                PathBuf::from("/t/debug/todo-backend")
            )]
        );
    }

    #[test]
    fn package_arguments_replace_workspace() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(test_args(&[]), s(&["test", "--workspace", "--locked"]));
        assert_eq!(
            test_args(&s(&["-p", "xtask", "--", "--nocapture"])),
            s(&["test", "--locked", "-p", "xtask", "--", "--nocapture"])
        );
        assert_eq!(test_args(&s(&["--package=xtask"]))[1], "--locked");
        assert_eq!(test_args(&s(&["--test", "cli"]))[1], "--workspace");
    }

    #[test]
    fn build_arguments_name_each_package() {
        let args = build_args(&["a", "b"], true, Path::new("/w/Cargo.toml"));
        assert_eq!(
            args.join(" "),
            "build --release -p a -p b --manifest-path /w/Cargo.toml"
        );
    }
}
