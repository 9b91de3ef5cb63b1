//! What every handler shares: the store, the agent and the auth keys.
//!
//! It sits below the routes, the MCP server and start-up, which all use it, so none of them
//! imports another to reach it.

use std::sync::Arc;

use crate::agent::Agent;
use crate::auth::AuthKeys;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub agent: Arc<dyn Agent>,
    pub auth: Option<Arc<AuthKeys>>,
}
