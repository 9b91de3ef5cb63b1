//! Black-box API tests: each test starts the real application on port 0 against a fresh
//! temporary SQLite file and, through `both_dbs!`, against a fresh Postgres database.

mod helpers;

mod bad_input;
mod health;
mod process;
mod tasks;
