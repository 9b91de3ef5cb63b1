//! Black-box API tests: each test starts the real application on port 0 against a fresh
//! temporary SQLite file and, through `both_dbs!`, against a fresh Postgres database.

mod helpers;

mod auth;
mod bad_input;
mod chat;
mod fake_model;
mod health;
mod hostile;
mod listing;
mod mcp;
mod modules;
mod process;
mod slow_clients;
mod tasks;
