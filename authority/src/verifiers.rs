//! Verifier accounts found by API key, remembered in this process (D114) for a short while
//! (D194). A verifier row changes only when it is revoked, so a key found once stays good
//! until then and a check need not read it at every request. A revocation made here forgets
//! every key at once; one made through another authority process on the same database is
//! seen here once the key's entry is older than `Config::verifier_recheck` (10 s by default)
//! and read again. Keys not found are not remembered: another process may create them a
//! moment later, and random keys sent by a prober must not fill the memory.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::store::VerifierRow;

/// Verifiers remembered at most. A national deployment has tens of thousands of
/// verifier accounts; past this the cache starts again (each key is read once more).
const MAX_VERIFIERS: usize = 100_000;

/// Verifier rows by the SHA-256 of their API key, with when each was read.
pub struct VerifierCache {
    by_key_hash: RwLock<HashMap<[u8; 32], (VerifierRow, Instant)>>,
    capacity: usize,
    recheck: Duration,
    /// Counts [`VerifierCache::forget_all`]: a row read before a revocation here is not
    /// remembered after it.
    forgotten: AtomicU64,
}

/// When a lookup began ([`VerifierCache::lookup_begins`]): by [`VerifierCache::forget_all`]'s
/// count, and by the clock an entry's age is counted from (before the row is read, so an
/// entry is never younger than what it holds; twenty-third review, AD-F2).
#[derive(Debug, Clone, Copy)]
pub struct Lookup(u64, Instant);

impl VerifierCache {
    /// A cache whose entries are read again once older than `recheck`.
    pub fn new(recheck: Duration) -> Self {
        VerifierCache::with_capacity(MAX_VERIFIERS, recheck)
    }

    /// A cache of at most `capacity` verifiers, read again once older than `recheck`.
    pub fn with_capacity(capacity: usize, recheck: Duration) -> Self {
        VerifierCache {
            by_key_hash: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
            recheck,
            forgotten: AtomicU64::new(0),
        }
    }

    /// Taken before a verifier is read from the store, and handed to
    /// [`VerifierCache::remember`] with what was read.
    pub fn lookup_begins(&self) -> Lookup {
        Lookup(self.forgotten.load(Ordering::SeqCst), Instant::now())
    }

    /// The verifier whose key hashes to `key_hash`, if read less than `recheck` ago.
    pub fn get(&self, key_hash: &[u8; 32]) -> Option<VerifierRow> {
        let map = self.by_key_hash.read().unwrap_or_else(|e| e.into_inner());
        map.get(key_hash)
            .filter(|(_, read)| read.elapsed() < self.recheck)
            .map(|(verifier, _)| verifier.clone())
    }

    /// Remembers a verifier the store found by `key_hash` in the lookup that began at
    /// `began`, as read then, unless every verifier was forgotten since: the row may have been read
    /// before a revocation made here, which must be seen at once (D194).
    pub fn remember(&self, key_hash: [u8; 32], verifier: VerifierRow, began: Lookup) {
        let mut map = self.by_key_hash.write().unwrap_or_else(|e| e.into_inner());
        // Under the lock `forget_all` clears with, so no clearing falls in between.
        if self.forgotten.load(Ordering::SeqCst) != began.0 {
            return;
        }
        if map.len() >= self.capacity && !map.contains_key(&key_hash) {
            // Bounded without an eviction order: forgetting a row costs one read, never a
            // wrong answer.
            map.clear();
        }
        map.insert(key_hash, (verifier, began.1));
    }

    /// Forgets every verifier: one was revoked here, and its key is not known (only its
    /// id), so each key is read once more.
    pub fn forget_all(&self) {
        let mut map = self.by_key_hash.write().unwrap_or_else(|e| e.into_inner());
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        map.clear();
    }

    /// Verifiers remembered now (for the bound's test).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_key_hash
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::wire::VerifierClass;

    fn row(id: u64) -> VerifierRow {
        VerifierRow {
            id,
            name: format!("verifier {id}"),
            class: VerifierClass::Rental,
        }
    }

    #[test]
    fn a_remembered_verifier_is_found_by_its_key_hash_and_no_other() {
        let cache = VerifierCache::new(Duration::from_secs(60));
        assert_eq!(cache.get(&[1; 32]), None);
        cache.remember([1; 32], row(7), cache.lookup_begins());
        assert_eq!(cache.get(&[1; 32]), Some(row(7)));
        assert_eq!(cache.get(&[2; 32]), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = VerifierCache::with_capacity(3, Duration::from_secs(60));
        for n in 0..10u8 {
            cache.remember([n; 32], row(u64::from(n)), cache.lookup_begins());
            assert!(cache.len() <= 3, "{} after {n}", cache.len());
            // The one just remembered is always there.
            assert_eq!(cache.get(&[n; 32]), Some(row(u64::from(n))));
        }
        // Remembering a key already held does not start the cache again.
        let before = cache.len();
        cache.remember([9; 32], row(9), cache.lookup_begins());
        assert_eq!(cache.len(), before);
    }

    #[test]
    fn a_verifier_is_read_again_once_its_entry_is_older_than_the_recheck() {
        let cache = VerifierCache::new(Duration::from_millis(50));
        cache.remember([1; 32], row(7), cache.lookup_begins());
        assert_eq!(cache.get(&[1; 32]), Some(row(7)));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&[1; 32]), None, "asked of the store again");
        // A recheck of zero remembers nothing.
        let none = VerifierCache::new(Duration::ZERO);
        none.remember([1; 32], row(7), none.lookup_begins());
        assert_eq!(none.get(&[1; 32]), None);
    }

    #[test]
    fn forgetting_all_forgets_every_key() {
        let cache = VerifierCache::new(Duration::from_secs(60));
        cache.remember([1; 32], row(7), cache.lookup_begins());
        cache.remember([2; 32], row(8), cache.lookup_begins());
        cache.forget_all();
        assert_eq!((cache.get(&[1; 32]), cache.get(&[2; 32])), (None, None));
    }

    #[test]
    fn a_row_read_before_every_verifier_was_forgotten_is_not_remembered() {
        let cache = VerifierCache::new(Duration::from_secs(60));
        // A lookup reads the row; a revocation here forgets all before it is remembered.
        let began = cache.lookup_begins();
        cache.forget_all();
        cache.remember([1; 32], row(7), began);
        assert_eq!(cache.get(&[1; 32]), None, "read again, and found revoked");
        // A lookup begun after it is remembered.
        cache.remember([1; 32], row(7), cache.lookup_begins());
        assert_eq!(cache.get(&[1; 32]), Some(row(7)));
    }
}
