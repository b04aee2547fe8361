//! Guessing one driver's codes with many API keys (issue 13, finding 8): every verifier
//! draws on one budget per licence, a concurrent burst consumes exactly that budget, and
//! the lock-out it causes is short and never stops the police (D80).

use crate::common;

use std::sync::Arc;

use common::*;
use edl_authority::{CheckLimits, LimitsError, ServeError, serve};
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A wrong manual code for `wallet` now (never the right one by chance).
fn wrong(t: &TestServer, wallet: &Wallet) -> Value {
    let real = wallet.manual(Audience::Business, t.now());
    let code = if real["code"] == "2123456" {
        "2654321"
    } else {
        "2123456"
    };
    json!({"method": "manual", "licence_number": wallet.number, "code": code})
}

/// The `n`th probe: a manual code on a licence number nobody holds.
fn nobody(n: u32) -> Value {
    json!({"method": "manual", "licence_number": number(n), "code": "2123456"})
}

/// Uses up `wallet`'s licence's budget through `t`: one wrong code by each of as many new
/// keys, each answered 403.
async fn use_up_the_budget(t: &TestServer, wallet: &Wallet) {
    for k in 0..CheckLimits::default().licence_max_failures {
        let v = t.verifier(&format!("租车行 {k}"), "rental").await;
        let (s, body, _) = t.verify(&v, wrong(t, wallet)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
}

/// `count` probes by `v` through `t` from the `from`th, each answered 403.
async fn spray(t: &TestServer, v: &Verifier, from: u32, count: u32) {
    for n in from..from + count {
        let (s, body, _) = t.verify(v, nobody(n)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
}

/// The verifiers named by the `LockedOut` entries of a sync's new log entries (D166).
fn lock_outs_logged(synced: &edl_core::wire::SyncResponse) -> Vec<&str> {
    synced
        .verifications
        .iter()
        .filter(|v| v.outcome == CheckOutcome::LockedOut)
        .map(|v| v.verifier.as_str())
        .collect()
}

/// `v`'s check `body` through `server`, answered 429 `locked_out`.
async fn refused(server: &TestServer, v: &Verifier, body: Value) {
    let (s, body, _) = server.verify(v, body).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "locked_out");
}

fn wrong_codes_logged(synced: &edl_core::wire::SyncResponse) -> usize {
    synced
        .verifications
        .iter()
        .filter(|v| v.outcome == CheckOutcome::WrongCode)
        .count()
}

#[tokio::test]
async fn many_api_keys_share_one_budget_per_licence() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let budget = CheckLimits::default().licence_max_failures as usize;
    let mut answers = Vec::new();
    let mut retry_after = 0;
    // Twelve keys, two guesses each: no key comes near its own limit of five.
    for k in 0..12 {
        let v = t.verifier(&format!("租车行 {k}"), "rental").await;
        for _ in 0..2 {
            let (s, body, h) = t.verify(&v, wrong(&t, &wallet)).await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(body["error"], "locked_out");
                retry_after = h["retry-after"].to_str().unwrap().parse().unwrap();
            }
            answers.push(s);
        }
    }
    let rejected = answers
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!(rejected, budget, "{answers:?}");
    assert_eq!(answers.len() - rejected, 24 - budget);
    assert!(retry_after > 0 && retry_after <= CheckLimits::default().window);

    // The police are not locked out by businesses' guesses: the roadside check works.
    let police = t.verifier("交警", "enforcement").await;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A business with the right code waits at most the window, then it works.
    let honest = t.verifier("平安保险", "insurer").await;
    let (s, _, _) = t
        .verify(&honest, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    t.clock.advance(retry_after);
    let (s, v, _) = t
        .verify(&honest, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let synced = t.sync(&mut wallet).await;
    assert_eq!(wrong_codes_logged(&synced), budget);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_consumes_exactly_the_budget() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    let budget = CheckLimits::default().licence_max_failures as usize;
    let mut keys = Vec::new();
    for k in 0..50 {
        keys.push(t.verifier(&format!("burst {k}"), "employer").await);
    }
    let body = wrong(&t, &wallet);
    let t = Arc::new(t);
    let mut tasks = Vec::new();
    for v in keys {
        let (t, body) = (t.clone(), body.clone());
        tasks.push(tokio::spawn(async move { t.verify(&v, body).await.0 }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let rejected = answers
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    let locked = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((rejected, locked), (budget, 50 - budget), "{answers:?}");

    // Exactly the budget was recorded, durably: after a restart the licence is still
    // spent for businesses, and the driver's log holds one entry per guess answered.
    let mut t = Arc::try_unwrap(t).ok().unwrap();
    t.restart().await;
    let late = t.verifier("late", "employer").await;
    let (s, _, _) = t.verify(&late, wrong(&t, &wallet)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let synced = t.sync(&mut wallet).await;
    assert_eq!(wrong_codes_logged(&synced), budget);
}

/// Two authority processes on one database (D158, D163): the licence's budget and a
/// verifier's overall count hold across both, exactly, instead of one budget per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_share_the_licence_budget_and_the_verifier_count() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, wallet) = t.issued_wallet(&number(7)).await;
    let limits = CheckLimits::default();
    let budget = limits.licence_max_failures as usize;
    // Twelve keys, two guesses each, one on each process: no key comes near its own
    // limit of five, and each process alone sees half the guesses.
    let mut rejected = 0;
    for k in 0..12 {
        let v = t.verifier(&format!("租车行 {k}"), "rental").await;
        for server in [&t, &u] {
            let (s, body, _) = server.verify(&v, wrong(&t, &wallet)).await;
            match s {
                StatusCode::FORBIDDEN => rejected += 1,
                StatusCode::TOO_MANY_REQUESTS => assert_eq!(body["error"], "locked_out"),
                _ => panic!("{s} {body}"),
            }
        }
    }
    assert_eq!(
        rejected, budget,
        "{rejected} wrong codes answered for a budget of {budget} over two processes"
    );

    // One verifier spraying one guess over many licences through both processes is
    // locked out of everything after its overall count, not twice that.
    let sprayer = t.verifier("租车行 spray", "rental").await;
    let mut tried = 0;
    for n in 0..(2 * limits.verifier_max_failures) {
        let server = if n % 2 == 0 { &t } else { &u };
        let (s, body, _) = server.verify(&sprayer, nobody(1000 + n)).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"], "locked_out");
            break;
        }
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        tried += 1;
    }
    let max = limits.verifier_max_failures;
    assert_eq!(
        tried, max,
        "{tried} guesses before the lock-out, for a count of {max} over two processes"
    );
    other.shutdown().await.expect("clean shutdown");
}

/// The answers of `verifiers`' checks `body`, sent all at once, half through each process.
async fn burst(
    t: &Arc<TestServer>,
    u: &Arc<TestServer>,
    verifiers: Vec<Verifier>,
    body: impl Fn(usize) -> Value,
) -> Vec<StatusCode> {
    let mut tasks = Vec::new();
    for (n, v) in verifiers.into_iter().enumerate() {
        let server = if n % 2 == 0 { t.clone() } else { u.clone() };
        let body = body(n);
        tasks.push(tokio::spawn(async move { server.verify(&v, body).await.0 }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

fn count(answers: &[StatusCode], status: StatusCode) -> usize {
    answers.iter().filter(|s| **s == status).count()
}

/// A burst sent at once over two processes gets the licence's budget once, not once per
/// process (second fresh-eyes review, H-F1; D163): each process reserves guesses in its
/// own memory, so only the store can hold them together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_burst_over_two_processes_gets_the_licence_budget_once() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(8)).await;
    let budget = CheckLimits::default().licence_max_failures as usize;
    let mut keys = Vec::new();
    for k in 0..40 {
        keys.push(t.verifier(&format!("burst {k}"), "employer").await);
    }
    let body = wrong(&t, &wallet);
    let (t, u) = (Arc::new(t), Arc::new(u));
    let answers = burst(&t, &u, keys, |_| body.clone()).await;
    assert_eq!(
        (
            count(&answers, StatusCode::FORBIDDEN),
            count(&answers, StatusCode::TOO_MANY_REQUESTS)
        ),
        (budget, 40 - budget),
        "{answers:?}"
    );
    // The driver's log holds one entry per wrong code answered, no more.
    let synced = t.sync(&mut wallet).await;
    assert_eq!(wrong_codes_logged(&synced), budget);
    drop(u);
    other.shutdown().await.expect("clean shutdown");
}

/// One verifier spraying one guess over many licences at once, through both processes,
/// gets its overall count once (H-F1, D163).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_spray_over_two_processes_gets_the_verifier_count_once() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let max = CheckLimits::default().verifier_max_failures as usize;
    let sprayer = t.verifier("租车行 spray", "rental").await;
    let keys = (0..2 * max)
        .map(|_| Verifier {
            api_key: sprayer.api_key.clone(),
        })
        .collect();
    let (t, u) = (Arc::new(t), Arc::new(u));
    let answers = burst(&t, &u, keys, |n| nobody(2000 + n as u32)).await;
    assert_eq!(
        (
            count(&answers, StatusCode::FORBIDDEN),
            count(&answers, StatusCode::TOO_MANY_REQUESTS)
        ),
        (max, max),
        "{answers:?}"
    );
    drop(u);
    other.shutdown().await.expect("clean shutdown");
}

/// A right code sent through a process that has seen no failure is not answered once the
/// licence's budget was used up through another (D163): the guess that could be right is
/// the one the budget is for. The police still check the licence there.
#[tokio::test]
async fn a_right_code_through_another_process_is_refused_once_the_budget_is_used_up() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, wallet) = t.issued_wallet(&number(9)).await;
    use_up_the_budget(&t, &wallet).await;
    let honest = t.verifier("平安保险", "insurer").await;
    let (s, body, h) = u
        .verify(&honest, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "locked_out");
    let retry_after: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= CheckLimits::default().window);
    // The police are held to their own limits only; a business waits for the budget to
    // refill, and its check then verifies (the refused one spent nothing).
    let police = t.verifier("交警", "enforcement").await;
    let (s, body, _) = u
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    t.clock.advance(retry_after);
    let (s, body, _) = u
        .verify(&honest, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    other.shutdown().await.expect("clean shutdown");
}

/// A lock-out the store finds, in a process that had not seen the failures, is logged
/// for the driver once, as one found in memory is (D80, D166): the driver learns that
/// business checks of the licence were stopped, whichever process refused them.
#[tokio::test]
async fn a_lock_out_the_store_found_is_logged_for_the_driver_once() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, mut wallet) = t.issued_wallet(&number(72)).await;
    use_up_the_budget(&t, &wallet).await;
    assert!(lock_outs_logged(&t.sync(&mut wallet).await).is_empty());
    // Refused by the store through the other process: the one check a business makes
    // before it gives up.
    let honest = t.verifier("平安保险", "insurer").await;
    refused(&u, &honest, wallet.online_qr(Audience::Business, t.now())).await;
    assert_eq!(lock_outs_logged(&t.sync(&mut wallet).await), ["平安保险"]);
    // The refusals after it, in that process's memory now, are not logged again.
    for _ in 0..2 {
        refused(&u, &honest, wallet.online_qr(Audience::Business, t.now())).await;
    }
    assert!(lock_outs_logged(&t.sync(&mut wallet).await).is_empty());
    other.shutdown().await.expect("clean shutdown");
}

/// A verifier's own lock-out (its count, on every licence) that the store found is logged
/// once, on the licence its first refused check named; its refusals on other licences
/// after it, refused here in memory, write nothing (D166; sixth review).
#[tokio::test]
async fn a_verifier_s_lock_out_the_store_found_is_logged_once_on_the_licence_first_refused() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, mut first) = t.issued_wallet(&number(81)).await;
    let (_, mut next) = t.issued_wallet(&number(82)).await;
    let sprayer = t.verifier("租车行 spray", "rental").await;
    spray(
        &t,
        &sprayer,
        5000,
        CheckLimits::default().verifier_max_failures,
    )
    .await;
    refused(&u, &sprayer, first.online_qr(Audience::Business, t.now())).await;
    for _ in 0..2 {
        refused(&u, &sprayer, wrong(&t, &next)).await;
        refused(&u, &sprayer, next.online_qr(Audience::Business, t.now())).await;
    }
    assert_eq!(
        lock_outs_logged(&t.sync(&mut first).await),
        ["租车行 spray"]
    );
    assert!(lock_outs_logged(&t.sync(&mut next).await).is_empty());
    other.shutdown().await.expect("clean shutdown");
}

/// A verifier locked out through one process is locked out through the others for the
/// whole lock-out, not only while its failures are in the window (second review, H-F4;
/// D163): every process reads the lock-out from the same stored failures.
#[tokio::test]
async fn a_verifier_locked_out_through_one_process_is_locked_out_through_another_to_the_end() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let limits = CheckLimits::default();
    let sprayer = t.verifier("租车行 spray", "rental").await;
    spray(&t, &sprayer, 3000, limits.verifier_max_failures).await;
    // Past the window, inside the lock-out: no failure of it counts in a window any more.
    let later = limits.window + 60;
    t.clock.advance(later);
    let (s, body, h) = u.verify(&sprayer, nobody(3999)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "locked_out");
    let retry_after: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry_after, limits.verifier_lockout - later);
    let (s, _, _) = t.verify(&sprayer, nobody(3998)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // When the lock-out ends, the verifier's checks are answered again everywhere.
    t.clock.advance(retry_after);
    for server in [&u, &t] {
        let (s, body, _) = server.verify(&sprayer, nobody(3997)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
    other.shutdown().await.expect("clean shutdown");
}

/// Past the licence's budget, a right code that this process remembers as spent gets the
/// same 429 as a wrong one, not `409 already_used`: no answer tells a right code from a
/// wrong one once the limits are used up (third review, J-F1; D163).
#[tokio::test]
async fn past_the_budget_a_code_spent_here_before_is_refused_like_a_wrong_one() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (_, wallet) = t.issued_wallet(&number(31)).await;
    // An honest business checks the driver's manual code through `u`, which remembers it.
    let honest = t.verifier("平安保险", "insurer").await;
    let code = wallet.manual(Audience::Business, t.now());
    let (s, body, _) = u.verify(&honest, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Guessers use up the licence's budget through `t`.
    use_up_the_budget(&t, &wallet).await;
    let guesser = t.verifier("guesser", "rental").await;
    let (s, right, _) = u.verify(&guesser, code).await;
    let (s_wrong, wrong_body, _) = u.verify(&guesser, wrong(&t, &wallet)).await;
    assert_eq!(s_wrong, StatusCode::TOO_MANY_REQUESTS, "{wrong_body}");
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{right}");
    assert_eq!(right["error"], "locked_out");
    other.shutdown().await.expect("clean shutdown");
}

/// Two processes whose batches each hold one verifier's failure and the other's right
/// codes never deadlock on PostgreSQL: every batch takes its rows in one order (third
/// review, J-F3; D163). Counted by PostgreSQL's own verdicts (40P01), not by time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_mixing_failures_and_right_codes_on_two_processes_never_deadlock() {
    let t = TestServer::start().await;
    if !t.on_postgres() {
        return; // SQLite's writers take the file's one lock.
    }
    let before = edl_authority::store::postgres::deadlocks();
    let (other, u) = t.second_process().await;
    let (t, u) = (Arc::new(t), Arc::new(u));
    let (_, l1) = t.issued_wallet(&number(41)).await;
    let (_, l2) = t.issued_wallet(&number(42)).await;
    let mut n = 0u32;
    for phase in 0..4 {
        // Each phase in a fresh window: fresh codes, fresh counts.
        t.clock.advance(CheckLimits::default().window + 60);
        let va = t.verifier(&format!("a {phase}"), "rental").await;
        let vb = t.verifier(&format!("b {phase}"), "rental").await;
        let c1 = l1.manual(Audience::Business, t.now());
        let c2 = l2.manual(Audience::Business, t.now());
        assert_eq!(u.verify(&va, c1.clone()).await.0, StatusCode::OK);
        assert_eq!(t.verify(&vb, c2.clone()).await.0, StatusCode::OK);
        for _ in 0..25 {
            let key = |v: &Verifier| Verifier {
                api_key: v.api_key.clone(),
            };
            let mut probe = || {
                n += 1;
                nobody(7000 + n)
            };
            // A wrong code by one verifier and its own code's repeats (D108) by the other,
            // through each process at once.
            let mut jobs = vec![
                (t.clone(), key(&va), probe()),
                (u.clone(), key(&vb), probe()),
            ];
            for _ in 0..3 {
                jobs.push((t.clone(), key(&vb), c2.clone()));
                jobs.push((u.clone(), key(&va), c1.clone()));
            }
            let mut tasks = Vec::new();
            for (server, v, body) in jobs {
                tasks.push(tokio::spawn(async move { server.verify(&v, body).await.0 }));
            }
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap().as_u16());
            }
            assert_eq!(answers, [403, 403, 200, 200, 200, 200, 200, 200]);
        }
    }
    assert_eq!(
        edl_authority::store::postgres::deadlocks() - before,
        0,
        "deadlocks PostgreSQL broke"
    );
    drop(u);
    other.shutdown().await.expect("clean shutdown");
}

