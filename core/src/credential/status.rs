//! The status list: whether each issued e-licence is in force, for offline verifiers.
//!
//! The idea of the IETF OAuth Token Status List: two bits per e-licence index, packed
//! and zlib-compressed (RFC 1950), signed by an issuing key under the root. A verifier
//! that holds a list younger than its time-to-live refuses a suspended or superseded
//! e-licence offline; with an older list it can only say "status unknown".

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, KeyId, Purpose, SecretKey, Signature};

use super::{MAX_VIEW_LIFETIME_HOURS, TrustList};

const VERSION: u8 = 1;
const SIG_LEN: usize = 64;
/// The most indices a list may cover: 16 M e-licences (4 MB unpacked), so a hostile
/// list cannot make a phone inflate more than that.
pub const MAX_STATUS_ENTRIES: u32 = 1 << 24;

/// The longest a status list may be relied on after it was made, whatever it claims: the
/// most the authority can be set to sign (`EDL_AUTHORITY_STATUS_LIST_TTL`), so a current
/// key, leaked, cannot sign a list a verifier relies on for ever (AK-F3).
pub const MAX_STATUS_LIST_TTL: u32 = 7 * 24 * 3600;

/// The status of one e-licence index (two bits, values as in the IETF draft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElicenceStatus {
    /// 0: in force.
    InForce,
    /// 1: revoked, cancelled or superseded (renewed, moved to a new phone, counter issue).
    Superseded,
    /// 2: suspended (may come back into force).
    Suspended,
}

impl ElicenceStatus {
    /// How a status list words an active e-licence whose licence carries the status
    /// `letters` (dates aside): in force when the letters allow it; superseded for E, F, G
    /// and C (this e-licence never comes back: revoked, cancelled, annulled, transferred);
    /// suspended for every other letter that takes it out of force (it may come back, R
    /// included). The authority's list and the wallet's own status (D152) both say it so.
    pub fn of_letters(letters: &crate::licence::LicenceStatus) -> ElicenceStatus {
        use crate::licence::NotEligible as N;
        match crate::licence::e_licence_eligibility(letters, time::Date::MAX, time::Date::MIN) {
            Ok(()) => ElicenceStatus::InForce,
            Err(N::Annulled | N::Revoked | N::Cancelled | N::TransferredOut) => {
                ElicenceStatus::Superseded
            }
            Err(_) => ElicenceStatus::Suspended,
        }
    }

    fn bits(self) -> u8 {
        match self {
            ElicenceStatus::InForce => 0,
            ElicenceStatus::Superseded => 1,
            ElicenceStatus::Suspended => 2,
        }
    }
}

/// Why a status list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// Not a well-formed status list.
    #[error("malformed status list: {0}")]
    Malformed(#[from] DecodeError),
    /// Signed by a key the trust list does not hold, or not for the list's issue time.
    #[error("status list signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify: forged, altered, or another authority's list.
    #[error("status list signature does not verify")]
    BadSignature,
    /// The index lies beyond the list.
    #[error("index outside the status list")]
    IndexOutOfRange,
}

/// A decoded, verified status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    /// The issuing key that signed it.
    pub kid: KeyId,
    /// When it was made (unix seconds).
    pub issued_at: u32,
    /// How long after `issued_at` a verifier may rely on it, in seconds.
    pub ttl_secs: u32,
    count: u32,
    packed: Vec<u8>,
}

/// What a fresh or stale list says about one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAnswer {
    /// The list is fresh and holds this status.
    Known(ElicenceStatus),
    /// The list is older than its time-to-live: the signature of the credential may be
    /// valid, but its status must be checked online.
    Unknown,
}

impl StatusList {
    /// A list of `count` e-licences, all in force.
    pub fn new(issued_at: u32, ttl_secs: u32, count: u32) -> Self {
        let count = count.min(MAX_STATUS_ENTRIES);
        StatusList {
            kid: KeyId(0),
            issued_at,
            ttl_secs,
            count,
            packed: vec![0; count.div_ceil(4) as usize],
        }
    }

    /// A list of `count` e-licences, all with `status` (the authority starts from
    /// superseded: an index no live e-licence holds is never in force).
    pub fn filled(issued_at: u32, ttl_secs: u32, count: u32, status: ElicenceStatus) -> Self {
        let mut list = Self::new(issued_at, ttl_secs, count);
        let b = status.bits();
        list.packed.fill(b | b << 2 | b << 4 | b << 6);
        list
    }

    /// How many indices it covers.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether it covers no index.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sets the status of `index`.
    pub fn set(&mut self, index: u32, status: ElicenceStatus) -> Result<(), StatusListError> {
        if index >= self.count {
            return Err(StatusListError::IndexOutOfRange);
        }
        let (byte, shift) = ((index / 4) as usize, 2 * (index % 4));
        self.packed[byte] = (self.packed[byte] & !(3 << shift)) | (status.bits() << shift);
        Ok(())
    }

