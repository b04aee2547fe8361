//! The driver rules on an aggregate in memory: no database, no server.

use edl_core::credential::Issuer;
use edl_core::crypto::{KeyId, SecretKey, sha256};
use edl_core::licence::fixtures::sample_licence;
use edl_core::licence::{LicenceStatus, StatusCode};
use edl_core::verify::china_date;
use edl_core::wire::{
    ApplicationPhase, ApplyRequest, Base64, ElicenceState, IdentityProof, MessageKind,
    NewViolation, Renewal, ReviewKind, ReviewOutcome, ReviewPending,
};
use time::macros::date;

use super::*;
use crate::identity::IdentityVerifier;

/// Tuesday 2026-11-24 11:00:05 Beijing time.
const NOW: u64 = 1_795_489_205;

fn issuer() -> Issuer {
    Issuer::new(KeyId(3), SecretKey::from_seed([9; 32]))
}

fn device(n: u8) -> [u8; 32] {
    SecretKey::from_seed([n; 32]).public().to_bytes()
}

fn k(issuer: &Issuer) -> Signing<'_> {
    Signing {
        issuer,
        now: NOW,
        ttl_hours: 72,
    }
}

/// A new e-licence's identity, as the service draws it for a rule's second run.
fn fresh(id: u64) -> Option<Fresh> {
    Some(Fresh {
        id,
        seed: SealedSeed(vec![id as u8; 32]),
        status_index: id as u32,
    })
}

/// A registered driver with a device enrolled.
fn enrolled() -> DriverState {
    let mut s = DriverState::new(sample_licence(china_date(NOW)));
    s.id = 7;
    s.device_key = Some(Bytes32(device(1)));
    s
}

/// A driver whose application waits on review of photo 50.
fn under_review() -> DriverState {
    let mut s = enrolled();
    s.identity_key = s.device_key;
    s.phase = ApplicationPhase::UnderReview;
    s.pending_review = Some(ReviewPending {
        photo_id: 50,
        submitted_at: NOW - 60,
        deadline: NOW + 86_400,
    });
    s
}

/// A driver holding active e-licence 100.
fn issued(issuer: &Issuer) -> DriverState {
    let mut s = under_review();
    approve_photo(&mut s, 50, [5; 32], fresh(100), k(issuer)).unwrap();
    s
}

fn messages_of(e: &Effects) -> Vec<MessageKind> {
    e.feed
        .iter()
        .filter_map(|f| match f {
            FeedEvent::Message(m) => Some(m.kind),
            _ => None,
        })
        .collect()
}

struct Verifier(bool);

impl IdentityVerifier for Verifier {
    fn verify(&self, _: &[u8], _: &str, _: &[u8]) -> bool {
        self.0
    }
}

/// Issuing asks the service for a new e-licence identity and changes nothing without one;
/// what issues nothing needs none (PH-3: an identity, with its status index, was drawn for
/// every call).
#[test]
fn only_a_rule_that_issues_asks_for_a_new_identity() {
    let issuer = issuer();
    let mut s = under_review();
    let held = s.clone();
    assert!(matches!(
        approve_photo(&mut s, 50, [5; 32], None, k(&issuer)),
        Err(Error::FreshNeeded)
    ));
    assert_eq!(s.phase, held.phase);
    assert!(s.elicence.is_none());
    let mut s = issued(&issuer);
    let request = ApplyRequest {
        identity: None,
        reuse_stored_photo: true,
    };
    let e = apply(&mut s, request, &Verifier(true), 3600, None, k(&issuer)).unwrap();
    assert!(
        e.refuse.is_none(),
        "applying again when issued needs no new identity"
    );
    s.pending_review = Some(ReviewPending {
        photo_id: 60,
        submitted_at: NOW,
        deadline: NOW + 86_400,
    });
    approve_photo(&mut s, 60, [6; 32], None, k(&issuer))
        .expect("a photo change re-signs the same e-licence");
    assert_eq!(s.elicence.as_ref().unwrap().id, 100);
}

#[test]
fn approving_the_application_photo_issues_the_e_licence() {
    let issuer = issuer();
    let mut s = under_review();
    let e = approve_photo(&mut s, 50, [5; 32], fresh(100), k(&issuer)).unwrap();
    assert_eq!(s.phase, ApplicationPhase::Issued);
    assert_eq!(s.pending_review, None);
    assert_eq!(s.photo.as_ref().unwrap().digest, Bytes32([5; 32]));
    assert_eq!(s.licence.main.photo_digest, [5; 32]);
    let el = s.elicence.as_ref().unwrap();
    assert_eq!((el.id, el.state, el.kid), (100, ElicenceState::Active, 3));
    assert_eq!(el.expires_at, NOW + 72 * 3600);
    assert_eq!(e.photo_decisions.len(), 1);
    assert_eq!(e.photo_decisions[0].status, PhotoStatus::Approved);
    assert!(matches!(
        &e.feed[0],
        FeedEvent::Review(r) if r.outcome == ReviewOutcome::Approved && r.photo_id == 50
    ));
    assert_eq!(messages_of(&e), [MessageKind::ApplicationSucceeded]);
}

