//! Many requests at once: every acknowledged write (verification log entries, nonces) is
//! there afterwards, through the one group-committing writer.

use crate::common;

use std::time::Duration;

use common::pausing;
use common::*;
use edl_core::credential::Audience;
use edl_core::wire::{CheckOutcome, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_and_signed_requests_are_all_recorded() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("police", "enforcement").await;
    let body = wallet.online_qr(Audience::Enforcement, t.now());

    let t = std::sync::Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..250 {
        let (t, key, body) = (t.clone(), police.api_key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let v = Verifier { api_key: key };
            t.verify(&v, body).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    // Concurrent signed requests from one wallet: each has its own nonce, all accepted.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let t = t.clone();
        let w = Wallet {
            key: edl_core::crypto::SecretKey::from_seed(*wallet.key.to_seed()),
            account: wallet.account,
            number: wallet.number.clone(),
            cursor: 0,
            credential: None,
            seed: None,
        };
        tasks.push(tokio::spawn(async move {
            let path = format!("{}?cursor=0", paths::SYNC);
            t.signed(&w, Method::GET, &path, Value::Null).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }

    let mut t = std::sync::Arc::try_unwrap(t).ok().expect("tasks done");
    t.restart().await;
    let mut verified = 0;
    let mut pages = 0;
    loop {
        pages += 1;
        let synced = t.sync(&mut wallet).await;
        verified += synced
            .verifications
            .iter()
            .filter(|v| v.outcome == CheckOutcome::Verified)
            .count();
        if !synced.more {
            break;
        }
    }
    // 250 concurrent scans of one code by one verifier: all answered, one log entry (a code
    // is spent by its first check; the same verifier's repeats are not logged again).
    assert_eq!(verified, 1);
    assert_eq!(pages, 1);
}

/// Rounds of six codes (two audiences, three forms) checked at once through two processes.
const ROUNDS: usize = 8;

/// Two authority processes on one database log checks of one driver at once, while its
/// record changes: each entry takes its own place in the driver's one sequence, and the
/// wallet reads every one once (D116: a check appends to the feed under the driver's row
/// lock instead of rewriting the row; two batches that read the same last seq would
/// collide on the feed's key and fail their checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_logging_checks_of_one_driver_at_once_keep_one_sequence() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (driver, mut wallet) = t.issued_wallet(&number(2)).await;
    let police = t.verifier("交警", "enforcement").await;
    let both = std::sync::Arc::new((t, u));
    let mut changes = 0;
    for round in 0..ROUNDS {
        let now = both.0.now();
        let codes = [Audience::Enforcement, Audience::Business]
            .into_iter()
            .flat_map(|a| {
                [
                    wallet.online_qr(a, now),
                    wallet.manual(a, now),
                    wallet.barcode(a, now),
                ]
            });
        let mut tasks = Vec::new();
        for (n, code) in codes.enumerate() {
            let (both, key) = (both.clone(), police.api_key.clone());
            tasks.push(tokio::spawn(async move {
                let server = if n % 2 == 0 { &both.0 } else { &both.1 };
                let (s, v, _) = server.verify(&Verifier { api_key: key }, code).await;
                (s, v)
            }));
        }
        if round % 4 == 0 {
            // A change of the same driver among the checks.
            changes += 1;
            let both = both.clone();
            tasks.push(tokio::spawn(async move {
                let path = paths::with_id(paths::VIOLATIONS, driver);
                let body = json!({"date": "2026-10-01", "place": "A", "act": "超速", "points": 1, "fine_yuan": 200});
                both.0.admin(Method::POST, &path, body).await
            }));
        }
        for task in tasks {
            let (s, v) = task.await.unwrap();
            assert!(s.is_success(), "round {round}: {s} {v}");
        }
        both.0.clock.advance(60);
    }

    let (t, _) = &*both;
    let mut checks = 0;
    let mut records = 0;
    loop {
        let synced = t.sync(&mut wallet).await;
        checks += synced.verifications.len();
        if let Some(licence) = synced.licence {
            records = licence.supplementary.record.len();
        }
        if !synced.more {
            break;
        }
    }
    // Four codes a round: the barcode is its QR's code (D120), so the second of the two
    // is the police's repeat, answered without an entry.
    assert_eq!((checks, records), (4 * ROUNDS, changes));
    other.shutdown().await.expect("clean shutdown");
}

/// A verifier registered through one authority process is accepted at once by another on
/// the same database, though that one has already looked verifiers up and remembers them
/// (D114: the cache holds only keys the store has found; any other key is looked up in the
/// store, where the other process has just written it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_registered_through_another_process_is_accepted_at_once() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let now = t.now();

    // The second process remembers the first verifier it sees, and refuses a made-up key
    // (twice: a refusal is not remembered as anything either).
    let police = t.verifier("交警", "enforcement").await;
    let (s, _, _) = u
        .verify(&police, wallet.manual(Audience::Enforcement, now))
        .await;
    assert_eq!(s, StatusCode::OK);
    let stranger = Verifier {
        api_key: "edlv_not-a-registered-key".to_owned(),
    };
    for _ in 0..2 {
        let (s, _, _) = u
            .verify(&stranger, wallet.manual(Audience::Enforcement, now))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }

    // A second verifier, registered through the first process, checks through the second.
    let police2 = t.verifier("交警二队", "enforcement").await;
    let (s, v, _) = u
        .verify(&police2, wallet.online_qr(Audience::Enforcement, now))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    other.shutdown().await.expect("clean shutdown");
}

/// A verifier revoked through one authority process (D194) is refused there at once, and
/// by another process on the same database that remembered it (D114) once its entry is
/// older than `verifier_recheck` (1 s here), not for the life of that process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_revoked_through_one_process_is_refused_by_the_others_within_the_recheck() {
    let recheck = Duration::from_secs(1);
    let t = TestServer::start().await;
    let (other, u) = t
        .second_process_with(|c| c.verifier_recheck = recheck)
        .await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let (police, id) = t.verifier_account("交警", "enforcement").await;
    // Both processes remember it; the second check of the code is its repeat.
    let code = wallet.manual(Audience::Enforcement, t.now());
    for server in [&t, &u] {
        let (s, v, _) = server.verify(&police, code.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::REVOKE_VERIFIER, id),
        Value::Null,
    )
    .await;
    let revoked = std::time::Instant::now();
    let (s, _, _) = t.verify(&police, code.clone()).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the process that revoked it, at once"
    );
    loop {
        let (s, v, _) = u.verify(&police, code.clone()).await;
        if s == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            revoked.elapsed() < recheck + Duration::from_secs(2),
            "still accepted {:?} after its revocation",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    other.shutdown().await.expect("clean shutdown");
}

/// A check that read its verifier's row just before the verifier was revoked, and would
/// remember it just after the revoking process forgot every verifier, does not keep the
/// key: once the revoke is answered, that process refuses the key, for checks and for the
/// photo an earlier check granted (D194; twenty-third review, AD-F1: still accepted for
/// the 10 s of the entry). The check itself, already past its lookup, finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_read_just_before_its_revocation_is_not_remembered_after_it() {
    let (t, store) = pausing::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let (rental, id) = t.verifier_account("租车行", "rental").await;
    let qr = wallet.online_qr(Audience::Business, t.now());

    store.hold_next_verifier_read();
    let in_flight = t.verify(&rental, qr.clone());
    let revoke = async {
        store.paused().await;
        t.admin_ok(
            Method::POST,
            &paths::with_id(paths::REVOKE_VERIFIER, id),
            Value::Null,
        )
        .await;
        // The revoke is answered: only now does the held lookup go on.
        store.release();
    };
    let ((s, answer, _), ()) = tokio::join!(in_flight, revoke);
    assert_eq!(
        s,
        StatusCode::OK,
        "the check already past its lookup: {answer}"
    );

    let (s, v, _) = t.verify(&rental, qr).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "after the revoke's answer: {v}"
    );
    let (s, _, _) = t.verifier_photo(&rental, &answer, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the photo its check granted");
}

