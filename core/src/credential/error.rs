//! Errors of credential encoding, issuance and checking.

use crate::codec::{DecodeError, EncodeError};
use crate::crypto::CryptoError;

/// Why a credential or view could not be made, read or trusted. No personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The bytes are not a well-formed credential, view or trust list.
    #[error("malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// The licence cannot be encoded (a field too long or a date out of range).
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// A field holds a value the licence model refuses.
    #[error("invalid field `{0}`")]
    InvalidField(&'static str),
    /// The format version is not one this library reads.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// The view names an issuer key the trust list does not hold (or not for its date).
    #[error("unknown issuer key")]
    UnknownIssuerKey,
    /// The view was issued outside its issuer key's period (before it started or after
    /// the key was retired): what a leaked retired key would sign.
    #[error("issued outside its issuer key's period")]
    IssuedOutsideKeyPeriod,
    /// The view declares a lifetime longer than the protocol allows.
    #[error("declared lifetime {declared_hours} h exceeds the {max_hours} h cap")]
    LifetimeTooLong {
        /// What the view declares.
        declared_hours: u16,
        /// [`crate::credential::MAX_VIEW_LIFETIME_HOURS`].
        max_hours: u16,
    },
    /// The issuer signature does not verify.
    #[error("issuer signature does not verify")]
    BadIssuerSignature,
    /// A key in the bytes is not a valid Ed25519 key.
    #[error("invalid key: {0}")]
    Crypto(#[from] CryptoError),
    /// The two views of a credential disagree (device key, issuer, times).
    #[error("the views of the credential do not belong together")]
    Inconsistent,
    /// An audience name that is neither `enforcement` nor `business`.
    #[error("unknown audience")]
    UnknownAudience,
}
