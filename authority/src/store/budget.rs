//! The failed-check limits the store holds every process to (D163).
//!
//! Each process reserves guesses in its own memory first (`crate::limiter`). That keeps a
//! burst within one process to the budget, but a burst sent at once over N processes on
//! one database got N times it (second fresh-eyes review, H-F1). So the write that answers
//! a check (the stored failure of a wrong code, or the claim of a right one) is also where
//! the limits that nothing forgives are decided, one check after another on the database:
//! the licence's budget shared by every verifier but the police, and a verifier's count
//! over all licences. A check that would go past either is refused before anything of it
//! is written, whatever the code. The verifier's count locks it out of everything for
//! `verifier_lockout` once it is reached, as the limiter does, and every process reads
//! that lock-out from the same stored failures (second review, H-F4).

/// The limits a check is held to when its answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessLimits {
    /// Failures on the check's target by every verifier within `window`; `None` for the
    /// police, who are held to their own limits only (D80).
    pub target_max: Option<u32>,
    /// Failures by the verifier on any target within `window`.
    pub verifier_max: u32,
    /// Seconds over which failures count.
    pub window: u64,
    /// Seconds a verifier stays locked out of everything once `verifier_max` failures fell
    /// within `window`; 0: refused only while they are in the window.
    pub verifier_lockout: u64,
}

/// Why the store refused a check (D163): for how long, and by which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Seconds until the check may be tried again.
    pub retry_after: u64,
    /// The verifier's own count refused it (so it is refused on every licence), rather
    /// than the licence's budget.
    pub verifier: bool,
}

/// A right code's claim held to [`GuessLimits`]: the limiter's name for what the check
/// named (as in `CheckFailure::target`) and the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// What the check named.
    pub target: String,
    /// The limits.
    pub limits: GuessLimits,
}

impl GuessLimits {
    /// Why a check at `now` may not be answered, if it would go past a limit, given the
    /// stored failures on its target (those since `now - window` at least) and by its
    /// verifier (since `now - memory()` at least), their times in any order; `None` if it
    /// may be answered. A failure counts while `t + window > now`, as in the limiter.
    pub fn refusal(&self, on_target: &[u64], by_verifier: &[u64], now: u64) -> Option<Refused> {
        let target = self
            .target_max
            .and_then(|max| over(on_target, max, self.window, now));
        let verifier = if self.verifier_lockout == 0 {
            over(by_verifier, self.verifier_max, self.window, now)
        } else {
            locked(
                by_verifier,
                self.verifier_max,
                self.window,
                self.verifier_lockout,
                now,
            )
        };
        match (target, verifier) {
            (_, Some(v)) if target.is_none_or(|t| v >= t) => Some(Refused {
                retry_after: v,
                verifier: true,
            }),
            (Some(t), _) => Some(Refused {
                retry_after: t,
                verifier: false,
            }),
            _ => None,
        }
    }

    /// How far back a verifier's failures can still decide a check: a lock-out begun by
    /// failures a window long, lasting `verifier_lockout`.
    pub fn memory(&self) -> u64 {
        self.window.saturating_add(self.verifier_lockout)
    }
}

/// Seconds left of a lock-out that the failures `times` began, if any: as the limiter's
/// counter, `max` failures within `window` lock out for `lockout` from the last of them,
/// and the failures a lock-out used up do not count towards the next one.
fn locked(times: &[u64], max: u32, window: u64, lockout: u64, now: u64) -> Option<u64> {
    let mut times = times.to_vec();
    times.sort_unstable();
    let max = max.max(1) as usize;
    let (mut start, mut until) = (0, 0);
    for i in 0..times.len() {
        if i + 1 >= start + max && times[i + 1 - max] + window > times[i] {
            until = until.max(times[i].saturating_add(lockout));
            start = i + 1;
        }
    }
    let left = (until > now).then(|| until - now);
    // Not (or no longer) locked out: the sliding count still applies.
    left.or_else(|| over(&times[start..], max as u32, window, now))
}

