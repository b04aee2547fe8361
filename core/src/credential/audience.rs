//! Who a view or presentation is meant for.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The audience a view is signed for and a presentation is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Audience {
    /// Police and traffic enforcement: both pages in full.
    Enforcement,
    /// Insurers, rental firms, employers: name, photo digest, classes, validity,
    /// status and a masked licence number only.
    Business,
}

impl Audience {
    /// Both audiences, widest first.
    pub const ALL: [Audience; 2] = [Audience::Enforcement, Audience::Business];

    /// The 1-bit wire code (see `docs/PROTOCOL.md`).
    pub const fn code(self) -> u8 {
        match self {
            Audience::Enforcement => 0,
            Audience::Business => 1,
        }
    }

    /// Inverse of [`Audience::code`].
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Audience::Enforcement),
            1 => Some(Audience::Business),
            _ => None,
        }
    }

    /// The narrower of two audiences: what a verifier gets when the driver chose one
    /// audience and the verifier's own class allows another.
    pub fn narrower(self, other: Audience) -> Audience {
        if self == Audience::Business || other == Audience::Business {
            Audience::Business
        } else {
            Audience::Enforcement
        }
    }

    /// Lower-case name, as in the JSON API and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Audience::Enforcement => "enforcement",
            Audience::Business => "business",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Audience {
    type Err = super::CredentialError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforcement" => Ok(Audience::Enforcement),
            "business" => Ok(Audience::Business),
            _ => Err(super::CredentialError::UnknownAudience),
        }
    }
}

/// The id of one issued e-licence. A renewal, a new device or a counter issuance gets a
/// new id, so the old e-licence stops verifying online at once; a credential re-signed
/// after a status or points change keeps the id (and its codes keep working).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ElicenceId(pub u64);

impl fmt::Display for ElicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrower_audience_wins() {
        use Audience::*;
        assert_eq!(Enforcement.narrower(Enforcement), Enforcement);
        assert_eq!(Enforcement.narrower(Business), Business);
        assert_eq!(Business.narrower(Enforcement), Business);
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_none() {
        for a in Audience::ALL {
            assert_eq!(Audience::from_code(a.code()), Some(a));
            assert_eq!(a.as_str().parse::<Audience>().unwrap(), a);
        }
        assert_eq!(Audience::from_code(2), None);
    }
}
