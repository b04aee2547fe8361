//! `EdlError`, the one public error of the foreign API, and the one place where the richer
//! internal errors of `edl-core` are turned into it.
//!
//! Rules kept here: every internal error maps to the variant an app can act on; no message
//! or `detail` carries a value from the input (names, numbers, codes), only names of fields
//! and rules; core errors whose text could quote a value are replaced by a fixed text. Every
//! conversion matches exhaustively, so a new core variant fails to compile until it is mapped.
//!
//! One file per source of errors:
//! - `input`: what the phone refuses to read (trust lists, payloads, images, photos);
//! - `offline`: the offline verifier's verdicts (`Rejection`);
//! - `net`: the authority's answers and the online checks (`NetError`, `ErrorCode`);
//! - `wallet`: the wallet and its store (`WalletError`, `StoreError`);
//! - `callback`: what the app's callbacks throw, and the key store's reasons both ways;
//! - `lists`: the signed trust and status lists refused (`TrustListRejection`,
//!   `StatusListRefusal`, `AnchoredRejection`).

mod callback;
mod input;
mod lists;
mod net;
mod offline;
mod wallet;

use crate::types::{Audience, NotEligibleReason};

/// See `EdlError` in `udl/edl.udl`: each variant is documented there, for every language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdlError {
    /// Outside bytes or text are not in the expected format.
    #[error("malformed {what:?}: {detail}")]
    Malformed {
        /// Which input.
        what: InputKind,
        /// The field or rule, never a value.
        detail: String,
    },
    /// The app passed an argument the API refuses.
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// The argument and the rule.
        detail: String,
    },
    /// A presentation was checked and is not valid.
    #[error("presentation rejected: {reason:?}")]
    Rejected {
        /// Why.
        reason: RejectionReason,
    },
    /// The licence may not have an e-licence.
    #[error("not eligible: {reason:?}")]
    NotEligible {
        /// Why.
        reason: NotEligibleReason,
    },
    /// The authority refused the request.
    #[error("refused by the authority: {reason:?}")]
    Refused {
        /// Why.
        reason: RefusalReason,
    },
    /// The authority could not be reached.
    #[error("the authority cannot be reached")]
    Offline,
    /// The authority's TLS certificate was not trusted.
    #[error("the authority's certificate is not trusted")]
    UntrustedAuthority,
    /// The authority is busy; retry later.
    #[error("the authority is busy; retry after {retry_after_secs} s")]
    Busy {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// The authority no longer accepts this device or API key.
    #[error("not authorised by the authority")]
    Unauthorised,
    /// The authority answered with an unexpected error.
    #[error("unexpected answer from the authority (HTTP {status})")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The wallet is not enrolled.
    #[error("the wallet is not enrolled")]
    NotEnrolled,
    /// The wallet holds no e-licence.
    #[error("the wallet holds no e-licence")]
    NoElicence,
    /// The photo was not accepted.
    #[error("the photo was not accepted")]
    PhotoNotAccepted,
    /// The app's key store failed.
    #[error("key store failure: {reason:?}")]
    KeyStore {
        /// Why.
        reason: KeyStoreFailure,
    },
    /// The store is damaged or tampered with.
    #[error("the wallet store is corrupt")]
    CorruptStore,
    /// The store was written by a newer version of this library.
    #[error("the wallet store was written by a newer version of the library")]
    StoreTooNew,
    /// No space left for the store.
    #[error("no space left for the wallet store")]
    StorageFull,
    /// Another process holds the store.
    #[error("the wallet store is held by another process")]
    StoreBusy,
    /// The store's directory or file cannot be used now.
    #[error("the wallet's storage cannot be read or written")]
    StorageUnavailable,
    /// A trust list or status list was refused, or no valid trust list is held.
    #[error("{list:?} refused: {reason:?}")]
    ListRefused {
        /// Which list.
        list: ListKind,
        /// Why.
        reason: ListRefusal,
    },
    /// A fault inside this library.
    #[error("internal error: {detail}")]
    Internal {
        /// What broke, without personal data.
        detail: String,
    },
}

/// Which outside input was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A scanned QR payload.
    Payload,
    /// The text form of a payload.
    PayloadText,
    /// A trust list.
    TrustList,
    /// An image to scan.
    Image,
    /// A photo.
    Photo,
    /// An answer from the authority.
    ServerResponse,
    /// A barcode's digits, or a manual code with its licence number, for an online check.
    TypedCode,
}

