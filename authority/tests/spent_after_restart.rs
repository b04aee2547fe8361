//! A code spent just before the authority stops stays spent after it starts again (D103,
//! found by the SIGKILL test), and a code spent through one authority process is spent for
//! every other process on the same database (D106): the database holds the spent codes,
//! the memory of D68 is only the fast path. The spender's own retry within D68's ten
//! seconds is answered again wherever it lands, with no second entry (D108): a verifier
//! whose answer was lost in a crash finishes its check.

use crate::common;

use std::sync::Arc;

use common::pausing;
use common::*;
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;

/// The `verified` entries in the wallet's log, read from the start.
async fn verified(t: &TestServer, wallet: &mut Wallet) -> usize {
    t.verified_by(wallet).await.len()
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
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    let rental = t.verifier("租车行", "rental").await;
    let police = t.verifier("交警", "enforcement").await;
    // Each form of code, shown to two verifiers at once, one on each process; each in a
    // window of its own (the barcode of the QR's window is the QR's own code, D120).
    for (n, form) in [Wallet::online_qr, Wallet::manual, Wallet::barcode]
        .into_iter()
        .enumerate()
    {
        t.clock.advance(30);
        let code = form(&wallet, Audience::Business, t.now());
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

/// The photo named by a verify answer, fetched by `verifier` with its grant: the status.
async fn photo(t: &TestServer, verifier: &Verifier, answer: &serde_json::Value) -> StatusCode {
    t.verifier_photo(verifier, answer, &[]).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spender_s_retry_after_a_restart_is_answered_again_without_a_second_entry() {
    let mut t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(3)).await;
    let police = t.verifier("交警", "enforcement").await;
    let rental = t.verifier("租车行", "rental").await;
    let codes = [
        wallet.online_qr(Audience::Enforcement, t.now()),
        wallet.manual(Audience::Enforcement, t.now()),
        wallet.barcode(Audience::Enforcement, t.now()),
    ];
    let mut first = Vec::new();
    for code in &codes {
        let (s, v, _) = t.verify(&police, code.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        first.push(v);
    }

    // The answers were lost in a crash: the police send the same codes again to the
    // restarted authority, within the repeat window.
    t.restart().await;
    t.clock.advance(4);
    for (code, before) in codes.iter().zip(&first) {
        let (s, v, _) = t.verify(&police, code.clone()).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "the spender's retry after a restart: {v}"
        );
        assert_eq!(
            (&v["elicence_id"], &v["view"], &v["photo_url"]),
            (
                &before["elicence_id"],
                &before["view"],
                &before["photo_url"]
            )
        );
        // The photo grant follows the repeat: the restarted process granted it afresh.
        assert_eq!(photo(&t, &police, &v).await, StatusCode::OK);
        // And again, now from this process's memory.
        let (s, v, _) = t.verify(&police, code.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // One entry per code: the barcode is the QR's own code (D120), so two.
    assert_eq!(verified(&t, &mut wallet).await, 2, "one entry per code");
    // Nobody else may use them.
    let (s, v, _) = t.verify(&rental, codes[0].clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used"))
    );

    // Past the repeat window, the spender is refused too, after another restart as well:
    // a QR of a long period is still good by then (D183: the window outlasts the default
    // period's codes).
    // In a 120 s window that starts after every code above was spent (a code is spent under
    // its window's start).
    let now = t.now();
    t.clock.set(now - now % 120 + 120);
    let long = wallet.online_qr_of_period(Audience::Enforcement, t.now(), 120);
    let (s, v, _) = t.verify(&police, long.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.restart().await;
    t.clock.advance(edl_authority::guard::REPEAT_SECS + 1);
    let (s, v, _) = t.verify(&police, long).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used"))
    );
    assert_eq!(verified(&t, &mut wallet).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spender_s_retry_on_another_process_is_answered_again_without_a_second_entry() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(4)).await;
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    let (s, v, _) = t.verify(&police, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The retry lands on the other process (a load balancer's choice).
    t.clock.advance(2);
    let (s, v, _) = u.verify(&police, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "the spender's retry elsewhere: {v}");
    assert_eq!(photo(&u, &police, &v).await, StatusCode::OK);
    let (s, v, _) = u.verify(&insurer, code).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used"))
    );
    assert_eq!(verified(&t, &mut wallet).await, 1);
    other.shutdown().await.expect("clean shutdown");
}

/// The spender's retry on a process that has just seen another verifier's claim on the
/// code refused by the database (third hostile review, A-F2): that process remembered the
/// code as spent by nobody, and refused the spender's own retry from memory (409), against
/// D108's ten seconds. It now remembers who spent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spender_s_retry_is_answered_on_a_process_that_refused_another_verifier() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(7)).await;
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    let (s, v, _) = u.verify(&police, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Another verifier tries the code on this process: the database refuses it.
    let (s, v, _) = t.verify(&insurer, code.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used"))
    );
    // The spender's retry lands here within its repeat window.
    t.clock.advance(2);
    let (s, v, _) = t.verify(&police, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "the spender's retry: {v}");
    // And the other verifier is still refused, here from memory.
    let (s, _, _) = t.verify(&insurer, code).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(verified(&t, &mut wallet).await, 1);
    other.shutdown().await.expect("clean shutdown");
}

/// Sends `qr` from `verifier` with its claim held before the database (`common::pausing`);
/// returns once it is held, with the answer to come.
async fn send_with_its_claim_held(
    t: &Arc<TestServer>,
    store: &pausing::Pausing,
    verifier: &Arc<Verifier>,
    qr: &serde_json::Value,
) -> tokio::task::JoinHandle<(StatusCode, serde_json::Value)> {
    store.hold_next_claim();
    let first = {
        let (t, verifier, qr) = (t.clone(), verifier.clone(), qr.clone());
        tokio::spawn(async move {
            let (s, v, _) = t.verify(&verifier, qr).await;
            (s, v)
        })
    };
    store.paused().await;
    first
}

/// A verifier sending one code again while its first claim is still on its way to the
/// database gets the database's word as well, never an answer from memory alone (second
/// hostile review, R2): a code spent through another process was answered 200, with no
/// entry, to every copy sent at once after the first. The first claim is held (the store
/// is wrapped, `common::pausing`), so the race is certain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_sent_while_the_first_claim_is_pending_waits_for_the_database() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(5)).await;
    let police = t.verifier("交警", "enforcement").await;
    let rental = Arc::new(t.verifier("租车行", "rental").await);
    let qr = wallet.online_qr(Audience::Business, t.now());
    // Spent through the other process.
    let (s, v, _) = u.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The rental firm sends it here twice; the first claim is held before the database.
    let first = send_with_its_claim_held(&t, &store, &rental, &qr).await;
    let (s, v, _) = t.verify(&rental, qr).await;
    store.release();
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "the copy sent while the first was pending: {v}"
    );
    let (s, v) = first.await.unwrap();
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    assert_eq!(verified(&t, &mut wallet).await, 1);
    other.shutdown().await.expect("clean shutdown");
}

/// The other order: the verifier's copy reaches the database while its first claim is
/// held, so the copy's claim is the one written; the first then finds it as its own
/// repeat. Both are answered, with one entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_that_reaches_the_database_first_is_the_one_entry() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (_, mut wallet) = t.issued_wallet(&number(6)).await;
    let rental = Arc::new(t.verifier("租车行", "rental").await);
    let qr = wallet.online_qr(Audience::Business, t.now());

    let first = send_with_its_claim_held(&t, &store, &rental, &qr).await;
    let (s, copy, _) = t.verify(&rental, qr).await;
    assert_eq!(s, StatusCode::OK, "the copy: {copy}");
    store.release();
    let (s, v) = first.await.unwrap();
    assert_eq!(s, StatusCode::OK, "the first, answered as a repeat: {v}");
    assert_eq!(v["view"], copy["view"]);
    assert_eq!(verified(&t, &mut wallet).await, 1);
}

/// A check of a code made two seconds before its acceptance ends, held by `hold` in the
/// store, and the app's retry of it 4 s later, the acceptance ended in between: the
/// first check's answer (status and body), the retry's, and the driver's whole log after
/// both.
async fn retry_while_the_first_check_is_held(
    n: u32,
    hold: impl FnOnce(&pausing::Pausing),
) -> (
    (StatusCode, serde_json::Value),
    (StatusCode, serde_json::Value),
    Vec<(String, CheckOutcome)>,
) {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (_, mut wallet) = t.issued_wallet(&number(n)).await;
    let police = Arc::new(t.verifier("交警", "enforcement").await);
    // The code of a window, checked two seconds before its acceptance ends.
    let window = (t.now() / 30 + 1) * 30;
    let qr = wallet.online_qr(Audience::Enforcement, window + 5);
    t.clock.set(window + 58);

    hold(&store);
    let first = {
        let (t, police, qr) = (t.clone(), police.clone(), qr.clone());
        tokio::spawn(async move { t.verify(&police, qr).await })
    };
    store.paused().await;
    // The app's retry, 4 s later.
    t.clock.set(window + 62);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    store.release();
    let (s1, v1, _) = first.await.unwrap();
    ((s1, v1), (s, v), t.logged(&mut wallet).await)
}

/// The app's retry 4 s after its check, the first claim still on its way to the database
/// and the code's acceptance ended in between: the retry is that check's repeat, not a
/// wrong code counted against the verifier and logged for the driver, and the first check
/// verifies; the driver's log holds one `verified` entry (seventeenth review, X-F1; D188).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_windows_ended_while_the_first_claim_is_on_its_way_is_its_repeat() {
    let ((s1, v1), (s, v), log) =
        retry_while_the_first_check_is_held(2, pausing::Pausing::hold_next_claim).await;
    assert_eq!(s1, StatusCode::OK, "the first check verifies: {v1}");
    assert_eq!(s, StatusCode::OK, "the retry: {v}");
    assert_eq!(log, [("交警".to_owned(), CheckOutcome::Verified)]);
}

/// X-F1 again, one step earlier: the app's retry a few seconds after its check, the first
/// check still reading the e-licence (a slow read: a busy pool, a read redone after a
/// dropped connection) when the code's acceptance ended. The first check was made at its
/// own `now` and is not yet claimed: before, the retry found no mark and no spend, a wrong
/// code counted against the verifier and logged for the driver, and then the first check
/// verified (`[WrongCode, Verified]` from one verifier for one QR; eighteenth review, Y-F3;
/// D189).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_windows_ended_while_the_first_check_reads_the_elicence_is_its_repeat() {
    let ((s1, v1), (s, v), log) =
        retry_while_the_first_check_is_held(3, pausing::Pausing::hold_next_elicence_read).await;
    assert_eq!(s1, StatusCode::OK, "the first check verifies: {v1}");
    assert_eq!(
        (s, &log[..]),
        (
            StatusCode::OK,
            &[("交警".to_owned(), CheckOutcome::Verified)][..]
        ),
        "the retry: {v}"
    );
}
