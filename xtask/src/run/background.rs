//! Supervised background processes: started by [`Runner::start`], read line by line, stopped with
//! a signal and a deadline, and always stopped: a [`Supervised`] stops its process when dropped,
//! so an error or a panic in the middle of a stage cannot leave one running.
//!
//! The same rules as for other calls hold: the command line is recorded with secrets redacted
//! (its record gets the exit code and the duration when the process stops), secrets travel only
//! in the child's environment or on stdin, and the process starts in the runner's directory.
//!
//! Stopping is portable: on Unix the process gets the signal (SIGTERM) and, when it has
//! not exited by the deadline, SIGKILL; on Windows, where there are no such signals, the process
//! API ends it together with every process it started (a job object, see `job.rs`). No `kill`
//! program is ever run.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{Call, Record, Runner, last_lines, not_found, program_path};
use crate::error::failure;

/// Where a supervised process's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// To the xtask's own stdout/stderr (the local apps' logs).
    Inherit,
    /// Read line by line from stdout (a port-forward's "Forwarding from" lines); stderr is kept
    /// for the error message.
    Lines,
}

/// The signal that asks a process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: stop (what Kubernetes and service managers send).
    Term,
}

/// A running child process, stopped when dropped.
pub struct Supervised {
    pub name: String,
    child: Option<Child>,
    lines: Option<Receiver<String>>,
    stderr: Option<Receiver<String>>,
    log: Rc<RefCell<Vec<Record>>>,
    record: usize,
    started: Instant,
    /// Windows: the job holding the process and its descendants.
    #[cfg(windows)]
    job: Option<super::job::Job>,
}

impl Runner {
    /// Starts `call` in the background (its timeout and ok codes do not apply; its stdin, if
    /// any, is written and closed). `name` says what it is in messages ("port-forward to ...").
    /// A mutating call under `--dry-run` is refused: a stage does not start one then.
    pub fn start(&self, name: &str, call: &Call, streams: Streams) -> Result<Supervised> {
        self.refuse_secret_arguments(call)?;
        let line = self.redact(&call.line());
        if call.mutating && self.dry_run {
            return Err(failure(
                format!("`{line}` would change something and this is a dry run"),
                "run the command again without --dry-run",
            ));
        }
        self.ui
            .detail(&format!("starting in the background: {line}"));
        let args: Vec<OsString> = call.args.iter().map(OsString::from).collect();
        let mut cmd = Command::new(program_path(&call.program));
        cmd.args(args);
        for (k, v) in &call.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(if call.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        match streams {
            Streams::Inherit => cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit()),
            Streams::Lines => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        };
        let record = Record::of(call, &line, true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.log.borrow_mut().push(record);
                return Err(if e.kind() == io::ErrorKind::NotFound {
                    not_found(&call.program, &line)
                } else {
                    anyhow::Error::new(e).context(format!("could not start {name} (`{line}`)"))
                });
            }
        };
        if let (Some(bytes), Some(mut stdin)) = (&call.stdin, child.stdin.take()) {
            let bytes = bytes.clone();
            // On a thread: a child that does not read its stdin must not block the xtask.
            std::thread::spawn(move || {
                let _ = io::Write::write_all(&mut stdin, &bytes);
            });
        }
        let record_index = {
            let mut log = self.log.borrow_mut();
            log.push(record);
            log.len() - 1
        };
        Ok(Supervised {
            name: name.to_string(),
            lines: child.stdout.take().map(reader),
            stderr: child.stderr.take().map(reader),
            #[cfg(windows)]
            job: super::job::Job::of(&child),
            child: Some(child),
            log: Rc::clone(&self.log),
            record: record_index,
            started: Instant::now(),
        })
    }
}

impl Supervised {
    /// The process id (for logs), while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Hands the stdout lines to the caller (e.g. a log stream printed on its own thread);
    /// [`Supervised::wait_line`] has nothing to read afterwards.
    pub fn take_lines(&mut self) -> Option<Receiver<String>> {
        self.lines.take()
    }

