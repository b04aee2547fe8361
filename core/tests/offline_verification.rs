//! Offline presentation and verification, end to end through the public API.

use edl_core::credential::{Audience, DisclosedView, Issuer, TrustList};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::licence::{LicenceStatus, NotEligible, StatusCode};
use edl_core::present::{Form, Holder, Window};
use edl_core::sample;
use edl_core::verify::{Policy, Rejection, verify_offline};

/// 2026-11-25 10:00:05 Beijing time, 5 s into a window.
const ISSUED: u32 = 1_795_572_000;
const NOW: u64 = ISSUED as u64 + 3605;

fn payload(s: &sample::Sample, audience: Audience, now: u64) -> Vec<u8> {
    s.holder
        .present(Form::Offline, audience, now, 30)
        .unwrap()
        .payload
}

#[test]
fn business_payload_verifies_and_fits_a_version_10_symbol() {
    let s = sample::issued(ISSUED);
    let p = s
        .holder
        .present(Form::Offline, Audience::Business, NOW, 30)
        .unwrap();
    assert!(p.payload.len() <= 213, "{} bytes", p.payload.len());
    assert!(p.qr.version() <= 10, "version {}", p.qr.version());
    let v = verify_offline(&p.payload, &s.trust, NOW, &Policy::new(Audience::Business)).unwrap();
    let DisclosedView::Business(b) = v.view else {
        panic!("business view expected")
    };
    assert_eq!(b.name, s.licence.main.name);
    assert_eq!(b.classes, s.licence.main.classes);
    assert_eq!(b.masked_number, "1101**********1234");
    assert_eq!(b.photo_digest, s.licence.main.photo_digest[..16]);
}

#[test]
fn enforcement_payload_verifies_with_both_pages() {
    let s = sample::issued(ISSUED);
    let bytes = payload(&s, Audience::Enforcement, NOW);
    let v = verify_offline(&bytes, &s.trust, NOW, &Policy::new(Audience::Enforcement)).unwrap();
    let DisclosedView::Enforcement(e) = v.view else {
        panic!("enforcement view expected")
    };
    assert_eq!(e.licence, s.licence);
    assert_eq!(e.id, sample::ELICENCE_ID);
}

#[test]
fn flipping_any_single_bit_is_rejected() {
    let s = sample::issued(ISSUED);
    for audience in Audience::ALL {
        let bytes = payload(&s, audience, NOW);
        let policy = Policy::new(audience);
        assert!(verify_offline(&bytes, &s.trust, NOW, &policy).is_ok());
        for i in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            assert!(
                verify_offline(&flipped, &s.trust, NOW, &policy).is_err(),
                "{audience}: flipping bit {i} of {} went unnoticed",
                bytes.len() * 8
            );
        }
    }
}

#[test]
fn window_n_is_accepted_at_n_plus_1_within_skew_and_rejected_at_n_plus_2() {
    let s = sample::issued(ISSUED);
    let policy = Policy::new(Audience::Business);
    let w = Window::at(NOW, 30);
    let bytes = payload(&s, Audience::Business, w.starts_at());
    let next = w.ends_at();
    assert!(verify_offline(&bytes, &s.trust, w.ends_at() - 1, &policy).is_ok());
    assert!(
        verify_offline(
            &bytes,
            &s.trust,
            next + u64::from(policy.skew()) - 1,
            &policy
        )
        .is_ok()
    );
    assert_eq!(
        verify_offline(&bytes, &s.trust, next + u64::from(policy.skew()), &policy),
        Err(Rejection::WindowExpired)
    );
    for t in [next + 30, next + 45, next + 59, next + 30 * 300] {
        assert_eq!(
            verify_offline(&bytes, &s.trust, t, &policy),
            Err(Rejection::WindowExpired),
            "at {t}"
        );
    }
    // A verifier whose clock runs slightly behind the phone still accepts.
    assert!(verify_offline(&bytes, &s.trust, w.starts_at() - 3, &policy).is_ok());
    assert_eq!(
        verify_offline(&bytes, &s.trust, w.starts_at() - 31, &policy),
        Err(Rejection::WindowNotYetValid)
    );
}

