//! `todo-frontend` serves the web app; `todo-frontend healthcheck [URL]` probes one.

use std::process::ExitCode;

use todo_frontend::{config::Config, healthcheck, startup, telemetry};

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
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => serve(config).await,
        ["healthcheck"] | ["healthcheck", _] => {
            let default = format!("http://127.0.0.1:{}/health", config.port);
            let url = args.get(1).unwrap_or(&default);
            match healthcheck::check(url).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(line) => {
                    eprintln!("healthcheck failed: {line}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!(
                "usage: todo-frontend [healthcheck [URL]]\nhelp: run with no arguments to serve"
            );
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    telemetry::init(config.log_format);
    tracing::info!(host = %config.host, port = config.port, backend = %config.backend, "starting");
    let app = match startup::Application::build(&config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot bind {}:{}", config.host, config.port);
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(startup::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
