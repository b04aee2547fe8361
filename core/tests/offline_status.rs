//! An offline verifier holding a fresh signed status list refuses an e-licence whose
//! status changed after its credential was signed; a stale list gives "status unknown",
//! which the verifier's policy accepts or refuses.

use edl_core::credential::{
    Audience, ElicenceStatus, Issuer, StatusList, StatusListError, TrustAnchor, TrustList,
    TrustListContents,
};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::present::Form;
use edl_core::sample;
use edl_core::verify::{
    Policy, Rejection, StaleStatus, StatusCheck, verify_offline, verify_offline_with_status,
};

const ISSUED: u32 = 1_795_572_000;
const NOW: u64 = ISSUED as u64 + 3600;
const TTL: u32 = 6 * 3600;
const SKEW: u32 = 5;

fn root() -> SecretKey {
    SecretKey::from_seed([0xA0; 32])
}

/// The sample e-licence presented offline to the police at `now`.
fn payload(s: &sample::Sample, now: u64) -> Vec<u8> {
    s.holder
        .present(Form::Offline, Audience::Enforcement, now, 30)
        .unwrap()
        .payload
}

/// A list made at `made_at` where the sample e-licence has `status`.
fn signed_list(made_at: u32, status: ElicenceStatus) -> Vec<u8> {
    let mut list = StatusList::new(made_at, TTL, 100);
    list.set(sample::STATUS_INDEX, status).unwrap();
    list.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED))
}

/// The trust list as a verifier holds it: signed by the pinned root, accepted by an anchor.
fn anchored_trust(s: &sample::Sample) -> TrustList {
    let signed = TrustListContents {
        sequence: 1,
        issued_at: ISSUED - 60,
        expires_at: ISSUED + 7 * 24 * 3600,
        next_root: None,
        keys: s.trust.clone(),
    }
    .sign(&root());
    let mut anchor = TrustAnchor::pinned(root().public());
    anchor.accept(&signed, NOW, SKEW).unwrap().clone()
}

fn police() -> Policy {
    Policy::new(Audience::Enforcement)
}

#[test]
fn every_status_change_is_visible_offline_with_a_fresh_list() {
    let s = sample::issued(ISSUED);
    let trust = anchored_trust(&s);
    let p = payload(&s, NOW);
    let made = NOW as u32 - 60;
    for (status, expected) in [
        (ElicenceStatus::InForce, Ok(StatusCheck::InForce)),
        (ElicenceStatus::Suspended, Err(Rejection::ElicenceSuspended)),
        (
            ElicenceStatus::Superseded,
            Err(Rejection::ElicenceSuperseded),
        ),
    ] {
        let list = StatusList::verify(&signed_list(made, status), &trust).unwrap();
        let got = verify_offline_with_status(&p, &trust, Some(&list), NOW, &police());
        assert_eq!(got.map(|v| v.status), expected, "{status:?}");
    }
    // Without a list only the credential's own (signed-in) status counts.
    let v = verify_offline(&p, &trust, NOW, &police()).unwrap();
    assert_eq!(v.status, StatusCheck::NotChecked);
}

#[test]
fn a_stale_list_gives_status_unknown_which_the_policy_decides() {
    let s = sample::issued(ISSUED);
    let trust = anchored_trust(&s);
    let made = NOW as u32 - TTL; // exactly its time-to-live old: stale
    let list = StatusList::verify(&signed_list(made, ElicenceStatus::Suspended), &trust).unwrap();
    let p = payload(&s, NOW);
    let accepted = verify_offline_with_status(&p, &trust, Some(&list), NOW, &police()).unwrap();
    assert_eq!(accepted.status, StatusCheck::Unknown);
    let strict = police().with_stale_status(StaleStatus::Refuse);
    assert_eq!(
        verify_offline_with_status(&p, &trust, Some(&list), NOW, &strict),
        Err(Rejection::StatusUnknown)
    );
    // One second younger, the same list still refuses the suspended e-licence.
    let fresh =
        StatusList::verify(&signed_list(made + 1, ElicenceStatus::Suspended), &trust).unwrap();
    assert_eq!(
        verify_offline_with_status(&p, &trust, Some(&fresh), NOW, &police()),
        Err(Rejection::ElicenceSuspended)
    );
}

#[test]
fn a_list_that_does_not_cover_the_index_is_status_unknown() {
    let s = sample::issued(ISSUED);
    let trust = anchored_trust(&s);
    let short = StatusList::new(NOW as u32 - 60, TTL, sample::STATUS_INDEX);
    let list = StatusList::verify(
        &short.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED)),
        &trust,
    )
    .unwrap();
    let strict = police().with_stale_status(StaleStatus::Refuse);
    assert_eq!(
        verify_offline_with_status(&payload(&s, NOW), &trust, Some(&list), NOW, &strict),
        Err(Rejection::StatusUnknown)
    );
}

#[test]
fn a_status_list_signed_under_another_root_is_refused() {
    let s = sample::issued(ISSUED);
    let trust = anchored_trust(&s);
    // Another authority: its own root, its own issuing key id 1.
    let other_key = SecretKey::from_seed([0x5A; 32]);
    let mut list = StatusList::new(NOW as u32 - 60, TTL, 100);
    list.set(sample::STATUS_INDEX, ElicenceStatus::InForce)
        .unwrap();
    let theirs = list.sign(KeyId(1), &other_key);
    assert_eq!(
        StatusList::verify(&theirs, &trust),
        Err(StatusListError::BadSignature)
    );
    let unknown_kid = list.sign(KeyId(9), &other_key);
    assert_eq!(
        StatusList::verify(&unknown_kid, &trust),
        Err(StatusListError::UnknownKey)
    );
    // The other authority's list verifies under its own trust list only.
    let their_trust =
        TrustList::new(vec![Issuer::new(KeyId(1), other_key).trusted_key(0)]).unwrap();
    assert!(StatusList::verify(&theirs, &their_trust).is_ok());
}

#[test]
fn the_credential_carries_its_status_index_in_both_views() {
    let s = sample::issued(ISSUED);
    let (e, b) = s.holder.credential().verify(&s.trust).unwrap();
    assert_eq!(e.header.status_index, sample::STATUS_INDEX);
    assert_eq!(b.header.status_index, sample::STATUS_INDEX);
}
