//! The authority's clock as the wallet reads it from its answers: each exchange on its
//! own, and of several the one with the shortest round trip.
//!
//! A reading's error is at most half its round trip, so a reading is taken from one
//! request's send and its answer alone: measured across a whole sync (a slow first
//! attempt, its retry, many pages), half of everything before the last answer was added to
//! the wallet's clock, which then presented codes from a later window until the next sync
//! (twenty-sixth review, AG-F1).

/// The authority's clock against the phone's, read from one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClockReading {
    /// Authority clock minus phone clock, in whole seconds (rounded).
    pub offset: i64,
    /// Milliseconds from the request's send to its answer: twice the reading's error
    /// bound.
    round_trip_ms: u64,
}

impl ClockReading {
    /// The reading of an answer stamped `server_time` (unix seconds, the authority's)
    /// to a request sent at `sent_ms` and answered at `answered_ms` (the phone's unix
    /// milliseconds). The authority read its clock somewhere in between, taken as the
    /// middle; its whole second began at most a second before it stamped it, so the
    /// middle of that second is compared.
    pub fn of(server_time: u64, sent_ms: u64, answered_ms: u64) -> Self {
        let local_ms = i128::from(sent_ms.midpoint(answered_ms.max(sent_ms)));
        let server_ms = i128::from(server_time) * 1000 + 500;
        let offset = (server_ms - local_ms + 500).div_euclid(1000);
        ClockReading {
            offset: i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX }),
            round_trip_ms: answered_ms.saturating_sub(sent_ms),
        }
    }

    /// This reading or `other`, whichever had the shorter round trip (the nearer bound).
    pub fn or_better(self, other: Option<ClockReading>) -> ClockReading {
        match other {
            Some(o) if o.round_trip_ms < self.round_trip_ms => o,
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_796_000_000;

    #[test]
    fn a_quick_exchange_with_a_clock_in_step_reads_no_offset() {
        assert_eq!(
            ClockReading::of(T, T * 1000 + 100, T * 1000 + 140).offset,
            0
        );
        assert_eq!(
            ClockReading::of(T, T * 1000 + 900, T * 1000 + 960).offset,
            0
        );
    }

    #[test]
    fn a_phone_behind_or_ahead_reads_the_difference() {
        assert_eq!(
            ClockReading::of(T + 40, T * 1000 + 300, T * 1000 + 380).offset,
            40
        );
        assert_eq!(
            ClockReading::of(T - 7, T * 1000 + 300, T * 1000 + 380).offset,
            -7
        );
    }

    #[test]
    fn the_shorter_round_trip_is_kept() {
        let slow = ClockReading::of(T + 10, T * 1000, (T + 21) * 1000);
        let quick = ClockReading::of(T + 20, (T + 20) * 1000 + 100, (T + 20) * 1000 + 150);
        assert_eq!(slow.offset, 0);
        assert_eq!(slow.or_better(Some(quick)), quick);
        assert_eq!(quick.or_better(Some(slow)), quick);
        assert_eq!(quick.or_better(None), quick);
    }

    #[test]
    fn times_at_the_ends_of_the_range_do_not_overflow() {
        let r = ClockReading::of(u64::MAX, 0, 0);
        assert!(r.offset > 0);
        let r = ClockReading::of(0, u64::MAX, 0);
        assert!(r.offset < 0);
    }
}
