//! The one place where the xtask starts a process.
//!
//! A [`Call`] describes a command: program, arguments, environment for the child only, optional
//! stdin, whether it changes anything (mutating), a timeout and a hint for when it fails. The
//! [`Runner`] records every command line with secrets redacted, skips mutating calls under
//! `--dry-run`, refuses to put a known secret into an argument, and turns a failure into an
//! error that names the command, the exit code, the last lines of stderr and the hint.
//!
//! Processes meant to keep running (port-forwards, the apps of `local`) are started with
//! [`Runner::start`] and supervised through [`Supervised`] (see `background.rs`): recorded like
//! other calls, read line by line, stopped with a signal and a deadline.
//!
//! Every process starts in the project root (when the runner was given one, see
//! [`Runner::in_dir`]), whatever the xtask's own working directory is, and the program is looked
//! up on PATH with `which` (so `kubectl.exe` or `helm.cmd` are found on Windows too).

mod background;
#[cfg(windows)]
mod job;

use std::cell::RefCell;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::failure;
use crate::ui::Ui;

pub use background::{Signal, Streams, Supervised, interrupted};

/// How many stderr lines a failure shows.
const STDERR_TAIL: usize = 12;

/// One command to run.
#[derive(Debug, Clone)]
pub struct Call {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    mutating: bool,
    timeout: Duration,
    hint: Option<String>,
    ok_codes: Vec<i32>,
    secret_stdout: bool,
}

