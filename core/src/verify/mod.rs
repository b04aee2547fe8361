//! The verifier's side: offline checks against the trust list, and the parsing and
//! code checks of online requests (which the authority runs).

mod offline;
mod online;
mod policy;

pub use offline::{Rejection, Verified, verify_offline};
pub use online::{CodeRejection, OnlineCheck, check_code};
pub use policy::{DEFAULT_SKEW, Policy};

/// The calendar date in China (UTC+8) at unix time `now`: validity dates on a licence
/// are Beijing dates.
pub fn china_date(now: u64) -> time::Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).expect("valid offset");
    let secs = i64::try_from(now)
        .unwrap_or(i64::MAX)
        .min(253_402_300_799 - 8 * 3600);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .expect("clamped into the supported range")
        .to_offset(offset)
        .date()
}
