//! The fake cluster tools are bash scripts, and Windows starts only executables: there the tests
//! put a copy of this program on PATH under each tool's name (`kubectl.exe`, `helm.exe`, ...),
//! and it runs the script of the same name with bash:
//!
//!   `<FAKE_BASH> <FAKE_SCRIPTS>/<own name> <arguments>`
//!
//! with stdin, stdout and stderr passed through and the script's exit code as its own. The
//! folder of `FAKE_BASH` is appended to PATH, so the script finds the programs it uses (Git for
//! Windows keeps `sed`, `grep` and the rest beside its bash). Paths handed to bash are written
//! with `/`, which bash on Windows reads as Windows paths.
//!
//! On Unix the same shim can stand in for the symlinks (`XTASK_FAKE_SHIM=1`), so Linux CI runs
//! the path that Windows takes. There it replaces itself with bash (exec), so a signal sent to
//! the "tool" reaches the script.
//!
//! Test-only: the xtask never runs it on its own.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("fake-tool shim: {message}");
            ExitCode::from(127)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let tool = exe
        .file_stem()
        .ok_or_else(|| format!("no name in {}", exe.display()))?;
    let bash = PathBuf::from(var("FAKE_BASH")?);
    let script = PathBuf::from(var("FAKE_SCRIPTS")?).join(tool);
    if !script.is_file() {
        return Err(format!("no fake script {}", script.display()));
    }
    let mut path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(dir) = bash.parent() {
        path.push(dir.to_path_buf());
    }
    let path = std::env::join_paths(path).map_err(|e| format!("PATH: {e}"))?;

    let mut cmd = Command::new(&bash);
    cmd.arg(for_bash(&script))
        .args(std::env::args_os().skip(1))
        .env("PATH", path);
    if let Some(state) = std::env::var_os("FAKE_STATE") {
        cmd.env("FAKE_STATE", for_bash(Path::new(&state)));
    }
    exec(cmd, &bash)
}

fn var(name: &str) -> Result<OsString, String> {
    std::env::var_os(name).ok_or_else(|| format!("{name} is not set (the tests' support sets it)"))
}

/// A path as bash reads it on this host: with `/` on Windows (`C:/Users/...`), as it is elsewhere.
fn for_bash(path: &Path) -> OsString {
    if cfg!(windows) {
        path.to_string_lossy().replace('\\', "/").into()
    } else {
        path.as_os_str().to_owned()
    }
}

#[cfg(unix)]
fn exec(mut cmd: Command, bash: &Path) -> Result<ExitCode, String> {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    Err(format!("could not run {}: {e}", bash.display()))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command, bash: &Path) -> Result<ExitCode, String> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {}: {e}", bash.display()))?;
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
