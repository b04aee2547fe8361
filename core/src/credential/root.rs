//! The root of trust: a long-lived authority root key signs the trust list.
//!
//! The root (the counterpart of an ISO 18013-5 IACA) is pinned once by every wallet and
//! verifier. It signs nothing but trust lists; the issuing keys it lists sign views and
//! status lists. A list carries a sequence number, its issue time and expiry, and may name
//! the next root, so the root itself can be rotated by a list the current root signs.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, PublicKey, Purpose, SecretKey, Signature, sha256};

use super::TrustList;

/// First byte of a root-signed trust list. A bare [`TrustList`] starts with 1, so an
/// unsigned list is told apart from a wrongly signed one.
const SIGNED_VERSION: u8 = 2;
const SIG_LEN: usize = 64;

/// What the root signs: the issuing keys and the list's own metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListContents {
    /// Grows by one with every list the root signs; a verifier never goes back.
    pub sequence: u32,
    /// When the list was signed (unix seconds).
    pub issued_at: u32,
    /// After this time (unix seconds, exclusive) the list is no longer accepted.
    pub expires_at: u32,
    /// The root that will sign the next lists, if the root is being rotated.
    pub next_root: Option<PublicKey>,
    /// The issuing keys and their periods.
    pub keys: TrustList,
}

impl TrustListContents {
    /// `2 u8 | sequence u32 | issued_at u32 | expires_at u32 | has_next u8 (0 or 1) |
    /// [next_root 32] | trust list (see [`TrustList::encode`])`, all big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let keys = self.keys.encode();
        let mut w = Writer::with_capacity(46 + keys.len());
        w.u8(SIGNED_VERSION)
            .u32(self.sequence)
            .u32(self.issued_at)
            .u32(self.expires_at);
        match &self.next_root {
            Some(next) => w.u8(1).raw(&next.to_bytes()),
            None => w.u8(0),
        };
        w.raw(&keys);
        w.into_bytes()
    }

    /// Decodes [`TrustListContents::encode`] output (the signature is not checked here).
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u8("version")? != SIGNED_VERSION {
            return Err(DecodeError::BadValue("version"));
        }
        let sequence = r.u32("sequence")?;
        let issued_at = r.u32("issued_at")?;
        let expires_at = r.u32("expires_at")?;
        if expires_at <= issued_at {
            return Err(DecodeError::BadValue("expires_at"));
        }
        let next_root = match r.u8("has_next")? {
            0 => None,
            1 => Some(
                PublicKey::from_bytes(&r.array("next_root")?)
                    .map_err(|_| DecodeError::BadValue("next_root"))?,
            ),
            _ => return Err(DecodeError::BadValue("has_next")),
        };
        let rest = r.take("keys", r.remaining())?;
        let keys = TrustList::decode(rest).map_err(|_| DecodeError::BadValue("keys"))?;
        Ok(TrustListContents {
            sequence,
            issued_at,
            expires_at,
            next_root,
            keys,
        })
    }

    /// Signs the contents with `root`: `contents ‖ signature[64]`, the signature made for
    /// [`Purpose::RootTrustList`].
    pub fn sign(&self, root: &SecretKey) -> Vec<u8> {
        let mut bytes = self.encode();
        let sig = crypto::sign(root, Purpose::RootTrustList, &bytes);
        bytes.extend_from_slice(&sig.0);
        bytes
    }
}

/// Why a trust list was refused. None carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListRejection {
    /// A bare trust list with no root signature (the format before D58).
    #[error("the trust list is not signed by a root")]
    Unsigned,
    /// The root signature does not verify under the pinned root (or its announced
    /// successor): forged, altered, or another authority's list.
    #[error("the trust list's root signature does not verify")]
    BadRootSignature,
    /// Signed, but the contents are not well formed.
    #[error("malformed trust list: {0}")]
    Malformed(DecodeError),
    /// The list's expiry has passed: fetch a fresh one.
    #[error("the trust list expired")]
    Expired,
    /// The list claims an issue time in the future: one of the clocks is wrong.
    #[error("the trust list is not yet valid")]
    NotYetValid,
    /// Older than (or a different list with the same number as) the one already held:
    /// a replay of a list from before a key was retired.
    #[error("trust list {offered} is older than the held list {held}")]
    RolledBack {
        /// The sequence number held.
        held: u32,
        /// The sequence number offered.
        offered: u32,
    },
    /// No list has been accepted yet.
    #[error("no trust list held")]
    NoList,
}

