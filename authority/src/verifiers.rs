//! Verifier accounts found by API key, remembered in this process (D114). A verifier row
//! never changes once created (no operation edits or removes one), so a key found once
//! stays good for the life of the process and a check need not read it again. Keys not
//! found are not remembered: another authority process on the same database may create
//! them a moment later, and random keys sent by a prober must not fill the memory.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::store::VerifierRow;

/// Verifiers remembered at most. A national deployment has tens of thousands of
/// verifier accounts; past this the cache starts again (each key is read once more).
const MAX_VERIFIERS: usize = 100_000;

/// Verifier rows by the SHA-256 of their API key.
pub struct VerifierCache {
    by_key_hash: RwLock<HashMap<[u8; 32], VerifierRow>>,
    capacity: usize,
}

impl Default for VerifierCache {
    fn default() -> Self {
        VerifierCache::with_capacity(MAX_VERIFIERS)
    }
}

impl VerifierCache {
    /// A cache of at most `capacity` verifiers.
    pub fn with_capacity(capacity: usize) -> Self {
        VerifierCache {
            by_key_hash: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The verifier whose key hashes to `key_hash`, if found before.
    pub fn get(&self, key_hash: &[u8; 32]) -> Option<VerifierRow> {
        let map = self.by_key_hash.read().unwrap_or_else(|e| e.into_inner());
        map.get(key_hash).cloned()
    }

    /// Remembers a verifier the store found by `key_hash`.
    pub fn remember(&self, key_hash: [u8; 32], verifier: VerifierRow) {
        let mut map = self.by_key_hash.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&key_hash) {
            // Bounded without an eviction order: the rows are all still valid, so
            // forgetting them costs one read each, never a wrong answer.
            map.clear();
        }
        map.insert(key_hash, verifier);
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
        let cache = VerifierCache::default();
        assert_eq!(cache.get(&[1; 32]), None);
        cache.remember([1; 32], row(7));
        assert_eq!(cache.get(&[1; 32]), Some(row(7)));
        assert_eq!(cache.get(&[2; 32]), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = VerifierCache::with_capacity(3);
        for n in 0..10u8 {
            cache.remember([n; 32], row(u64::from(n)));
            assert!(cache.len() <= 3, "{} after {n}", cache.len());
            // The one just remembered is always there.
            assert_eq!(cache.get(&[n; 32]), Some(row(u64::from(n))));
        }
        // Remembering a key already held does not start the cache again.
        let before = cache.len();
        cache.remember([9; 32], row(9));
        assert_eq!(cache.len(), before);
    }
}
