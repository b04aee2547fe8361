//! The two signed views of an e-licence and the header they share.

mod business;
mod enforcement;
mod fields;

pub use business::BusinessView;
pub use enforcement::EnforcementView;

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{KeyId, PublicKey};

use super::{Audience, CredentialError};

/// The longest lifetime a view may declare, in hours: a protocol constant, not a
/// setting. A verifier refuses a view that declares more, so a view signed with a key
/// stops verifying at most this long after the key's period ends, whatever its header
/// says (D57). 72 h is the lifetime the authority has always issued: a wallet offline
/// for a long weekend still presents.
pub const MAX_VIEW_LIFETIME_HOURS: u16 = 72;

/// Fields every view starts with: who signed it, which device holds it, and when it
/// was issued and expires. `issued_at` is also the as-of time of the status snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewHeader {
    /// The issuer key that signed the view.
    pub kid: KeyId,
    /// The device key the e-licence is bound to; presentations are signed with it.
    pub device_key: PublicKey,
    /// Issue time (unix seconds); the status and points are as of this time.
    pub issued_at: u32,
    /// Lifetime in hours; the view expires at `issued_at + 3600 * ttl_hours`.
    pub ttl_hours: u16,
    /// This e-licence's index in the authority's signed status list (D70): an offline
    /// verifier holding a fresh list looks it up to learn whether the e-licence is still
    /// in force. Encoded in 3 bytes (below [`crate::credential::MAX_STATUS_ENTRIES`]),
    /// so the business QR still fits a version-10 symbol.
    pub status_index: u32,
}

impl ViewHeader {
    /// Bytes of the encoded header.
    pub const LEN: usize = 2 + 32 + 4 + 2 + 3;

    /// When the view stops being valid (unix seconds).
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issued_at) + 3600 * u64::from(self.ttl_hours)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.kid.0)
            .raw(&self.device_key.to_bytes())
            .u32(self.issued_at)
            .u16(self.ttl_hours)
            // A u24: the issuer refuses an index at or above 2^24.
            .raw(&self.status_index.to_be_bytes()[1..]);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, CredentialError> {
        let kid = KeyId(r.u16("kid")?);
        let device_key = PublicKey::from_bytes(&r.array("device_key")?)?;
        let issued_at = r.u32("issued_at")?;
        let ttl_hours = r.u16("ttl_hours")?;
        if ttl_hours == 0 {
            return Err(DecodeError::BadValue("ttl_hours").into());
        }
        let [a, b, c] = r.array("status_index")?;
        let status_index = u32::from_be_bytes([0, a, b, c]);
        Ok(ViewHeader {
            kid,
            device_key,
            issued_at,
            ttl_hours,
            status_index,
        })
    }

    /// Reads only the issuer key id and the issue time, before the signature is checked.
    pub(crate) fn peek_kid_and_issued_at(body: &[u8]) -> Result<(KeyId, u32), CredentialError> {
        let mut r = Reader::new(body);
        let kid = KeyId(r.u16("kid")?);
        r.take("device_key", 32)?;
        Ok((kid, r.u32("issued_at")?))
    }
}

/// What a successful verification discloses: the view of the audience presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisclosedView {
    /// Everything on both pages (police).
    Enforcement(EnforcementView),
    /// The qualification subset (insurer, rental firm, employer).
    Business(BusinessView),
}

impl DisclosedView {
    /// The audience of this view.
    pub fn audience(&self) -> Audience {
        match self {
            DisclosedView::Enforcement(_) => Audience::Enforcement,
            DisclosedView::Business(_) => Audience::Business,
        }
    }

    /// The shared header.
    pub fn header(&self) -> &ViewHeader {
        match self {
            DisclosedView::Enforcement(v) => &v.header,
            DisclosedView::Business(v) => &v.header,
        }
    }

    /// Decodes a view body of `audience` (after its signature has been checked).
    pub fn decode(audience: Audience, body: &[u8]) -> Result<Self, CredentialError> {
        Ok(match audience {
            Audience::Enforcement => DisclosedView::Enforcement(EnforcementView::decode(body)?),
            Audience::Business => DisclosedView::Business(BusinessView::decode(body)?),
        })
    }

    /// The licence status as of `issued_at`.
    pub fn status(&self) -> &crate::licence::LicenceStatus {
        match self {
            DisclosedView::Enforcement(v) => &v.licence.main.status,
            DisclosedView::Business(v) => &v.status,
        }
    }

    /// The start of the licence's validity period.
    pub fn valid_from(&self) -> time::Date {
        match self {
            DisclosedView::Enforcement(v) => v.licence.main.valid_from,
            DisclosedView::Business(v) => v.valid_from,
        }
    }

    /// The end of the licence's validity period.
    pub fn valid_until(&self) -> time::Date {
        match self {
            DisclosedView::Enforcement(v) => v.licence.main.valid_until,
            DisclosedView::Business(v) => v.valid_until,
        }
    }
}
