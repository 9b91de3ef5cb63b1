//! Long-running child processes (the local apps, a port-forward): started in the background,
//! watched, and always stopped — [`Background`] stops its process when dropped, so an error or a
//! panic in the middle of a stage cannot leave one running.
//!
//! The runner's [`crate::run::Call`] waits for a command to finish; these processes are meant to
//! keep running, so they are started here, with the same rules: the command line is shown
//! redacted, secrets travel only in the child's environment, and `--dry-run` starts nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::ctx::Ctx;
use crate::error::failure;

/// Where a background process's output goes.
pub enum Output {
    /// To the xtask's own stdout/stderr (the local apps' logs).
    Inherit,
    /// Read line by line from stdout (a port-forward's "Forwarding from" lines); stderr is kept
    /// for the error message.
    Lines,
}

/// A running child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Background {
    pub name: String,
    child: Option<Child>,
    lines: Option<Receiver<String>>,
    stderr: Option<Receiver<String>>,
}

impl Background {
    /// Starts `program args` with `env` set for the child only.
    pub fn start(
        cx: &Ctx,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        output: Output,
    ) -> Result<Background> {
        let mut line = program.display().to_string();
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        cx.ui.detail(&format!(
            "starting in the background: {}",
            cx.runner.redact(&line)
        ));
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        match output {
            Output::Inherit => {
                cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
            }
            Output::Lines => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                failure(
                    format!("`{}` was not found (starting {name})", program.display()),
                    "run `cargo xtask doctor` to see which tools are missing",
                )
            } else {
                anyhow::Error::new(e).context(format!("could not start {name}"))
            }
        })?;
        let lines = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        Ok(Background {
            name: name.to_string(),
            child: Some(child),
            lines,
            stderr,
        })
    }

    /// Hands the stdout lines to the caller (e.g. a log stream printed on its own thread);
    /// [`Background::wait_line`] has nothing to read afterwards.
    pub fn take_lines(&mut self) -> Option<Receiver<String>> {
        self.lines.take()
    }

    /// The process id (for logs).
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for a stdout line for which `pick` returns a value.
    pub fn wait_line<T>(
        &mut self,
        timeout: Duration,
        pick: impl Fn(&str) -> Option<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let Some(rx) = &self.lines else {
            anyhow::bail!("{}: its output is not captured", self.name);
        };
        let mut seen = Vec::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(l) => {
                    if let Some(v) = pick(&l) {
                        return Ok(v);
                    }
                    seen.push(l);
                }
                Err(RecvTimeoutError::Timeout) if started.elapsed() < timeout => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(failure(
                        format!(
                            "{} printed no usable line within {}s{}",
                            self.name,
                            timeout.as_secs(),
                            self.tail(&seen)
                        ),
                        "run it by hand with -v to see what it prints",
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait_exit(Duration::from_secs(2));
                    return Err(failure(
                        format!(
                            "{} exited ({}) before it was ready{}",
                            self.name,
                            status.map_or("still running".into(), |s| s.to_string()),
                            self.tail(&seen)
                        ),
                        "check that the Service exists and its pods are Ready (`cargo xtask status`)",
                    ));
                }
            }
        }
    }

    fn tail(&self, stdout: &[String]) -> String {
        let mut text: Vec<String> = stdout.to_vec();
        if let Some(rx) = &self.stderr {
            text.extend(rx.try_iter());
        }
        if text.is_empty() {
            String::new()
        } else {
            let tail = crate::run::last_lines(&text.join("\n"), 8);
            format!(":\n  {}", tail.replace('\n', "\n  "))
        }
    }

    /// `Some(status)` when the process has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => c
                .try_wait()
                .with_context(|| format!("could not check on {}", self.name)),
            None => Ok(None),
        }
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(s) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Sends `signal` (e.g. "TERM", "INT") to the process with `kill`; false when that could
    /// not be done (no `kill` program, process gone).
    pub fn signal(&self, signal: &str) -> bool {
        let Some(pid) = self.id() else { return false };
        Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the process: SIGTERM, up to `grace` to exit, then SIGKILL. Returns its status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.exited() {
            self.child = None;
            return Some(s);
        }
        let sent = self.signal("TERM");
        let status = if sent { self.wait_exit(grace) } else { None };
        let status = status.or_else(|| {
            let c = self.child.as_mut()?;
            let _ = c.kill();
            c.wait().ok()
        });
        self.child = None;
        status
    }

    /// Waits up to `limit` for the process to exit on its own.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let s = self.wait_exit(limit);
        if s.is_some() {
            self.child = None;
        }
        s
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop(Duration::from_secs(5));
        }
    }
}

/// Reads lines on a thread into a channel (the thread ends when the pipe closes).
fn reader<R: std::io::Read + Send + 'static>(r: R) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A flag set by Ctrl-C (SIGINT) or SIGTERM, for commands that run until stopped: the xtask then
/// stops its children and exits 0 instead of dying first.
pub fn interrupted() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))
            .context("could not install the Ctrl-C handler")?;
    }
    Ok(stop)
}
