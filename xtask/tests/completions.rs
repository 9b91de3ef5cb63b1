//! The completion scripts loaded in real shells: `cargo xtask <TAB>` completes the xtask's
//! subcommands and flags, with and without cargo's own completion loaded, and every other
//! `cargo` command line still gets cargo's.

use std::path::{Path, PathBuf};
use std::process::Command;

fn xtask() -> &'static str {
    env!("CARGO_BIN_EXE_xtask")
}

/// Writes `cargo xtask completions SHELL` to a file in `dir`.
fn script(dir: &Path, shell: &str) -> PathBuf {
    let out = Command::new(xtask())
        .args(["completions", shell])
        .output()
        .expect("run xtask");
    assert!(out.status.success(), "{out:?}");
    let path = dir.join(format!("xtask.{shell}"));
    std::fs::write(&path, out.stdout).expect("write script");
    path
}

fn run(shell: &str, args: &[&str], body: &str) -> String {
    let out = Command::new(shell)
        .args(args)
        .arg(body)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap_or_else(|e| panic!("run {shell}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{shell} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// One bash completion: what `cargo WORDS<TAB>` offers, through whatever `cargo` is registered
/// with after `setup`.
fn bash_complete(setup: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let body = format!(
        r#"{setup}
COMP_WORDS=(cargo {words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
fn=$(complete -p cargo | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
"$fn" cargo "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
echo "registered: $(complete -p cargo)"
"#,
        words = quoted.join(" ")
    );
    run("bash", &["--norc", "--noprofile", "-c"], &body)
        .lines()
        .map(String::from)
        .collect()
}

fn has(lines: &[String], want: &[&str]) {
    for w in want {
        assert!(lines.iter().any(|l| l == w), "no `{w}` in {lines:#?}");
    }
}

fn cargo_bash_completion() -> Option<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("etc/bash_completion.d/cargo");
    p.is_file().then_some(p)
}

#[test]
fn bash_completes_cargo_xtask_without_cargos_own_completion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "bash");
    let setup = format!("source '{}'", s.display());
    let got = bash_complete(&setup, &["xtask", "d"]);
    has(&got, &["doctor", "deploy", "docs", "down", "dev"]);
    assert!(!got.iter().any(|l| l == "setup"), "{got:#?}");
    assert!(
        got.iter()
            .any(|l| l.starts_with("registered: ") && l.ends_with(" cargo")),
        "{got:#?}"
    );
    has(
        &bash_complete(&setup, &["xtask", "up", "--d"]),
        &["--dry-run"],
    );
    has(
        &bash_complete(&setup, &["xtask", "completions", ""]),
        &["bash", "zsh", "fish"],
    );
    has(
        &bash_complete(&setup, &["xtask", "logs", "--since", "5m", "b"]),
        &["backend"],
    );
    has(&bash_complete(&setup, &["xt"]), &["xtask"]);
}

#[test]
fn bash_completes_cargo_xtask_and_cargo_with_cargos_own_completion() {
    let loader = Path::new("/usr/share/bash-completion/bash_completion");
    let present = loader.is_file() && cargo_bash_completion().is_some();
    if !testkit::require(
        "bash-completion and rustup's cargo completion",
        present,
        "run `bash .ci/shells.sh` (installs bash-completion)",
    ) {
        return;
    }
    let cargo = cargo_bash_completion().expect("checked");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "bash");
    // cargo's completion loaded before ours, as a ~/.bashrc would.
    let before = format!(
        "source {}; source '{}'; source '{}'",
        loader.display(),
        cargo.display(),
        s.display()
    );
    has(
        &bash_complete(&before, &["xtask", "d"]),
        &["doctor", "deploy"],
    );
    has(&bash_complete(&before, &["bui"]), &["build"]);
    // Ours alone: cargo's own is loaded on the first `cargo <TAB>`, and ours stays registered.
    let lazy = format!(
        "source {}; source '{}'; fn=$(complete -p cargo | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p'); COMP_WORDS=(cargo bui); COMP_CWORD=1; \"$fn\" cargo bui cargo >/dev/null",
        loader.display(),
        s.display()
    );
    let got = bash_complete(&lazy, &["xtask", "d"]);
    has(&got, &["doctor"]);
    assert!(
        got.iter().any(|l| l.contains("-F _cargo_xtask_cargo")),
        "{got:#?}"
    );
    has(&bash_complete(&lazy, &["bui"]), &["build"]);
}

#[test]
fn fish_completes_cargo_xtask() {
    let Some(fish) = testkit::executable(
        "fish",
        "FISH",
        &["fish"],
        "run `bash .ci/shells.sh` (installs fish)",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "fish");
    let fish = fish.display().to_string();
    let got: Vec<String> = run(
        &fish,
        &["--no-config", "-c"],
        &format!(
            "source '{}'; complete -C 'cargo xtask d'; echo ---; complete -C 'cargo xtask up --d'; echo ---; complete -C 'cargo xt'",
            s.display()
        ),
    )
    .lines()
    .map(|l| l.split('\t').next().unwrap_or("").to_string())
    .collect();
    has(
        &got,
        &[
            "doctor",
            "deploy",
            "docs",
            "down",
            "dev",
            "--dry-run",
            "xtask",
        ],
    );
}

/// What an interactive zsh shows for `LINE<TAB>` with the script sourced after compinit
/// (`fpath_first`: where cargo's own `_cargo` lives, or nothing).
fn zsh_complete(zsh: &str, script: &Path, fpath_first: Option<&Path>, line: &str) -> String {
    let fpath = fpath_first
        .map(|p| format!("fpath=({} $fpath); ", p.display()))
        .unwrap_or_default();
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z '{fpath}PS1="> "; autoload -Uz compinit; compinit -u -D; source {script}; print -r -- "cargo:$_comps[cargo]"'
zpty -w -n z $'{line}\t\t'
sleep 3
out=""
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
zpty -d z
"#,
        script = script.display()
    );
    run(zsh, &["-f", "-c"], &driver)
}

#[test]
fn zsh_completes_cargo_xtask_with_and_without_cargos_own_completion() {
    let Some(zsh) = testkit::executable(
        "zsh",
        "ZSH",
        &["zsh"],
        "run `bash .ci/shells.sh` (installs zsh)",
    ) else {
        return;
    };
    let zsh = zsh.display().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "zsh");
    let alone = zsh_complete(&zsh, &s, None, "cargo xtask d");
    assert!(alone.contains("cargo:_cargo_xtask_cargo"), "{alone}");
    for sub in ["doctor", "deploy", "docs", "down"] {
        assert!(alone.contains(sub), "no {sub}: {alone}");
    }
    // With cargo's own completion, `_cargo` dispatches to `_cargo-xtask`.
    let cargo_dir = cargo_bash_completion()
        .and_then(|p| p.parent()?.parent()?.parent().map(Path::to_path_buf))
        .map(|root| root.join("share/zsh/site-functions"))
        .filter(|d| d.join("_cargo").is_file());
    if let Some(cargo_dir) = cargo_dir {
        let with = zsh_complete(&zsh, &s, Some(&cargo_dir), "cargo xtask d");
        assert!(
            with.contains("cargo:_cargo\n") || with.contains("cargo:_cargo\r"),
            "{with}"
        );
        for sub in ["doctor", "deploy", "docs", "down"] {
            assert!(with.contains(sub), "no {sub} with cargo's _cargo: {with}");
        }
    }
}
