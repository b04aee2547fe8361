//! The verifier's side: offline checks against the trust list, and the parsing and
//! code checks of online requests (which the authority runs).

mod anchored;
mod offline;
mod online;
mod policy;

pub use anchored::{
    AnchoredRejection, LIVE_STATUS_MAX_AGE, OfflineTrust, OwnStatus, StatusListRefusal,
    StatusListSummary, TrustListSummary, check_live_status, live_skew, root_key_from_text,
    root_key_to_text,
};
pub use offline::{Rejection, StatusCheck, Verified, verify_offline, verify_offline_with_status};
pub use online::{CodeRejection, FAST_CLOCK_SKEW, OnlineCheck, check_code, past_window};
pub use policy::{DEFAULT_SKEW, Policy, StaleStatus};

/// The calendar date in China (UTC+8) at unix time `now`: validity dates on a licence
/// are Beijing dates. The same as [`crate::licence::beijing::date`].
pub fn china_date(now: u64) -> time::Date {
    crate::licence::beijing::date(now)
}
