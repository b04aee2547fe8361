//! `Verifier`: offline verification with a fixed trust list, or with a pinned root and the
//! signed trust and status lists it loads and refreshes (D93).

use std::sync::{Arc, RwLock};

use edl_core::credential::TrustList;
use edl_core::present::payload_from_text;
use edl_core::verify::{DEFAULT_SKEW, OfflineTrust, Policy, verify_offline};

use crate::error::EdlError;
use crate::online_verifier::OnlineVerifier;
use crate::trust::{
    ListsInfo, StaleStatusPolicy, StatusListInfo, TrustListInfo, root_from_bytes, root_from_text,
};
use crate::types::{Audience, VerifiedView};

/// What a verifier checks against.
#[derive(Debug)]
enum Trust {
    /// A bare trust list given at construction (no root, no status list).
    Fixed(TrustList),
    /// A pinned root and the lists it accepted since; replaced whole on each load, so a
    /// verification in flight sees the old lists or the new ones, never half of each.
    Pinned(RwLock<Arc<OfflineTrust>>),
}

/// A verifier of one audience. `Send + Sync`: verifications read a snapshot of the lists,
/// loads swap in a new one, so any number of threads may verify while another refreshes.
#[derive(Debug)]
pub struct Verifier {
    trust: Trust,
    policy: Policy,
}

