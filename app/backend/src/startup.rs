//! Builds the application (database, agent, router, listener) and serves it until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use todo_serve::Server;
use tokio::net::TcpListener;

use crate::config::{Config, DatabaseUrl};
use crate::error::{ApiError, error_chain};
use crate::routes;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// How long start-up keeps retrying a database that does not answer yet.
const CONNECT_ATTEMPTS: u32 = 30;

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database")]
    Database(#[source] StoreError),
    #[error("cannot bind {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    options: todo_serve::Options,
}

/// Makes the rustls crypto provider of the process ring (reqwest is built without one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Application {
    /// Connects to the database (retrying while it starts), runs migrations, binds the port.
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        install_crypto_provider();
        let store = connect_with_retry(config).await?;
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let state = AppState::new(config, store);
        if state.auth.is_none() {
            tracing::warn!("AUTH_SECRET is not set: the API is open to anyone who can reach it");
        }
        Ok(Self {
            listener,
            state,
            options: config.serve,
        })
    }

    /// The address actually bound (port 0 picks a free port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; then `/ready` answers 503 while the app serves on for
    /// `SHUTDOWN_DELAY`, the listener closes, idle and half-sent connections close, open MCP
    /// streams end, requests being handled get up to 25 s, and the database closes.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            state,
            options,
        } = self;
        let store = state.store.clone();
        let lifecycle = state.lifecycle.clone();
        tracing::info!(
            addr = %listener.local_addr()?,
            database = store.kind(),
            agent = state.agent.name(),
            "listening"
        );
        // The drain token ends open MCP streams so they do not hold the drain open.
        let router = routes::router(state, lifecycle.drain_token());
        Server {
            listener,
            router,
            options,
            lifecycle,
            read_timeout: || axum::response::IntoResponse::into_response(ApiError::RequestTimeout),
        }
        .run(shutdown)
        .await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn connect_with_retry(config: &Config) -> Result<Store, StartupError> {
    let mut attempt = 1;
    loop {
        let result = async {
            let store = Store::connect(&config.database_url).await?;
            store.migrate().await?;
            Ok::<_, StoreError>(store)
        }
        .await;
        match result {
            Ok(store) => return Ok(store),
            Err(e) if attempt < CONNECT_ATTEMPTS && is_transient(config, &e) => {
                tracing::warn!(
                    attempt,
                    database = %config.database_url.redacted(),
                    error = %error_chain(&e),
                    "database not reachable yet; retrying in 1 s"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                attempt += 1;
            }
            Err(e) => return Err(StartupError::Database(e)),
        }
    }
}

/// A Postgres server that is still starting or not reachable yet is worth waiting for; a bad
/// SQLite path or a rejected configuration is not.
fn is_transient(config: &Config, e: &StoreError) -> bool {
    matches!(config.database_url, DatabaseUrl::Postgres(_))
        && matches!(
            e,
            StoreError::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Database(_)
            )
        )
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
