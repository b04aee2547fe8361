//! The failed-check limits the store holds every process to (D163).
//!
//! Each process reserves guesses in its own memory first (`crate::limiter`). That keeps a
//! burst within one process to the budget, but a burst sent at once over N processes on
//! one database got N times it (second fresh-eyes review, H-F1). So the write that answers
//! a check (the stored failure of a wrong code, or the claim of a right one) is also where
//! the limits that nothing forgives are decided, one check after another on the database:
//! the licence's budget shared by every verifier but the police, and a verifier's count
//! over all licences. A check that would go past either is refused before anything of it
//! is written, whatever the code.

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
    /// Seconds to wait if a check at `now` would go past a limit, given the stored
    /// failures on its target and by its verifier (their times, any order); `None` if it
    /// may be answered. A failure counts while `t + window > now`, as in the limiter.
    pub fn refusal(&self, on_target: &[u64], by_verifier: &[u64], now: u64) -> Option<u64> {
        let target = self
            .target_max
            .and_then(|max| over(on_target, max, self.window, now));
        let verifier = over(by_verifier, self.verifier_max, self.window, now);
        target.max(verifier)
    }
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
    };

    #[test]
    fn a_check_is_answered_while_both_counts_are_under_their_limits() {
        assert_eq!(BUSINESS.refusal(&[], &[], 1_000), None);
        assert_eq!(BUSINESS.refusal(&[950, 960], &[1, 2, 3, 4], 1_000), None);
    }

    #[test]
    fn the_target_s_budget_refuses_until_its_oldest_counting_failure_ages_out() {
        // Four failures, the oldest already out of the window: three count.
        let times = [899, 920, 950, 990];
        assert_eq!(BUSINESS.refusal(&times, &[], 1_000), Some(20));
        // Given in any order.
        assert_eq!(BUSINESS.refusal(&[990, 920, 950], &[], 1_000), Some(20));
        assert_eq!(BUSINESS.refusal(&times, &[], 1_020), None);
    }

    #[test]
    fn the_police_are_held_to_the_verifier_count_only() {
        let police = GuessLimits {
            target_max: None,
            ..BUSINESS
        };
        assert_eq!(police.refusal(&[990, 991, 992, 993], &[], 1_000), None);
        let sprayed = [960, 970, 980, 990, 995];
        assert_eq!(police.refusal(&[], &sprayed, 1_000), Some(60));
    }

    #[test]
    fn the_longer_wait_of_the_two_is_given() {
        let target = [950, 960, 970];
        let verifier = [910, 920, 930, 940, 990];
        assert_eq!(BUSINESS.refusal(&target, &verifier, 1_000), Some(50));
        assert_eq!(BUSINESS.refusal(&target, &[995; 5], 1_000), Some(95));
    }

    #[test]
    fn a_wait_is_at_least_a_second_and_a_zero_limit_counts_as_one() {
        let none = GuessLimits {
            target_max: Some(0),
            verifier_max: 0,
            window: 100,
        };
        assert_eq!(none.refusal(&[900], &[], 999), Some(1));
        assert_eq!(none.refusal(&[], &[], 999), None);
    }
}
