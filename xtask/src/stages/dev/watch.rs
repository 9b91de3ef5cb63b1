//! The watch of `dev`: file-system events on the image inputs, debounced.
//!
//! Folders among the inputs are watched recursively; single files through their parent folder
//! (editors often save by writing a new file and renaming it over the old one, which a watch on
//! the file itself would lose). Events on paths that are not inputs, or that no build reads
//! (`target*`, dot-entries such as `.git` and swap files, editor backups), are dropped here;
//! whether an image really changed is then decided by its content digest.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::digest::is_scratch;

/// Changes that arrived together (no gap longer than the debounce between them).
#[derive(Debug, Clone)]
pub struct Batch {
    /// Input paths that changed, relative to the project root.
    pub paths: BTreeSet<PathBuf>,
    /// When the first of them arrived: the save the cycle's time is measured from.
    pub first: Instant,
}

pub struct Watch {
    // Kept alive for as long as events are wanted.
    _watcher: RecommendedWatcher,
    rx: Receiver<notify::Result<notify::Event>>,
    root: PathBuf,
    inputs: Vec<PathBuf>,
}

impl Watch {
    /// Starts watching `inputs` (files or folders, relative to `root`; missing ones are skipped).
    pub fn new(root: &Path, inputs: &[PathBuf]) -> Result<Watch> {
        let root = root
            .canonicalize()
            .with_context(|| format!("could not resolve {}", root.display()))?;
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        })
        .context("could not start watching files")?;
        let mut watched = BTreeSet::new();
        for input in inputs {
            let path = root.join(input);
            let (target, mode) = if path.is_dir() {
                (path, RecursiveMode::Recursive)
            } else {
                match path.parent() {
                    Some(p) if p.is_dir() => (p.to_path_buf(), RecursiveMode::NonRecursive),
                    _ => continue,
                }
            };
            if watched.insert((target.clone(), mode == RecursiveMode::Recursive)) {
                watcher.watch(&target, mode).with_context(|| {
                    format!(
                        "could not watch {} (on Linux, raise fs.inotify.max_user_watches)",
                        target.display()
                    )
                })?;
            }
        }
        Ok(Watch {
            _watcher: watcher,
            rx,
            root,
            inputs: inputs.to_vec(),
        })
    }

    /// Waits up to `wait` for a change to an input, then collects further changes until `quiet`
    /// passes without one. `None` when nothing changed within `wait`.
    pub fn next(&self, wait: Duration, quiet: Duration) -> Result<Option<Batch>> {
        let deadline = Instant::now() + wait;
        let mut batch: Option<Batch> = None;
        loop {
            let limit = match &batch {
                None => deadline.saturating_duration_since(Instant::now()),
                Some(_) => quiet,
            };
            match self.rx.recv_timeout(limit) {
                Ok(Ok(event)) => {
                    if matches!(event.kind, EventKind::Access(_)) {
                        continue;
                    }
                    for p in event.paths {
                        if let Some(rel) = relevant(&self.root, &self.inputs, &p) {
                            batch
                                .get_or_insert_with(|| Batch {
                                    paths: BTreeSet::new(),
                                    first: Instant::now(),
                                })
                                .paths
                                .insert(rel);
                        }
                    }
                }
                // A lost event (queue overflow) still means "something changed": the digests
                // decide what.
                Ok(Err(e)) => {
                    let b = batch.get_or_insert_with(|| Batch {
                        paths: BTreeSet::new(),
                        first: Instant::now(),
                    });
                    b.paths.insert(PathBuf::from(format!("(watch error: {e})")));
                }
                Err(RecvTimeoutError::Timeout) => return Ok(batch),
                Err(RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the file watch stopped")
                }
            }
        }
    }
}

/// `path` relative to `root` when it is one of the `inputs` or inside one, and no part of it
/// below the input is build output or an editor's scratch file (as for the digest's walk).
pub fn relevant(root: &Path, inputs: &[PathBuf], path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let clean = |below: &Path| {
        below.components().all(|c| match c {
            Component::Normal(n) => {
                let n = n.to_string_lossy();
                !(n.starts_with("target") || n == "node_modules" || is_scratch(&n))
            }
            _ => false,
        })
    };
    inputs
        .iter()
        .filter_map(|i| rel.strip_prefix(i).ok())
        .any(clean)
        .then(|| rel.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Vec<PathBuf> {
        [
            "Cargo.lock",
            ".dockerignore",
            ".cargo",
            "app/backend",
            "crates",
        ]
        .map(PathBuf::from)
        .to_vec()
    }

    #[test]
    fn only_inputs_count_and_scratch_files_never() {
        let root = Path::new("/p");
        let rel = |p: &str| relevant(root, &inputs(), &root.join(p));
        assert_eq!(
            rel("app/backend/src/main.rs"),
            Some("app/backend/src/main.rs".into())
        );
        assert_eq!(rel("Cargo.lock"), Some("Cargo.lock".into()));
        assert_eq!(
            rel(".dockerignore"),
            Some(".dockerignore".into()),
            "named inputs count"
        );
        assert_eq!(rel(".cargo/config.toml"), Some(".cargo/config.toml".into()));
        for p in [
            "README.md",
            "app/frontend/src/main.rs",
            "app/backend/target/debug/x",
            "target/xtask/inputs/backend.json",
            "app/backend/src/.main.rs.swp",
            "app/backend/src/main.rs~",
            "app/backend/src/4913",
            ".git/index",
        ] {
            assert_eq!(rel(p), None, "{p}");
        }
        assert_eq!(relevant(root, &inputs(), Path::new("/elsewhere/x")), None);
    }

    #[test]
    fn a_burst_of_saves_is_one_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("app/backend/src")).expect("mkdir");
        std::fs::write(dir.path().join("Cargo.lock"), "a").expect("write");
        let watch = Watch::new(dir.path(), &inputs()).expect("watches");
        assert!(
            watch
                .next(Duration::from_millis(100), Duration::from_millis(50))
                .expect("ok")
                .is_none()
        );
        let root = dir.path();
        std::fs::write(root.join("app/backend/src/main.rs"), "fn main() {}").expect("write");
        std::fs::write(root.join("app/backend/src/.main.rs.swp"), "x").expect("write");
        std::fs::write(root.join("Cargo.lock"), "b").expect("write");
        std::fs::write(root.join("README.md"), "not an input").expect("write");
        let batch = watch
            .next(Duration::from_secs(5), Duration::from_millis(200))
            .expect("ok")
            .expect("a batch");
        let main_rs = Path::new("app").join("backend").join("src").join("main.rs");
        assert_eq!(
            batch.paths.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("Cargo.lock"), main_rs]
        );
    }
}
