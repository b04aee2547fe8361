//! The core's own wallet (encrypted store, signed client, sync) against the real server:
//! client and server share `edl_core::wire`, and this shows they agree end to end.

use crate::common;

use std::sync::Arc;

use common::*;
use edl_core::credential::Audience;
use edl_core::present::Form;
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{PhotoSource, TestIdentityProvider, Wallet};
use edl_core::wire::{ApplicationPhase, Base64, CheckOutcome, MessageKind, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Driver `n` (with a stored photo or not) and a core wallet on a fresh directory under
/// the key store of `seed`, not yet enrolled; with the driver's id and activation code.
async fn fresh_wallet(
    t: &TestServer,
    n: &str,
    photo_on_file: bool,
    seed: u8,
) -> (tempfile::TempDir, Wallet, u64, String) {
    let driver = t.create_driver(n, photo_on_file).await;
    let code = t.activation_code(driver).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([seed; 32]));
    let wallet = Wallet::open(dir.path(), &keys).unwrap();
    (dir, wallet, driver, code)
}

/// A photo of the core's test set (`core/tests/photos`).
fn photo(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../core/tests/photos/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Enrols `wallet` as driver `n` with `code`, then applies, as the app does.
async fn enrol_and_apply(
    t: &TestServer,
    wallet: &Wallet,
    n: &str,
    code: &str,
) -> edl_core::wire::ApplicationView {
    wallet.enrol(&t.url, n, code).await.unwrap();
    wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap()
}

/// A driver who moves phones while their photo is in review (the review of D215, Q-1): the
/// new phone's check withdraws the old phone's photo, and the driver sends the same photo
/// from the new one. Its idempotency key was the photo's digest alone, so the authority
/// took it for a retry of the withdrawn one: "submitted", and nothing in review, ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_photo_sent_from_a_new_phone_after_a_move_mid_review_is_reviewed() {
    let t = TestServer::start().await;
    let n = number(5);
    let (_dir, old_phone, driver, code) = fresh_wallet(&t, &n, false, 5).await;
    assert_eq!(
        enrol_and_apply(&t, &old_phone, &n, &code).await.phase,
        ApplicationPhase::AwaitingPhoto
    );
    let clean = photo("clean.jpg");
    let first = old_phone
        .submit_photo(clean.clone(), PhotoSource::Album, None)
        .await
        .unwrap();

    let code = t.activation_code(driver).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([6; 32]));
    let new_phone = Wallet::open(dir.path(), &keys).unwrap();
    assert_eq!(
        enrol_and_apply(&t, &new_phone, &n, &code).await.phase,
        ApplicationPhase::AwaitingPhoto,
        "the old phone's photo went with it"
    );
    let second = new_phone
        .submit_photo(clean, PhotoSource::Album, None)
        .await
        .unwrap();
    assert_ne!(
        second.photo_id, first.photo_id,
        "taken for the withdrawn one"
    );
    assert_eq!(second.application.phase, ApplicationPhase::UnderReview);
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"][0]["photo_id"], second.photo_id, "{queue}");
}

/// The same photo sent again after its rejection (the photo review's AO-PH4): a driver
/// contesting a mistaken rejection sends the same file; it was answered as a retry of the
/// rejected submission ("submitted", the old deadline) and never reviewed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_photo_sent_again_after_its_rejection_goes_to_review_again() {
    let t = TestServer::start().await;
    let n = number(6);
    let (_dir, wallet, _, code) = fresh_wallet(&t, &n, false, 7).await;
    enrol_and_apply(&t, &wallet, &n, &code).await;
    let clean = photo("clean.jpg");
    let first = wallet
        .submit_photo(clean.clone(), PhotoSource::Album, None)
        .await
        .unwrap();
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::REJECT, first.photo_id),
        serde_json::json!({"reason": "光线不足"}),
    )
    .await;
    let again = wallet
        .submit_photo(clean, PhotoSource::Album, None)
        .await
        .unwrap();
    assert_ne!(again.photo_id, first.photo_id, "taken for the rejected one");
    assert_eq!(again.application.phase, ApplicationPhase::UnderReview);
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"][0]["photo_id"], again.photo_id, "{queue}");
}

