//! What a verifier accepts.

use crate::credential::Audience;
use crate::present::MIN_PERIOD;

/// Default clock skew tolerated between the phone and the verifier, in seconds.
pub const DEFAULT_SKEW: u32 = 5;

/// A verifier's acceptance policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The audience this verifier is: a payload for another audience is refused (a
    /// rental firm must not process an enforcement view; police ask for theirs).
    pub audience: Audience,
    skew: u32,
}

impl Policy {
    /// A policy for `audience` with the default skew.
    pub fn new(audience: Audience) -> Self {
        Policy {
            audience,
            skew: DEFAULT_SKEW,
        }
    }

    /// Sets the tolerated skew, capped below the shortest period so that a payload two
    /// windows old is always refused.
    pub fn with_skew(mut self, skew: u32) -> Self {
        self.skew = skew.min(MIN_PERIOD - 1);
        self
    }

    /// The tolerated skew in seconds.
    pub fn skew(&self) -> u32 {
        self.skew
    }
}
