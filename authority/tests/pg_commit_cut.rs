//! A writer batch whose COMMIT was sent but whose answer never came back (D169). The
//! batch may have committed or not; the authority finds out which before it answers, so a
//! check that was logged is answered 200 (not 503, nor a repeat of itself), a sync whose
//! nonce was kept is answered 200 (not refused as its own replay), and a batch that did
//! not commit is written again, once.
//!
//! The cut is made for real, each on a cluster of the test's own (`scripts/pg-cluster`):
//! - *committed, answer lost*: the cluster is told to wait for a synchronous standby that
//!   does not exist, so each commit is durable locally and then waits; the test ends the
//!   waiting backend (`pg_terminate_backend`), which PostgreSQL does without a word to the
//!   client (the transaction "has already committed locally");
//! - *refused at commit*: a deferred trigger refuses the first commit with the server's
//!   shutdown code (57P01), the answer a backend gives when it is stopped mid-commit;
//! - *committed and replicated*: the standby's WAL receiver paused while the commit waits,
//!   the backend ended, the receiver resumed: answered 200, and the check survives a
//!   fail-over to that standby (eighth review, O-F8);
//! - *committed on the primary alone*: the synchronous standby is down, so the batch's
//!   commit never reached it; ended the same way, the batch is not acknowledged, and a
//!   fail-over to that standby loses nothing that was (seventh review, N-F1).
//!
//! The marks' prune is tested in `pg_prune_clock.rs`.
//!
//! Which way each question went is read from `store::postgres::settled`, so a test cannot
//! pass without the question being asked; the tests run one at a time, as those counts
//! are the process's, and in a binary of their own (D200): the fail-over and outage tests
//! cut commits too, which would move the counts under them. Runs in the PostgreSQL pass of `scripts/test` (`EDL_TEST_PG` set);
//! skipped otherwise. Bounded: each wait below gives up after 20 s.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::*;
use edl_authority::store::postgres::settled;
use edl_core::credential::Audience;
use edl_core::wire::{CheckOutcome, SyncResponse, VerificationLogEntry, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

const GIVE_UP: Duration = Duration::from_secs(20);

/// The tests of this file one at a time: they read process-wide counts
/// (`settled`) that a test running beside them would move too.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Ends backend `pid` and waits until it is gone, so that what it was doing (a commit's
/// standby wait) is over before the test goes on.
async fn end(admin: &Client, pid: i32) {
    let gone: bool = admin
        .query_one("SELECT pg_terminate_backend($1, 20000)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(
        gone,
        "backend {pid} still there 20 s after it was told to end"
    );
}

/// Backends waiting for the missing standby, other than `but`.
async fn waiting(admin: &Client, but: i32) -> Vec<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND pid <> $1",
            &[&but],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Polls `waiting` until some backend waits, or `answered` ends first (then none did).
async fn first_waiters<T>(admin: &Client, answered: &JoinHandle<T>) -> Vec<i32> {
    let began = Instant::now();
    loop {
        let pids = waiting(admin, 0).await;
        if !pids.is_empty() || answered.is_finished() {
            return pids;
        }
        assert!(began.elapsed() < GIVE_UP, "no commit waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `answered`'s commit waits for the standby, then ends every backend that
/// waits so (each a batch's COMMIT) and waits until they are gone.
async fn end_waiting_commits<T>(admin: &Client, answered: &JoinHandle<T>) {
    let pids = first_waiters(admin, answered).await;
    assert!(
        !pids.is_empty(),
        "the request was answered without committing"
    );
    for pid in pids {
        let query: String = admin
            .query_one("SELECT query FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert_eq!(query, "COMMIT", "only a batch's commit writes here");
        end(admin, pid).await;
    }
}

/// An authority given a primary and its synchronous standby, a police verifier that has
/// checked once (so the row its checks wait on is there, D165), and a driver's wallet.
struct Standing {
    primary: Cluster,
    standby: Cluster,
    t: Arc<TestServer>,
    admin: Client,
    police: Arc<Verifier>,
    wallet: Wallet,
}

impl Standing {
    async fn start() -> Standing {
        let primary = Cluster::start();
        let standby = primary.standby();
        let t = Arc::new(TestServer::start_on(Some(&primary.with_standby_url(&standby))).await);
        let admin = pg_client(&primary.url).await;
        let police = Arc::new(t.verifier("交警", "enforcement").await);
        let (_, wallet) = t.issued_wallet(&number(1)).await;
        let (_, other) = t.issued_wallet(&number(3)).await;
        let (s, body, _) = t
            .verify(&police, other.online_qr(Audience::Enforcement, t.now()))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        Standing {
            primary,
            standby,
            t,
            admin,
            police,
            wallet,
        }
    }

    /// The wallet's online check, sent now.
    fn check(&self) -> JoinHandle<(StatusCode, Value, reqwest::header::HeaderMap)> {
        let (t, police) = (self.t.clone(), self.police.clone());
        let qr = self.wallet.online_qr(Audience::Enforcement, t.now());
        tokio::spawn(async move { t.verify(&police, qr).await })
    }

    /// The wallet's log as the authority serves it once it is serving again (after a
    /// fail-over).
    async fn log_once_back(&self) -> Vec<VerificationLogEntry> {
        let began = Instant::now();
        loop {
            let path = format!("{}?cursor={}", paths::SYNC, self.wallet.cursor);
            let (s, v, _) = self
                .t
                .signed(&self.wallet, Method::GET, &path, Value::Null)
                .await;
            if s == StatusCode::OK {
                return serde_json::from_value::<SyncResponse>(v)
                    .unwrap()
                    .verifications;
            }
            assert!(began.elapsed() < GIVE_UP, "not serving again: {s} {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// From now on every commit on the cluster is durable locally, then waits for a
/// synchronous standby that never comes. Returns once a probe commit is seen waiting (the
/// setting reaches backends through a reload), after releasing the probe.
async fn hold_commits(admin: &Client, url: &str) {
    // One statement a call: ALTER SYSTEM refuses to run in a multi-statement string. The
    // probe's table first: made after, its own commit would wait.
    for sql in [
        "CREATE TABLE IF NOT EXISTS probe (x INT)",
        "ALTER SYSTEM SET synchronous_standby_names = 'nobody'",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    let began = Instant::now();
    loop {
        let probe = pg_client(url).await;
        let pid: i32 = probe
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let insert = tokio::spawn(async move {
            tokio::time::timeout(GIVE_UP, probe.execute("INSERT INTO probe VALUES (1)", &[]))
                .await
                .expect("the probe's commit ended")
        });
        let seen = first_waiters(admin, &insert).await.contains(&pid);
        if seen {
            // Cancelled, it stops waiting: its own row stays committed locally.
            admin
                .execute("SELECT pg_cancel_backend($1)", &[&pid])
                .await
                .unwrap();
        }
        insert.await.unwrap().unwrap();
        if seen {
            return;
        }
        assert!(
            began.elapsed() < GIVE_UP,
            "the reload never reached a backend"
        );
    }
}

/// Commits stop waiting: the standby is no longer required.
async fn release_commits(admin: &Client) {
    for sql in [
        "ALTER SYSTEM RESET synchronous_standby_names",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
}

/// Runs `request` while commits are held, ends every backend that waits in a commit (the
/// commit stays), then lets commits through and returns the request's answer.
async fn with_commit_cut<T: Send + 'static>(
    admin: &Client,
    url: &str,
    request: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    hold_commits(admin, url).await;
    let answered = tokio::spawn(request);
    end_waiting_commits(admin, &answered).await;
    release_commits(admin).await;
    tokio::time::timeout(GIVE_UP, answered)
        .await
        .expect("answered")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_and_a_sync_whose_commit_happened_but_whose_answer_was_lost_are_answered_200() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start();
    let t = Arc::new(TestServer::start_on(Some(&cluster.url)).await);
    let admin = pg_client(&cluster.url).await;
    let police = Arc::new(t.verifier("交警", "enforcement").await);
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    // A first check by the police, so the row its checks wait on is there (D165): made
    // while commits are held, it would wait before the batch.
    let (_, other) = t.issued_wallet(&number(3)).await;
    let (s, body, _) = t
        .verify(&police, other.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (kept, ..) = settled();
    let check = {
        let (t, police) = (t.clone(), police.clone());
        let qr = wallet.online_qr(Audience::Enforcement, t.now());
        with_commit_cut(
            &admin,
            &cluster.url,
            async move { t.verify(&police, qr).await },
        )
        .await
    };
    assert_eq!(
        (check.0, check.1["in_force"].as_bool()),
        (StatusCode::OK, Some(true)),
        "a check whose commit happened: {}",
        check.1
    );
    assert_eq!(
        settled().0,
        kept + 1,
        "the question found the check's batch kept"
    );
    let log = t.sync(&mut wallet).await.verifications;
    assert_eq!(log.len(), 1, "the check is logged once");
    assert_eq!(log[0].outcome, CheckOutcome::Verified);

    let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
    let auth = sign_request(&wallet.key, "GET", &path, &[], t.now(), rand16());
    let headers: Vec<(&'static str, String)> = auth.headers(wallet.account).into_iter().collect();
    let sync = {
        let (t, path, headers) = (t.clone(), path.clone(), headers.clone());
        with_commit_cut(&admin, &cluster.url, async move {
            t.raw(Method::GET, &path, &headers, Vec::new()).await
        })
        .await
    };
    assert_eq!(
        sync.0,
        StatusCode::OK,
        "a sync whose nonce was kept: {}",
        sync.1
    );
    assert_eq!(
        settled().0,
        kept + 2,
        "the question found the sync's batch kept"
    );
    let (s, body, _) = t.raw(Method::GET, &path, &headers, Vec::new()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request")),
        "the sync's nonce stays spent"
    );
}

/// How many commits the trigger has seen since the sequence (re)started.
async fn cuts(db: &Client) -> i64 {
    db.query_one("SELECT last_value FROM cuts", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_at_commit_with_the_shutdown_code_is_written_again_once() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start();
    let t = TestServer::start_on(Some(&cluster.url)).await;
    let police = t.verifier("交警", "enforcement").await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    // The server's own schema (its search path), where the trigger must sit.
    let db = pg_client(t.pg.as_deref().unwrap()).await;
    db.batch_execute(
        "CREATE SEQUENCE cuts;
         CREATE FUNCTION cut_first() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF nextval('cuts') = 1 THEN
                 RAISE EXCEPTION 'terminating connection' USING ERRCODE = 'admin_shutdown';
             END IF;
             RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER cut_feed AFTER INSERT ON feed
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cut_first();
         CREATE CONSTRAINT TRIGGER cut_nonces AFTER INSERT ON nonces
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cut_first();",
    )
    .await
    .unwrap();

    let (_, not_kept, _) = settled();
    let (s, body, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        cuts(&db).await,
        2,
        "the first commit was refused, the second made"
    );
    assert_eq!(
        settled().1,
        not_kept + 1,
        "the question found the batch not kept"
    );
    let log = t.sync(&mut wallet).await.verifications;
    assert_eq!(log.len(), 1, "the check is logged once");

    db.batch_execute("ALTER SEQUENCE cuts RESTART")
        .await
        .unwrap();
    let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
    let auth = sign_request(&wallet.key, "GET", &path, &[], t.now(), rand16());
    let headers: Vec<(&'static str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, body, _) = t.raw(Method::GET, &path, &headers, Vec::new()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        cuts(&db).await,
        2,
        "the first commit was refused, the second made"
    );
    assert_eq!(
        settled().1,
        not_kept + 2,
        "the question found the batch not kept"
    );
    let (s, body, _) = t.raw(Method::GET, &path, &headers, Vec::new()).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request")),
        "the sync's nonce was kept by the second commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_kept_on_the_primary_alone_is_not_acknowledged_and_a_fail_over_loses_none_that_was()
{
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let st = Standing::start().await;

    // The synchronous standby goes away: the check's commit is made on the primary and
    // waits for it; that backend is ended.
    tokio::task::block_in_place(|| st.standby.ctl("down"));
    let (.., unknown) = settled();
    let answered = st.check();
    end_waiting_commits(&st.admin, &answered).await;
    let (status, body, headers) = tokio::time::timeout(GIVE_UP, answered)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(
        (
            status,
            body["error"].as_str(),
            headers.contains_key("retry-after")
        ),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"), true),
        "a check kept on the primary alone: {body}"
    );
    assert_eq!(settled().2, unknown + 1, "the question could not tell");

    // The primary dies; its standby, which never saw the check, is promoted.
    tokio::task::block_in_place(|| {
        st.primary.ctl("kill");
        st.standby.ctl("up");
        st.standby.ctl("promote");
    });
    let log = st.log_once_back().await;
    assert!(
        log.is_empty(),
        "the promoted server holds the unacknowledged check: {log:?}"
    );
}

/// Sends `signal` (`STOP`, `CONT`) to a process of the test's own cluster.
fn signal(pid: i32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A process of the test's cluster paused until dropped, so that a failing test leaves no
/// stopped process for its cluster's removal to wait on.
struct Paused(i32);

impl Paused {
    fn new(pid: i32) -> Paused {
        signal(pid, "STOP");
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_kept_and_replicated_is_answered_200_and_survives_a_fail_over() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let st = Standing::start().await;

    // The standby's WAL receiver is paused, so the check's commit waits for it; that
    // backend is ended, then the receiver carries on and the standby catches up.
    let receiver: i32 = pg_client(&st.standby.url)
        .await
        .query_one("SELECT pid FROM pg_stat_wal_receiver", &[])
        .await
        .unwrap()
        .get(0);
    let paused = Paused::new(receiver);
    let (kept, ..) = settled();
    let answered = st.check();
    end_waiting_commits(&st.admin, &answered).await;
    drop(paused);
    let (status, body, _) = tokio::time::timeout(GIVE_UP, answered)
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "a check kept and replicated: {body}"
    );
    assert_eq!(settled().0, kept + 1, "the question found it kept");

    // The primary dies; the standby, which holds the check, is promoted.
    tokio::task::block_in_place(|| {
        st.primary.ctl("kill");
        st.standby.ctl("promote");
    });
    let log = st.log_once_back().await;
    assert_eq!(
        log.len(),
        1,
        "the check answered 200 is on the promoted server"
    );
}
