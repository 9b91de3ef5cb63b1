//! `todo-frontend` serves the web app; `todo-frontend healthcheck [URL]` probes one.

use std::process::ExitCode;

use todo_frontend::{config::Config, healthcheck, startup};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("todo-frontend: {e}");
            return ExitCode::from(2);
        }
    };
    match args.as_slice() {
        [] => startup::serve(config).await,
        [cmd, url @ ..] if cmd == "healthcheck" && url.len() <= 1 => {
            let default = format!("http://127.0.0.1:{}/health", config.port);
            healthcheck::run(url.first().unwrap_or(&default)).await
        }
        _ => {
            eprintln!(
                "usage: todo-frontend [healthcheck [URL]]\nhelp: run with no arguments to serve"
            );
            ExitCode::from(2)
        }
    }
}
