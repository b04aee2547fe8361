//! The authority's flows over real HTTP on loopback, with a real database file.

use crate::common;

use common::*;
use edl_core::credential::{Audience, Credential};
use edl_core::crypto::sha256;
use edl_core::present::Form;
use edl_core::verify::{Policy, verify_offline};
use edl_core::wire::{
    self, ApplicationPhase, CheckOutcome, ElicenceState, MessageKind, ReviewOutcome, paths,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn application_with_photo_review_issues_a_credential_the_core_verifies() {
    let t = TestServer::start().await;
    let n = number(1);
    let driver = t.create_driver(&n, false).await;
    let mut wallet = t.enrol(driver, &n).await;

    // No photo on file: the application waits for one.
    let app = t.apply_ok(&wallet).await;
    assert_eq!(app.phase, ApplicationPhase::AwaitingPhoto);

    let (s, v, _) = t.upload(&wallet, "photo-1", &jpeg(7)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let accepted: wire::PhotoAccepted = serde_json::from_value(v).unwrap();
    assert_eq!(accepted.application.phase, ApplicationPhase::UnderReview);
    // Tuesday 11:00 → Wednesday 11:00 Beijing time.
    assert_eq!(accepted.deadline, t.now() + 24 * 3600);

    let synced = t.sync(&mut wallet).await;
    let app = synced.application.unwrap();
    assert_eq!(app.pending_review.unwrap().deadline, accepted.deadline);
    assert!(synced.elicence.is_none());

    // The reviewer sees it and approves.
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    let reviews = queue["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["photo_id"].as_u64(), Some(accepted.photo_id));
    assert_eq!(reviews[0]["kind"], "application");
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, accepted.photo_id),
        Value::Null,
    )
    .await;

    // The next sync brings the credential, its seed, the message and the review result.
    let synced = t.sync(&mut wallet).await;
    let e = synced.elicence.as_ref().unwrap();
    assert_eq!(e.state, ElicenceState::Active);
    assert!(
        synced
            .messages
            .iter()
            .any(|m| m.kind == MessageKind::ApplicationSucceeded)
    );
    assert_eq!(synced.reviews[0].outcome, ReviewOutcome::Approved);
    assert_eq!(synced.application.unwrap().phase, ApplicationPhase::Issued);
    assert_eq!(synced.photo.unwrap().as_bytes(), &jpeg(7)[..]);
    let licence = synced.licence.unwrap();
    assert_eq!(
        licence.main.photo_digest,
        edl_core::crypto::sha256(&jpeg(7))
    );

    // The credential verifies against the published trust list, offline.
    let trust = t.trust().await;
    let credential = Credential::decode(wallet.credential.as_ref().unwrap()).unwrap();
    let (enforcement, _) = credential.verify(&trust).unwrap();
    assert_eq!(enforcement.id, e.elicence_id);
    let p = wallet
        .holder()
        .present(Form::Offline, Audience::Business, t.now(), 30)
        .unwrap();
    verify_offline(
        &p.payload,
        &trust,
        t.now(),
        &Policy::new(Audience::Business),
    )
    .unwrap();

    // And online, in all three forms, each in a window of its own (the barcode of the
    // QR's window is the QR's own code, D120).
    let police = t.verifier("朝阳交警大队", "enforcement").await;
    for form in [Wallet::online_qr, Wallet::barcode, Wallet::manual] {
        t.clock.advance(30);
        let (s, v, _) = t
            .verify(&police, form(&wallet, Audience::Enforcement, t.now()))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["view"]["audience"], "enforcement");
        assert_eq!(v["in_force"], true);
        // The photo is its own resource (D92): the answer names it by digest.
        let digest = sha256(&jpeg(7));
        assert_eq!(v["photo_digest"], hex::encode(digest));
        assert_eq!(v["photo_url"], paths::photo(&digest));
    }

    // The checks reach the driver's verification log.
    let synced = t.sync(&mut wallet).await;
    assert_eq!(synced.verifications.len(), 3);
    assert!(
        synced
            .verifications
            .iter()
            .all(|v| v.outcome == CheckOutcome::Verified && v.verifier == "朝阳交警大队")
    );
    // Nothing new after that.
    let again = t.sync(&mut wallet).await;
    assert!(
        again.verifications.is_empty() && again.messages.is_empty() && again.elicence.is_none()
    );
}