#[test]
fn a_decision_on_a_photo_no_longer_pending_is_refused_and_changes_nothing() {
    let issuer = issuer();
    let mut s = under_review();
    let before = s.clone();
    assert!(matches!(
        approve_photo(&mut s, 51, [5; 32], fresh(100), k(&issuer)),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        reject_photo(&mut s, 51, "blurred", false, NOW),
        Err(Error::InvalidState(_))
    ));
    assert_eq!(s, before);
}

#[test]
fn approving_for_a_licence_not_eligible_refuses_the_application_with_the_reason() {
    let issuer = issuer();
    let mut s = under_review();
    s.licence.main.status = LicenceStatus::from_letters("D").unwrap();
    let e = approve_photo(&mut s, 50, [5; 32], fresh(100), k(&issuer)).unwrap();
    assert_eq!(s.phase, ApplicationPhase::NotApplied);
    assert!(s.elicence.is_none());
    // The photo still goes on file.
    assert!(s.photo.is_some());
    assert_eq!(messages_of(&e), [MessageKind::StatusChanged]);
}

#[test]
fn approving_a_photo_change_re_signs_the_same_e_licence() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    let seed = s.elicence.as_ref().unwrap().seed.clone();
    s.pending_review = Some(ReviewPending {
        photo_id: 60,
        submitted_at: NOW,
        deadline: NOW + 86_400,
    });
    let e = approve_photo(&mut s, 60, [6; 32], fresh(200), k(&issuer)).unwrap();
    let el = s.elicence.as_ref().unwrap();
    assert_eq!(
        (el.id, el.seed.clone()),
        (100, seed),
        "same e-licence, same codes"
    );
    assert_eq!(s.licence.main.photo_digest, [6; 32]);
    assert_eq!(messages_of(&e), [MessageKind::PhotoChanged]);
}

#[test]
fn a_rejection_sends_the_application_back_for_a_new_photo() {
    let mut s = under_review();
    let e = reject_photo(&mut s, 50, "背景不是白色", false, NOW).unwrap();
    assert_eq!(s.phase, ApplicationPhase::AwaitingPhoto);
    assert_eq!(e.photo_decisions[0].status, PhotoStatus::Rejected);
    assert!(matches!(
        &e.feed[0],
        FeedEvent::Review(r) if r.outcome == ReviewOutcome::Rejected
            && r.reason.as_deref() == Some("背景不是白色")
    ));
    assert_eq!(messages_of(&e), [MessageKind::PhotoRejected]);
}

#[test]
fn a_malicious_photo_stops_the_active_e_licence() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    s.pending_review = Some(ReviewPending {
        photo_id: 60,
        submitted_at: NOW,
        deadline: NOW + 86_400,
    });
    let e = reject_photo(&mut s, 60, "不是本人", true, NOW).unwrap();
    assert_eq!(s.phase, ApplicationPhase::Stopped);
    assert_eq!(s.elicence.as_ref().unwrap().state, ElicenceState::Stopped);
    assert_eq!(e.photo_decisions[0].status, PhotoStatus::Malicious);
    assert_eq!(
        messages_of(&e),
        [MessageKind::PhotoRejected, MessageKind::ElicenceStopped]
    );
}

fn with_code(code: &str) -> DriverState {
    let mut s = DriverState::new(sample_licence(china_date(NOW)));
    set_activation(
        &mut s,
        Activation {
            code_hash: Bytes32(sha256(code.as_bytes())),
            expires_at: NOW + 600,
            attempts: 0,
        },
    );
    s
}

#[test]
fn wrong_activation_codes_change_nothing_and_never_burn_the_code() {
    let mut s = with_code("12345678");
    let held = s.clone();
    for _ in 1..20 {
        assert!(!activation_code_matches(
            &s,
            &sha256(b"00000000"),
            &device(1),
            NOW
        ));
        assert!(matches!(
            enrol(&mut s, sha256(b"00000000"), device(1), NOW),
            Err(Error::BadActivationCode)
        ));
        assert_eq!(s, held, "a wrong code changes nothing (AH-F2)");
    }
    assert!(activation_code_matches(
        &s,
        &sha256(b"12345678"),
        &device(1),
        NOW
    ));
    assert!(!activation_code_matches(
        &s,
        &sha256(b"12345678"),
        &device(1),
        NOW + 600
    ));
    // The driver's right code still enrols (the service's back-off limits guessing).
    let e = enrol(&mut s, sha256(b"12345678"), device(1), NOW).unwrap();
    assert!(e.refuse.is_none());
    assert!(s.activation.is_none(), "used up once it enrolled");
    assert_eq!(s.device_key, Some(Bytes32(device(1))));
    assert!(!activation_code_matches(
        &s,
        &sha256(b"12345678"),
        &device(2),
        NOW
    ));
}

