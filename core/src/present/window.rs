//! Time windows: every presentation is valid for one window of `period` seconds.

/// The default rotation period.
pub const DEFAULT_PERIOD: u32 = 30;
/// Shortest period a wallet may choose: shorter makes scanning a race.
pub const MIN_PERIOD: u32 = 10;
/// Longest period a wallet may choose (the payload carries it in one byte, and a code
/// that lives longer is easier to replay).
pub const MAX_PERIOD: u32 = 120;
/// Manual codes always use the default period, so the authority can check a typed code
/// without knowing how the wallet was configured.
pub const MANUAL_PERIOD: u32 = DEFAULT_PERIOD;

/// Window `index` of `period` seconds: valid from `index * period` (unix seconds) until
/// the next window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Length in seconds.
    pub period: u32,
    /// Number of whole periods since the unix epoch.
    pub index: u64,
}

impl Window {
    /// The window containing unix time `now`.
    pub fn at(now: u64, period: u32) -> Window {
        debug_assert!(period > 0);
        Window {
            period,
            index: now / u64::from(period),
        }
    }

    /// First second of the window. Saturating, like [`Window::ends_at`] and
    /// [`Window::accepts`]: a verifier's `now` comes from its caller, and a time near the
    /// end of `u64` must be refused, not overflow (a panic in a debug build).
    pub fn starts_at(&self) -> u64 {
        self.index.saturating_mul(u64::from(self.period))
    }

    /// First second after the window.
    pub fn ends_at(&self) -> u64 {
        self.starts_at().saturating_add(u64::from(self.period))
    }

    /// Seconds until the window ends (for the countdown), 0 once it has.
    pub fn seconds_left(&self, now: u64) -> u32 {
        self.ends_at()
            .saturating_sub(now)
            .min(u64::from(self.period)) as u32
    }

    /// The window whose index ends in `low` (the low byte carried in a payload) nearest
    /// to `now`: the verifier rebuilds the full index from the payload's byte and its own
    /// clock. A wrong guess cannot help an attacker: the device signature covers the
    /// full index.
    pub fn nearest_with_low_byte(now: u64, period: u32, low: u8) -> Window {
        let here = Window::at(now, period);
        let back = i64::from((here.index as u8).wrapping_sub(low) as i8);
        Window {
            period,
            index: here.index.saturating_add_signed(-back),
        }
    }

    /// Whether a payload of this window may be accepted at `now`: from `skew` seconds
    /// before the window starts until `skew` seconds after it ends. `skew` must be below
    /// the period, so a window two periods old is always refused.
    pub fn accepts(&self, now: u64, skew: u32) -> bool {
        let skew = u64::from(skew);
        now.saturating_add(skew) >= self.starts_at() && now < self.ends_at().saturating_add(skew)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_at_the_end_of_u64_neither_overflows_nor_is_accepted_late() {
        let w = Window::nearest_with_low_byte(u64::MAX, 30, 0);
        let _ = (w.starts_at(), w.ends_at(), w.seconds_left(u64::MAX));
        assert!(!Window::at(1_800_000_000, 30).accepts(u64::MAX, 5));
        assert!(!Window::at(u64::MAX - 40, 30).accepts(1_800_000_000, 5));
    }

    #[test]
    fn countdown_runs_to_the_end_of_the_window() {
        let w = Window::at(95, 30);
        assert_eq!((w.index, w.starts_at(), w.ends_at()), (3, 90, 120));
        assert_eq!(w.seconds_left(95), 25);
        assert_eq!(w.seconds_left(119), 1);
        assert_eq!(w.seconds_left(130), 0);
    }

    #[test]
    fn low_byte_is_resolved_to_the_nearest_window() {
        let now = 30 * 1000 + 5; // window 1000, low byte 0xE8
        assert_eq!(Window::nearest_with_low_byte(now, 30, 0xE8).index, 1000);
        assert_eq!(Window::nearest_with_low_byte(now, 30, 0xE7).index, 999);
        assert_eq!(Window::nearest_with_low_byte(now, 30, 0xE9).index, 1001);
        // Across the byte boundary.
        let now = 30 * 1024 + 1; // window 1024, low byte 0x00
        assert_eq!(Window::nearest_with_low_byte(now, 30, 0xFF).index, 1023);
    }

    #[test]
    fn accepts_within_skew_never_an_old_window() {
        let w = Window {
            period: 30,
            index: 10,
        }; // 300..330
        assert!(w.accepts(300, 5));
        assert!(w.accepts(329, 5));
        assert!(w.accepts(334, 5));
        assert!(!w.accepts(335, 5));
        assert!(w.accepts(295, 5));
        assert!(!w.accepts(294, 5));
        assert!(!w.accepts(360, 5));
    }
}
