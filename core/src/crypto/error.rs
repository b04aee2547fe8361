//! Errors of the crypto layer.

/// Why a key or signature operation failed. Carries no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The bytes are not a valid Ed25519 public key.
    #[error("invalid public key encoding")]
    InvalidPublicKey,
    /// The signature does not verify (or is not canonical).
    #[error("signature does not verify")]
    BadSignature,
    /// A TOTP seed of the wrong length.
    #[error("TOTP seed must be 32 bytes")]
    BadSeed,
}
