//! Keys, domain-separated Ed25519 signatures, TOTP and constant-time comparison.
//!
//! Every signature in the protocol goes through [`sign`] / [`verify`] with a
//! [`Purpose`], so a signature made for one job (say, a presentation) can never be
//! replayed as another (a credential view or a request).

mod ct;
mod domain;
mod error;
mod keys;
mod totp;

pub use ct::ct_eq;
pub use domain::Purpose;
pub use error::CryptoError;
pub use keys::{KeyId, PublicKey, SecretKey, Signature, sha256};
pub use totp::{CodeKind, TotpHash, TotpSeed, rfc6238_code};

/// Signs `message` for `purpose` (the domain tag is prepended before signing).
pub fn sign(key: &SecretKey, purpose: Purpose, message: &[u8]) -> Signature {
    key.sign_raw(&domain::tagged(purpose, message))
}

/// Verifies a signature made by [`sign`] for the same `purpose`, strictly (RFC 8032
/// canonical encodings only, no small-order points, no malleable `S`).
pub fn verify(
    key: &PublicKey,
    purpose: Purpose,
    message: &[u8],
    signature: &Signature,
) -> Result<(), CryptoError> {
    key.verify_raw(&domain::tagged(purpose, message), signature)
}