/// A used code stays bound to the key it enrolled (AN-F2): that key again is enrolled
/// already and changes nothing (its answer was lost, or its store not written); any other
/// key is refused as before, and so is the same key once the code expired.
#[test]
fn a_used_code_enrols_the_same_device_again_and_no_other() {
    let mut s = with_code("12345678");
    let first = enrol(&mut s, sha256(b"12345678"), device(1), NOW).unwrap();
    assert_eq!(messages_of(&first), [MessageKind::DeviceEnrolled]);
    let enrolled = s.clone();
    assert!(activation_code_matches(
        &s,
        &sha256(b"12345678"),
        &device(1),
        NOW + 1
    ));
    let again = enrol(&mut s, sha256(b"12345678"), device(1), NOW + 1).unwrap();
    assert!(again.refuse.is_none() && again.feed.is_empty());
    assert_eq!(s, enrolled, "the same device again changes nothing");
    assert!(matches!(
        enrol(&mut s, sha256(b"12345678"), device(2), NOW + 1),
        Err(Error::BadActivationCode)
    ));
    assert_eq!(s.device_key, Some(Bytes32(device(1))));
    assert!(
        matches!(
            enrol(&mut s, sha256(b"12345678"), device(1), NOW + 600),
            Err(Error::BadActivationCode)
        ),
        "the repeat ends when the code would have expired"
    );
}

/// The used code is cleared as before D212 and the repeat kept in a field of its own
/// (AN-F2, the review of D212): a process from before it, reading the record, sees no code
/// to take from another key; one that drops the new field only loses the repeat.
#[test]
fn a_used_code_is_not_left_as_an_open_activation() {
    let mut s = with_code("12345678");
    enrol(&mut s, sha256(b"12345678"), device(1), NOW).unwrap();
    let stored = serde_json::to_value(&s).unwrap();
    assert!(stored["activation"].is_null(), "{stored}");
    // As a process from before D212 reads it: the field it does not know is dropped.
    let mut old = stored.clone();
    old.as_object_mut().unwrap().remove("enrolled_with");
    let mut read_back: DriverState = serde_json::from_value(old).unwrap();
    assert!(!activation_code_matches(
        &read_back,
        &sha256(b"12345678"),
        &device(2),
        NOW + 1
    ));
    assert!(matches!(
        enrol(&mut read_back, sha256(b"12345678"), device(2), NOW + 1),
        Err(Error::BadActivationCode)
    ));
}

#[test]
fn an_expired_activation_code_is_refused_and_cleared() {
    let mut s = with_code("12345678");
    let e = enrol(&mut s, sha256(b"12345678"), device(1), NOW + 600).unwrap();
    assert!(e.refuse.is_some());
    assert!(s.activation.is_none());
}

#[test]
fn a_new_device_supersedes_the_active_e_licence_only_after_its_check() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    s.activation = with_code("12345678").activation;
    let e = enrol(&mut s, sha256(b"12345678"), device(2), NOW).unwrap();
    assert!(e.refuse.is_none());
    assert_eq!(s.device_key, Some(Bytes32(device(2))));
    assert_eq!(messages_of(&e), [MessageKind::DeviceEnrolled]);
    // The code alone: the e-licence of the checked device still verifies, and a
    // re-signed credential stays bound to it.
    assert_eq!(s.elicence.as_ref().unwrap().state, ElicenceState::Active);
    assert_eq!(s.phase, ApplicationPhase::Issued);
    assert_eq!(s.identity_key, Some(Bytes32(device(1))));
    reissue(&mut s, k(&issuer)).unwrap();
    // A failed check changes nothing.
    let challenge = Challenge {
        id: 77,
        nonce: Bytes32([9; 32]),
        expires_at: NOW + 300,
    };
    set_challenge(&mut s, challenge.clone());
    let e = apply(
        &mut s,
        proof(77),
        &Verifier(false),
        3600,
        fresh(2),
        k(&issuer),
    )
    .unwrap();
    assert!(e.refuse.is_some());
    assert_eq!(s.elicence.as_ref().unwrap().state, ElicenceState::Active);
    // The check passed: the old e-licence is superseded and a new one issued to this
    // device (the photo on file is reused).
    set_challenge(&mut s, challenge);
    let e = apply(
        &mut s,
        proof(77),
        &Verifier(true),
        3600,
        fresh(2),
        k(&issuer),
    )
    .unwrap();
    assert!(e.refuse.is_none());
    assert_eq!(s.identity_key, Some(Bytes32(device(2))));
    let e2 = s.elicence.as_ref().unwrap();
    assert_eq!((e2.id, e2.state), (2, ElicenceState::Active));
    assert_eq!(s.phase, ApplicationPhase::Issued);
    // The same device again changes nothing and says nothing.
    s.activation = with_code("87654321").activation;
    let e = enrol(&mut s, sha256(b"87654321"), device(2), NOW).unwrap();
    assert!(e.feed.is_empty());
}

