//! A sync racing the wallet's other writes (third hostile review, F2-enrol): a new
//! enrolment, a photo upload. What a sync fetched is stored only if the store is still as
//! the sync found it. Real server on loopback, behind a proxy that holds a sync's answer.

use crate::common;

use std::sync::Arc;

use common::holding_proxy::HoldingProxy;
use common::*;
use edl_core::credential::Audience;
use edl_core::present::Form;
use edl_core::verify::{Policy, verify_offline};
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{PhotoSource, TestIdentityProvider, Wallet, WalletError};
use edl_core::wire::ApplicationPhase;

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([43; 32]))
}

fn identity() -> Arc<TestIdentityProvider> {
    Arc::new(TestIdentityProvider::new(IDENTITY_SECRET))
}

/// The reviewer's reproduction: `apply()` issues the e-licence and runs its first sync
/// from cursor 0; `enrol()` (a new activation code) lands while that sync's answer is on
/// its way. The sync checked only the cursor (0 again after the new enrolment), stored the
/// old device's e-licence and TOTP seed under the new device key, and every presentation
/// failed (`KeyMismatch`, CorruptStore to the app).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_enrolment_during_apply_s_first_sync_leaves_the_wallet_able_to_present() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let n = number(7301);
    let driver = t.create_driver(&n, true).await;
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    let code = t.activation_code(driver).await;
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();

    let mut apply = None;
    proxy
        .hold_next_sync(async {
            let w = wallet.clone();
            apply = Some(tokio::spawn(async move { w.apply(identity()).await }));
        })
        .await;
    proxy.until_held().await;
    let code = t.activation_code(driver).await;
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();
    proxy.release.notify_one();
    let applied = apply.unwrap().await.unwrap();
    assert!(applied.is_ok(), "{applied:?}");

    // The old device's e-licence is not the new device's: nothing to present yet, and
    // the store is not corrupt.
    let now = t.now();
    let presented = wallet.present_at(Form::Offline, Audience::Business, now, 30);
    assert!(
        matches!(presented, Err(WalletError::NoElicence)),
        "{presented:?}"
    );
    // The new device applies in turn, and presents.
    let view = wallet.apply(identity()).await.unwrap();
    assert_eq!(view.phase, ApplicationPhase::Issued);
    let p = wallet
        .present_at(Form::Offline, Audience::Business, now, 30)
        .unwrap();
    verify_offline(
        &p.payload,
        &t.trust().await,
        now,
        &Policy::new(Audience::Business),
    )
    .unwrap();
}

/// The reviewer's code-reading suspicion, confirmed: a sync fetched the application
/// (awaiting a photo) before a photo upload and stored it after the upload had stored its
/// answer (under review). The cursor had not moved, so the sync took the application back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_fetched_before_a_photo_upload_does_not_take_the_application_back() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let n = number(7302);
    let driver = t.create_driver(&n, false).await;
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    let code = t.activation_code(driver).await;
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();
    let view = wallet.apply(identity()).await.unwrap();
    assert_eq!(view.phase, ApplicationPhase::AwaitingPhoto);

    let mut sync = None;
    proxy
        .hold_next_sync(async {
            let w = wallet.clone();
            sync = Some(tokio::spawn(async move { w.sync().await }));
        })
        .await;
    proxy.until_held().await;
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/photos/clean.jpg"
    ))
    .unwrap();
    let accepted = wallet
        .submit_photo(photo, PhotoSource::Camera, None)
        .await
        .unwrap();
    assert_eq!(accepted.application.phase, ApplicationPhase::UnderReview);
    proxy.release.notify_one();
    sync.unwrap().await.unwrap().unwrap();
    assert_eq!(
        wallet.application().unwrap().map(|a| a.phase),
        Some(ApplicationPhase::UnderReview)
    );
    assert!(wallet.photo_submission().unwrap().is_some());
}
