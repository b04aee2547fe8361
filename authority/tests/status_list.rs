//! The authority serves a root-signed trust list and a signed status list, and every
//! change of an e-licence's status is in the very next status list: an offline verifier
//! that refreshed its lists refuses a credential the driver kept from before the change.

use crate::common;

use common::*;
use edl_core::credential::{Audience, StatusList, TrustAnchor, TrustList, TrustListRejection};
use edl_core::present::Form;
use edl_core::verify::{Policy, Rejection, StatusCheck, verify_offline_with_status};
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// GETs `path` as a public client would: the bytes and the Cache-Control header.
async fn get(t: &TestServer, path: &str) -> (StatusCode, Vec<u8>, String) {
    let resp = t
        .http
        .get(format!("{}{}", t.url, path))
        .send()
        .await
        .expect("answered");
    let status = resp.status();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, resp.bytes().await.unwrap().to_vec(), cache)
}

/// An offline police scanner: the pinned root, and the lists it refreshed.
struct Scanner {
    anchor: TrustAnchor,
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            anchor: TrustAnchor::pinned(edl_authority_root().public()),
        }
    }

    /// Refreshes both lists, then checks `payload` offline.
    async fn check(&mut self, t: &TestServer, payload: &[u8]) -> Result<StatusCheck, Rejection> {
        let (s, signed, _) = get(t, paths::SIGNED_TRUST_LIST).await;
        assert_eq!(s, StatusCode::OK);
        let trust: TrustList = self.anchor.accept(&signed, t.now(), 5).unwrap().clone();
        let (s, status, _) = get(t, paths::STATUS_LIST).await;
        assert_eq!(s, StatusCode::OK);
        let list = StatusList::verify(&status, &trust).expect("signed under the pinned root");
        verify_offline_with_status(
            payload,
            &trust,
            Some(&list),
            t.now(),
            &Policy::new(Audience::Enforcement),
        )
        .map(|v| v.status)
    }
}

fn offline(w: &Wallet, now: u64) -> Vec<u8> {
    w.holder()
        .present(Form::Offline, Audience::Enforcement, now, 30)
        .unwrap()
        .payload
}

async fn set_status(t: &TestServer, driver: u64, letters: &str) {
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": letters}),
    )
    .await;
}

#[tokio::test]
async fn both_lists_are_public_signed_and_cacheable() {
    let t = TestServer::start().await;
    let (s, signed, cache) = get(&t, paths::SIGNED_TRUST_LIST).await;
    assert_eq!(s, StatusCode::OK);
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let mut anchor = TrustAnchor::pinned(edl_authority_root().public());
    let keys = anchor.accept(&signed, t.now(), 5).unwrap();
    assert_eq!(
        keys,
        &t.trust().await,
        "the same keys as the unsigned answer"
    );

    // The same hour, the same bytes (every replica and cache agree).
    t.clock.advance(60);
    let (_, again, _) = get(&t, paths::SIGNED_TRUST_LIST).await;
    assert_eq!(again, signed);

    // A verifier that pinned another root refuses the list.
    let mut other = TrustAnchor::pinned(edl_core::crypto::SecretKey::from_seed([7; 32]).public());
    assert_eq!(
        other.accept(&signed, t.now(), 5),
        Err(TrustListRejection::BadRootSignature)
    );

    let (s, status, cache) = get(&t, paths::STATUS_LIST).await;
    assert_eq!(s, StatusCode::OK);
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let list = StatusList::verify(&status, keys).unwrap();
    assert!(list.is_empty(), "no e-licence issued yet");
}

#[tokio::test]
async fn a_key_rotation_signs_a_newer_trust_list_at_once() {
    let t = TestServer::start().await;
    let mut anchor = TrustAnchor::pinned(edl_authority_root().public());
    let (_, first, _) = get(&t, paths::SIGNED_TRUST_LIST).await;
    anchor.accept(&first, t.now(), 5).unwrap();
    let before = anchor.sequence().unwrap();
    t.clock.advance(10);
    t.admin_ok(Method::POST, paths::ROTATE_KEY, json!({})).await;
    let (_, second, _) = get(&t, paths::SIGNED_TRUST_LIST).await;
    let keys = anchor.accept(&second, t.now(), 5).unwrap();
    assert_eq!(
        keys.keys().len(),
        2,
        "the retired key stays for what it signed"
    );
    assert!(anchor.sequence().unwrap() > before);
    // The list from before the rotation is now a rollback.
    assert!(matches!(
        anchor.accept(&first, t.now(), 5),
        Err(TrustListRejection::RolledBack { .. })
    ));
}

