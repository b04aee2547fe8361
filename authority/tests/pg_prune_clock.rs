//! What the PostgreSQL writer deletes after a while goes by the database's clock (D169,
//! D170), so one process whose clock runs ahead cannot delete what the others still rely
//! on: the codes they spent (a code still inside its window would be checked again), the
//! nonces of signed requests (a sync replayed), the failed checks and their lock rows
//! (guesses given back), the enrolment back-off counters (tries given back), and the
//! batch marks (a cut commit asked about in vain).
//!
//! Each test starts a second authority process on the suite's database with a clock far
//! ahead; its first batch is followed by its first prune. Runs in the PostgreSQL pass of
//! `scripts/test` (`EDL_TEST_PG` set); skipped otherwise. Bounded: each wait gives up
//! after 20 s.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use edl_authority::{Clock, ManualClock, SystemClock};
use edl_core::credential::Audience;
use edl_core::crypto::SecretKey;
use edl_core::wire::{Base64, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_postgres::Client;

const GIVE_UP: Duration = Duration::from_secs(20);

/// A server on the suite's PostgreSQL database, and a client of that database; `None`
/// (skipped) outside the PostgreSQL pass.
async fn on_postgres() -> Option<(TestServer, Client)> {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return None;
    }
    let t = TestServer::start().await;
    let db = pg_client(t.pg.as_deref().unwrap()).await;
    Some((t, db))
}

