//! The driving record and the scoring cycle (记分周期).
//!
//! Under 《道路交通安全违法行为记分管理办法》 a cycle is twelve months counted from the date the
//! licence was first issued, and reaching 12 points in one cycle triggers 满分教育.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::error::LicenceError;
use super::serde_fmt;

/// Points at which a driver has reached the limit of a scoring cycle (满分).
pub const POINTS_LIMIT: u8 = 12;

/// One entry of the driving record: an offence and how it was penalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordEntry {
    /// Day of the offence.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    /// Where it happened, e.g. "北京市朝阳区建国路".
    pub place: String,
    /// The offence as worded in the penalty decision.
    pub act: String,
    /// Points imposed (at most [`POINTS_LIMIT`] for one offence).
    pub points: u8,
    /// Fine in whole yuan.
    pub fine_yuan: u32,
    /// Whether the penalty has been dealt with (处理, fine paid or decision accepted).
    pub handled: bool,
}

/// One scoring cycle and the points counted in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointsCycle {
    /// First day of the cycle (an anniversary of the first issue date).
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub start: Date,
    /// Last day of the cycle, inclusive: the day before the next anniversary.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub end: Date,
    /// Points counted in the cycle.
    pub points: u8,
}

impl PointsCycle {
    /// The first and last day of the cycle containing `day`, for a licence first issued on
    /// `first_issue`.
    ///
    /// A licence first issued on 29 February has its anniversary on 1 March in common years,
    /// so a cycle still ends on the last day of February, as a period counted in months does
    /// under the Civil Code. Neither regulation spells this case out.
    pub fn bounds_containing(first_issue: Date, day: Date) -> Result<(Date, Date), LicenceError> {
        if day < first_issue {
            return Err(LicenceError::BeforeFirstIssue);
        }
        let mut year = day.year();
        let mut start = anniversary(first_issue, year)?;
        if start > day {
            year -= 1;
            start = anniversary(first_issue, year)?;
        }
        let end = anniversary(first_issue, year + 1)?
            .previous_day()
            .ok_or(LicenceError::DateOutOfRange)?;
        Ok((start, end))
    }

    /// The cycle containing `today`, with the points of the entries of `record` that fall in
    /// it.
    pub fn containing(
        first_issue: Date,
        today: Date,
        record: &[RecordEntry],
    ) -> Result<Self, LicenceError> {
        let (start, end) = Self::bounds_containing(first_issue, today)?;
        let mut cycle = Self {
            start,
            end,
            points: 0,
        };
        cycle.points = cycle.points_in(record)?;
        Ok(cycle)
    }

    /// The cycle to show on `today` for a licence sent with this one: this one until it
    /// ends, then the cycle containing `today` with the points of `record` in it. A cycle
    /// turns at its anniversary whether or not the licence was sent again since (AO-SY4);
    /// only forward, so a clock behind keeps the cycle sent. Unchanged if the new one
    /// cannot be computed (a date out of range).
    pub fn as_of(self, first_issue: Date, today: Date, record: &[RecordEntry]) -> Self {
        if today <= self.end {
            return self;
        }
        Self::containing(first_issue, today, record).unwrap_or(self)
    }

    /// Whether `day` falls in the cycle.
    pub fn contains(&self, day: Date) -> bool {
        self.start <= day && day <= self.end
    }

    /// Sum of the points of the entries dated within the cycle, whether dealt with or not:
    /// the record lists what the authority has scored, and an entry's `handled` flag is
    /// about the fine. Fails rather than wraps when the sum exceeds 255.
    pub fn points_in(&self, record: &[RecordEntry]) -> Result<u8, LicenceError> {
        let total: u32 = record
            .iter()
            .filter(|entry| self.contains(entry.date))
            .map(|entry| u32::from(entry.points))
            .sum();
        u8::try_from(total).map_err(|_| LicenceError::PointsOverflow)
    }

    /// Points left before the limit; 0 once it is reached.
    pub fn remaining(&self) -> u8 {
        POINTS_LIMIT.saturating_sub(self.points)
    }

    /// Whether the cycle has reached [`POINTS_LIMIT`] (满分).
    pub fn reached_limit(&self) -> bool {
        self.points >= POINTS_LIMIT
    }
}

