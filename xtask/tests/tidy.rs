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
    let files = sources();
    assert!(files.len() > 20, "found only {} files", files.len());
    let found: Vec<String> = files
        .iter()
        .filter(|(file, _)| !file.starts_with("run/"))
        .flat_map(|(file, text)| offenders(file, text))
        .collect();
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

/// The files outside `src/tools/` (and the runner) that may build a `Call` themselves, with the
/// reason: what they start is the project's own program, not a tool.
const OWN_PROGRAMS: &[(&str, &str)] = &[
    ("stages/local.rs", "starts the two app binaries it built"),
    ("stages/test.rs", "runs the project's own .ci/postgres.sh"),
];

/// Every Rust file under `src/`, with its path relative to `src/` (`/`-separated) and text.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).expect("under src");
            let shown: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            (shown.join("/"), std::fs::read_to_string(f).expect("read"))
        })
        .collect()
}

/// Non-comment lines of `text` that contain `needle`, as `file:line: text`.
fn lines_with(file: &str, text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let code = l.trim_start();
            !code.starts_with("//") && code.contains(needle)
        })
        .map(|(n, l)| format!("{file}:{}: {}", n + 1, l.trim()))
        .collect()
}

#[test]
fn only_tools_build_tool_calls() {
    let mut found = Vec::new();
    for (file, text) in sources() {
        if file.starts_with("tools/")
            || file.starts_with("run/")
            || OWN_PROGRAMS.iter().any(|(f, _)| *f == file)
        {
            continue;
        }
        found.extend(lines_with(&file, &text, "Call::new("));
    }
    assert!(
        found.is_empty(),
        "a tool call built outside src/tools/ (add a wrapper there that knows the tool's flags and \
         output):\n{}",
        found.join("\n")
    );
}

#[test]
fn tools_name_no_xtask_command() {
    let mut found = Vec::new();
    for (file, text) in sources().iter().filter(|(f, _)| f.starts_with("tools/")) {
        found.extend(lines_with(file, text, "cargo xtask"));
    }
    assert!(
        found.is_empty(),
        "a tool's hint names an xtask command (tools name their own commands; the stage adds its \
         own with `error::WithHelp::help`):\n{}",
        found.join("\n")
    );
}

/// The one file that may use `unsafe` (the crate denies it; this file allows it): the Windows
/// job object, a system API the standard library has no safe wrapper for.
const UNSAFE_FILE: &str = "run/job.rs";

#[test]
fn unsafe_code_stays_in_the_job_object() {
    let files = sources();
    assert!(
        files.iter().any(|(f, _)| f == UNSAFE_FILE),
        "{UNSAFE_FILE} moved: update UNSAFE_FILE"
    );
    let found: Vec<String> = files
        .iter()
        .filter(|(f, _)| f != UNSAFE_FILE)
        .flat_map(|(file, text)| lines_with(file, text, "unsafe"))
        .collect();
    assert!(
        found.is_empty(),
        "`unsafe` outside {UNSAFE_FILE} (find a safe wrapper, or keep such code in that one file):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_line_check_skips_comments() {
    assert_eq!(
        lines_with(
            "x.rs",
            "    // `cargo xtask status`\n    \"`cargo xtask status`\",",
            "cargo xtask"
        ),
        vec!["x.rs:2: \"`cargo xtask status`\",".to_string()]
    );
}

/// The stages that compose other stages: `up` runs the pipeline, `dev` its loop.
const COMPOSERS: &[&str] = &["up", "dev"];

/// A stage that may read another stage's observation, with the reason. The deployment report
/// (`docs`) is made from what `doctor` and `status` observe.
const READS: &[(&str, &[&str])] = &[("docs", &["doctor", "status"])];

/// The stage modules: each file or folder directly in `src/stages/` but `mod.rs`.
fn stage_names(stages: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(stages)
        .expect("read stages")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| n != "mod")
        .collect();
    names.sort();
    names
}