#[tokio::test]
async fn a_stored_photo_issues_at_once_and_a_failed_identity_check_refuses() {
    let t = TestServer::start().await;
    let n = number(2);
    let driver = t.create_driver(&n, true).await;
    let wallet = t.enrol(driver, &n).await;

    // Without a check, and with a wrong attestation: refused.
    let (s, v, _) = t
        .signed(&wallet, Method::POST, paths::APPLY, json!({}))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_check_required"))
    );
    let c = t.challenge(&wallet).await;
    let (s, v, _) = t
        .signed(
            &wallet,
            Method::POST,
            paths::APPLY,
            json!({"identity": {"challenge_id": c.challenge_id, "attestation": wire::Base64::encode(&[0u8; 32])}}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_check_failed"))
    );
    // The challenge was used up by the failure: the right answer to it no longer works.
    let good =
        wire::identity::test_provider_attestation(IDENTITY_SECRET, c.challenge.as_bytes(), &n);
    let (s, v, _) = t
        .signed(
            &wallet,
            Method::POST,
            paths::APPLY,
            json!({"identity": {"challenge_id": c.challenge_id, "attestation": wire::Base64::encode(&good)}}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_check_failed"))
    );

    // A fresh, passing check with the photo on file: issued at once.
    let app = t.apply_ok(&wallet).await;
    assert_eq!(app.phase, ApplicationPhase::Issued);
}

#[tokio::test]
async fn a_licence_not_in_force_is_refused_with_its_reason() {
    let t = TestServer::start().await;
    let n = number(3);
    let driver = t.create_driver(&n, true).await;
    let wallet = t.enrol(driver, &n).await;
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "D"}),
    )
    .await;
    let (s, v) = t.apply(&wallet).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"], "not_eligible");
    assert_eq!(v["reason"], "suspended");
}