fn violation(points: u8, date: time::Date) -> NewViolation {
    NewViolation {
        date,
        place: "北京市东城区".into(),
        act: "超速".into(),
        points,
        fine_yuan: 200,
        handled: false,
    }
}

#[test]
fn twelve_points_in_the_cycle_set_over_points_and_re_sign_the_credential() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    let before = s.licence.supplementary.cycle.points;
    let e = record_violation(
        &mut s,
        violation(12 - before, date!(2026 - 11 - 20)),
        k(&issuer),
    )
    .unwrap();
    assert_eq!(s.licence.supplementary.cycle.points, 12);
    assert!(over_points(&s));
    assert_eq!(messages_of(&e), [MessageKind::ViolationRecorded]);
    let record = &s.licence.supplementary.record;
    assert!(record.windows(2).all(|w| w[0].date <= w[1].date));
    assert_eq!(s.elicence.as_ref().unwrap().id, 100);
}

/// A violation dealt with late, dated in the cycle before the current one, that fills
/// that cycle sets B too (a domain review, 2026-12-05; D153): only the current cycle was
/// looked at, so a driver who reached 12 points kept an e-licence in force.
#[test]
fn a_late_violation_that_fills_its_own_past_cycle_sets_over_points() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    let current = s.licence.supplementary.cycle.points;
    let past = edl_core::licence::PointsCycle::bounds_containing(
        s.licence.main.first_issue,
        date!(2026 - 03 - 01),
    )
    .unwrap();
    assert!(past.1 < s.licence.supplementary.cycle.start, "a past cycle");
    record_violation(&mut s, violation(12, date!(2026 - 03 - 01)), k(&issuer)).unwrap();
    assert_eq!(
        s.licence.supplementary.cycle.points, current,
        "not this cycle's"
    );
    assert!(over_points(&s), "{}", s.licence.main.status);
}

/// A renewal ends a renewal deferral (N) as it ends "overdue" (M): the driver renewed, and
/// a deferral left in place kept the e-licence refused (D153).
#[test]
fn a_renewal_ends_a_renewal_deferral_too() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    s.licence.main.status = LicenceStatus::from_letters("N").unwrap();
    renew(&mut s, renewal(date!(2036 - 03 - 07)), NOW).unwrap();
    assert_eq!(
        s.licence.main.status,
        LicenceStatus::from_letters("A").unwrap()
    );
}

/// A renewal's new end is after today: a mistyped date would otherwise end the driver's
/// e-licence at once (D153). An earlier end still to come is a correction, and allowed.
#[test]
fn a_renewal_into_the_past_is_refused_and_a_correction_allowed() {
    let issuer = issuer();
    for end in [date!(2026 - 01 - 01), date!(2026 - 11 - 24)] {
        let mut s = issued(&issuer);
        let before = s.clone();
        assert!(
            matches!(renew(&mut s, renewal(end), NOW), Err(Error::BadRequest(_))),
            "{end}"
        );
        assert_eq!(s.licence, before.licence, "nothing changed");
    }
    let mut s = issued(&issuer);
    renew(&mut s, renewal(date!(2027 - 03 - 06)), NOW).unwrap();
    assert_eq!(s.licence.main.valid_until, date!(2027 - 03 - 06));
}

/// Only a renewal that moves the end later ends M and N: one that changes the issuing
/// authority alone leaves a deferral in force, as the regulation does (D153).
#[test]
fn a_renewal_that_does_not_extend_leaves_overdue_and_deferral_alone() {
    let issuer = issuer();
    for letters in ["N", "M"] {
        let mut s = issued(&issuer);
        s.licence.main.status = LicenceStatus::from_letters(letters).unwrap();
        renew(
            &mut s,
            Renewal {
                classes: None,
                valid_from: None,
                valid_until: None,
                issuing_authority: Some("北京市公安局公安交通管理局车辆管理所".into()),
            },
            NOW,
        )
        .unwrap();
        assert_eq!(
            s.licence.main.status,
            LicenceStatus::from_letters(letters).unwrap()
        );
    }
}

