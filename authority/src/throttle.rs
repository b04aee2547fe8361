//! Back-off on enrolment attempts (issue 13, finding 1; D75): per licence number and per
//! source address, instead of burning the activation code after a few wrong tries (which
//! let anyone who knows a licence number, the ID-card number, stop its driver from
//! enrolling).
//!
//! The counts live in the store (D156), so a restart forgets none of them and every
//! authority process on one database counts together. An attempt is counted when it
//! starts, in one atomic change of both counters ([`RegistryStore::update_enrol_backoff`]),
//! so a burst of parallel requests, on one process or spread over several, gets no extra
//! tries. An attempt during a wait is refused from a read of the counters, and writes
//! nothing. Within a process, attempts on one counter take turns ([`Gate`]), so of a
//! burst only the attempts that are let through reach a write; across processes, one
//! attempt per other process may find the wait begun only inside the change. An attempt
//! that enrols forgives the licence's count (and its own count at the source). Unknown
//! licence numbers are throttled exactly like known ones, so the answers do not tell which
//! exist. The counters are named by digests keyed by the KEK, so the store holds neither
//! licence numbers nor addresses. Which address a request's source is, behind a load
//! balancer, is [`crate::forwarded`]'s (D199).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::config::{Backoff, EnrolLimits};
use crate::error::{Error, Result};
use crate::seal::KeyedDigest;
use crate::store::{BackoffEntry, BackoffKey, RegistryStore};

/// What a licence number's counter is named by (its label for [`KeyedDigest`]).
const LICENCE_LABEL: &[u8] = b"enrolment licence number";
/// What a source's counter is named by.
const SOURCE_LABEL: &[u8] = b"enrolment source";

/// Seconds `entry` must still wait at `now`, if any.
fn locked(entry: &Option<BackoffEntry>, now: u64) -> Option<u64> {
    entry
        .filter(|e| e.locked_until > now)
        .map(|e| e.locked_until - now)
}

/// The longest wait of `entries` at `now`, if any.
fn wait(entries: &[Option<BackoffEntry>], now: u64) -> Option<u64> {
    entries.iter().filter_map(|e| locked(e, now)).max()
}

/// When an entry stops meaning anything: its wait is over and its count forgotten.
fn expiry(rule: Backoff, last: u64, locked_until: u64) -> u64 {
    last.saturating_add(rule.memory).max(locked_until)
}

/// `entry` with one more attempt counted at `now`: the next one waits by `rule`.
fn count(entry: Option<BackoffEntry>, rule: Backoff, now: u64) -> BackoffEntry {
    let attempts = match entry {
        // Failures long ago are forgiven.
        Some(e) if now < e.last.saturating_add(rule.memory) => e.attempts,
        _ => 0,
    }
    .saturating_add(1);
    let locked_until = now.saturating_add(rule.delay(attempts));
    BackoffEntry {
        attempts,
        last: now,
        locked_until,
        expires_at: expiry(rule, now, locked_until),
    }
}

/// `entry` with the attempt counted for a success taken back; `None` once nothing is left.
fn uncount(entry: Option<BackoffEntry>, rule: Backoff, now: u64) -> Option<BackoffEntry> {
    let e = entry?;
    let attempts = e.attempts.saturating_sub(1);
    let locked_until = if attempts == 0 {
        0
    } else {
        e.last.saturating_add(rule.delay(attempts))
    };
    if attempts == 0 && locked_until <= now {
        return None;
    }
    Some(BackoffEntry {
        attempts,
        last: e.last,
        locked_until,
        expires_at: expiry(rule, e.last, locked_until),
    })
}

/// Where a request came from, as throttled: an IPv4 address, or an IPv6 /64 (one
/// subscriber's allocation), or `None` when unknown (all unknowns share one count).
pub type SourceKey = Option<[u8; 8]>;

