//! The authority's root key (D72): it signs the trust list and nothing else, and it never
//! lives in the issuing database. It is read from its own file (`EDL_AUTHORITY_ROOT_KEY_FILE`,
//! 64 hex characters, mode 0600) or from `EDL_AUTHORITY_ROOT_KEY`; `edl authority root
//! create` makes the file and `edl authority root sign` re-signs a list offline.

use std::io::Write;
use std::path::Path;

use edl_core::credential::{TrustList, TrustListContents, TrustedKey};
use edl_core::crypto::{PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::random;

/// The environment variable holding the root seed in hex.
pub const ROOT_KEY_ENV: &str = "EDL_AUTHORITY_ROOT_KEY";
/// The environment variable naming the root key file.
pub const ROOT_KEY_FILE_ENV: &str = "EDL_AUTHORITY_ROOT_KEY_FILE";
/// How long a signed trust list is accepted: a week, so a verifier offline for days
/// still holds a valid list, while a retired key leaves every list within a week.
pub const TRUST_LIST_LIFETIME: u32 = 7 * 24 * 3600;
/// Lists are re-signed on the hour, so every replica serves the same bytes in an hour.
const RESIGN_EVERY: u64 = 3600;

/// Whether an issuing key whose period ends at `not_after` (`u32::MAX` while current) is
/// in the trust list at `now`: a retired key stays while what it signed may be in use
/// (`kept_for` seconds after its retirement), and leaves at the first hour boundary after,
/// where the list's sequence changes anyway. Leaving mid-hour changed the keys under the
/// hour's sequence, and verifiers that had refreshed in that hour refused the current list
/// as rolled back until the next (thirty-first review, AL-F1).
pub fn listed(not_after: u32, now: u64, kept_for: u64) -> bool {
    not_after == u32::MAX
        || u64::from(not_after).saturating_add(kept_for) >= now - now % RESIGN_EVERY
}

/// The keys of `keys` as they stand at `now`, as the root signs them then: those
/// [`listed`], whatever moment of the hour the set in memory was last read from the store;
/// and, on a process whose clock is behind another's that just rotated, the set before
/// that rotation (a key not yet begun left out, a retirement not yet come shown as none),
/// which is exactly the list it signed before, under the same sequence (thirty-second
/// review, AM-F3).
pub fn listed_at(keys: &TrustList, now: u64, kept_for: u64) -> TrustList {
    let kept: Vec<TrustedKey> = keys
        .keys()
        .iter()
        .filter(|k| u64::from(k.not_before) <= now && listed(k.not_after, now, kept_for))
        .map(|k| TrustedKey {
            not_after: if u64::from(k.not_after) > now {
                u32::MAX
            } else {
                k.not_after
            },
            ..*k
        })
        .collect();
    // A subset of a valid list, each period as valid or open-ended: `new` cannot refuse it.
    TrustList::new(kept).expect("a subset of a valid trust list is one")
}

/// The latest key event (a key's start or retirement) of `keys`, if any.
pub fn latest_key_event(keys: &TrustList) -> Option<u64> {
    keys.keys()
        .iter()
        .flat_map(|k| [k.not_before, k.not_after])
        .filter(|t| *t != u32::MAX)
        .map(u64::from)
        .max()
}

/// Why the root key could not be made or read. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum RootKeyError {
    /// The file could not be read or written.
    #[error("root key file: {0}")]
    Io(#[from] std::io::Error),
    /// Not 32 bytes of hex.
    #[error("the root key is not 64 hex characters")]
    Malformed,
    /// `create` refuses to replace a root: every verifier pinned it.
    #[error("a root key file already exists there: a new root must be announced by the old one")]
    Exists,
}

/// The root signing key, in memory only for as long as it signs.
pub struct RootKey(SecretKey);

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RootKey").field(&self.public()).finish()
    }
}

impl RootKey {
    /// A root from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        RootKey(SecretKey::from_seed(seed))
    }

    /// Makes a new random root in `path` (mode 0600, refused if the file exists).
    pub fn create(path: &Path) -> Result<Self, RootKeyError> {
        let seed = Zeroizing::new(random::bytes::<32>());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => RootKeyError::Exists,
            _ => RootKeyError::Io(e),
        })?;
        file.write_all(Zeroizing::new(hex::encode(&seed[..])).as_bytes())?;
        file.sync_all()?;
        Ok(Self::from_seed(*seed))
    }

    /// Reads the root from `path`.
    pub fn load(path: &Path) -> Result<Self, RootKeyError> {
        let text = crate::key_file::read(path)?;
        Self::parse(text.trim_ascii())
    }

    /// The root from `EDL_AUTHORITY_ROOT_KEY`, else the file `EDL_AUTHORITY_ROOT_KEY_FILE`,
    /// else `None` (the server then serves no root-signed list).
    pub fn from_env() -> Result<Option<Self>, RootKeyError> {
        if let Ok(hex_seed) = std::env::var(ROOT_KEY_ENV) {
            return Self::parse(Zeroizing::new(hex_seed).trim().as_bytes()).map(Some);
        }
        match std::env::var_os(ROOT_KEY_FILE_ENV) {
            Some(path) => Self::load(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    fn parse(hex_seed: &[u8]) -> Result<Self, RootKeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed, &mut seed[..]).map_err(|_| RootKeyError::Malformed)?;
        Ok(Self::from_seed(*seed))
    }

    /// The public root verifiers pin.
    pub fn public(&self) -> PublicKey {
        self.0.public()
    }

    /// The trust list `keys` signed at `now`, announcing `next_root` if any (see
    /// [`contents`]).
    pub fn sign(&self, keys: &TrustList, now: u64, next_root: Option<PublicKey>) -> Vec<u8> {
        contents(keys, now, next_root).sign(&self.0)
    }

    /// Signs `contents` as they are: `edl authority root sign` sets its own times and
    /// may announce the next root (D94).
    pub fn sign_contents(&self, contents: &TrustListContents) -> Vec<u8> {
        contents.sign(&self.0)
    }
}

