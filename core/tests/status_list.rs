//! The signed status list: offline refusal of suspended and superseded e-licences.

use edl_core::credential::{
    ElicenceStatus, Issuer, MAX_VIEW_LIFETIME_HOURS, StatusAnswer, StatusList, StatusListError,
    TrustList, TrustedKey,
};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::sample;

const NOW: u64 = 1_795_572_000;
const TTL: u32 = 6 * 3600;

fn issuer() -> (Issuer, SecretKey, TrustList) {
    let issuer = Issuer::new(KeyId(1), SecretKey::from_seed(sample::ISSUER_SEED));
    let trust = TrustList::new(vec![issuer.trusted_key(0)]).unwrap();
    (issuer, SecretKey::from_seed(sample::ISSUER_SEED), trust)
}

fn list() -> StatusList {
    let mut list = StatusList::new(NOW as u32 - 60, TTL, 1000);
    list.set(7, ElicenceStatus::Suspended).unwrap();
    list.set(8, ElicenceStatus::Superseded).unwrap();
    list
}

#[test]
fn a_fresh_list_tells_each_status_apart() {
    let (_, key, trust) = issuer();
    let bytes = list().sign(KeyId(1), &key);
    let got = StatusList::verify(&bytes, &trust).unwrap();
    assert_eq!(
        got.status_at(6, NOW),
        Ok(StatusAnswer::Known(ElicenceStatus::InForce))
    );
    assert_eq!(
        got.status_at(7, NOW),
        Ok(StatusAnswer::Known(ElicenceStatus::Suspended))
    );
    assert_eq!(
        got.status_at(8, NOW),
        Ok(StatusAnswer::Known(ElicenceStatus::Superseded))
    );
    assert_eq!(got.get(1000), Err(StatusListError::IndexOutOfRange));
}

#[test]
fn a_stale_list_answers_status_unknown() {
    let (_, key, trust) = issuer();
    let got = StatusList::verify(&list().sign(KeyId(1), &key), &trust).unwrap();
    let stale = NOW - 60 + u64::from(TTL);
    assert_eq!(
        got.status_at(7, stale - 1),
        Ok(StatusAnswer::Known(ElicenceStatus::Suspended))
    );
    assert_eq!(got.status_at(7, stale), Ok(StatusAnswer::Unknown));
    assert_eq!(got.status_at(6, stale), Ok(StatusAnswer::Unknown));
}

#[test]
fn a_list_from_another_authority_is_refused() {
    let (_, _, trust) = issuer();
    // Another authority's issuing key under the same id, under another root.
    let other = SecretKey::from_seed([0x77; 32]);
    assert_eq!(
        StatusList::verify(&list().sign(KeyId(1), &other), &trust),
        Err(StatusListError::BadSignature)
    );
    assert_eq!(
        StatusList::verify(&list().sign(KeyId(9), &other), &trust),
        Err(StatusListError::UnknownKey)
    );
}

#[test]
fn flipping_any_single_bit_of_a_status_list_is_refused() {
    let (_, key, trust) = issuer();
    let bytes = list().sign(KeyId(1), &key);
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(
            StatusList::verify(&flipped, &trust).is_err(),
            "flipping bit {i} of {} went unnoticed",
            bytes.len() * 8
        );
    }
}

#[test]
fn a_million_entries_with_one_percent_not_in_force_stay_small() {
    let (_, key, trust) = issuer();
    let mut list = StatusList::new(NOW as u32, TTL, 1_000_000);
    // Every 100th index, spread as real suspensions are.
    for i in (0..1_000_000).step_by(100) {
        list.set(i + (i / 100) % 97, ElicenceStatus::Suspended)
            .unwrap();
    }
    let bytes = list.sign(KeyId(1), &key);
    assert!(bytes.len() < 150_000, "{} bytes", bytes.len());
    let got = StatusList::verify(&bytes, &trust).unwrap();
    assert_eq!(got.get(0), Ok(ElicenceStatus::Suspended));
    assert_eq!(got.get(1), Ok(ElicenceStatus::InForce));
}

/// A retired key still signs lists dated inside its life, but none of them is relied on
/// later than its retirement plus D57's lifetime cap, whatever lifetime the list claims
/// (second hostile review, R17: a leaked retired key signed a list that stayed fresh for
/// ever, answering "in force" for e-licences of the current key).
#[test]
fn a_retired_key_s_list_is_not_fresh_past_its_retirement_and_the_cap() {
    let key = SecretKey::from_seed([0x33; 32]);
    let retired_at: u32 = 1_790_000_000;
    let trust = TrustList::new(vec![TrustedKey {
        kid: KeyId(1),
        key: key.public(),
        not_before: 1_700_000_000,
        not_after: retired_at,
    }])
    .unwrap();
    let list = StatusList::new(retired_at, u32::MAX, 10);
    let got = StatusList::verify(&list.sign(KeyId(1), &key), &trust).unwrap();
    let cap = u64::from(retired_at) + u64::from(MAX_VIEW_LIFETIME_HOURS) * 3600;
    assert_eq!(
        got.status_at(3, cap - 1),
        Ok(StatusAnswer::Known(ElicenceStatus::InForce))
    );
    assert_eq!(got.status_at(3, cap), Ok(StatusAnswer::Unknown));
    assert_eq!(
        got.status_at(3, cap + 100 * 365 * 86_400),
        Ok(StatusAnswer::Unknown)
    );
}
