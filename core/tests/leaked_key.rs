//! A leaked issuing key after rotation: what its seed can still make verify offline.
//!
//! The authority rotates its issuing key; the retired key's seed leaks (it sat in the
//! issuing database). The attacker signs views for a licence of their choosing, dated at
//! the very end of the retired key's period, with the longest lifetime the header can
//! hold. A verifier must refuse them, whatever the attacker writes in the view.

use edl_core::credential::{
    Audience, BusinessView, Credential, EnforcementView, Issuer, SignedView, TrustList, TrustedKey,
    ViewHeader,
};
use edl_core::crypto::{self, KeyId, Purpose, SecretKey, TotpSeed};
use edl_core::present::{Form, Holder};
use edl_core::sample;
use edl_core::verify::{Policy, Rejection, verify_offline};

/// The end of the retired key's period: 2026-11-25 10:00:00 Beijing time.
const RETIRED: u32 = 1_795_572_000;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The trust list after the rotation: key 1 retired at `RETIRED`, key 2 current.
fn rotated_trust() -> TrustList {
    let current = Issuer::new(KeyId(2), SecretKey::from_seed([0x12; 32]));
    TrustList::new(vec![
        TrustedKey {
            not_after: RETIRED,
            ..Issuer::new(KeyId(1), SecretKey::from_seed(sample::ISSUER_SEED)).trusted_key(0)
        },
        current.trusted_key(RETIRED + 1),
    ])
    .unwrap()
}

/// Signs `body` as the attacker does: the raw seed, no issuer-side checks.
fn sign(leaked: &SecretKey, audience: Audience, body: Vec<u8>) -> SignedView {
    let purpose = match audience {
        Audience::Enforcement => Purpose::EnforcementView,
        Audience::Business => Purpose::BusinessView,
    };
    let sig = crypto::sign(leaked, purpose, &body);
    let mut bytes = body;
    bytes.extend_from_slice(&sig.0);
    SignedView::from_bytes(audience, bytes).unwrap()
}

/// What the attacker presents at `now`: both views signed with the leaked seed of key 1.
fn forged_payload(issued_at: u32, ttl_hours: u16, now: u64) -> Vec<u8> {
    let leaked = SecretKey::from_seed(sample::ISSUER_SEED);
    let licence = sample::issued(issued_at).licence;
    let device = SecretKey::from_seed([0x66; 32]);
    let header = ViewHeader {
        kid: KeyId(1),
        device_key: device.public(),
        issued_at,
        ttl_hours,
        status_index: sample::STATUS_INDEX,
    };
    let enforcement = EnforcementView {
        header,
        id: sample::ELICENCE_ID,
        licence: licence.clone(),
    }
    .encode()
    .unwrap();
    let business = BusinessView::from_licence(header, &licence)
        .unwrap()
        .encode()
        .unwrap();
    let credential = Credential {
        enforcement: sign(&leaked, Audience::Enforcement, enforcement),
        business: sign(&leaked, Audience::Business, business),
    };
    Holder::new(credential, device, TotpSeed::from_bytes([0; 32]))
        .unwrap()
        .present(Form::Offline, Audience::Business, now, 30)
        .unwrap()
        .payload
}

fn verify(payload: &[u8], now: u64) -> Result<(), Rejection> {
    verify_offline(
        payload,
        &rotated_trust(),
        now,
        &Policy::new(Audience::Business),
    )
    .map(|_| ())
}

#[test]
fn a_retired_keys_seed_cannot_mint_a_long_lived_backdated_view() {
    // Dated at the last second of key 1's period, valid for 65,535 hours (7.5 years).
    let now = u64::from(RETIRED) + 365 * DAY;
    let payload = forged_payload(RETIRED, u16::MAX, now);
    assert_eq!(
        verify(&payload, now),
        Err(Rejection::LifetimeTooLong {
            declared_hours: u16::MAX,
            max_hours: edl_core::credential::MAX_VIEW_LIFETIME_HOURS,
        }),
        "a view signed with a retired key verified a year after the key's period ended"
    );
    // Even within the first hour after the rotation: the declared lifetime alone refuses it.
    let soon = u64::from(RETIRED) + 60;
    assert!(matches!(
        verify(&forged_payload(RETIRED, u16::MAX, soon), soon),
        Err(Rejection::LifetimeTooLong { .. })
    ));
}

#[test]
fn a_retired_keys_seed_cannot_sign_after_its_period_end() {
    // A capped lifetime but dated one second after the retirement.
    let now = u64::from(RETIRED) + HOUR;
    assert_eq!(
        verify(&forged_payload(RETIRED + 1, 72, now), now),
        Err(Rejection::IssuedOutsideKeyPeriod)
    );
}

#[test]
fn views_a_retired_key_signed_in_its_period_verify_until_the_cap_and_no_longer() {
    // The best the leaked seed can do: the last second of the period with the full cap.
    let end = u64::from(RETIRED) + 72 * HOUR;
    let payload = forged_payload(RETIRED, 72, end - 30);
    assert_eq!(verify(&payload, end - 30), Ok(()));
    let late = forged_payload(RETIRED, 72, end);
    assert_eq!(verify(&late, end), Err(Rejection::CredentialExpired));
}

#[test]
fn a_licence_whose_validity_has_not_started_is_refused() {
    let s = sample::issued(RETIRED - 600);
    let mut licence = s.licence.clone();
    licence.main.valid_from =
        edl_core::verify::china_date(u64::from(RETIRED)) + time::Duration::days(2);
    licence.main.valid_until = licence.main.valid_from + time::Duration::days(3650);
    let device = SecretKey::from_seed(sample::DEVICE_SEED);
    let credential = s.issuer.issue(
        &licence,
        edl_core::credential::Issuance {
            id: sample::ELICENCE_ID,
            device_key: device.public(),
            issued_at: RETIRED - 600,
            ttl_hours: 24,
            status_index: sample::STATUS_INDEX,
        },
    );
    // A renewal the authority issues before the new period starts.
    {
        let credential = credential.expect("a licence starting later is still issued");
        let now = u64::from(RETIRED);
        let payload = Holder::new(credential, device, TotpSeed::from_bytes([0; 32]))
            .unwrap()
            .present(Form::Offline, Audience::Business, now, 30)
            .unwrap()
            .payload;
        assert_eq!(
            verify_offline(&payload, &s.trust, now, &Policy::new(Audience::Business)),
            Err(Rejection::LicenceNotYetValid)
        );
    }
}

#[test]
fn the_issuer_refuses_a_lifetime_above_the_cap() {
    let s = sample::issued(RETIRED);
    let issue = |ttl_hours| {
        s.issuer.issue(
            &s.licence,
            edl_core::credential::Issuance {
                id: sample::ELICENCE_ID,
                device_key: SecretKey::from_seed(sample::DEVICE_SEED).public(),
                issued_at: RETIRED,
                ttl_hours,
                status_index: sample::STATUS_INDEX,
            },
        )
    };
    assert!(issue(edl_core::credential::MAX_VIEW_LIFETIME_HOURS).is_ok());
    assert!(issue(edl_core::credential::MAX_VIEW_LIFETIME_HOURS + 1).is_err());
}
