//! The real-person check (实人认证) as the authority sees it: a challenge it issues and an
//! attestation the phone's identity-check provider returns for it.
//!
//! A real provider (the one behind the app's face-verification SDK) signs its own
//! attestation format, and the authority verifies that with the provider's key. This
//! module defines the one the project's **test provider** uses, so the wallet's test
//! double and the authority agree: `HMAC-SHA256(provider secret, "EDL1/identity\0" ‖
//! challenge ‖ licence number)`. The secret is configured on the server and given to
//! the test double; no real deployment uses it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Domain tag of the test provider's attestation.
const TAG: &[u8] = b"EDL1/identity\0";

/// The test provider's attestation that the person holding the phone is the holder of
/// `licence_number`, for the authority's `challenge`.
pub fn test_provider_attestation(
    secret: &[u8],
    challenge: &[u8],
    licence_number: &str,
) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(TAG);
    mac.update(challenge);
    mac.update(licence_number.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks a test-provider attestation in constant time.
pub fn verify_test_provider_attestation(
    secret: &[u8],
    challenge: &[u8],
    licence_number: &str,
    attestation: &[u8],
) -> bool {
    let expected = test_provider_attestation(secret, challenge, licence_number);
    crate::crypto::ct_eq(&expected, attestation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_binds_secret_challenge_and_holder() {
        let a = test_provider_attestation(b"secret", &[1; 32], "110101199003071234");
        assert!(verify_test_provider_attestation(
            b"secret",
            &[1; 32],
            "110101199003071234",
            &a
        ));
        assert!(!verify_test_provider_attestation(
            b"other",
            &[1; 32],
            "110101199003071234",
            &a
        ));
        assert!(!verify_test_provider_attestation(
            b"secret",
            &[2; 32],
            "110101199003071234",
            &a
        ));
        assert!(!verify_test_provider_attestation(
            b"secret",
            &[1; 32],
            "110101199003071235",
            &a
        ));
        assert!(!verify_test_provider_attestation(
            b"secret",
            &[1; 32],
            "110101199003071234",
            &a[..31]
        ));
    }
}
