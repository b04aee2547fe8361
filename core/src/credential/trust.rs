//! The trust list: the issuer public keys a verifier accepts, each for a period.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{KeyId, PublicKey};

use super::CredentialError;

/// Format version of the encoded trust list.
const VERSION: u8 = 1;
/// A trust list holds at most this many keys (it only grows by rotation).
const MAX_KEYS: usize = 64;

/// One issuer key and the period in which it signed views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its id, as named in every view it signs.
    pub kid: KeyId,
    /// The Ed25519 public key.
    pub key: PublicKey,
    /// Views issued before this time (unix seconds) are not accepted under this key.
    pub not_before: u32,
    /// Views issued after this time are not accepted: set when the key is retired, so
    /// its earlier views keep verifying until they expire, while a leaked retired key
    /// cannot mint new ones. `u32::MAX` while the key is current.
    pub not_after: u32,
}

impl TrustedKey {
    /// Whether `issued_at` lies in the key's period (both ends inclusive).
    pub fn covers(&self, issued_at: u32) -> bool {
        self.not_before <= issued_at && issued_at <= self.not_after
    }
}

/// The issuer keys a verifier accepts. Verifiers fetch it from the authority (or ship
/// it) and check offline against it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustList {
    keys: Vec<TrustedKey>,
}

impl TrustList {
    /// A list of `keys`; ids must be unique (sorted here so the encoding is canonical) and
    /// each key's period must not end before it starts, as [`TrustList::decode`] demands.
    pub fn new(mut keys: Vec<TrustedKey>) -> Result<Self, CredentialError> {
        keys.sort_by_key(|k| k.kid);
        if keys.windows(2).any(|w| w[0].kid == w[1].kid) || keys.len() > MAX_KEYS {
            return Err(CredentialError::InvalidField("trust_list.kid"));
        }
        if keys.iter().any(|k| k.not_before > k.not_after) {
            return Err(CredentialError::InvalidField("trust_list.not_after"));
        }
        Ok(TrustList { keys })
    }

    /// The keys, ordered by id.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The entry of key `kid`, whatever its period.
    pub fn entry(&self, kid: KeyId) -> Option<&TrustedKey> {
        self.keys
            .binary_search_by_key(&kid, |k| k.kid)
            .ok()
            .map(|i| &self.keys[i])
    }

    /// The key `kid` if it was valid at `issued_at`.
    pub fn key_for(&self, kid: KeyId, issued_at: u32) -> Option<&PublicKey> {
        self.entry(kid)
            .filter(|k| k.covers(issued_at))
            .map(|k| &k.key)
    }

    /// `version u8 | count u8 | count × (kid u16 | key [32] | not_before u32 | not_after u32)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(2 + self.keys.len() * 42);
        w.u8(VERSION).u8(self.keys.len() as u8);
        for k in &self.keys {
            w.u16(k.kid.0)
                .raw(&k.key.to_bytes())
                .u32(k.not_before)
                .u32(k.not_after);
        }
        w.into_bytes()
    }

    /// Decodes [`TrustList::encode`] output; ids must be strictly increasing.
    pub fn decode(bytes: &[u8]) -> Result<Self, CredentialError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(CredentialError::UnsupportedVersion(version));
        }
        let count = usize::from(r.u8("count")?);
        if count > MAX_KEYS {
            return Err(DecodeError::BadValue("count").into());
        }
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            let kid = KeyId(r.u16("kid")?);
            let key = PublicKey::from_bytes(&r.array("key")?)?;
            let not_before = r.u32("not_before")?;
            let not_after = r.u32("not_after")?;
            if keys.last().is_some_and(|k: &TrustedKey| k.kid >= kid) {
                return Err(DecodeError::BadValue("kid").into());
            }
            if not_before > not_after {
                return Err(DecodeError::BadValue("not_after").into());
            }
            keys.push(TrustedKey {
                kid,
                key,
                not_before,
                not_after,
            });
        }
        r.finish()?;
        Ok(TrustList { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    fn key(kid: u16, not_before: u32, not_after: u32) -> TrustedKey {
        TrustedKey {
            kid: KeyId(kid),
            key: SecretKey::from_seed([kid as u8; 32]).public(),
            not_before,
            not_after,
        }
    }

    #[test]
    fn retired_key_verifies_old_views_but_not_new_ones() {
        let list = TrustList::new(vec![key(2, 1000, u32::MAX), key(1, 0, 999)]).unwrap();
        assert!(list.key_for(KeyId(1), 500).is_some());
        assert!(list.key_for(KeyId(1), 1500).is_none());
        assert!(list.key_for(KeyId(2), 1500).is_some());
        assert!(list.key_for(KeyId(2), 500).is_none());
        assert!(list.key_for(KeyId(3), 500).is_none());
    }

    #[test]
    fn encoding_round_trips_and_rejects_duplicates_and_disorder() {
        let list = TrustList::new(vec![key(2, 10, 20), key(1, 0, 5)]).unwrap();
        let bytes = list.encode();
        assert_eq!(TrustList::decode(&bytes).unwrap(), list);
        assert!(TrustList::new(vec![key(1, 0, 1), key(1, 0, 1)]).is_err());
        // Swap the two entries: ids out of order is not canonical.
        let mut swapped = bytes.clone();
        swapped[2..44].copy_from_slice(&bytes[44..86]);
        swapped[44..86].copy_from_slice(&bytes[2..44]);
        assert!(TrustList::decode(&swapped).is_err());
        assert!(TrustList::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn a_key_whose_period_ends_before_it_starts_is_refused_both_ways() {
        assert_eq!(
            TrustList::new(vec![key(1, 20, 10)]),
            Err(CredentialError::InvalidField("trust_list.not_after"))
        );
        // The same key as bytes: not_after (the last four bytes) below not_before.
        let mut bytes = TrustList::new(vec![key(1, 20, 20)]).unwrap().encode();
        let end = bytes.len();
        bytes[end - 4..].copy_from_slice(&10u32.to_be_bytes());
        assert!(TrustList::decode(&bytes).is_err());
    }
}
