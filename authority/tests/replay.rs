//! An online code verifies once (issue 13, finding 3): the verifier that scanned it may
//! repeat its scan for a few seconds and gets the answer again without a second log entry;
//! any other verifier gets `already_used`, and the driver's log is not spammed.

mod common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_code_is_spent_by_its_first_verification() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    t.sync(&mut wallet).await;
    let rental = t.verifier("租车行", "rental").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    let qr = wallet.online_qr(Audience::Business, t.now());
    let (s, first, _) = t.verify(&rental, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    // The same verifier's repeated scan (a double tap, a retry after a lost answer).
    t.clock.advance(2);
    let (s, again, _) = t.verify(&rental, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["view"], &again["in_force"]),
        (&first["view"], &first["in_force"])
    );
    // Anyone else: the code is spent, whatever they try and however often.
    for _ in 0..40 {
        let (s, v, _) = t.verify(&insurer, qr.clone()).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"], "already_used");
    }
    let log = t.sync(&mut wallet).await.verifications;
    let verified = log
        .iter()
        .filter(|e| e.outcome == CheckOutcome::Verified)
        .count();
    assert_eq!(verified, 1, "{log:?}");
    assert!(
        log.len() <= 2,
        "the driver's log was spammed: {} entries",
        log.len()
    );
}

/// The barcode carries the online QR's own code (the same e-licence, window and digits),
/// so it is the same code, not another one (second hostile review, R1): once the QR is
/// spent, its barcode is spent for everyone but the spender's repeat, and the reverse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_barcode_of_a_spent_qr_is_spent_too() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    let police = t.verifier("交警", "enforcement").await;
    let rental = t.verifier("租车行", "rental").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    // The QR spent, then its barcode shown to another verifier.
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t
        .verify(&rental, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    // The spender scanning the barcode too is its repeat: answered, not logged again.
    let (s, v, _) = t
        .verify(&police, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The other way round, in the next window: the barcode spent, then its QR.
    t.clock.advance(30); // the test wallet's period
    let (s, v, _) = t
        .verify(&rental, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t
        .verify(&insurer, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );

    wallet.cursor = 0;
    let log = t.sync(&mut wallet).await.verifications;
    let verified = log
        .iter()
        .filter(|e| e.outcome == CheckOutcome::Verified)
        .count();
    assert_eq!(verified, 2, "{log:?}");
}
