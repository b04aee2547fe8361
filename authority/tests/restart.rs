//! Restarting the server on the same database loses nothing.

use crate::common;

use common::*;
use edl_core::credential::{Audience, Credential};
use edl_core::wire::{SyncResponse, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn full_sync(t: &TestServer, wallet: &mut Wallet) -> SyncResponse {
    wallet.cursor = 0;
    let mut r = t.sync(wallet).await;
    r.server_time = 0;
    r
}

#[tokio::test]
async fn restarting_on_the_same_database_loses_nothing() {
    let mut t = TestServer::start().await;
    let (driver, mut wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("police", "enforcement").await;
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2026-11-01", "place": "A", "act": "超速", "points": 3, "fine_yuan": 200}),
    )
    .await;
    let (s, _, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    // A photo change waiting for review, and a second driver mid-application.
    let (s, _, _) = t.upload(&wallet, "change", &jpeg(4)).await;
    assert_eq!(s, StatusCode::OK);
    let other_number = number(2);
    let other = t.create_driver(&other_number, false).await;
    let other_wallet = t.enrol(other, &other_number).await;
    t.apply_ok(&other_wallet).await;

    let detail = t.driver_detail(driver).await;
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    let mut trust = t.trust().await;
    let sync_before = full_sync(&t, &mut wallet).await;
    let credential = wallet.credential.clone();

    t.restart().await;

    assert_eq!(t.driver_detail(driver).await, detail);
    assert_eq!(
        t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await,
        queue
    );
    let trust_after = t.trust().await;
    assert_eq!(trust_after, trust);
    let sync_after = full_sync(&t, &mut wallet).await;
    assert_eq!(sync_after, sync_before);
    assert_eq!(wallet.credential, credential);
    assert_eq!(sync_after.verifications.len(), 1);

    // Keys, API keys and device keys still work.
    trust = trust_after;
    Credential::decode(wallet.credential.as_ref().unwrap())
        .unwrap()
        .verify(&trust)
        .unwrap();
    // The next window's code: the one shown before the restart stays spent (D106).
    t.clock.advance(30);
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t.upload(&other_wallet, "first", &jpeg(8)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