/// Only the entry that takes a cycle to 12 sets B: after the driver's study and exam the
/// office sets A again, and a later entry dated in that full cycle (a warning of 0 points
/// entered late) does not take the licence out of force again (D153).
#[test]
fn a_later_entry_in_a_cycle_already_full_does_not_set_over_points_again() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    record_violation(&mut s, violation(12, date!(2025 - 06 - 01)), k(&issuer)).unwrap();
    assert!(over_points(&s));
    set_status(
        &mut s,
        LicenceStatus::from_letters("A").unwrap(),
        k(&issuer),
    )
    .unwrap();
    record_violation(&mut s, violation(0, date!(2025 - 07 - 01)), k(&issuer)).unwrap();
    assert_eq!(
        s.licence.main.status,
        LicenceStatus::from_letters("A").unwrap()
    );
}

/// Whether the driver's status holds B (超分).
fn over_points(s: &DriverState) -> bool {
    s.licence
        .main
        .status
        .codes()
        .any(|c| c == StatusCode::OverPoints)
}

fn renewal(valid_until: time::Date) -> Renewal {
    Renewal {
        classes: None,
        valid_from: None,
        valid_until: Some(valid_until),
        issuing_authority: None,
    }
}

#[test]
fn a_violation_before_the_first_issue_or_on_a_full_record_is_refused() {
    let issuer = issuer();
    let mut s = enrolled();
    assert!(matches!(
        record_violation(&mut s, violation(1, date!(2000 - 01 - 01)), k(&issuer)),
        Err(Error::BadRequest(_))
    ));
    let one = violation(0, date!(2026 - 11 - 20));
    while s.licence.supplementary.record.len() < MAX_RECORD_ENTRIES {
        record_violation(&mut s, one.clone(), k(&issuer)).unwrap();
    }
    assert!(matches!(
        record_violation(&mut s, one, k(&issuer)),
        Err(Error::InvalidState(_))
    ));
}

#[test]
fn a_renewal_ends_overdue_and_supersedes_the_e_licence() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    s.licence.main.status.insert(StatusCode::OverdueRenewal);
    let e = renew(
        &mut s,
        Renewal {
            classes: None,
            valid_from: None,
            valid_until: Some(date!(2036 - 03 - 07)),
            issuing_authority: None,
        },
        NOW,
    )
    .unwrap();
    assert!(
        !s.licence
            .main
            .status
            .codes()
            .any(|c| c == StatusCode::OverdueRenewal)
    );
    assert_eq!(s.licence.main.valid_until, date!(2036 - 03 - 07));
    assert_eq!(
        s.elicence.as_ref().unwrap().state,
        ElicenceState::Superseded
    );
    assert_eq!(s.phase, ApplicationPhase::ReapplyNeeded);
    assert_eq!(messages_of(&e), [MessageKind::LicenceRenewed]);
}

#[test]
fn a_status_change_re_signs_the_active_e_licence() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    let d = LicenceStatus::from_letters("D").unwrap();
    let e = set_status(&mut s, d, k(&issuer)).unwrap();
    assert_eq!(s.licence.main.status, d);
    assert_eq!(s.elicence.as_ref().unwrap().state, ElicenceState::Active);
    assert_eq!(messages_of(&e), [MessageKind::StatusChanged]);
}

/// `apply` by the issuer `issuer` with the real-person check answering `passes`, a stored
/// photo reusable for an hour and e-licence id 1.
fn apply_as(
    s: &mut DriverState,
    request: ApplyRequest,
    passes: bool,
    issuer: &Issuer,
) -> Result<Effects> {
    apply(s, request, &Verifier(passes), 3600, fresh(1), k(issuer))
}

fn proof(challenge_id: u64) -> ApplyRequest {
    ApplyRequest {
        identity: Some(IdentityProof {
            challenge_id,
            attestation: Base64(vec![1, 2, 3]),
        }),
        reuse_stored_photo: true,
    }
}

#[test]
fn applying_needs_a_real_person_check_and_uses_the_challenge_up() {
    let issuer = issuer();
    let mut s = enrolled();
    let no_proof = ApplyRequest {
        identity: None,
        reuse_stored_photo: true,
    };
    assert!(matches!(
        apply_as(&mut s, no_proof, true, &issuer),
        Err(Error::IdentityCheckRequired)
    ));
    let challenge = Challenge {
        id: 77,
        nonce: Bytes32([4; 32]),
        expires_at: NOW + 300,
    };
    set_challenge(&mut s, challenge.clone());
    let e = apply_as(&mut s, proof(77), false, &issuer).unwrap();
    assert!(matches!(e.refuse, Some(Error::IdentityCheckFailed)));
    assert!(
        s.challenge.is_none(),
        "a failed check uses the challenge up"
    );
    // The right answer to a used-up challenge fails too.
    let e = apply_as(&mut s, proof(77), true, &issuer).unwrap();
    assert!(e.refuse.is_some());
    set_challenge(&mut s, challenge);
    let e = apply_as(&mut s, proof(77), true, &issuer).unwrap();
    assert!(e.refuse.is_none());
    assert_eq!(s.identity_key, s.device_key);
    assert_eq!(s.phase, ApplicationPhase::AwaitingPhoto, "no photo on file");
}

