//! Building the router and serving it until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use todo_serve::{Lifecycle, Options, Server};
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::backend::{Backend, PROXY_TIMEOUT};
use crate::config::Config;
use crate::error::AppError;
use crate::routes::{account, assets, chat, health, pages, tasks};
use crate::state::AppState;

/// Pages and forms must answer within this time.
const PAGE_DEADLINE: Duration = Duration::from_secs(20);
/// A proxied call gets the backend's deadline and a margin for the body to start flowing.
const API_DEADLINE: Duration = PROXY_TIMEOUT.saturating_add(Duration::from_secs(5));

/// The policy every answer carries: scripts and styles only from our own files, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// The whole app: pages, forms, assets, health and the `/api` proxy.
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/tasks", post(tasks::create))
        .route("/tasks/{id}/toggle", post(tasks::toggle))
        .route("/tasks/{id}/edit", post(tasks::edit))
        .route("/tasks/{id}/delete", post(tasks::delete))
        .route("/chat", post(chat::send))
        .route("/chat/new", post(chat::new_conversation))
        .route("/login", get(account::login_page).post(account::login))
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/logout", post(account::logout))
        .route("/user", post(account::choose_user))
        .layer(axum::middleware::from_fn(page_deadline))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::guard::forms,
        ));
    let api = Router::new()
        .route("/api/{*rest}", any(crate::proxy::proxy))
        .layer(axum::middleware::from_fn(api_deadline))
        .layer(axum::middleware::from_fn(crate::guard::api));
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/assets/{name}", get(assets::asset))
        .merge(pages)
        .merge(api)
        // axum's own answers here are empty; the frontend's failures all take the JSON shape.
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(security_headers))
        // A 5xx here is usually the backend being down, already logged by the proxy: warn, not error.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("no such page")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// A page or form past its deadline answers 503 `timeout`.
async fn page_deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(PAGE_DEADLINE, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => AppError::PageTimeout.into_response(),
    }
}

/// A proxied call whose answer has not started within the deadline answers 504.
async fn api_deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(API_DEADLINE, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => AppError::BackendTimeout.into_response(),
    }
}

async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// A bound, ready-to-serve frontend. Tests build it with port 0 and read [`Self::local_addr`].
pub struct Application {
    listener: TcpListener,
    router: Router,
    options: Options,
    lifecycle: Lifecycle,
}

impl Application {
    pub async fn build(config: &Config) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(config.host, config.port)).await?;
        let lifecycle = Lifecycle::new();
        let state = AppState::new(
            Backend::new(config.backend.clone()),
            lifecycle.clone(),
            config.cookie_secure,
        );
        Ok(Self {
            listener,
            router: router(state),
            options: config.serve,
            lifecycle,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; then `/ready` answers 503 while the app serves on for
    /// `SHUTDOWN_DELAY`, the listener closes, idle and half-sent connections close, and requests
    /// being handled get up to 25 s to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "listening");
        Server {
            listener: self.listener,
            router: self.router,
            options: self.options,
            lifecycle: self.lifecycle,
            read_timeout: AppError::request_timeout,
        }
        .run(shutdown)
        .await;
        Ok(())
    }
}

/// Runs the frontend until SIGTERM or Ctrl-C: what the binary does when given no subcommand.
pub async fn serve(config: Config) -> ExitCode {
    crate::telemetry::init(config.log_format);
    tracing::info!(host = %config.host, port = config.port, backend = %config.backend, "starting");
    let app = match Application::build(&config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot bind {}:{}", config.host, config.port);
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
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

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
