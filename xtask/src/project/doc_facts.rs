//! Facts the docs state that the code also holds, checked by `docs --check` so that a doc that
//! drifts from the code fails CI: the app's namespace, the Helm release, the Secret made from
//! `.env`, the image size budgets, the stages' order and numbers, and every `cargo xtask` flag
//! the docs mention.
//!
//! Each check reads plain text, line by line, for the few phrasings the docs use (`-n NAME`,
//! `helm upgrade --install NAME`, `secret/NAME`, `N MB of M MB`, `N. \`stage\``...). A name in
//! capitals or starting with `$`, `{` or `<` is a placeholder and not checked.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::objects::{KAGENT_NAMESPACE, SECRET_NAME};
use super::pipeline;
use crate::config::Config;
use crate::flags::Xtask;

/// One place where a doc disagrees with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// What the docs are compared with.
#[derive(Debug, Clone)]
pub struct Facts {
    pub namespace: String,
    pub release: String,
    pub secret: String,
    /// Every image's `budget_mb`.
    pub budgets_mb: Vec<u64>,
}

impl Facts {
    pub fn of(config: &Config) -> Facts {
        let mut budgets_mb: Vec<u64> = config.images.values().map(|i| i.budget_mb).collect();
        budgets_mb.sort_unstable();
        budgets_mb.dedup();
        Facts {
            namespace: config.deploy.namespace.clone(),
            release: config.deploy.release.clone(),
            secret: SECRET_NAME.to_string(),
            budgets_mb,
        }
    }
}

/// Namespaces the docs may name besides the app's: other software's.
const OTHER_NAMESPACES: &[&str] = &[KAGENT_NAMESPACE, "kube-system", "ingress-nginx", "default"];

/// The docs checked (files, or folders searched for `.md`, `.yaml`, `.txt`), relative to the
/// root; and what is skipped under them (written by the xtask, or pictures).
const DOCS: &[&str] = &[
    "README.md",
    "docs",
    "xtask/README.md",
    "deploy/k8s",
    "deploy/helm",
];
const SKIP: &[&str] = &["docs/report", "docs/images", "docs/aiops"];
/// Rust sources whose comments name stage numbers.
const SOURCES: &str = "xtask/src";

/// Every drift in the project at `root`.
pub fn check(root: &Path, facts: &Facts) -> Result<Vec<Drift>> {
    let mut drifts = Vec::new();
    for (rel, text) in doc_files(root)? {
        drifts.extend(check_text(&rel, &text, facts));
    }
    let mut sources = Vec::new();
    collect(root, Path::new(SOURCES), &["rs"], &mut sources)?;
    for (rel, text) in sources {
        let comments: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("//") {
                    l
                } else {
                    ""
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        drifts.extend(stage_numbers(&rel, &comments));
    }
    drifts.extend(help_stage_numbers());
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    if !readme.is_empty() {
        drifts.extend(stage_list("README.md", &readme));
    }
    let stages_md = std::fs::read_to_string(root.join("docs/stages.md")).unwrap_or_default();
    if !stages_md.is_empty() {
        drifts.extend(stage_table("docs/stages.md", &stages_md));
    }
    Ok(drifts)
}

/// Every check that reads one doc.
pub fn check_text(file: &str, text: &str, facts: &Facts) -> Vec<Drift> {
    let mut out = Vec::new();
    out.extend(namespaces(file, text, &facts.namespace));
    out.extend(releases(file, text, &facts.release));
    out.extend(secrets(file, text, &facts.secret));
    out.extend(budgets(file, text, &facts.budgets_mb));
    out.extend(stage_numbers(file, text));
    out.extend(flags(file, text));
    out.extend(minikube_profiles(file, text));
    out
}

/// A runnable `minikube service NAME …` names the profile (`-p`): the xtask's cluster is a
/// named profile, not minikube's default one.
pub fn minikube_profiles(file: &str, text: &str) -> Vec<Drift> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find("minikube service ") {
            let start = from + at + "minikube service ".len();
            from = start;
            let rest = &line[start..];
            let command = &rest[..rest.find('`').unwrap_or(rest.len())];
            let Some(first) = command.split_whitespace().next() else {
                continue;
            };
            if first.starts_with('-') || first == "…" || first == "..." {
                continue;
            }
            let words: Vec<&str> = command.split_whitespace().collect();
            let profile = words
                .iter()
                .any(|w| *w == "-p" || w.starts_with("--profile") || w.starts_with("-p="));
            if !profile {
                out.push(drift(
                    file,
                    i,
                    format!("`minikube service {first} …` names no profile (-p PROFILE)"),
                ));
            }
        }
    }
    out
}

