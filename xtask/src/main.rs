//! `cargo xtask`: the project's orchestrator. This file only parses the command line and
//! dispatches; each task lives in its own module.

mod clock;
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
use clap::{CommandFactory, Parser};

use crate::ctx::Ctx;
use crate::flags::{Cmd, Xtask};

fn main() -> ExitCode {
    let args = Xtask::parse();
    let code = match Ctx::new(args.global.clone()).and_then(|cx| dispatch(&cx, args.cmd)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", error::render(&err));
            error::exit_code(&err)
        }
    };
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// Runs one subcommand and returns the process exit code.
fn dispatch(cx: &Ctx, cmd: Cmd) -> Result<i32> {
    match cmd {
        Cmd::Doctor(f) => stages::doctor::run(cx, &f),
        Cmd::Setup(f) => stages::setup::run(cx, &f),
        Cmd::Build(f) => stages::build::run(cx, &f),
        Cmd::Status(f) => stages::status::run(cx, &f),
        Cmd::Test(f) => stages::test::run(cx, &f),
        Cmd::Completions(f) => {
            let mut cmd = Xtask::command();
            clap_complete::generate(f.shell, &mut cmd, "cargo-xtask", &mut std::io::stdout());
            Ok(0)
        }
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