#[test]
fn applying_with_a_recent_photo_on_file_issues_at_once() {
    let issuer = issuer();
    let mut s = enrolled();
    s.identity_key = s.device_key;
    s.photo = Some(PhotoOnFile {
        photo_id: 9,
        digest: Bytes32([5; 32]),
        approved_at: NOW - 100,
    });
    let e = apply_as(&mut s, proof(0), false, &issuer).unwrap();
    assert_eq!(s.phase, ApplicationPhase::Issued);
    assert_eq!(messages_of(&e), [MessageKind::ApplicationSucceeded]);
    // Too old a photo: a new one is needed.
    let mut s = enrolled();
    s.identity_key = s.device_key;
    s.photo = Some(PhotoOnFile {
        photo_id: 9,
        digest: Bytes32([5; 32]),
        approved_at: NOW - 3601,
    });
    apply_as(&mut s, proof(0), false, &issuer).unwrap();
    assert_eq!(s.phase, ApplicationPhase::AwaitingPhoto);
}

#[test]
fn a_stopped_e_licence_cannot_be_applied_for_in_the_app() {
    let issuer = issuer();
    let mut s = enrolled();
    s.identity_key = s.device_key;
    s.phase = ApplicationPhase::Stopped;
    assert!(matches!(
        apply_as(&mut s, proof(0), true, &issuer),
        Err(Error::ElicenceStopped)
    ));
}

/// A device not yet checked hears of a stop or a licence not in force only once it has
/// passed the real-person check (fourth hostile review, P1; D148); the passing check is
/// then rolled back with the refusal, so the device is still not the checked one.
#[test]
fn an_unchecked_device_passes_the_real_person_check_before_it_hears_the_standing() {
    let issuer = issuer();
    let challenge = Challenge {
        id: 77,
        nonce: Bytes32([4; 32]),
        expires_at: NOW + 300,
    };
    let stopped = || {
        let mut s = enrolled();
        s.phase = ApplicationPhase::Stopped;
        s
    };
    let revoked = || {
        let mut s = enrolled();
        s.licence.main.status = "F".parse().unwrap();
        s
    };
    for (standing, make, refusal) in [
        (
            "stopped",
            &stopped as &dyn Fn() -> DriverState,
            "ElicenceStopped",
        ),
        ("revoked", &revoked, "NotEligible"),
    ] {
        let mut s = make();
        let no_proof = ApplyRequest {
            identity: None,
            reuse_stored_photo: true,
        };
        let r = apply_as(&mut s, no_proof, true, &issuer);
        assert!(matches!(r, Err(Error::IdentityCheckRequired)), "{standing}");
        set_challenge(&mut s, challenge.clone());
        let e = apply_as(&mut s, proof(77), false, &issuer).unwrap();
        assert!(
            matches!(e.refuse, Some(Error::IdentityCheckFailed)),
            "{standing}"
        );
        set_challenge(&mut s, challenge.clone());
        let r = apply_as(&mut s, proof(77), true, &issuer);
        let got = format!("{:?}", r.err());
        assert!(
            got.starts_with(&format!("Some({refusal}")),
            "{standing}: {got}"
        );
    }
}

fn upload(photo_id: u64) -> Upload {
    Upload {
        photo_id,
        client_key: format!("k{photo_id}"),
        digest: [photo_id as u8; 32],
        bytes: vec![0xFF, 0xD8, 0xFF],
        deadline: NOW + 86_400,
    }
}

#[test]
fn a_new_upload_withdraws_the_photo_still_pending() {
    let mut s = enrolled();
    s.phase = ApplicationPhase::AwaitingPhoto;
    let e = submit_photo(&mut s, upload(1), Ok(None), NOW).unwrap();
    assert_eq!(s.phase, ApplicationPhase::UnderReview);
    assert!(e.photo_decisions.is_empty());
    assert_eq!(e.new_photo.as_ref().unwrap().status, PhotoStatus::Pending);
    let e = submit_photo(&mut s, upload(2), Ok(None), NOW).unwrap();
    assert_eq!(e.photo_decisions.len(), 1);
    assert_eq!(e.photo_decisions[0].photo_id, 1);
    assert_eq!(e.photo_decisions[0].status, PhotoStatus::Withdrawn);
    assert_eq!(s.pending_review.unwrap().photo_id, 2);
}