fn doc_files(root: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for d in DOCS {
        collect(
            root,
            Path::new(d),
            &["md", "yaml", "yml", "txt"],
            &mut files,
        )?;
    }
    Ok(files)
}

fn collect(root: &Path, rel: &Path, exts: &[&str], out: &mut Vec<(String, String)>) -> Result<()> {
    let path = root.join(rel);
    let shown = rel.display().to_string().replace('\\', "/");
    if SKIP.contains(&shown.as_str()) {
        return Ok(());
    }
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        entries.sort();
        for name in entries {
            collect(root, &rel.join(name), exts, out)?;
        }
    } else if path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
    {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        out.push((shown, text));
    }
    Ok(())
}

fn drift(file: &str, line: usize, what: String) -> Drift {
    Drift {
        file: file.to_string(),
        line: line + 1,
        what,
    }
}

/// The name starting at `rest` (letters, digits, `-`, `_`, `.`; a trailing `.` dropped), or
/// None for a placeholder.
fn name_at(rest: &str) -> Option<&str> {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let name = rest[..end].trim_end_matches('.');
    let first = name.chars().next()?;
    if first.is_ascii_uppercase() || first.is_ascii_digit() || first == '-' {
        return None;
    }
    Some(name)
}

/// Every name that follows one of `prefixes` in `line`.
fn names_after<'a>(line: &'a str, prefixes: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for p in prefixes {
        let mut from = 0;
        while let Some(at) = line[from..].find(p) {
            let start = from + at + p.len();
            // `-n` only as a flag of its own (not inside `--dry-run`).
            let before = line[..from + at].chars().last();
            let standalone = !p.starts_with('-')
                || before.is_none_or(|c| c.is_whitespace() || c == '`' || c == '(');
            if standalone && let Some(n) = name_at(&line[start..]) {
                out.push(n);
            }
            from = start;
        }
    }
    out
}

/// `-n NAME`, `--namespace NAME`, ``namespace `NAME` ``, `namespace: NAME`.
pub fn namespaces(file: &str, text: &str, want: &str) -> Vec<Drift> {
    let prefixes = [
        "-n ",
        "--namespace ",
        "--namespace=",
        "namespace `",
        "namespace \"",
        "XTASK_NAMESPACE=",
    ];
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut names = names_after(line, &prefixes);
        // YAML's `namespace: NAME` (not prose ending in "namespace:").
        if let Some(rest) = line.trim_start().strip_prefix("namespace: ") {
            names.extend(name_at(rest));
        }
        for n in names {
            if n != want && !OTHER_NAMESPACES.contains(&n) {
                out.push(drift(
                    file,
                    i,
                    format!("namespace `{n}`, but the app's is `{want}` (deploy.namespace)"),
                ));
            }
        }
    }
    out
}

/// The release a `helm` command line or the text names.
pub fn releases(file: &str, text: &str, want: &str) -> Vec<Drift> {
    let prefixes = [
        "helm upgrade --install ",
        "helm install ",
        "helm uninstall ",
        "helm status ",
        "helm test ",
        "helm history ",
        "helm rollback ",
        "helm get values ",
        "helm get manifest ",
        "helm get all ",
        "helm template ",
        "helm install release ",
        "helm upgrade release ",
    ];
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // The plan's own wording, `helm install release NAME`, names it after `release`.
        for n in names_after(line, &prefixes)
            .into_iter()
            .filter(|n| *n != "release")
        {
            if n != want {
                out.push(drift(
                    file,
                    i,
                    format!("Helm release `{n}`, but the xtask's is `{want}` (deploy.release)"),
                ));
            }
        }
    }
    out
}

