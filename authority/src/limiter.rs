//! Limits on failed online checks, per (verifier, licence) and per verifier.
//!
//! A 6-digit code can be guessed, so every wrong code counts. A verifier that fails too
//! often on one licence is locked out of that licence — refused even with the right code
//! until the lock-out ends — and one that fails too often across licences is locked out
//! of all. Nothing is keyed by the licence alone: one bad verifier can never lock the
//! driver out of other verifiers. Counters live in memory and are rebuilt at start from
//! the failures in the verification log, so a restart does not reset a lock-out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::CheckLimits;

/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Default)]
struct Counter {
    failures: VecDeque<u64>,
    locked_until: u64,
    /// Whether this lock-out has been logged for the driver (once per lock-out).
    logged: bool,
}

impl Counter {
    fn locked(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }

    /// Records a failure; returns whether it started a lock-out.
    fn fail(&mut self, now: u64, window: u64, max: u32, lockout: u64) -> bool {
        while self.failures.front().is_some_and(|&t| t + window <= now) {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        if self.failures.len() >= max as usize {
            self.failures.clear();
            self.locked_until = now + lockout;
            self.logged = false;
            return true;
        }
        false
    }

    fn stale(&self, now: u64, window: u64) -> bool {
        self.locked_until <= now && self.failures.back().is_none_or(|&t| t + window <= now)
    }
}

/// Why a check may not go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Seconds until the lock-out ends.
    pub retry_after: u64,
    /// Whether this is the first refusal of this lock-out (log it for the driver).
    pub first_refusal: bool,
}

/// The failure counters.
#[derive(Debug)]
pub struct Limiter {
    limits: CheckLimits,
    pairs: Mutex<HashMap<(u64, u64), Counter>>,
    verifiers: Mutex<HashMap<u64, Counter>>,
}

impl Limiter {
    /// Empty counters under `limits`.
    pub fn new(limits: CheckLimits) -> Self {
        Limiter {
            limits,
            pairs: Mutex::new(HashMap::new()),
            verifiers: Mutex::new(HashMap::new()),
        }
    }

    /// How far back failures matter (for rebuilding after a restart).
    pub fn memory(&self) -> u64 {
        self.limits.window + self.limits.pair_lockout.max(self.limits.verifier_lockout)
    }

    /// Whether `verifier` may check the licence of `driver` (`None` for a licence that
    /// was not found) at `now`.
    pub fn check(&self, verifier: u64, driver: Option<u64>, now: u64) -> Result<(), Locked> {
        let mut verifiers = self.verifiers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = verifiers.get_mut(&verifier)
            && let Some(retry_after) = counter.locked(now)
        {
            let first_refusal = !counter.logged;
            counter.logged = true;
            return Err(Locked {
                retry_after,
                first_refusal,
            });
        }
        drop(verifiers);
        if let Some(driver) = driver {
            let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(counter) = pairs.get_mut(&(verifier, driver))
                && let Some(retry_after) = counter.locked(now)
            {
                let first_refusal = !counter.logged;
                counter.logged = true;
                return Err(Locked {
                    retry_after,
                    first_refusal,
                });
            }
        }
        Ok(())
    }

    /// Records a failed check.
    pub fn fail(&self, verifier: u64, driver: Option<u64>, now: u64) {
        let l = self.limits;
        {
            let mut verifiers = self.verifiers.lock().unwrap_or_else(|e| e.into_inner());
            sweep(&mut verifiers, now, l.window);
            verifiers.entry(verifier).or_default().fail(
                now,
                l.window,
                l.verifier_max_failures,
                l.verifier_lockout,
            );
        }
        if let Some(driver) = driver {
            let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
            sweep(&mut pairs, now, l.window);
            pairs.entry((verifier, driver)).or_default().fail(
                now,
                l.window,
                l.pair_max_failures,
                l.pair_lockout,
            );
        }
    }

    /// Records a successful check: the pair's failures are forgiven (the verifier's
    /// overall count is not, so spraying cannot be laundered by one real check).
    pub fn succeed(&self, verifier: u64, driver: u64) {
        self.pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(verifier, driver));
    }
}

fn sweep<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Counter>, now: u64, window: u64) {
    if map.len() >= SWEEP_AT {
        map.retain(|_, c| !c.stale(now, window));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CheckLimits {
        CheckLimits {
            pair_max_failures: 3,
            verifier_max_failures: 5,
            window: 100,
            pair_lockout: 50,
            verifier_lockout: 200,
        }
    }

    #[test]
    fn pair_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let l = Limiter::new(limits());
        for t in 0..2 {
            l.fail(1, Some(9), t);
            assert!(l.check(1, Some(9), t).is_ok());
        }
        l.fail(1, Some(9), 2);
        let locked = l.check(1, Some(9), 3).unwrap_err();
        assert_eq!(locked.retry_after, 49);
        assert!(locked.first_refusal);
        assert!(!l.check(1, Some(9), 4).unwrap_err().first_refusal);
        // Another verifier and another licence are unaffected.
        assert!(l.check(2, Some(9), 3).is_ok());
        assert!(l.check(1, Some(8), 3).is_ok());
        assert!(l.check(1, Some(9), 52).is_ok());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let l = Limiter::new(limits());
        l.fail(1, Some(9), 0);
        l.fail(1, Some(9), 10);
        l.fail(1, Some(9), 150);
        assert!(l.check(1, Some(9), 151).is_ok());
    }

    #[test]
    fn spraying_many_licences_locks_the_verifier_everywhere() {
        let l = Limiter::new(limits());
        for d in 0..5 {
            l.fail(1, Some(d), 10);
        }
        assert_eq!(l.check(1, Some(77), 11).unwrap_err().retry_after, 199);
        assert!(l.check(1, None, 11).is_err());
        assert!(l.check(2, Some(77), 11).is_ok());
    }

    #[test]
    fn success_forgives_the_pair() {
        let l = Limiter::new(limits());
        l.fail(1, Some(9), 0);
        l.fail(1, Some(9), 1);
        l.succeed(1, 9);
        l.fail(1, Some(9), 2);
        assert!(l.check(1, Some(9), 3).is_ok());
    }
}