/// The source key of `ip`.
pub fn source_key(ip: Option<IpAddr>) -> SourceKey {
    ip.map(|ip| match ip.to_canonical() {
        // As the first 8 bytes of its IPv4-mapped IPv6 form with the address moved up:
        // `0:ffff:` then the address, a prefix inside `::/8`, which the IETF reserves and
        // no subscriber is given, so no /64 shares it (second review, H-F6: an IPv4
        // address's key was its 4 bytes then zeros, the key of a /64 such as 2400:cb00::).
        IpAddr::V4(v4) => {
            let mut k = [0, 0, 0xff, 0xff, 0, 0, 0, 0];
            k[4..].copy_from_slice(&v4.octets());
            k
        }
        IpAddr::V6(v6) => {
            let mut k = [0u8; 8];
            k.copy_from_slice(&v6.octets()[..8]);
            k
        }
    })
}

/// The stored name of `licence_number`'s counter.
fn licence_name(kek: &dyn KeyedDigest, licence_number: &str) -> BackoffKey {
    short(kek.keyed_digest(LICENCE_LABEL, licence_number.as_bytes()))
}

/// The stored name of `source`'s counter: a tag byte (1: known, 0: unknown) and the key.
fn source_name(kek: &dyn KeyedDigest, source: SourceKey) -> BackoffKey {
    let mut data = [0u8; 9];
    if let Some(k) = source {
        data[0] = 1;
        data[1..].copy_from_slice(&k);
    }
    let len = if source.is_some() { 9 } else { 1 };
    short(kek.keyed_digest(SOURCE_LABEL, &data[..len]))
}

fn short(digest: [u8; 32]) -> BackoffKey {
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// Entries of the [`Gate`] from which on those no attempt holds or waits for are dropped
/// (a request that ended while its attempt waited can leave one behind). Each request in
/// flight holds or waits for two at most, so this is above what the default 1,024
/// connections can hold.
const GATE_PRUNE_AT: usize = 4096;

/// A turn per counter, for the attempts of this process.
type Turnstiles = HashMap<BackoffKey, Arc<tokio::sync::Mutex<()>>>;

/// Turns for the attempts of this process on each counter: an attempt holds its counters'
/// turns from its read to its write, so the next attempt on one of them reads what it
/// wrote, and a burst refused by the wait it began is refused by reads, not inside
/// changes. Only counters with an attempt in flight or waiting have an entry (and at most
/// [`GATE_PRUNE_AT`] left behind), so it holds no more than the requests being served.
#[derive(Debug, Default)]
struct Gate {
    turns: Mutex<Turnstiles>,
}

/// The turns an attempt holds; given back when dropped.
struct Turns<'a> {
    gate: &'a Gate,
    held: Vec<(BackoffKey, OwnedMutexGuard<()>)>,
}

impl Gate {
    /// Waits for the turns of `keys` (in key order, so two attempts never wait for each
    /// other's).
    async fn take(&self, keys: &[BackoffKey]) -> Turns<'_> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let mut turns = Turns {
            gate: self,
            held: Vec::with_capacity(keys.len()),
        };
        for key in keys {
            let turn = {
                let mut all = self.lock();
                if all.len() >= GATE_PRUNE_AT {
                    all.retain(|_, t| Arc::strong_count(t) > 1);
                }
                all.entry(key).or_default().clone()
            };
            turns.held.push((key, turn.lock_owned().await));
        }
        turns
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Turnstiles> {
        self.turns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Turns<'_> {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        let mut turns = self.gate.lock();
        for (key, guard) in held {
            drop(guard);
            // Nobody else holds or waits for this turn (they would hold a clone, taken
            // under this lock): forget it.
            if turns.get(&key).is_some_and(|t| Arc::strong_count(t) == 1) {
                turns.remove(&key);
            }
        }
    }
}

/// The enrolment throttle: one counter per licence number and one per source, kept in the
/// store under names keyed by the KEK, each with its rule of [`EnrolLimits`].
#[derive(Debug)]
pub struct EnrolThrottle {
    limits: EnrolLimits,
    gate: Gate,
}

/// An attempt let through; give it back to [`EnrolThrottle::succeeded`] if it enrolled.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    licence: BackoffKey,
    source: BackoffKey,
}

