//! The business view: qualification only, small enough for a version-10 QR symbol.

use crate::codec::{DecodeError, EncodeError, Reader, Writer};
use crate::licence::{ClassSet, Licence, LicenceStatus};

use super::super::CredentialError;
use super::ViewHeader;
use super::fields::{read_classes, read_status, write_classes, write_status};

/// What an insurer, rental firm or employer may see. It never holds the address, the
/// date of birth, the full licence number or the driving record: the type has no field
/// for them, and the encoding has no room for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessView {
    /// Issuer key, device key and times.
    pub header: ViewHeader,
    /// The holder's name.
    pub name: String,
    /// The licence number with all but its first and last four characters masked.
    pub masked_number: String,
    /// The first 16 bytes of the SHA-256 of the approved photo.
    pub photo_digest: [u8; 16],
    /// Permitted vehicle classes.
    pub classes: ClassSet,
    /// Start of the validity period.
    pub valid_from: time::Date,
    /// End of the validity period.
    pub valid_until: time::Date,
    /// Status as of `header.issued_at`.
    pub status: LicenceStatus,
}

/// How many characters the masked number shows at each end.
const SHOWN: usize = 4;
/// Length of the 18-character licence (ID) number.
const NUMBER_LEN: usize = 18;

impl BusinessView {
    /// Cuts the business view out of a licence.
    pub fn from_licence(header: ViewHeader, licence: &Licence) -> Result<Self, CredentialError> {
        let m = &licence.main;
        let masked_number = mask(&m.licence_number)?;
        let mut photo_digest = [0; 16];
        photo_digest.copy_from_slice(&m.photo_digest[..16]);
        Ok(BusinessView {
            header,
            name: m.name.clone(),
            masked_number,
            photo_digest,
            classes: m.classes,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
            status: m.status,
        })
    }

    /// The canonical body bytes (what the issuer signs).
    pub fn encode(&self) -> Result<Vec<u8>, CredentialError> {
        let mut w = Writer::with_capacity(96);
        self.header.encode(&mut w);
        w.str8("name", &self.name)?;
        w.raw(&pack_masked(&self.masked_number)?);
        w.raw(&self.photo_digest);
        write_classes(&mut w, self.classes);
        w.date("valid_from", self.valid_from)?;
        w.date("valid_until", self.valid_until)?;
        write_status(&mut w, &self.status)?;
        Ok(w.into_bytes())
    }

    /// Decodes body bytes; every byte must be consumed.
    pub fn decode(body: &[u8]) -> Result<Self, CredentialError> {
        let mut r = Reader::new(body);
        let header = ViewHeader::decode(&mut r)?;
        let name = r.str8("name")?.to_owned();
        // The licence's own rule: a name a screen would not show as it is (blank, a line
        // break, a direction override) is refused, as the enforcement view's licence is.
        if crate::licence::check_name(&name).is_err() {
            return Err(DecodeError::BadValue("name").into());
        }
        let masked_number = unpack_masked(r.array("masked_number")?)?;
        let photo_digest = r.array("photo_digest")?;
        let classes = read_classes(&mut r)?;
        let valid_from = r.date("valid_from")?;
        let valid_until = r.date("valid_until")?;
        let status = read_status(&mut r)?;
        r.finish()?;
        if valid_from > valid_until {
            return Err(DecodeError::BadValue("valid_until").into());
        }
        Ok(BusinessView {
            header,
            name,
            masked_number,
            photo_digest,
            classes,
            valid_from,
            valid_until,
            status,
        })
    }
}

/// "110101199003071234" → "1101**********1234".
fn mask(number: &str) -> Result<String, CredentialError> {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != NUMBER_LEN {
        return Err(CredentialError::InvalidField("licence_number"));
    }
    let head: String = chars[..SHOWN].iter().collect();
    let tail: String = chars[NUMBER_LEN - SHOWN..].iter().collect();
    Ok(format!(
        "{head}{}{tail}",
        "*".repeat(NUMBER_LEN - 2 * SHOWN)
    ))
}

