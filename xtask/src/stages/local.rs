//! `local`: the backend and the frontend as local processes on SQLite — no Docker, no cluster.
//!
//! Builds both binaries with cargo, starts the backend on a SQLite file under the target
//! directory, waits for its `/health`, starts the frontend pointing at it, prints the URL and
//! waits. Ctrl-C (or SIGTERM) stops both and exits 0; when one of them dies, the other is
//! stopped and the exit code is 1.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::ctx::Ctx;
use crate::error::{failure, usage};
use crate::flags;
use crate::project::http::Client;
use crate::run::{Call, Signal, Streams, Supervised, interrupted};
use crate::tools::cargo;
use crate::ui::Tone;

/// The two packages `local` runs.
pub const PACKAGES: [&str; 2] = ["todo-backend", "todo-frontend"];

pub fn run(cx: &Ctx, f: &flags::Local) -> Result<i32> {
    if f.backend_port == f.frontend_port {
        return Err(usage(
            format!(
                "--backend-port and --frontend-port are both {}",
                f.backend_port
            ),
            "give the two apps different ports",
        ));
    }
    if cx.runner.dry_run() {
        cx.ui.out("local: plan (dry run, nothing was started):");
        cx.ui.out(&format!(
            "  1. cargo build -p {} -p {}{}",
            PACKAGES[0],
            PACKAGES[1],
            if f.release { " --release" } else { "" }
        ));
        cx.ui.out(&format!(
            "  2. start todo-backend on 127.0.0.1:{} with SQLite under the target directory",
            f.backend_port
        ));
        cx.ui.out(&format!(
            "  3. start todo-frontend on 127.0.0.1:{} with BACKEND_URL=http://127.0.0.1:{}",
            f.frontend_port, f.backend_port
        ));
        return Ok(0);
    }
    for (flag, port) in [
        ("--backend-port", f.backend_port),
        ("--frontend-port", f.frontend_port),
    ] {
        if port != 0 && TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(failure(
                format!("port {port} on 127.0.0.1 is already in use"),
                format!("stop what listens there, or pick another port with {flag} PORT"),
            ));
        }
    }
    let bins = build_binaries(cx, &cx.root, f.release)?;
    let backend_bin = bin(&bins, PACKAGES[0])?;
    let frontend_bin = bin(&bins, PACKAGES[1])?;
    let data = data_dir(&backend_bin);
    std::fs::create_dir_all(&data)
        .with_context(|| format!("could not create {}", data.display()))?;
    let db = data.join("todo.db");

    // Ctrl-C reaches the children too (same process group, or the same console on Windows);
    // the flag lets the xtask wait for them and exit 0 instead of dying first. SIGTERM counts
    // as Ctrl-C on Unix.
    let stop = interrupted()?;

    let mut env = app_secrets(cx)?;
    let colour = colour_env(cx);
    env.extend(colour.clone());
    env.extend([
        ("PORT".to_string(), f.backend_port.to_string()),
        ("HOST".to_string(), "127.0.0.1".to_string()),
        (
            "DATABASE_URL".to_string(),
            format!("sqlite://{}", db.display()),
        ),
    ]);
    let backend_url = format!("http://127.0.0.1:{}", f.backend_port);
    let frontend_url = format!("http://127.0.0.1:{}", f.frontend_port);
    let client = Client::new(Duration::from_secs(2));

    let mut backend = start_app(cx, "todo-backend", &backend_bin, env)?;
    wait_healthy(
        cx,
        &client,
        &mut backend,
        &format!("{backend_url}/health"),
        &stop,
    )?;
    let mut fenv = vec![
        ("PORT".to_string(), f.frontend_port.to_string()),
        ("HOST".to_string(), "127.0.0.1".to_string()),
        ("BACKEND_URL".to_string(), backend_url.clone()),
    ];
    fenv.extend(colour);
    let mut frontend = start_app(cx, "todo-frontend", &frontend_bin, fenv)?;
    wait_healthy(
        cx,
        &client,
        &mut frontend,
        &format!("{frontend_url}/health"),
        &stop,
    )?;

    cx.ui.status(
        "Running",
        &format!("backend {backend_url}, data {}", db.display()),
        Tone::Good,
    );
    cx.ui
        .out(&format!("open {frontend_url}  (Ctrl-C stops both)"));

    loop {
        if stop.load(Ordering::Relaxed) {
            cx.ui
                .status("Stopping", "todo-frontend and todo-backend", Tone::Plain);
            let ok = shutdown(&mut [&mut frontend, &mut backend]);
            return Ok(if ok { 0 } else { 1 });
        }
        let apps = [&mut backend, &mut frontend];
        for i in 0..apps.len() {
            if let Some(status) = apps[i].exited()? {
                let name = apps[i].name.clone();
                apps[1 - i].stop(Duration::from_secs(10));
                return Err(failure(
                    format!("{name} stopped by itself ({status})"),
                    "its log above says why; `cargo xtask local -v` shows how it was started",
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts one app with its logs on the terminal and `env` set for it only.
fn start_app(
    cx: &Ctx,
    name: &str,
    binary: &Path,
    env: Vec<(String, String)>,
) -> Result<Supervised> {
    let mut call = Call::new(binary.display().to_string());
    for (k, v) in env {
        call = call.env(k, v);
    }
    cx.runner.start(name, &call, Streams::Inherit)
}

/// How long the apps get to exit after SIGTERM before they are killed.
const STOP_DEADLINE: Duration = Duration::from_secs(15);

/// Stops the apps together: SIGTERM to each at once (one already draining after the terminal's
/// Ctrl-C gets it again, which changes nothing), then waits for all of them, so stopping takes
/// as long as the slowest app, not the sum. True when each exited cleanly (or by the signal).
fn shutdown(apps: &mut [&mut Supervised]) -> bool {
    for app in apps.iter() {
        app.signal(Signal::Term);
    }
    let started = std::time::Instant::now();
    apps.iter_mut()
        .map(|app| {
            let left = STOP_DEADLINE.saturating_sub(started.elapsed());
            app.wait_for_exit(left)
                .or_else(|| app.stop_with(Signal::Term, Duration::ZERO))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .all(|status| status.is_none_or(|s| s.success() || s.code().is_none()))
}

/// `NO_COLOR=1` for the apps when the xtask's own output gets no colours (not a terminal,
/// `--no-color`, or `NO_COLOR` set): their logs share its stderr.
fn colour_env(cx: &Ctx) -> Vec<(String, String)> {
    if cx.ui.stderr_colours() {
        Vec::new()
    } else {
        vec![("NO_COLOR".to_string(), "1".to_string())]
    }
}

fn wait_healthy(
    cx: &Ctx,
    client: &Client,
    app: &mut Supervised,
    url: &str,
    stop: &AtomicBool,
) -> Result<()> {
    cx.ui.step(&format!("waiting for {}", app.name), || {
        for _ in 0..300 {
            if let Some(status) = app.exited()? {
                return Err(failure(
                    format!("{} exited during start-up ({status})", app.name),
                    "its log above says why (a bad setting exits with code 2 naming the variable)",
                ));
            }
            if stop.load(Ordering::Relaxed) {
                return Err(failure(
                    format!("interrupted while {} started", app.name),
                    "-",
                ));
            }
            if matches!(client.get(url), Ok(a) if a.status == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(failure(
            format!("{} did not answer {url} within 30s", app.name),
            "run it with RUST_LOG=debug to see where it hangs",
        ))
    })
}

/// The secrets from `.env` the apps may use locally (an OpenAI key, an auth secret). The
/// `.env` DATABASE_URL is not used: `local` always runs on SQLite.
fn app_secrets(cx: &Ctx) -> Result<Vec<(String, String)>> {
    Ok(cx
        .secrets()?
        .into_iter()
        .filter(|(k, _)| k != "DATABASE_URL")
        .collect())
}

/// Builds the two apps (cargo's progress on the terminal) and returns each binary's path by
/// package name.
pub fn build_binaries(cx: &Ctx, root: &Path, release: bool) -> Result<Vec<(String, PathBuf)>> {
    let args = cargo::build_args(&PACKAGES, release, &root.join("Cargo.toml"));
    let code = cargo::passthrough(&cx.runner, &cx.sh, &args, &[])?;
    if code != 0 {
        return Err(failure(
            format!(
                "`cargo build` of {} failed (exit code {code})",
                PACKAGES.join(" and ")
            ),
            "fix the compile error above, then run `cargo xtask local` again",
        ));
    }
    cargo::executables_of(&cx.runner, &args)
}

fn bin(bins: &[(String, PathBuf)], name: &str) -> Result<PathBuf> {
    bins.iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.clone())
        .ok_or_else(|| {
            failure(
                format!("cargo built no `{name}` executable"),
                "check that the workspace has the package (`cargo metadata`)",
            )
        })
}

/// `<target>/local` next to `<target>/debug/<binary>`.
fn data_dir(binary: &Path) -> PathBuf {
    binary
        .parent()
        .and_then(Path::parent)
        .map(|t| t.join("local"))
        .unwrap_or_else(|| PathBuf::from("target/local"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_data_sits_beside_the_profile_folder() {
        assert_eq!(
            data_dir(Path::new("/t/debug/todo-backend")),
            PathBuf::from("/t/local")
        );
    }
}
