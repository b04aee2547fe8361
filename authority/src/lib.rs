//! `edl-authority`: the issuing-authority server (the 12123 backend stand-in).
//!
//! An HTTP API (axum) over SQLite (WAL, a read pool, one group-committing writer)
//! behind the narrow [`store::RegistryStore`] trait. The request and response types and the
//! device request signature come from `edl_core::wire`, so the wallet and verifiers
//! cannot drift from the server. Start it with [`serve`]; `docs/HTTP.md` describes the
//! API.
//!
//! - [`domain`]: the registry's rules, pure (no I/O): what each change does to a
//!   driver, deadlines, photo limits, the texts of feed messages.
//! - [`service`]: the operations: validate, run a rule through the store, answer.
//! - [`store`]: the storage trait and its SQLite implementation.
//! - [`http`]: routes, extractors, the OpenAPI document.
//! - [`limiter`]: failed online check limits.
//! - [`throttle`], [`forwarded`]: the enrolment back-off, and the source it counts behind
//!   trusted proxies.
//! - `testing` (feature `testing`): a server on loopback and its clients, for tests.
//! - [`telemetry`]: what is logged (through `tracing`), and the panic hook.
//! - [`metrics`], [`metered`]: what `/metrics` shows and the store wrapper that times
//!   writes (D90).

pub mod clock;
pub mod config;
mod conn;
mod deadline;
pub mod domain;
pub mod error;
pub mod forwarded;
pub mod grants;
pub mod guard;
pub mod http;
pub mod identity;
pub mod key_file;
pub mod keys;
pub mod limiter;
pub mod metered;
pub mod metrics;
pub mod open_files;
mod random;
pub mod roles;
pub mod root;
pub mod seal;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod verifiers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Backoff, CheckLimits, Config, EnrolLimits, LimitsError, MAX_REQUEST_TIMEOUT, resend_fits,
};
pub use error::Error;
pub use server::{RunningServer, ServeError, serve, serve_with_store, serve_wrapped};
