//! An activation code alone opens nothing (issue 13, finding 2; D76): a device enrolled
//! with an intercepted code gets no personal data from sync (address, date of birth,
//! record, verification log, photo, credential) and does not supersede the driver's
//! working e-licence; both wait for the new device's real-person check. The phone that
//! holds the working e-licence keeps syncing until then.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::{Base64, identity::test_provider_attestation, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The photo at `path`, fetched by `wallet` (signed by hand: the test client's `signed`
/// reads JSON, and a photo is bytes): the status, and the body as JSON or its bytes.
async fn photo(
    t: &TestServer,
    wallet: &Wallet,
    path: &str,
) -> (StatusCode, Result<Value, Vec<u8>>) {
    let auth = sign_request(&wallet.key, "GET", path, b"", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, v, _) = t
        .try_raw(Method::GET, path, &headers, Vec::new())
        .await
        .expect("answered");
    (s, v)
}

async fn sync_raw(t: &TestServer, wallet: &Wallet) -> (StatusCode, Value) {
    let path = format!("{}?cursor=0", paths::SYNC);
    let (s, v, _) = t.signed(wallet, Method::GET, &path, Value::Null).await;
    (s, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intercepted_activation_code_opens_no_personal_data_and_kills_nothing() {
    let t = TestServer::start().await;
    let n = number(1);
    let (driver, mut phone) = t.issued_wallet(&n).await;
    let police = t.verifier("交警", "enforcement").await;
    let (s, v, _) = t
        .verify(&police, phone.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let address = v["view"]["licence"]["supplementary"]["address"]
        .as_str()
        .expect("the enforcement view has the address")
        .to_owned();

    // Whoever reads the SMS enrols their own device with the code.
    let thief = t.enrol(driver, &n).await;
    let (s, v) = sync_raw(&t, &thief).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    for secret in [address.as_str(), "1990-03-07", "交警"] {
        assert!(!text.contains(secret), "sync before the check leaks: {v}");
    }
    assert!(v["licence"].is_null(), "{v}");
    assert!(v["photo"].is_null(), "{v}");
    assert!(v["elicence"].is_null(), "{v}");
    assert_eq!(v["verifications"], json!([]), "{v}");
    assert_eq!(v["messages"], json!([]), "{v}");

    // The thief cannot pass the real-person check; the driver's e-licence works on.
    let c = t.challenge(&thief).await;
    let forged = test_provider_attestation(b"not the provider", c.challenge.as_bytes(), &n);
    let (s, v, _) = t
        .signed(
            &thief,
            Method::POST,
            paths::APPLY,
            json!({"identity": {"challenge_id": c.challenge_id, "attestation": Base64::encode(&forged)}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "identity_check_failed");
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&police, phone.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "the working e-licence was killed: {v}");
    // And the driver's phone still syncs with its own key.
    let r = t.sync(&mut phone).await;
    assert!(r.server_time > 0);

    // The driver's real new phone: after its real-person check it gets everything, and
    // only then is the old e-licence superseded.
    let mut new_phone = t.enrol(driver, &n).await;
    t.apply_ok(&new_phone).await;
    let r = t.sync(&mut new_phone).await;
    let licence = r.licence.expect("personal data after the check");
    assert_eq!(licence.supplementary.address, address);
    assert!(!r.verifications.is_empty(), "the verification log");
    assert!(new_phone.credential.is_some());
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&police, phone.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::GONE, "{v}");
    assert_eq!(v["error"], "elicence_superseded");
    let (s, v) = sync_raw(&t, &phone).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old phone is out: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_enrolment_syncs_no_personal_data_before_the_check() {
    let t = TestServer::start().await;
    let n = number(2);
    let driver = t.create_driver(&n, true).await;
    let mut wallet = t.enrol(driver, &n).await;
    let (s, v) = sync_raw(&t, &wallet).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["licence"].is_null(), "{v}");
    assert!(v["photo"].is_null(), "{v}");
    assert_eq!(v["cursor"], 0, "nothing is skipped: {v}");
    t.apply_ok(&wallet).await;
    let r = t.sync(&mut wallet).await;
    assert!(r.licence.is_some());
    assert!(r.photo.is_some());
}

/// Nor can the intercepted code's device read the driver's photo or put its own on the
/// e-licence (second hostile review, R4): a photo upload before the real-person
/// check went into review as a photo change, so a reviewer's "malicious" stopped the
/// driver's working e-licence and an approval swapped its photo; and the photo, named by
/// digest in every verify answer, was served to that device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intercepted_activation_code_neither_reads_nor_changes_the_photo() {
    let t = TestServer::start().await;
    let n = number(3);
    let (driver, mut phone) = t.issued_wallet(&n).await;
    let police = t.verifier("交警", "enforcement").await;
    let (s, v, _) = t
        .verify(&police, phone.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let photo_url = v["photo_url"].as_str().unwrap().to_owned();

    let thief = t.enrol(driver, &n).await;
    let (s, v) = photo(&t, &thief, &photo_url).await;
    assert_eq!(
        (s, v.as_ref().ok().and_then(|v| v["error"].as_str())),
        (StatusCode::FORBIDDEN, Some("identity_check_required")),
        "the photo before the check: {v:?}"
    );
    let (s, v, _) = t.upload(&thief, "thief", &jpeg(66)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_check_required")),
        "a photo change before the check: {v}"
    );
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"], json!([]), "{queue}");

    // The driver's own phone, the checked device, still reads its photo and verifies.
    let (s, v) = photo(&t, &phone, &photo_url).await;
    assert_eq!((s, v), (StatusCode::OK, Err(jpeg(1))));
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&police, phone.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(t.sync(&mut phone).await.server_time > 0);
}

/// An intercepted activation code learns nothing of the licence's standing either
/// (fourth hostile review, P1; D148): applying without the real-person check, or with a
/// failed one, was answered `not_eligible` with the reason (revoked, suspended, overdue
/// exam) or `elicence_stopped`, and the sync of the unchecked device named the phase
/// `stopped` (a malicious-photo stop). Every device not yet checked now hears only that it
/// must pass the check, and hears the truth once it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intercepted_activation_code_learns_nothing_of_the_licence_s_standing() {
    let t = TestServer::start().await;
    // One driver per standing: revoked, suspended, overdue exam, and stopped.
    let mut cases = Vec::new();
    for (i, status) in ["F", "D", "Q"].into_iter().enumerate() {
        let n = number(60 + i as u32);
        let (driver, _) = t.issued_wallet(&n).await;
        t.admin_ok(
            Method::PUT,
            &paths::with_id(paths::STATUS, driver),
            json!({"status": status}),
        )
        .await;
        cases.push((driver, n, status));
    }
    let n = number(63);
    let (driver, phone) = t.issued_wallet(&n).await;
    let (_, v, _) = t.upload(&phone, "change", &jpeg(11)).await;
    let photo = v["photo_id"].as_u64().unwrap();
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::REJECT, photo),
        json!({"reason": "恶意上传", "malicious": true}),
    )
    .await;
    cases.push((driver, n, "stopped"));

    for (driver, n, standing) in &cases {
        let thief = t.enrol(*driver, n).await;
        // No real-person check at all.
        let (s, v, _) = t
            .signed(
                &thief,
                Method::POST,
                paths::APPLY,
                json!({"reuse_stored_photo": true}),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("identity_check_required")),
            "{standing}: {v}"
        );
        // A check that fails.
        let c = t.challenge(&thief).await;
        let (s, v, _) = t
            .signed(
                &thief,
                Method::POST,
                paths::APPLY,
                json!({"identity": {"challenge_id": c.challenge_id, "attestation": Base64::encode(b"not the driver")}}),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("identity_check_failed")),
            "{standing}: {v}"
        );
        // Its sync names no phase that tells the standing.
        let (s, v) = sync_raw(&t, &thief).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v["application"]["phase"], "reapply_needed",
            "{standing}: {v}"
        );
        // Once the driver passes the check on that device, it hears the truth.
        let (s, v) = t.apply(&thief).await;
        let expected = if *standing == "stopped" {
            "elicence_stopped"
        } else {
            "not_eligible"
        };
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some(expected)),
            "{standing}: {v}"
        );
    }
}

/// A photo pending from the device that was replaced (the photo review's PH-1): a thief on
/// the driver's unlocked old phone uploads their own face as a photo change; the driver
/// enrols a new phone and passes the check. The thief's photo stayed in review, and
/// approving it re-signed the new phone's e-licence with the thief's face (rejecting it as
/// malicious stopped it). The new device's takeover withdraws it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_pending_from_the_replaced_device_is_withdrawn_when_a_new_device_takes_over() {
    let t = TestServer::start().await;
    let n = number(30);
    let (driver, old_phone) = t.issued_wallet(&n).await;
    let (s, v, _) = t.upload(&old_phone, "thief-face", &jpeg(41)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let thiefs = v["photo_id"].as_u64().unwrap();

    let new_phone = t.enrol(driver, &n).await;
    let view = t.apply_ok(&new_phone).await;
    assert_eq!(
        view.phase,
        edl_core::wire::ApplicationPhase::Issued,
        "issued on the photo on file"
    );
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert!(
        !queue
            .to_string()
            .contains(&format!("\"photo_id\":{thiefs}")),
        "still in the review queue"
    );
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::APPROVE, thiefs),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "the old device's photo can no longer be approved"
    );
}