impl Verifier {
    /// A verifier with the default skew.
    pub fn new(trust_list: Vec<u8>, audience: Audience) -> Result<Self, EdlError> {
        Ok(Verifier {
            trust: Trust::Fixed(TrustList::decode(&trust_list).map_err(EdlError::trust_list)?),
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

    /// A verifier pinning the authority's root key (32 bytes), holding no list yet.
    pub fn pinned(
        root_public_key: Vec<u8>,
        audience: Audience,
        stale_status: StaleStatusPolicy,
    ) -> Result<Self, EdlError> {
        Ok(Self::anchored(
            OfflineTrust::pinned(root_from_bytes(&root_public_key)?),
            audience,
            stale_status,
        ))
    }

    /// [`Verifier::pinned`] with the root key's text form (64 hex digits).
    pub fn pinned_text(
        root_public_key: String,
        audience: Audience,
        stale_status: StaleStatusPolicy,
    ) -> Result<Self, EdlError> {
        Ok(Self::anchored(
            OfflineTrust::pinned(root_from_text(&root_public_key)?),
            audience,
            stale_status,
        ))
    }

    fn anchored(trust: OfflineTrust, audience: Audience, stale: StaleStatusPolicy) -> Self {
        Verifier {
            trust: Trust::Pinned(RwLock::new(Arc::new(trust))),
            policy: Policy::new(audience.into()).with_stale_status(stale.into()),
        }
    }

    /// The audience accepted.
    pub fn audience(&self) -> Audience {
        self.policy.audience.into()
    }

    /// The skew tolerated.
    pub fn skew_secs(&self) -> u32 {
        self.policy.skew()
    }

    /// The root pinned now, 32 bytes; `None` for a verifier of a fixed trust list.
    pub fn root_public_key(&self) -> Option<Vec<u8>> {
        self.held().map(|t| t.root().to_bytes().to_vec())
    }

    /// Checks a root-signed trust list and holds it if it is taken.
    pub fn load_trust_list(
        &self,
        signed_list: Vec<u8>,
        now_unix: u64,
    ) -> Result<TrustListInfo, EdlError> {
        let loaded = self.update(|t| t.load_trust_list(&signed_list, now_unix, DEFAULT_SKEW));
        log_load("trust list", &loaded);
        Ok(loaded?.into())
    }

    /// Checks a signed status list against the trust list held and holds it if taken.
    pub fn load_status_list(
        &self,
        signed_list: Vec<u8>,
        now_unix: u64,
    ) -> Result<StatusListInfo, EdlError> {
        let loaded = self.update(|t| t.load_status_list(&signed_list, now_unix, DEFAULT_SKEW));
        log_load("status list", &loaded);
        Ok(loaded?.into())
    }

    /// Fetches both lists from the authority `online` talks to and loads them (the trust
    /// list first: it vouches for the status list's signer).
    pub async fn refresh(
        &self,
        online: Arc<OnlineVerifier>,
        now_unix: u64,
    ) -> Result<ListsInfo, EdlError> {
        let trust = online.fetch_signed_trust_list().await?;
        let status = online.fetch_status_list().await?;
        // Fetched just now: dated by the authority's clock, which may be ahead of this one
        // (AL-F2), as the status list's may (D203).
        let trust_list = self.update(|t| t.load_fetched_trust_list(&trust, now_unix, DEFAULT_SKEW));
        log_load("trust list", &trust_list);
        let trust_list = trust_list?.into();
        // Fetched just now: a list made long before was kept or replayed on the way
        // (AG-F2), which a list loaded by the app from elsewhere cannot be judged by.
        let loaded = self.update(|t| t.load_fetched_status_list(&status, now_unix, DEFAULT_SKEW));
        log_load("status list", &loaded);
        Ok(ListsInfo {
            trust_list,
            status_list: loaded?.into(),
        })
    }

    /// The trust list held, if any.
    pub fn trust_list_info(&self) -> Option<TrustListInfo> {
        self.held()
            .and_then(|t| t.trust_list_summary())
            .map(Into::into)
    }

    /// The status list held, if any.
    pub fn status_list_info(&self) -> Option<StatusListInfo> {
        self.held()
            .and_then(|t| t.status_list_summary())
            .map(Into::into)
    }

    /// Verifies an offline payload at `now_unix`.
    pub fn verify_offline(
        &self,
        payload: Vec<u8>,
        now_unix: u64,
    ) -> Result<VerifiedView, EdlError> {
        let verdict = match &self.trust {
            Trust::Fixed(list) => {
                verify_offline(&payload, list, now_unix, &self.policy).map_err(EdlError::from)
            }
            Trust::Pinned(lock) => snapshot(lock)
                .verify(&payload, now_unix, &self.policy)
                .map_err(EdlError::from),
        };
        match verdict {
            Ok(verified) => {
                tracing::info!("offline presentation verified");
                Ok(verified.into())
            }
            Err(e) => {
                // The typed reason only: a verdict, no content of the payload.
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

    /// A snapshot of the lists held; `None` for a fixed trust list.
    fn held(&self) -> Option<Arc<OfflineTrust>> {
        match &self.trust {
            Trust::Fixed(_) => None,
            Trust::Pinned(lock) => Some(snapshot(lock)),
        }
    }

    /// Runs `change` on a copy of the lists held and swaps the copy in if it succeeds.
    fn update<T, E: Into<EdlError>>(
        &self,
        change: impl FnOnce(&mut OfflineTrust) -> Result<T, E>,
    ) -> Result<T, EdlError> {
        let Trust::Pinned(lock) = &self.trust else {
            return Err(EdlError::InvalidArgument {
                detail: "this verifier has a fixed trust list: make it with Verifier.pinned".into(),
            });
        };
        // As in `snapshot`: the lists held are whole whatever panicked under the lock.
        let mut held = lock
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = OfflineTrust::clone(&held);
        let value = change(&mut next).map_err(Into::into)?;
        *held = Arc::new(next);
        Ok(value)
    }
}

/// The lists held now. A panic while the lock was held (a change runs on a copy, swapped
/// in whole) left them as they were, so they are still good: one bad call does not leave
/// the verifier refusing everything after it (twenty-sixth review, AG-F5).
fn snapshot(lock: &RwLock<Arc<OfflineTrust>>) -> Arc<OfflineTrust> {
    Arc::clone(
        &lock
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Logs a list load's outcome: the refusal's kind, never the bytes.
fn log_load<T, E: std::fmt::Display>(what: &str, loaded: &Result<T, E>) {
    match loaded {
        Ok(_) => tracing::info!("{what} loaded"),
        Err(e) => tracing::warn!("{what} refused: {e}"),
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

    #[test]
    fn a_pinned_verifier_takes_only_its_roots_lists_and_reads_the_status_list() {
        use crate::error::{ListKind, ListRefusal};
        use crate::trust::StatusCheck;
        use edl_core::credential::{ElicenceStatus, StatusList, TrustListContents};
        use edl_core::crypto::{KeyId, SecretKey};

        let s = sample::issued((NOW - 600) as u32);
        let root = SecretKey::from_seed([0xA0; 32]);
        let signed = |by: &SecretKey| {
            TrustListContents {
                sequence: 1,
                issued_at: (NOW - 600) as u32,
                expires_at: (NOW + 86_400) as u32,
                next_root: None,
                keys: s.trust.clone(),
            }
            .sign(by)
        };
        let status = |made: u64, st| {
            let mut list = StatusList::new(made as u32, 3600, 100);
            list.set(sample::STATUS_INDEX, st).unwrap();
            list.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED))
        };
        let payload = s
            .holder
            .present(
                Form::Offline,
                CoreAudience::Enforcement,
                NOW,
                DEFAULT_PERIOD,
            )
            .unwrap()
            .payload;
        let v = Verifier::pinned(
            root.public().to_bytes().to_vec(),
            Audience::Enforcement,
            StaleStatusPolicy::Refuse,
        )
        .unwrap();
        assert_eq!(
            v.load_trust_list(signed(&SecretKey::from_seed([0x5A; 32])), NOW),
            Err(EdlError::ListRefused {
                list: ListKind::TrustList,
                reason: ListRefusal::BadSignature
            })
        );
        assert_eq!(v.load_trust_list(signed(&root), NOW).unwrap().keys, 1);
        // No status list held: unknown, which this verifier refuses (AG-F4).
        assert_eq!(
            v.verify_offline(payload.clone(), NOW),
            Err(EdlError::Rejected {
                reason: RejectionReason::StatusUnknown
            })
        );
        v.load_status_list(status(NOW - 60, ElicenceStatus::InForce), NOW)
            .unwrap();
        assert_eq!(
            v.verify_offline(payload.clone(), NOW).unwrap().status,
            StatusCheck::InForce
        );
        v.load_status_list(status(NOW - 30, ElicenceStatus::Suspended), NOW)
            .unwrap();
        assert_eq!(
            v.verify_offline(payload, NOW),
            Err(EdlError::Rejected {
                reason: RejectionReason::ElicenceSuspended
            })
        );
        let (trust, _) = presented(CoreAudience::Business);
        assert!(matches!(
            Verifier::new(trust, Audience::Business)
                .unwrap()
                .load_trust_list(signed(&root), NOW),
            Err(EdlError::InvalidArgument { .. })
        ));
    }

    /// A panic while the lists' lock was held leaves the verifier working with the lists
    /// it held (AG-F5: every later call answered `Internal`, for the object's life).
    #[test]
    fn a_panic_under_the_lock_leaves_the_lists_held_and_usable() {
        let s = sample::issued((NOW - 600) as u32);
        let root = edl_core::crypto::SecretKey::from_seed([0xA0; 32]);
        let list = edl_core::credential::TrustListContents {
            sequence: 1,
            issued_at: (NOW - 600) as u32,
            expires_at: (NOW + 86_400) as u32,
            next_root: None,
            keys: s.trust.clone(),
        }
        .sign(&root);
        let v = Verifier::pinned(
            root.public().to_bytes().to_vec(),
            Audience::Enforcement,
            StaleStatusPolicy::Accept,
        )
        .unwrap();
        v.load_trust_list(list.clone(), NOW).unwrap();
        let (_, payload) = presented(CoreAudience::Enforcement);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            v.update(|_| -> Result<(), EdlError> { panic!("a bug in a change") })
        }));
        assert!(panicked.is_err());
        assert!(v.verify_offline(payload, NOW).is_ok());
        assert_eq!(v.trust_list_info().unwrap().sequence, 1);
        v.load_trust_list(list, NOW).unwrap();
    }
}