#[test]
fn the_phase_in_the_update_decides_whether_a_photo_is_taken() {
    let mut s = enrolled();
    for (phase, refused) in [
        (ApplicationPhase::Stopped, "stopped"),
        (ApplicationPhase::ReapplyNeeded, "apply"),
        (ApplicationPhase::NotApplied, "apply"),
    ] {
        s.phase = phase;
        let e = submit_photo(&mut s, upload(1), Ok(None), NOW).unwrap_err();
        match refused {
            "stopped" => assert!(matches!(e, Error::ElicenceStopped)),
            _ => assert!(matches!(e, Error::InvalidState(_))),
        }
        assert!(s.pending_review.is_none());
    }
    s.phase = ApplicationPhase::Issued;
    assert!(matches!(
        submit_photo(&mut s, upload(1), Ok(Some(60)), NOW),
        Err(Error::Busy { retry_after: 60 })
    ));
    let e = submit_photo(&mut s, upload(1), Ok(None), NOW).unwrap();
    assert_eq!(e.new_photo.unwrap().kind, ReviewKind::PhotoChange);
}

/// A busy switch that could not be read refuses a photo change with the read's error, and
/// does not hold back a first photo, which no switch refuses (D177).
#[test]
fn an_unread_busy_switch_refuses_photo_changes_only() {
    let unread = || Err(Error::Store(StoreError::Corrupt("busy setting")));
    let mut s = enrolled();
    s.phase = ApplicationPhase::AwaitingPhoto;
    let e = submit_photo(&mut s, upload(1), unread(), NOW).unwrap();
    assert_eq!(e.new_photo.unwrap().kind, ReviewKind::Application);
    s.phase = ApplicationPhase::Issued;
    assert!(matches!(
        submit_photo(&mut s, upload(2), unread(), NOW),
        Err(Error::Store(StoreError::Corrupt(_)))
    ));
    assert_eq!(
        s.pending_review.unwrap().photo_id,
        1,
        "the change kept nothing"
    );
}

#[test]
fn counter_issuance_needs_an_enrolled_app_and_counts_as_the_person_check() {
    let issuer = issuer();
    let photo = CounterPhoto {
        photo_id: 8,
        digest: [8; 32],
        bytes: vec![0xFF, 0xD8, 0xFF],
    };
    let mut s = DriverState::new(sample_licence(china_date(NOW)));
    assert!(matches!(
        counter_issue(&mut s, Some(photo.clone()), fresh(1), k(&issuer)),
        Err(Error::InvalidState(_))
    ));
    let mut s = under_review();
    s.identity_key = None;
    let e = counter_issue(&mut s, Some(photo), fresh(1), k(&issuer)).unwrap();
    assert_eq!(s.phase, ApplicationPhase::Issued);
    assert_eq!(s.identity_key, s.device_key);
    assert_eq!(e.new_photo.as_ref().unwrap().status, PhotoStatus::Approved);
    assert_eq!(e.photo_decisions[0].status, PhotoStatus::Withdrawn);
    assert_eq!(messages_of(&e), [MessageKind::ApplicationSucceeded]);
}

// No signing towards an older issuer key (D142): the keys a request read can predate a
// rotation that another process committed, and a third request can have re-signed the
// driver under the new key before this request's write.

/// Key `kid`'s issuer (the fixtures sign with key 3).
fn issuer_of(kid: u16) -> Issuer {
    Issuer::new(KeyId(kid), SecretKey::from_seed([kid as u8; 32]))
}

fn at(issuer: &Issuer, now: u64) -> Signing<'_> {
    Signing {
        issuer,
        now,
        ttl_hours: 72,
    }
}

/// Past half the 72-hour credential's life.
const LATER: u64 = NOW + 37 * 3600;

fn refused_for_a_newer_key(r: Result<Effects>) -> bool {
    matches!(
        r,
        Err(Error::Busy {
            retry_after: NEWER_KEY_RETRY_SECS
        })
    )
}

#[test]
fn a_sync_re_signs_for_freshness_past_half_life_or_towards_a_newer_key_only() {
    let s = issued(&issuer());
    let e = s.elicence.as_ref().unwrap();
    assert_eq!(e.kid, 3);
    assert!(!refresh_due(e, 3, NOW + 3600), "fresh, same key");
    assert!(refresh_due(e, 3, LATER), "past half its life");
    assert!(refresh_due(e, 4, NOW + 3600), "signed by a retired key");
    assert!(!refresh_due(e, 2, LATER), "never towards an older key");
    let mut stopped = e.clone();
    stopped.state = ElicenceState::Stopped;
    assert!(!refresh_due(&stopped, 4, LATER), "only an active e-licence");
}

#[test]
fn a_freshness_re_signing_over_a_credential_of_a_newer_key_changes_nothing() {
    // The interleaving of D134's finding: this sync read key 2 before the rotation to key
    // 3, and another request re-signed the credential under key 3 before this write.
    let newer = issuer_of(3);
    let older = issuer_of(2);
    let mut s = issued(&newer);
    let before = s.clone();
    let e = refresh(&mut s, at(&older, LATER)).unwrap();
    assert_eq!(s, before, "already fresh: the credential stays key 3's");
    assert!(e.feed.is_empty() && e.new_photo.is_none());
    // Before D142 the write re-signed whatever it found: key 3's credential went back to
    // key 2. The content re-signing now refuses instead.
    assert!(refused_for_a_newer_key(reissue(&mut s, at(&older, LATER))));
}

