//! The real-person check (实人认证): the authority issues a challenge, the phone's
//! identity-check provider answers it, and the authority checks the answer here.

use edl_core::wire::identity::verify_test_provider_attestation;

/// Checks a provider's attestation that the person at the phone is the holder of
/// `licence_number`, for `challenge`. A real provider's SDK returns a signed token;
/// its verification (the provider's public key, its token format) goes in an
/// implementation of this trait.
///
/// The contract: a pure verification, the same answer for the same inputs, with no I/O
/// and nothing used up. An application that issues runs its rule twice (D215: first
/// without a new e-licence's identity, then with one), so `verify` may be called twice
/// for one request. Replay protection is the challenge's, which the rule uses up in the
/// driver's record; an implementation that remembered tokens itself would refuse the
/// second call and fail every application that issues at once (the review of D215, Q-2).
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