/// A photo change back to an earlier approved photo (the review of D219, T-2): replaced on
/// file, the earlier photo kept its upload key, so sending it again from the same phone was
/// answered as its old submission, months old, and nothing went to review.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_changed_back_to_an_earlier_approved_one_is_reviewed() {
    let t = TestServer::start().await;
    let n = number(7);
    let (_dir, wallet, _, code) = fresh_wallet(&t, &n, false, 8).await;
    enrol_and_apply(&t, &wallet, &n, &code).await;
    let approve = |id: u64| {
        let t = &t;
        async move {
            t.admin_ok(
                Method::POST,
                &paths::with_id(paths::APPROVE, id),
                Value::Null,
            )
            .await;
        }
    };
    let a = wallet
        .submit_photo(photo("clean.jpg"), PhotoSource::Album, None)
        .await
        .unwrap();
    approve(a.photo_id).await;
    wallet.sync().await.unwrap();
    let b = wallet
        .submit_photo(photo("clean_mirrored.jpg"), PhotoSource::Album, None)
        .await
        .unwrap();
    approve(b.photo_id).await;
    wallet.sync().await.unwrap();
    let back = wallet
        .submit_photo(photo("clean.jpg"), PhotoSource::Album, None)
        .await
        .unwrap();
    assert_ne!(
        back.photo_id, a.photo_id,
        "taken for the photo replaced on file"
    );
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"][0]["photo_id"], back.photo_id, "{queue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_wallet_enrols_applies_syncs_and_presents_against_the_server() {
    let t = TestServer::start().await;
    let n = number(1);
    let (_dir, wallet, driver, code) = fresh_wallet(&t, &n, true, 9).await;
    let view = enrol_and_apply(&t, &wallet, &n, &code).await;
    assert_eq!(view.phase, ApplicationPhase::Issued);
    // `apply` synced: the wallet holds the licence, photo, e-licence and the message.
    assert_eq!(wallet.licence().unwrap().unwrap().main.licence_number, n);
    assert_eq!(wallet.photo().unwrap().unwrap(), jpeg(1));
    assert!(
        wallet
            .messages()
            .unwrap()
            .iter()
            .any(|m| m.kind == MessageKind::ApplicationSucceeded)
    );

    // The wallet's presentation verifies at the authority.
    let police = t.verifier("police", "enforcement").await;
    let qr = wallet
        .present_at(Form::Online, Audience::Enforcement, t.now(), 30)
        .unwrap();
    let (s, v, _) = t
        .verify(
            &police,
            json!({"method": "qr", "payload": Base64::encode(&qr.payload)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A change at the registry and the check reach the wallet with its next sync.
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "D"}),
    )
    .await;
    let report = wallet.sync().await.unwrap();
    assert!(report.licence_changed && report.elicence_changed);
    assert_eq!(
        wallet.licence().unwrap().unwrap().main.status.letters(),
        "D"
    );
    let log = wallet.verification_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, CheckOutcome::Verified);
    assert_eq!(log[0].verifier, "police");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_wallet_submits_a_photo_that_a_reviewer_approves_into_an_elicence() {
    let t = TestServer::start().await;
    let n = number(2);
    let (_dir, wallet, _, code) = fresh_wallet(&t, &n, false, 3).await;
    let view = enrol_and_apply(&t, &wallet, &n, &code).await;
    assert_eq!(view.phase, ApplicationPhase::AwaitingPhoto);

    let clean = photo("clean.jpg");
    let accepted = wallet
        .submit_photo(clean.clone(), PhotoSource::Camera, None)
        .await
        .unwrap();
    assert_eq!(accepted.application.phase, ApplicationPhase::UnderReview);
    // A retry of the same photo is the same submission.
    let again = wallet
        .submit_photo(clean, PhotoSource::Camera, None)
        .await
        .unwrap();
    assert_eq!(again.photo_id, accepted.photo_id);

    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"].as_array().unwrap().len(), 1);
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, accepted.photo_id),
        Value::Null,
    )
    .await;
    let report = wallet.sync().await.unwrap();
    assert!(report.elicence_changed);
    assert_eq!(
        wallet.application().unwrap().unwrap().phase,
        ApplicationPhase::Issued
    );
    let photo = wallet.photo().unwrap().unwrap();
    assert_eq!(
        wallet.licence().unwrap().unwrap().main.photo_digest,
        edl_core::crypto::sha256(&photo)
    );
    let police = t.verifier("police", "enforcement").await;
    // The wallet's clock is the phone's plus the offset it learned; bring the test
    // server's fixed clock to it so the code is of the server's current window.
    t.clock.set(wallet.now().unwrap());
    let code = wallet
        .dynamic_code(Audience::Enforcement, None)
        .unwrap()
        .manual_code;
    let (s, v, _) = t
        .verify(
            &police,
            json!({"method": "manual", "licence_number": n, "code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Keeps every event with the wallet-clock second it arrived in.
#[derive(Default)]
struct Heard(
    std::sync::Mutex<Vec<(u64, edl_core::wallet::WalletEvent)>>,
    Option<Wallet>,
);

impl edl_core::wallet::WalletObserver for Heard {
    fn on_event(&self, event: edl_core::wallet::WalletEvent) {
        let now = self.1.as_ref().map_or(0, |w| w.now().unwrap());
        self.0.lock().unwrap().push((now, event));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_hears_the_application_and_each_new_qr_window_as_it_begins() {
    use edl_core::wallet::WalletEvent;
    let t = TestServer::start().await;
    let n = number(2);
    let (_dir, wallet, _, code) = fresh_wallet(&t, &n, true, 8).await;
    let heard = Arc::new(Heard(Default::default(), Some(wallet.clone())));
    wallet.set_observer(Some(heard.clone()));
    enrol_and_apply(&t, &wallet, &n, &code).await;
    {
        let events = heard.0.lock().unwrap();
        let issued = |e: &WalletEvent| matches!(e, WalletEvent::ApplicationChanged(a) if a.phase == ApplicationPhase::Issued);
        assert!(events.iter().any(|(_, e)| issued(e)));
        assert!(
            events
                .iter()
                .any(|(_, e)| matches!(e, WalletEvent::ElicenceChanged))
        );
    }

    // The shortest period, so the test sees a boundary within ten seconds.
    let ticker = wallet
        .start_rotation(Form::Online, Audience::Business, Some(10))
        .unwrap();
    let ticks = || -> Vec<(u64, edl_core::present::Presentation)> {
        heard
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(at, e)| match e {
                WalletEvent::Rotation(p) => Some((*at, p.clone())),
                _ => None,
            })
            .collect()
    };
    for _ in 0..130 {
        if ticks().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ticker.stop();
    let ticks = ticks();
    assert!(ticks.len() >= 2, "{} ticks", ticks.len());
    let ((_, first), (at, second)) = (&ticks[0], &ticks[1]);
    // The next window's code, handed over as that window began (within the second, with
    // a second of slack for a loaded test machine).
    assert_eq!(second.window.starts_at(), first.window.ends_at());
    assert!(
        (second.window.starts_at()..=second.window.starts_at() + 1).contains(at),
        "tick at {at}, window from {}",
        second.window.starts_at()
    );
    assert_ne!(second.payload, first.payload);
}

/// A ticker does not keep its wallet open: once the app has let go of the wallet, the
/// ticker's next window finds none and the ticks end, where it held the wallet (its store
/// and data key) alive and kept handing the observer a closed wallet's codes, after its
/// directory was deleted too (thirtieth review, AK-F56).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticker_ends_when_its_wallet_is_let_go() {
    use edl_core::wallet::WalletEvent;
    let t = TestServer::start().await;
    let n = number(3);
    let (_dir, wallet, _, code) = fresh_wallet(&t, &n, true, 7).await;
    let heard = Arc::new(Heard(Default::default(), None));
    wallet.set_observer(Some(heard.clone()));
    enrol_and_apply(&t, &wallet, &n, &code).await;
    let ticks = || {
        heard
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| matches!(e, WalletEvent::Rotation(_)))
            .count()
    };
    // The shortest period: a boundary within ten seconds. The wallet is let go just after
    // one, so no tick is on its way then, and the next boundary is ten seconds off.
    let ticker = wallet
        .start_rotation(Form::Online, Audience::Business, Some(10))
        .unwrap();
    for _ in 0..130 {
        if ticks() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let before = ticks();
    assert_eq!(before, 2, "the first code, then the next window's");
    drop(wallet);
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    assert_eq!(ticks(), before, "no code of a wallet let go");
    drop(ticker);
}
