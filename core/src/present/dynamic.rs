//! The barcode text and the manual code: the two forms a person or a laser scanner
//! reads, both checked online.

use crate::credential::{Audience, ElicenceId};

/// Digits of the barcode text.
pub const BARCODE_DIGITS: usize = 32;
/// Digits of the manual code (audience digit + 6 TOTP digits).
pub const MANUAL_CODE_DIGITS: usize = 7;

/// The audience as the leading digit of the barcode text and manual code (1 or 2, never
/// 0, so a leading zero cannot be lost by a spreadsheet or a keypad).
pub fn audience_digit(audience: Audience) -> char {
    char::from(b'1' + audience.code())
}

/// Inverse of `audience_digit`.
pub fn audience_from_digit(c: char) -> Option<Audience> {
    let d = c.to_digit(10)?;
    Audience::from_code(u8::try_from(d.checked_sub(1)?).ok()?)
}

/// `audience digit | period (3 digits) | e-licence id (20 digits) | QR code (8 digits)`:
/// 32 digits, which Code 128 packs two to a symbol.
pub fn barcode_text(audience: Audience, period: u32, id: ElicenceId, code: &str) -> String {
    debug_assert_eq!(code.len(), 8);
    format!("{}{period:03}{id}{code}", audience_digit(audience))
}

/// `audience digit | 6 TOTP digits`, e.g. "2 483 920" as shown to a person.
pub fn manual_code(audience: Audience, code: &str) -> String {
    debug_assert_eq!(code.len(), 6);
    format!("{}{code}", audience_digit(audience))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcode_text_has_32_digits() {
        let t = barcode_text(Audience::Business, 30, ElicenceId(42), "01234567");
        assert_eq!(t.len(), BARCODE_DIGITS);
        assert!(t.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(t, "20300000000000000000004201234567");
    }

    #[test]
    fn audience_digits_round_trip() {
        for a in Audience::ALL {
            assert_eq!(audience_from_digit(audience_digit(a)), Some(a));
        }
        assert_eq!(audience_from_digit('0'), None);
        assert_eq!(audience_from_digit('3'), None);
        assert_eq!(audience_from_digit('x'), None);
        assert_eq!(manual_code(Audience::Enforcement, "123456"), "1123456");
    }
}
