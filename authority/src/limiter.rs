//! Limits on failed online checks: per (verifier, target), per verifier, and per target
//! across all verifiers (D80, D81).
//!
//! A 6-digit code can be guessed, so every wrong code counts. A *target* is what a check
//! names: a driver (`d:<id>`, however the check named it: licence number, QR or barcode),
//! a licence number nobody holds, or an e-licence id that does not exist. Unknown targets
//! are counted exactly like real ones, so the counting tells a prober nothing.
//!
//! - A verifier that fails too often on one target is locked out of it for a while, and
//!   one that fails too often across targets is locked out of all.
//! - Every verifier together may fail `licence_max_failures` times on one target within
//!   the sliding `window`: more API keys do not buy more guesses. This budget refills as
//!   failures age out, so a burst of guesses blocks honest checks of that licence for at
//!   most one window, and never the police's (an enforcement verifier is only held to
//!   its own limits).
//!
//! A check first reserves a guess ([`Limiter::begin`]): the lock-out check and the
//! reservation are one step under one lock, so a burst of concurrent wrong codes gets
//! exactly the budget, not one guess per request in flight. A wrong code turns the
//! reservation into a failure, a right one (or a dropped request) releases it. Failures
//! are also written to the store before the answer, and the counters are rebuilt from them
//! at start, so a restart resets nothing.
//!
//! Several authority processes on one database (D158): once a failure is stored, the
//! failures every process stored on that target and by that verifier within the window are
//! read ([`Limiter::observe`]), so a process learns of the others' at its own next failure. The
//! target's budget and the verifier's overall count, which nothing forgives, then hold
//! across processes but for one failure per process that had not failed since; a pair's
//! count (which a verified check forgives, in memory) stays each process's own.
//!
//! A burst sent at once over several processes is bounded by the store (D163): the write
//! that answers a check, right or wrong, is refused when the stored failures leave no room
//! under the licence's budget or the verifier's count ([`Limiter::guess_limits`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::CheckLimits;
use crate::store::{GuessLimits, RecentFailures};

/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Default)]
struct Counter {
    failures: VecDeque<u64>,
    /// Guesses reserved and not yet decided.
    in_flight: u32,
    locked_until: u64,
    /// Whether this lock-out has been logged for the driver (once per lock-out).
    logged: bool,
    /// Failures at or before this time were used up by a lock-out: the store's copies of
    /// them must not start another (D158).
    spent_until: u64,
}

/// How one counter locks: for a fixed time once `max` failures fall in the window, or
/// (`lockout` zero) for as long as `max` failures are in the sliding window.
#[derive(Clone, Copy)]
struct Rule {
    window: u64,
    max: u32,
    lockout: u64,
}

/// Why a counter refuses: seconds to wait, and whether the refusal may be logged.
struct Refusal {
    retry_after: u64,
    loggable: bool,
}

impl Counter {
    fn forget_old(&mut self, now: u64, window: u64) {
        while self.failures.front().is_some_and(|&t| t + window <= now) {
            self.failures.pop_front();
        }
    }

    fn refusal(&mut self, now: u64, r: Rule) -> Option<Refusal> {
        self.forget_old(now, r.window);
        let max = r.max.max(1) as usize;
        if self.locked_until > now {
            return Some(Refusal {
                retry_after: self.locked_until - now,
                loggable: true,
            });
        }
        if r.lockout == 0 && self.failures.len() >= max {
            // The oldest failure that keeps the count at the budget must age out.
            let t = self.failures[self.failures.len() - max];
            return Some(Refusal {
                retry_after: (t + r.window).saturating_sub(now).max(1),
                loggable: true,
            });
        }
        if self.failures.len() + self.in_flight as usize >= max {
            // Guesses in flight may use up the budget; ask again in a moment.
            return Some(Refusal {
                retry_after: 1,
                loggable: false,
            });
        }
        None
    }

    /// Records a failure at `now`.
    fn fail(&mut self, now: u64, r: Rule) {
        self.forget_old(now, r.window);
        self.failures.push_back(now);
        if self.failures.len() >= r.max.max(1) as usize {
            self.logged = false;
            if r.lockout > 0 {
                self.failures.clear();
                self.locked_until = now + r.lockout;
                self.spent_until = now;
            }
        }
    }