#[tokio::test]
async fn a_driver_cannot_read_another_drivers_data() {
    let t = TestServer::start().await;
    let (a_id, mut a) = t.issued_wallet(&number(10)).await;
    let (_b_id, b) = t.issued_wallet(&number(11)).await;

    // B signs a request claiming A's account: the signature is checked with A's key.
    let path = format!("{}?cursor=0", paths::SYNC);
    let auth = wire::sign_request(&b.key, "GET", &path, b"", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(a_id).into_iter().collect();
    let (s, v, _) = t.raw(Method::GET, &path, &headers, vec![]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "bad_signature");
    assert!(v.get("licence").is_none());

    // Another driver cannot use A's identity challenge: challenges belong to the account.
    let c_number = number(12);
    let c_id = t.create_driver(&c_number, true).await;
    let c_wallet = t.enrol(c_id, &c_number).await;
    let challenge = t.challenge(&a).await;
    let att = wire::identity::test_provider_attestation(
        IDENTITY_SECRET,
        challenge.challenge.as_bytes(),
        &c_number,
    );
    let (s, v, _) = t
        .signed(
            &c_wallet,
            Method::POST,
            paths::APPLY,
            json!({"identity": {"challenge_id": challenge.challenge_id, "attestation": wire::Base64::encode(&att)}}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_check_failed"))
    );

    // Each sync holds only its own driver's licence.
    a.cursor = 0;
    let synced = t.sync(&mut a).await;
    assert_eq!(synced.licence.unwrap().main.licence_number, a.number);
    let mut b = b;
    b.cursor = 0;
    let synced = t.sync(&mut b).await;
    assert_eq!(synced.licence.unwrap().main.licence_number, b.number);

    // Without any auth headers: refused.
    let (s, v, _) = t.raw(Method::GET, &path, &[], vec![]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
}

#[tokio::test]
async fn a_business_verifier_never_receives_address_or_record() {
    let t = TestServer::start().await;
    let n = number(20);
    let (driver, wallet) = t.issued_wallet(&n).await;
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2026-11-20", "place": "北京市朝阳区建国路", "act": "违反禁令标志指示", "points": 3, "fine_yuan": 200}),
    )
    .await;
    let address = "正义路";
    for class in ["insurer", "rental", "employer"] {
        let business = t.verifier(&format!("{class} firm"), class).await;
        // A code is single-use: each firm is shown the next window's.
        t.clock.advance(30);
        // Even when the driver shows the enforcement code, a business gets the narrower view.
        for audience in [Audience::Enforcement, Audience::Business] {
            let (s, v, _) = t
                .verify(&business, wallet.online_qr(audience, t.now()))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let text = v.to_string();
            assert_eq!(v["view"]["audience"], "business");
            for forbidden in [
                address,
                "建国路",
                "record",
                "address",
                "date_of_birth",
                "1990-03-07",
                n.as_str(),
            ] {
                assert!(!text.contains(forbidden), "{class} saw {forbidden}");
            }
            assert_eq!(
                v["view"]["qualification"]["masked_number"],
                format!("{}**********{}", &n[..4], &n[14..])
            );
        }
    }
    // The police see everything, live (shown a code no firm has spent).
    let police = t.verifier("police", "enforcement").await;
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let licence = &v["view"]["licence"];
    assert!(
        licence["supplementary"]["address"]
            .as_str()
            .unwrap()
            .contains(address)
    );
    assert_eq!(
        licence["supplementary"]["record"].as_array().unwrap().len(),
        1
    );
    assert_eq!(licence["supplementary"]["cycle"]["points"], 3);
}

#[tokio::test]
async fn replayed_stale_or_tampered_signed_requests_are_refused() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(30)).await;
    let path = format!("{}?cursor=0", paths::SYNC);
    let auth = wire::sign_request(&wallet.key, "GET", &path, b"", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, _, _) = t.raw(Method::GET, &path, &headers, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    // The very same request again: a replay.
    let (s, v, _) = t.raw(Method::GET, &path, &headers, vec![]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request"))
    );
    // Still refused after a restart (nonces are durable).
    let mut t = t;
    t.restart().await;
    let (s, v, _) = t.raw(Method::GET, &path, &headers, vec![]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request"))
    );

    // A timestamp more than 300 s off.
    let stale = wire::sign_request(&wallet.key, "GET", &path, b"", t.now() - 301, rand16());
    let headers: Vec<(&str, String)> = stale.headers(wallet.account).into_iter().collect();
    let (s, v, _) = t.raw(Method::GET, &path, &headers, vec![]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("stale_request"))
    );

    // A signed body swapped for another.
    let auth = wire::sign_request(&wallet.key, "POST", paths::APPLY, b"{}", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, v, _) = t
        .raw(
            Method::POST,
            paths::APPLY,
            &headers,
            br#"{"reuse_stored_photo":false}"#.to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
}

#[tokio::test]
async fn the_old_elicence_fails_after_renewal_and_reapplying_reuses_the_photo() {
    let t = TestServer::start().await;
    let (driver, mut wallet) = t.issued_wallet(&number(40)).await;
    let police = t.verifier("police", "enforcement").await;
    let old_qr = wallet.online_qr(Audience::Enforcement, t.now());
    let (s, _, _) = t.verify(&police, old_qr.clone()).await;
    assert_eq!(s, StatusCode::OK);

    let d = t
        .admin_ok(
            Method::POST,
            &paths::with_id(paths::RENEW, driver),
            json!({"classes": "B2", "valid_until": "2034-03-07"}),
        )
        .await;
    assert_eq!(d["elicence"]["state"], "superseded");

    // The old e-licence fails at once, with a code that is right for it.
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::GONE, Some("elicence_superseded"))
    );
    let (s, _, _) = t
        .verify(&police, wallet.manual(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::GONE);

    // The wallet learns it on its next sync and re-applies in one step (same device: no
    // new identity check; photo on file reused).
    let synced = t.sync(&mut wallet).await;
    assert_eq!(synced.licence.unwrap().main.classes.to_string(), "B2");
    assert_eq!(synced.elicence.unwrap().state, ElicenceState::Superseded);
    assert_eq!(
        synced.application.unwrap().phase,
        ApplicationPhase::ReapplyNeeded
    );
    assert!(
        synced
            .messages
            .iter()
            .any(|m| m.kind == MessageKind::LicenceRenewed)
    );
    let (s, v, _) = t
        .signed(&wallet, Method::POST, paths::APPLY, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["phase"], "issued");
    let synced = t.sync(&mut wallet).await;
    let e = synced.elicence.unwrap();
    assert_eq!(e.state, ElicenceState::Active);
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["elicence_id"], e.elicence_id.to_string());
    // The old code stays refused.
    let (s, _, _) = t.verify(&police, old_qr).await;
    assert_ne!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_suspension_shows_to_enforcement_on_the_next_request() {
    let t = TestServer::start().await;
    let (driver, wallet) = t.issued_wallet(&number(50)).await;
    let police = t.verifier("police", "enforcement").await;
    let (_, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(
        (v["in_force"].as_bool(), v["status_colour"].as_str()),
        (Some(true), Some("black"))
    );
    assert_eq!(v["status_label"], json!({"zh": "正常", "en": "Normal"}));

    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "D"}),
    )
    .await;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["in_force"], false);
    assert_eq!(v["not_in_force_reason"], "suspended");
    assert_eq!(v["status_colour"], "red");
    assert_eq!(v["view"]["licence"]["main"]["status"], "D");
    // The status in words, so a verifier's screen needs no table of letters.
    assert_eq!(
        v["status_label"],
        json!({"zh": "暂扣", "en": "Suspended"}),
        "{v}"
    );
}