impl Call {
    /// A read-only call with a 60 s timeout that succeeds on exit code 0.
    pub fn new(program: impl Into<String>) -> Call {
        Call {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            mutating: false,
            timeout: Duration::from_secs(60),
            hint: None,
            ok_codes: vec![0],
            secret_stdout: false,
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Call {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Call
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets a variable for the child process only (the xtask's own environment is untouched).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Call {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Feeds bytes on stdin: the only way a secret reaches a tool.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Call {
        self.stdin = Some(bytes.into());
        self
    }

    /// Marks the call as one that changes something: skipped under `--dry-run`.
    pub fn mutating(mut self) -> Call {
        self.mutating = true;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Call {
        self.timeout = t;
        self
    }

    /// What the user should do when this call fails.
    pub fn hint(mut self, h: impl Into<String>) -> Call {
        self.hint = Some(h.into());
        self
    }

    /// Marks the whole stdout as a secret (a token a tool prints): it is registered for
    /// redaction before any of the output is shown or returned.
    pub fn secret_stdout(mut self) -> Call {
        self.secret_stdout = true;
        self
    }

    /// Exit codes that are answers rather than failures (e.g. `minikube status` uses 7 and 85).
    pub fn ok_codes(mut self, codes: &[i32]) -> Call {
        self.ok_codes = codes.to_vec();
        self
    }

    /// The command line as a user would type it (not yet redacted).
    pub fn line(&self) -> String {
        let mut parts = vec![quote(&self.program)];
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%{}".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What a finished call printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// True when the call was skipped under `--dry-run`.
    pub skipped: bool,
}

/// One recorded command, as shown in `-v` output and in the `--json` report.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The command line with secrets replaced by `***`.
    pub command: String,
    /// Names of the variables set for the child only (values are never recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    pub stdin: bool,
    pub mutating: bool,
    /// True when skipped under `--dry-run`.
    pub skipped: bool,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// True for a supervised process that ran in the background (exit code and duration are
    /// those at its stop).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub background: bool,
}

impl Record {
    /// The record of `call` (its command line already redacted), before it runs.
    fn of(call: &Call, redacted_line: &str, background: bool) -> Record {
        Record {
            command: redacted_line.to_string(),
            env: call.env.iter().map(|(k, _)| k.clone()).collect(),
            stdin: call.stdin.is_some(),
            mutating: call.mutating,
            skipped: false,
            exit_code: None,
            duration_ms: 0,
            background,
        }
    }
}

/// Starts processes and keeps the record of what ran.
pub struct Runner {
    dry_run: bool,
    ui: Ui,
    secrets: RefCell<Vec<String>>,
    /// Shared with the supervised processes, which complete their record when they stop.
    log: Rc<RefCell<Vec<Record>>>,
    /// Where every process starts (the project root); `None`: the xtask's working directory.
    dir: Option<PathBuf>,
}

/// The shortest secret value whose appearance in an argument makes the runner refuse the call.
const MIN_REFUSED_SECRET_LEN: usize = 8;

impl Runner {
    pub fn new(dry_run: bool, ui: Ui) -> Runner {
        Runner {
            dry_run,
            ui,
            secrets: RefCell::new(Vec::new()),
            log: Rc::new(RefCell::new(Vec::new())),
            dir: None,
        }
    }

    /// Starts every process in `dir` (the project root), so relative paths in arguments mean
    /// the same from any working directory.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Runner {
        self.dir = Some(dir.into());
        self
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Registers a secret value: it is redacted from every record and error, and, from
    /// [`MIN_REFUSED_SECRET_LEN`] characters on, refused as an argument. Values shorter than 3
    /// characters are not treated as findable text.
    pub fn add_secret(&self, value: &str) {
        let value = value.trim();
        if value.len() >= 3 {
            let mut s = self.secrets.borrow_mut();
            if !s.iter().any(|v| v == value) {
                s.push(value.to_string());
                // Longest first, so a secret that contains another is redacted whole.
                s.sort_by_key(|v| std::cmp::Reverse(v.len()));
            }
        }
    }

    /// Replaces every registered secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.borrow().iter() {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// A redaction of the secrets known now that can move to another thread (log streams).
    pub fn redactor(&self) -> impl Fn(&str) -> String + Send + 'static {
        let secrets = self.secrets.borrow().clone();
        move |text: &str| {
            let mut out = text.to_string();
            for s in &secrets {
                out = out.replace(s.as_str(), "***");
            }
            out
        }
    }

    /// Every command run (or skipped) so far.
    pub fn records(&self) -> Vec<Record> {
        self.log.borrow().clone()
    }

    /// Runs `call`; an exit code outside its `ok_codes` is an error with the stderr tail and hint.
    pub fn run(&self, call: &Call) -> Result<Output> {
        let out = self.run_unchecked(call)?;
        if out.skipped || call.ok_codes.contains(&out.code) {
            return Ok(out);
        }
        Err(self.failed(call, &out))
    }

    /// Runs `call` and returns its output whatever the exit code (a missing program or a
    /// timeout is still an error).
    pub fn run_unchecked(&self, call: &Call) -> Result<Output> {
        self.refuse_secret_arguments(call)?;
        let line = self.redact(&call.line());
        let mut record = Record::of(call, &line, false);
        if call.mutating && self.dry_run {
            record.skipped = true;
            self.ui.detail(&format!("would run: {line}"));
            self.log.borrow_mut().push(record);
            return Ok(Output {
                skipped: true,
                ..Output::default()
            });
        }
        self.ui.detail(&format!("running: {line}"));
        let started = Instant::now();
        let result = self.spawn_and_wait(call);
        let duration = started.elapsed();
        record.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let out = match result {
            Ok(Some(o)) => o,
            Ok(None) => {
                self.log.borrow_mut().push(record);
                return Err(failure(
                    format!("`{line}` timed out after {}s", call.timeout.as_secs()),
                    call.hint.clone().unwrap_or_else(|| {
                        "check that the tool is not waiting for input or a network".into()
                    }),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.log.borrow_mut().push(record);
                return Err(not_found(&call.program, &line));
            }
            Err(e) => {
                self.log.borrow_mut().push(record);
                return Err(e).with_context(|| format!("could not start `{line}`"));
            }
        };
        if call.secret_stdout {
            self.add_secret(&out.stdout);
        }
        record.exit_code = Some(out.code);
        self.log.borrow_mut().push(record);
        if self.ui.verbose() >= 2 {
            for l in out.stdout.lines().chain(out.stderr.lines()) {
                self.ui.detail(&format!("  | {}", self.redact(l)));
            }
        }
        Ok(out)
    }

    fn spawn_and_wait(&self, call: &Call) -> io::Result<Option<Output>> {
        let args: Vec<OsString> = call.args.iter().map(OsString::from).collect();
        let mut expr = duct::cmd(program_path(&call.program), args)
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        expr = match &call.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        for (k, v) in &call.env {
            expr = expr.env(k, v);
        }
        if let Some(dir) = &self.dir {
            expr = expr.dir(dir);
        }
        let handle = expr.start()?;
        match handle.wait_timeout(call.timeout)? {
            Some(o) => Ok(Some(Output {
                code: o.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                skipped: false,
            })),
            None => {
                handle.kill()?;
                Ok(None)
            }
        }
    }

    fn refuse_secret_arguments(&self, call: &Call) -> Result<()> {
        let secrets = self.secrets.borrow();
        // A value as short as a namespace or image name (`todo`) would block ordinary commands;
        // such values are still redacted everywhere, but only longer ones refuse a call.
        let leaks = call.args.iter().any(|a| {
            secrets
                .iter()
                .any(|s| s.len() >= MIN_REFUSED_SECRET_LEN && a.contains(s.as_str()))
        });
        if leaks {
            return Err(failure(
                format!(
                    "refusing to run `{}`: a secret would appear in its arguments",
                    self.redact(&call.line())
                ),
                "pass secrets on stdin or in the environment of the child process",
            ));
        }
        Ok(())
    }

    fn failed(&self, call: &Call, out: &Output) -> anyhow::Error {
        let line = self.redact(&call.line());
        // Most tools put the error on stderr; some (the classic docker builder) put the useful
        // part on stdout and only a summary on stderr, so a short stderr is preceded by stdout.
        let stderr = self.redact(out.stderr.trim_end());
        let source = if stderr.lines().filter(|l| !l.trim().is_empty()).count() >= 3 {
            stderr
        } else {
            format!("{}\n{stderr}", self.redact(out.stdout.trim_end()))
        };
        let tail = last_lines(&source, STDERR_TAIL);
        let mut message = format!("`{line}` failed with exit code {}", out.code);
        if !tail.is_empty() {
            message.push_str("\nlast lines of its output:");
            for l in tail.lines() {
                message.push_str("\n  ");
                message.push_str(l);
            }
        }
        failure(
            message,
            call.hint
                .clone()
                .unwrap_or_else(|| format!("run `{line}` by hand to see the whole output")),
        )
    }

    /// Runs a command with the terminal's stdin/stdout/stderr (for `cargo test` and other
    /// commands whose output is the result) and returns its exit code.
    pub fn passthrough(
        &self,
        sh: &xshell::Shell,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<i32> {
        let call = Call::new(program).args(args.iter().cloned());
        self.refuse_secret_arguments(&call)?;
        let line = self.redact(&call.line());
        self.ui.detail(&format!("running: {line}"));
        let mut cmd = sh.cmd(program_path(program)).args(args).quiet();
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let mut command = std::process::Command::from(cmd);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let started = Instant::now();
        let status = command.status().map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                not_found(program, &line)
            } else {
                anyhow::Error::new(e).context(format!("could not start `{line}`"))
            }
        })?;
        self.log.borrow_mut().push(Record {
            command: line,
            env: env.iter().map(|(k, _)| k.clone()).collect(),
            stdin: false,
            mutating: false,
            skipped: false,
            exit_code: status.code(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            background: false,
        });
        Ok(status.code().unwrap_or(1))
    }
}

/// The program as found on PATH (`which` knows the Windows extensions, `.exe`, `.cmd`, ...);
/// a name it cannot find is passed on as it is, so the start fails with "not found".
fn program_path(program: &str) -> PathBuf {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.to_path_buf();
    }
    find_program(program).unwrap_or_else(|| p.to_path_buf())
}

/// The path of the program `name` on PATH: on Windows `which` tries each extension of
/// `PATHEXT` (`kubectl.exe`, `kubectl.cmd`, ...); without `PATHEXT` it still finds `name.exe`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    which::which(name).ok().or_else(|| {
        let exe = std::env::consts::EXE_SUFFIX;
        if exe.is_empty() || name.ends_with(exe) {
            None
        } else {
            which::which(format!("{name}{exe}")).ok()
        }
    })
}