/// Wrong codes the store refuses are not counted by the process that sent them: sprayers
/// the store holds locked out, sending wrong codes on a licence through a process that
/// never saw them fail, store nothing, and leave the licence open there to honest checks
/// (fourth review, K-F1; D163).
#[tokio::test]
async fn wrong_codes_the_store_refused_leave_the_licence_open_in_the_process_that_sent_them() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let limits = CheckLimits::default();
    let (_, wallet) = t.issued_wallet(&number(62)).await;
    let mut sprayers = Vec::new();
    for k in 0..2 {
        let v = t.verifier(&format!("sprayer {k}"), "rental").await;
        let max = limits.verifier_max_failures;
        spray(&t, &v, 8000 + k * max, max).await;
        sprayers.push(v);
    }
    // Past the window, inside the store's lock-out: each sprayer's wrong codes on the
    // licence through `u` are refused, by the store first and then by `u` itself.
    t.clock.advance(limits.window + 60);
    for v in &sprayers {
        for _ in 0..limits.pair_max_failures {
            let (s, body, _) = u.verify(v, wrong(&t, &wallet)).await;
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
        }
    }
    let honest = t.verifier("平安保险", "insurer").await;
    let (s, body, _) = u
        .verify(&honest, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    other.shutdown().await.expect("clean shutdown");
}