/// A server whose request deadline is 1 s and verifier recheck 60 s (so within the test
/// only a revocation makes it refuse a key it remembers), a rental verifier whose key it
/// remembers from a check, and that verifier's revoke sent while the store holds its write
/// once made: answered 503 at the deadline, the hold not released.
async fn a_revoke_held_past_its_deadline() -> (
    TestServer,
    std::sync::Arc<pausing::Pausing>,
    Verifier,
    Wallet,
) {
    let (t, store) = pausing::start_with(|c| {
        c.request_timeout = Duration::from_secs(1);
        c.verifier_recheck = Duration::from_secs(60);
    })
    .await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let (rental, id) = t.verifier_account("租车行", "rental").await;
    let (s, v, _) = t
        .verify(&rental, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "remembered: {v}");

    store.hold_next_revoke();
    let (s, v) = t
        .admin(
            Method::POST,
            &paths::with_id(paths::REVOKE_VERIFIER, id),
            Value::Null,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "dropped at its deadline: {v}"
    );
    (t, store, rental, wallet)
}

/// Checks by `rental` until one is refused, which must come within 5 s (`what` says after
/// what).
async fn refused_within_seconds(t: &TestServer, rental: &Verifier, wallet: &Wallet, what: &str) {
    let asked = std::time::Instant::now();
    loop {
        t.clock.advance(30);
        let (s, v, _) = t
            .verify(rental, wallet.online_qr(Audience::Business, t.now()))
            .await;
        if s == StatusCode::UNAUTHORIZED {
            return;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still accepted {:?} after {what}: {s} {v}",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A revoke whose request is dropped after its write committed (here at its deadline,
/// while the store holds its answer) still makes the process that made it forget the key:
/// the revocation and the forgetting go together, whatever becomes of the request. Before,
/// the process kept the key it remembered for the entry's 10 s (twenty-third review,
/// AD-F7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_dropped_after_its_write_still_makes_its_process_forget_the_key() {
    let (t, store, rental, wallet) = a_revoke_held_past_its_deadline().await;
    store.release();
    // Within the recheck (60 s here), only the revocation can make this process refuse it.
    refused_within_seconds(&t, &rental, &wallet, "the revoke's release").await;
}

/// A revoke whose write never answers (the store holds it) is bounded even once its
/// request is gone: the process forgets the key all the same, and shuts down without
/// waiting for the write. Before, the detached revoke had no bound and kept the store
/// alive, so shutdown waited for the database (twenty-fourth review, AE-F2: not finished
/// after 3 s); and a revoke that ended in an error forgot nothing (AE-F3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_whose_write_never_answers_is_bounded_and_still_forgets_the_key() {
    let (mut t, store, rental, wallet) = a_revoke_held_past_its_deadline().await;
    // Never released. Its write was made: once the detached revoke's bound (the request
    // deadline again) has passed, the key is forgotten and read again, revoked.
    refused_within_seconds(&t, &rental, &wallet, "the revoke's deadline").await;
    drop(store);
    let server = t.server.take().expect("running");
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shut down without waiting for the held write")
        .expect("clean shutdown");
}
