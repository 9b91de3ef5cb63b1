//! `kubernetes-validate`: checks manifest files against the Kubernetes JSON schemas of one
//! version, offline (the schemas ship inside its Python package).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::run::{Call, Runner};

pub const INSTALL_HINT: &str = "`pip install kubernetes-validate` (or `bash .ci/helm.sh`, which installs it in its own virtual environment)";

/// What one run over a set of files found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub code: i32,
    /// Its `ERROR`/`WARNING` lines: every non-empty line that is not `INFO`.
    pub problems: Vec<String>,
    /// How many documents it reported as passed.
    pub passed: usize,
    /// The end of its stderr (a Python traceback when it could not start).
    pub stderr_tail: String,
}

impl Validation {
    /// True when it exited 0, reported no problem and passed each of the `objects` documents.
    pub fn all_valid(&self, objects: usize) -> bool {
        self.code == 0 && self.problems.is_empty() && self.passed == objects
    }
}

/// `kubernetes-validate --strict --kubernetes-version VERSION FILES...` (`strict` rejects fields
/// the schema does not know, which a cluster would drop without a word).
pub fn validate(
    r: &Runner,
    bin: &Path,
    version: &str,
    files: &[impl AsRef<Path>],
) -> Result<Validation> {
    let call = Call::new(bin.display().to_string())
        .args(["--strict", "--kubernetes-version", version])
        .args(files.iter().map(|f| f.as_ref().display().to_string()))
        .timeout(Duration::from_secs(600));
    let out = r.run_unchecked(&call)?;
    Ok(parse(out.code, &out.stdout, &out.stderr))
}

/// Reads its report: one `INFO <file> passed for resource <kind>/<name>` line per valid document,
/// `ERROR`/`WARNING` lines for the rest.
pub fn parse(code: i32, stdout: &str, stderr: &str) -> Validation {
    Validation {
        code,
        problems: stdout
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !l.starts_with("INFO"))
            .map(str::to_string)
            .collect(),
        passed: stdout.matches(" passed for resource ").count(),
        stderr_tail: crate::run::last_lines(stderr, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_report_passes_only_when_every_document_was_seen() {
        let out = "INFO a.yaml passed for resource /v1, Kind=Service, Namespace=todo, Name=backend\n\
                   INFO a.yaml passed for resource apps/v1, Kind=Deployment, Namespace=todo, Name=backend\n";
        let v = parse(0, out, "");
        assert_eq!(v.passed, 2);
        assert!(v.all_valid(2));
        assert!(!v.all_valid(3), "a document it never reported is not valid");
    }

    #[test]
    fn errors_and_a_failed_start_are_problems() {
        let v = parse(
            1,
            "INFO a.yaml passed for resource x\nERROR a.yaml did not validate: Additional properties are not allowed ('replica' was unexpected)\n",
            "",
        );
        assert_eq!(v.problems.len(), 1);
        assert!(!v.all_valid(1));
        let crashed = parse(
            1,
            "",
            "Traceback (most recent call last):\nModuleNotFoundError: x\n",
        );
        assert!(crashed.problems.is_empty());
        assert!(!crashed.all_valid(0), "a non-zero exit is never valid");
        assert!(crashed.stderr_tail.contains("ModuleNotFoundError"));
    }
}