    /// Takes in the failures the store holds for this counter (`stored`: the times of
    /// every process's failures in the window, oldest first) when they are more than this
    /// process counted: the store's list is then the truth (D158). A lock-out rule locks
    /// from the newest of them, as its own failure would have.
    fn observe(&mut self, stored: &[u64], now: u64, r: Rule) {
        self.forget_old(now, r.window);
        let fresh: Vec<u64> = stored
            .iter()
            .copied()
            .filter(|&t| t + r.window > now && t > self.spent_until)
            .collect();
        if fresh.len() <= self.failures.len() {
            return;
        }
        self.failures = fresh.into();
        let newest = *self.failures.back().expect("longer than an empty list");
        if self.failures.len() >= r.max.max(1) as usize && r.lockout > 0 {
            self.logged = false;
            self.failures.clear();
            self.locked_until = self.locked_until.max(newest + r.lockout);
            self.spent_until = newest;
        }
    }

    fn stale(&self, now: u64, window: u64) -> bool {
        self.in_flight == 0
            && self.locked_until <= now
            && self.failures.back().is_none_or(|&t| t + window <= now)
    }
}

/// Why a check may not go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Seconds until the check may be tried again.
    pub retry_after: u64,
    /// Whether this is the first refusal of this lock-out (log it for the driver).
    pub first_refusal: bool,
}

#[derive(Debug, Default)]
struct Counters {
    pairs: HashMap<(u64, String), Counter>,
    verifiers: HashMap<u64, Counter>,
    targets: HashMap<String, Counter>,
}

impl Counters {
    /// The counter that refuses a guess by `pair` (verifier, target) at `now`, and its
    /// refusal: the verifier's, then the pair's, then (when `shared`) the target's, under
    /// `rules` (pair, verifier, target). One choice for [`Limiter::begin`], which tells
    /// its first refusal, and [`Limiter::untell`], which takes the telling back.
    fn refusing(
        &mut self,
        (pair_rule, verifier_rule, target_rule): (Rule, Rule, Rule),
        pair: &(u64, String),
        shared: bool,
        now: u64,
    ) -> Option<(Refusal, &mut Counter)> {
        let (verifier, target) = (pair.0, pair.1.as_str());
        let refusals = [
            self.verifiers
                .get_mut(&verifier)
                .and_then(|x| x.refusal(now, verifier_rule).map(|r| (r, x))),
            self.pairs
                .get_mut(pair)
                .and_then(|x| x.refusal(now, pair_rule).map(|r| (r, x))),
            self.targets
                .get_mut(target)
                .filter(|_| shared)
                .and_then(|x| x.refusal(now, target_rule).map(|r| (r, x))),
        ];
        refusals.into_iter().flatten().next()
    }
}

/// The failure counters.
#[derive(Debug)]
pub struct Limiter {
    limits: CheckLimits,
    counters: Mutex<Counters>,
}

/// A reserved guess: [`Guess::fail`] or [`Guess::right`] decides it; dropping it
/// undecided releases it.
#[must_use]
pub struct Guess<'a> {
    limiter: &'a Limiter,
    verifier: u64,
    target: String,
    decided: bool,
}

impl Limiter {
    /// Empty counters under `limits`.
    pub fn new(limits: CheckLimits) -> Self {
        Limiter {
            limits,
            counters: Mutex::new(Counters::default()),
        }
    }

    /// Seconds over which failures are counted.
    pub fn window(&self) -> u64 {
        self.limits.window
    }

    /// The limits the store holds a check to across every process (D163): the licence's
    /// budget when `shared` (every verifier but the police), and the verifier's count.
    pub fn guess_limits(&self, shared: bool) -> GuessLimits {
        GuessLimits {
            target_max: shared.then_some(self.limits.licence_max_failures),
            verifier_max: self.limits.verifier_max_failures,
            window: self.limits.window,
            verifier_lockout: self.limits.verifier_lockout,
        }
    }

    /// How far back failures matter (for rebuilding after a restart).
    pub fn memory(&self) -> u64 {
        self.limits.window + self.limits.pair_lockout.max(self.limits.verifier_lockout)
    }