#[test]
fn wrong_audience_is_rejected() {
    let s = sample::issued(ISSUED);
    let bytes = payload(&s, Audience::Enforcement, NOW);
    assert_eq!(
        verify_offline(&bytes, &s.trust, NOW, &Policy::new(Audience::Business)),
        Err(Rejection::WrongAudience {
            presented: Audience::Enforcement,
            expected: Audience::Business
        })
    );
}

#[test]
fn unknown_issuer_key_is_rejected() {
    let s = sample::issued(ISSUED);
    let other = Issuer::new(KeyId(9), SecretKey::from_seed([0x99; 32]));
    let trust = TrustList::new(vec![other.trusted_key(0)]).unwrap();
    let bytes = payload(&s, Audience::Business, NOW);
    assert_eq!(
        verify_offline(&bytes, &trust, NOW, &Policy::new(Audience::Business)),
        Err(Rejection::UnknownIssuerKey)
    );
}

#[test]
fn key_with_the_right_id_but_wrong_bytes_fails_the_issuer_signature() {
    let s = sample::issued(ISSUED);
    let impostor = Issuer::new(KeyId(1), SecretKey::from_seed([0x98; 32]));
    let trust = TrustList::new(vec![impostor.trusted_key(0)]).unwrap();
    let bytes = payload(&s, Audience::Business, NOW);
    assert_eq!(
        verify_offline(&bytes, &trust, NOW, &Policy::new(Audience::Business)),
        Err(Rejection::BadIssuerSignature)
    );
}

#[test]
fn credential_presented_by_another_device_fails_the_device_signature() {
    let s = sample::issued(ISSUED);
    // A thief copies the credential but not the device key.
    let thief = Holder::new(
        s.holder.credential().clone(),
        SecretKey::from_seed([0x44; 32]),
        edl_core::crypto::TotpSeed::from_bytes([0; 32]),
    );
    assert!(thief.is_err(), "a holder refuses a key that is not bound");
    // Splice a real view with a signature from another key.
    let p = s
        .holder
        .offline_payload(Audience::Business, Window::at(NOW, 30));
    let mut forged = p.clone();
    let other = Holder::new(
        sample::issued(ISSUED).holder.credential().clone(),
        SecretKey::from_seed(sample::DEVICE_SEED),
        edl_core::crypto::TotpSeed::from_bytes([0; 32]),
    )
    .unwrap()
    .offline_payload(Audience::Business, Window::at(NOW + 30, 30));
    forged.device_sig = other.device_sig;
    assert_eq!(
        verify_offline(
            &forged.encode(),
            &s.trust,
            NOW,
            &Policy::new(Audience::Business)
        ),
        Err(Rejection::BadDeviceSignature)
    );
}

#[test]
fn expired_credential_is_rejected() {
    let s = sample::issued(ISSUED);
    let late = u64::from(ISSUED) + 3600 * u64::from(sample::TTL_HOURS) + 1;
    let bytes = payload(&s, Audience::Business, late);
    assert_eq!(
        verify_offline(&bytes, &s.trust, late, &Policy::new(Audience::Business)),
        Err(Rejection::CredentialExpired)
    );
}

#[test]
fn licence_not_in_force_is_rejected_with_the_reason() {
    let s = sample::issued(ISSUED);
    let mut licence = s.licence.clone();
    licence.main.status = LicenceStatus::from_letters("D").unwrap();
    assert!(licence.main.status.contains(StatusCode::Suspended));
    let bytes = holder_of(&s, &licence)
        .present(Form::Offline, Audience::Business, NOW, 30)
        .unwrap()
        .payload;
    assert_eq!(
        verify_offline(&bytes, &s.trust, NOW, &Policy::new(Audience::Business)),
        Err(Rejection::LicenceNotInForce(NotEligible::Suspended))
    );
}