/// The anniversary of `first_issue` in `year`; 29 February becomes 1 March in common years.
fn anniversary(first_issue: Date, year: i32) -> Result<Date, LicenceError> {
    let (month, day) = if first_issue.month() == Month::February
        && first_issue.day() == 29
        && !time::util::is_leap_year(year)
    {
        (Month::March, 1)
    } else {
        (first_issue.month(), first_issue.day())
    };
    Date::from_calendar_date(year, month, day).map_err(|_| LicenceError::DateOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn entry(date: Date, points: u8, handled: bool) -> RecordEntry {
        RecordEntry {
            date,
            place: "北京市朝阳区建国路".into(),
            act: "驾驶机动车违反道路交通信号灯通行的".into(),
            points,
            fine_yuan: 200,
            handled,
        }
    }

    #[test]
    fn a_cycle_turns_at_its_anniversary_without_the_licence_sent_again() {
        let first = date!(2012 - 03 - 07);
        let record = [
            entry(date!(2026 - 02 - 10), 3, true),
            entry(date!(2026 - 03 - 08), 2, false),
        ];
        let sent = PointsCycle::containing(first, date!(2026 - 03 - 01), &record[..1]).unwrap();
        assert_eq!(sent.points, 3);
        // Still in the cycle sent, or a clock behind it: as sent.
        assert_eq!(
            sent.clone().as_of(first, date!(2026 - 03 - 06), &record),
            sent
        );
        assert_eq!(
            sent.clone().as_of(first, date!(2025 - 12 - 01), &record),
            sent
        );
        // The anniversary: the new cycle, with the points of its own entries only (the 2
        // of 8 March, not February's 3).
        let turned = sent.as_of(first, date!(2026 - 03 - 07), &record);
        assert_eq!(
            (turned.start, turned.end, turned.points),
            (date!(2026 - 03 - 07), date!(2027 - 03 - 06), 2)
        );
        let later = turned.as_of(first, date!(2027 - 03 - 10), &record);
        assert_eq!(later.start, date!(2027 - 03 - 07));
    }

    #[test]
    fn cycle_runs_from_first_issue_anniversary_to_the_day_before_the_next() {
        let first = date!(2012 - 03 - 07);
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2026 - 06 - 01)),
            Ok((date!(2026 - 03 - 07), date!(2027 - 03 - 06)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2026 - 03 - 06)),
            Ok((date!(2025 - 03 - 07), date!(2026 - 03 - 06)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2026 - 03 - 07)),
            Ok((date!(2026 - 03 - 07), date!(2027 - 03 - 06)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, first),
            Ok((first, date!(2013 - 03 - 06)))
        );
    }

    #[test]
    fn no_cycle_before_first_issue() {
        assert_eq!(
            PointsCycle::bounds_containing(date!(2012 - 03 - 07), date!(2012 - 03 - 06)),
            Err(LicenceError::BeforeFirstIssue)
        );
    }

    #[test]
    fn leap_day_first_issue_cycles_end_on_the_last_day_of_february() {
        let first = date!(2024 - 02 - 29);
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2024 - 12 - 01)),
            Ok((first, date!(2025 - 02 - 28)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2025 - 03 - 01)),
            Ok((date!(2025 - 03 - 01), date!(2026 - 02 - 28)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2028 - 02 - 29)),
            Ok((date!(2028 - 02 - 29), date!(2029 - 02 - 28)))
        );
        assert_eq!(
            PointsCycle::bounds_containing(first, date!(2028 - 02 - 28)),
            Ok((date!(2027 - 03 - 01), date!(2028 - 02 - 28)))
        );
    }

    #[test]
    fn extreme_dates_fail_instead_of_panicking() {
        assert_eq!(
            PointsCycle::bounds_containing(Date::MIN, Date::MAX),
            Err(LicenceError::DateOutOfRange)
        );
    }

    #[test]
    fn points_count_entries_inside_the_cycle_only() {
        let record = [
            entry(date!(2026 - 05 - 12), 6, true),
            entry(date!(2026 - 04 - 02), 3, true),
            entry(date!(2026 - 03 - 06), 12, true), // previous cycle
            entry(date!(2026 - 07 - 01), 1, false), // not yet dealt with, still scored
        ];
        let cycle =
            PointsCycle::containing(date!(2012 - 03 - 07), date!(2026 - 08 - 01), &record).unwrap();
        assert_eq!(cycle.points, 10);
        assert_eq!(cycle.remaining(), 2);
        assert!(!cycle.reached_limit());
    }

    #[test]
    fn reaching_twelve_points_is_the_limit() {
        let record = [
            entry(date!(2026 - 05 - 12), 6, true),
            entry(date!(2026 - 05 - 13), 6, true),
        ];
        let cycle =
            PointsCycle::containing(date!(2012 - 03 - 07), date!(2026 - 06 - 01), &record).unwrap();
        assert!(cycle.reached_limit());
        assert_eq!(cycle.remaining(), 0);
    }

    #[test]
    fn a_sum_over_255_is_an_error_not_a_wrap() {
        let record: Vec<_> = (0..22)
            .map(|_| entry(date!(2026 - 05 - 12), 12, true))
            .collect();
        assert_eq!(
            PointsCycle::containing(date!(2012 - 03 - 07), date!(2026 - 06 - 01), &record),
            Err(LicenceError::PointsOverflow)
        );
    }
}
