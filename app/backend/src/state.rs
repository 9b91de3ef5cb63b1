//! What every handler shares: the store, the agent, the auth keys and the login guards.
//!
//! It sits below the routes, the MCP server and start-up, which all use it, so none of them
//! imports another to reach it.

use std::sync::Arc;

use todo_serve::Lifecycle;

use crate::agent::{self, Agent};
use crate::auth::AuthKeys;
use crate::auth::limit::LoginLimiter;
use crate::auth::password::Hasher;
use crate::config::Config;
use crate::net::{Cidr, HostAllowList};
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub agent: Arc<dyn Agent>,
    pub auth: Option<Arc<AuthKeys>>,
    /// Password hashing, a fixed number at once.
    pub hasher: Arc<Hasher>,
    /// Failed-login limits per account and per client address.
    pub logins: Arc<LoginLimiter>,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[Cidr]>,
    /// The host names `/mcp` answers to.
    pub mcp_hosts: Arc<HostAllowList>,
    /// Whether the process is stopping (`/ready` answers 503) and the drain token that ends MCP
    /// streams.
    pub lifecycle: Lifecycle,
}

impl AppState {
    pub fn new(config: &Config, store: Store) -> Self {
        Self {
            store,
            agent: agent::from_config(config),
            auth: config.auth_secret.as_ref().map(AuthKeys::new),
            hasher: Arc::new(Hasher::new(
                config.login.hash_concurrency,
                config.login.hash_wait,
            )),
            logins: Arc::new(LoginLimiter::new(&config.login)),
            trusted_proxies: config.trusted_proxies.clone().into(),
            mcp_hosts: Arc::new(config.mcp_allowed_hosts.clone()),
            lifecycle: Lifecycle::new(),
        }
    }
}