#[tokio::test]
async fn twelve_points_in_the_cycle_set_over_points_and_reissue_the_credential() {
    let t = TestServer::start().await;
    let (driver, mut wallet) = t.issued_wallet(&number(60)).await;
    let path = paths::with_id(paths::VIOLATIONS, driver);
    let v = t
        .admin_ok(Method::POST, &path, json!({"date": "2026-10-01", "place": "A", "act": "超速", "points": 6, "fine_yuan": 200}))
        .await;
    assert_eq!(v["licence"]["main"]["status"], "A");
    let v = t
        .admin_ok(Method::POST, &path, json!({"date": "2026-11-01", "place": "B", "act": "闯红灯", "points": 6, "fine_yuan": 200, "handled": true}))
        .await;
    assert_eq!(v["licence"]["main"]["status"], "B");
    assert_eq!(v["licence"]["supplementary"]["cycle"]["points"], 12);

    let synced = t.sync(&mut wallet).await;
    let licence = synced.licence.unwrap();
    assert_eq!(licence.main.status.letters(), "B");
    assert_eq!(licence.supplementary.record.len(), 2);
    // The re-signed credential carries the new status; the e-licence id is unchanged.
    let credential = Credential::decode(wallet.credential.as_ref().unwrap()).unwrap();
    let (e, _) = credential.verify(&t.trust().await).unwrap();
    assert_eq!(e.licence.main.status.letters(), "B");
    assert_eq!(
        synced
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::ViolationRecorded)
            .count(),
        2
    );

    // Points out of range, a future date, a date before first issue: refused.
    for bad in [
        json!({"date": "2026-10-01", "place": "A", "act": "x", "points": 13, "fine_yuan": 0}),
        json!({"date": "2027-10-01", "place": "A", "act": "x", "points": 1, "fine_yuan": 0}),
        json!({"date": "2010-10-01", "place": "A", "act": "x", "points": 1, "fine_yuan": 0}),
    ] {
        let (s, v) = t.admin(Method::POST, &path, bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
}

#[tokio::test]
async fn counter_issuance_sends_the_elicence_to_the_app_account() {
    let t = TestServer::start().await;
    let n = number(70);
    let driver = t.create_driver(&n, false).await;
    // No app account yet.
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::COUNTER_ISSUE, driver),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let mut wallet = t.enrol(driver, &n).await;
    let d = t
        .admin_ok(
            Method::POST,
            &paths::with_id(paths::COUNTER_ISSUE, driver),
            json!({"photo": wire::Base64::encode(&jpeg(3))}),
        )
        .await;
    assert_eq!(d["application"]["phase"], "issued");
    let synced = t.sync(&mut wallet).await;
    assert!(synced.elicence.unwrap().credential.is_some());
    assert!(
        synced
            .messages
            .iter()
            .any(|m| m.kind == MessageKind::ApplicationSucceeded)
    );
    let police = t.verifier("police", "enforcement").await;
    let (s, _, _) = t
        .verify(&police, wallet.manual(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn rejections_carry_their_reason_and_a_malicious_photo_stops_the_elicence() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(80)).await;
    // A photo change, rejected with a reason.
    let (s, v, _) = t.upload(&wallet, "change-1", &jpeg(9)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let photo = v["photo_id"].as_u64().unwrap();
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::REJECT, photo),
            json!({"reason": "背景不是白色"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let synced = t.sync(&mut wallet).await;
    assert_eq!(synced.reviews[0].reason.as_deref(), Some("背景不是白色"));
    assert_eq!(synced.reviews[0].outcome, ReviewOutcome::Rejected);
    // Deciding twice is refused.
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::APPROVE, photo),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );

    // A malicious upload stops the e-licence.
    let (_, v, _) = t.upload(&wallet, "change-2", &jpeg(10)).await;
    let photo = v["photo_id"].as_u64().unwrap();
    let d = t
        .admin_ok(
            Method::POST,
            &paths::with_id(paths::REJECT, photo),
            json!({"reason": "恶意上传", "malicious": true}),
        )
        .await;
    // The decision answers with the phase (D146); the registry sees the e-licence.
    assert_eq!(d["outcome"], "rejected_malicious");
    assert_eq!(d["phase"], "stopped");
    let driver = paths::with_id(paths::DRIVER, d["driver_id"].as_u64().unwrap());
    let d = t.admin_ok(Method::GET, &driver, Value::Null).await;
    assert_eq!(d["elicence"]["state"], "stopped");
    assert_eq!(d["application"]["phase"], "stopped");
    let police = t.verifier("police", "enforcement").await;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("elicence_stopped"))
    );
    let (s, v) = t.apply(&wallet).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("elicence_stopped"))
    );
    let synced = t.sync(&mut wallet).await;
    assert!(
        synced
            .messages
            .iter()
            .any(|m| m.kind == MessageKind::ElicenceStopped)
    );
}

/// The busy switch is the database's, not one process's (D174): set through one
/// authority process, photo changes through another are refused at once; cleared through
/// the second, the first takes them again. A restart keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busy_switch_set_through_one_process_holds_on_every_process_and_a_restart() {
    let mut t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(91)).await;
    let (other, clients) = t.second_process().await;
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 300}))
        .await;
    let (s, v, h) = clients.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(
        (s, v["error"].as_str(), v["retry_after"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some("busy"), Some(300)),
        "a photo change through the other process: {v}"
    );
    assert_eq!(h["retry-after"], "300");
    t.restart().await;
    let (s, v, _) = t.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("busy")),
        "after a restart: {v}"
    );
    clients
        .admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": null}))
        .await;
    let (s, v, _) = t.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(s, StatusCode::OK, "cleared through the other process: {v}");
    other.shutdown().await.expect("clean shutdown");
}

