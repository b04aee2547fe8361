//! The wallet's own status (`OfflineTrust::own_status`, D93) never says "in force" where a
//! police scanner holding the same lists refuses the e-licence offline (D152): a licence past
//! its validity, a status letter that takes it out of force and a credential past its
//! lifetime count as well as the status list's entry. A refusal says what the driver can do:
//! a licence past its validity is expired (renew it; a sync changes nothing) and one whose
//! validity begins later is not valid yet, neither of them superseded or suspended (D154).

use edl_core::credential::{Audience, ElicenceStatus, StatusList, TrustListContents};
use edl_core::crypto::{KeyId, SecretKey};
use edl_core::licence::{LicenceStatus, NotEligible};
use edl_core::present::{Form, Holder};
use edl_core::sample;
use edl_core::verify::{
    AnchoredRejection, OfflineTrust, OwnStatus, Policy, Rejection, StatusCheck,
};
use std::collections::BTreeSet;

/// 2028-03-07 20:00 Beijing time: the last evening of the sample licence's validity
/// (valid until 2028-03-07).
const ISSUED: u32 = 1_836_043_200;
/// 2028-03-08 10:00 Beijing time: the morning after, within the credential's 72 h.
const MORNING_AFTER: u64 = 1_836_093_600;
/// 2028-03-07 23:59:59 Beijing time: the last second of the validity.
const LAST_SECOND: u64 = 1_836_057_599;
const TTL: u32 = 6 * 3600;
const SKEW: u32 = 5;

fn root() -> SecretKey {
    SecretKey::from_seed([0xA0; 32])
}

/// The sample e-licence issued at [`ISSUED`] with the status `letters` signed into it.
fn holder(letters: &str) -> Holder {
    holder_of(|licence| licence.main.status = LicenceStatus::from_letters(letters).unwrap())
}

/// The sample e-licence issued at [`ISSUED`], its licence changed by `change` first.
fn holder_of(change: impl FnOnce(&mut edl_core::licence::Licence)) -> Holder {
    let s = sample::issued(ISSUED);
    let mut licence = s.licence.clone();
    change(&mut licence);
    s.holder_of(&licence, ISSUED, sample::TTL_HOURS)
}

/// What a wallet and a police scanner both hold at `now` before any status list: the
/// root-signed trust list.
fn trust_only(now: u64) -> OfflineTrust {
    let s = sample::issued(ISSUED);
    let signed = TrustListContents {
        sequence: 1,
        issued_at: ISSUED - 60,
        expires_at: ISSUED + 30 * 24 * 3600,
        next_root: None,
        keys: s.trust.clone(),
    }
    .sign(&root());
    let mut t = OfflineTrust::pinned(root().public());
    t.load_trust_list(&signed, now, SKEW).unwrap();
    t
}

/// What a wallet and a police scanner both hold at `now`: the root-signed trust list and a
/// status list made at `made` where the sample e-licence has `status`.
fn lists(now: u64, made: u32, status: ElicenceStatus) -> OfflineTrust {
    let mut t = trust_only(now);
    let mut list = StatusList::new(made, TTL, 100);
    list.set(sample::STATUS_INDEX, status).unwrap();
    t.load_status_list(
        &list.sign(KeyId(1), &SecretKey::from_seed(sample::ISSUER_SEED)),
        now,
        SKEW,
    )
    .unwrap();
    t
}

/// A police scanner's verdict at `now` with the lists `t`, on a fresh offline QR.
fn scanner(t: &OfflineTrust, h: &Holder, now: u64) -> Result<StatusCheck, AnchoredRejection> {
    let payload = h
        .present(Form::Offline, Audience::Enforcement, now, 30)
        .unwrap()
        .payload;
    t.verify(&payload, now, &Policy::new(Audience::Enforcement))
        .map(|v| v.status)
}

/// The sample e-licence issued at [`ISSUED`] with the status `letters` signed into it, for a
/// licence whose validity begins on 2028-03-08 (the day after [`ISSUED`]; a renewal whose
/// period starts later, D153).
fn holder_from_next_day(letters: &str) -> Holder {
    holder_of(|licence| {
        licence.main.status = LicenceStatus::from_letters(letters).unwrap();
        licence.main.valid_from = time::macros::date!(2028 - 03 - 08);
        licence.main.valid_until = time::macros::date!(2038 - 03 - 08);
    })
}

