//! Times, dates and quantities as the screens print them.

use time::Date;

use super::Bilingual;
use crate::codec::LONG_TERM;
use crate::licence::beijing;

/// Unix seconds as a Beijing date and time to the minute, `2026-12-04 18:00`: the review
/// deadline, messages and the verification log. Licence dates and the one-working-day
/// deadline are Beijing dates, so the phone's own zone is not used.
pub fn beijing_date_time(unix: u64) -> String {
    let t = beijing::at(unix);
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// Unix seconds as a Beijing time of day, `18:00:05`: the last-synced line.
pub fn beijing_time(unix: u64) -> String {
    let t = beijing::at(unix);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// The photo review's deadline as the photo screen says it: "审核截止 2026-12-04 18:00（北京时间）" /
/// "Review due by 2026-12-04 18:00 (Beijing time)". The deadline is a Beijing time, so the
/// sentence names the zone rather than leaving the driver to guess it (D109).
pub fn review_deadline(unix: u64) -> Bilingual {
    let at = beijing_date_time(unix);
    Bilingual::new(
        format!("审核截止 {at}（北京时间）"),
        format!("Review due by {at} (Beijing time)"),
    )
}

/// The scoring cycle's points as the supplementary page says them: "已记 3 分 / 12 分，剩余 9 分" /
/// "3 of 12 points recorded, 9 left". The numbers are the cycle's as the core counted them;
/// this only words them (D109).
pub fn points_recorded(points: u32, limit: u32, remaining: u32) -> Bilingual {
    let unit = |n: u32| if n == 1 { "point" } else { "points" };
    Bilingual::new(
        format!("已记 {points} 分 / {limit} 分，剩余 {remaining} 分"),
        format!(
            "{points} of {limit} {} recorded, {remaining} left",
            unit(limit)
        ),
    )
}

/// A countdown's seconds as `0:27` (minutes, then two-digit seconds).
pub fn countdown(seconds: u32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The validity's last day as printed on the licence: the ISO date, or 长期 ("Long-term")
/// for 9999-12-31, the codec's no-end date.
pub fn validity_end(valid_until: Date) -> Bilingual {
    if valid_until == LONG_TERM {
        Bilingual::new("长期", "Long-term")
    } else {
        let iso = valid_until.to_string();
        Bilingual::new(iso.clone(), iso)
    }
}

/// [`validity_end`] of an ISO 8601 date as the foreign API hands dates over
/// (`"9999-12-31"`); a text that is not such a date comes back as given.
pub fn validity_end_iso(valid_until: &str) -> Bilingual {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match Date::parse(valid_until, format) {
        Ok(date) => validity_end(date),
        Err(_) => Bilingual::new(valid_until, valid_until),
    }
}

/// How full the points bar is (0 to 1): the cycle's points over its limit, full at or over
/// the limit, empty for a limit of 0.
pub fn points_fraction(points: u32, limit: u32) -> f32 {
    if limit == 0 {
        return 0.0;
    }
    (points as f32 / limit as f32).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn times_are_beijing_times_whatever_the_zone() {
        // 2026-11-24 03:00:05 UTC.
        assert_eq!(beijing_date_time(1_795_489_205), "2026-11-24 11:00");
        assert_eq!(beijing_time(1_795_489_205), "11:00:05");
        // 16:30 UTC is already the next day in Beijing.
        assert_eq!(beijing_date_time(16 * 3600 + 1800), "1970-01-02 00:30");
        // Far future times are clamped rather than a panic.
        assert_eq!(beijing_date_time(u64::MAX), "9999-12-31 23:59");
    }

    #[test]
    fn the_review_deadline_names_beijing_time() {
        // 2026-11-24 03:00:05 UTC is 11:00 in Beijing.
        let due = review_deadline(1_795_489_205);
        assert_eq!(due.zh, "审核截止 2026-11-24 11:00（北京时间）");
        assert_eq!(due.en, "Review due by 2026-11-24 11:00 (Beijing time)");
    }

    #[test]
    fn the_points_sentence_gives_recorded_limit_and_left() {
        let line = points_recorded(3, 12, 9);
        assert_eq!(line.zh, "已记 3 分 / 12 分，剩余 9 分");
        assert_eq!(line.en, "3 of 12 points recorded, 9 left");
        let full = points_recorded(14, 12, 0);
        assert_eq!(full.zh, "已记 14 分 / 12 分，剩余 0 分");
        assert_eq!(full.en, "14 of 12 points recorded, 0 left");
    }

    #[test]
    fn countdowns_print_minutes_and_two_digit_seconds() {
        assert_eq!(countdown(27), "0:27");
        assert_eq!(countdown(5), "0:05");
        assert_eq!(countdown(60), "1:00");
        assert_eq!(countdown(0), "0:00");
    }

    #[test]
    fn a_licence_without_end_reads_long_term() {
        let end = validity_end(date!(9999 - 12 - 31));
        assert_eq!((end.zh.as_str(), end.en.as_str()), ("长期", "Long-term"));
        let dated = validity_end(date!(2030 - 03 - 07));
        assert_eq!(
            (dated.zh.as_str(), dated.en.as_str()),
            ("2030-03-07", "2030-03-07")
        );
    }

    #[test]
    fn the_points_bar_is_full_at_the_limit_and_never_beyond() {
        assert_eq!(points_fraction(3, 12), 0.25);
        assert_eq!(points_fraction(0, 12), 0.0);
        assert_eq!(points_fraction(12, 12), 1.0);
        assert_eq!(points_fraction(15, 12), 1.0);
        assert_eq!(points_fraction(5, 0), 0.0);
    }
}