    /// Waits up to `timeout` for a stdout line for which `pick` returns a value (the ready
    /// line); the lines before it are kept for the error message.
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
                            self.tail(&seen, false)
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
                            self.tail(&seen, status.is_some())
                        ),
                        "check that the Service exists and its pods are Ready (`kubectl get pods`)",
                    ));
                }
            }
        }
    }

    fn tail(&self, stdout: &[String], exited: bool) -> String {
        let mut text: Vec<String> = stdout.to_vec();
        if let Some(rx) = &self.stderr {
            // What stderr holds so far; once the process has exited, up to its end (the reader
            // thread may still be passing the last lines on).
            let until = Instant::now() + Duration::from_millis(if exited { 1000 } else { 50 });
            loop {
                let left = until.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(l) => text.push(l),
                    Err(_) => break,
                }
            }
        }
        if text.is_empty() {
            String::new()
        } else {
            let tail = last_lines(&text.join("\n"), 8);
            format!(":\n  {}", tail.replace('\n', "\n  "))
        }
    }

    /// `Some(status)` when the process has exited (it stays supervised until stopped).
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
        loop {
            if let Some(s) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Some(s);
            }
            if started.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the process; false when that could not be done (the process is gone,
    /// or the host has no such signal: Windows).
    pub fn signal(&self, signal: Signal) -> bool {
        let Some(pid) = self.id() else { return false };
        send(pid, signal)
    }

    /// Stops the process: SIGTERM, up to `grace` to exit, then it is killed. Returns its status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.stop_with(Signal::Term, grace)
    }

    /// Stops the process: `signal`, up to `deadline` to exit, then it is killed (on Windows it
    /// is ended at once). Returns its status and completes its record.
    pub fn stop_with(&mut self, signal: Signal, deadline: Duration) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.exited() {
            return self.finish(Some(s));
        }
        let status = if self.signal(signal) {
            self.wait_exit(deadline)
        } else {
            None
        };
        let status = status.or_else(|| {
            #[cfg(windows)]
            if let Some(job) = &self.job {
                job.terminate();
            }
            let c = self.child.as_mut()?;
            let _ = c.kill();
            c.wait().ok()
        });
        self.finish(status)
    }

    /// Waits up to `limit` for the process to exit on its own.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let s = self.wait_exit(limit);
        if s.is_some() {
            self.finish(s);
        }
        s
    }

    /// Forgets the child and writes its exit code and run time into its record.
    fn finish(&mut self, status: Option<ExitStatus>) -> Option<ExitStatus> {
        self.child = None;
        // Closing the job ends what the process left running (kill on close).
        #[cfg(windows)]
        {
            self.job = None;
        }
        if let Some(r) = self.log.borrow_mut().get_mut(self.record) {
            r.exit_code = status.and_then(|s| s.code());
            r.duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        }
        status
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop(Duration::from_secs(5));
        }
    }
}

/// A flag set by Ctrl-C (and SIGTERM or SIGHUP on Unix), for commands that run until stopped:
/// the xtask then stops its children and exits 0 instead of dying first. The handler is
/// installed once per process; every caller gets the same flag.
pub fn interrupted() -> Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(Arc::clone(f));
    }
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    ctrlc::set_handler(move || set.store(true, Ordering::Relaxed))
        .context("could not install the Ctrl-C handler")?;
    Ok(Arc::clone(FLAG.get_or_init(|| flag)))
}

#[cfg(unix)]
fn send(pid: u32, signal: Signal) -> bool {
    use nix::sys::signal::{Signal as S, kill};
    use nix::unistd::Pid;
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    let sig = match signal {
        Signal::Term => S::SIGTERM,
    };
    kill(Pid::from_raw(pid), sig).is_ok()
}

/// Windows has no SIGTERM for another process: the caller ends it through the process
/// API instead.
#[cfg(not(unix))]
fn send(_pid: u32, _signal: Signal) -> bool {
    false
}

/// Reads lines on a thread into a channel (the thread ends when the pipe closes). A CRLF line
/// end loses its `\r` as well.
fn reader<R: io::Read + Send + 'static>(r: R) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            let line = line.strip_suffix('\r').map(str::to_string).unwrap_or(line);
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

