//! goalgraph's server: HTTP and WebSocket (axum), configuration,
//! authentication, telemetry and the `goalgraph` binary's subcommands.
//!
//! The only crate that knows HTTP. It depends on api, persistence and
//! domain; nothing depends on it but the binary and the end-to-end tests.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod document;
pub mod export;
pub mod http;
pub mod rate;
pub mod seed;
pub mod telemetry;
pub mod tls;
pub mod ws;

pub use app::{App, RunningServer, ServerError};
pub use config::Config;