/// The error for a program that is not on PATH.
fn not_found(program: &str, line: &str) -> anyhow::Error {
    failure(
        format!("`{program}` was not found on PATH (running `{line}`)"),
        "run `cargo xtask doctor` to see which tools are missing and how to install them",
    )
}

/// The last `n` non-empty lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(dry: bool) -> Runner {
        Runner::new(dry, Ui::silent())
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let r = runner(false);
        r.add_secret("sk-very-secret");
        r.add_secret("ab");
        assert_eq!(r.redact("key=sk-very-secret ab"), "key=*** ab");
    }

    #[test]
    fn a_secret_argument_is_refused_before_anything_runs() {
        let r = runner(false);
        r.add_secret("hunter22");
        let err = r
            .run(&Call::new("echo").arg("--password=hunter22"))
            .expect_err("refused");
        let text = format!("{err:#}");
        assert!(text.contains("refusing"), "{text}");
        assert!(!text.contains("hunter22"), "{text}");
        assert!(r.records().is_empty());
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn a_short_value_is_redacted_but_does_not_block_commands() {
        let r = runner(false);
        r.add_secret("todo");
        let out = r
            .run(&Call::new("echo").args(["--namespace", "todo"]))
            .expect("a short value does not refuse the call");
        assert_eq!(out.stdout.trim(), "--namespace todo");
        let records = r.records();
        assert!(records[0].command.contains("***"), "{:?}", records[0]);
        assert!(!records[0].command.contains("todo"), "{:?}", records[0]);
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn dry_run_skips_only_mutating_calls() {
        let r = runner(true);
        let out = r.run(&Call::new("false").mutating()).expect("skipped");
        assert!(out.skipped);
        let out = r.run(&Call::new("echo").arg("hi")).expect("read-only runs");
        assert_eq!(out.stdout, "hi\n");
        let recs = r.records();
        assert!(recs[0].skipped && recs[0].mutating);
        assert!(!recs[1].skipped);
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn failure_names_command_code_tail_and_hint() {
        let r = runner(false);
        r.add_secret("topsecret");
        let call = Call::new("sh")
            .args(["-c", "cat >&2; exit 3"])
            .stdin("one\ntopsecret\n")
            .hint("do the thing");
        let err = r.run(&call).expect_err("fails");
        let text = crate::error::render(&err);
        assert!(text.contains("failed with exit code 3"), "{text}");
        assert!(text.contains("one"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
        assert!(text.ends_with("help: do the thing"), "{text}");
    }

    #[test]
    fn a_short_stderr_is_preceded_by_the_stdout_tail() {
        let r = runner(false);
        let call = Call::new("sh").args([
            "-c",
            "echo 'error[E0425]: cannot find value'; echo \"The command returned a non-zero code: 101\" >&2; exit 1",
        ]);
        let text = crate::error::render(&r.run(&call).expect_err("fails"));
        assert!(text.contains("error[E0425]"), "{text}");
        assert!(text.contains("non-zero code: 101"), "{text}");
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn a_secret_stdout_is_redacted_before_it_is_shown() {
        let r = runner(false);
        let out = r
            .run(&Call::new("echo").arg("tok-0123456789").secret_stdout())
            .expect("runs");
        assert_eq!(out.stdout.trim(), "tok-0123456789");
        assert_eq!(r.redact("bearer tok-0123456789"), "bearer ***");
        assert!(r.run(&Call::new("echo").arg("tok-0123456789")).is_err());
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn ok_codes_are_answers() {
        let r = runner(false);
        let out = r
            .run(&Call::new("sh").args(["-c", "exit 7"]).ok_codes(&[0, 7]))
            .expect("7 is an answer");
        assert_eq!(out.code, 7);
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn stdin_reaches_the_child_and_env_is_child_only() {
        let r = runner(false);
        let out = r
            .run(
                &Call::new("sh")
                    .args(["-c", "cat; printf %s \"$XT_ONLY_CHILD\""])
                    .stdin("from-stdin ")
                    .env("XT_ONLY_CHILD", "yes"),
            )
            .expect("runs");
        assert_eq!(out.stdout, "from-stdin yes");
        assert!(std::env::var("XT_ONLY_CHILD").is_err());
        assert!(r.records()[0].stdin);
        assert_eq!(r.records()[0].env, ["XT_ONLY_CHILD"]);
    }

    // Runs `sh` (Unix); on Windows the CLI tests run the runner through the fake tools.
    #[cfg(unix)]
    #[test]
    fn timeout_kills_and_reports() {
        let r = runner(false);
        let started = Instant::now();
        let err = r
            .run(
                &Call::new("sleep")
                    .arg("5")
                    .timeout(Duration::from_millis(200)),
            )
            .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(format!("{err}").contains("timed out"));
    }

    #[test]
    fn missing_program_points_to_doctor() {
        let r = runner(false);
        let err = r
            .run(&Call::new("definitely-not-a-tool-xyz"))
            .expect_err("missing");
        assert!(crate::error::render(&err).contains("cargo xtask doctor"));
    }

    #[test]
    fn quoting_keeps_arguments_apart() {
        let c = Call::new("docker").args(["build", "--label", "a b", "{{json .}}"]);
        assert_eq!(c.line(), "docker build --label 'a b' '{{json .}}'");
    }
}
