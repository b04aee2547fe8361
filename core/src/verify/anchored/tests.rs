use super::*;
use crate::credential::{
    Audience, ElicenceStatus, Issuer, MAX_STATUS_LIST_TTL, StatusList, TrustListContents,
    TrustedKey,
};
use crate::crypto::{KeyId, SecretKey};
use crate::present::Form;
use crate::sample;
use crate::verify::{StaleStatus, StatusCheck};

const ISSUED: u32 = 1_795_572_000;
const NOW: u64 = ISSUED as u64 + 3600;
const TTL: u32 = 6 * 3600;
const SKEW: u32 = 5;

fn root() -> SecretKey {
    SecretKey::from_seed([0xA0; 32])
}

fn signed_trust(s: &sample::Sample, sequence: u32, root: &SecretKey) -> Vec<u8> {
    TrustListContents {
        sequence,
        issued_at: ISSUED - 60,
        expires_at: ISSUED + 7 * 24 * 3600,
        next_root: None,
        keys: s.trust.clone(),
    }
    .sign(root)
}

fn signed_status(made_at: u32, status: ElicenceStatus) -> Vec<u8> {
    let mut list = StatusList::new(made_at, TTL, 100);
    list.set(sample::STATUS_INDEX, status).unwrap();
    list.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED))
}

fn payload(s: &sample::Sample) -> Vec<u8> {
    s.holder
        .present(Form::Offline, Audience::Enforcement, NOW, 30)
        .unwrap()
        .payload
}

fn loaded(s: &sample::Sample) -> OfflineTrust {
    let mut t = OfflineTrust::pinned(root().public());
    t.load_trust_list(&signed_trust(s, 3, &root()), NOW, SKEW)
        .unwrap();
    t
}

#[test]
fn nothing_verifies_before_a_trust_list_is_loaded() {
    let s = sample::issued(ISSUED);
    let t = OfflineTrust::pinned(root().public());
    assert_eq!(
        t.verify(&payload(&s), NOW, &Policy::new(Audience::Enforcement)),
        Err(AnchoredRejection::TrustList(TrustListRejection::NoList))
    );
}

#[test]
fn a_list_of_another_root_is_refused_and_the_held_one_kept() {
    let s = sample::issued(ISSUED);
    let mut t = loaded(&s);
    let forged = signed_trust(&s, 4, &SecretKey::from_seed([0x5A; 32]));
    assert_eq!(
        t.load_trust_list(&forged, NOW, SKEW),
        Err(TrustListRejection::BadRootSignature)
    );
    assert_eq!(t.trust_list_summary().unwrap().sequence, 3);
    assert_eq!(
        t.load_trust_list(&signed_trust(&s, 2, &root()), NOW, SKEW),
        Err(TrustListRejection::RolledBack {
            held: 3,
            offered: 2
        })
    );
}

#[test]
fn a_fresh_status_list_refuses_a_suspended_e_licence_and_a_stale_one_is_unknown() {
    let s = sample::issued(ISSUED);
    let mut t = loaded(&s);
    let police = Policy::new(Audience::Enforcement);
    let p = payload(&s);
    // No list held yet: unknown (AG-F4).
    assert_eq!(
        t.verify(&p, NOW, &police).unwrap().status,
        StatusCheck::Unknown
    );
    let summary = t
        .load_status_list(
            &signed_status(NOW as u32 - 60, ElicenceStatus::Suspended),
            NOW,
            SKEW,
        )
        .unwrap();
    assert_eq!(summary.stale_at, NOW - 60 + u64::from(TTL));
    assert_eq!(
        t.verify(&p, NOW, &police),
        Err(AnchoredRejection::Rejected(Rejection::ElicenceSuspended))
    );
    let later = NOW + u64::from(TTL);
    let strict = police.with_stale_status(StaleStatus::Refuse);
    assert_eq!(
        t.own_status(&s.holder.credential().clone(), later),
        OwnStatus::Unknown
    );
    // The payload's own window is long gone by then: present again at `later`.
    let p_later = s
        .holder
        .present(Form::Offline, Audience::Enforcement, later, 30)
        .unwrap()
        .payload;
    assert_eq!(
        t.verify(&p_later, later, &police).unwrap().status,
        StatusCheck::Unknown
    );
    assert_eq!(
        t.verify(&p_later, later, &strict),
        Err(AnchoredRejection::Rejected(Rejection::StatusUnknown))
    );
}