/// The module names a line reaches through `prefix` (`super::`, `crate::stages::`):
/// `prefix name` or each first name in `prefix{a::b, c}`.
fn reached(line: &str, prefix: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in line.match_indices(prefix) {
        let before = line[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &line[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    _ if item_start && !c.is_whitespace() => {
                        out.push(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// The other stages a file of stage `stage` imports, as `file:line: text`. `depth` is how far
/// below `src/stages/` the file's module is (1 for `stages/x.rs` and `stages/x/mod.rs`, 2 for
/// `stages/x/y.rs`), so `super::` is resolved as the compiler does.
fn stage_imports(
    file: &str,
    text: &str,
    stage: &str,
    depth: usize,
    stages: &[String],
) -> Vec<String> {
    let to_stages = "super::".repeat(depth);
    let allowed: &[&str] = READS
        .iter()
        .find(|(s, _)| *s == stage)
        .map(|(_, r)| *r)
        .unwrap_or(&[]);
    let mut found = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let code = l.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut names = reached(code, "crate::stages::");
        // A longer `super::super::` run is skipped by `reached` (it follows a `:`).
        names.extend(reached(code, &to_stages));
        if names
            .iter()
            .any(|m| m != stage && stages.contains(m) && !allowed.contains(&m.as_str()))
        {
            found.push(format!("{file}:{}: {}", n + 1, code.trim()));
        }
    }
    found
}

#[test]
fn a_stage_imports_no_other_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let stages_dir = src.join("stages");
    let stages = stage_names(&stages_dir);
    for s in ["build", "deploy", "verify", "docs", "test", "up", "dev"] {
        assert!(
            stages.contains(&s.to_string()),
            "no stage `{s}` in {stages:?}"
        );
    }
    let mut files = Vec::new();
    rust_files(&stages_dir, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&stages_dir).expect("under stages");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts == ["mod.rs"] {
            continue;
        }
        let stage = parts[0].trim_end_matches(".rs").to_string();
        if COMPOSERS.contains(&stage.as_str()) {
            continue;
        }
        // stages/x.rs and stages/x/mod.rs are depth 1; stages/x/y.rs depth 2, and so on.
        let depth = if parts.last().is_some_and(|p| p == "mod.rs") {
            parts.len() - 1
        } else {
            parts.len()
        };
        let text = std::fs::read_to_string(f).expect("read");
        found.extend(stage_imports(
            &format!("stages/{}", parts.join("/")),
            &text,
            &stage,
            depth,
            &stages,
        ));
    }
    assert!(
        found.is_empty(),
        "a stage imports another stage (only {COMPOSERS:?} compose stages; move the shared fact to \
         src/project/ or another module below the stages):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_stage_check_sees_each_way_to_name_a_stage() {
    let stages: Vec<String> = ["build", "deploy", "verify", "docs", "doctor", "status"]
        .map(String::from)
        .to_vec();
    let seen = |text: &str, stage: &str, depth: usize| {
        stage_imports("x.rs", text, stage, depth, &stages).len()
    };
    assert_eq!(seen("use super::build::desired_images;", "deploy", 1), 1);
    assert_eq!(
        seen("use super::{GateResult, build::X, Stage};", "deploy", 1),
        1
    );
    assert_eq!(
        seen(
            "    let s = crate::stages::verify::find_service(&s, \"b\");",
            "deploy",
            2
        ),
        1
    );
    assert_eq!(seen("use super::super::deploy::KINDS;", "verify", 2), 1);
    assert_eq!(seen("use crate::stages::{build, Report};", "verify", 2), 1);
    // Its own stage, the stage framework, lower floors, comments and allowed reads pass.
    assert_eq!(
        seen(
            "use super::{GateResult, Report, Stage, execute};",
            "deploy",
            1
        ),
        0
    );
    assert_eq!(seen("use super::raw::Doc;", "deploy", 2), 0);
    assert_eq!(seen("use super::super::deploy::raw::Doc;", "deploy", 2), 0);
    assert_eq!(
        seen("use crate::project::images::desired_images;", "deploy", 1),
        0
    );
    assert_eq!(seen("// see super::build::desired_images", "deploy", 1), 0);
    assert_eq!(
        seen("    let d = super::doctor::Doctor { config };", "docs", 1),
        0
    );
    assert_eq!(
        seen("    let d = super::doctor::Doctor { config };", "verify", 1),
        1
    );
    // In a file two floors down, `super::` is its own stage's module, not the stages; in a file
    // one floor down, `super::super::` leaves the stages.
    assert_eq!(seen("use super::verify::Thing;", "deploy", 2), 0);
    assert_eq!(seen("use super::super::build::X;", "deploy", 1), 0);
}
