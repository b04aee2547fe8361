//! Constant-time comparison for codes and digests.

use subtle::ConstantTimeEq;

/// Compares two byte strings without leaking, through timing, how many leading bytes
/// match (a verifier comparing TOTP codes must not become a guessing oracle).
/// Lengths are not secret and are compared first.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn equal_and_unequal_inputs() {
        assert!(ct_eq(b"12345678", b"12345678"));
        assert!(!ct_eq(b"12345678", b"12345679"));
        assert!(!ct_eq(b"1234", b"12345678"));
        assert!(ct_eq(b"", b""));
    }
}
