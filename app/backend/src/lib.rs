//! The Todo chatbot backend: a REST API for tasks, a stateless chat agent, and an MCP server,
//! all calling the same five task tools, on Postgres or SQLite.

pub mod agent;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod mcp;
pub mod net;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tools;
