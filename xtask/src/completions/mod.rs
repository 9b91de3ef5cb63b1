//! `cargo xtask completions SHELL`: clap's script for the `xtask` binary, plus a hook that makes
//! `cargo xtask <TAB>` use it (bash, zsh and fish complete `cargo`, not `cargo-xtask`).

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::flags::{self, Xtask};

/// The command clap's scripts complete (the binary's name); the hooks map `cargo xtask` onto it.
/// (Not `cargo-xtask`: clap's bash script misnames the subcommands of a name with a `-`.)
const BIN: &str = "xtask";

const BASH_HOOK: &str = include_str!("cargo.bash");
const ZSH_HOOK: &str = include_str!("cargo.zsh");
const FISH_HOOK: &str = include_str!("cargo.fish");

/// Where each shell's script goes, for the docs and the help text.
pub const INSTALL: [(&str, &str); 3] = [
    (
        "bash",
        "cargo xtask completions bash > ~/.local/share/bash-completion/completions/cargo",
    ),
    (
        "zsh",
        "cargo xtask completions zsh > ~/.cargo-xtask.zsh && echo 'source ~/.cargo-xtask.zsh' >> ~/.zshrc",
    ),
    (
        "fish",
        "cargo xtask completions fish > ~/.config/fish/conf.d/cargo-xtask.fish",
    ),
];

pub fn run(f: &flags::Completions) -> Result<i32> {
    let text = script(f.shell)?;
    if std::io::stdout().is_terminal()
        && let Some((_, line)) = INSTALL.iter().find(|(s, _)| *s == f.shell.to_string())
    {
        eprintln!("note: to install it: {line}");
    }
    let mut out = std::io::stdout().lock();
    // A reader that stops early (`| head`) is no error.
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}

/// The whole script for `shell`.
pub fn script(shell: Shell) -> Result<String> {
    let mut buf = Vec::new();
    // The tree says `cargo xtask`; the script names every command after the binary.
    let mut cmd = Xtask::command().bin_name(BIN);
    clap_complete::generate(shell, &mut cmd, BIN, &mut buf);
    let mut text = String::from_utf8(buf)?;
    match shell {
        Shell::Bash => text.push_str(BASH_HOOK),
        Shell::Fish => text.push_str(FISH_HOOK),
        Shell::Zsh => {
            // Sourced (not autoloaded from fpath), the script registers itself: add the hook there.
            let register = format!("    compdef _{BIN} {BIN}\n");
            match text.rfind(&register) {
                Some(at) => text.insert_str(at + register.len(), ZSH_HOOK),
                None => anyhow::bail!("clap's zsh script has no `compdef _{BIN} {BIN}` line"),
            }
        }
        _ => {}
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hooked_shell_registers_cargo() {
        assert!(
            script(Shell::Bash)
                .expect("bash")
                .contains("complete -F _cargo_xtask_cargo")
        );
        assert!(
            script(Shell::Zsh)
                .expect("zsh")
                .contains("compdef _cargo_xtask_cargo cargo")
        );
        assert!(
            script(Shell::Fish)
                .expect("fish")
                .contains("complete -c cargo -n __fish_cargo_xtask_in_xtask")
        );
        // The help text gives every install line.
        let help = Xtask::command()
            .find_subcommand("completions")
            .and_then(|c| c.get_long_about())
            .map(|s| s.to_string())
            .unwrap_or_default();
        for (shell, line) in INSTALL {
            assert!(line.starts_with(&format!("cargo xtask completions {shell} > ")));
            assert!(help.contains(line), "{shell}: {help}");
        }
    }
}
