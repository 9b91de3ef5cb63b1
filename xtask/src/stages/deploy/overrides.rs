//! `--set KEY=VALUE` and `--values FILE` for the chart (`deploy --helm`, `up`, `dev`).
//!
//! They go to `helm lint` and `helm upgrade` after the configured values files and the
//! xtask's generated values, so they win. They are part of the release's inputs hash: the same
//! overrides again make no upgrade. A `--set` may not carry a secret: the Secret is made from
//! `.env`, and a value on a command line ends up in shell history and process lists.

use std::path::PathBuf;

use anyhow::Result;

use crate::error::usage;
use crate::flags::Overrides;

/// The keys of the Secret the chart reads (in `.env`), lower-case and without separators.
const SECRET_KEYS: &[&str] = &[
    "databaseurl",
    "openaiapikey",
    "authsecret",
    "postgrespassword",
    "password",
];

/// Refuses overrides that cannot work: any with the raw manifests, a `--set` without `=` or
/// naming a secret, a values file that does not exist.
pub fn check(o: &Overrides, helm: bool, helm_command: &str) -> Result<()> {
    if !helm && (!o.set.is_empty() || !o.values.is_empty()) {
        return Err(usage(
            "--set and --values change the Helm chart's values, and this deploys the raw manifests",
            format!("use `cargo xtask {helm_command}`, or edit deploy/k8s for the raw manifests"),
        ));
    }
    for kv in &o.set {
        let Some((key, _)) = kv.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(usage(
                format!("--set {kv:?} is not KEY=VALUE"),
                "write it as --set backend.replicaCount=2 (keys as in deploy/helm/todo-chatbot/values.yaml)",
            ));
        };
        if is_secret_key(key) {
            return Err(usage(
                format!(
                    "--set {key}=... would put a secret on the command line (the chart reads it from the Secret)"
                ),
                "put the value in .env (see .env.example): the xtask sends it to the cluster's Secret on stdin and rolls the pods",
            ));
        }
    }
    values_files(o)?;
    Ok(())
}

/// True for a chart key whose value is a secret: anything under `secrets.`, or a key named like
/// one of the Secret's keys (`DATABASE_URL`, `OPENAI_API_KEY`, `AUTH_SECRET`,
/// `POSTGRES_PASSWORD`, a password).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.trim();
    if key.to_ascii_lowercase().starts_with("secrets.") || key.eq_ignore_ascii_case("secrets") {
        return true;
    }
    let last: String = key
        .rsplit('.')
        .next()
        .unwrap_or(key)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_KEYS.contains(&last.as_str())
}

/// The `--values` files as absolute paths (relative ones are taken from the current directory),
/// each checked to exist.
pub fn values_files(o: &Overrides) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for v in &o.values {
        let p = std::path::absolute(v).unwrap_or_else(|_| v.clone());
        if !p.is_file() {
            return Err(usage(
                format!("--values {}: no such file", v.display()),
                "give the path of a YAML values file (relative to the current directory)",
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// One line saying which overrides apply.
pub fn describe(o: &Overrides) -> String {
    let mut parts = Vec::new();
    for v in &o.values {
        parts.push(format!("--values {}", v.display()));
    }
    for kv in &o.set {
        parts.push(format!("--set {kv}"));
    }
    format!("chart overrides: {}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kv: &[&str]) -> Overrides {
        Overrides {
            set: kv.iter().map(|s| s.to_string()).collect(),
            values: Vec::new(),
        }
    }

    #[test]
    fn secret_keys_are_refused_with_a_pointer_to_dotenv() {
        for kv in [
            "secrets.openaiApiKey=sk-1",
            "secrets.existingSecret=mine",
            "backend.env.OPENAI_API_KEY=x",
            "postgres.password=x",
            "backend.authSecret=x",
        ] {
            let err = check(&set(&[kv]), true, "deploy --helm").expect_err(kv);
            let text = crate::error::render(&err);
            assert!(text.contains(".env"), "{text}");
            assert!(!text.contains("=x") && !text.contains("sk-1"), "{text}");
            assert_eq!(crate::error::exit_code(&err), 2);
        }
    }

    #[test]
    fn ordinary_values_pass_and_malformed_ones_do_not() {
        check(
            &set(&["backend.replicaCount=2", "frontend.service.type=NodePort"]),
            true,
            "deploy --helm",
        )
        .expect("ordinary values");
        assert!(check(&set(&["replicaCount"]), true, "deploy --helm").is_err());
        assert!(check(&set(&["=2"]), true, "deploy --helm").is_err());
    }

    #[test]
    fn overrides_need_helm_and_existing_files() {
        let err = check(&set(&["a=b"]), false, "up").expect_err("raw");
        assert!(crate::error::render(&err).contains("cargo xtask up"));
        let missing = Overrides {
            set: Vec::new(),
            values: vec![PathBuf::from("/nonexistent/values.yaml")],
        };
        assert!(check(&missing, true, "up").is_err());
    }
}