/// The busy switch reads back as the database holds it, through any process (tenth
/// review, Q-F2): an operator can tell whether a forgotten switch is still refusing
/// photo changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busy_switch_reads_back_as_stored_through_every_process() {
    let t = TestServer::start().await;
    let (other, clients) = t.second_process().await;
    async fn read(t: &TestServer) -> Value {
        t.admin_ok(Method::GET, paths::BUSY, Value::Null).await
    }
    assert_eq!(read(&t).await, json!({"retry_after": null}), "never set");
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 300}))
        .await;
    assert_eq!(
        read(&clients).await,
        json!({"retry_after": 300}),
        "set through the other process"
    );
    clients
        .admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": null}))
        .await;
    assert_eq!(read(&t).await, json!({"retry_after": null}), "cleared");
    other.shutdown().await.expect("clean shutdown");
}

/// A busy switch must say when to come back, within a day (D177): 0 would have every
/// client retry at once, and more than a day is not a peak hour. Refused, the setting
/// before stays.
#[tokio::test]
async fn a_busy_switch_of_zero_seconds_or_past_a_day_is_refused_and_the_setting_kept() {
    let t = TestServer::start().await;
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 300}))
        .await;
    for bad in [json!(0), json!(86_401), json!(u32::MAX)] {
        let (s, v) = t
            .admin(Method::PUT, paths::BUSY, json!({ "retry_after": bad }))
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "retry_after {bad}: {v}"
        );
    }
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 86_400}))
        .await;
    let read = t.admin_ok(Method::GET, paths::BUSY, Value::Null).await;
    assert_eq!(read, json!({"retry_after": 86_400}), "a day is allowed");
}

/// A body that does not name `retry_after` (empty, a misspelt field) is refused, not
/// read as `null`: an operator turning the switch on with a typo must not turn it off
/// with a 200 (eleventh review, R-F2).
#[tokio::test]
async fn a_busy_body_that_does_not_name_retry_after_is_refused_and_the_setting_kept() {
    let t = TestServer::start().await;
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 300}))
        .await;
    for body in [
        json!({}),
        json!({"retryAfter": 600}),
        json!({"retry_afte": 600}),
        json!({"retry_after": 600, "until": "18:00"}),
    ] {
        let (s, v) = t.admin(Method::PUT, paths::BUSY, body.clone()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{body}: {v}"
        );
        let read = t.admin_ok(Method::GET, paths::BUSY, Value::Null).await;
        assert_eq!(read, json!({"retry_after": 300}), "after {body}");
    }
}

/// A setting stored out of bounds (0 or past a day, as D174 accepted before D177) is held
/// to them when read: a photo change is never told to come back at once, nor in years
/// (eleventh review, R-F3).
#[tokio::test]
async fn a_busy_setting_stored_out_of_bounds_is_held_to_them() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(94)).await;
    for (stored, in_effect) in [(0_u64, 1_u64), (4_294_967_295, 86_400)] {
        t.run_sql(&format!(
            "DELETE FROM settings; \
             INSERT INTO settings (name, value) VALUES ('busy_retry_after', {stored})"
        ))
        .await;
        let read = t.admin_ok(Method::GET, paths::BUSY, Value::Null).await;
        assert_eq!(read, json!({ "retry_after": in_effect }), "stored {stored}");
        let (s, v, h) = t.upload(&wallet, "k1", &jpeg(5)).await;
        assert_eq!(
            (s, v["retry_after"].as_u64()),
            (StatusCode::TOO_MANY_REQUESTS, Some(in_effect)),
            "stored {stored}: {v}"
        );
        assert_eq!(h["retry-after"], in_effect.to_string().as_str());
    }
}

/// The switch holds back photo changes only, so a switch that cannot be read (here a
/// corrupt row) does not refuse a first photo, which no switch refuses (tenth review,
/// Q-F4); a change is refused, as it would be by the switch.
#[tokio::test]
async fn a_busy_switch_that_cannot_be_read_refuses_photo_changes_only() {
    let t = TestServer::start().await;
    let n = number(92);
    let driver = t.create_driver(&n, false).await;
    let wallet = t.enrol(driver, &n).await;
    t.apply_ok(&wallet).await;
    t.run_sql("INSERT INTO settings (name, value) VALUES ('busy_retry_after', -1)")
        .await;
    let (s, v, _) = t.upload(&wallet, "first", &jpeg(7)).await;
    assert_eq!(s, StatusCode::OK, "a first photo: {v}");

    let (_, issued) = t.issued_wallet(&number(93)).await;
    let (s, v, _) = t.upload(&issued, "change", &jpeg(8)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")),
        "a photo change: {v}"
    );
}