/// Seconds until the failures `times` fall below `max` within the sliding `window`, if
/// they are at `max` or more now.
fn over(times: &[u64], max: u32, window: u64, now: u64) -> Option<u64> {
    let mut live: Vec<u64> = times
        .iter()
        .copied()
        .filter(|&t| t.saturating_add(window) > now)
        .collect();
    let max = max.max(1) as usize;
    if live.len() < max {
        return None;
    }
    live.sort_unstable();
    // The oldest failure that keeps the count at `max` must age out.
    let t = live[live.len() - max];
    Some((t + window).saturating_sub(now).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSINESS: GuessLimits = GuessLimits {
        target_max: Some(3),
        verifier_max: 5,
        window: 100,
        verifier_lockout: 0,
    };

    #[test]
    fn a_check_is_answered_while_both_counts_are_under_their_limits() {
        assert_eq!(
            BUSINESS.refusal(&[], &[], 1_000).map(|r| r.retry_after),
            None
        );
        assert_eq!(
            BUSINESS
                .refusal(&[950, 960], &[1, 2, 3, 4], 1_000)
                .map(|r| r.retry_after),
            None
        );
    }

    #[test]
    fn the_target_s_budget_refuses_until_its_oldest_counting_failure_ages_out() {
        // Four failures, the oldest already out of the window: three count.
        let times = [899, 920, 950, 990];
        assert_eq!(
            BUSINESS.refusal(&times, &[], 1_000).map(|r| r.retry_after),
            Some(20)
        );
        // Given in any order.
        assert_eq!(
            BUSINESS
                .refusal(&[990, 920, 950], &[], 1_000)
                .map(|r| r.retry_after),
            Some(20)
        );
        assert_eq!(
            BUSINESS.refusal(&times, &[], 1_020).map(|r| r.retry_after),
            None
        );
    }

    #[test]
    fn the_police_are_held_to_the_verifier_count_only() {
        let police = GuessLimits {
            target_max: None,
            ..BUSINESS
        };
        assert_eq!(
            police
                .refusal(&[990, 991, 992, 993], &[], 1_000)
                .map(|r| r.retry_after),
            None
        );
        let sprayed = [960, 970, 980, 990, 995];
        assert_eq!(
            police.refusal(&[], &sprayed, 1_000).map(|r| r.retry_after),
            Some(60)
        );
    }

    #[test]
    fn the_longer_wait_of_the_two_is_given_with_the_limit_that_gave_it() {
        let target = [950, 960, 970];
        let verifier = [910, 920, 930, 940, 990];
        let by = |retry_after, verifier| {
            Some(Refused {
                retry_after,
                verifier,
            })
        };
        assert_eq!(BUSINESS.refusal(&target, &verifier, 1_000), by(50, false));
        assert_eq!(BUSINESS.refusal(&target, &[995; 5], 1_000), by(95, true));
        assert_eq!(BUSINESS.refusal(&[], &verifier, 1_000), by(10, true));
    }

    #[test]
    fn a_wait_is_at_least_a_second_and_a_zero_limit_counts_as_one() {
        let none = GuessLimits {
            target_max: Some(0),
            verifier_max: 0,
            window: 100,
            verifier_lockout: 0,
        };
        assert_eq!(
            none.refusal(&[900], &[], 999).map(|r| r.retry_after),
            Some(1)
        );
        assert_eq!(none.refusal(&[], &[], 999).map(|r| r.retry_after), None);
    }

    const LOCKING: GuessLimits = GuessLimits {
        verifier_lockout: 300,
        ..BUSINESS
    };

    #[test]
    fn a_verifier_s_count_locks_it_out_for_the_lock_out_after_its_failures_age_out() {
        let sprayed = [10, 20, 30, 40, 50];
        assert_eq!(LOCKING.memory(), 400);
        // Locked from the fifth failure, at 50, until 350: long after the window.
        assert_eq!(
            LOCKING.refusal(&[], &sprayed, 60).map(|r| r.retry_after),
            Some(290)
        );
        assert_eq!(
            LOCKING.refusal(&[], &sprayed, 200).map(|r| r.retry_after),
            Some(150)
        );
        assert_eq!(
            LOCKING.refusal(&[], &sprayed, 349).map(|r| r.retry_after),
            Some(1)
        );
        assert_eq!(
            LOCKING.refusal(&[], &sprayed, 350).map(|r| r.retry_after),
            None
        );
        // Without a lock-out the same failures stop counting once out of the window.
        assert_eq!(
            BUSINESS.refusal(&[], &sprayed, 200).map(|r| r.retry_after),
            None
        );
    }

    #[test]
    fn failures_a_window_apart_lock_nobody_and_those_a_lock_out_used_up_start_no_other() {
        // Five failures over more than a window: never five within one.
        assert_eq!(
            LOCKING
                .refusal(&[], &[0, 30, 60, 90, 120], 130)
                .map(|r| r.retry_after),
            None
        );
        // Ten failures at once: one lock-out from the fifth (until 310), and the next
        // five begin another only from the tenth, at 20 (until 320).
        let burst = [10, 10, 10, 10, 10, 20, 20, 20, 20, 20];
        assert_eq!(
            LOCKING.refusal(&[], &burst, 315).map(|r| r.retry_after),
            Some(5)
        );
        // Four after a lock-out ended: not yet five; the window's count still applies.
        let after = [10, 10, 10, 10, 10, 400, 401, 402, 403];
        assert_eq!(
            LOCKING.refusal(&[], &after, 404).map(|r| r.retry_after),
            None
        );
        assert_eq!(
            LOCKING
                .refusal(&[], &[10, 10, 10, 10, 10, 400, 401, 402, 403, 404], 405)
                .map(|r| r.retry_after),
            Some(299)
        );
    }
}
