//! The Todo chatbot web frontend: server-rendered pages for the task list and the chat, embedded
//! assets, and a reverse proxy that forwards `/api/*` to the backend so the browser talks to one
//! origin.

// Tests may unwrap: a panic there is a clear failure.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod assets;
pub mod backend;
pub mod config;
pub mod error;
pub mod guard;
pub mod healthcheck;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