#[test]
fn a_freshness_re_signing_already_made_by_another_request_is_not_made_again() {
    let issuer = issuer();
    let mut s = issued(&issuer);
    refresh(&mut s, at(&issuer, LATER)).unwrap();
    let once = s.clone();
    assert_eq!(once.elicence.as_ref().unwrap().issued_at, LATER);
    // A second sync that read the driver before the first one's write.
    refresh(&mut s, at(&issuer, LATER + 5)).unwrap();
    assert_eq!(s, once);
    // Towards a newer key it re-signs at once, same e-licence.
    let newer = issuer_of(4);
    refresh(&mut s, at(&newer, LATER + 10)).unwrap();
    let e = s.elicence.as_ref().unwrap();
    assert_eq!((e.id, e.kid, e.issued_at), (100, 4, LATER + 10));
}

#[test]
fn a_signing_is_checked_against_the_key_of_the_e_licence_on_record_whatever_its_state() {
    let mut s = enrolled();
    assert_eq!(signs_forward(&s, 1), Ok(()), "nothing signed yet");
    s = issued(&issuer());
    assert_eq!(signs_forward(&s, 3), Ok(()));
    assert_eq!(signs_forward(&s, 4), Ok(()));
    assert_eq!(
        signs_forward(&s, 2),
        Err(NewerKey {
            stored: 3,
            signing: 2
        })
    );
    s.elicence.as_mut().unwrap().state = ElicenceState::Superseded;
    assert!(
        signs_forward(&s, 2).is_err(),
        "a new e-licence would go back too"
    );
    assert!(matches!(
        Error::from(NewerKey {
            stored: 3,
            signing: 2
        }),
        Error::Busy { retry_after: 1 }
    ));
}

#[test]
fn a_change_signed_with_keys_older_than_the_e_licence_is_refused_for_a_retry() {
    let newer = issuer_of(3);
    let older = issuer_of(2);
    let k = at(&older, NOW + 60);
    let mut s = issued(&newer);
    assert!(refused_for_a_newer_key(set_status(
        &mut s.clone(),
        LicenceStatus::normal(),
        k
    )));
    assert!(refused_for_a_newer_key(record_violation(
        &mut s.clone(),
        violation(1, date!(2026 - 11 - 20)),
        k
    )));
    // A photo change re-signs; a counter issuance and an application issue anew.
    let mut change = s.clone();
    submit_photo(&mut change, upload(51), Ok(None), NOW).unwrap();
    assert!(refused_for_a_newer_key(approve_photo(
        &mut change,
        51,
        [6; 32],
        fresh(101),
        k
    )));
    assert!(refused_for_a_newer_key(counter_issue(
        &mut s.clone(),
        None,
        fresh(101),
        k
    )));
    s.device_key = Some(Bytes32(device(2)));
    set_challenge(
        &mut s,
        Challenge {
            id: 77,
            nonce: Bytes32([9; 32]),
            expires_at: NOW + 300,
        },
    );
    assert!(refused_for_a_newer_key(apply(
        &mut s,
        proof(77),
        &Verifier(true),
        3600,
        fresh(101),
        k
    )));
    // With the keys read again the same change goes ahead.
    let mut s = issued(&newer);
    set_status(&mut s, LicenceStatus::normal(), at(&newer, NOW + 60)).unwrap();
    assert_eq!(s.elicence.as_ref().unwrap().issued_at, NOW + 60);
}

/// An application photo sent by the device that a new one replaced is withdrawn when the
/// new device passes its check (PH-1): the new device sends its own, and no decision on
/// the old one can reach the new e-licence.
#[test]
fn a_new_device_s_check_withdraws_the_replaced_device_s_pending_photo() {
    let issuer = issuer();
    let mut s = under_review();
    s.device_key = Some(Bytes32(device(2)));
    set_challenge(
        &mut s,
        Challenge {
            id: 78,
            nonce: Bytes32([8; 32]),
            expires_at: NOW + 300,
        },
    );
    let e = apply(&mut s, proof(78), &Verifier(true), 3600, None, k(&issuer)).unwrap();
    assert!(e.refuse.is_none());
    assert_eq!(s.pending_review, None);
    assert_eq!(s.phase, ApplicationPhase::AwaitingPhoto);
    assert_eq!(s.identity_key, Some(Bytes32(device(2))));
    assert!(
        e.photo_decisions
            .iter()
            .any(|d| d.photo_id == 50 && d.status == PhotoStatus::Withdrawn)
    );
}
