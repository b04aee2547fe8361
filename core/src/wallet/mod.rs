//! The driver's wallet: the part of the core that touches disk and network.
//!
//! - [`store`]: the encrypted SQLite store that keeps the licence, credential, record,
//!   messages and secrets, readable only with the platform key.
//! - [`Wallet`]: enrolment, application, offline-first sync, presentations and the read
//!   models a screen shows.
//! - [`IdentityProvider`]: the real-person check the app implements.
//!
//! Only built with the `wallet` feature, so the authority and verifier-only apps carry no
//! SQLite, HTTP client or disk code.

mod error;
mod handle;
mod identity;
mod photo_upload;
mod state;
pub mod store;
mod sync;

pub use error::WalletError;
pub use handle::Wallet;
pub use identity::{IdentityProvider, TestIdentityProvider};
pub use photo_upload::{PhotoSource, PhotoSubmission, UploadProgress, UploadStage};
pub use state::{Enrolment, StoredElicence, SyncState};
pub use sync::SyncReport;
