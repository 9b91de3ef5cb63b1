//! Black-box tests: the real frontend on port 0 in front of the real backend on port 0 (SQLite
//! in a temporary directory), talked to over HTTP; the browser tests drive headless Chromium.
#![allow(clippy::unwrap_used)]

mod auth;
mod browser;
mod headers;
mod helpers;
mod hostile;
mod pages;
mod process;
mod proxy;
