//! [`LicenceStatus`]: the set of codes a licence carries, in its one canonical form, and the
//! [`StatusColour`] the e-licence shows it in.

use std::fmt;

use super::code::StatusCode::{self, Normal};
use crate::licence::error::LicenceError;

/// How the e-licence shows a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StatusColour {
    /// Status normal: shown in black.
    Black,
    /// Shown in red: the licence exists but carries a code a driver or verifier must notice,
    /// whether or not it forbids driving (see [`LicenceStatus::may_drive`]).
    Red,
    /// Not shown at all: the licence has ceased to exist (annulled, revoked, cancelled,
    /// including cancelled-but-recoverable).
    Hidden,
}

/// The set of status codes a licence carries; normal (A) is the empty set.
///
/// Keeping "normal" as the absence of codes makes "A combined with D" unrepresentable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LicenceStatus(u32);

impl LicenceStatus {
    /// Bits that name a code other than A.
    pub(super) const VALID_BITS: u32 = {
        let mut bits = 0;
        let mut i = 1;
        while i < StatusCode::ALL.len() {
            bits |= 1 << StatusCode::ALL[i].bit();
            i += 1;
        }
        bits
    };

    /// A normal licence (A 正常).
    pub const fn normal() -> Self {
        Self(0)
    }

    /// Parses the letters as given by the authority, e.g. "A" or "DM".
    ///
    /// Accepts only the canonical form: upper-case letters, each once, in alphabetical
    /// order, and "A" only on its own. One status has exactly one string, so the string can be
    /// compared or signed as it stands.
    pub fn from_letters(letters: &str) -> Result<Self, LicenceError> {
        if letters.is_empty() {
            return Err(LicenceError::EmptyStatus);
        }
        let mut codes = Vec::new();
        for (at, letter) in letters.chars().enumerate() {
            let code = StatusCode::from_letter(letter)
                .map_err(|_| LicenceError::UnknownStatusLetter { at })?;
            codes.push(code);
        }
        if codes.contains(&Normal) {
            return if codes.len() == 1 {
                Ok(Self::normal())
            } else {
                Err(LicenceError::NormalWithOtherCodes)
            };
        }
        if codes.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(LicenceError::StatusNotCanonical);
        }
        Ok(codes.into_iter().collect())
    }

    /// The canonical letters: "A" when normal, else the codes in alphabetical order.
    pub fn letters(self) -> String {
        self.codes().map(StatusCode::letter).collect()
    }

    /// The codes, in letter order; just [`StatusCode::Normal`] when normal.
    pub fn codes(self) -> impl Iterator<Item = StatusCode> {
        let normal = self.is_normal();
        StatusCode::ALL
            .into_iter()
            .filter(move |code| self.contains(*code) || (normal && *code == Normal))
    }

    /// Whether the status includes `code`; [`StatusCode::Normal`] only when no other code
    /// applies.
    pub const fn contains(self, code: StatusCode) -> bool {
        match code {
            Normal => self.is_normal(),
            _ => self.0 & (1 << code.bit()) != 0,
        }
    }

    /// Adds `code`; returns whether the status changed.
    ///
    /// Inserting [`StatusCode::Normal`] changes nothing: normal is the absence of codes, not a
    /// code to add. Use [`normal`](Self::normal) to clear a status.
    pub fn insert(&mut self, code: StatusCode) -> bool {
        if code == Normal || self.contains(code) {
            return false;
        }
        self.0 |= 1 << code.bit();
        true
    }

    /// Removes `code`; returns whether the status changed. Removing the last code leaves the
    /// status normal.
    pub fn remove(&mut self, code: StatusCode) -> bool {
        if code == Normal || !self.contains(code) {
            return false;
        }
        self.0 &= !(1 << code.bit());
        true
    }

    /// Whether the status is A 正常.
    pub const fn is_normal(self) -> bool {
        self.0 == 0
    }

    /// The status's bitmask of [`StatusCode::bit`]s; 0 when normal.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The status with this bitmask. Rejects bit 0 (A is stored as no bits) and bits of
    /// letters that are not codes.
    pub const fn from_bits(bits: u32) -> Result<Self, LicenceError> {
        if bits & !Self::VALID_BITS == 0 {
            Ok(Self(bits))
        } else {
            Err(LicenceError::UnknownStatusBits)
        }
    }

    /// Whether the status alone lets the holder drive: no code forbids it (see
    /// [`StatusCode::forbids_driving`]). This ignores the validity date, and it is not
    /// whether this e-licence is in force (C: the holder drives on, the e-licence is
    /// superseded): a verifier decides on
    /// [`e_licence_eligibility`](crate::licence::e_licence_eligibility).
    pub fn may_drive(self) -> bool {
        self.codes().all(|code| !code.forbids_driving())
    }

    /// How the e-licence shows this status: black when normal, hidden when a code ends the
    /// licence, red for everything else, including codes that do not forbid driving (H, I, C),
    /// because they still need the holder's or a verifier's attention.
    pub fn colour(self) -> StatusColour {
        if self.is_normal() {
            StatusColour::Black
        } else if self.codes().any(StatusCode::ends_licence) {
            StatusColour::Hidden
        } else {
            StatusColour::Red
        }
    }

    /// The Chinese labels joined, e.g. "暂扣、逾期未换证".
    pub fn label_zh(self) -> String {
        self.codes()
            .map(StatusCode::label_zh)
            .collect::<Vec<_>>()
            .join("、")
    }

    /// The English labels joined, e.g. "Suspended, Renewal overdue".
    pub fn label_en(self) -> String {
        self.codes()
            .map(StatusCode::label_en)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl FromIterator<StatusCode> for LicenceStatus {
    /// Collects codes; [`StatusCode::Normal`] entries add nothing.
    fn from_iter<I: IntoIterator<Item = StatusCode>>(iter: I) -> Self {
        let mut status = Self::normal();
        for code in iter {
            status.insert(code);
        }
        status
    }
}

impl fmt::Display for LicenceStatus {
    /// The canonical letters, e.g. "A" or "DM".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for code in self.codes() {
            write!(f, "{}", code.letter())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LicenceStatus {
    type Err = LicenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_letters(s)
    }
}