/// The app's Secret: a chart value `existingSecret: NAME` (or `existingSecret=NAME`), and any
/// `secret/NAME` or ``Secret `NAME` `` named after the release (`todo-chatbot-…`) but the
/// chart's other Secrets. Other software's Secrets (kagent's, a registry's) are not checked.
pub fn secrets(file: &str, text: &str, want: &str) -> Vec<Drift> {
    let release_prefix = want.rsplit_once('-').map_or(want, |(p, _)| p);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut names: Vec<&str> = names_after(line, &["secret/", "Secret `"])
            .into_iter()
            .filter(|n| n.starts_with(&format!("{release_prefix}-")) && !OTHER_SECRETS.contains(n))
            .collect();
        names.extend(names_after(line, &["existingSecret="]));
        if let Some(rest) = line.trim_start().strip_prefix("existingSecret: ") {
            names.extend(name_at(rest));
        }
        for n in names {
            if n != want {
                out.push(drift(
                    file,
                    i,
                    format!("Secret `{n}`, but the xtask makes `{want}` from .env"),
                ));
            }
        }
    }
    out
}

/// The chart's Secrets other than the app's (named after the release too).
const OTHER_SECRETS: &[&str] = &["todo-chatbot-tls", "todo-chatbot-postgres"];

/// The number just before `at` in `line` (digits and `.`), if any.
fn number_before(line: &str, at: usize) -> Option<f64> {
    let head = line[..at].trim_end();
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(0, |(p, c)| p + c.len_utf8());
    head[start..].parse().ok()
}

/// A size budget: `N MB of M MB`, `over the M MB budget`, `at most M MB`.
pub fn budgets(file: &str, text: &str, want: &[u64]) -> Vec<Drift> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find(" MB") {
            let at = from + at;
            from = at + 3;
            let Some(n) = number_before(line, at) else {
                continue;
            };
            let head = line[..at].trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            let budget = line[at + 3..].starts_with(" budget")
                || head.ends_with("at most ")
                || (head.ends_with(" of ") && head.trim_end_matches(" of ").ends_with(" MB"));
            #[allow(clippy::cast_precision_loss)]
            let known = want.iter().any(|w| (*w as f64 - n).abs() < f64::EPSILON);
            if budget && !known {
                let list: Vec<String> = want.iter().map(|w| format!("{w} MB")).collect();
                out.push(drift(
                    file,
                    i,
                    format!(
                        "image budget {n} MB, but budget_mb is {} (deploy/pipeline.toml)",
                        list.join(" or ")
                    ),
                ));
            }
        }
    }
    out
}

/// The stages named in backticks in `line` (`deploy --helm` counts as `deploy`).
fn backticked_stages(line: &str) -> Vec<&'static str> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let word = code.split_whitespace().next().unwrap_or("");
            pipeline::STAGES.iter().find(|s| **s == word).copied()
        })
        .collect()
}

/// `stage N` (any case) on a line naming stages in backticks: one of them must be number N.
pub fn stage_numbers(file: &str, text: &str) -> Vec<Drift> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        let named = backticked_stages(line);
        if named.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(at) = lower[from..].find("stage ") {
            let start = from + at + "stage ".len();
            from = start;
            let digits: String = lower[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let Ok(n) = digits.parse::<u8>() else {
                continue;
            };
            if !named.iter().any(|s| pipeline::number(s) == Some(n)) {
                out.push(drift(
                    file,
                    i,
                    format!(
                        "stage {n} next to {}, but `up` runs {} as stage {}",
                        named
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        named[0],
                        pipeline::number(named[0]).unwrap_or(0)
                    ),
                ));
            }
        }
    }
    out
}

/// A numbered list of stages (`N. \`stage\``): every item numbered as `up` runs it, and all of
/// them there.
pub fn stage_list(file: &str, text: &str) -> Vec<Drift> {
    let items: Vec<_> = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (num, rest) = line.split_once(". `")?;
            let n = num.trim().parse::<u8>().ok()?;
            let stage = backticked_stages(&format!("`{rest}")).first().copied()?;
            Some((i, n, stage))
        })
        .collect();
    // A file without the list has nothing to drift: only a list that is there must be whole.
    if items.is_empty() {
        return Vec::new();
    }
    numbered_stages(
        file,
        items.into_iter(),
        "item",
        "the numbered list of stages is",
    )
}