    /// The status of `index` (a reserved value 3 reads as superseded: never in force).
    pub fn get(&self, index: u32) -> Result<ElicenceStatus, StatusListError> {
        if index >= self.count {
            return Err(StatusListError::IndexOutOfRange);
        }
        Ok(
            match (self.packed[(index / 4) as usize] >> (2 * (index % 4))) & 3 {
                0 => ElicenceStatus::InForce,
                2 => ElicenceStatus::Suspended,
                _ => ElicenceStatus::Superseded,
            },
        )
    }

    /// The status of `index` at unix time `now`: [`StatusAnswer::Unknown`] once `now` is
    /// at or past `issued_at + ttl_secs`.
    pub fn status_at(&self, index: u32, now: u64) -> Result<StatusAnswer, StatusListError> {
        if now >= u64::from(self.issued_at) + u64::from(self.ttl_secs) {
            return Ok(StatusAnswer::Unknown);
        }
        self.get(index).map(StatusAnswer::Known)
    }

    /// Signs the list with issuing key `kid`:
    /// `1 u8 | kid u16 | issued_at u32 | ttl_secs u32 | count u32 | zlib(packed) | sig[64]`,
    /// the signature made for [`Purpose::StatusList`] over every byte before it.
    pub fn sign(&self, kid: KeyId, key: &SecretKey) -> Vec<u8> {
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&self.packed, 9);
        let mut w = Writer::with_capacity(15 + compressed.len() + SIG_LEN);
        w.u8(VERSION)
            .u16(kid.0)
            .u32(self.issued_at)
            .u32(self.ttl_secs)
            .u32(self.count)
            .raw(&compressed);
        let mut bytes = w.into_bytes();
        let sig = crypto::sign(key, Purpose::StatusList, &bytes);
        bytes.extend_from_slice(&sig.0);
        bytes
    }

    /// Checks the signature against `trust` (held under the pinned root) and decodes.
    /// Freshness is not judged here: see [`StatusList::status_at`]; but the lifetime the
    /// list claims is cut ([`StatusList::cut_lifetime`]).
    pub fn verify(bytes: &[u8], trust: &TrustList) -> Result<Self, StatusListError> {
        if bytes.len() < 15 + SIG_LEN {
            return Err(DecodeError::Truncated("status_list").into());
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIG_LEN);
        let mut r = Reader::new(body);
        if r.u8("version")? != VERSION {
            return Err(DecodeError::BadValue("version").into());
        }
        let kid = KeyId(r.u16("kid")?);
        let issued_at = r.u32("issued_at")?;
        let key = trust
            .key_for(kid, issued_at)
            .ok_or(StatusListError::UnknownKey)?;
        let mut s = [0; SIG_LEN];
        s.copy_from_slice(sig);
        crypto::verify(key, Purpose::StatusList, body, &Signature(s))
            .map_err(|_| StatusListError::BadSignature)?;
        let ttl_secs = r.u32("ttl_secs")?;
        let count = r.u32("count")?;
        if count > MAX_STATUS_ENTRIES {
            return Err(DecodeError::BadValue("count").into());
        }
        let expected = count.div_ceil(4) as usize;
        let compressed = r.take("packed", r.remaining())?;
        let packed = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, expected)
            .map_err(|_| DecodeError::BadValue("packed"))?;
        if packed.len() != expected {
            return Err(DecodeError::BadValue("packed").into());
        }
        let mut list = StatusList {
            kid,
            issued_at,
            ttl_secs,
            count,
            packed,
        };
        list.cut_lifetime(trust);
        Ok(list)
    }

    /// Cuts the lifetime the list claims to what `trust` allows its key: at most
    /// [`MAX_STATUS_LIST_TTL`], and D57's cap for lists too, nothing a key signs relied on
    /// later than the key's retirement plus the views' lifetime cap (R17, D125), none at
    /// all once the key has left the list. Done when a list is checked, and again on a
    /// list held when a newer trust list is taken: a key retired since must not leave
    /// the list it signed fresh for as long as it said (thirtieth review, AK-F3).
    pub fn cut_lifetime(&mut self, trust: &TrustList) {
        let not_after = trust.entry(self.kid).map_or(0, |k| k.not_after);
        let last = u64::from(not_after) + u64::from(MAX_VIEW_LIFETIME_HOURS) * 3600;
        let room = last.saturating_sub(u64::from(self.issued_at));
        self.ttl_secs = self
            .ttl_secs
            .min(MAX_STATUS_LIST_TTL)
            .min(u32::try_from(room).unwrap_or(u32::MAX));
    }
}