    fn rules(&self) -> (Rule, Rule, Rule) {
        let l = self.limits;
        (
            Rule {
                window: l.window,
                max: l.pair_max_failures,
                lockout: l.pair_lockout,
            },
            Rule {
                window: l.window,
                max: l.verifier_max_failures,
                lockout: l.verifier_lockout,
            },
            Rule {
                window: l.window,
                max: l.licence_max_failures,
                lockout: 0,
            },
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one guess by `verifier` on `target` at `now`, or says why not. `shared`
    /// holds the check to the target's budget across all verifiers (every verifier but
    /// the police).
    pub fn begin(
        &self,
        verifier: u64,
        target: &str,
        shared: bool,
        now: u64,
    ) -> Result<Guess<'_>, Locked> {
        let mut c = self.lock();
        let c = &mut *c;
        if c.verifiers.len() >= SWEEP_AT || c.pairs.len() >= SWEEP_AT || c.targets.len() >= SWEEP_AT
        {
            let w = self.limits.window;
            c.verifiers.retain(|_, x| !x.stale(now, w));
            c.pairs.retain(|_, x| !x.stale(now, w));
            c.targets.retain(|_, x| !x.stale(now, w));
        }
        let key = (verifier, target.to_owned());
        if let Some((r, counter)) = c.refusing(self.rules(), &key, shared, now) {
            let first_refusal = r.loggable && !counter.logged;
            if r.loggable {
                counter.logged = true;
            }
            return Err(Locked {
                retry_after: r.retry_after,
                first_refusal,
            });
        }
        c.verifiers.entry(verifier).or_default().in_flight += 1;
        c.pairs.entry(key).or_default().in_flight += 1;
        c.targets.entry(target.to_owned()).or_default().in_flight += 1;
        Ok(Guess {
            limiter: self,
            verifier,
            target: target.to_owned(),
            decided: false,
        })
    }

    /// Takes in what the store holds (D158): `stored` are the times of the failures every
    /// process stored on `target` and by `verifier` within the window, read once this
    /// process's own failure is stored. The target's budget and the verifier's overall
    /// count follow the store when it holds more; the pair's stays this process's, as a
    /// verified check forgives it in memory only.
    pub fn observe(&self, verifier: u64, target: &str, stored: &RecentFailures, now: u64) {
        let (_, verifier_rule, target_rule) = self.rules();
        let mut c = self.lock();
        c.verifiers
            .entry(verifier)
            .or_default()
            .observe(&stored.by_verifier, now, verifier_rule);
        c.targets.entry(target.to_owned()).or_default().observe(
            &stored.on_target,
            now,
            target_rule,
        );
    }

    /// Takes back a failure counted at `at` (a [`Guess::fail`]) that the store then refused
    /// to store (D163): it happened nowhere, so it must not keep a licence refused here
    /// past the store's own count (fourth review, K-F1). One entry at `at` leaves each of
    /// the three counts; a lock-out that failure began stays (the store refused the check
    /// by a limit it found reached, which [`Limiter::hold`] then holds anyway).
    pub fn unfail(&self, verifier: u64, target: &str, at: u64) {
        let mut c = self.lock();
        let c = &mut *c;
        let key = (verifier, target.to_owned());
        for counter in [
            c.verifiers.get_mut(&verifier),
            c.pairs.get_mut(&key),
            c.targets.get_mut(target),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(i) = counter.failures.iter().rposition(|&t| t == at) {
                counter.failures.remove(i);
            }
        }
    }

    /// Refuses checks by `verifier` (`whole`: on every target, the verifier's count) or on
    /// `target` (the licence's budget: for every verifier but the police) until `until`:
    /// the store refused a check by a limit this process had not seen reached (D163).
    /// Says whether this refusal, at `now`, is the first of that lock-out here, to be
    /// logged for the driver as the first refusal in memory is (D80, D166).
    pub fn hold(&self, verifier: u64, target: &str, whole: bool, now: u64, until: u64) -> bool {
        let mut c = self.lock();
        let counter = if whole {
            c.verifiers.entry(verifier).or_default()
        } else {
            c.targets.entry(target.to_owned()).or_default()
        };
        if counter.locked_until <= now {
            // Not held here until now: nobody was told of this lock-out here yet.
            counter.logged = false;
        }
        counter.locked_until = counter.locked_until.max(until);
        !std::mem::replace(&mut counter.logged, true)
    }

    /// Takes back the telling of a lock-out's first refusal by [`Limiter::begin`] whose
    /// log entry could not be written (the database away, or holding a commit: D179), so
    /// the next refusal of that lock-out is logged for the driver instead (twelfth review,
    /// S-F2). The counter is the one `begin` found refusing, found again the same way.
    pub fn untell(&self, verifier: u64, target: &str, shared: bool, now: u64) {
        let (rules, key) = (self.rules(), (verifier, target.to_owned()));
        if let Some((_, counter)) = self.lock().refusing(rules, &key, shared, now) {
            counter.logged = false;
        }
    }

    /// As [`Limiter::untell`], for the first refusal told by [`Limiter::hold`] with the
    /// same `verifier`, `target` and `whole`.
    pub fn untell_hold(&self, verifier: u64, target: &str, whole: bool) {
        let mut c = self.lock();
        let counter = if whole {
            c.verifiers.get_mut(&verifier)
        } else {
            c.targets.get_mut(target)
        };
        if let Some(counter) = counter {
            counter.logged = false;
        }
    }

    /// Counts a failure that is already decided (rebuilding after a restart).
    pub fn restore(&self, verifier: u64, target: &str, at: u64) {
        let (pair_rule, verifier_rule, target_rule) = self.rules();
        let mut c = self.lock();
        c.verifiers
            .entry(verifier)
            .or_default()
            .fail(at, verifier_rule);
        c.pairs
            .entry((verifier, target.to_owned()))
            .or_default()
            .fail(at, pair_rule);
        c.targets
            .entry(target.to_owned())
            .or_default()
            .fail(at, target_rule);
    }

    fn settle(&self, verifier: u64, target: &str, failed_at: Option<u64>) {
        let (pair_rule, verifier_rule, target_rule) = self.rules();
        let mut c = self.lock();
        let c = &mut *c;
        let key = (verifier, target.to_owned());
        for (counter, rule) in [
            (c.verifiers.get_mut(&verifier), verifier_rule),
            (c.pairs.get_mut(&key), pair_rule),
            (c.targets.get_mut(target), target_rule),
        ] {
            if let Some(counter) = counter {
                counter.in_flight = counter.in_flight.saturating_sub(1);
                if let Some(at) = failed_at {
                    counter.fail(at, rule);
                }
            }
        }
    }

    /// A check by `verifier` on `target`, begun at `at`, verified (its `verified` entry
    /// was written): the pair's failures up to `at` are forgiven, and a lock-out they
    /// started. Not the verifier's overall count, so spraying cannot be laundered by one
    /// real check, nor the target's budget. Only a verified check forgives: a right code
    /// that someone already spent, or that names an e-licence no longer current, does not
    /// (D120). It runs after the check's commit, so what happened since `at` stays: the
    /// failures of guesses made meanwhile, a lock-out they began, and the reservations of
    /// guesses still in flight.
    pub fn forgive(&self, verifier: u64, target: &str, at: u64) {
        let pair_lockout = self.limits.pair_lockout;
        let mut c = self.lock();
        if let Some(pair) = c.pairs.get_mut(&(verifier, target.to_owned())) {
            pair.failures.retain(|&t| t > at);
            // A lock-out ends `pair_lockout` after the failure that began it.
            if pair.locked_until <= at + pair_lockout {
                pair.locked_until = 0;
            }
        }
    }
}

impl Guess<'_> {
    /// The code was wrong: the guess counts as a failure at `now`.
    pub fn fail(mut self, now: u64) {
        self.decided = true;
        self.limiter.settle(self.verifier, &self.target, Some(now));
    }

