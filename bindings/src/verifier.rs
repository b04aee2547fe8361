//! `Verifier`: offline verification with a trust list, nothing else.

use edl_core::credential::TrustList;
use edl_core::present::payload_from_text;
use edl_core::verify::{Policy, verify_offline};

use crate::error::EdlError;
use crate::types::{Audience, VerifiedView};

/// A verifier of one audience with one trust list. Immutable after construction, so it is
/// `Send + Sync` without a lock and any number of threads may verify with it at once.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustList,
    policy: Policy,
}

impl Verifier {
    /// A verifier with the default skew.
    pub fn new(trust_list: Vec<u8>, audience: Audience) -> Result<Self, EdlError> {
        Ok(Verifier {
            trust: TrustList::decode(&trust_list).map_err(EdlError::trust_list)?,
            policy: Policy::new(audience.into()),
        })
    }

    /// A verifier tolerating `skew_secs` (the core caps it).
    pub fn with_skew(
        trust_list: Vec<u8>,
        audience: Audience,
        skew_secs: u32,
    ) -> Result<Self, EdlError> {
        let mut v = Verifier::new(trust_list, audience)?;
        v.policy = v.policy.with_skew(skew_secs);
        Ok(v)
    }

    /// The audience accepted.
    pub fn audience(&self) -> Audience {
        self.policy.audience.into()
    }

    /// The skew tolerated.
    pub fn skew_secs(&self) -> u32 {
        self.policy.skew()
    }

    /// Verifies an offline payload at `now_unix`.
    pub fn verify_offline(
        &self,
        payload: Vec<u8>,
        now_unix: u64,
    ) -> Result<VerifiedView, EdlError> {
        match verify_offline(&payload, &self.trust, now_unix, &self.policy) {
            Ok(verified) => {
                tracing::info!("offline presentation verified");
                Ok(verified.into())
            }
            Err(rejection) => {
                // The typed reason only: a verdict, no content of the payload.
                let e = EdlError::from(rejection);
                tracing::info!("offline presentation refused: {e}");
                Err(e)
            }
        }
    }

    /// Verifies the text form of an offline payload at `now_unix`.
    pub fn verify_offline_text(
        &self,
        text: String,
        now_unix: u64,
    ) -> Result<VerifiedView, EdlError> {
        let payload = payload_from_text(&text).map_err(EdlError::payload_text)?;
        self.verify_offline(payload, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{InputKind, RejectionReason};
    use crate::types::DisclosedView;
    use edl_core::credential::Audience as CoreAudience;
    use edl_core::present::{DEFAULT_PERIOD, Form, payload_to_text};
    use edl_core::sample;

    const NOW: u64 = sample::VECTOR_TIME;

    fn presented(audience: CoreAudience) -> (Vec<u8>, Vec<u8>) {
        let s = sample::issued((NOW - 600) as u32);
        let payload = s
            .holder
            .present(Form::Offline, audience, NOW, DEFAULT_PERIOD)
            .expect("the sample presents")
            .payload;
        (s.trust.encode(), payload)
    }

    #[test]
    fn business_presentation_discloses_the_business_view() {
        let (trust, payload) = presented(CoreAudience::Business);
        let v = Verifier::new(trust, Audience::Business).unwrap();
        let verified = v.verify_offline(payload.clone(), NOW).unwrap();
        assert_eq!(verified.audience, Audience::Business);
        let DisclosedView::Business { view } = &verified.disclosed else {
            panic!("business view expected");
        };
        assert_eq!(view.masked_number, "1101**********1234");
        assert_eq!(view.status.letters, "A");
        assert_eq!(view.expires_at_unix - view.issued_at_unix, 72 * 3600);
        let text = payload_to_text(&payload);
        assert_eq!(v.verify_offline_text(text, NOW).unwrap(), verified);
    }

    #[test]
    fn enforcement_presentation_discloses_both_pages() {
        let (trust, payload) = presented(CoreAudience::Enforcement);
        let v = Verifier::new(trust, Audience::Enforcement).unwrap();
        let DisclosedView::Enforcement { view } = v.verify_offline(payload, NOW).unwrap().disclosed
        else {
            panic!("enforcement view expected");
        };
        assert_eq!(view.main.licence_number, "110101199003071234");
        assert_eq!(view.main.valid_until, "2028-03-07");
        assert_eq!(view.supplementary.record.len(), 2);
        assert_eq!(view.supplementary.class_meanings[0].code, "C1");
    }

    #[test]
    fn refusals_are_typed() {
        let (trust, payload) = presented(CoreAudience::Enforcement);
        let business = Verifier::new(trust.clone(), Audience::Business).unwrap();
        assert_eq!(
            business.verify_offline(payload.clone(), NOW),
            Err(EdlError::Rejected {
                reason: RejectionReason::WrongAudience {
                    presented: Audience::Enforcement,
                    expected: Audience::Business,
                }
            })
        );
        let police = Verifier::with_skew(trust, Audience::Enforcement, 60).unwrap();
        assert_eq!(police.skew_secs(), 9, "the core caps the skew");
        assert_eq!(
            police.verify_offline(payload, NOW + 3600),
            Err(EdlError::Rejected {
                reason: RejectionReason::WindowExpired
            })
        );
        assert!(matches!(
            police.verify_offline_text("EDL:***".into(), NOW),
            Err(EdlError::Malformed {
                what: InputKind::PayloadText,
                ..
            })
        ));
        assert!(matches!(
            Verifier::new(vec![9, 9], Audience::Business),
            Err(EdlError::Malformed {
                what: InputKind::TrustList,
                ..
            })
        ));
    }

    #[test]
    fn error_messages_hold_no_personal_data() {
        let (trust, payload) = presented(CoreAudience::Enforcement);
        let business = Verifier::new(trust.clone(), Audience::Business).unwrap();
        let police = Verifier::new(trust, Audience::Enforcement).unwrap();
        let mut tampered = payload.clone();
        tampered[50] ^= 1;
        for (v, input) in [
            (&business, payload.clone()),
            (&police, tampered),
            (&police, payload[..200].to_vec()),
            (&police, vec![0x14; 300]),
        ] {
            let message = v.verify_offline(input, NOW).unwrap_err().to_string();
            for personal in ["张伟", "110101199003071234", "1101", "朝阳"] {
                assert!(!message.contains(personal), "{message}");
            }
        }
    }
}