/// Two rotations in one second, or one in an hour's first second, gave the trust list the
/// sequence of the list before them with other keys: a scanner holding that list refused
/// the current one as rolled back, and with it every new credential and status list, until
/// the hour turned (thirtieth review, AK-F2). A rotation now takes a second of its own: one
/// that would share it is answered 429 `busy` with Retry-After: 1, and nothing changes.
#[tokio::test]
async fn a_rotation_never_leaves_a_trust_list_of_the_same_sequence_with_other_keys() {
    let t = TestServer::start().await;
    let mut scanner = TrustAnchor::pinned(edl_authority_root().public());
    let list = || async { get(&t, paths::SIGNED_TRUST_LIST).await.1 };
    t.clock.advance(10);
    t.admin_ok(Method::POST, paths::ROTATE_KEY, json!({})).await;
    let between = list().await;
    scanner.accept(&between, t.now(), 5).unwrap();
    let (s, v) = t.admin(Method::POST, paths::ROTATE_KEY, json!({})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("busy")),
        "a second rotation in the same second: {v}"
    );
    assert_eq!(list().await, between, "nothing changed");
    t.clock.advance(1);
    t.admin_ok(Method::POST, paths::ROTATE_KEY, json!({})).await;
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(keys.keys().len(), 3, "the scanner holds the current keys");

    // The first second of an hour: the hour's list is signed with that second's sequence.
    // The rotation waits for the next second and is made then (the clock moves while it
    // waits, as a real one does): an operator's job at :00 goes through a second late.
    t.clock.advance(3600 - t.now() % 3600);
    scanner.accept(&list().await, t.now(), 5).unwrap();
    let hour = t.now();
    let began = std::time::Instant::now();
    let ((s, v), ()) = tokio::join!(t.admin(Method::POST, paths::ROTATE_KEY, json!({})), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        t.clock.advance(1);
    });
    assert_eq!(s, StatusCode::OK, "made a second late: {v}");
    assert!(
        began.elapsed() >= std::time::Duration::from_secs(1),
        "after the wait"
    );
    let key3 = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == 3)
        .unwrap();
    assert_eq!(key3["not_after"], hour + 1, "key 3 retired then");
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(keys.keys().len(), 4);
    // A key event after this process's clock (another replica's, ahead, rotated): refused
    // as a clock to check, not as busy, and nothing changes (AL-F5, AM-F4).
    let current = list().await;
    t.clock.set(t.now() - 10);
    let (s, v) = t.admin(Method::POST, paths::ROTATE_KEY, json!({})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "behind the last key event: {v}"
    );
    t.clock.set(t.now() + 10);
    assert_eq!(list().await, current, "nothing changed");
}

/// A retired key leaves the trust list once what it signed can no longer be in use (the
/// credential lifetime after its retirement), but that moment is no key event: it left
/// mid-hour, the keys changed under the hour's sequence, and every scanner that had
/// refreshed earlier in that hour refused the current list as rolled back, and with it
/// new status lists, until the hour turned (thirty-first review, AL-F1). It now leaves at
/// the first hour boundary after, where the sequence changes anyway.
#[tokio::test]
async fn a_retired_key_leaves_the_trust_list_only_as_an_hour_turns() {
    let t = TestServer::start().await;
    let life = 72 * 3600;
    let list = || async { get(&t, paths::SIGNED_TRUST_LIST).await.1 };
    // Rotate so that key 1's time in the list ends in the middle of an hour.
    let retired_at = {
        let now = t.now() + 1;
        now + (5400 - (now + life) % 3600) % 3600
    };
    t.clock.advance(retired_at - t.now());
    t.admin_ok(Method::POST, paths::ROTATE_KEY, json!({})).await;
    let gone = retired_at + life + 1;
    assert_eq!(gone % 3600, 1801, "mid-hour");
    t.clock.advance(gone - 2 - t.now());
    let mut scanner = TrustAnchor::pinned(edl_authority_root().public());
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(keys.keys().len(), 2, "key 1 still listed");
    t.clock.advance(2);
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(keys.keys().len(), 2, "the same list until the hour turns");
    // The hour turns within the time the set in memory is kept (RECHECK_SECS): the list
    // signed at the hour's first second must already be the one signed after the set is
    // read again (thirty-second review, AM-F5: signing had to apply the rule itself).
    t.clock.advance(3600 - t.now() % 3600 - 1);
    scanner.accept(&list().await, t.now(), 5).unwrap();
    t.clock.advance(1);
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(keys.keys().len(), 1, "key 1 left with the hour");
    t.clock.advance(edl_authority::keys::RECHECK_SECS + 1);
    let keys = scanner.accept(&list().await, t.now(), 5).unwrap();
    assert_eq!(
        keys.keys().len(),
        1,
        "the same list once the set is read again"
    );
}

