//! Beijing time (UTC+8, no daylight saving), defined once: licence dates, the points
//! cycle, review deadlines and the times shown to people are all Beijing time.

use time::macros::offset;
use time::{Date, OffsetDateTime, UtcOffset};

/// China Standard Time, UTC+8 all year.
pub const BEIJING: UtcOffset = offset!(+8);

/// The last second `time` can represent in Beijing time (9999-12-31 23:59:59 +08:00):
/// later unix times are clamped to it instead of failing.
const LAST: i64 = 253_402_300_799 - 8 * 3600;

/// Unix seconds `now` as a Beijing date and time (clamped to year 9999).
pub fn at(now: u64) -> OffsetDateTime {
    let secs = i64::try_from(now).unwrap_or(i64::MAX).min(LAST);
    OffsetDateTime::from_unix_timestamp(secs)
        .expect("clamped into the supported range")
        .to_offset(BEIJING)
}

/// The calendar date in China at unix time `now`: validity dates on a licence are
/// Beijing dates.
pub fn date(now: u64) -> Date {
    at(now).date()
}

/// Unix seconds as Beijing time for people: `2026-11-24 11:00:05`.
pub fn format(now: u64) -> String {
    let t = at(now);
    format!(
        "{} {:02}:{:02}:{:02}",
        t.date(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        assert_eq!(format(1_795_489_205), "2026-11-24 11:00:05");
        assert_eq!(format(0), "1970-01-01 08:00:00");
        // 16:00 UTC is already the next day in Beijing.
        assert_eq!(date(16 * 3600), date!(1970 - 01 - 02));
    }

    #[test]
    fn times_past_year_9999_are_clamped_not_panics() {
        assert_eq!(date(u64::MAX), date!(9999 - 12 - 31));
        assert_eq!(format(u64::MAX), "9999-12-31 23:59:59");
    }
}
