//! The context every task receives first: the shell rooted at the project, the global flags,
//! the terminal and the runner.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::config::{Config, SECRET_NAMES, is_plain_setting, read_dotenv};
use crate::flags::Global;
use crate::run::Runner;
use crate::tools::kubectl::Kube;
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
        // Every tool call starts in the project root, wherever the xtask was started from.
        let runner = Runner::new(global.dry_run, ui.clone()).in_dir(&root);
        let cx = Ctx {
            sh,
            root,
            global,
            ui,
            runner,
        };
        cx.register_secrets()?;
        Ok(cx)
    }

    /// The pipeline configuration: flags over environment over file over defaults.
    pub fn config(&self) -> Result<Config> {
        let cfg = Config::load(&self.root, &self.global, &|k| std::env::var(k).ok())?;
        self.ui.detail(&format!(
            "config: profile `{}`, namespace `{}`, driver `{}`",
            cfg.cluster.profile, cfg.deploy.namespace, cfg.cluster.driver
        ));
        Ok(cfg)
    }

    /// The cluster handle for `config`: its resolved context and the app's namespace.
    pub fn kube<'a>(&'a self, config: &'a Config) -> Kube<'a> {
        Kube::new(&self.runner, config.context(), &config.deploy.namespace)
    }

    /// The secrets from `.env` (values are also registered for redaction).
    pub fn secrets(&self) -> Result<BTreeMap<String, String>> {
        read_dotenv(&self.root.join(".env"))
    }

    /// Makes every `.env` value and every known secret variable redacted and refused as an
    /// argument from the start.
    fn register_secrets(&self) -> Result<()> {
        for (k, v) in self.secrets()? {
            if !is_plain_setting(&k, &v) {
                self.runner.add_secret(&v);
            }
        }
        for name in SECRET_NAMES {
            if let Ok(v) = std::env::var(name) {
                self.runner.add_secret(&v);
            }
        }
        Ok(())
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