/// A burst of wrong codes the store refuses just before the licence's failures age out
/// leaves the licence open to honest checks once they have, through the process that sent
/// the burst as through any other (fourth review, K-F1; D163).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_burst_late_in_the_window_does_not_outlast_the_stored_failures() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let (t, u) = (Arc::new(t), Arc::new(u));
    let (_, wallet) = t.issued_wallet(&number(61)).await;
    let wallet = Arc::new(wallet);
    let limits = CheckLimits::default();
    let budget = limits.licence_max_failures as usize;
    use_up_the_budget(&t, &wallet).await;
    // A second before those age out, a burst through `u`, which has seen none of them.
    t.clock.advance(limits.window - 1);
    let mut keys = Vec::new();
    for k in 0..budget {
        keys.push(t.verifier(&format!("guesser {k}"), "rental").await);
    }
    let mut tasks = Vec::new();
    for v in keys {
        let (u, t, wallet) = (u.clone(), t.clone(), wallet.clone());
        tasks.push(tokio::spawn(async move {
            u.verify(&v, wrong(&t, &wallet)).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::TOO_MANY_REQUESTS);
    }
    // Two seconds later nothing is stored in the window: both processes answer (a QR
    // through one, the manual code through the other: two codes, each spent once).
    t.clock.advance(2);
    let checks = [
        (&u, wallet.online_qr(Audience::Business, t.now())),
        (&t, wallet.manual(Audience::Business, t.now())),
    ];
    for (n, (server, code)) in checks.into_iter().enumerate() {
        let honest = t.verifier(&format!("平安保险 {n}"), "insurer").await;
        let (s, body, _) = server.verify(&honest, code).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    drop(u);
    other.shutdown().await.expect("clean shutdown");
}

/// On PostgreSQL, a right code waits for its verifier's failures that another process's
/// batch is still writing, and is refused once they use up the verifier's count (D165).
/// Before, it read only the committed failures and was answered: a spray over N processes
/// had its right codes answered among up to N × the count of guesses at every lock-out.
/// The other process's batch is played here by a transaction of the test's own, so the
/// check is known to come while it is open (SQLite's writers take the file's one lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_code_waits_for_its_verifier_s_failures_another_process_is_writing() {
    right_code_during_another_process_s_failures(OtherBatch::Updates, false).await;
}

/// The same for a verifier with no failure stored yet, whose row the other process's
/// batch is making (D165).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_code_waits_for_its_verifier_s_first_failures_another_process_is_writing() {
    right_code_during_another_process_s_failures(OtherBatch::Makes, false).await;
}

