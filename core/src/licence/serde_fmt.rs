//! The serde representation of licence data, chosen so the JSON reads as a person expects:
//! dates as "2028-03-07", the generation time as RFC 3339 in UTC, the photo digest as
//! lowercase hex, classes as "C1 D" and a status as its letters ("A", "DM").
//!
//! `time`'s own serde form for dates is a `[year, ordinal]` pair, hence the `with` modules.
//! Deserialising is strict (one spelling per value) and reports which kind of value was
//! malformed, never the value itself.

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{self, Serialize, Serializer};

use super::class::ClassSet;
use super::status::LicenceStatus;

/// `serde(with)` module for a [`time::Date`] as "YYYY-MM-DD".
pub mod date {
    use super::*;
    use time::Date;
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;

    const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

    /// Writes the date as "YYYY-MM-DD".
    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date
            .format(FORMAT)
            .map_err(|_| ser::Error::custom("date cannot be written as YYYY-MM-DD"))?;
        serializer.serialize_str(&text)
    }

    /// Reads a date written exactly as "YYYY-MM-DD".
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| de::Error::custom("invalid date, expected YYYY-MM-DD"))
    }

    /// Parses "YYYY-MM-DD" and nothing else (no sign, no extra digits).
    pub(crate) fn parse(text: &str) -> Option<Date> {
        if text.len() != 10 {
            return None;
        }
        Date::parse(text, FORMAT).ok()
    }
}

/// `serde(with)` module for a [`time::OffsetDateTime`] as RFC 3339, always written in UTC.
pub mod rfc3339_utc {
    use super::*;
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcOffset};

    /// Writes the instant in UTC, e.g. "2026-11-25T08:30:00Z".
    pub fn serialize<S: Serializer>(
        value: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = value
            .checked_to_offset(UtcOffset::UTC)
            .and_then(|utc| utc.format(&Rfc3339).ok())
            .ok_or_else(|| ser::Error::custom("time cannot be written as RFC 3339"))?;
        serializer.serialize_str(&text)
    }

    /// Reads an RFC 3339 time with any offset and converts it to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .ok()
            .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
            .ok_or_else(|| de::Error::custom("invalid time, expected RFC 3339"))
    }
}

/// `serde(with)` module for a SHA-256 digest as 64 lowercase hex digits.
pub mod hex32 {
    use super::*;

    /// Writes the digest as 64 lowercase hex digits.
    pub fn serialize<S: Serializer>(digest: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(digest))
    }

    /// Reads exactly 64 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text)
            .ok_or_else(|| de::Error::custom("invalid digest, expected 64 lowercase hex digits"))
    }

    /// Lowercase hex of `bytes`.
    pub(crate) fn encode(bytes: &[u8; 32]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        bytes
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
            .map(char::from)
            .collect()
    }

    /// The bytes of 64 lowercase hex digits; upper case is refused so each digest has one
    /// spelling.
    pub(crate) fn decode(text: &str) -> Option<[u8; 32]> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(out)
    }
}

impl Serialize for ClassSet {
    /// The [`Display`](std::fmt::Display) form, e.g. "C1 D".
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClassSet {
    /// Any form [`ClassSet`]'s `FromStr` accepts ("C1 D", "C1D", "C1,D").
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for LicenceStatus {
    /// The canonical letters, e.g. "A" or "DM".
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.letters())
    }
}

impl<'de> Deserialize<'de> for LicenceStatus {
    /// Canonical letters only (see [`LicenceStatus::from_letters`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LicenceStatus::from_letters(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::test_value::{Value, from_value, to_value};
    use time::macros::{date, datetime};
    use time::{Date, OffsetDateTime};

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Dated {
        #[serde(with = "date")]
        day: Date,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Stamped {
        #[serde(with = "rfc3339_utc")]
        at: OffsetDateTime,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Digest {
        #[serde(with = "hex32")]
        digest: [u8; 32],
    }

    fn field(value: &Value) -> &Value {
        match value {
            Value::Map(fields) => &fields[0].1,
            other => panic!("expected a struct, got {other:?}"),
        }
    }

    fn one_field_struct(name: &str, text: &str) -> Value {
        Value::Map(vec![(name.into(), Value::Str(text.into()))])
    }

    #[test]
    fn dates_are_year_month_day_strings() {
        let value = to_value(&Dated {
            day: date!(2028 - 03 - 07),
        })
        .unwrap();
        assert_eq!(field(&value), &Value::Str("2028-03-07".into()));
        assert_eq!(
            from_value::<Dated>(value).unwrap().day,
            date!(2028 - 03 - 07)
        );
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "2028-3-7",
            "2028-02-30",
            "+2028-03-07",
            "28-03-07",
            "2028/03/07",
            "",
            "2028-03-07T00:00:00Z",
        ] {
            assert!(
                from_value::<Dated>(one_field_struct("day", bad)).is_err(),
                "{bad}"
            );
        }
        assert!(
            from_value::<Dated>(Value::Map(vec![("day".into(), Value::U64(20280307))])).is_err()
        );
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        let beijing = datetime!(2026-11-25 16:30:00 +08:00);
        let value = to_value(&Stamped { at: beijing }).unwrap();
        assert_eq!(field(&value), &Value::Str("2026-11-25T08:30:00Z".into()));
        let back: Stamped =
            from_value(one_field_struct("at", "2026-11-25T16:30:00+08:00")).unwrap();
        assert_eq!(back.at, beijing);
        assert_eq!(back.at.offset(), time::UtcOffset::UTC);
        assert!(from_value::<Stamped>(one_field_struct("at", "2026-11-25 08:30")).is_err());
    }

    #[test]
    fn digests_are_lowercase_hex() {
        let mut digest = [0u8; 32];
        digest[0] = 0xab;
        digest[31] = 0x0f;
        let value = to_value(&Digest { digest }).unwrap();
        let expected = format!("ab{}0f", "0".repeat(60));
        assert_eq!(field(&value), &Value::Str(expected.clone()));
        assert_eq!(from_value::<Digest>(value).unwrap().digest, digest);
        assert!(
            from_value::<Digest>(one_field_struct("digest", &expected.to_uppercase())).is_err()
        );
        assert!(from_value::<Digest>(one_field_struct("digest", &expected[..62])).is_err());
        assert!(
            from_value::<Digest>(one_field_struct("digest", &format!("{expected}00"))).is_err()
        );
        let non_ascii = format!("é{}", &expected[2..]);
        assert!(from_value::<Digest>(one_field_struct("digest", &non_ascii)).is_err());
    }

    #[test]
    fn class_sets_and_statuses_are_strings() {
        let classes: ClassSet = "C1D".parse().unwrap();
        assert_eq!(to_value(&classes).unwrap(), Value::Str("C1 D".into()));
        assert_eq!(
            from_value::<ClassSet>(Value::Str("C1,D".into())),
            Ok(classes)
        );
        assert!(from_value::<ClassSet>(Value::Str("C9".into())).is_err());

        let status = LicenceStatus::from_letters("DM").unwrap();
        assert_eq!(to_value(&status).unwrap(), Value::Str("DM".into()));
        assert_eq!(
            from_value::<LicenceStatus>(Value::Str("DM".into())),
            Ok(status)
        );
        assert!(from_value::<LicenceStatus>(Value::Str("AD".into())).is_err());
        assert_eq!(
            to_value(&LicenceStatus::normal()).unwrap(),
            Value::Str("A".into())
        );
    }
}