/// Packs the shown characters into 4 bytes: the first four digits as a u16, then the
/// last three digits and the check character (0–9 or X = 10) as `digits * 11 + check`.
fn pack_masked(masked: &str) -> Result<[u8; 4], CredentialError> {
    let bad = || CredentialError::Encode(EncodeError::TooLong("masked_number"));
    let b = masked.as_bytes();
    if b.len() != NUMBER_LEN {
        return Err(bad());
    }
    let digits = |s: &[u8]| -> Option<u16> {
        s.iter().try_fold(0u16, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
        })
    };
    let head = digits(&b[..SHOWN]).ok_or_else(bad)?;
    let tail_digits = digits(&b[NUMBER_LEN - SHOWN..NUMBER_LEN - 1]).ok_or_else(bad)?;
    let check = match b[NUMBER_LEN - 1] {
        c @ b'0'..=b'9' => u16::from(c - b'0'),
        b'X' => 10,
        _ => return Err(bad()),
    };
    let tail = tail_digits * 11 + check;
    let mut out = [0; 4];
    out[..2].copy_from_slice(&head.to_be_bytes());
    out[2..].copy_from_slice(&tail.to_be_bytes());
    Ok(out)
}

fn unpack_masked(bytes: [u8; 4]) -> Result<String, CredentialError> {
    let head = u16::from_be_bytes([bytes[0], bytes[1]]);
    let tail = u16::from_be_bytes([bytes[2], bytes[3]]);
    if head > 9999 || tail > 999 * 11 + 10 {
        return Err(DecodeError::BadValue("masked_number").into());
    }
    let check = match tail % 11 {
        10 => 'X',
        d => char::from(b'0' + d as u8),
    };
    Ok(format!(
        "{head:04}{}{:03}{check}",
        "*".repeat(NUMBER_LEN - 2 * SHOWN),
        tail / 11
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{KeyId, SecretKey};

    /// The business view of the sample licence under `name`, encoded as the issuer would
    /// encode it (the encoder does not judge the name: the issuer validated the licence).
    fn encoded_with_name(name: &str) -> Vec<u8> {
        let today = time::macros::date!(2026 - 06 - 01);
        let header = ViewHeader {
            kid: KeyId(1),
            device_key: SecretKey::from_seed([3; 32]).public(),
            issued_at: 1_780_000_000,
            ttl_hours: 72,
            status_index: 7,
        };
        let mut view =
            BusinessView::from_licence(header, &crate::licence::fixtures::sample_licence(today))
                .unwrap();
        view.name = name.to_owned();
        view.encode().unwrap()
    }

    /// The name a verifier's screen shows follows the licence's own rule on decode, as the
    /// enforcement view's whole licence does (the CLI's review, left open in D140; D145):
    /// a name that is blank or holds a character that does not show as itself (a line
    /// break, a right-to-left override) is refused, not shown.
    #[test]
    fn a_business_name_that_the_licence_rules_refuse_does_not_decode() {
        let good = encoded_with_name("张三");
        assert_eq!(BusinessView::decode(&good).unwrap().name, "张三");
        for bad in [
            "   ",
            "张三\n✓ 在有效期内",
            "\u{202E}三张",
            "Zhang\u{1b}[2J",
        ] {
            assert!(
                matches!(
                    BusinessView::decode(&encoded_with_name(bad)),
                    Err(CredentialError::Malformed(DecodeError::BadValue("name")))
                ),
                "{bad:?} decoded"
            );
        }
    }

    #[test]
    fn masked_number_keeps_four_characters_at_each_end() {
        assert_eq!(mask("110101199003071234").unwrap(), "1101**********1234");
        assert_eq!(mask("11010119900307123X").unwrap(), "1101**********123X");
        assert!(mask("1234").is_err());
    }

    #[test]
    fn masked_number_packs_into_four_bytes_and_back() {
        for n in [
            "1101**********1234",
            "0000**********000X",
            "9999**********9999",
            "4403**********0010",
        ] {
            assert_eq!(unpack_masked(pack_masked(n).unwrap()).unwrap(), n);
        }
        assert!(pack_masked("11a1**********1234").is_err());
        assert!(unpack_masked([0xff, 0xff, 0, 0]).is_err());
        assert!(unpack_masked([0, 0, 0xff, 0xff]).is_err());
    }
}
