//! Small types several endpoints share.

use serde::{Deserialize, Serialize};

use crate::credential::Audience;

/// A verifier's kind of business, fixed when its account is made. It decides the widest
/// audience the verifier may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerifierClass {
    /// Police and traffic enforcement terminals.
    Enforcement,
    /// Insurance companies.
    Insurer,
    /// Car-rental firms.
    Rental,
    /// Employers checking a driver's qualification.
    Employer,
}

impl VerifierClass {
    /// Every class.
    pub const ALL: [VerifierClass; 4] = [
        VerifierClass::Enforcement,
        VerifierClass::Insurer,
        VerifierClass::Rental,
        VerifierClass::Employer,
    ];

    /// The widest audience this class may see: businesses get the qualification view.
    pub fn audience(self) -> Audience {
        match self {
            VerifierClass::Enforcement => Audience::Enforcement,
            VerifierClass::Insurer | VerifierClass::Rental | VerifierClass::Employer => {
                Audience::Business
            }
        }
    }

    /// Lower-case name, as in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            VerifierClass::Enforcement => "enforcement",
            VerifierClass::Insurer => "insurer",
            VerifierClass::Rental => "rental",
            VerifierClass::Employer => "employer",
        }
    }

    /// Inverse of [`VerifierClass::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// An e-licence id in JSON: the 20-digit decimal string printed in the barcode.
///
/// A string, not a number, because JavaScript numbers lose integers above 2^53.
pub mod elicence_id {
    use serde::de::{self, Deserializer};
    use serde::{Deserialize, Serializer};

    use crate::credential::ElicenceId;

    /// Writes the id as its 20 digits.
    pub fn serialize<S: Serializer>(id: &ElicenceId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    /// Reads 1 to 20 decimal digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ElicenceId, D::Error> {
        // An owned string: JSON may escape digits, which a borrowed `&str` cannot carry.
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| de::Error::custom("e-licence id must be 1 to 20 digits"))
    }

    /// Parses 1 to 20 decimal digits that fit a u64.
    pub fn parse(text: &str) -> Option<ElicenceId> {
        if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(ElicenceId)
    }
}

/// `serde(with)` module for an optional date as "YYYY-MM-DD" or `null`.
pub mod option_date {
    use serde::de::Deserializer;
    use serde::{Deserialize, Serializer};
    use time::Date;

    use crate::licence::serde_fmt;

    /// Writes the date as "YYYY-MM-DD", or `null`.
    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => serde_fmt::date::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads "YYYY-MM-DD" or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "serde_fmt::date")] Date);
        Option::<Wrapped>::deserialize(deserializer).map(|o| o.map(|Wrapped(d)| d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::ElicenceId;

    #[test]
    fn business_classes_see_the_business_view() {
        assert_eq!(VerifierClass::Enforcement.audience(), Audience::Enforcement);
        for c in [
            VerifierClass::Insurer,
            VerifierClass::Rental,
            VerifierClass::Employer,
        ] {
            assert_eq!(c.audience(), Audience::Business);
        }
        for c in VerifierClass::ALL {
            assert_eq!(VerifierClass::from_name(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
    }

    #[test]
    fn elicence_ids_are_twenty_digit_strings() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "elicence_id")]
            id: ElicenceId,
        }
        let t = T {
            id: ElicenceId(u64::MAX),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"id":"18446744073709551615"}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<T>(r#"{"id":"00000000000000000042"}"#).unwrap(),
            T { id: ElicenceId(42) }
        );
        for bad in [
            r#"{"id":42}"#,
            r#"{"id":"18446744073709551616"}"#,
            r#"{"id":"-1"}"#,
            r#"{"id":""}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