/// How the wallet words a scanner's refusal. A status letter signed into the credential is
/// worded as the authority's status list words it: E, F, G and C superseded, any other
/// letter that takes the licence out of force suspended (`letters_word`, `None` for letters
/// that leave it in force). Otherwise the dates refused it: a licence past its validity is
/// expired and one whose validity begins later is not valid yet (D154). A credential past
/// its lifetime, and a status list's "revoked or replaced", are superseded.
fn word_for(letters_word: Option<OwnStatus>, refused: &AnchoredRejection) -> OwnStatus {
    match refused {
        AnchoredRejection::Rejected(Rejection::ElicenceSuspended) => OwnStatus::Suspended,
        AnchoredRejection::Rejected(Rejection::LicenceNotInForce(reason)) => {
            letters_word.unwrap_or_else(|| {
                // Letters that leave the licence in force: only the date refused it.
                assert_eq!(*reason, NotEligible::OverdueRenewal);
                OwnStatus::LicenceExpired
            })
        }
        AnchoredRejection::Rejected(Rejection::LicenceNotYetValid) => {
            letters_word.unwrap_or(OwnStatus::LicenceNotYetValid)
        }
        _ => OwnStatus::Superseded,
    }
}

#[test]
fn the_morning_after_the_validity_ends_the_wallet_no_longer_says_in_force() {
    // The reviewer's reproduction: issued the evening of the last day, checked the next
    // morning with a fresh list that holds the e-licence in force.
    let h = holder("A");
    let t = lists(
        MORNING_AFTER,
        MORNING_AFTER as u32 - 60,
        ElicenceStatus::InForce,
    );
    assert_eq!(
        scanner(&t, &h, MORNING_AFTER),
        Err(AnchoredRejection::Rejected(Rejection::LicenceNotInForce(
            NotEligible::OverdueRenewal
        )))
    );
    let own = t.own_status(h.credential(), MORNING_AFTER);
    assert_eq!(own, OwnStatus::LicenceExpired);
    // The driver is told to renew the licence, not to sync: a sync brings the same dates
    // (D154).
    let words = edl_core::display::own_status(own);
    assert!(!words.zh.contains("状态正常"), "{}", words.zh);
    assert!(
        words.zh.contains("换证") && !words.zh.contains("同步"),
        "{}",
        words.zh
    );
    assert!(
        words.en.contains("renew") && !words.en.contains("sync"),
        "{}",
        words.en
    );
    // The evening before, the same lists hold it in force on both sides.
    let t = lists(
        LAST_SECOND,
        LAST_SECOND as u32 - 60,
        ElicenceStatus::InForce,
    );
    assert_eq!(scanner(&t, &h, LAST_SECOND), Ok(StatusCheck::InForce));
    assert_eq!(
        t.own_status(h.credential(), LAST_SECOND),
        OwnStatus::InForce
    );
}

#[test]
fn the_wallet_says_in_force_exactly_when_a_police_scanner_with_the_same_lists_accepts() {
    let times = [
        ISSUED as u64 + 60,
        LAST_SECOND,
        LAST_SECOND + 1,
        MORNING_AFTER,
        // Past the credential's 72 h lifetime.
        ISSUED as u64 + u64::from(sample::TTL_HOURS) * 3600 + 1,
    ];
    let lists_at = |now: u64| {
        [
            (now as u32 - 60, ElicenceStatus::InForce),
            (now as u32 - 60, ElicenceStatus::Suspended),
            (now as u32 - 60, ElicenceStatus::Superseded),
            // Stale: exactly its time-to-live old.
            (now as u32 - TTL, ElicenceStatus::InForce),
        ]
    };
    use OwnStatus::{Superseded, Suspended};
    let mut said = BTreeSet::new();
    for (letters, letters_word) in [
        ("A", None),
        ("H", None),
        ("C", Some(Superseded)),
        ("D", Some(Suspended)),
        ("F", Some(Superseded)),
        ("K", Some(Suspended)),
        ("M", Some(Suspended)),
        ("R", Some(Suspended)),
        ("Z", Some(Suspended)),
        ("DF", Some(Superseded)),
    ] {
        // The licence valid until 2028-03-07, and one valid from 2028-03-08.
        for (validity, h) in [
            ("until 03-07", holder(letters)),
            ("from 03-08", holder_from_next_day(letters)),
        ] {
            for now in times {
                for (made, status) in lists_at(now) {
                    let t = lists(now, made, status);
                    let verdict = scanner(&t, &h, now);
                    let own = t.own_status(h.credential(), now);
                    let case = format!(
                        "{letters} {validity} at {now}, list {status:?} made {made}: {verdict:?}"
                    );
                    match verdict {
                        Ok(StatusCheck::InForce) => assert_eq!(own, OwnStatus::InForce, "{case}"),
                        Ok(StatusCheck::Unknown) => assert_eq!(own, OwnStatus::Unknown, "{case}"),
                        Ok(StatusCheck::NotChecked) => panic!("a list is held: {case}"),
                        Err(refused) => {
                            assert_eq!(own, word_for(letters_word, &refused), "{case}")
                        }
                    }
                    said.insert(format!("{own:?}"));
                }
            }
        }
    }
    // Every word a held list can lead to came up, the two dates' words included.
    let expected: BTreeSet<String> = OwnStatus::ALL
        .iter()
        .filter(|s| **s != OwnStatus::NotChecked)
        .map(|s| format!("{s:?}"))
        .collect();
    assert_eq!(said, expected);
}

