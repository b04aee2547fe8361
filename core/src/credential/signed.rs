//! Signed views and the credential that carries both.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{self, Purpose, Signature};

use super::view::{
    BusinessView, DisclosedView, EnforcementView, MAX_VIEW_LIFETIME_HOURS, ViewHeader,
};
use super::{Audience, CredentialError, ElicenceId, TrustList};

/// Format version of an encoded [`Credential`].
/// 2 since the view header carries the status-list index (D70).
const CREDENTIAL_VERSION: u8 = 2;
const SIG_LEN: usize = 64;

/// The signing purpose of a view of `audience`: the audience is bound by the domain tag,
/// so a business view can never pass as an enforcement one.
pub(crate) fn view_purpose(audience: Audience) -> Purpose {
    match audience {
        Audience::Enforcement => Purpose::EnforcementView,
        Audience::Business => Purpose::BusinessView,
    }
}

/// A view body followed by the issuer's 64-byte signature over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedView {
    audience: Audience,
    bytes: Vec<u8>,
}

impl SignedView {
    pub(crate) fn new(audience: Audience, body: Vec<u8>, sig: Signature) -> Self {
        let mut bytes = body;
        bytes.extend_from_slice(&sig.0);
        SignedView { audience, bytes }
    }

    /// Wraps received bytes (body ‖ signature) without checking them yet.
    pub fn from_bytes(audience: Audience, bytes: Vec<u8>) -> Result<Self, CredentialError> {
        if bytes.len() < ViewHeader::LEN + SIG_LEN {
            return Err(DecodeError::Truncated("view").into());
        }
        Ok(SignedView { audience, bytes })
    }

    /// The audience it was signed for.
    pub fn audience(&self) -> Audience {
        self.audience
    }

    /// Body ‖ signature, as carried in a credential or offline QR.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signed body.
    pub fn body(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - SIG_LEN]
    }

    /// The issuer signature.
    pub fn signature(&self) -> Signature {
        let mut sig = [0; SIG_LEN];
        sig.copy_from_slice(&self.bytes[self.bytes.len() - SIG_LEN..]);
        Signature(sig)
    }

    /// Checks the issuer signature against `trust`, then the key's period and the
    /// lifetime cap, then decodes the body. The body is decoded only after the signature
    /// holds, so unauthenticated bytes meet nothing but the key id lookup; the period and
    /// lifetime reasons are given only for bytes the key really signed.
    pub fn verify(&self, trust: &TrustList) -> Result<DisclosedView, CredentialError> {
        let body = self.body();
        let (kid, issued_at) = ViewHeader::peek_kid_and_issued_at(body)?;
        let entry = trust.entry(kid).ok_or(CredentialError::UnknownIssuerKey)?;
        crypto::verify(
            &entry.key,
            view_purpose(self.audience),
            body,
            &self.signature(),
        )
        .map_err(|_| CredentialError::BadIssuerSignature)?;
        // A retired key's seed may have leaked: nothing it signs outside its period counts.
        if !entry.covers(issued_at) {
            return Err(CredentialError::IssuedOutsideKeyPeriod);
        }
        let view = DisclosedView::decode(self.audience, body)?;
        let declared_hours = view.header().ttl_hours;
        if declared_hours > MAX_VIEW_LIFETIME_HOURS {
            return Err(CredentialError::LifetimeTooLong {
                declared_hours,
                max_hours: MAX_VIEW_LIFETIME_HOURS,
            });
        }
        Ok(view)
    }
}

/// An issued e-licence: the enforcement and business views of one licence, both bound
/// to the same device key and signed by the same issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Both pages in full.
    pub enforcement: SignedView,
    /// The qualification subset.
    pub business: SignedView,
}

impl Credential {
    /// The view of `audience`.
    pub fn view(&self, audience: Audience) -> &SignedView {
        match audience {
            Audience::Enforcement => &self.enforcement,
            Audience::Business => &self.business,
        }
    }

    /// `version u8 | enforcement (u16 length ‖ bytes) | business (u16 length ‖ bytes)`.
    pub fn encode(&self) -> Result<Vec<u8>, CredentialError> {
        let mut w =
            Writer::with_capacity(4 + self.enforcement.bytes.len() + self.business.bytes.len());
        w.u8(CREDENTIAL_VERSION);
        w.bytes16("enforcement", &self.enforcement.bytes)?;
        w.bytes16("business", &self.business.bytes)?;
        Ok(w.into_bytes())
    }

    /// Parses [`Credential::encode`] output (signatures are not checked here).
    pub fn decode(bytes: &[u8]) -> Result<Self, CredentialError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != CREDENTIAL_VERSION {
            return Err(CredentialError::UnsupportedVersion(version));
        }
        let enforcement =
            SignedView::from_bytes(Audience::Enforcement, r.bytes16("enforcement")?.to_vec())?;
        let business = SignedView::from_bytes(Audience::Business, r.bytes16("business")?.to_vec())?;
        r.finish()?;
        Ok(Credential {
            enforcement,
            business,
        })
    }

    /// Checks both signatures and that the views belong together; returns them decoded.
    /// The wallet runs this on every credential it receives before storing it.
    pub fn verify(
        &self,
        trust: &TrustList,
    ) -> Result<(EnforcementView, BusinessView), CredentialError> {
        let (DisclosedView::Enforcement(e), DisclosedView::Business(b)) = (
            self.enforcement.verify(trust)?,
            self.business.verify(trust)?,
        ) else {
            unreachable!("views decode as their own audience");
        };
        if e.header != b.header {
            return Err(CredentialError::Inconsistent);
        }
        Ok((e, b))
    }

    /// The e-licence id, read from the enforcement view without checking signatures
    /// (for indexing; trust comes from [`Credential::verify`]).
    pub fn id(&self) -> Result<ElicenceId, CredentialError> {
        let mut r = Reader::new(self.enforcement.body());
        r.take("header", ViewHeader::LEN)?;
        Ok(ElicenceId(r.u64("id")?))
    }
}
