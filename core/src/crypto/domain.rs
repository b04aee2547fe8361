//! Domain separation: each signature purpose gets its own prefix.

/// What a signature is for. The tag is part of the signed bytes, so a signature
/// made for one purpose never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The issuer signs the enforcement view (the full e-licence).
    EnforcementView,
    /// The issuer signs the business view (the qualification subset).
    BusinessView,
    /// The issuer signs its published trust list.
    TrustList,
    /// The device key signs an offline presentation for one time window.
    Presentation,
    /// The authority's root key signs a trust list (D58); it signs nothing else.
    RootTrustList,
    /// An issuing key signs a status list (D59).
    StatusList,
    /// The device key signs a request to the authority.
    Request,
}

impl Purpose {
    /// The tag prepended to the message; fixed forever for version 1 of the protocol.
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Purpose::EnforcementView => b"EDL1/view/enforcement\0",
            Purpose::BusinessView => b"EDL1/view/business\0",
            Purpose::TrustList => b"EDL1/trust-list\0",
            Purpose::Presentation => b"EDL1/presentation\0",
            Purpose::RootTrustList => b"EDL1/root/trust-list\0",
            Purpose::StatusList => b"EDL1/status-list\0",
            Purpose::Request => b"EDL1/request\0",
        }
    }
}

/// `tag || message`. Allocation is fine here: messages are a few hundred bytes.
pub(crate) fn tagged(purpose: Purpose, message: &[u8]) -> Vec<u8> {
    let tag = purpose.tag();
    let mut out = Vec::with_capacity(tag.len() + message.len());
    out.extend_from_slice(tag);
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SecretKey, sign, verify};

    #[test]
    fn tags_are_distinct_and_none_is_a_prefix_of_another() {
        let all = [
            Purpose::EnforcementView,
            Purpose::BusinessView,
            Purpose::TrustList,
            Purpose::Presentation,
            Purpose::RootTrustList,
            Purpose::StatusList,
            Purpose::Request,
        ];
        for a in all {
            for b in all {
                if a != b {
                    assert!(!a.tag().starts_with(b.tag()), "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn signature_for_one_purpose_fails_for_another() {
        let key = SecretKey::from_seed([7; 32]);
        let sig = sign(&key, Purpose::Presentation, b"same bytes");
        assert!(verify(&key.public(), Purpose::Presentation, b"same bytes", &sig).is_ok());
        assert!(verify(&key.public(), Purpose::Request, b"same bytes", &sig).is_err());
        assert!(verify(&key.public(), Purpose::BusinessView, b"same bytes", &sig).is_err());
    }
}
