//! Content digests: an image tag is the digest of everything its build reads, so an unchanged
//! tree keeps its tag (nothing to rebuild or redeploy) and any change, a Dockerfile edit
//! included, gives a new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Files under `root` named by `inputs` (files or folders, walked recursively), sorted. Inside
/// folders, `target*` folders, dot-entries, `node_modules` and editor temporary files are
/// skipped. Missing inputs are returned separately.
pub fn input_files(root: &Path, inputs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for input in inputs {
        let path = root.join(input);
        if path.is_file() {
            files.push(input.clone());
        } else if path.is_dir() {
            walk(root, &path, &mut files)?;
        } else {
            missing.push(input.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok((files, missing))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("target") || name == "node_modules" || is_scratch(&name) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// Names no build reads: dot-entries (`.git`, vim's `.x.swp`, emacs' `.#x`), backups (`x~`),
/// emacs' autosaves (`#x#`), vim's write test file `4913` and JetBrains' safe-write copies.
pub fn is_scratch(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
}

/// A relative path as the digest and the inputs record name it: its parts joined with `/` on
/// every host, so a Windows checkout (`app\\src\\main.rs`) names a file as Linux does.
fn key(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one image is built from: each input file's SHA-256 by relative path, and the extra parts
/// (target, build args). Its [`Inputs::digest`] is the image tag; kept after a build, it says
/// what changed since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub files: BTreeMap<String, String>,
    pub parts: Vec<String>,
}

impl Inputs {
    /// Reads and hashes `files` (relative to `root`).
    pub fn read(root: &Path, files: &[PathBuf], parts: &[String]) -> Result<Inputs> {
        let mut out = BTreeMap::new();
        for f in files {
            let bytes = std::fs::read(root.join(f))
                .with_context(|| format!("could not read {}", f.display()))?;
            out.insert(key(f), hex(&Sha256::digest(&bytes)));
        }
        Ok(Inputs {
            files: out,
            parts: parts.to_vec(),
        })
    }

    /// SHA-256 over every (path, content hash) pair and the parts, as lowercase hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (path, sum) in &self.files {
            h.update(path.as_bytes());
            h.update([0]);
            h.update(sum.as_bytes());
        }
        for p in &self.parts {
            h.update([1]);
            h.update(p.as_bytes());
        }
        hex(&h.finalize())
    }

    /// What differs from `before`, one phrase each (`app/x.rs changed`, `build arg ... added`).
    pub fn changes_since(&self, before: &Inputs) -> Vec<String> {
        let mut out = Vec::new();
        for (path, sum) in &self.files {
            match before.files.get(path) {
                None => out.push(format!("{path} added")),
                Some(old) if old != sum => out.push(format!("{path} changed")),
                Some(_) => {}
            }
        }
        for path in before.files.keys() {
            if !self.files.contains_key(path) {
                out.push(format!("{path} removed"));
            }
        }
        for p in &self.parts {
            if !before.parts.contains(p) {
                out.push(format!("{p} (new)"));
            }
        }
        for p in &before.parts {
            if !self.parts.contains(p) {
                out.push(format!("{p} (dropped)"));
            }
        }
        out
    }
}

/// The inputs of the last image built for one key, kept under `target/xtask/inputs/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuiltRecord {
    /// `name:tag`.
    pub image: String,
    pub inputs: Inputs,
}

fn record_path(root: &Path, key: &str) -> PathBuf {
    root.join("target/xtask/inputs").join(format!("{key}.json"))
}

/// The record of the last build of image `key`, when there is a readable one.
pub fn last_built(root: &Path, key: &str) -> Option<BuiltRecord> {
    let text = std::fs::read_to_string(record_path(root, key)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `record` as the last build of image `key`.
pub fn remember_built(root: &Path, key: &str, record: &BuiltRecord) -> Result<()> {
    let path = record_path(root, key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(record)?)
        .with_context(|| format!("could not write {}", path.display()))
}

/// Why an image is rebuilt: the first few changes since its last build, or that there is no
/// record of one.
pub fn why(changes: &[String], shown: usize) -> String {
    match changes.len() {
        0 => "no record of what the last build read".to_string(),
        n if n <= shown => changes.join(", "),
        n => format!("{} and {} more", changes[..shown].join(", "), n - shown),
    }
}

/// SHA-256 over each file's relative path and content, then the extra `parts` (target, build
/// args), as lowercase hex.
pub fn digest(root: &Path, files: &[PathBuf], parts: &[String]) -> Result<String> {
    let mut h = Sha256::new();
    for f in files {
        let bytes = std::fs::read(root.join(f))
            .with_context(|| format!("could not read {}", f.display()))?;
        h.update(key(f).as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    for p in parts {
        h.update([1]);
        h.update(p.as_bytes());
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_named_with_slashes_on_every_host() {
        let rel = Path::new("app").join("src").join("main.rs");
        assert_eq!(key(&rel), "app/src/main.rs");
        let inputs = Inputs::read(tree().path(), &[rel], &[]).expect("read");
        assert!(inputs.files.contains_key("app/src/main.rs"), "{inputs:?}");
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (p, c) in [
            ("Cargo.lock", "lock"),
            ("app/src/main.rs", "fn main() {}"),
            ("app/target/debug/junk", "x"),
            ("app/.hidden", "x"),
            ("app/src/main.rs~", "x"),
            ("Dockerfile", "FROM scratch"),
        ] {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, c).expect("write");
        }
        d
    }

    fn inputs() -> Vec<PathBuf> {
        ["Cargo.lock", "app", "Dockerfile", "nope"]
            .map(PathBuf::from)
            .to_vec()
    }

    #[test]
    fn editor_scratch_files_are_not_inputs() {
        for n in [
            ".main.rs.swp",
            ".#main.rs",
            "main.rs~",
            "#main.rs#",
            "4913",
            "x.rs___jb_tmp___",
        ] {
            assert!(is_scratch(n), "{n}");
        }
        for n in ["main.rs", "Cargo.toml", "#", "a#b"] {
            assert!(!is_scratch(n), "{n}");
        }
    }

    #[test]
    fn inputs_say_what_changed() {
        let d = tree();
        let files = vec![
            PathBuf::from("Cargo.lock"),
            PathBuf::from("app/src/main.rs"),
        ];
        let before = Inputs::read(d.path(), &files, &["--target backend".into()]).expect("reads");
        assert_eq!(
            before.digest(),
            Inputs::read(d.path(), &files, &["--target backend".into()])
                .expect("reads")
                .digest()
        );
        std::fs::write(d.path().join("app/src/main.rs"), "fn main() { }").expect("write");
        let after = Inputs::read(
            d.path(),
            &files,
            &["--target backend".into(), "--build-arg PROFILE=iter".into()],
        )
        .expect("reads");
        assert_ne!(before.digest(), after.digest());
        assert_eq!(
            after.changes_since(&before),
            ["app/src/main.rs changed", "--build-arg PROFILE=iter (new)"]
        );
        assert_eq!(
            why(&after.changes_since(&before), 1),
            "app/src/main.rs changed and 1 more"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let rec = BuiltRecord {
            image: "todo-backend:0123".into(),
            inputs: after.clone(),
        };
        remember_built(dir.path(), "backend", &rec).expect("kept");
        let back = last_built(dir.path(), "backend").expect("read back");
        assert_eq!(back.inputs, after);
        assert!(last_built(dir.path(), "frontend").is_none());
    }

    #[test]
    fn walks_inputs_and_skips_build_output() {
        let d = tree();
        let (files, missing) = input_files(d.path(), &inputs()).expect("walks");
        let names: Vec<String> = files.iter().map(|f| key(f)).collect();
        assert_eq!(names, ["Cargo.lock", "Dockerfile", "app/src/main.rs"]);
        assert_eq!(missing, [PathBuf::from("nope")]);
    }

    #[test]
    fn same_tree_same_digest_any_change_new_digest() {
        let d = tree();
        let (files, _) = input_files(d.path(), &inputs()).expect("walks");
        let parts = vec!["backend".to_string()];
        let a = digest(d.path(), &files, &parts).expect("digest");
        assert_eq!(a, digest(d.path(), &files, &parts).expect("digest"));
        assert_ne!(
            a,
            digest(d.path(), &files, &["frontend".to_string()]).expect("digest")
        );
        std::fs::write(d.path().join("app/target/debug/junk"), "changed").expect("write");
        assert_eq!(
            a,
            digest(d.path(), &files, &parts).expect("digest"),
            "build output is ignored"
        );
        std::fs::write(d.path().join("Dockerfile"), "FROM scratch\nUSER 1").expect("write");
        assert_ne!(
            a,
            digest(d.path(), &files, &parts).expect("digest"),
            "a Dockerfile edit counts"
        );
    }
}