#[test]
fn business_view_lacks_address_birth_date_full_number_and_record() {
    let s = sample::issued(ISSUED);
    let bytes = payload(&s, Audience::Business, NOW);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let sup = &s.licence.supplementary;
    assert!(!contains(sup.address.as_bytes()), "address leaked");
    assert!(!contains(sup.issuing_authority.as_bytes()));
    for e in &sup.record {
        assert!(!contains(e.place.as_bytes()), "record place leaked");
        assert!(!contains(e.act.as_bytes()), "record act leaked");
    }
    assert!(
        !contains(s.licence.main.licence_number.as_bytes()),
        "full number leaked"
    );
    assert!(
        !contains(&s.licence.main.licence_number.as_bytes()[4..14]),
        "masked digits leaked"
    );
    let dob = edl_core::codec::date_code("dob", s.licence.main.date_of_birth)
        .unwrap()
        .to_be_bytes();
    assert!(!contains(&dob), "date of birth leaked");
    // And the decoded view has nowhere to put them.
    let v = verify_offline(&bytes, &s.trust, NOW, &Policy::new(Audience::Business)).unwrap();
    let shown = format!("{:?}", v.view);
    assert!(!shown.contains(&sup.address) && !shown.contains(&s.licence.main.licence_number));
}

#[test]
fn truncated_and_garbage_payloads_are_typed_errors() {
    let s = sample::issued(ISSUED);
    let bytes = payload(&s, Audience::Business, NOW);
    let policy = Policy::new(Audience::Business);
    for len in 0..bytes.len() {
        assert!(
            verify_offline(&bytes[..len], &s.trust, NOW, &policy).is_err(),
            "prefix of {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.insert(60, 0);
    assert!(verify_offline(&longer, &s.trust, NOW, &policy).is_err());
}

/// A holder of `licence` as the sample issuer issues it to the sample device.
fn holder_of(s: &sample::Sample, licence: &edl_core::licence::Licence) -> Holder {
    s.holder_of(licence, ISSUED, 24)
}

/// The business QR of a driver named `name`, issued by the sample issuer.
fn business_qr_for(name: &str) -> (Vec<u8>, u8, sample::Sample) {
    let s = sample::issued(ISSUED);
    let mut licence = s.licence.clone();
    licence.main.name = name.to_owned();
    let p = holder_of(&s, &licence)
        .present(Form::Offline, Audience::Business, NOW, 30)
        .unwrap();
    (p.payload, p.qr.version(), s)
}

#[test]
fn business_qr_is_version_10_for_names_of_up_to_three_chinese_characters() {
    // Four characters (司马相如) took version 10 until the 3-byte status index (D70).
    for name in ["李", "张伟", "欧阳娜"] {
        let (payload, version, s) = business_qr_for(name);
        assert!(payload.len() <= 213, "{name}: {} bytes", payload.len());
        assert!(version <= 10, "{name}: version {version}");
        verify_offline(&payload, &s.trust, NOW, &Policy::new(Audience::Business)).unwrap();
    }
}

#[test]
fn the_longest_name_allowed_still_gives_a_business_qr_of_version_12_at_most() {
    // 21 characters, 63 bytes: the longest name a licence may carry (D31).
    let name = "买买提艾力阿不都热合曼克热木江吐尔逊托合提";
    assert_eq!(name.chars().count(), 21);
    let (payload, version, s) = business_qr_for(name);
    // 207 bytes before the 3-byte status index (D70).
    assert_eq!(payload.len(), 210 - 6 + name.len());
    assert!((11..=12).contains(&version), "version {version}");
    let v = verify_offline(&payload, &s.trust, NOW, &Policy::new(Audience::Business)).unwrap();
    let DisclosedView::Business(b) = v.view else {
        panic!("business view expected")
    };
    assert_eq!(b.name, name);
}