/// What the root signs for `keys` at `now`. The issue time is the hour `now` falls in,
/// or a later key event (a key starting or retiring) already past: so the bytes are the
/// same all hour on every replica, and a rotation makes a new list at once. The
/// sequence is the issue time, which only grows. `next_root` is the successor the
/// operator announces (`EDL_AUTHORITY_NEXT_ROOT`, D107): verifiers holding this list will
/// follow a list signed by it.
pub fn contents(keys: &TrustList, now: u64, next_root: Option<PublicKey>) -> TrustListContents {
    let hour = now - now % RESIGN_EVERY;
    let latest_event = keys
        .keys()
        .iter()
        .flat_map(|k| [u64::from(k.not_before), u64::from(k.not_after)])
        .filter(|t| *t <= now)
        .max()
        .unwrap_or(0);
    let issued_at = u32::try_from(hour.max(latest_event)).unwrap_or(u32::MAX);
    TrustListContents {
        sequence: issued_at,
        issued_at,
        expires_at: issued_at.saturating_add(TRUST_LIST_LIFETIME),
        next_root,
        keys: keys.clone(),
    }
}

/// Whether a key event at `now` (a rotation: a key starting, the others retiring) gives
/// the trust list a sequence no list signed before it had. The sequence is the hour or the
/// latest key event past, so an event in an hour's first second, or in the second of an
/// earlier event, left it as it was with other keys, and a verifier holding the list from
/// just before refused the current one as rolled back until the hour turned (thirtieth
/// review, AK-F2). An event at or after `now` refuses too: after it, a rotation dated
/// before it would retire that key before it began (AL-F5; [`latest_key_event`] tells
/// the caller which case it is).
pub fn a_new_sequence_at(keys: &TrustList, now: u64) -> bool {
    let hour = now - now % RESIGN_EVERY;
    hour < now && latest_key_event(keys).is_none_or(|t| t < now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::credential::TrustAnchor;
    use edl_core::crypto::{KeyId, SecretKey};

    fn key(kid: u16, not_before: u32, not_after: u32) -> TrustedKey {
        TrustedKey {
            kid: KeyId(kid),
            key: SecretKey::from_seed([kid as u8; 32]).public(),
            not_before,
            not_after,
        }
    }

    /// A process whose clock is behind another's that just rotated signs, until its clock
    /// passes the rotation, the very list it signed before the rotation, under the same
    /// sequence: not the new keys under the old sequence (thirty-second review, AM-F3).
    #[test]
    fn a_clock_behind_a_rotation_signs_the_list_from_before_it() {
        let rotated_at = 1_800_001_800;
        let before = TrustList::new(vec![key(1, 1_800_000_000, u32::MAX)]).unwrap();
        let after = TrustList::new(vec![
            key(1, 1_800_000_000, rotated_at),
            key(2, rotated_at, u32::MAX),
        ])
        .unwrap();
        let root = RootKey::from_seed([1; 32]);
        let behind = u64::from(rotated_at) - 3;
        let life = 72 * 3600;
        assert_eq!(
            root.sign(&listed_at(&after, behind, life), behind, None),
            root.sign(&before, behind, None)
        );
        let at = u64::from(rotated_at);
        assert_eq!(listed_at(&after, at, life), after);
        assert!(contents(&after, at, None).sequence > contents(&before, behind, None).sequence);
    }

    #[test]
    fn contents_carry_the_announced_next_root_and_nothing_else_changes() {
        let keys = TrustList::new(Vec::new()).unwrap();
        let now = 1_800_000_123;
        let next = SecretKey::from_seed([9; 32]).public();
        let plain = contents(&keys, now, None);
        let announcing = contents(&keys, now, Some(next));
        assert_eq!(plain.next_root, None);
        assert_eq!(announcing.next_root, Some(next));
        assert_eq!(
            (
                announcing.sequence,
                announcing.issued_at,
                announcing.expires_at
            ),
            (plain.sequence, plain.issued_at, plain.expires_at),
            "the announcement does not move the list's times"
        );

        // A verifier pinned to the root takes the announcing list, then one signed by
        // the next root, and then no longer one signed by the old root.
        let root = RootKey::from_seed([1; 32]);
        let mut anchor = TrustAnchor::pinned(root.public());
        anchor
            .accept(&root.sign(&keys, now, Some(next)), now, 5)
            .expect("the announcing list");
        let later = now + 3600;
        let new_root = RootKey::from_seed([9; 32]);
        anchor
            .accept(&new_root.sign(&keys, later, None), later, 5)
            .expect("a list of the announced root");
        assert_eq!(anchor.root(), next);
        let old = root.sign(&keys, later + 3600, None);
        assert!(anchor.accept(&old, later + 3600, 5).is_err());
    }
}
