//! RFC 6238 time-based codes, with per-use keys derived from one provisioned seed.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use totp_rs::{Algorithm, Builder};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{CryptoError, ct_eq};

/// Which code a key is derived for. Each kind (and each audience) gets its own key, so a
/// code read off one form says nothing about the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// Carried inside the online QR and the barcode: nobody types it, so it has the
    /// most digits RFC 4226 allows (8).
    Qr,
    /// Read out or typed by a person: 6 digits.
    Manual,
}

impl CodeKind {
    /// Digits of this kind of code.
    pub const fn digits(self) -> u8 {
        match self {
            CodeKind::Qr => 8,
            CodeKind::Manual => 6,
        }
    }

    const fn label(self) -> &'static [u8] {
        match self {
            CodeKind::Qr => b"qr",
            CodeKind::Manual => b"manual",
        }
    }
}

/// The 32-byte TOTP seed the authority provisions with an e-licence. Held only by the
/// wallet's encrypted store and the authority; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSeed([u8; 32]);

impl fmt::Debug for TotpSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSeed([redacted])")
    }
}

impl TotpSeed {
    /// Wraps 32 random bytes (randomness comes from the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TotpSeed(bytes)
    }

    /// Parses a seed of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        <[u8; 32]>::try_from(bytes)
            .map(TotpSeed)
            .map_err(|_| CryptoError::BadSeed)
    }

    /// The raw seed, for the encrypted store and the issuance response only.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA256(seed, "EDL1/totp/" || kind || "/" || audience): one key per use.
    fn derive(&self, kind: CodeKind, audience: u8) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts any key length");
        mac.update(b"EDL1/totp/");
        mac.update(kind.label());
        mac.update(b"/");
        mac.update(&[audience]);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// The code of `kind` for `audience` in time window `window` of `period` seconds.
    pub fn code(&self, kind: CodeKind, audience: u8, period: u32, window: u64) -> String {
        let key = self.derive(kind, audience);
        rfc6238_code(
            TotpHash::Sha256,
            key.as_ref(),
            kind.digits(),
            period,
            window * u64::from(period),
        )
    }

    /// Which of `windows` (tried in order) produced `code`, compared in constant time.
    pub fn check(
        &self,
        kind: CodeKind,
        audience: u8,
        period: u32,
        windows: &[u64],
        code: &str,
    ) -> Option<u64> {
        // Every candidate is computed and compared, so the time taken does not say which
        // window (if any) matched.
        let mut found = None;
        for &w in windows {
            let expected = self.code(kind, audience, period, w);
            if ct_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
                found = Some(w);
            }
        }
        found
    }
}

/// The HMAC hash of an RFC 6238 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpHash {
    /// HMAC-SHA-1 (the RFC's reference; kept for the test vectors).
    Sha1,
    /// HMAC-SHA-256 (what the protocol uses).
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// The RFC 6238 code for `secret` at unix time `time` (`digits` from 6 to 8). Every code
/// of the protocol goes through here.
pub fn rfc6238_code(hash: TotpHash, secret: &[u8], digits: u8, period: u32, time: u64) -> String {
    let algorithm = match hash {
        TotpHash::Sha1 => Algorithm::SHA1,
        TotpHash::Sha256 => Algorithm::SHA256,
        TotpHash::Sha512 => Algorithm::SHA512,
    };
    // `build_noncompliant` because the RFC's own SHA-1 vectors use a 20-byte secret and
    // totp-rs' compliant builder wants 16+; digits and period are fixed by our callers.
    debug_assert!((6..=8).contains(&digits) && period > 0);
    let totp = Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits)
        .with_step_duration(u64::from(period))
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    totp.generate(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: seeds are ASCII "1234567890" repeated to the hash length.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let sha1 = b"12345678901234567890".as_slice();
        let sha256 = b"12345678901234567890123456789012".as_slice();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".as_slice();
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, want1, want256, want512) in vectors {
            assert_eq!(
                rfc6238_code(TotpHash::Sha1, sha1, 8, 30, time),
                want1,
                "SHA-1 at {time}"
            );
            assert_eq!(
                rfc6238_code(TotpHash::Sha256, sha256, 8, 30, time),
                want256,
                "SHA-256 at {time}"
            );
            assert_eq!(
                rfc6238_code(TotpHash::Sha512, sha512, 8, 30, time),
                want512,
                "SHA-512 at {time}"
            );
        }
    }

    #[test]
    fn codes_differ_by_kind_audience_and_window() {
        let seed = TotpSeed::from_bytes([9; 32]);
        let a = seed.code(CodeKind::Qr, 0, 30, 1000);
        assert_eq!(a.len(), 8);
        assert_eq!(seed.code(CodeKind::Manual, 0, 30, 1000).len(), 6);
        assert_ne!(a, seed.code(CodeKind::Qr, 1, 30, 1000));
        assert_ne!(a, seed.code(CodeKind::Qr, 0, 30, 1001));
        assert_eq!(a, seed.code(CodeKind::Qr, 0, 30, 1000));
    }

    #[test]
    fn check_finds_the_window_and_refuses_other_codes() {
        let seed = TotpSeed::from_bytes([1; 32]);
        let code = seed.code(CodeKind::Manual, 1, 30, 500);
        assert_eq!(
            seed.check(CodeKind::Manual, 1, 30, &[501, 500], &code),
            Some(500)
        );
        assert_eq!(
            seed.check(CodeKind::Manual, 1, 30, &[502, 501], &code),
            None
        );
        assert_eq!(seed.check(CodeKind::Manual, 0, 30, &[500], &code), None);
        assert_eq!(seed.check(CodeKind::Manual, 1, 30, &[500], "12345"), None);
    }

    #[test]
    fn seed_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", TotpSeed::from_bytes([5; 32])),
            "TotpSeed([redacted])"
        );
    }
}
