//! Errors for parsing and validating licence data.
//!
//! Messages name the field or the position that is wrong and never echo the value: a licence
//! holds personal data, and error messages end up in logs and crash reports.

use std::fmt;

/// A field of a [`Licence`](super::Licence), named in validation errors instead of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// 证号: the licence number.
    LicenceNumber,
    /// 姓名: the holder's name.
    Name,
    /// 国籍: the holder's nationality.
    Nationality,
    /// 准驾车型: the vehicle classes.
    Classes,
    /// 住址: the holder's address on the supplementary page.
    Address,
    /// 发证机关: the issuing authority.
    IssuingAuthority,
    /// The place of a record entry.
    RecordPlace,
    /// The act (offence) of a record entry.
    RecordAct,
    /// The points of a record entry.
    RecordPoints,
}

impl Field {
    /// The field's name as shown in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LicenceNumber => "licence number",
            Self::Name => "name",
            Self::Nationality => "nationality",
            Self::Classes => "vehicle classes",
            Self::Address => "address",
            Self::IssuingAuthority => "issuing authority",
            Self::RecordPlace => "record entry place",
            Self::RecordAct => "record entry act",
            Self::RecordPoints => "record entry points",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why licence data could not be parsed or is inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LicenceError {
    /// A vehicle class code is not one of the 17 codes of the regulation.
    #[error("unknown vehicle class code")]
    UnknownClassCode,
    /// A list of vehicle classes is malformed at the given byte offset.
    #[error("malformed vehicle class list at byte {at}")]
    MalformedClassList {
        /// Byte offset in the input where parsing stopped.
        at: usize,
    },
    /// A list of vehicle classes names the same class twice.
    #[error("vehicle class listed twice")]
    DuplicateClass,
    /// A class bitmask has bits set that name no class.
    #[error("vehicle class bitmask has unknown bits set")]
    UnknownClassBits,
    /// A status letter is not a known 驾驶证状态 code; `at` is its character index.
    #[error("unknown licence status letter at position {at}")]
    UnknownStatusLetter {
        /// Character index of the offending letter.
        at: usize,
    },
    /// A status string is empty; a normal licence is written "A".
    #[error("licence status is empty")]
    EmptyStatus,
    /// "A" (normal) appears together with other status codes.
    #[error("licence status combines normal (A) with other codes")]
    NormalWithOtherCodes,
    /// Status letters repeat or are not in alphabetical order, so the string is not the one
    /// canonical encoding of the status.
    #[error("licence status letters are repeated or out of order")]
    StatusNotCanonical,
    /// A status bitmask has bits set that name no code.
    #[error("licence status bitmask has unknown bits set")]
    UnknownStatusBits,
    /// A required text field is empty.
    #[error("{0} is empty")]
    Empty(Field),
    /// A text field is longer than its limit (in UTF-8 bytes).
    #[error("{field} is longer than {max} bytes")]
    TooLong {
        /// The field that is too long.
        field: Field,
        /// Its limit in bytes.
        max: usize,
    },
    /// A text field holds a control character or a bidirectional formatting character:
    /// text that would not be shown as it reads (a reversed name, a cut or split line).
    #[error("{0} holds a control or bidirectional formatting character")]
    HiddenCharacter(Field),
    /// The licence number is not 17 digits followed by a digit or 'X'.
    #[error("licence number is not 17 digits followed by a digit or X")]
    MalformedLicenceNumber,
    /// The validity period starts after it ends.
    #[error("validity starts after it ends")]
    ValidityReversed,
    /// The first issue date is after the start of the current validity period.
    #[error("first issue date is after the start of validity")]
    FirstIssueAfterValidity,
    /// The date of birth is not before the first issue date.
    #[error("date of birth is not before the first issue date")]
    BirthNotBeforeFirstIssue,
    /// A record entry carries more points than any single offence can.
    #[error("record entry {index} has more than 12 points")]
    EntryPointsTooHigh {
        /// Index of the entry in the record.
        index: usize,
    },
    /// The points of a scoring cycle add up to more than 255.
    #[error("points in the scoring cycle exceed 255")]
    PointsOverflow,
    /// The scoring cycle's dates are not the first-issue anniversaries they must be.
    #[error("scoring cycle does not start on a first-issue anniversary or has the wrong length")]
    CycleMisaligned,
    /// The scoring cycle's point total differs from the sum of its record entries.
    #[error("scoring cycle points differ from the sum of its record entries")]
    CyclePointsMismatch,
    /// A scoring cycle was asked for a day before the licence was first issued.
    #[error("date is before the first issue date")]
    BeforeFirstIssue,
    /// A date computation left the supported calendar range (years 1..=9999).
    #[error("date out of range")]
    DateOutOfRange,
}