impl EnrolThrottle {
    /// A throttle with `limits`.
    pub fn new(limits: EnrolLimits) -> Self {
        EnrolThrottle {
            limits,
            gate: Gate::default(),
        }
    }

    /// Lets an attempt on `licence_number` from `source` through and counts it in `store`,
    /// or refuses it (`LockedOut` with the longer of the two waits) without counting. The
    /// counters are named under `kek`.
    pub async fn attempt(
        &self,
        store: &dyn RegistryStore,
        kek: &dyn KeyedDigest,
        licence_number: &str,
        source: SourceKey,
        now: u64,
    ) -> Result<Attempt> {
        let attempt = Attempt {
            licence: licence_name(kek, licence_number),
            source: source_name(kek, source),
        };
        let keys = [attempt.licence, attempt.source];
        let _turns = self.gate.take(&keys).await;
        // A wait is answered from a read: a caller who keeps trying during it costs no
        // write. What the read lets through is decided again inside the change (another
        // process may have counted an attempt since).
        if let Some(retry_after) = wait(&store.enrol_backoff(&keys).await?, now) {
            return Err(Error::LockedOut { retry_after });
        }
        let rules = [self.limits.licence, self.limits.source];
        store
            .update_enrol_backoff(
                &keys,
                Arc::new(move |entries| {
                    if let Some(retry_after) = wait(entries, now) {
                        // Another attempt was counted since the read.
                        return Err(Error::LockedOut { retry_after });
                    }
                    for (entry, rule) in entries.iter_mut().zip(rules) {
                        *entry = Some(count(*entry, rule, now));
                    }
                    Ok(())
                }),
            )
            .await?;
        Ok(attempt)
    }

