//! The driver's wallet: the part of the core that touches disk and network.
//!
//! - [`store`]: the encrypted SQLite store that keeps the licence, credential, record,
//!   messages and secrets, readable only with the platform key.
//! - [`Wallet`]: enrolment, application, offline-first sync, presentations and the read
//!   models a screen shows.
//! - [`IdentityAttester`]: the real-person check the app implements.
//! - [`WalletObserver`] and [`RotationTicker`]: what the app hears as the wallet changes,
//!   and the QR code of each new window.
//!
//! Only built with the `wallet` feature, so the authority and verifier-only apps carry no
//! SQLite, HTTP client or disk code.

mod clock;
mod error;
mod events;
mod handle;
mod identity;
mod photo_upload;
mod remote;
mod rotation;
mod state;
pub mod store;
mod sync;
mod trust;

pub use error::WalletError;
pub use events::{WalletEvent, WalletObserver};
pub use handle::{Wallet, make_wallet_dir};
pub use identity::{IdentityAttester, TestIdentityProvider};
pub use photo_upload::{PhotoSource, PhotoSubmission, UploadProgress, UploadStage};
pub use rotation::RotationTicker;
pub use state::{Enrolment, StoredElicence, SyncState};
pub use sync::SyncReport;
pub use trust::ListsRefreshed;