async fn count(db: &Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

/// Runs a second authority process on `t`'s database whose clock is `ahead` seconds
/// ahead of `t`'s, through its first prune, and shuts it down. An expired enrolment
/// back-off row, which the prune deletes last, shows when it is over; the prune's trigger
/// is a probe answered 403 (a batch with a failed check in it).
async fn prune_by_a_process_ahead(t: &TestServer, db: &Client, ahead: u64) {
    db.execute(
        "INSERT INTO enrol_backoff (key, attempts, last_at, locked_until, expires_at)
         VALUES ('\\x00', 1, 0, 0, 1)",
        &[],
    )
    .await
    .unwrap();
    let clock = ManualClock::new(t.now() + ahead);
    let mut config = t.config();
    config.clock = Arc::new(clock.clone());
    let second = edl_authority::serve(config)
        .await
        .expect("a second process");
    let clients = TestServer::clients_of(&second.url(), clock);
    let prober = t.verifier("交警 ahead", "enforcement").await;
    let probe = json!({"method": "manual", "licence_number": number(999), "code": "2123456"});
    let (s, body, _) = clients.verify(&prober, probe).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let began = Instant::now();
    while count(db, "SELECT count(*) FROM enrol_backoff WHERE key = '\\x00'").await > 0 {
        assert!(began.elapsed() < GIVE_UP, "the second process never pruned");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    second.shutdown().await.expect("clean shutdown");
}

/// The rows a process wrote at `now` or before, per table the prune deletes from.
async fn rows_until(db: &Client, now: u64) -> Vec<(&'static str, i64)> {
    let now = now as i64;
    let mut rows = Vec::new();
    for (table, column) in [
        ("spent_codes", "at"),
        ("nonces", "ts"),
        ("check_failures", "at"),
        ("guess_locks", "at"),
        ("enrol_backoff", "last_at"),
    ] {
        let sql = format!("SELECT count(*) FROM {table} WHERE {column} <= $1");
        let n: i64 = db.query_one(&sql, &[&now]).await.unwrap().get(0);
        rows.push((table, n));
    }
    rows
}

/// Two days ahead: past the failures' day and the back-off's day of memory, as well as the
/// ten minutes of spent codes and nonces.
const TWO_DAYS: u64 = 2 * 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_clock_runs_ahead_deletes_nothing_the_others_still_rely_on() {
    let Some((t, db)) = on_postgres().await else {
        return;
    };
    // This process at the database's time (the same host's clock), as in a deployment.
    t.clock.set(SystemClock.now());
    let police = t.verifier("交警", "enforcement").await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;

    // A code spent, a failed check (and its lock rows), a signed sync (its nonce), a wrong
    // activation code (its back-off counters): all fresh.
    let qr = wallet.online_qr(Audience::Enforcement, t.now());
    let (s, body, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let renter = t.verifier("租车行", "rental").await;
    let probe = json!({"method": "manual", "licence_number": number(2), "code": "2123456"});
    let (s, body, _) = t.verify(&renter, probe).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    t.sync(&mut wallet).await;
    let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
    let auth = sign_request(&wallet.key, "GET", &path, &[], t.now(), rand16());
    let headers: Vec<(&'static str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, body, _) = t.raw(Method::GET, &path, &headers, Vec::new()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let device = SecretKey::from_seed(rand32());
    let (s, body, _) = t
        .raw(
            Method::POST,
            paths::ENROL,
            &[("content-type", "application/json".into())],
            serde_json::to_vec(&json!({
                "licence_number": number(1),
                "activation_code": "00000000",
                "device_public_key": Base64::encode(&device.public().to_bytes()),
            }))
            .unwrap(),
        )
        .await;
    assert!(s.is_client_error(), "a wrong activation code: {s} {body}");
    let before = rows_until(&db, t.now()).await;
    for (table, n) in &before {
        assert!(*n > 0, "{table}: the checks above left rows");
    }

    prune_by_a_process_ahead(&t, &db, TWO_DAYS).await;
    assert_eq!(
        rows_until(&db, t.now()).await,
        before,
        "the other process's fresh rows are all kept"
    );

    // What a driver and a verifier rely on, through a third process that has seen none
    // of it (its memory empty): the code stays spent, the sync stays a replay.
    let (third, clients) = t.second_process().await;
    let insurer = t.verifier("交警 2", "enforcement").await;
    let (s, body, _) = clients.verify(&insurer, qr).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "the spent code checked again: {body}"
    );
    let (s, body, _) = clients.raw(Method::GET, &path, &headers, Vec::new()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request")),
        "the sync replayed: {body}"
    );
    third.shutdown().await.expect("clean shutdown");
}

/// What is old by both clocks still goes: a prune by a process at the database's time
/// deletes rows stamped long ago, in every table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_old_by_both_clocks_are_deleted() {
    let Some((t, db)) = on_postgres().await else {
        return;
    };
    t.clock.set(SystemClock.now());
    let old = (t.now() - TWO_DAYS) as i64;
    db.execute(
        "INSERT INTO spent_codes (elicence_id, window_start, audience, form, at)
         VALUES (1, 0, 0, 0, $1)",
        &[&old],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO nonces (account, nonce, ts) VALUES (1, '\\x01', $1)",
        &[&old],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO check_failures (at, verifier_id, target) VALUES ($1, 1, 'old')",
        &[&old],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO guess_locks (name, at) VALUES ('t:old', $1)",
        &[&old],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO enrol_backoff (key, attempts, last_at, locked_until, expires_at)
         VALUES ('\\x01', 1, $1, 0, $2)",
        &[&old, &(old + 86_400)],
    )
    .await
    .unwrap();
    assert!(rows_until(&db, t.now()).await.iter().all(|(_, n)| *n == 1));
    prune_by_a_process_ahead(&t, &db, 0).await;
    let left = rows_until(&db, t.now()).await;
    // The probe that set the prune off wrote a failure and its two lock rows, now.
    let fresh = [
        ("spent_codes", 0),
        ("nonces", 0),
        ("check_failures", 1),
        ("guess_locks", 2),
        ("enrol_backoff", 0),
    ];
    assert_eq!(left, fresh, "every old row deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_clock_runs_ahead_prunes_no_other_process_s_mark_before_a_day() {
    let Some((t, db)) = on_postgres().await else {
        return;
    };
    let police = t.verifier("交警", "enforcement").await;
    let (_, wallet) = t.issued_wallet(&number(4)).await;
    let (s, body, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let made = count(&db, "SELECT count(*) FROM batch_marks").await;
    assert!(made > 0, "this process's batches left marks");
    // Two more of another writer, by the database's clock: one past ten minutes, which a
    // batch still open in that writer may yet be asked about, so the second process keeps
    // it, and one past a day, which any process sweeps.
    db.execute(
        "INSERT INTO batch_marks (id, at) VALUES
             ('\\x00fe', CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - 700),
             ('\\x00ff', CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - 86500)",
        &[],
    )
    .await
    .unwrap();
    prune_by_a_process_ahead(&t, &db, 86_400).await;
    let kept = |id: &'static str| {
        let db = &db;
        async move {
            let sql = format!("SELECT count(*) FROM batch_marks WHERE encode(id, 'hex') = '{id}'");
            count(db, &sql).await == 1
        }
    };
    assert!(
        kept("00fe").await,
        "another writer's mark of ten minutes is kept"
    );
    assert!(!kept("00ff").await, "a mark past a day is swept");
    assert_eq!(
        count(&db, "SELECT count(*) FROM batch_marks").await,
        made + 2,
        "the other process's fresh marks and its ten-minute one are kept, the second's own \
         batch left one, the day-old one went"
    );
}

/// An old lock row that another session holds (a failure batch of another process waiting
/// for a driver's row held elsewhere, played here by a session holding it), or an expired
/// enrolment counter, keeps the prune waiting a moment only: the writer's clock of a held commit does not pass the stall bound
/// for it, so checks are neither refused nor given up while no commit is held. Before, the
/// prune waited on the row for as long as it was held, and past the bound every write was
/// refused (twenty-second review, AC-F4: 503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_lock_row_held_elsewhere_does_not_hold_the_writer() {
    let Some((t, db)) = on_postgres().await else {
        return;
    };
    // This process's own first prune comes with its first batch, before the row is made.
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    db.batch_execute(
        "INSERT INTO guess_locks (name, at) VALUES ('t:held-old', 0);
         INSERT INTO enrol_backoff (key, attempts, last_at, locked_until, expires_at)
             VALUES ('\\x0a', 1, 0, 0, 1);",
    )
    .await
    .unwrap();
    // An expired enrolment counter held by a silent peer likewise (twenty-fifth review,
    // AF-F4).
    let locker = pg_client(t.pg.as_deref().unwrap()).await;
    let held = locker
        .simple_query(
            "BEGIN;
             SELECT name FROM guess_locks WHERE name = 't:held-old' FOR UPDATE;
             SELECT key FROM enrol_backoff WHERE key = '\\x0a' FOR UPDATE;",
        )
        .await
        .unwrap();
    assert_eq!(
        held.iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count(),
        2,
        "the old rows held"
    );
    // A process whose first batch (this check) is followed by its first prune.
    let (other, u) = t
        .second_process_with(|c| c.writer_stall = Duration::from_millis(300))
        .await;
    let (s, v, _) = u
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (ready, _, _) = u.raw(Method::GET, "/readyz", &[], Vec::new()).await;
    t.clock.advance(30);
    let (s, v, _) = u
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        ready,
        StatusCode::OK,
        "ready while a lock row is held elsewhere"
    );
    assert_eq!(s, StatusCode::OK, "a check after the prune: {v}");
    other.shutdown().await.expect("clean shutdown");
}
