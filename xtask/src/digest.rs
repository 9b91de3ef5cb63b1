//! Content digests: an image tag is the digest of everything its build reads, so an unchanged
//! tree keeps its tag (nothing to rebuild or redeploy) and any change, a Dockerfile edit
//! included, gives a new one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Files under `root` named by `inputs` (files or folders, walked recursively), sorted. Inside
/// folders, `target*` folders, dot-entries and `node_modules` are skipped. Missing inputs are
/// returned separately.
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
        if name.starts_with('.') || name.starts_with("target") || name == "node_modules" {
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

/// SHA-256 over each file's relative path and content, then the extra `parts` (target, build
/// args), as lowercase hex.
pub fn digest(root: &Path, files: &[PathBuf], parts: &[String]) -> Result<String> {
    let mut h = Sha256::new();
    for f in files {
        let bytes = std::fs::read(root.join(f))
            .with_context(|| format!("could not read {}", f.display()))?;
        h.update(f.to_string_lossy().as_bytes());
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

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (p, c) in [
            ("Cargo.lock", "lock"),
            ("app/src/main.rs", "fn main() {}"),
            ("app/target/debug/junk", "x"),
            ("app/.hidden", "x"),
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
    fn walks_inputs_and_skips_build_output() {
        let d = tree();
        let (files, missing) = input_files(d.path(), &inputs()).expect("walks");
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
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