#[test]
fn a_licence_out_of_force_is_not_in_force_even_before_a_status_list_is_held() {
    // A wallet that holds the trust list only: the scanner refuses on the credential
    // alone, and the wallet says so rather than "no list yet".
    let t = trust_only(MORNING_AFTER);
    let h = holder("A");
    assert!(matches!(
        scanner(&t, &h, MORNING_AFTER),
        Err(AnchoredRejection::Rejected(Rejection::LicenceNotInForce(_)))
    ));
    assert_eq!(
        t.own_status(h.credential(), MORNING_AFTER),
        OwnStatus::LicenceExpired
    );
    // In its validity, with no status list, there is nothing to say yet.
    assert_eq!(
        t.own_status(h.credential(), LAST_SECOND),
        OwnStatus::NotChecked
    );
}

#[test]
fn a_credential_from_the_future_is_not_called_in_force() {
    // The wallet's clock behind the issuer's by more than a scanner's skew: the scanner
    // refuses, and the wallet has nothing to say yet.
    let now = ISSUED as u64 - 60;
    let h = holder("A");
    let t = lists(now, now as u32 - 60, ElicenceStatus::InForce);
    assert_eq!(
        scanner(&t, &h, now),
        Err(AnchoredRejection::Rejected(
            Rejection::CredentialNotYetValid
        ))
    );
    assert_eq!(t.own_status(h.credential(), now), OwnStatus::NotChecked);
}

/// A licence whose validity begins after the credential was signed (a renewal whose period
/// starts on the old end date, D153) is refused offline until its first day; the wallet says
/// not valid yet (D154), neither "已失效，请同步" (superseded: a sync would bring the same
/// credential) nor "已暂停" (suspended: nothing was suspended), and in force from its first
/// day.
#[test]
fn a_validity_that_has_not_begun_is_not_yet_valid_then_in_force() {
    let h = holder_of(|licence| {
        licence.main.valid_from = time::macros::date!(2028 - 03 - 09);
        licence.main.valid_until = time::macros::date!(2038 - 03 - 09);
    });
    // 2028-03-09 10:00 Beijing: its first day.
    let first_day = MORNING_AFTER + 24 * 3600;
    for (now, expected) in [
        (MORNING_AFTER, OwnStatus::LicenceNotYetValid),
        (first_day, OwnStatus::InForce),
    ] {
        let t = lists(now, (now - 60) as u32, ElicenceStatus::InForce);
        let verdict = scanner(&t, &h, now);
        assert_eq!(
            verdict.is_ok(),
            expected == OwnStatus::InForce,
            "{now}: {verdict:?}"
        );
        assert_eq!(t.own_status(h.credential(), now), expected, "{now}");
    }
    let words = edl_core::display::own_status(OwnStatus::LicenceNotYetValid);
    for not_said in ["同步", "暂停", "失效"] {
        assert!(!words.zh.contains(not_said), "{}", words.zh);
    }
}

/// The status letters still word a refusal before the dates do (D152), and a credential past
/// its own lifetime is superseded whatever the dates: a sync brings a fresh one (D154).
#[test]
fn letters_and_the_credentials_lifetime_come_before_the_licences_dates() {
    let t = trust_only(MORNING_AFTER);
    for (letters, expected) in [
        ("A", OwnStatus::LicenceExpired),
        ("D", OwnStatus::Suspended),
        ("M", OwnStatus::Suspended),
        ("F", OwnStatus::Superseded),
        ("C", OwnStatus::Superseded),
    ] {
        assert_eq!(
            t.own_status(holder(letters).credential(), MORNING_AFTER),
            expected,
            "{letters} expired"
        );
        assert_eq!(
            t.own_status(holder_from_next_day(letters).credential(), LAST_SECOND),
            match expected {
                OwnStatus::LicenceExpired => OwnStatus::LicenceNotYetValid,
                letters_word => letters_word,
            },
            "{letters} not yet valid"
        );
    }
    // Past the credential's 72 h, a sync brings a fresh credential: superseded, expired
    // licence or not.
    let past_lifetime = ISSUED as u64 + u64::from(sample::TTL_HOURS) * 3600;
    let t = trust_only(past_lifetime);
    for h in [holder("A"), holder_from_next_day("A")] {
        assert_eq!(
            t.own_status(h.credential(), past_lifetime),
            OwnStatus::Superseded
        );
    }
}
