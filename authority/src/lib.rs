//! `edl-authority`: the issuing-authority server (the 12123 backend stand-in).
//!
//! An HTTP API (axum) over SQLite (WAL, a read pool, one group-committing writer)
//! behind the narrow [`store::Store`] trait. The request and response types and the
//! device request signature come from `edl_core::wire`, so the wallet and verifiers
//! cannot drift from the server. Start it with [`serve`]; `docs/HTTP.md` describes the
//! API.
//!
//! - [`service`]: the registry's operations and rules.
//! - [`store`]: the storage trait and its SQLite implementation.
//! - [`http`]: routes, extractors, the OpenAPI document.
//! - [`limiter`]: failed online check limits.

pub mod clock;
pub mod config;
mod conn;
pub mod domain;
pub mod error;
pub mod guard;
pub mod http;
pub mod identity;
pub mod keys;
pub mod limiter;
mod random;
pub mod seal;
pub mod server;
pub mod service;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{CheckLimits, Config};
pub use error::Error;
pub use server::{RunningServer, ServeError, serve, serve_with_store};
