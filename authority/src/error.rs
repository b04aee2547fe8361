//! The server's typed error, and the one place it becomes the JSON error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edl_core::licence::{LicenceError, NotEligible};
use edl_core::wire::{AuthError, ErrorBody, ErrorCode};

use crate::store::StoreError;

/// Seconds a client is told to wait when the database is unreachable.
pub const STORE_RETRY_AFTER: u64 = 2;

/// Why a request was refused or failed. Messages name fields and kinds, never values:
/// they reach clients and logs, and requests carry personal data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed body, parameter or field.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A binary field is not base64.
    #[error("a binary field is not valid base64")]
    BadBase64,
    /// Missing or wrong admin token or API key.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// A valid admin token without the role the endpoint needs.
    #[error("this token does not have the role this endpoint needs")]
    Forbidden,
    /// Device signature headers missing, malformed, stale or not verifying.
    #[error("request authentication: {0}")]
    Auth(#[from] AuthError),
    /// The account named in the headers has no enrolled device.
    #[error("request authentication: unknown account")]
    UnknownAccount,
    /// The request's nonce was seen before.
    #[error("request nonce already used")]
    Replayed,
    /// Wrong, used or expired activation code (or unknown licence number).
    #[error("activation code refused")]
    BadActivationCode,
    /// The application needs a real-person check.
    #[error("a real-person check is required")]
    IdentityCheckRequired,
    /// The real-person check failed.
    #[error("the real-person check failed")]
    IdentityCheckFailed,
    /// The licence may not have an e-licence.
    #[error("not eligible: {0:?}")]
    NotEligible(NotEligible),
    /// The e-licence was stopped.
    #[error("the e-licence was stopped")]
    ElicenceStopped,
    /// Wrong or expired online code.
    #[error("wrong or expired code")]
    CodeRejected,
    /// The online code was already verified (by another verifier, or too long ago).
    #[error("this code was already used; ask for a new one")]
    AlreadyUsed,
    /// No such route.
    #[error("no such endpoint")]
    NotFound,
    /// An id that names nothing.
    #[error("unknown {0}")]
    UnknownId(&'static str),
    /// Route exists, method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Duplicate licence number.
    #[error("a driver with this licence number exists")]
    AlreadyExists,
    /// The request does not fit the current state.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// Idempotency key reused with other content.
    #[error("idempotency key reused with different content")]
    IdempotencyConflict,
    /// The e-licence was replaced.
    #[error("the e-licence was superseded")]
    ElicenceSuperseded,
    /// The request did not arrive in full within the deadline (a slow or stalled client
    /// network): its handler was still waiting for its body, so the call was not made
    /// (408; D183). Seconds of the deadline.
    #[error("the request did not arrive within {0} s; it may be sent again")]
    TooSlowToArrive(u64),
    /// The request was not answered within the deadline while the server, not the client,
    /// had the next move (the server or its database slow): whether its write was made is
    /// not known here, as after a commit whose answer was lost (503 with Retry-After; a
    /// check sent again by its verifier is answered again, D108, D183). Seconds of the
    /// deadline.
    #[error("not answered within {0} s; its outcome is unknown")]
    NotAnsweredInTime(u64),
    /// Body over the limit.
    #[error("body too large")]
    PayloadTooLarge,
    /// Licence data that fails validation.
    #[error("invalid licence: {0}")]
    InvalidLicence(#[from] LicenceError),
    /// Licence data the e-licence encoding cannot carry (a date after 2079, a text over
    /// 255 bytes).
    #[error(
        "the licence does not fit the e-licence encoding (dates up to 2079, texts up to 255 bytes)"
    )]
    Unencodable,
    /// Not an acceptable photo.
    #[error("invalid photo: {0}")]
    InvalidPhoto(&'static str),
    /// Busy (peak hours).
    #[error("busy; retry after {retry_after} s")]
    Busy {
        /// Seconds.
        retry_after: u64,
    },
    /// Locked out after failed checks.
    #[error("locked out; retry after {retry_after} s")]
    LockedOut {
        /// Seconds.
        retry_after: u64,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A sealed issuing key did not open (another key-encryption key, altered bytes).
    #[error("sealed key: {0}")]
    Sealed(#[from] crate::seal::SealError),
    /// The root key could not be read.
    #[error("root key: {0}")]
    RootKey(#[from] crate::root::RootKeyError),
    /// A credential could not be issued (a fault: licences are validated before).
    #[error("issuing: {0}")]
    Issue(#[from] edl_core::credential::CredentialError),
    /// Internal, never answered: the rule would issue a new e-licence and was run without
    /// a new identity for it. The service draws one (a status index among it) and runs the
    /// rule again ([`crate::service::App`]'s issuing update, PH-3); nothing was saved.
    #[error("a new e-licence identity is needed")]
    FreshNeeded,
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        use Error::*;
        match self {
            BadRequest(_) => ErrorCode::BadRequest,
            BadBase64 => ErrorCode::BadBase64,
            Unauthorized => ErrorCode::Unauthorized,
            Forbidden => ErrorCode::Forbidden,
            Auth(AuthError::Stale) => ErrorCode::StaleRequest,
            Auth(_) | UnknownAccount => ErrorCode::BadSignature,
            Replayed => ErrorCode::ReplayedRequest,
            BadActivationCode => ErrorCode::BadActivationCode,
            IdentityCheckRequired => ErrorCode::IdentityCheckRequired,
            IdentityCheckFailed => ErrorCode::IdentityCheckFailed,
            NotEligible(_) => ErrorCode::NotEligible,
            ElicenceStopped => ErrorCode::ElicenceStopped,
            CodeRejected => ErrorCode::CodeRejected,
            AlreadyUsed => ErrorCode::AlreadyUsed,
            NotFound => ErrorCode::NotFound,
            UnknownId(_) => ErrorCode::UnknownId,
            MethodNotAllowed => ErrorCode::MethodNotAllowed,
            AlreadyExists => ErrorCode::AlreadyExists,
            InvalidState(_) => ErrorCode::InvalidState,
            IdempotencyConflict => ErrorCode::IdempotencyConflict,
            ElicenceSuperseded => ErrorCode::ElicenceSuperseded,
            TooSlowToArrive(_) => ErrorCode::RequestTimeout,
            PayloadTooLarge => ErrorCode::PayloadTooLarge,
            InvalidLicence(_) | Unencodable => ErrorCode::InvalidLicence,
            InvalidPhoto(_) => ErrorCode::InvalidPhoto,
            Busy { .. } => ErrorCode::Busy,
            LockedOut { .. } => ErrorCode::LockedOut,
            NotAnsweredInTime(_)
            | Store(
                StoreError::Closed
                | StoreError::Aborted
                | StoreError::Unavailable
                | StoreError::Held,
            ) => ErrorCode::Unavailable,
            Store(_) | Issue(_) | Sealed(_) | RootKey(_) | FreshNeeded => ErrorCode::Internal,
        }
    }

    /// The JSON body. Server faults get a generic message: their detail is for the log.
    pub fn body(&self) -> ErrorBody {
        let code = self.code();
        let message = if code.http_status() >= 500 {
            "the server could not complete the request".to_owned()
        } else {
            self.to_string()
        };
        let mut body = ErrorBody::new(code, message);
        match self {
            Error::Busy { retry_after } | Error::LockedOut { retry_after } => {
                body.retry_after = Some(*retry_after);
            }
            Error::NotEligible(reason) => body.reason = Some(*reason),
            // A database that went away, or a write not made for now: tell clients when to
            // come back rather than leaving them to guess (load balancers and wallets
            // honour Retry-After; T-F1).
            Error::NotAnsweredInTime(_)
            | Error::Store(
                StoreError::Unavailable
                | StoreError::Held
                | StoreError::Aborted
                | StoreError::Closed,
            ) => body.retry_after = Some(STORE_RETRY_AFTER),
            _ => {}
        }
        body
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = self.body();
        if body.error.http_status() >= 500 {
            // Store and issuing errors carry no request data, only kinds and SQLite text.
            tracing::error!(code = ?body.error, error = %self, "request failed");
        } else {
            // Refusals are the client's business: their kind only, never their text.
            tracing::debug!(code = ?body.error, "request refused");
        }
        let status =
            StatusCode::from_u16(body.error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, axum::Json(&body)).into_response();
        if let Some(secs) = body.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What handlers return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
