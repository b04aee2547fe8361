//! The real-person check (实人认证): the authority issues a challenge, the phone's
//! identity-check provider answers it, and the authority checks the answer here.

use edl_core::wire::identity::verify_test_provider_attestation;

/// Checks a provider's attestation that the person at the phone is the holder of
/// `licence_number`, for `challenge`. A real provider's SDK returns a signed token;
/// its verification (the provider's public key, its token format) goes in an
/// implementation of this trait.
pub trait IdentityVerifier: Send + Sync + 'static {
    /// Whether `attestation` is valid for `challenge` and `licence_number`.
    fn verify(&self, challenge: &[u8], licence_number: &str, attestation: &[u8]) -> bool;
}

/// The project's test provider: an HMAC under a secret shared with the test double on
/// the phone (see `edl_core::wire::identity`). Refuses everything when the secret is
/// empty.
pub struct TestIdentityVerifier {
    secret: Vec<u8>,
}

impl TestIdentityVerifier {
    /// A provider with `secret`.
    pub fn new(secret: Vec<u8>) -> Self {
        TestIdentityVerifier { secret }
    }
}

impl IdentityVerifier for TestIdentityVerifier {
    fn verify(&self, challenge: &[u8], licence_number: &str, attestation: &[u8]) -> bool {
        !self.secret.is_empty()
            && verify_test_provider_attestation(
                &self.secret,
                challenge,
                licence_number,
                attestation,
            )
    }
}