    /// The code was right: the reservation is released, no failure counted. Whether the
    /// pair is forgiven depends on what the check then finds ([`Limiter::forgive`]).
    pub fn right(mut self) {
        self.decided = true;
        self.limiter.settle(self.verifier, &self.target, None);
    }
}

impl Drop for Guess<'_> {
    fn drop(&mut self) {
        if !self.decided {
            // Undecided (the request failed or was dropped): counts as nothing.
            let mut c = self.limiter.lock();
            let key = (self.verifier, std::mem::take(&mut self.target));
            if let Some(x) = c.verifiers.get_mut(&self.verifier) {
                x.in_flight = x.in_flight.saturating_sub(1);
            }
            if let Some(x) = c.targets.get_mut(&key.1) {
                x.in_flight = x.in_flight.saturating_sub(1);
            }
            if let Some(x) = c.pairs.get_mut(&key) {
                x.in_flight = x.in_flight.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CheckLimits {
        CheckLimits {
            pair_max_failures: 3,
            verifier_max_failures: 5,
            licence_max_failures: 4,
            window: 100,
            pair_lockout: 50,
            verifier_lockout: 200,
        }
    }

    fn fail(l: &Limiter, v: u64, t: &str, now: u64) {
        l.begin(v, t, true, now).unwrap().fail(now);
    }

    #[test]
    fn a_failure_the_store_refused_is_taken_back_from_every_count() {
        let l = Limiter::new(limits());
        // Three failures on the licence (budget four), the third refused by the store.
        fail(&l, 1, "d:1", 100);
        fail(&l, 2, "d:1", 101);
        fail(&l, 3, "d:1", 102);
        l.unfail(3, "d:1", 102);
        // Two counted: two more guesses go ahead, the fifth is refused.
        fail(&l, 4, "d:1", 103);
        fail(&l, 5, "d:1", 104);
        assert!(l.begin(6, "d:1", true, 105).is_err());
        // Taking back a failure nobody counted changes nothing.
        l.unfail(7, "d:2", 105);
        assert!(l.begin(6, "d:1", true, 105).is_err());
    }

    #[test]
    fn a_limit_the_store_found_reached_is_held_here_until_its_end() {
        let l = Limiter::new(limits());
        let wait = |v, t, shared, now| l.begin(v, t, shared, now).err().map(|x| x.retry_after);
        // The licence's budget: businesses refused until 150, the police never.
        l.hold(1, "d:1", false, 100, 150);
        assert_eq!(wait(2, "d:1", true, 100), Some(50));
        assert_eq!(wait(2, "d:1", false, 100), None);
        assert_eq!(wait(2, "d:1", true, 150), None);
        // The verifier's count: refused on every licence until 200.
        l.hold(3, "d:1", true, 100, 200);
        assert_eq!(wait(3, "d:9", false, 100), Some(100));
        assert_eq!(wait(4, "d:9", true, 100), None);
        assert_eq!(wait(3, "d:9", true, 200), None);
    }

    #[test]
    fn a_lock_out_the_store_found_is_logged_once_here_with_the_refusals_in_memory() {
        let l = Limiter::new(limits());
        // The first refusal of a lock-out this process did not hold is the one to log;
        // a later refusal by the store in it, or one here in memory, is not.
        assert!(l.hold(1, "d:1", false, 100, 150));
        assert!(!l.hold(2, "d:1", false, 101, 150));
        assert!(!l.begin(3, "d:1", true, 102).err().unwrap().first_refusal);
        // Once it has ended, the next lock-out the store finds is logged again.
        assert!(l.hold(1, "d:1", false, 150, 200));
        // The verifier's count likewise, on its own counter.
        assert!(l.hold(4, "d:2", true, 100, 300));
        assert!(!l.begin(4, "d:3", false, 101).err().unwrap().first_refusal);
        assert!(!l.hold(4, "d:3", true, 102, 300));
        // A telling whose entry was not written is taken back (S-F2).
        l.untell_hold(4, "d:3", true);
        assert!(l.hold(4, "d:3", true, 103, 300));
    }

    #[test]
    fn pair_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let l = Limiter::new(limits());
        for t in 0..2 {
            fail(&l, 1, "d:9", t);
        }
        fail(&l, 1, "d:9", 2);
        let locked = l.begin(1, "d:9", true, 3).err().unwrap();
        assert_eq!(locked.retry_after, 49);
        assert!(locked.first_refusal);
        assert!(!l.begin(1, "d:9", true, 4).err().unwrap().first_refusal);
        // Its entry not written: taken back, the next refusal is the first again (S-F2).
        l.untell(1, "d:9", true, 4);
        assert!(l.begin(1, "d:9", true, 4).err().unwrap().first_refusal);
        // Another verifier and another licence are unaffected.
        assert!(l.begin(2, "d:9", true, 3).is_ok());
        assert!(l.begin(1, "d:8", true, 3).is_ok());
        assert!(l.begin(1, "d:9", true, 52).is_ok());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:9", 0);
        fail(&l, 1, "d:9", 10);
        fail(&l, 1, "d:9", 150);
        assert!(l.begin(1, "d:9", true, 151).is_ok());
    }

    #[test]
    fn spraying_many_licences_locks_the_verifier_everywhere() {
        let l = Limiter::new(limits());
        for d in 0..5 {
            fail(&l, 1, &format!("d:{d}"), 10);
        }
        assert_eq!(l.begin(1, "d:77", true, 11).err().unwrap().retry_after, 199);
        assert!(l.begin(2, "d:77", true, 11).is_ok());
    }

    #[test]
    fn success_forgives_the_pair_but_not_the_licence_budget() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:9", 0);
        fail(&l, 1, "d:9", 1);
        l.begin(1, "d:9", true, 2).unwrap().right();
        l.forgive(1, "d:9", 2);
        fail(&l, 1, "d:9", 2);
        assert!(l.begin(1, "d:9", true, 3).is_ok());
        // Four failures on d:9 in all: its shared budget is spent.
        fail(&l, 2, "d:9", 3);
        assert_eq!(l.begin(3, "d:9", true, 4).err().unwrap().retry_after, 96);
    }

    #[test]
    fn forgiving_keeps_what_happened_after_the_check_began_and_guesses_in_flight() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:9", 0);
        // The right code's check begins at 1; meanwhile a wrong guess fails at 2 and
        // another is in flight.
        l.begin(1, "d:9", false, 1).unwrap().right();
        fail(&l, 1, "d:9", 2);
        let in_flight = l.begin(1, "d:9", false, 2).unwrap();
        l.forgive(1, "d:9", 1);
        in_flight.fail(3);
        // Failures at 2 and 3 remain, so one more (at 4) is the third: locked out.
        fail(&l, 1, "d:9", 4);
        assert_eq!(l.begin(1, "d:9", false, 5).err().unwrap().retry_after, 49);
    }

    #[test]
    fn a_right_code_alone_forgives_nothing() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:9", 0);
        fail(&l, 1, "d:9", 1);
        // Right, but the check did not verify (the code was spent): no forgiveness.
        l.begin(1, "d:9", false, 2).unwrap().right();
        fail(&l, 1, "d:9", 2);
        assert_eq!(l.begin(1, "d:9", false, 3).err().unwrap().retry_after, 49);
    }

    #[test]
    fn many_verifiers_share_the_licence_budget_which_refills_and_spares_the_police() {
        let l = Limiter::new(limits());
        for v in 0..4 {
            fail(&l, v, "d:9", 10 + v);
        }
        let locked = l.begin(50, "d:9", true, 20).err().unwrap();
        // Until the oldest of the four leaves the window.
        assert_eq!(locked.retry_after, 90);
        assert!(l.begin(51, "d:9", false, 20).is_ok(), "the police go ahead");
        assert!(
            l.begin(50, "d:9", true, 110).is_ok(),
            "one failure aged out"
        );
    }

    #[test]
    fn another_process_s_failures_spend_the_licence_budget_once_observed() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:9", 10);
        // Three more failures on d:9 through other processes: this one learns of them
        // with its own next failure's write.
        let stored = RecentFailures {
            on_target: vec![5, 10, 11, 12],
            by_verifier: vec![10],
        };
        l.observe(1, "d:9", &stored, 12);
        // The budget of 4 is spent, until the oldest (at 5) ages out.
        assert_eq!(l.begin(2, "d:9", true, 13).err().unwrap().retry_after, 92);
        // Fewer than it counted itself changes nothing.
        let l = Limiter::new(limits());
        for t in 0..3 {
            fail(&l, t, "d:8", 20);
        }
        l.observe(0, "d:8", &RecentFailures::default(), 20);
        fail(&l, 3, "d:8", 21);
        assert!(
            l.begin(4, "d:8", true, 22).is_err(),
            "its own four still count"
        );
    }

    #[test]
    fn another_process_s_failures_lock_the_verifier_once_observed_and_only_once() {
        let l = Limiter::new(limits());
        fail(&l, 1, "d:1", 10);
        let stored = RecentFailures {
            on_target: vec![10],
            by_verifier: vec![3, 6, 8, 9, 10],
        };
        l.observe(1, "d:1", &stored, 10);
        // Locked out of everything from the newest of them, for its lock-out.
        assert_eq!(l.begin(1, "d:2", true, 11).err().unwrap().retry_after, 199);
        // After the lock-out the same stored failures (were they still in the window) do
        // not start another.
        let l = Limiter::new(CheckLimits {
            verifier_lockout: 20,
            ..limits()
        });
        l.observe(1, "d:1", &stored, 10);
        assert!(l.begin(1, "d:2", true, 11).is_err());
        assert!(l.begin(1, "d:2", true, 31).is_ok(), "the lock-out ended");
        l.observe(1, "d:1", &stored, 31);
        assert!(
            l.begin(1, "d:3", true, 32).is_ok(),
            "not locked again by them"
        );
    }

    #[test]
    fn reservations_in_flight_count_and_undecided_ones_are_released() {
        let l = Limiter::new(limits());
        let held: Vec<_> = (0..4)
            .map(|v| l.begin(v, "d:9", true, 0).unwrap())
            .collect();
        let busy = l.begin(9, "d:9", true, 0).err().unwrap();
        assert_eq!((busy.retry_after, busy.first_refusal), (1, false));
        drop(held);
        assert!(l.begin(9, "d:9", true, 0).is_ok());
    }
}
