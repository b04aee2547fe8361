//! What can go wrong in the wallet, as reasons an app can act on.

use crate::credential::CredentialError;
use crate::net::NetError;
use crate::present::PresentError;

use super::store::StoreError;

/// Why a wallet operation failed. No variant carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// Talking to the authority failed: unreachable (nothing was changed and every read
    /// still works from the store), busy, refused, or not eligible, with the reason.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The wallet has not been enrolled yet.
    #[error("the wallet is not enrolled")]
    NotEnrolled,
    /// There is no issued e-licence in the wallet (apply, then sync).
    #[error("no e-licence in the wallet")]
    NoElicence,
    /// The real-person check (实人认证) could not be completed on the phone.
    #[error("the identity check did not complete")]
    IdentityCheck,
    /// The authority answered with something this wallet cannot use (a bad credential,
    /// a credential bound to another key, an unparseable body).
    #[error("unusable answer from the authority: {0}")]
    Protocol(String),
    /// The local store failed (wrong key, corrupt file, disk full…).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A presentation could not be made.
    #[error("presentation: {0}")]
    Present(#[from] PresentError),
    /// The photo breaks rules the phone can check; each problem says what to fix. Nothing
    /// was uploaded.
    #[error("the photo does not meet the rules ({} problems)", .0.len())]
    PhotoProblems(Vec<crate::photo::PhotoProblem>),
    /// The bytes are not a usable photo (not JPEG/PNG, too large, damaged).
    #[error("photo: {0}")]
    Photo(#[from] crate::photo::PhotoError),
    /// No authority root is pinned: call [`super::Wallet::pin_root`] before taking lists.
    #[error("no authority root pinned")]
    NoRootPinned,
    /// A trust list was refused (not signed by the pinned root, expired, older than the
    /// held one…); the lists held are unchanged.
    #[error("trust list refused: {0}")]
    TrustList(crate::credential::TrustListRejection),
    /// A status list was refused (unknown signer, bad signature, older than the held
    /// one…); the lists held are unchanged.
    #[error("status list refused: {0}")]
    StatusList(crate::verify::StatusListRefusal),
    /// A fault inside the wallet (a task panicked).
    #[error("internal error")]
    Internal,
}

impl From<CredentialError> for WalletError {
    fn from(e: CredentialError) -> Self {
        WalletError::Protocol(format!("credential: {e}"))
    }
}
