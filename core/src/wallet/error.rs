//! What can go wrong in the wallet, as reasons an app can act on.

use crate::credential::CredentialError;
use crate::licence::NotEligible;
use crate::net::NetError;
use crate::present::PresentError;
use crate::wire::ErrorCode;

use super::store::StoreError;

/// Why a wallet operation failed. No variant carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The authority could not be reached (no network, DNS, refused, timed out). Nothing
    /// was changed; every read still works from the store.
    #[error("the authority cannot be reached")]
    Offline,
    /// The authority is busy; try again after this many seconds.
    #[error("the authority is busy; retry after {retry_after_secs} s")]
    Busy {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Failed online checks locked this client out for a while.
    #[error("locked out; retry after {retry_after_secs} s")]
    LockedOut {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The authority does not accept this device (wrong activation code, device key no
    /// longer bound, signature refused).
    #[error("not authorised: {0:?}")]
    Unauthorised(ErrorCode),
    /// The licence may not have an e-licence, and why.
    #[error("not eligible: {0}")]
    NotEligible(NotEligible),
    /// The authority refused the request for another stated reason.
    #[error("refused by the authority: {code:?}")]
    Rejected {
        /// The authority's stable code.
        code: ErrorCode,
    },
    /// The authority URL is not an `http://` or `https://` URL.
    #[error("the authority URL must start with http:// or https://")]
    BadUrl,
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
    /// A fault inside the wallet (a task panicked).
    #[error("internal error")]
    Internal,
}

impl From<NetError> for WalletError {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Offline => WalletError::Offline,
            NetError::Busy { retry_after_secs } => WalletError::Busy { retry_after_secs },
            NetError::LockedOut { retry_after_secs } => WalletError::LockedOut { retry_after_secs },
            NetError::Unauthorised(code) => WalletError::Unauthorised(code),
            NetError::NotEligible(reason) => WalletError::NotEligible(reason),
            NetError::Rejected { code } => WalletError::Rejected { code },
            NetError::BadUrl => WalletError::BadUrl,
            NetError::Protocol(what) => WalletError::Protocol(what.into()),
            NetError::Internal => WalletError::Internal,
        }
    }
}

impl From<CredentialError> for WalletError {
    fn from(e: CredentialError) -> Self {
        WalletError::Protocol(format!("credential: {e}"))
    }
}
