//! The real-person check (实人认证) on the phone.

use crate::wire::identity::test_provider_attestation;

/// The phone's side of the real-person check: given the authority's challenge, it checks
/// that the person holding the phone is the licence holder and returns the identity
/// provider's attestation for the authority's `IdentityVerifier` to verify.
///
/// The app implements the FFI's `IdentityProvider` callback (`udl/edl.udl`) over its
/// face-verification SDK, and the bindings adapt it to this trait.
pub trait IdentityAttester: Send + Sync {
    /// Attests `challenge` for the holder of `licence_number`; `None` when the check
    /// failed or was cancelled.
    fn attest(&self, challenge: &[u8], licence_number: &str) -> Option<Vec<u8>>;
}

/// The test identity provider shared with the authority's test configuration (an HMAC with
/// a secret both know), as an [`IdentityAttester`]. A test double: a real phone uses its
/// provider's SDK.
#[derive(Clone)]
pub struct TestIdentityProvider {
    secret: Vec<u8>,
}

impl TestIdentityProvider {
    /// A provider with the authority's configured test secret.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        TestIdentityProvider {
            secret: secret.into(),
        }
    }
}

impl std::fmt::Debug for TestIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestIdentityProvider([redacted])")
    }
}

impl IdentityAttester for TestIdentityProvider {
    fn attest(&self, challenge: &[u8], licence_number: &str) -> Option<Vec<u8>> {
        Some(test_provider_attestation(&self.secret, challenge, licence_number).to_vec())
    }
}
