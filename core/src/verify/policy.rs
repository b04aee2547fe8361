//! What a verifier accepts.

use crate::credential::Audience;
use crate::present::MIN_PERIOD;

/// Default clock skew tolerated between the phone and the verifier, in seconds.
pub const DEFAULT_SKEW: u32 = 5;

/// What a verifier does when its status list is stale (older than its time-to-live) or
/// does not cover the e-licence presented: the signatures hold, the status is unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StaleStatus {
    /// Accept, marked "status unknown: check online" (the default: a roadside check
    /// without a network still sees a valid signature and the status signed into the
    /// credential, at most 72 h old).
    #[default]
    Accept,
    /// Refuse with [`crate::verify::Rejection::StatusUnknown`].
    Refuse,
}

/// A verifier's acceptance policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The audience this verifier is: a payload for another audience is refused (a
    /// rental firm must not process an enforcement view; police ask for theirs).
    pub audience: Audience,
    /// What an unknown status (a stale status list) becomes.
    pub stale_status: StaleStatus,
    skew: u32,
}

impl Policy {
    /// A policy for `audience` with the default skew.
    pub fn new(audience: Audience) -> Self {
        Policy {
            audience,
            stale_status: StaleStatus::default(),
            skew: DEFAULT_SKEW,
        }
    }

    /// Sets the tolerated skew, capped below the shortest period so that a payload two
    /// windows old is always refused.
    pub fn with_skew(mut self, skew: u32) -> Self {
        self.skew = skew.min(MIN_PERIOD - 1);
        self
    }

    /// Sets what an unknown status becomes.
    pub fn with_stale_status(mut self, stale_status: StaleStatus) -> Self {
        self.stale_status = stale_status;
        self
    }

    /// The tolerated skew in seconds.
    pub fn skew(&self) -> u32 {
        self.skew
    }
}
