//! Every decoder takes arbitrary bytes without panicking; encodings round-trip.

use edl_core::credential::{
    Audience, BusinessView, Credential, ElicenceId, EnforcementView, Issuance, SignedView,
    TrustList, TrustedKey, ViewHeader,
};
use edl_core::crypto::{KeyId, SecretKey, Signature};
use edl_core::licence::{ClassSet, LicenceStatus, RecordEntry};
use edl_core::present::{
    Form, MAX_PERIOD, MIN_PERIOD, OfflinePayload, OnlinePayload, payload_from_text,
};
use edl_core::sample;
use edl_core::verify::{OnlineCheck, Policy, verify_offline};
use proptest::prelude::*;

const NOW: u64 = 1_795_575_605;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_any_decoder(b in bytes(700)) {
        let s = trust();
        let _ = OfflinePayload::decode(&b);
        let _ = OnlinePayload::decode(&b);
        let _ = Credential::decode(&b);
        let _ = TrustList::decode(&b);
        let _ = EnforcementView::decode(&b);
        let _ = BusinessView::decode(&b);
        let _ = OnlineCheck::from_qr(&b);
        let _ = OnlineCheck::from_barcode(&String::from_utf8_lossy(&b));
        let _ = payload_from_text(&String::from_utf8_lossy(&b));
        for a in Audience::ALL {
            let _ = verify_offline(&b, &s, NOW, &Policy::new(a));
        }
    }

    #[test]
    fn mutated_real_payloads_never_panic_and_never_verify(
        audience in prop_oneof![Just(Audience::Business), Just(Audience::Enforcement)],
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let sample = sample::issued(NOW as u32 - 600);
        let good = sample.holder.present(Form::Offline, audience, NOW, 30).unwrap().payload;
        let mut b = good.clone();
        for (at, v) in edits {
            let i = at % b.len();
            b[i] = v;
        }
        let result = verify_offline(&b, &sample.trust, NOW, &Policy::new(audience));
        prop_assert!(b == good || result.is_err());
        let cred = sample.holder.credential().encode().unwrap();
        let _ = Credential::decode(&b).and_then(|c| c.verify(&sample.trust));
        let _ = Credential::decode(&cred[..cred.len() / 2]);
    }

    #[test]
    fn any_valid_licence_round_trips_through_both_views(
        name in "[\\u4e00-\\u9fa5]{1,12}",
        class_bits in 1u32..(1 << 17),
        status in prop_oneof![Just("A"), Just("B"), Just("D"), Just("DM"), Just("HS")],
        entries in proptest::collection::vec(("[\\u4e00-\\u9fa5a-z0-9]{1,20}", 0u8..=12, 0u32..5000, any::<bool>()), 0..8),
        ttl in 1u16..=edl_core::credential::MAX_VIEW_LIFETIME_HOURS,
    ) {
        let sample = sample::issued(NOW as u32 - 600);
        let mut licence = sample.licence.clone();
        licence.main.name = name;
        licence.main.classes = ClassSet::from_bits(class_bits).unwrap();
        licence.main.status = LicenceStatus::from_letters(status).unwrap();
        licence.supplementary.record = entries
            .into_iter()
            .map(|(place, points, fine_yuan, handled)| RecordEntry {
                date: licence.supplementary.cycle.start,
                act: format!("{place}违法"),
                place,
                points,
                fine_yuan,
                handled,
            })
            .collect();
        licence.supplementary.cycle.points = licence.supplementary.cycle.points_in(&licence.supplementary.record).unwrap();
        prop_assume!(licence.validate().is_ok());
        let device = SecretKey::from_seed([5; 32]);
        let credential = sample.issuer.issue(&licence, Issuance {
            id: sample::ELICENCE_ID, device_key: device.public(), issued_at: NOW as u32 - 600, ttl_hours: ttl, status_index: 9,
        }).unwrap();
        let decoded = Credential::decode(&credential.encode().unwrap()).unwrap();
        prop_assert_eq!(&decoded, &credential);
        let (e, b) = decoded.verify(&sample.trust).unwrap();
        prop_assert_eq!(&e.licence, &licence);
        prop_assert_eq!(b.classes, licence.main.classes);
        prop_assert_eq!(b.status, licence.main.status);
        prop_assert_eq!(&b.name, &licence.main.name);
    }
}

fn audience() -> impl Strategy<Value = Audience> {
    prop_oneof![Just(Audience::Business), Just(Audience::Enforcement)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_online_payload_round_trips(
        audience in audience(),
        period in MIN_PERIOD..=MAX_PERIOD,
        id in any::<u64>(),
        code in 0u32..=99_999_999,
    ) {
        let p = OnlinePayload { audience, period, id: ElicenceId(id), code };
        let bytes = p.encode();
        prop_assert_eq!(bytes.len(), OnlinePayload::LEN);
        prop_assert_eq!(OnlinePayload::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn any_offline_payload_round_trips(
        audience in audience(),
        period in MIN_PERIOD..=MAX_PERIOD,
        window_low in any::<u8>(),
        view in proptest::collection::vec(any::<u8>(), ViewHeader::LEN + 64..600),
        sig in proptest::collection::vec(any::<u8>(), 64),
    ) {
        let p = OfflinePayload {
            view: SignedView::from_bytes(audience, view).unwrap(),
            period,
            window_low,
            device_sig: Signature(sig.try_into().unwrap()),
        };
        prop_assert_eq!(OfflinePayload::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn any_trust_list_round_trips_in_canonical_order(
        keys in proptest::collection::btree_map(
            any::<u16>(),
            (any::<[u8; 32]>(), any::<u32>(), any::<u32>()),
            0..=64,
        ),
    ) {
        // Handed over in reverse id order: the encoding must not depend on it.
        let keys: Vec<TrustedKey> = keys
            .into_iter()
            .rev()
            .map(|(kid, (seed, a, b))| TrustedKey {
                kid: KeyId(kid),
                key: SecretKey::from_seed(seed).public(),
                not_before: a.min(b),
                not_after: a.max(b),
            })
            .collect();
        let list = TrustList::new(keys.clone()).unwrap();
        let bytes = list.encode();
        let decoded = TrustList::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &list);
        prop_assert_eq!(decoded.encode(), bytes);
        prop_assert_eq!(decoded.keys().len(), keys.len());
    }
}

fn trust() -> TrustList {
    sample::issued(NOW as u32 - 600).trust
}
