//! goalgraph's server: HTTP and WebSocket (axum), configuration,
//! authentication, telemetry and the `goalgraph` binary's subcommands.
//!
//! The only crate that knows HTTP. It depends on api, persistence and
//! domain; nothing depends on it but the binary and the end-to-end tests.

pub mod auth;