#[test]
fn an_older_status_list_is_refused_and_one_from_the_future_too() {
    let s = sample::issued(ISSUED);
    let mut t = loaded(&s);
    t.load_status_list(
        &signed_status(NOW as u32 - 60, ElicenceStatus::InForce),
        NOW,
        SKEW,
    )
    .unwrap();
    assert_eq!(
        t.load_status_list(
            &signed_status(NOW as u32 - 120, ElicenceStatus::InForce),
            NOW,
            SKEW
        ),
        Err(StatusListRefusal::RolledBack {
            held: NOW as u32 - 60,
            offered: NOW as u32 - 120
        })
    );
    assert_eq!(
        t.load_status_list(
            &signed_status(NOW as u32 + 60, ElicenceStatus::InForce),
            NOW,
            SKEW
        ),
        Err(StatusListRefusal::NotYetValid)
    );
    let mut forged = signed_status(NOW as u32, ElicenceStatus::InForce);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        t.load_status_list(&forged, NOW, SKEW),
        Err(StatusListRefusal::List(StatusListError::BadSignature))
    );
    assert!(matches!(
        OfflineTrust::pinned(root().public()).load_status_list(&forged, NOW, SKEW),
        Err(StatusListRefusal::NoTrustList(TrustListRejection::NoList))
    ));
}

#[test]
fn the_wallet_reads_its_own_status_from_the_lists_held() {
    let s = sample::issued(ISSUED);
    let credential = s.holder.credential().clone();
    let mut t = OfflineTrust::pinned(root().public());
    assert_eq!(t.own_status(&credential, NOW), OwnStatus::NotChecked);
    t.load_trust_list(&signed_trust(&s, 1, &root()), NOW, SKEW)
        .unwrap();
    assert_eq!(t.own_status(&credential, NOW), OwnStatus::NotChecked);
    for (made, status, own) in [
        (60, ElicenceStatus::InForce, OwnStatus::InForce),
        (50, ElicenceStatus::Suspended, OwnStatus::Suspended),
        (40, ElicenceStatus::Superseded, OwnStatus::Superseded),
    ] {
        t.load_status_list(&signed_status(NOW as u32 - made, status), NOW, SKEW)
            .unwrap();
        assert_eq!(t.own_status(&credential, NOW), own);
    }
}

/// The lists held at `at`: the trust list and a fresh status list holding the sample
/// e-licence in force.
fn in_force_at(s: &sample::Sample, at: u64) -> OfflineTrust {
    let mut t = OfflineTrust::pinned(root().public());
    t.load_trust_list(&signed_trust(s, 1, &root()), at, SKEW)
        .unwrap();
    t.load_status_list(
        &signed_status(at as u32 - 60, ElicenceStatus::InForce),
        at,
        SKEW,
    )
    .unwrap();
    t
}

/// The status list does not judge dates, the credential carries them: a licence past its
/// validity is expired and one whose validity begins later is not valid yet, though the list
/// holds the e-licence in force; neither is superseded, which would tell the driver to sync
/// (D154).
#[test]
fn a_licence_out_of_its_validity_is_expired_or_not_yet_valid_rather_than_superseded() {
    let s = sample::issued(ISSUED);
    // 2026-11-25, the Beijing date at NOW; `tomorrow` is within the credential's lifetime.
    let today = crate::verify::china_date(NOW);
    let tomorrow = NOW + 24 * 3600;
    let mut ends_today = s.licence.clone();
    ends_today.main.valid_until = today;
    let mut begins_tomorrow = s.licence.clone();
    begins_tomorrow.main.valid_from = today.next_day().unwrap();
    for (licence, at_now, at_tomorrow) in [
        (&ends_today, OwnStatus::InForce, OwnStatus::LicenceExpired),
        (
            &begins_tomorrow,
            OwnStatus::LicenceNotYetValid,
            OwnStatus::InForce,
        ),
    ] {
        let credential = s
            .holder_of(licence, ISSUED, sample::TTL_HOURS)
            .credential()
            .clone();
        assert_eq!(in_force_at(&s, NOW).own_status(&credential, NOW), at_now);
        assert_eq!(
            in_force_at(&s, tomorrow).own_status(&credential, tomorrow),
            at_tomorrow
        );
    }
}

