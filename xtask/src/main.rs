//! `cargo xtask`: the project's orchestrator. This file only parses the command line and
//! dispatches; each task lives in its own module.

mod clock;
mod completions;
mod config;
mod ctx;
mod digest;
mod error;
mod flags;
mod project;
mod report;
mod run;
mod stages;
mod tools;
mod ui;

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};

use crate::ctx::Ctx;
use crate::flags::{Cmd, Xtask};

fn main() -> ExitCode {
    quiet_on_closed_pipes();
    let matches = Xtask::command().get_matches();
    let args = match Xtask::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    if let Err(err) = flags::refuse_unused_globals(&matches) {
        eprintln!("{}", error::render(&err));
        return ExitCode::from(2);
    }
    // A reader that stops early (`| head`) ends the command quietly: printing then panics with
    // "Broken pipe", which unwinds (stopping any supervised process on the way) to here.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(args))) {
        Ok(code) => code,
        Err(payload) if closed_pipe(payload.as_ref()) => ExitCode::SUCCESS,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn run(args: Xtask) -> ExitCode {
    let code = match Ctx::new(args.global.clone()).and_then(|cx| dispatch(&cx, args.cmd)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", error::render(&err));
            error::exit_code(&err)
        }
    };
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// Keeps the panic message of a write to a closed stdout or stderr off the terminal.
fn quiet_on_closed_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !closed_pipe(info.payload()) {
            default(info);
        }
    }));
}

/// True for the panic of `println!`/`eprintln!` (or a write of ours) on a pipe whose reader is
/// gone: EPIPE on Unix, ERROR_NO_DATA (232) on Windows.
fn closed_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = match (
        payload.downcast_ref::<String>(),
        payload.downcast_ref::<&str>(),
    ) {
        (Some(s), _) => s.as_str(),
        (None, Some(s)) => s,
        (None, None) => return false,
    };
    text.starts_with("failed printing to std")
        && (text.contains("Broken pipe")
            || text.contains("(os error 32)")
            || text.contains("(os error 232)"))
}

/// Runs one subcommand and returns the process exit code.
fn dispatch(cx: &Ctx, cmd: Cmd) -> Result<i32> {
    match cmd {
        Cmd::Doctor(f) => stages::doctor::run(cx, &f),
        Cmd::Setup(f) => stages::setup::run(cx, &f),
        Cmd::Build(f) => stages::build::run(cx, &f),
        Cmd::Status(f) => stages::status::run(cx, &f),
        Cmd::Test(f) => stages::test::run(cx, &f),
        Cmd::Completions(f) => completions::run(&f),
        Cmd::Deploy(f) => stages::deploy::run(cx, &f),
        Cmd::Aiops(f) => stages::aiops::run(cx, &f),
        Cmd::Verify(f) => stages::verify::run(cx, &f),
        Cmd::Docs(f) => stages::docs::run(cx, &f),
        Cmd::Up(f) => stages::up::run(cx, &f),
        Cmd::Down(f) => stages::down::run(cx, &f),
        Cmd::Local(f) => stages::local::run(cx, &f),
        Cmd::Dev(f) => stages::dev::run(cx, &f),
        Cmd::Open(f) => stages::open::run(cx, &f),
        Cmd::Logs(f) => stages::logs::run(cx, &f),
    }
}