#[tokio::test]
async fn photo_changes_get_429_with_retry_after_when_busy_and_uploads_are_idempotent() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(90)).await;
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": 600}))
        .await;
    let (s, v, h) = t.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (v["error"].as_str(), v["retry_after"].as_u64()),
        (Some("busy"), Some(600))
    );
    assert_eq!(h["retry-after"], "600");
    t.admin_ok(Method::PUT, paths::BUSY, json!({"retry_after": null}))
        .await;

    let (s, first, _) = t.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(s, StatusCode::OK);
    // The same key and bytes again (a retry): the same answer, no second review.
    let (s, again, _) = t.upload(&wallet, "k1", &jpeg(5)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first["photo_id"], again["photo_id"]);
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"].as_array().unwrap().len(), 1);
    // The same key with other bytes: a conflict.
    let (s, v, _) = t.upload(&wallet, "k1", &jpeg(6)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );

    // Approving the change re-signs the credential with the new photo, same e-licence.
    t.sync(&mut wallet).await;
    let id_before = Credential::decode(wallet.credential.as_ref().unwrap())
        .unwrap()
        .id()
        .unwrap();
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, first["photo_id"].as_u64().unwrap()),
        Value::Null,
    )
    .await;
    let synced = t.sync(&mut wallet).await;
    assert!(
        synced
            .messages
            .iter()
            .any(|m| m.kind == MessageKind::PhotoChanged)
    );
    let credential = Credential::decode(wallet.credential.as_ref().unwrap()).unwrap();
    assert_eq!(credential.id().unwrap(), id_before);
    let (e, _) = credential.verify(&t.trust().await).unwrap();
    assert_eq!(
        e.licence.main.photo_digest,
        edl_core::crypto::sha256(&jpeg(5))
    );
}

#[tokio::test]
async fn key_rotation_keeps_earlier_credentials_verifying_and_sync_re_signs() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(100)).await;
    let old = Credential::decode(wallet.credential.as_ref().unwrap()).unwrap();
    t.clock.advance(60);
    let rotated = t
        .admin_ok(Method::POST, paths::ROTATE_KEY, Value::Null)
        .await;
    assert_eq!(rotated["signer_kid"], 2);
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 2);
    let trust = t.trust().await;
    // Signed with key 1 before the rotation: still verifies.
    old.verify(&trust).unwrap();
    // The next sync re-signs with key 2.
    let synced = t.sync(&mut wallet).await;
    assert!(synced.elicence.is_some());
    let new = Credential::decode(wallet.credential.as_ref().unwrap()).unwrap();
    let (e, _) = new.verify(&trust).unwrap();
    assert_eq!(e.header.kid.0, 2);
    assert_eq!(new.id().unwrap(), old.id().unwrap());
}

#[tokio::test]
async fn enrolment_refuses_wrong_codes_and_backs_off_without_burning_the_code() {
    let t = TestServer::start().await;
    let n = number(110);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let key = edl_core::crypto::SecretKey::from_seed(rand32())
        .public()
        .to_bytes();
    let enrol = |code: String, number: String| {
        let t = &t;
        async move {
            t.raw(
                Method::POST,
                paths::ENROL,
                &[],
                serde_json::to_vec(&json!({"licence_number": number, "activation_code": code, "device_public_key": wire::Base64::encode(&key)})).unwrap(),
            )
            .await
        }
    };
    // An unknown licence number looks like a wrong code.
    let (s, v, _) = enrol(code.clone(), number(999)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_activation_code"))
    );
    // The first wrong codes are refused as such, then the licence backs off (D75).
    let free = edl_authority::EnrolLimits::default().licence.free;
    for _ in 0..free {
        let (s, _, _) = enrol("00000000".into(), n.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, _) = enrol("00000000".into(), n.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v, headers) = enrol(code.clone(), n.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("locked_out"))
    );
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    // Not burnt: after the wait the right code enrols.
    t.clock.advance(wait);
    let (s, v, _) = enrol(code, n.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["account_id"], driver);
}

