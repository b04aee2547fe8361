//! No signing goes towards an older issuer key (D128, D142). Every process reads the key
//! rows before it signs, but a rotation through another process can commit between that
//! read and the write, and a third request can re-sign the same driver under the new key
//! meanwhile. These rules run inside the write, on the driver as the store holds it then,
//! and compare the key id about to sign with the one that signed the stored credential.

use edl_core::wire::ElicenceState;

use super::{Signing, reissue};
use crate::error::{Error, Result};
use crate::store::{DriverState, Effects, ElicenceRecord};

/// Seconds a signing refused for [`NewerKey`] is told to wait before it is made again: the
/// next try reads the key rows afresh and finds the newer key (D142).
pub const NEWER_KEY_RETRY_SECS: u64 = 1;

/// The driver's credential was signed by a key newer than the one a signing would use: the
/// keys were read before a rotation another process committed (D142).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewerKey {
    /// The key id that signed the stored credential.
    pub stored: u16,
    /// The key id the signing would have used.
    pub signing: u16,
}

impl From<NewerKey> for Error {
    /// A change that must be signed (an issue, a new photo, a status or a violation) is
    /// refused as busy, `429` with `Retry-After`: the wallet's sync, uploads and application
    /// wait it out, admin calls hand it to the clerk; nothing of it is kept, and a retry
    /// signs under the newer key.
    fn from(_: NewerKey) -> Self {
        Error::Busy {
            retry_after: NEWER_KEY_RETRY_SECS,
        }
    }
}

/// Whether `kid` may sign for the driver `s`: not when the e-licence on record, whatever its
/// state, was signed by a newer key (a superseded one too: a new e-licence over it would
/// still go back a key).
pub fn signs_forward(s: &DriverState, kid: u16) -> Result<(), NewerKey> {
    match &s.elicence {
        Some(e) if e.kid > kid => Err(NewerKey {
            stored: e.kid,
            signing: kid,
        }),
        _ => Ok(()),
    }
}

/// Whether a sync re-signs `e` with key `kid` at `now`, for freshness only: an active
/// credential past half its life, or signed by an older key than `kid`; never one signed by
/// a newer key (D118, D128).
pub fn refresh_due(e: &ElicenceRecord, kid: u16, now: u64) -> bool {
    if e.state != ElicenceState::Active || e.kid > kid {
        return false;
    }
    let half_life = e.expires_at.saturating_sub(e.issued_at) / 2;
    e.kid < kid || now >= e.issued_at.saturating_add(half_life)
}

/// A sync's re-signing for freshness, decided again on the driver as the write finds it:
/// a credential another request has re-signed since the sync read it (under a newer key, or
/// under the same key within its first half-life) is already fresh and stays as it is; the
/// sync then reads it again (D142).
pub fn refresh(s: &mut DriverState, k: Signing<'_>) -> Result<Effects> {
    match &s.elicence {
        Some(e) if refresh_due(e, k.issuer.kid().0, k.now) => reissue(s, k),
        _ => Ok(Effects::default()),
    }
}
