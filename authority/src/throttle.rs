//! Back-off on enrolment attempts (issue 13, finding 1; D75): per licence number and per
//! source address, instead of burning the activation code after a few wrong tries (which
//! let anyone who knows a licence number, the ID-card number, stop its driver from
//! enrolling).
//!
//! An attempt is counted when it starts, under one lock, so a burst of parallel requests
//! gets no extra tries; an attempt that enrols forgives the licence's count (and its own
//! count at the source). Unknown licence numbers are throttled exactly like known ones,
//! so the answers do not tell which exist.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use edl_core::crypto::sha256;

use crate::config::{Backoff, EnrolLimits};
use crate::error::{Error, Result};

/// Sources tracked at most; beyond it, sources that are not locked out are forgotten.
const MAX_SOURCES: usize = 100_000;
/// Licence numbers tracked at most (the same rule).
const MAX_LICENCES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    attempts: u32,
    locked_until: u64,
    last: u64,
}

/// Attempts counted per key with a back-off.
#[derive(Debug)]
struct Counter<K> {
    rule: Backoff,
    max: usize,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Copy> Counter<K> {
    fn new(rule: Backoff, max: usize) -> Self {
        Counter {
            rule,
            max,
            entries: HashMap::new(),
        }
    }

    /// Seconds `key` must still wait at `now`, if any.
    fn locked(&self, key: &K, now: u64) -> Option<u64> {
        self.entries
            .get(key)
            .filter(|e| e.locked_until > now)
            .map(|e| e.locked_until - now)
    }

    /// Counts an attempt: the next one waits by the rule.
    fn count(&mut self, key: K, now: u64) {
        let memory = self.rule.memory;
        if self.entries.len() >= self.max {
            self.entries
                .retain(|_, e| e.locked_until > now || now < e.last + memory);
        }
        if self.entries.len() >= self.max {
            // Still full of live entries: an attack from very many sources. Forgetting
            // the oldest half keeps memory bounded; each forgotten key starts over.
            let mut lasts: Vec<u64> = self.entries.values().map(|e| e.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            self.entries.retain(|_, e| e.last > cut);
        }
        let e = self.entries.entry(key).or_insert(Entry {
            attempts: 0,
            locked_until: 0,
            last: now,
        });
        // Failures long ago are forgiven.
        if now >= e.last + memory {
            e.attempts = 0;
        }
        e.attempts = e.attempts.saturating_add(1);
        e.last = now;
        e.locked_until = now + self.rule.delay(e.attempts);
    }

    /// Takes back the attempt counted for `key` (it succeeded).
    fn uncount(&mut self, key: &K, now: u64) {
        if let Some(e) = self.entries.get_mut(key) {
            e.attempts = e.attempts.saturating_sub(1);
            e.locked_until = if e.attempts == 0 {
                0
            } else {
                e.last + self.rule.delay(e.attempts)
            };
            if e.locked_until <= now && e.attempts == 0 {
                self.entries.remove(key);
            }
        }
    }
}

/// Where a request came from, as throttled: an IPv4 address, or an IPv6 /64 (one
/// subscriber's allocation), or `None` when unknown (all unknowns share one count).
pub type SourceKey = Option<[u8; 8]>;

/// The source key of `ip`.
pub fn source_key(ip: Option<IpAddr>) -> SourceKey {
    ip.map(|ip| match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let mut k = [0u8; 8];
            k[..4].copy_from_slice(&v4.octets());
            k
        }
        IpAddr::V6(v6) => {
            let mut k = [0u8; 8];
            k.copy_from_slice(&v6.octets()[..8]);
            // IPv4 keys end in four zero bytes and start with the address; a /64 whose
            // last four bytes are zero could collide with one, which only merges counts.
            k
        }
    })
}

/// The enrolment throttle: one counter per licence number (by hash, so numbers are not
/// kept in memory in clear) and one per source.
#[derive(Debug)]
pub struct EnrolThrottle {
    inner: Mutex<(Counter<[u8; 32]>, Counter<SourceKey>)>,
}

/// An attempt let through; give it back to [`EnrolThrottle::succeeded`] if it enrolled.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    licence: [u8; 32],
    source: SourceKey,
}

impl EnrolThrottle {
    /// A throttle with `limits`.
    pub fn new(limits: EnrolLimits) -> Self {
        EnrolThrottle {
            inner: Mutex::new((
                Counter::new(limits.licence, MAX_LICENCES),
                Counter::new(limits.source, MAX_SOURCES),
            )),
        }
    }

    /// Lets an attempt on `licence_number` from `source` through and counts it, or
    /// refuses it (`LockedOut` with the longer of the two waits) without counting.
    pub fn attempt(&self, licence_number: &str, source: SourceKey, now: u64) -> Result<Attempt> {
        let licence = sha256(licence_number.as_bytes());
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (licences, sources) = &mut *guard;
        let wait = licences
            .locked(&licence, now)
            .max(sources.locked(&source, now));
        if let Some(retry_after) = wait {
            return Err(Error::LockedOut { retry_after });
        }
        licences.count(licence, now);
        sources.count(source, now);
        Ok(Attempt { licence, source })
    }

    /// The attempt enrolled: the licence starts over, and the source's count of it is
    /// taken back.
    pub fn succeeded(&self, attempt: Attempt, now: u64) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (licences, sources) = &mut *guard;
        licences.entries.remove(&attempt.licence);
        sources.uncount(&attempt.source, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> EnrolLimits {
        EnrolLimits::default()
    }

    #[test]
    fn a_licence_backs_off_up_to_its_cap_and_a_success_starts_over() {
        let t = EnrolThrottle::new(limits());
        let l = limits().licence;
        let mut now = 1000;
        for _ in 0..l.free {
            t.attempt("L", Some([1; 8]), now).unwrap();
        }
        let a = t.attempt("L", Some([2; 8]), now).unwrap();
        let Err(Error::LockedOut { retry_after }) = t.attempt("L", Some([3; 8]), now) else {
            panic!("not locked out");
        };
        assert_eq!(retry_after, l.base);
        t.succeeded(a, now);
        t.attempt("L", Some([3; 8]), now).unwrap();
        // Many failures: never more than the cap.
        for i in 0..50u8 {
            now += l.cap;
            t.attempt("M", Some([i; 8]), now).unwrap();
        }
        let Err(Error::LockedOut { retry_after }) = t.attempt("M", Some([99; 8]), now) else {
            panic!("not locked out");
        };
        assert!(retry_after <= l.cap);
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_count() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(Some(a)), source_key(Some(b)));
        assert_ne!(source_key(Some(a)), source_key(Some(c)));
        let v4: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            source_key(Some(v4)),
            source_key(Some("10.0.0.1".parse().unwrap()))
        );
    }
}