/// The same while the verifier's row is being deleted, as the prune does with its
/// failures of a day ago (sixth review; the row is made again after).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_code_waits_for_its_verifier_s_row_being_pruned() {
    right_code_during_another_process_s_failures(OtherBatch::Deletes, false).await;
}

/// An answer decided without the writer waits too (L-F4): here a code another verifier
/// spent through this process, which before was answered `409 already_used` while the
/// failures that used up the sprayer's count were being written, where a wrong code in
/// its place got 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_spent_here_waits_for_its_verifier_s_failures_another_process_is_writing() {
    right_code_during_another_process_s_failures(OtherBatch::Updates, true).await;
}

/// What the open transaction that plays another process does to the sprayer's
/// `guess_locks` row, besides storing the rest of its count.
#[derive(Clone, Copy, PartialEq)]
enum OtherBatch {
    /// Updates it: the sprayer has a failure stored already.
    Updates,
    /// Makes it: the sprayer's first failures.
    Makes,
    /// Deletes it, as the prune does (the sprayer has a failure stored already).
    Deletes,
}

/// A right code by a sprayer whose count another process's open batch is using up
/// (`other`); `spent_here`: the code was spent through this process by another verifier
/// first.
async fn right_code_during_another_process_s_failures(other: OtherBatch, spent_here: bool) {
    let t = TestServer::start().await;
    let Some(url) = t.pg.clone() else {
        return;
    };
    let max = i64::from(CheckLimits::default().verifier_max_failures);
    let (_, wallet) = t.issued_wallet(&number(71)).await;
    let sprayer = t.verifier("租车行 spray", "rental").await;
    let failed_before = other != OtherBatch::Makes;
    if failed_before {
        spray(&t, &sprayer, 4000, 1).await;
    }
    if spent_here {
        let insurer = t.verifier("平安保险", "insurer").await;
        let (s, body, _) = t
            .verify(&insurer, wallet.online_qr(Audience::Business, t.now()))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (batch, watch) = (pg_client(&url).await, pg_client(&url).await);
    let id: i64 = batch
        .query_one("SELECT id FROM verifiers WHERE name = '租车行 spray'", &[])
        .await
        .unwrap()
        .get(0);
    let pid: i32 = batch
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    // Another process's batch, as its writer does it: the verifier's row, then the rest of
    // its count, not committed yet.
    let (now, row) = (t.now() as i64, format!("v:{id}"));
    batch.batch_execute("BEGIN").await.unwrap();
    let written = if other == OtherBatch::Deletes {
        batch
            .execute("DELETE FROM guess_locks WHERE name = $1", &[&row])
            .await
    } else {
        batch
            .execute(
                "INSERT INTO guess_locks (name, at) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET at = GREATEST(guess_locks.at, EXCLUDED.at)",
                &[&row, &now],
            )
            .await
    };
    assert_eq!(written.unwrap(), 1);
    let stored = i64::from(failed_before);
    batch
        .execute(
            "INSERT INTO check_failures (at, verifier_id, target)
             SELECT $1, $2, 'other process ' || n FROM generate_series($3::BIGINT, $4::BIGINT) AS n",
            &[&now, &id, &(stored + 1), &max],
        )
        .await
        .unwrap();
    let t = Arc::new(t);
    let check = {
        let t = t.clone();
        let v = Verifier {
            api_key: sprayer.api_key.clone(),
        };
        let qr = wallet.online_qr(Audience::Business, t.now());
        tokio::spawn(async move { t.verify(&v, qr).await })
    };
    // Until the check is answered, or waits for the open batch.
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 || check.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        !check.is_finished(),
        "the right code was answered while its verifier's failures were being written: {:?}",
        check.await.unwrap().0
    );
    batch.batch_execute("COMMIT").await.unwrap();
    let (s, body, _) = check.await.unwrap();
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "locked_out");
    let rows: i64 = watch
        .query_one("SELECT count(*) FROM guess_locks WHERE name = $1", &[&row])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "the verifier's row is there for the next check");
}

