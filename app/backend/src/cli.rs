//! The command line: no argument serves; `healthcheck [URL]` probes a running server.

use std::process::ExitCode;

use crate::config::{self, Config};
use crate::error::error_chain;
use crate::startup::{Application, shutdown_signal};
use crate::{healthcheck, telemetry};

const USAGE: &str = "usage: todo-backend              serve the API (configured by environment variables)\n       \
todo-backend healthcheck [URL]   GET URL (default http://127.0.0.1:$PORT/health), exit 0 on 2xx";

/// Runs the command the arguments name and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = String>) -> ExitCode {
    let args: Vec<String> = args.into_iter().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("healthcheck") if args.len() <= 2 => probe(args.get(1).map(String::as_str)),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("todo-backend {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unexpected argument {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn probe(url: Option<&str>) -> ExitCode {
    let url = match url {
        Some(u) => u.to_owned(),
        None => match config::parse_port(std::env::var("PORT").ok().as_deref()) {
            Ok(port) => format!("http://127.0.0.1:{port}/health"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match healthcheck::check(&url) {
        Ok(_) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), config = %config, "starting todo-backend");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the OS lets us start the async runtime's threads");
    let result = runtime.block_on(async {
        let app = Application::build(&config)
            .await
            .map_err(|e| error_chain(&e))?;
        app.run_until_stopped(shutdown_signal())
            .await
            .map_err(|e| error_chain(&e))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "todo-backend failed");
            ExitCode::FAILURE
        }
    }
}
