//! Secret bytes handed out by the store.

use std::fmt;

use zeroize::{ZeroizeOnDrop, Zeroizing};

/// A secret read from the store (a key seed, a TOTP seed): zeroized when dropped, and
/// printed by `Debug` as `[redacted]`, so a stray `{:?}` in a log cannot leak it.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

// `Zeroizing` clears the bytes on drop; the marker lets callers rely on it.
impl ZeroizeOnDrop for SecretBytes {}

const _: () = {
    const fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}
    assert_zeroize_on_drop::<SecretBytes>();
    assert_zeroize_on_drop::<zeroize::Zeroizing<Vec<u8>>>();
    // The cipher holding the derived AEAD key wipes it on drop (crate feature `zeroize`).
    assert_zeroize_on_drop::<chacha20poly1305::XChaCha20Poly1305>();
};

impl SecretBytes {
    pub(super) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretBytes(bytes)
    }

    /// The bytes. Copy them only into zeroizing types.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as a fixed-size array (e.g. a 32-byte seed), or `None` if the length
    /// differs.
    pub fn to_array<const N: usize>(&self) -> Option<Zeroizing<[u8; N]>> {
        <[u8; N]>::try_from(self.0.as_slice())
            .ok()
            .map(Zeroizing::new)
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_array_checks_length() {
        let s = SecretBytes::new(Zeroizing::new(vec![0xAB; 32]));
        let shown = format!("{s:?} {s:#?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab,"));
        assert_eq!(*s.to_array::<32>().unwrap(), [0xAB; 32]);
        assert!(s.to_array::<31>().is_none());
        assert_eq!(s.len(), 32);
    }
}