#[test]
fn the_root_key_text_form_is_64_hex_digits() {
    let key = root().public();
    let text = root_key_to_text(&key);
    assert_eq!(text.len(), 64);
    assert_eq!(
        root_key_from_text(&format!(" {} ", text.to_uppercase())),
        Some(key)
    );
    for bad in ["", "zz", &text[..62], &format!("+{}", &text[1..])] {
        assert_eq!(root_key_from_text(bad), None, "{bad}");
    }
}

/// Without a status list held, a pinned verifier does not know the status: `Refuse`
/// refuses, as it does with a stale list, and `Accept` says "unknown", not "not checked"
/// (twenty-sixth review, AG-F4: a refresh whose status list was refused at load left a
/// strict scanner accepting every presentation).
#[test]
fn no_status_list_held_is_an_unknown_status() {
    let s = sample::issued(ISSUED);
    let t = loaded(&s);
    let strict = Policy::new(Audience::Enforcement).with_stale_status(StaleStatus::Refuse);
    assert_eq!(
        t.verify(&payload(&s), NOW, &strict),
        Err(AnchoredRejection::Rejected(Rejection::StatusUnknown))
    );
    let verified = t
        .verify(&payload(&s), NOW, &Policy::new(Audience::Enforcement))
        .unwrap();
    assert_eq!(verified.status, StatusCheck::Unknown);
}

/// A clock at the end of the range refuses the lists, and panics nowhere (AG-F5: `now +
/// skew` overflowed in a debug build, inside the phone verifier's lock).
#[test]
fn a_time_at_the_end_of_the_range_refuses_the_lists_without_a_panic() {
    let s = sample::issued(ISSUED);
    let mut t = OfflineTrust::pinned(root().public());
    assert!(
        t.load_trust_list(&signed_trust(&s, 3, &root()), u64::MAX, SKEW)
            .is_err()
    );
    let mut t = loaded(&s);
    assert!(
        t.load_status_list(
            &signed_status(NOW as u32, ElicenceStatus::InForce),
            u64::MAX,
            SKEW
        )
        .is_err()
    );
    assert!(
        t.verify(&payload(&s), u64::MAX, &Policy::new(Audience::Enforcement))
            .is_err()
    );
}

/// A status list fetched from the authority that was made long before, though within its
/// time-to-live, is refused as kept or replayed on the way; the same bytes loaded from a
/// file are taken (twenty-sixth review, AG-F2: the phone library took it, and a licence
/// suspended since verified in force, where the CLI refused it).
#[test]
fn a_status_list_fetched_live_but_made_long_before_is_refused() {
    let s = sample::issued(ISSUED);
    let old = signed_status(NOW as u32 - 3300, ElicenceStatus::InForce);
    let mut t = loaded(&s);
    assert_eq!(
        t.load_fetched_status_list(&old, NOW, SKEW),
        Err(StatusListRefusal::NotLive { age: 3300 })
    );
    assert!(t.status_list_summary().is_none(), "nothing was taken");
    let recent = signed_status(NOW as u32 - 60, ElicenceStatus::InForce);
    t.load_fetched_status_list(&recent, NOW, SKEW).unwrap();
    let mut t = loaded(&s);
    t.load_status_list(&old, NOW, SKEW).unwrap();
}

/// A status list fetched live is signed as it is asked for, by the authority's clock, so a
/// scanner whose clock is some seconds slow (drift, a spoofed time signal) must still take
/// it: refused, it held no list and a suspended licence read "status unknown", accepted
/// under the default policy (thirtieth review, AK-F1: 6 s slow was enough). A list's date
/// may then be ahead of the scanner's clock by as much as a live list may be behind it; a
/// list from a file, whose date is all a scanner has to go by, keeps the plain skew.
#[test]
fn a_status_list_fetched_live_by_a_scanner_some_seconds_slow_is_taken() {
    let s = sample::issued(ISSUED);
    let police = Policy::new(Audience::Enforcement);
    let ahead = |secs: u64| signed_status((NOW + secs) as u32, ElicenceStatus::Suspended);
    let mut t = loaded(&s);
    t.load_fetched_status_list(&ahead(6), NOW, SKEW).unwrap();
    assert_eq!(
        t.verify(&payload(&s), NOW, &police),
        Err(AnchoredRejection::Rejected(Rejection::ElicenceSuspended))
    );
    let most = LIVE_STATUS_MAX_AGE + u64::from(SKEW);
    loaded(&s)
        .load_fetched_status_list(&ahead(most), NOW, SKEW)
        .unwrap();
    assert_eq!(
        loaded(&s).load_fetched_status_list(&ahead(most + 1), NOW, SKEW),
        Err(StatusListRefusal::NotYetValid)
    );
    assert_eq!(
        loaded(&s).load_status_list(&ahead(6), NOW, SKEW),
        Err(StatusListRefusal::NotYetValid)
    );
}