    /// The attempt enrolled: the licence starts over, and the source's count of it is
    /// taken back.
    pub async fn succeeded(
        &self,
        store: &dyn RegistryStore,
        attempt: Attempt,
        now: u64,
    ) -> Result<()> {
        let rule = self.limits.source;
        let _turns = self.gate.take(&[attempt.licence, attempt.source]).await;
        store
            .update_enrol_backoff(
                &[attempt.licence, attempt.source],
                Arc::new(move |entries| {
                    entries[0] = None;
                    entries[1] = uncount(entries[1], rule, now);
                    Ok(())
                }),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::seal::FileKek;
    use crate::store::sqlite::SqliteStore;

    fn limits() -> EnrolLimits {
        EnrolLimits::default()
    }

    /// A throttle over a real store in a temp dir (the integration tests run both backends).
    struct Fixture {
        _dir: tempfile::TempDir,
        store: SqliteStore,
        kek: FileKek,
        throttle: EnrolThrottle,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let clock = Arc::new(ManualClock::new(0));
            let store = SqliteStore::open(&dir.path().join("t.db"), 2, clock, 600).unwrap();
            Fixture {
                _dir: dir,
                store,
                kek: FileKek::new(&[7; 32]),
                throttle: EnrolThrottle::new(limits()),
            }
        }

        async fn attempt(&self, number: &str, source: u8, now: u64) -> Result<Attempt> {
            self.throttle
                .attempt(&self.store, &self.kek, number, Some([source; 8]), now)
                .await
        }
    }

    #[tokio::test]
    async fn a_licence_backs_off_up_to_its_cap_and_a_success_starts_over() {
        let t = Fixture::new();
        let l = limits().licence;
        let mut now = 1000;
        for _ in 0..l.free {
            t.attempt("L", 1, now).await.unwrap();
        }
        let a = t.attempt("L", 2, now).await.unwrap();
        let Err(Error::LockedOut { retry_after }) = t.attempt("L", 3, now).await else {
            panic!("not locked out");
        };
        assert_eq!(retry_after, l.base);
        t.throttle.succeeded(&t.store, a, now).await.unwrap();
        t.attempt("L", 3, now).await.unwrap();
        // Many failures: never more than the cap.
        for i in 0..50u8 {
            now += l.cap;
            t.attempt("M", i, now).await.unwrap();
        }
        let Err(Error::LockedOut { retry_after }) = t.attempt("M", 99, now).await else {
            panic!("not locked out");
        };
        assert!(retry_after <= l.cap);
    }

    #[tokio::test]
    async fn a_source_backs_off_and_a_success_takes_its_own_attempt_back() {
        let t = Fixture::new();
        let s = limits().source;
        let now = 1000;
        for i in 0..s.free {
            t.attempt(&format!("N{i}"), 1, now).await.unwrap();
        }
        let a = t.attempt("ours", 1, now).await.unwrap();
        let Err(Error::LockedOut { retry_after }) = t.attempt("other", 1, now).await else {
            panic!("not locked out");
        };
        assert_eq!(retry_after, s.base);
        // The enrolment that succeeded is not held against its source.
        t.throttle.succeeded(&t.store, a, now).await.unwrap();
        t.attempt("other", 1, now).await.unwrap();
        // A refused attempt counted nothing: the next wait is still the first one.
        assert!(t.attempt("more", 1, now).await.is_err());
        assert!(t.attempt("more", 1, now).await.is_err());
        let Err(Error::LockedOut { retry_after }) = t.attempt("more", 1, now + 1).await else {
            panic!("not locked out");
        };
        assert_eq!(retry_after, s.base - 1);
    }

    #[test]
    fn counts_are_forgotten_after_the_rule_s_memory_and_expire_with_it() {
        let l = limits().licence;
        let mut e = None;
        for _ in 0..=l.free {
            e = Some(count(e, l, 10));
        }
        let e = e.unwrap();
        assert_eq!((e.attempts, e.locked_until), (l.free + 1, 10 + l.base));
        assert_eq!(e.expires_at, 10 + l.memory);
        // A day after the last attempt the count starts over, as if no row were there.
        let later = count(Some(e), l, e.expires_at);
        assert_eq!(later, count(None, l, e.expires_at));
        assert_eq!(later.attempts, 1);
        // Taking back the only attempt leaves nothing to store.
        assert_eq!(uncount(Some(count(None, l, 10)), l, 10), None);
    }

    #[test]
    fn stored_names_are_keyed_and_apart_per_counter() {
        let a = FileKek::new(&[7; 32]);
        let b = FileKek::new(&[8; 32]);
        assert_ne!(licence_name(&a, "L"), licence_name(&b, "L"));
        assert_ne!(licence_name(&a, "L"), licence_name(&a, "M"));
        assert_ne!(source_name(&a, Some([1; 8])), source_name(&b, Some([1; 8])));
        assert_ne!(source_name(&a, None), source_name(&a, Some([0; 8])));
        // The same bytes as a licence number and as a source name two counters.
        let bytes = [1u8, 0, 0, 0, 0, 0, 0, 0, 0];
        let as_number = std::str::from_utf8(&bytes).unwrap();
        assert_ne!(licence_name(&a, as_number), source_name(&a, Some([0; 8])));
    }

    #[tokio::test]
    async fn turns_are_taken_one_at_a_time_per_counter_and_forgotten_when_free() {
        let gate = Arc::new(Gate::default());
        let (a, b, c) = ([1; 16], [2; 16], [3; 16]);
        let first = gate.take(&[b, a]).await;
        // Another counter is free; one of the held ones is not.
        drop(gate.take(&[c]).await);
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _t = gate.take(&[a, c]).await;
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "took a turn another attempt holds");
        drop(first);
        waiting.await.unwrap();
        assert!(
            gate.lock().is_empty(),
            "turns kept after every attempt ended"
        );
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

    #[test]
    fn an_ipv4_address_and_an_ipv6_64_never_share_a_count() {
        // 2400:cb00::/64 and 36.0.203.0 had the same key (second review, H-F6).
        let pairs = [
            ("2400:cb00::1", "36.0.203.0"),
            ("a00:1::1", "10.0.0.1"),
            ("7f00:1::", "127.0.0.1"),
        ];
        for (v6, v4) in pairs {
            assert_ne!(
                source_key(Some(v6.parse().unwrap())),
                source_key(Some(v4.parse().unwrap())),
                "{v6} and {v4}"
            );
        }
    }
}
