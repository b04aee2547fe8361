//! A signing whose issuer keys were read just before another process rotated, while a third
//! request re-signed the same driver's credential under the new key (fresh-eyes review of
//! D128, left open in D134; D142). The write used to sign with the keys it had read, so the
//! stored credential went back to the retired key until the wallet's next sync.
//!
//! The race is made certain, not hoped for: this process's store holds the driver update
//! after the keys were read ([`pausing::Pausing::hold_next_update`]) while a second process
//! on the same database rotates and re-signs.

use crate::common;

use std::sync::Arc;

use common::pausing;
use common::*;
use edl_core::credential::{Credential, TrustList};
use edl_core::crypto::SecretKey;
use edl_core::wire::{SyncResponse, TrustListResponse, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The trust list `t` serves.
async fn trust_list(t: &TestServer) -> TrustList {
    let (s, v, _) = t.raw(Method::GET, paths::TRUST_LIST, &[], vec![]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r: TrustListResponse = serde_json::from_value(v).unwrap();
    TrustList::decode(r.trust_list.as_bytes()).unwrap()
}

/// The key id of `credential`, which must verify against `trust`.
fn signer(credential: &[u8], trust: &TrustList) -> u16 {
    let credential = Credential::decode(credential).unwrap();
    let (e, _) = credential
        .verify(trust)
        .expect("verifies against the current trust list");
    e.header.kid.0
}

/// The key id that signed the driver's stored credential, as the registry sees it.
async fn stored_kid(t: &TestServer, driver: u64) -> u64 {
    let d = t.driver_detail(driver).await;
    d["elicence"]["kid"].as_u64().expect("an e-licence")
}

/// The same wallet in a second handle (same device key, account and cursor): two requests
/// of one phone made at once.
fn twin(w: &Wallet) -> Wallet {
    Wallet {
        key: SecretKey::from_seed(*w.key.to_seed()),
        account: w.account,
        number: w.number.clone(),
        cursor: w.cursor,
        credential: w.credential.clone(),
        seed: w.seed,
    }
}

/// Past half the credential's life: the next sync re-signs it for freshness.
const PAST_HALF_LIFE: u64 = 72 * 3600 / 2 + 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_signing_whose_keys_predate_a_rotation_elsewhere_keeps_the_newer_signature() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (other, u) = t.second_process().await;
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    assert_eq!(stored_kid(&t, driver).await, 1);
    t.clock.advance(PAST_HALF_LIFE);

    // P1: this process's sync finds the credential due, reads the keys (key 1 is
    // current) and is held before its write.
    let mut early = twin(&wallet);
    store.hold_next_update();
    let held = {
        let t = t.clone();
        tokio::spawn(async move {
            let r: SyncResponse = t.sync(&mut early).await;
            (r, early)
        })
    };
    store.paused().await;

    // P2 rotates a moment later, and a sync through it (R) re-signs under key 2.
    t.clock.advance(1);
    let rotated = u
        .admin_ok(Method::POST, paths::ROTATE_KEY, Value::Null)
        .await;
    assert_eq!(rotated["signer_kid"], 2);
    let trust = trust_list(&u).await;
    let mut late = twin(&wallet);
    u.sync(&mut late).await;
    let re_signed = late.credential.clone().unwrap();
    assert_eq!(signer(&re_signed, &trust), 2);

    // P1's write runs now, on the credential R stored.
    store.release();
    let (_, early) = held.await.unwrap();
    assert_eq!(
        stored_kid(&t, driver).await,
        2,
        "the stored credential went back to the retired key"
    );
    let answered = early.credential.clone().unwrap();
    assert_eq!(signer(&answered, &trust), 2, "P1's sync answered");
    assert_eq!(answered, re_signed, "already fresh: not signed again");
    other.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_whose_keys_predate_a_rotation_elsewhere_is_refused_for_a_retry() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (other, u) = t.second_process().await;
    let (driver, wallet) = t.issued_wallet(&number(2)).await;
    t.clock.advance(PAST_HALF_LIFE);

    // P1: a status change reads the keys (key 1) and is held before its write.
    store.hold_next_update();
    let suspend = json!({"status": "D"});
    let held = {
        let t = t.clone();
        let body = suspend.clone();
        let path = paths::with_id(paths::STATUS, driver);
        tokio::spawn(async move { t.admin(Method::PUT, &path, body).await })
    };
    store.paused().await;

    // P2 rotates, and the wallet's sync through it re-signs under key 2.
    t.clock.advance(1);
    u.admin_ok(Method::POST, paths::ROTATE_KEY, Value::Null)
        .await;
    let trust = trust_list(&u).await;
    let mut late = twin(&wallet);
    u.sync(&mut late).await;
    assert_eq!(signer(late.credential.as_ref().unwrap(), &trust), 2);

    // P1's write would sign the new status under key 1 over key 2's credential: refused,
    // with a wait, and nothing of it kept.
    store.release();
    let (s, v) = held.await.unwrap();
    assert_eq!(
        (s, v["error"].as_str(), v["retry_after"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some("busy"), Some(1)),
        "{v}"
    );
    let d = t.driver_detail(driver).await;
    assert_eq!(d["elicence"]["kid"], 2);
    assert_ne!(d["licence"]["main"]["status"], "D", "{d}");

    // The retry reads the keys again and signs the change under key 2.
    t.admin_ok(Method::PUT, &paths::with_id(paths::STATUS, driver), suspend)
        .await;
    assert_eq!(stored_kid(&t, driver).await, 2);
    let mut after = twin(&late);
    t.sync(&mut after).await;
    assert_eq!(signer(after.credential.as_ref().unwrap(), &trust), 2);
    other.shutdown().await.expect("clean shutdown");
}