/// Checks write only the driver's feed, changes write the driver too (D112); whatever
/// their order, a wallet syncing from its cursor gets every entry once and the changes.
#[tokio::test]
async fn checks_and_changes_interleave_in_one_sequence_for_the_wallet() {
    let t = TestServer::start().await;
    let (driver, mut wallet) = t.issued_wallet(&number(61)).await;
    let police = t.verifier("交警", "enforcement").await;
    t.sync(&mut wallet).await;
    let start = wallet.cursor;
    async fn check(t: &TestServer, wallet: &Wallet, police: &Verifier) {
        let (s, v, _) = t
            .verify(police, wallet.online_qr(Audience::Enforcement, t.now()))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    check(&t, &wallet, &police).await;
    t.clock.advance(60);
    check(&t, &wallet, &police).await;
    // A change after two checks: its versions and message come after them.
    let path = paths::with_id(paths::VIOLATIONS, driver);
    t.admin_ok(
        Method::POST,
        &path,
        json!({"date": "2026-10-01", "place": "A", "act": "超速", "points": 3, "fine_yuan": 200}),
    )
    .await;
    t.clock.advance(60);
    check(&t, &wallet, &police).await;

    let synced = t.sync(&mut wallet).await;
    assert_eq!(synced.verifications.len(), 3);
    let licence = synced.licence.expect("the change reaches the wallet");
    assert_eq!(licence.supplementary.record.len(), 1);
    assert!(wallet.cursor > start);
    // Nothing twice: from its new cursor the wallet is up to date.
    let again = t.sync(&mut wallet).await;
    assert_eq!(
        (
            again.verifications.len(),
            again.licence.is_none(),
            again.messages.len()
        ),
        (0, true, 0)
    );
    // And a check after the sync is the next and only entry.
    t.clock.advance(60);
    check(&t, &wallet, &police).await;
    let last = t.sync(&mut wallet).await;
    assert_eq!(
        (last.verifications.len(), last.licence.is_none()),
        (1, true)
    );
    // Read from the start, the log holds each check once.
    wallet.cursor = 0;
    assert_eq!(t.sync(&mut wallet).await.verifications.len(), 4);
}

/// The registry lists verifier accounts by id, a page at a time, with their name, class
/// and revocation, and never their key or its hash (D196): how an operator holding a
/// business's name finds the id to revoke (twenty-third review, AD-F6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_lists_verifier_accounts_a_page_at_a_time_with_their_revocations() {
    let t = TestServer::start().await;
    let made = t.now();
    let (police_key, police) = t.verifier_account("交警", "enforcement").await;
    let (insurer_key, insurer) = t.verifier_account("平安保险", "insurer").await;
    let (_, rental) = t.verifier_account("租车行", "rental").await;
    let list = |query: String| {
        let t = &t;
        async move {
            t.admin_ok(
                Method::GET,
                &format!("{}{query}", paths::VERIFIERS),
                Value::Null,
            )
            .await["verifiers"]
                .as_array()
                .expect("a list")
                .clone()
        }
    };
    let all = list(String::new()).await;
    let ours: Vec<&Value> = all
        .iter()
        .filter(|v| [police, insurer, rental].contains(&v["verifier_id"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ours,
        [
            &json!({"verifier_id": police, "name": "交警", "class": "enforcement", "created_at": made, "revoked_at": null}),
            &json!({"verifier_id": insurer, "name": "平安保险", "class": "insurer", "created_at": made, "revoked_at": null}),
            &json!({"verifier_id": rental, "name": "租车行", "class": "rental", "created_at": made, "revoked_at": null}),
        ],
        "by id, each with exactly these fields: no key, no hash"
    );
    let ids: Vec<u64> = all
        .iter()
        .map(|v| v["verifier_id"].as_u64().unwrap())
        .collect();
    assert!(ids.is_sorted(), "ascending: {ids:?}");

    // A page: after the first, one.
    assert_eq!(
        list(format!("?after={police}&limit=1")).await,
        [
            json!({"verifier_id": insurer, "name": "平安保险", "class": "insurer", "created_at": made, "revoked_at": null})
        ]
    );
    assert_eq!(
        list(format!("?after={rental}")).await,
        Vec::<Value>::new(),
        "past the last"
    );
    // A cursor past the largest id is past the last too, not read as the first page; the
    // audit log's likewise (twenty-fourth review, AE-F4: ids 1, 2, 3).
    let beyond = u64::try_from(i64::MAX).unwrap() + 1;
    assert_eq!(list(format!("?after={beyond}")).await, Vec::<Value>::new());
    let audit = t
        .admin_ok(
            Method::GET,
            &format!("{}?after={beyond}", edl_authority::http::audit::AUDIT),
            Value::Null,
        )
        .await;
    assert_eq!(audit["entries"], json!([]), "the audit log past its end");

    t.clock.advance(5);
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::REVOKE_VERIFIER, insurer),
        Value::Null,
    )
    .await;
    let page = list(format!("?after={police}&limit=1")).await;
    assert_eq!(
        page[0]["revoked_at"],
        made + 5,
        "listed with its revocation"
    );

    // From a key to its account, by the key's SHA-256 alone: a live key's account; a
    // revoked key's none (its hash is no longer on file); `after` still applies.
    let by_key = |key: &str| format!("?key_sha256={}", hex::encode(sha256(key.as_bytes())));
    assert_eq!(
        list(by_key(&police_key.api_key)).await,
        [
            json!({"verifier_id": police, "name": "交警", "class": "enforcement", "created_at": made, "revoked_at": null})
        ]
    );
    assert_eq!(
        list(by_key(&insurer_key.api_key)).await,
        Vec::<Value>::new()
    );
    // The answer says what it was filtered by, so a client can tell an authority that
    // ignored the filter (twenty-fifth review, AF-F2); a plain page says nothing.
    let hash = hex::encode(sha256(police_key.api_key.as_bytes()));
    let answer = t
        .admin_ok(
            Method::GET,
            &format!("{}?key_sha256={hash}", paths::VERIFIERS),
            Value::Null,
        )
        .await;
    assert_eq!(answer["key_sha256"], hash.as_str());
    let plain = t.admin_ok(Method::GET, paths::VERIFIERS, Value::Null).await;
    assert!(plain.get("key_sha256").is_none(), "{plain}");
    assert_eq!(
        list(format!("{}&after={police}", by_key(&police_key.api_key))).await,
        Vec::<Value>::new()
    );
    let (s, v) = t
        .admin(
            Method::GET,
            &format!("{}?key_sha256=abc", paths::VERIFIERS),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );

    // A query that is not a page is refused, not read as the first page.
    let (s, v) = t
        .admin(
            Method::GET,
            &format!("{}?after=-1", paths::VERIFIERS),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
}

/// A verifier account revoked by the registry (D194): its key is refused at once, for
/// checks and for the photo its earlier check granted; revoking again answers the first
/// revocation, an unknown account is 404, and the other verifiers go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_verifier_is_refused_at_once_and_the_others_go_on() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let (rental, id) = t.verifier_account("租车行", "rental").await;
    let police = t.verifier("交警", "enforcement").await;
    let (s, answer, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    let (s, _, _) = t.verifier_photo(&rental, &answer, &[]).await;
    assert_eq!(s, StatusCode::OK, "its photo, before");

    let revoked_at = t.now();
    let v = t
        .admin_ok(
            Method::POST,
            &paths::with_id(paths::REVOKE_VERIFIER, id),
            Value::Null,
        )
        .await;
    assert_eq!(
        v,
        json!({"verifier_id": id, "revoked_at": revoked_at, "name": "租车行", "class": "rental"}),
        "whose account it was (twenty-third review, AD-F6)"
    );
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "a check by the revoked key: {v}"
    );
    let (s, _, _) = t.verifier_photo(&rental, &answer, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the photo its grant named");
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "another verifier goes on: {v}");

    let again = t
        .admin_ok(
            Method::POST,
            &paths::with_id(paths::REVOKE_VERIFIER, id),
            Value::Null,
        )
        .await;
    assert_eq!(
        again["revoked_at"], revoked_at,
        "the first revocation's time"
    );
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::REVOKE_VERIFIER, 999_999),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_id"))
    );

    // A build that knows no revocation (one older than D194, or rolled back to) reads no
    // `revoked_at`: the key's hash is gone from the row too, so it finds no such key
    // (twenty-third review, AD-F5). Such a build is played by a process that reads the
    // row with `revoked_at` cleared behind its back.
    t.run_sql("UPDATE verifiers SET revoked_at = NULL").await;
    let (other, u) = t.second_process().await;
    t.clock.advance(30);
    let (s, v, _) = u
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the key's hash is gone: {v}");
    other.shutdown().await.expect("clean shutdown");
}