/// Checks `bytes` as a list signed by `root` at unix time `now`: signature, then layout,
/// then the issue time (with `skew` seconds of tolerance) and the expiry. Stateless:
/// rollback is [`TrustAnchor`]'s job.
pub fn open_trust_list(
    root: &PublicKey,
    bytes: &[u8],
    now: u64,
    skew: u32,
) -> Result<TrustListContents, TrustListRejection> {
    let contents = check_signature(&[*root], bytes)?.1;
    check_times(&contents, now, skew)?;
    Ok(contents)
}

/// The contents signed by one of `roots` (and which one).
fn check_signature(
    roots: &[PublicKey],
    bytes: &[u8],
) -> Result<(PublicKey, TrustListContents), TrustListRejection> {
    if bytes.first() != Some(&SIGNED_VERSION) {
        return Err(if TrustList::decode(bytes).is_ok() {
            TrustListRejection::Unsigned
        } else {
            TrustListRejection::Malformed(DecodeError::BadValue("version"))
        });
    }
    if bytes.len() < 1 + SIG_LEN {
        return Err(TrustListRejection::Malformed(DecodeError::Truncated(
            "signature",
        )));
    }
    let (body, sig) = bytes.split_at(bytes.len() - SIG_LEN);
    let mut s = [0; SIG_LEN];
    s.copy_from_slice(sig);
    let root = roots
        .iter()
        .find(|root| crypto::verify(root, Purpose::RootTrustList, body, &Signature(s)).is_ok())
        .ok_or(TrustListRejection::BadRootSignature)?;
    let contents = TrustListContents::decode(body).map_err(TrustListRejection::Malformed)?;
    Ok((*root, contents))
}

fn check_times(c: &TrustListContents, now: u64, skew: u32) -> Result<(), TrustListRejection> {
    if u64::from(c.issued_at) > now.saturating_add(u64::from(skew)) {
        return Err(TrustListRejection::NotYetValid);
    }
    if now >= u64::from(c.expires_at) {
        return Err(TrustListRejection::Expired);
    }
    Ok(())
}

/// What a wallet or verifier keeps: the pinned root, the newest list it accepted, and the
/// next root that list announced. Accepting a list never lowers the sequence it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    root: PublicKey,
    held: Option<Held>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    contents: TrustListContents,
    digest: [u8; 32],
}

impl TrustAnchor {
    /// An anchor that trusts lists signed by `root` (configured once, like a CA).
    pub fn pinned(root: PublicKey) -> Self {
        TrustAnchor { root, held: None }
    }

    /// The root lists must be signed by now.
    pub fn root(&self) -> PublicKey {
        self.root
    }

    /// The sequence number of the held list.
    pub fn sequence(&self) -> Option<u32> {
        self.held.as_ref().map(|h| h.contents.sequence)
    }

    /// Checks and keeps `bytes` as the newest list at unix time `now`. A list signed by
    /// the next root the held list announced is accepted while that list has not expired,
    /// and that root becomes the pinned one. The same list again is accepted (a refresh); an older one, or another
    /// list with the held number, is [`TrustListRejection::RolledBack`]. On any refusal
    /// the anchor is unchanged.
    pub fn accept(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
    ) -> Result<&TrustList, TrustListRejection> {
        let mut roots = vec![self.root];
        // An announcement holds only while its list does: an expired list is no trust list
        // (PROTOCOL.md), and an announcement withdrawn must not stay followed for ever in a
        // verifier idle since (thirtieth review, AK-F5).
        if let Some(next) = self
            .held
            .as_ref()
            .filter(|h| now < u64::from(h.contents.expires_at))
            .and_then(|h| h.contents.next_root)
        {
            roots.push(next);
        }
        let (signer, contents) = check_signature(&roots, bytes)?;
        let digest = sha256(bytes);
        if let Some(held) = &self.held {
            let older = contents.sequence < held.contents.sequence;
            let other = contents.sequence == held.contents.sequence && digest != held.digest;
            if older || other {
                return Err(TrustListRejection::RolledBack {
                    held: held.contents.sequence,
                    offered: contents.sequence,
                });
            }
        }
        check_times(&contents, now, skew)?;
        self.root = signer;
        let held = self.held.insert(Held { contents, digest });
        Ok(&held.contents.keys)
    }

    /// The held list's issuing keys, if it has not expired at `now`.
    pub fn trust_list(&self, now: u64) -> Result<&TrustList, TrustListRejection> {
        let held = self.held.as_ref().ok_or(TrustListRejection::NoList)?;
        if now >= u64::from(held.contents.expires_at) {
            return Err(TrustListRejection::Expired);
        }
        Ok(&held.contents.keys)
    }

    /// The held list's contents, expired or not.
    pub fn held(&self) -> Option<&TrustListContents> {
        self.held.as_ref().map(|h| &h.contents)
    }
}
