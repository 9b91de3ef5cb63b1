//! What every handler shares.

use std::sync::Arc;
use std::time::{Duration, Instant};

use todo_serve::Lifecycle;
use tokio::sync::Mutex;

use crate::backend::{Backend, BackendError};
use crate::config::CookieSecure;

/// How long the backend's `/auth/config` answer is reused.
const AUTH_CONFIG_TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    /// Whether the process is stopping (then `/ready` answers 503).
    pub lifecycle: Lifecycle,
    /// When cookies carry `Secure`.
    pub cookie_secure: CookieSecure,
    auth_cache: Arc<Mutex<Option<(Instant, bool)>>>,
}

impl AppState {
    pub fn new(backend: Backend, lifecycle: Lifecycle, cookie_secure: CookieSecure) -> Self {
        Self {
            backend,
            lifecycle,
            cookie_secure,
            auth_cache: Arc::new(Mutex::new(None)),
        }
    }

    /// Whether the backend requires sign-in, asked at most every 30 s.
    pub async fn auth_enabled(&self) -> Result<bool, BackendError> {
        let mut cache = self.auth_cache.lock().await;
        if let Some((at, enabled)) = *cache
            && at.elapsed() < AUTH_CONFIG_TTL
        {
            return Ok(enabled);
        }
        let enabled = self.backend.auth_config().await?.enabled;
        *cache = Some((Instant::now(), enabled));
        Ok(enabled)
    }
}
