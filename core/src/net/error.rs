//! What can go wrong talking to the authority, as reasons a caller can act on.

use crate::licence::NotEligible;
use crate::wire::ErrorCode;

/// Why a request to the authority failed. No variant carries personal data: the
/// authority's messages are never kept, only its stable codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The authority could not be reached (no network, DNS, refused, timed out, or the
    /// server is down or restarting).
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
    /// The authority does not accept the caller: a wrong API key or activation code, a
    /// device key no longer bound, a refused signature.
    #[error("not authorised: {0}")]
    Unauthorised(ErrorCode),
    /// The licence may not have an e-licence, and why.
    #[error("not eligible: {0}")]
    NotEligible(NotEligible),
    /// The authority refused the request for another stated reason.
    #[error("refused by the authority: {code}")]
    Rejected {
        /// The authority's stable code.
        code: ErrorCode,
    },
    /// The authority's TLS certificate was not trusted (an intercepting network, or a
    /// certificate outside the pinned roots). Nothing was sent.
    #[error("the authority's certificate is not trusted")]
    Untrusted,
    /// The URL is not an `http://` or `https://` URL.
    #[error("the authority URL must start with http:// or https://")]
    BadUrl,
    /// A plain `http://` URL of an authority that is not on this machine: requests and
    /// their secrets would cross the network readable and alterable. Use `https://`, or
    /// call [`allow_plain_http`](super::allow_plain_http) for a test network.
    #[error("the authority URL must be https:// (http:// only to this machine)")]
    InsecureUrl,
    /// Roots given to pin are not DER X.509 certificates (or none, or too many).
    #[error("the authority roots are not 1 to 16 DER certificates")]
    BadRoots,
    /// The authority answered with something this client cannot use (an unparseable body,
    /// an answer about another e-licence). The text names what, never a value.
    #[error("unusable answer from the authority: {0}")]
    Protocol(&'static str),
    /// A fault inside the client (no randomness, a task panicked).
    #[error("internal error")]
    Internal,
}