/// A database filled by a build before D194 (its schema without `revoked_at`) is migrated
/// when a D194 build starts on it: its verifiers keep their keys, are listed unrevoked, and
/// can be revoked, the revocation audited like every admin call (twenty-third review,
/// AD-F10: no test migrated a filled database, or read a revoke's audit row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_filled_before_revocations_migrates_and_keeps_its_verifiers() {
    let mut t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let (rental, id) = t.verifier_account("租车行", "rental").await;
    let (s, v, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "before: {v}");

    // The database as the build before D194 left it: no column, the step not recorded.
    if let Some(server) = t.server.take() {
        server.shutdown().await.expect("clean shutdown");
    }
    t.run_sql(if t.on_postgres() {
        "ALTER TABLE verifiers DROP COLUMN revoked_at;
         DELETE FROM edl_schema_version WHERE version >= 12;"
    } else {
        "ALTER TABLE verifiers DROP COLUMN revoked_at; PRAGMA user_version = 10;"
    })
    .await;
    t.restart().await;

    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "its key still taken: {v}");
    let listed = t.admin_ok(Method::GET, paths::VERIFIERS, Value::Null).await;
    assert!(
        listed["verifiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["verifier_id"] == id && a["revoked_at"].is_null()),
        "listed unrevoked: {listed}"
    );
    let revoke = paths::with_id(paths::REVOKE_VERIFIER, id);
    t.admin_ok(Method::POST, &revoke, Value::Null).await;
    t.clock.advance(30);
    let (s, _, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked after the migration");

    let audit = t
        .admin_ok(
            Method::GET,
            &format!("{}?limit=500", edl_authority::http::audit::AUDIT),
            Value::Null,
        )
        .await;
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == format!("POST {}", paths::REVOKE_VERIFIER))
        .unwrap_or_else(|| panic!("the revoke audited: {audit}"))
        .clone();
    assert_eq!(
        (&entry["target"], &entry["allowed"], &entry["role"]),
        (&json!(id), &json!(true), &json!("registry"))
    );
}