/// The table of stages (`| N | … | \`stage\` …`): each numbered row's stage has that number, and
/// every stage has a row.
pub fn stage_table(file: &str, text: &str) -> Vec<Drift> {
    let rows = text.lines().enumerate().filter_map(|(i, line)| {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            return None;
        }
        let n = cells[1].parse::<u8>().ok()?;
        let stage = cells[2..]
            .iter()
            .find_map(|c| backticked_stages(c).first().copied())?;
        Some((i, n, stage))
    });
    numbered_stages(file, rows, "row", "the table of stages numbers")
}

/// Numbered entries `(line index, number, stage)` against `up`'s order: each entry (`entry`:
/// "item", "row") has its stage's number, and together they are every stage in order.
fn numbered_stages(
    file: &str,
    entries: impl Iterator<Item = (usize, u8, &'static str)>,
    entry: &str,
    whole: &str,
) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (i, n, stage) in entries {
        seen.push(stage);
        if pipeline::number(stage) != Some(n) {
            out.push(drift(
                file,
                i,
                format!(
                    "{entry} {n} is `{stage}`, but `up` runs it as stage {}",
                    pipeline::number(stage).unwrap_or(0)
                ),
            ));
        }
    }
    if seen != pipeline::STAGES {
        out.push(drift(
            file,
            0,
            format!(
                "{whole} {}, but `up` runs {}",
                seen.join(", "),
                pipeline::STAGES.join(", ")
            ),
        ));
    }
    out
}

/// `--help`: each stage's help starts with its number, no other command claims one, and `up`'s
/// lists the order.
pub fn help_stage_numbers() -> Vec<Drift> {
    let file = "xtask/src/flags.rs";
    let mut out = Vec::new();
    let cmd = Xtask::command();
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        let about = sub.get_about().map(|s| s.to_string()).unwrap_or_default();
        let claimed = about
            .strip_prefix("Stage ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<u8>().ok());
        if claimed != pipeline::number(name) {
            out.push(Drift {
                file: file.into(),
                line: 0,
                what: format!(
                    "`{name}` --help says {}, but `up` runs it {}",
                    claimed.map_or("no stage number".into(), |n| format!("stage {n}")),
                    pipeline::number(name).map_or("not at all".into(), |n| format!("as stage {n}"))
                ),
            });
        }
    }
    let order: Vec<String> = pipeline::STAGES
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {s}", i + 1))
        .collect();
    let up = cmd
        .find_subcommand("up")
        .and_then(|c| c.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    if !up.contains(&order.join(", ")) {
        out.push(Drift {
            file: file.into(),
            line: 0,
            what: format!("`up` --help does not list `{}`", order.join(", ")),
        });
    }
    out
}

/// The long and short flags of each subcommand (globals included) and the top level's, each
/// with whether it takes a value.
fn flag_tree() -> Vec<(String, Vec<(String, bool)>)> {
    let mut cmd = Xtask::command();
    cmd.build();
    let flags_of = |c: &clap::Command| -> Vec<(String, bool)> {
        c.get_arguments()
            .flat_map(|a| {
                let value = a.get_action().takes_values();
                let mut v: Vec<(String, bool)> = a
                    .get_long_and_visible_aliases()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| (format!("--{l}"), value))
                    .collect();
                v.extend(
                    a.get_short_and_visible_aliases()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|s| (format!("-{s}"), value)),
                );
                v
            })
            .collect()
    };
    let mut tree = vec![(String::new(), flags_of(&cmd))];
    for sub in cmd.get_subcommands() {
        tree.push((sub.get_name().to_string(), flags_of(sub)));
    }
    tree
}