/// A status list held is judged again when a newer trust list is taken: once its key is
/// retired it is relied on no later than the retirement plus D57's cap, as a list of that
/// key checked now would be, and no list is relied on past MAX_STATUS_LIST_TTL. Before,
/// the cut was made only when a list was loaded, so an all-in-force list signed with a
/// leaked key while it was current, with a lifetime to 2106, kept a suspended licence in
/// force after the key's retirement for as long as refreshes were blocked (thirtieth
/// review, AK-F3).
#[test]
fn a_held_status_list_lives_no_longer_than_its_key_allows_after_a_rotation() {
    let s = sample::issued(ISSUED);
    let k2 = Issuer::new(KeyId(2), SecretKey::from_seed([0x22; 32]));
    let retired = NOW as u32;
    let rotated = TrustListContents {
        sequence: retired,
        issued_at: retired,
        expires_at: retired + 7 * 24 * 3600,
        next_root: None,
        keys: TrustList::new(vec![
            TrustedKey {
                not_after: retired,
                ..s.issuer.trusted_key(0)
            },
            k2.trusted_key(retired),
        ])
        .unwrap(),
    }
    .sign(&root());
    let for_ever = {
        let list = StatusList::new(NOW as u32 - 60, u32::MAX - NOW as u32, 100);
        list.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED))
    };
    let mut t = loaded(&s);
    let held = t.load_status_list(&for_ever, NOW, SKEW).unwrap();
    assert_eq!(
        held.stale_at,
        NOW - 60 + u64::from(MAX_STATUS_LIST_TTL),
        "no list lives past the longest the authority signs"
    );
    t.load_trust_list(&rotated, NOW, SKEW).unwrap();
    let cap = u64::from(retired) + 72 * 3600;
    assert_eq!(t.status_list_summary().unwrap().stale_at, cap);
    // A credential of the new key (of a licence that may have been suspended since) 8 h
    // after the cap: the held list no longer says "in force".
    let later = cap + 8 * 3600;
    let holder = sample::Sample {
        issuer: k2,
        ..sample::issued(ISSUED)
    }
    .holder_of(&s.licence, later as u32 - 60, 72);
    let p = holder
        .present(Form::Offline, Audience::Enforcement, later, 30)
        .unwrap()
        .payload;
    let police = Policy::new(Audience::Enforcement);
    assert_eq!(
        t.verify(&p, later, &police).map(|v| v.status),
        Ok(StatusCheck::Unknown)
    );
}

/// The trust list fetched in the same refresh is dated by the authority's clock too, on
/// the hour: a scanner minutes slow refused it, and the whole refresh, in every hour's
/// first minutes (thirty-first review, AL-F2). Fetched live, it may be dated ahead as far
/// as a live status list may; from a file, the plain skew.
#[test]
fn a_trust_list_fetched_live_by_a_scanner_minutes_slow_is_taken() {
    let s = sample::issued(ISSUED);
    let ahead = TrustListContents {
        sequence: (NOW + 120) as u32,
        issued_at: (NOW + 120) as u32,
        expires_at: (NOW + 7 * 24 * 3600) as u32,
        next_root: None,
        keys: s.trust.clone(),
    }
    .sign(&root());
    let mut t = OfflineTrust::pinned(root().public());
    assert_eq!(
        t.load_trust_list(&ahead, NOW, SKEW),
        Err(TrustListRejection::NotYetValid)
    );
    t.load_fetched_trust_list(&ahead, NOW, SKEW).unwrap();
    t.load_fetched_status_list(
        &signed_status(NOW as u32 + 120, ElicenceStatus::InForce),
        NOW,
        SKEW,
    )
    .unwrap();
}
