//! The whole life of one e-licence, driven through the core's `Wallet` (real encrypted
//! store in a temp dir) against the real authority server on loopback (real database
//! file): enrolment to renewal, asserting what the driver and each verifier see at every
//! step.

use crate::common;

use std::sync::Arc;

use common::*;
use edl_core::credential::{Audience, DisclosedView};
use edl_core::licence::StatusColour;
use edl_core::photo::PhotoProblem;
use edl_core::present::Form;
use edl_core::verify::{Policy, verify_offline};
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{PhotoSource, TestIdentityProvider, Wallet, WalletError};
use edl_core::wire::{ApplicationPhase, Base64, ElicenceState, MessageKind, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../core/tests/photos/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("photo fixture")
}

fn count(wallet: &Wallet, kind: MessageKind) -> usize {
    wallet
        .messages()
        .unwrap()
        .iter()
        .filter(|m| m.kind == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_goes_from_enrolment_through_suspension_to_renewal_and_every_check_agrees() {
    let t = TestServer::start().await;
    let n = number(401);
    // No photo on file: the application has to wait for one.
    let driver = t.create_driver(&n, false).await;
    let code = t.activation_code(driver).await;

    // Enrol and apply.
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([41; 32]));
    let wallet = Wallet::open(dir.path(), &keys).unwrap();
    wallet.enrol(&t.url, &n, &code).await.unwrap();
    assert_eq!(wallet.enrolled().unwrap().unwrap().licence_number, n);
    let identity = Arc::new(TestIdentityProvider::new(IDENTITY_SECRET));
    let view = wallet.apply(identity.clone()).await.unwrap();
    assert_eq!(view.phase, ApplicationPhase::AwaitingPhoto);
    assert!(matches!(
        wallet.present(Form::Online, Audience::Enforcement, None),
        Err(WalletError::NoElicence)
    ));

    // A photo with a grey backdrop is refused on the phone, and nothing reaches the server.
    let grey = fixture("grey_background.jpg");
    let local = wallet.check_photo(&grey).unwrap();
    assert!(!local.passes());
    match wallet
        .submit_photo(grey, PhotoSource::Album, None)
        .await
        .unwrap_err()
    {
        WalletError::PhotoProblems(problems) => {
            assert!(
                problems
                    .iter()
                    .any(|p| matches!(p, PhotoProblem::BackgroundNotWhite { .. })),
                "{problems:?}"
            );
            assert_eq!(problems, local.problems);
        }
        other => panic!("expected PhotoProblems, got {other:?}"),
    }
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert!(queue["reviews"].as_array().unwrap().is_empty(), "{queue}");
    assert!(wallet.photo_submission().unwrap().is_none());

    // The fixed photo goes up and waits for a reviewer, with a deadline.
    let clean = fixture("clean.jpg");
    assert!(wallet.check_photo(&clean).unwrap().passes());
    let accepted = wallet
        .submit_photo(clean, PhotoSource::Camera, None)
        .await
        .unwrap();
    assert_eq!(accepted.application.phase, ApplicationPhase::UnderReview);
    let submission = wallet.photo_submission().unwrap().unwrap();
    assert_eq!(submission.photo_id, accepted.photo_id);
    assert!(submission.deadline > t.now());
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"].as_array().unwrap().len(), 1);

    // The reviewer approves; the next sync brings the e-licence.
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, accepted.photo_id),
        Value::Null,
    )
    .await;
    let report = wallet.sync().await.unwrap();
    assert!(report.elicence_changed && report.licence_changed && report.application_changed);
    assert_eq!(
        wallet.application().unwrap().unwrap().phase,
        ApplicationPhase::Issued
    );
    let first = wallet.elicence().unwrap().unwrap();
    assert_eq!(first.state, ElicenceState::Active);
    assert_eq!(count(&wallet, MessageKind::ApplicationSucceeded), 1);
    assert_eq!(wallet.status_colour().unwrap(), Some(StatusColour::Black));
    let licence = wallet.licence().unwrap().unwrap();
    assert_eq!(licence.main.licence_number, n);
    assert!(licence.supplementary.record.is_empty());
    assert_eq!(
        licence.main.photo_digest,
        edl_core::crypto::sha256(&wallet.photo().unwrap().unwrap())
    );

    // Online: the police see everything; a business sees the qualification only, even
    // when the driver shows the enforcement code.
    let police = t.verifier("police", "enforcement").await;
    let insurer = t.verifier("insurer", "insurer").await;
    let online = |audience| {
        let p = wallet
            .present_at(Form::Online, audience, t.now(), 30)
            .unwrap();
        json!({"method": "qr", "payload": Base64::encode(&p.payload)})
    };
    let (s, v, _) = t.verify(&police, online(Audience::Enforcement)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["in_force"], true);
    assert_eq!(v["view"]["audience"], "enforcement");
    assert_eq!(v["view"]["licence"]["main"]["licence_number"], n.as_str());
    let address = licence.supplementary.address.clone();
    assert!(v.to_string().contains(&address));
    for audience in [Audience::Business, Audience::Enforcement] {
        // The next window's code: the police spent this one (single-use codes, D68).
        t.clock.advance(30);
        let (s, v, _) = t.verify(&insurer, online(audience)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["in_force"], true);
        assert_eq!(v["view"]["audience"], "business");
        let text = v.to_string();
        for forbidden in ["address", "record", "date_of_birth", &address, &n] {
            assert!(!text.contains(forbidden), "business saw {forbidden}");
        }
    }

    // Offline: against the trust list alone.
    let trust = t.trust().await;
    for audience in [Audience::Enforcement, Audience::Business] {
        let p = wallet
            .present_at(Form::Offline, audience, t.now(), 30)
            .unwrap();
        let ok = verify_offline(&p.payload, &trust, t.now(), &Policy::new(audience))
            .unwrap_or_else(|e| panic!("{audience:?} offline: {e:?}"));
        assert_eq!(ok.view.audience(), audience);
    }

    // A violation: the next sync shows the points, the record and the message.
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2026-11-20", "place": "北京市朝阳区建国路", "act": "违反禁令标志指示", "points": 3, "fine_yuan": 200}),
    )
    .await;
    // Before the sync the wallet still shows what it had (offline-first).
    assert!(
        wallet
            .licence()
            .unwrap()
            .unwrap()
            .supplementary
            .record
            .is_empty()
    );
    let report = wallet.sync().await.unwrap();
    assert!(report.licence_changed);
    assert!(report.messages >= 1);
    // The three online checks above are in the driver's log.
    assert_eq!(report.verifications, 3);
    let licence = wallet.licence().unwrap().unwrap();
    assert_eq!(licence.supplementary.record.len(), 1);
    assert_eq!(licence.supplementary.record[0].points, 3);
    assert_eq!(licence.supplementary.record[0].act, "违反禁令标志指示");
    assert_eq!(licence.supplementary.cycle.points, 3);
    assert_eq!(count(&wallet, MessageKind::ViolationRecorded), 1);
    assert_eq!(wallet.status_colour().unwrap(), Some(StatusColour::Black));
    assert_eq!(wallet.verification_log().unwrap().len(), 3);

    // Suspension (暂扣): the wallet turns red after sync; the online check says not in force.
    // A window no verifier has spent yet (single-use codes, D68).
    t.clock.advance(30);
    let before_suspension = online(Audience::Enforcement);
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "D"}),
    )
    .await;
    let report = wallet.sync().await.unwrap();
    assert!(report.licence_changed);
    assert_eq!(
        wallet.licence().unwrap().unwrap().main.status.letters(),
        "D"
    );
    assert_eq!(wallet.status_colour().unwrap(), Some(StatusColour::Red));
    assert!(count(&wallet, MessageKind::StatusChanged) >= 1);
    // The e-licence is still shown (re-signed with status D). Both a code made before the
    // suspension and one made after it are reported not in force online…
    for body in [before_suspension, online(Audience::Enforcement)] {
        let (s, v, _) = t.verify(&police, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["in_force"], false, "{v}");
        assert_eq!(v["not_in_force_reason"], "suspended", "{v}");
        assert_eq!(v["status_colour"], "red", "{v}");
    }

    // …and offline, the re-signed credential says so too.
    let p = wallet
        .present_at(Form::Offline, Audience::Enforcement, t.now(), 30)
        .unwrap();
    assert!(matches!(
        verify_offline(
            &p.payload,
            &t.trust().await,
            t.now(),
            &Policy::new(Audience::Enforcement)
        ),
        Err(edl_core::verify::Rejection::LicenceNotInForce(_))
    ));

    // The suspension ends; the licence is renewed. The old e-licence dies at once online.
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "A"}),
    )
    .await;
    wallet.sync().await.unwrap();
    assert_eq!(wallet.status_colour().unwrap(), Some(StatusColour::Black));
    let old_online = online(Audience::Enforcement);
    let old_offline = wallet
        .present_at(Form::Offline, Audience::Enforcement, t.now(), 30)
        .unwrap();
    let (s, v, _) = t.verify(&police, old_online.clone()).await;
    assert_eq!((s, v["in_force"].clone()), (StatusCode::OK, json!(true)));
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::RENEW, driver),
        json!({"valid_until": "2034-03-07"}),
    )
    .await;
    let (s, v, _) = t.verify(&police, old_online).await;
    assert_eq!(s, StatusCode::GONE, "{v}");
    assert_eq!(v["error"], "elicence_superseded");

    // The next sync tells the wallet: no e-licence to show, re-apply.
    let report = wallet.sync().await.unwrap();
    assert!(report.elicence_changed);
    assert_eq!(
        wallet.application().unwrap().unwrap().phase,
        ApplicationPhase::ReapplyNeeded
    );
    assert_eq!(
        wallet.elicence().unwrap().unwrap().state,
        ElicenceState::Superseded
    );
    assert!(count(&wallet, MessageKind::LicenceRenewed) >= 1);
    assert!(matches!(
        wallet.present(Form::Online, Audience::Enforcement, None),
        Err(WalletError::NoElicence)
    ));

    // Re-applying issues a new e-licence at once (approved photo on file), synced in.
    let view = wallet.apply(identity).await.unwrap();
    assert_eq!(view.phase, ApplicationPhase::Issued);
    let second = wallet.elicence().unwrap().unwrap();
    assert_eq!(second.state, ElicenceState::Active);
    assert_ne!(second.id, first.id);
    assert_eq!(
        wallet
            .licence()
            .unwrap()
            .unwrap()
            .main
            .valid_until
            .to_string(),
        "2034-03-07"
    );
    let (s, v, _) = t.verify(&police, online(Audience::Enforcement)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["in_force"], true);
    let trust = t.trust().await;
    let p = wallet
        .present_at(Form::Offline, Audience::Enforcement, t.now(), 30)
        .unwrap();
    verify_offline(
        &p.payload,
        &trust,
        t.now(),
        &Policy::new(Audience::Enforcement),
    )
    .unwrap();
    // The old offline payload still carries a validly signed credential (offline cannot
    // know of the renewal until it expires), but it is a different e-licence from the
    // one the wallet now holds.
    let old = verify_offline(
        &old_offline.payload,
        &trust,
        t.now(),
        &Policy::new(Audience::Enforcement),
    );
    if let Ok(edl_core::verify::Verified {
        view: DisclosedView::Enforcement(old),
        ..
    }) = old
    {
        assert_eq!(old.id, first.id);
        assert_ne!(old.id, second.id);
    }
}