// The tests use `sh`, `sleep` and `trap`.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::ui::Ui;

    fn runner() -> Runner {
        Runner::new(false, Ui::silent())
    }

    #[test]
    fn the_ready_line_is_read_and_the_stop_is_recorded() {
        let r = runner();
        let mut p = r
            .start(
                "echoer",
                &Call::new("sh").args(["-c", "echo starting; printf 'ready 42\\r\\n'; sleep 30"]),
                Streams::Lines,
            )
            .expect("starts");
        let port = p
            .wait_line(Duration::from_secs(10), |l| {
                l.strip_prefix("ready ")?.parse::<u16>().ok()
            })
            .expect("ready line, CRLF or not");
        assert_eq!(port, 42);
        let started = Instant::now();
        let status = p.stop(Duration::from_secs(5)).expect("a status");
        assert!(!status.success());
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "SIGTERM ends sleep at once"
        );
        let rec = &r.records()[0];
        assert!(rec.background, "{rec:?}");
        assert!(rec.command.starts_with("sh -c"), "{rec:?}");
    }

    #[test]
    fn a_process_that_ignores_the_signal_is_killed_at_the_deadline() {
        let r = runner();
        let mut p = r
            .start(
                "stubborn",
                &Call::new("sh").args(["-c", "trap '' TERM INT; echo up; sleep 30 & wait"]),
                Streams::Lines,
            )
            .expect("starts");
        p.wait_line(Duration::from_secs(10), |l| (l == "up").then_some(()))
            .expect("up");
        let started = Instant::now();
        p.stop_with(Signal::Term, Duration::from_millis(300));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300),
            "waited for the deadline: {took:?}"
        );
        assert!(took < Duration::from_secs(5), "then killed: {took:?}");
        assert!(p.id().is_none());
    }

    #[test]
    fn an_early_exit_names_the_output() {
        let r = runner();
        let mut p = r
            .start(
                "failing forward",
                &Call::new("sh").args(["-c", "echo 'error: no service' >&2; exit 1"]),
                Streams::Lines,
            )
            .expect("starts");
        let err = p
            .wait_line(Duration::from_secs(10), |_| Some(()))
            .expect_err("exits first");
        let text = format!("{err:#}");
        assert!(text.contains("failing forward exited"), "{text}");
        assert!(text.contains("no service"), "{text}");
    }

    #[test]
    fn it_starts_in_the_runner_directory_and_drop_stops_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = runner().in_dir(dir.path());
        let mut p = r
            .start(
                "pwd",
                &Call::new("sh").args(["-c", "pwd; sleep 30"]),
                Streams::Lines,
            )
            .expect("starts");
        let pwd = p
            .wait_line(Duration::from_secs(10), |l| Some(l.to_string()))
            .expect("pwd");
        let want = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            std::path::Path::new(&pwd)
                .canonicalize()
                .expect("canonical"),
            want
        );
        let pid = p.id().expect("running");
        drop(p);
        if cfg!(target_os = "linux") {
            let proc_dir = format!("/proc/{pid}");
            assert!(!std::path::Path::new(&proc_dir).exists(), "{proc_dir} left");
        }
    }

    #[test]
    fn a_missing_program_points_to_doctor() {
        let err = runner()
            .start("x", &Call::new("definitely-not-a-tool-xyz"), Streams::Lines)
            .err()
            .expect("missing");
        assert!(crate::error::render(&err).contains("cargo xtask doctor"));
    }
}

// Windows: the test binary plays both the supervised process and the process it starts (the
// `tree_helper` test with a role in the environment), so no other program is needed.
#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;
    use crate::ui::Ui;

    const ROLE: &str = "XTASK_TREE_TEST_ROLE";
    const BEAT: &str = "XTASK_TREE_TEST_BEAT";

    fn helper(role: &str) -> Call {
        let exe = std::env::current_exe().expect("own path");
        Call::new(exe.to_string_lossy())
            .args([
                "run::background::windows_tests::tree_helper",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
    }

    /// Nothing in an ordinary run. As `parent`: starts a `grandchild` and waits. As
    /// `grandchild`: writes a growing count to the file `BEAT` names, every 50 ms, for a minute.
    #[test]
    fn tree_helper() {
        match std::env::var(ROLE).as_deref() {
            Ok("parent") => {
                let beat = std::env::var(BEAT).expect("beat file");
                let call = helper("grandchild").env(BEAT, beat);
                let mut cmd = Command::new(program_path(&call.program));
                cmd.args(&call.args)
                    .envs(call.env.iter().map(|(k, v)| (k, v)));
                let mut grandchild = cmd.spawn().expect("start the grandchild");
                println!("started");
                std::thread::sleep(Duration::from_secs(60));
                let _ = grandchild.kill();
                let _ = grandchild.wait();
            }
            Ok("grandchild") => {
                let beat = std::env::var(BEAT).expect("beat file");
                for n in 0..1200 {
                    let _ = std::fs::write(&beat, n.to_string());
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            _ => {}
        }
    }

    #[test]
    fn stopping_ends_the_processes_it_started_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let beat = dir.path().join("beat");
        let r = Runner::new(false, Ui::silent());
        let call = helper("parent").env(BEAT, beat.to_string_lossy());
        let mut p = r.start("tree", &call, Streams::Lines).expect("starts");
        // libtest prints the test's name, then the helper's line, on one line.
        p.wait_line(Duration::from_secs(30), |l| {
            l.ends_with("started").then_some(())
        })
        .expect("the parent started the grandchild");
        let started = Instant::now();
        while !beat.exists() {
            assert!(started.elapsed() < Duration::from_secs(30), "no beat");
            std::thread::sleep(Duration::from_millis(50));
        }
        p.stop(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(300));
        let before = std::fs::read_to_string(&beat).unwrap_or_default();
        std::thread::sleep(Duration::from_millis(600));
        let after = std::fs::read_to_string(&beat).unwrap_or_default();
        assert_eq!(before, after, "the grandchild kept running after the stop");
    }
}
