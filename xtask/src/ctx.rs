//! The context every task receives first: the shell rooted at the project, the global flags,
//! the terminal and the runner.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::flags::Global;
use crate::run::Runner;
use crate::ui::Ui;

pub struct Ctx {
    pub sh: Shell,
    pub root: PathBuf,
    pub global: Global,
    pub ui: Ui,
    pub runner: Runner,
}

impl Ctx {
    pub fn new(global: Global) -> Result<Ctx> {
        let root = project_root();
        let sh = Shell::new().context("could not create the command shell")?;
        sh.change_dir(&root);
        let ui = Ui::new(global.verbose, global.quiet, global.no_color);
        let runner = Runner::new(global.dry_run, ui.clone());
        Ok(Ctx {
            sh,
            root,
            global,
            ui,
            runner,
        })
    }
}

/// The project's root: `XTASK_PROJECT_ROOT` when set (tests point it at a scratch project),
/// else the directory above this crate.
pub fn project_root() -> PathBuf {
    match std::env::var_os("XTASK_PROJECT_ROOT").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().map(PathBuf::from).unwrap_or(manifest)
        }
    }
}
