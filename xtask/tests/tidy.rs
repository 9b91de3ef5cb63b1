//! The layer rule the code keeps: only the runner (`src/run/`) starts processes. Every other
//! module goes through `Runner::run`, `Runner::passthrough` or `Runner::start`, so every call is
//! recorded, redacted, dry-run aware and started in the project root.

use std::path::{Path, PathBuf};

/// Ways to start a process without the runner.
const STARTERS: &[&str] = &[
    "std::process::Command",
    "process::Command",
    "Command::new(",
    "duct::cmd",
    "duct::",
    "xshell::cmd!",
    "cmd!(",
    ".cmd(",
    "process::Child",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that start a process, as `file:line: text`.
fn offenders(file: &str, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let code = l.trim_start();
            !code.starts_with("//") && STARTERS.iter().any(|s| code.contains(s))
        })
        .map(|(n, l)| format!("{file}:{}: {}", n + 1, l.trim()))
        .collect()
}

#[test]
fn only_the_runner_starts_processes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let runner = src.join("run");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&runner)) {
        let text = std::fs::read_to_string(f).expect("read");
        let shown = f.strip_prefix(&src).unwrap_or(f).display().to_string();
        found.extend(offenders(&shown, &text));
    }
    assert!(
        found.is_empty(),
        "processes started outside src/run/ (use a wrapper in tools/ over Runner::run or Runner::start):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_each_kind_of_starter() {
    for line in [
        "    let c = std::process::Command::new(\"kill\");",
        "    let e = duct::cmd(\"kubectl\", args);",
        "    xshell::cmd!(sh, \"helm lint\").run()?;",
        "    let c = sh.cmd(\"docker\");",
    ] {
        assert_eq!(offenders("x.rs", line).len(), 1, "{line}");
    }
    assert!(offenders("x.rs", "    // std::process::Command is only used in run/").is_empty());
    assert!(offenders("x.rs", "use clap::CommandFactory;").is_empty());
}