#[tokio::test]
async fn every_status_change_reaches_the_offline_scanner() {
    let t = TestServer::start().await;
    let mut scanner = Scanner::new();
    let (driver, wallet) = t.issued_wallet("110101199003071234").await;
    // The driver keeps this credential and never syncs again.
    let kept = wallet.holder();
    let kept_offline = |now| {
        kept.present(Form::Offline, Audience::Enforcement, now, 30)
            .unwrap()
            .payload
    };
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Ok(StatusCheck::InForce)
    );

    // Suspended (暂扣): the very next list refuses the kept credential.
    set_status(&t, driver, "D").await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Err(Rejection::ElicenceSuspended)
    );
    // The suspension ends: in force again.
    set_status(&t, driver, "A").await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Ok(StatusCheck::InForce)
    );
    // Revoked (吊销): never in force again.
    set_status(&t, driver, "F").await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Err(Rejection::ElicenceSuperseded)
    );
    set_status(&t, driver, "A").await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Ok(StatusCheck::InForce)
    );
    // Cancelled (注销): not in force either.
    set_status(&t, driver, "G").await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Err(Rejection::ElicenceSuperseded)
    );
    set_status(&t, driver, "A").await;

    // Renewal: a new e-licence replaces the kept one.
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::RENEW, driver),
        json!({"valid_until": "2034-03-07"}),
    )
    .await;
    assert_eq!(
        scanner.check(&t, &kept_offline(t.now())).await,
        Err(Rejection::ElicenceSuperseded)
    );
}

#[tokio::test]
async fn a_new_device_and_a_counter_issue_supersede_the_old_e_licence() {
    let t = TestServer::start().await;
    let mut scanner = Scanner::new();
    let number = "110101199003071235";
    let (driver, first) = t.issued_wallet(number).await;

    // Counter issuance: a new e-licence, the first one is superseded.
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::COUNTER_ISSUE, driver),
        json!({}),
    )
    .await;
    assert_eq!(
        scanner.check(&t, &offline(&first, t.now())).await,
        Err(Rejection::ElicenceSuperseded)
    );

    // A new phone: enrol and apply again; the old phone's credential is superseded.
    let mut second = t.enrol(driver, number).await;
    let _ = t.apply(&second).await;
    t.sync(&mut second).await;
    if second.credential.is_some() {
        assert_eq!(
            scanner.check(&t, &offline(&second, t.now())).await,
            Ok(StatusCheck::InForce)
        );
    }
    let (_, status, _) = get(&t, paths::STATUS_LIST).await;
    let trust = t.trust().await;
    let list = StatusList::verify(&status, &trust).unwrap();
    assert!(list.len() >= 2, "one index per e-licence issued");
}

#[tokio::test]
async fn a_new_phone_supersedes_the_old_phones_credential() {
    let t = TestServer::start().await;
    let mut scanner = Scanner::new();
    let number = "110101199003071236";
    let (driver, old_phone) = t.issued_wallet(number).await;
    assert_eq!(
        scanner.check(&t, &offline(&old_phone, t.now())).await,
        Ok(StatusCheck::InForce)
    );
    // The driver moves to a new phone: the old phone, kept offline, no longer verifies.
    let mut new_phone = t.enrol(driver, number).await;
    let _ = t.apply(&new_phone).await;
    t.sync(&mut new_phone).await;
    assert_eq!(
        scanner.check(&t, &offline(&old_phone, t.now())).await,
        Err(Rejection::ElicenceSuperseded)
    );
}

#[tokio::test]
async fn without_a_root_key_no_signed_list_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::clock::ManualClock::new(START);
    let mut config = config(dir.path().join("a.db"), &clock);
    config.root = None;
    // SAFETY-free: no env root is set in the test process.
    let server = edl_authority::server::serve(config).await.unwrap();
    let resp = reqwest::get(format!("{}{}", server.url(), paths::SIGNED_TRUST_LIST))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    server.shutdown().await.unwrap();
}

/// The status list's entries: one per index ever drawn.
async fn entries(t: &TestServer) -> u32 {
    let (_, status, _) = get(t, paths::STATUS_LIST).await;
    StatusList::verify(&status, &t.trust().await).unwrap().len()
}

/// An index is drawn only for an e-licence actually issued (the photo review's PH-3): every
/// application and every photo approval drew one before its rule ran, so a wallet calling
/// `apply` in a loop (already issued, or refused) grew the list every verifier fetches and
/// would exhaust the 2^24 indices, after which no e-licence could be issued anywhere.
#[tokio::test]
async fn applying_again_or_approving_a_photo_change_draws_no_status_index() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(90)).await;
    let before = entries(&t).await;
    // Applying again from the checked device: issued already, nothing changes.
    for _ in 0..5 {
        let (s, v) = t.apply(&wallet).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // An unchecked device's application refused for want of the check.
    let driver = t.create_driver(&number(91), true).await;
    let unchecked = t.enrol(driver, &number(91)).await;
    let (s, _, _) = t
        .signed(&unchecked, Method::POST, paths::APPLY, json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A photo change approved: the same e-licence re-signed, not a new one.
    let (s, v, _) = t.upload(&wallet, "change-1", &jpeg(11)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, v["photo_id"].as_u64().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(entries(&t).await, before, "indices drawn for nothing");
    // A new e-licence still draws its own.
    let _ = t.issued_wallet(&number(92)).await;
    assert_eq!(entries(&t).await, before + 1);
}
