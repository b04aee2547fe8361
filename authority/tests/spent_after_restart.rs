//! A code spent just before the authority stops stays spent after it starts again (D103,
//! found by the SIGKILL test), and a code spent through one authority process is spent for
//! every other process on the same database (D106): the database holds the spent codes,
//! the memory of D68 is only the fast path.

mod common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;

/// The `verified` entries in the wallet's log, read from the start.
async fn verified(t: &TestServer, wallet: &mut Wallet) -> usize {
    wallet.cursor = 0;
    t.sync(wallet)
        .await
        .verifications
        .iter()
        .filter(|e| e.outcome == CheckOutcome::Verified)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_spent_before_a_restart_is_refused_after_it() {
    let mut t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let rental = t.verifier("租车行", "rental").await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let qr = wallet.online_qr(Audience::Business, t.now());
    let (s, v, _) = t.verify(&rental, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    t.restart().await;
    t.clock.advance(1);
    let (s, v, _) = t.verify(&insurer, qr.clone()).await;
    let n = verified(&t, &mut wallet).await;
    assert_eq!(
        (s, v["error"].as_str(), n),
        (StatusCode::CONFLICT, Some("already_used"), 1),
        "{v}"
    );
    // Refused once by the database, the code stays refused here too, even to the
    // verifier that was refused (it never spent it: no repeat for it).
    let (s, v, _) = t.verify(&insurer, qr).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(verified(&t, &mut wallet).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_authority_processes_on_one_database_spend_a_code_once() {
    let t = TestServer::start().await;
    let other = edl_authority::serve(t.config())
        .await
        .expect("a second authority on the same database");
    let u = TestServer::clients_of(&other.url(), t.clock.clone());
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    let rental = t.verifier("租车行", "rental").await;
    let police = t.verifier("交警", "enforcement").await;
    // Each form of code, shown to two verifiers at once, one on each process.
    for (n, code) in [
        wallet.online_qr(Audience::Business, t.now()),
        wallet.manual(Audience::Business, t.now()),
        wallet.barcode(Audience::Business, t.now()),
    ]
    .into_iter()
    .enumerate()
    {
        let ((a, va, _), (b, vb, _)) = tokio::join!(
            t.verify(&rental, code.clone()),
            u.verify(&police, code.clone())
        );
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{va} {vb}"
        );
        let refused = if a == StatusCode::CONFLICT { &va } else { &vb };
        assert_eq!(refused["error"], "already_used");
        assert_eq!(verified(&t, &mut wallet).await, n + 1);
    }
    other.shutdown().await.expect("clean shutdown");
}