/// Why a presentation was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    /// Unknown issuer key.
    UnknownIssuerKey,
    /// Bad issuer signature.
    BadIssuerSignature,
    /// Bad device signature.
    BadDeviceSignature,
    /// The window has passed.
    WindowExpired,
    /// The window has not started.
    WindowNotYetValid,
    /// Another audience's view.
    WrongAudience {
        /// What the driver chose.
        presented: Audience,
        /// What this verifier is.
        expected: Audience,
    },
    /// Issued outside its issuer key's period.
    IssuedOutsideKeyPeriod,
    /// Declares a lifetime above the protocol cap.
    LifetimeTooLong {
        /// What the view declares.
        declared_hours: u16,
        /// The cap.
        max_hours: u16,
    },
    /// The licence's validity has not started.
    LicenceNotYetValid,
    /// The e-licence's lifetime has ended.
    CredentialExpired,
    /// The e-licence claims a future issue time.
    CredentialNotYetValid,
    /// The licence is not in force.
    LicenceNotInForce {
        /// Why.
        reason: NotEligibleReason,
    },
    /// Online: wrong or expired code.
    WrongCode,
    /// Online: replaced e-licence.
    ElicenceSuperseded,
    /// Online: stopped e-licence.
    ElicenceStopped,
    /// Online: unknown e-licence.
    UnknownElicence,
    /// Online: the code was already verified (single use).
    AlreadyUsed,
    /// Offline: a fresh status list says the e-licence is suspended.
    ElicenceSuspended,
    /// Offline: the status list is stale and the policy refuses an unknown status.
    StatusUnknown,
}

/// Why the authority refused a wallet request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// Wrong, used or expired activation code.
    ActivationCodeInvalid,
    /// The real-person check is needed.
    IdentityCheckRequired,
    /// The real-person check failed.
    IdentityCheckFailed,
    /// The e-licence was stopped.
    ElicenceStopped,
    /// The e-licence was replaced.
    ElicenceSuperseded,
    /// The request does not fit the application's state.
    InvalidState,
}

/// Which signed list (D93).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// The root-signed trust list.
    TrustList,
    /// The signed status list.
    StatusList,
}

/// Why a signed list was refused (D93).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListRefusal {
    /// A bare list without the root's signature.
    Unsigned,
    /// The signature does not verify (another root, or altered bytes).
    BadSignature,
    /// Signed by an issuer key the trust list held does not name (status list).
    UnknownSigner,
    /// Not a list of this protocol.
    Malformed,
    /// The list's lifetime has ended.
    Expired,
    /// Issued in the future by this device's clock.
    NotYetValid,
    /// Older than the list already held.
    RolledBack,
    /// A status list fetched from the authority that was made minutes before: kept or
    /// replayed on the way, or this device's clock is wrong.
    NotLive,
    /// No valid trust list is held: load one first.
    NoList,
}

/// Why the app's key store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStoreFailure {
    /// Not the key that wrapped the data key.
    WrongKey,
    /// Not usable now.
    Unavailable,
    /// Gone for good.
    Invalidated,
    /// Any other failure.
    Failed,
}

impl EdlError {
    fn malformed(what: InputKind, detail: impl Into<String>) -> Self {
        EdlError::Malformed {
            what,
            detail: detail.into(),
        }
    }

    /// A `Rejected` error with `reason`.
    fn rejected(reason: RejectionReason) -> Self {
        EdlError::Rejected { reason }
    }

    /// The variant's name alone, for a log line about an error the app threw: its text is
    /// the app's, and may quote what the driver typed or the face check saw (the app's
    /// `IdentityProvider` once logged a licence number that way, thirtieth review), where
    /// the UDL promises records with no personal data.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            EdlError::Malformed { .. } => "Malformed",
            EdlError::InvalidArgument { .. } => "InvalidArgument",
            EdlError::Rejected { .. } => "Rejected",
            EdlError::NotEligible { .. } => "NotEligible",
            EdlError::Refused { .. } => "Refused",
            EdlError::Offline => "Offline",
            EdlError::UntrustedAuthority => "UntrustedAuthority",
            EdlError::Busy { .. } => "Busy",
            EdlError::Unauthorised => "Unauthorised",
            EdlError::Server { .. } => "Server",
            EdlError::NotEnrolled => "NotEnrolled",
            EdlError::NoElicence => "NoElicence",
            EdlError::PhotoNotAccepted => "PhotoNotAccepted",
            EdlError::KeyStore { .. } => "KeyStore",
            EdlError::CorruptStore => "CorruptStore",
            EdlError::StoreTooNew => "StoreTooNew",
            EdlError::StorageFull => "StorageFull",
            EdlError::StoreBusy => "StoreBusy",
            EdlError::StorageUnavailable => "StorageUnavailable",
            EdlError::ListRefused { .. } => "ListRefused",
            EdlError::Internal { .. } => "Internal",
        }
    }
}