/// Every `cargo xtask [FLAGS] CMD [ARGS]` a doc mentions: the command exists and takes each
/// flag written after it (up to `--`, a pipe, a redirect or the end of the code span).
pub fn flags(file: &str, text: &str) -> Vec<Drift> {
    let tree = flag_tree();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find("cargo xtask ") {
            let start = from + at + "cargo xtask ".len();
            from = start;
            let rest = &line[start..];
            let end = rest
                .find(['`', '|', '>', ';', ')', '&', '"', '\''])
                .unwrap_or(rest.len());
            let mut sub: Option<&str> = None;
            let mut value_next = false;
            for token in rest[..end].split_whitespace() {
                let token = token.trim_end_matches([',', '.', ':']);
                if token == "--" {
                    break;
                }
                if std::mem::take(&mut value_next) {
                    continue;
                }
                if let Some(flag) = token.strip_prefix('-').map(|_| token) {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    if flag.chars().nth(1).is_some_and(|c| c.is_ascii_uppercase())
                        || flag.contains('[')
                    {
                        continue;
                    }
                    let known = tree
                        .iter()
                        .filter(|(n, _)| n.is_empty() || Some(n.as_str()) == sub)
                        .find_map(|(_, f)| f.iter().find(|(x, _)| x == flag));
                    if let Some((_, takes)) = known {
                        value_next = *takes && !token.contains('=');
                    } else {
                        out.push(drift(
                            file,
                            i,
                            format!("`cargo xtask {}` has no flag {flag}", sub.unwrap_or(""))
                                .replace("xtask ` has", "xtask` has"),
                        ));
                    }
                } else if sub.is_none() {
                    if token.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                        && !token.is_empty()
                    {
                        if tree.iter().any(|(n, _)| n == token) || token == "help" {
                            sub = Some(token);
                        } else {
                            out.push(drift(
                                file,
                                i,
                                format!("`cargo xtask {token}`: there is no such command"),
                            ));
                            break;
                        }
                    } else {
                        // A placeholder (`<stage>`, `STAGE`): nothing to check.
                        break;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            namespace: "todo".into(),
            release: "todo-chatbot".into(),
            secret: "todo-chatbot-secrets".into(),
            budgets_mb: vec![25],
        }
    }

    #[test]
    fn check_text_runs_every_check() {
        let doc = "`cargo xtask up -n todo-chatbot --helm`\nhelm uninstall todo\nsecret/todo-chatbot-env\n1.0 MB of 40 MB\n### `build` (stage 1)\n";
        let d = check_text("a.md", doc, &facts());
        assert_eq!(d.len(), 6, "{:?}", whats(&d));
    }

    fn whats(d: &[Drift]) -> Vec<String> {
        d.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_drifted_namespace_is_found() {
        let ok = "kubectl get pods -n todo\nminikube service x -n todo -p todo-chatbot --url\nkubectl -n kagent get agents\n`cargo xtask up --dry-run -n todo`\nnamespace: ${NAMESPACE}\n";
        assert!(namespaces("a.md", ok, "todo").is_empty());
        let bad = "ok\nhelm template todo-chatbot chart -n todo-chatbot\nthe namespace `todo-app` holds it\n";
        let d = namespaces("a.md", bad, "todo");
        assert_eq!(d.len(), 2, "{:?}", whats(&d));
        assert_eq!(d[0].line, 2);
        assert!(d[0].what.contains("`todo-chatbot`"));
    }

    #[test]
    fn a_drifted_release_is_found() {
        let ok = "helm upgrade --install todo-chatbot deploy/helm/todo-chatbot\nhelm test RELEASE\nrelease \"{{ .Release.Name }}\"\n";
        assert!(releases("a.md", ok, "todo-chatbot").is_empty());
        let d = releases("a.md", "helm uninstall todo -n todo\n", "todo-chatbot");
        assert_eq!(
            whats(&d),
            ["a.md:1: Helm release `todo`, but the xtask's is `todo-chatbot` (deploy.release)"]
        );
    }

    #[test]
    fn a_drifted_secret_is_found() {
        let ok = "kubectl get secret/todo-chatbot-secrets\nsecrets:\n  existingSecret: todo-chatbot-secrets\n  existingSecret: \"\"\n";
        assert!(secrets("v.yaml", ok, "todo-chatbot-secrets").is_empty());
        let d = secrets(
            "v.yaml",
            "secrets:\n  existingSecret: todo-chatbot-env\n",
            "todo-chatbot-secrets",
        );
        assert_eq!(d.len(), 1, "{:?}", whats(&d));
        assert!(d[0].what.contains("todo-chatbot-env"));
    }

    #[test]
    fn a_drifted_budget_is_found() {
        let ok = "backend size  pass  16.0 MB of 25 MB\n`26.3 MB is 1.3 MB (5%) over the 25 MB budget`\nEach image is at most 25 MB.\npython images are 150 MB\n";
        assert!(
            budgets("a.md", ok, &[25]).is_empty(),
            "{:?}",
            whats(&budgets("a.md", ok, &[25]))
        );
        let bad = "backend size  pass  41.2 MB of 150 MB\n41.2 MB is 1.2 MB (3%) over the 40 MB budget\nat most 100 MB\n";
        let d = budgets("a.md", bad, &[25]);
        assert_eq!(d.len(), 3, "{:?}", whats(&d));
        assert!(d[0].what.contains("150 MB"));
    }

    #[test]
    fn a_drifted_stage_number_is_found() {
        let ok = "### `build` (stage 3)\n//! Stage 5, `verify`: the app\n### `deploy` and `deploy --helm` (stage 4)\nstage 2 of the plan\n";
        assert!(stage_numbers("a.md", ok).is_empty());
        let d = stage_numbers("a.md", "### `build` (stage 1)\n");
        assert_eq!(d.len(), 1, "{:?}", whats(&d));
        let list = "1. `doctor` x\n2. `setup`\n3. `build`\n4. `deploy --helm`\n5. `verify`\n6. `aiops`\n7. `docs`\n";
        assert!(stage_list("README.md", list).is_empty());
        let swapped = list
            .replace("5. `verify`", "5. `aiops`")
            .replace("6. `aiops`", "6. `verify`");
        assert_eq!(stage_list("README.md", &swapped).len(), 3);
        let table = "| # | stage | command |\n|---|---|---|\n| 1 | x | `doctor` |\n| 2 | x | `setup` |\n| 3 | x | `build` |\n| 4 | x | `deploy --helm`, `deploy` |\n| 5 | x | `verify` |\n| 6 | x | `aiops` |\n| 7 | x | `docs` |\n| | x | `up` |\n";
        assert!(
            stage_table("s.md", table).is_empty(),
            "{:?}",
            whats(&stage_table("s.md", table))
        );
        let old = table.replace("| 3 | x | `build` |", "| 1 | x | `build` |");
        assert!(!stage_table("s.md", &old).is_empty());
        assert!(
            help_stage_numbers().is_empty(),
            "{:?}",
            whats(&help_stage_numbers())
        );
    }

    #[test]
    fn a_minikube_service_command_without_its_profile_is_found() {
        let ok = "  minikube:  minikube service {{ $frontend }} -n {{ $ns }} -p todo-chatbot --url\n(`minikube service … --url`, or `minikube service --url`)\n";
        assert!(minikube_profiles("NOTES.txt", ok).is_empty());
        let d = minikube_profiles(
            "NOTES.txt",
            "  minikube service {{ $frontend }} -n {{ $ns }} --url\n",
        );
        assert_eq!(d.len(), 1, "{:?}", whats(&d));
    }

    #[test]
    fn a_flag_the_command_lacks_is_found() {
        let ok = "`cargo xtask up --dry-run`, `cargo xtask --namespace x status --json`\n```\ncargo xtask test -- -p todo-backend --nocapture\ncargo xtask completions bash > ~/.x\ncargo xtask <stage> --dry-run\ncargo xtask logs backend -f --since 10m\n```\n";
        assert!(
            flags("a.md", ok).is_empty(),
            "{:?}",
            whats(&flags("a.md", ok))
        );
        let d = flags(
            "a.md",
            "run `cargo xtask up --helm` or `cargo xtask deploy --raw` or `cargo xtask start`\n",
        );
        assert_eq!(d.len(), 3, "{:?}", whats(&d));
        assert!(
            d[0].what.contains("`cargo xtask up` has no flag --helm"),
            "{:?}",
            whats(&d)
        );
        assert!(d[2].what.contains("no such command"));
    }

    #[test]
    fn the_project_docs_agree_with_the_code() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let global = crate::flags::Global {
            config: "deploy/pipeline.toml".into(),
            profile: None,
            context: None,
            namespace: None,
            dry_run: false,
            json: false,
            verbose: 0,
            quiet: false,
            no_color: false,
        };
        let config = Config::load(&root, &global, &|_| None).expect("pipeline.toml loads");
        let d = check(&root, &Facts::of(&config)).expect("docs read");
        assert!(d.is_empty(), "{}", whats(&d).join("\n"));
    }
}