/// Limits under which the store and a process's memory would group failures into
/// lock-outs differently (a verifier's lock-out shorter than the window) are refused when
/// the server starts, before its database is made (fourth review, K-F2; D168).
#[tokio::test]
async fn limits_with_a_lock_out_shorter_than_the_window_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::clock::ManualClock::new(1_780_000_000);
    let db = dir.path().join("authority.db");
    let mut short = config(db.clone(), &clock);
    short.check_limits.verifier_lockout = short.check_limits.window - 1;
    assert!(matches!(
        serve(short).await.err(),
        Some(ServeError::Limits(LimitsError::LockoutShorterThanWindow))
    ));
    assert!(!db.exists());
}

/// A lock-out the store decides (D163: the licence's budget used up through another
/// process, this one's memory holding none of it) is logged for the driver even when the
/// client that met it hangs up before the store's answer: the store refused the check, so
/// the driver is told. Before, the telling ran in the request after the store's answer and
/// went with it: no `LockedOut` entry, and this process never held the limit (SQLite, two
/// processes on one file; fifteenth review, V-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_out_the_store_decides_is_logged_for_the_driver_when_the_client_hangs_up() {
    let limits = CheckLimits {
        licence_max_failures: 3,
        ..Default::default()
    };
    let t = TestServer::start_with(|c| c.check_limits = limits).await;
    if t.on_postgres() {
        return;
    }
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let first = t.verifier("平安保险", "insurer").await;
    let second = t.verifier("人保", "insurer").await;
    // A second process on the same file, started before any failure: its memory holds none.
    let mut c = t.config();
    c.check_limits = limits;
    let p2 = serve(c).await.expect("a second process");
    let p2_addr = p2.addr();
    // A real QR of an hour ago: a wrong code.
    let wrong = || wallet.online_qr(Audience::Business, t.now() - 3600);
    // The licence's budget used up through the first process, no refusal yet.
    for n in 0..3 {
        let (s, v, _) = t.verify(&first, wrong()).await;
        assert_eq!(v["error"], "code_rejected", "wrong code {n} ({s}): {v}");
    }
    // Another connection holds the file's write lock a moment, so the second process's
    // writer answers late; the client hangs up meanwhile.
    let blocker = rusqlite::Connection::open(t.db()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let addr = p2_addr.to_string();
    verify_and_hang_up(
        &addr,
        &second.api_key,
        &wrong(),
        std::time::Duration::from_millis(400),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    blocker.execute_batch("ROLLBACK").unwrap();
    // The store's answer, then the telling, within a bound.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut outcomes: Vec<CheckOutcome> = Vec::new();
    while !outcomes.contains(&CheckOutcome::LockedOut) && std::time::Instant::now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Each sync brings the entries since the last.
        let synced = t.sync(&mut wallet).await;
        outcomes.extend(synced.verifications.iter().map(|v| v.outcome));
    }
    p2.shutdown().await.unwrap();
    assert!(
        outcomes.contains(&CheckOutcome::LockedOut),
        "the refused check is logged for the driver though its client hung up: {outcomes:?}"
    );
}
