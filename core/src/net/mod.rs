//! Talking to the authority over HTTP: the one client, the one async runtime, back-off, and
//! the verifier's online check.
//!
//! - [`OnlineVerifier`]: a verifier app's client of `POST /v1/verify` and the trust list.
//! - [`NetError`]: what went wrong, as reasons a caller can act on.
//! - [`set_authority_roots`]: pin the authority's root certificates instead of trusting the
//!   platform's.
//! - The wallet's sync, enrolment and uploads use the same client (crate-private).
//!
//! Only built with the `net` feature (the wallet turns it on), so the authority and an
//! offline-only verifier carry no HTTP client.

mod body;
mod client;
mod elapsed;
mod error;
#[cfg(feature = "wallet")]
mod pool;
#[cfg(feature = "wallet")]
pub(crate) mod retry;
pub(crate) mod runtime;
#[cfg(feature = "wallet")]
mod signed;
mod tls;
mod verifier;

pub use body::{BodyReadError, read_capped};
pub(crate) use client::Client;
pub use client::MAX_ANSWER_BYTES;
pub use error::NetError;
#[cfg(feature = "wallet")]
pub(crate) use pool::ClientSlot;
#[cfg(feature = "wallet")]
pub(crate) use signed::DeviceAuth;
pub use tls::{allow_plain_http, check_authority_url, must_bypass_proxies, set_authority_roots};
pub use verifier::{
    MAX_STATUS_LIST_BYTES, MAX_TRUST_LIST_BYTES, OnlineAnswer, OnlineVerifier, OnlineVerifyError,
    PHOTO_FETCH_SECS,
};
