//! What an operator relies on (D90): `/healthz`, `/readyz` that turns 503 while the writer
//! cannot commit, and `/metrics` behind its own token, counting requests by route and
//! status, store writes, lock-outs and connections shed. Real server on loopback.

use crate::common;

use std::time::Duration;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncReadExt;

const SCRAPE: &str = "test-scrape-token";

async fn start_with(tune: impl FnOnce(&mut edl_authority::Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.metrics_token = SCRAPE.into();
        tune(c);
    })
    .await
}

/// Another session holding the lock the verifier insert needs: SQLite's write lock, or on
/// PostgreSQL an exclusive lock on the `verifiers` table.
enum Blocker {
    Sqlite(rusqlite::Connection),
    Pg(tokio_postgres::Client),
}

impl Blocker {
    async fn hold(t: &TestServer) -> Blocker {
        match &t.pg {
            Some(url) => {
                let client = pg_client(url).await;
                client
                    .batch_execute("BEGIN; LOCK TABLE verifiers IN EXCLUSIVE MODE")
                    .await
                    .unwrap();
                Blocker::Pg(client)
            }
            None => {
                let conn = rusqlite::Connection::open(t.db()).unwrap();
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                Blocker::Sqlite(conn)
            }
        }
    }

    /// What keeps a check's batch waiting: on SQLite another process's lock on the file
    /// (as [`Blocker::hold`]), on PostgreSQL `driver`'s row, which another session holds
    /// (an operator's psql, a peer process whose host fell silent mid-transaction).
    async fn hold_driver(t: &TestServer, driver: u64) -> Blocker {
        match &t.pg {
            Some(url) => {
                let session = pg_client(url).await;
                session
                    .batch_execute(&format!(
                        "BEGIN; SELECT 1 FROM drivers WHERE id = {driver} FOR UPDATE"
                    ))
                    .await
                    .unwrap();
                Blocker::Pg(session)
            }
            None => Blocker::hold(t).await,
        }
    }

    async fn release(self) {
        match self {
            Blocker::Sqlite(conn) => conn.execute_batch("ROLLBACK").unwrap(),
            Blocker::Pg(client) => client.batch_execute("ROLLBACK").await.unwrap(),
        }
    }
}

/// Another process holds the database's write lock, and a write (a new verifier) waits
/// behind it past the 300 ms `writer_stall` the tests set: on SQLite the writer holds that
/// batch (D179). The lock, and the waiting write's answer.
async fn hold_a_write(t: &TestServer) -> (Blocker, tokio::task::JoinHandle<StatusCode>) {
    let blocker = Blocker::hold(t).await;
    let write = a_write(t);
    tokio::time::sleep(Duration::from_millis(900)).await;
    (blocker, write)
}

/// A write (a new verifier) sent on a task of its own, and its answer.
fn a_write(t: &TestServer) -> tokio::task::JoinHandle<StatusCode> {
    let url = t.url.clone();
    tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{url}/admin/verifiers"))
            .bearer_auth(ADMIN)
            .json(&json!({"name": "平安保险", "class": "insurer"}))
            .send()
            .await
            .unwrap()
            .status()
    })
}

/// One driver's online QR and two police verifiers, for the tests of a check whose write
/// is not made: SQLite only (`Blocker` holds its file; PostgreSQL's writer has its own
/// tests), so `None` on PostgreSQL.
struct OneCode {
    t: TestServer,
    wallet: Wallet,
    police: Verifier,
    other: Verifier,
    code: serde_json::Value,
}

async fn one_code_on_sqlite(tune: impl FnOnce(&mut edl_authority::Config)) -> Option<OneCode> {
    let t = start_with(tune).await;
    if t.on_postgres() {
        return None;
    }
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("交警二队", "enforcement").await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    Some(OneCode {
        t,
        wallet,
        police,
        other,
        code,
    })
}

/// A 503 `unavailable` that says when to come back, in its body and its header.
/// Another verifier's check of `code` verifies: nothing kept it spent.
async fn assert_the_code_is_nobody_s(t: &TestServer, other: &Verifier, code: serde_json::Value) {
    let (s, v, _) = t.verify(other, code).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "another verifier, the code never spent: {v}"
    );
}

fn assert_unavailable_with_retry_after(
    (s, v, headers): (StatusCode, serde_json::Value, reqwest::header::HeaderMap),
    why: &str,
) {
    assert_eq!(
        (s, v["error"].as_str(), v["retry_after"].as_u64()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("unavailable"),
            Some(2)
        ),
        "{why}: {v}"
    );
    assert_eq!(
        headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|h| h.to_str().ok()),
        Some("2"),
        "{why}"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_without_credentials() {
    let t = start_with(|_| {}).await;
    for (path, status) in [("/healthz", "alive"), ("/readyz", "ready")] {
        let r = reqwest::get(format!("{}{path}", t.url)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["status"], status);
    }
}

#[tokio::test]
async fn metrics_need_the_scrape_token_not_the_admin_token() {
    let t = start_with(|_| {}).await;
    let anonymous = reqwest::get(format!("{}/metrics", t.url)).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.scrape(ADMIN).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.scrape("wrong").await.0, StatusCode::UNAUTHORIZED);
    let (status, text) = t.scrape(SCRAPE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("# TYPE edl_http_request_duration_seconds histogram"));

    // A server without a scrape token answers no scrape at all.
    let closed = start_with(|c| c.metrics_token.clear()).await;
    assert_eq!(closed.scrape("").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn metrics_count_checks_by_route_and_status_writes_and_lockouts() {
    let t = start_with(|_| {}).await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let (s, _, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Wrong codes until the verifier is locked out of the licence (5 failures allowed).
    let guesser = t.verifier("可疑租车行", "rental").await;
    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut locked = 0;
    for guess in (0..9u32)
        .map(|g| format!("2{g:06}"))
        .filter(|c| *c != real)
        .take(8)
    {
        let body = json!({"method": "manual", "licence_number": wallet.number, "code": guess});
        let (s, _, _) = t.verify(&guesser, body).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            locked += 1;
        }
    }
    assert_eq!(locked, 3);
    t.raw(Method::GET, "/no/such/path", &[], vec![]).await;

    let (_, text) = t.scrape(SCRAPE).await;
    let verify = |status: &str| {
        metric_sample(
            &text,
            "edl_http_request_duration_seconds_count",
            &[
                "route=\"/v1/verify\"",
                "method=\"POST\"",
                &format!("status=\"{status}\""),
            ],
        )
    };
    assert_eq!(verify("200"), Some(1.0), "{text}");
    assert_eq!(verify("403"), Some(5.0));
    assert_eq!(verify("429"), Some(3.0));
    // Path templates, never ids; unknown paths share one label.
    assert!(text.contains("route=\"/admin/drivers/{id}/activation-code\""));
    assert_eq!(
        metric_sample(
            &text,
            "edl_http_request_duration_seconds_count",
            &["route=\"unmatched\"", "status=\"404\""]
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&wallet.number),
        "no licence number in a label"
    );
    assert_eq!(metric_sample(&text, "edl_lockouts_total", &[]), Some(1.0));
    assert_eq!(
        metric_sample(&text, "edl_locked_out_refusals_total", &[]),
        Some(3.0)
    );
    // One verified check and a lock-out's first refusal logged; the five wrong codes are
    // stored as check failures, each with its log entry in the same write (D81).
    assert_eq!(
        metric_sample(
            &text,
            "edl_store_write_duration_seconds_count",
            &["op=\"log_verification\""]
        ),
        Some(2.0)
    );
    assert_eq!(
        metric_sample(
            &text,
            "edl_store_write_duration_seconds_count",
            &["op=\"record_check_failure\""]
        ),
        Some(5.0)
    );
    assert_eq!(
        metric_sample(&text, "edl_store_writes_in_flight", &[]),
        Some(0.0)
    );
    let batches = metric_sample(&text, "edl_writer_batches_total", &[]).unwrap();
    let jobs = metric_sample(&text, "edl_writer_jobs_total", &[]).unwrap();
    assert!(batches >= 1.0 && jobs >= batches, "{batches} {jobs}");
}

/// A process whose clock is more than 5 s from the database's is not ready: it would take
/// codes the others find expired, write rows they prune early (D170, D182), and judge a
/// spender's repeat by another time than the process that took the spend (D184; the
/// fifteenth review's V-F3: 40 s ahead was ready). On PostgreSQL, whose server has one
/// clock for every process; the processes on one SQLite file share their host's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_clock_is_off_from_the_database_s_is_not_ready() {
    let default = edl_authority::Config::new("a.db", "127.0.0.1:0".parse().unwrap());
    let t = start_with(|c| c.max_clock_skew = default.max_clock_skew).await;
    if !t.on_postgres() {
        return;
    }
    let readyz = || t.raw(Method::GET, "/readyz", &[], Vec::new());
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // The tests' clock is set by hand, days before the database's.
    let (s, v, h) = readyz().await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "days behind: {v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("behind the database's"),
        "says why: {v}"
    );
    assert!(h.contains_key("retry-after"), "{h:?}");
    t.clock.set(wall() + 2);
    let (s, v, _) = readyz().await;
    assert_eq!(s, StatusCode::OK, "2 s apart: {v}");
    t.clock.set(wall() + 40);
    let (s, v, _) = readyz().await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "40 s ahead: {v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("ahead of the database's"),
        "says why: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_turns_503_while_writes_cannot_commit_and_recovers() {
    let t = start_with(|c| c.writer_stall = Duration::from_millis(300)).await;
    // Another process holds the database's write lock: the writer's transaction waits.
    let (blocker, write) = hold_a_write(&t).await;
    let r = reqwest::get(format!("{}/readyz", t.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unavailable");
    // Alive all the same: a restart would not help.
    let alive = reqwest::get(format!("{}/healthz", t.url)).await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
    if !t.on_postgres() {
        // SQLite's one writer holds the waiting write's batch: the next write is refused
        // at once rather than queued behind it (D179; PostgreSQL's writer takes only the
        // checks' appends, and `pg_standby_away.rs` holds it).
        let asked = std::time::Instant::now();
        let (s, v) = t
            .admin(
                reqwest::Method::POST,
                "/admin/verifiers",
                json!({"name": "人保", "class": "insurer"}),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{v}"
        );
        assert!(asked.elapsed() < Duration::from_millis(500));
    }

    blocker.release().await;
    assert_eq!(write.await.unwrap(), StatusCode::OK);
    let r = reqwest::get(format!("{}/readyz", t.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Writes dropped unanswered at their deadline, one after another, are not progress: with
/// every audit row's write hanging (no batch held), `/readyz` turns 503 and stays so while
/// they keep coming, and none is timed as a write. Before, each drop counted as a write
/// answered and kept the process ready (twenty-fourth review, AE-F1: ready 30 times of 30).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_dropped_unanswered_are_not_progress() {
    let (t, store) = common::pausing::start_with(|c| {
        c.metrics_token = SCRAPE.into();
        c.request_timeout = Duration::from_secs(2);
        c.writer_stall = Duration::from_millis(300);
    })
    .await;
    store.hang_audits(true);
    let began = std::time::Instant::now();
    let calls = async {
        let mut calls = Vec::new();
        while began.elapsed() < Duration::from_secs(5) {
            let call = t
                .http
                .get(format!("{}{}", t.url, paths::VERIFIERS))
                .bearer_auth(ADMIN)
                .send();
            calls.push(tokio::spawn(async move { call.await.unwrap().status() }));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        calls
    };
    let polls = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let mut ready = 0;
        while began.elapsed() < Duration::from_secs(5) {
            if t.raw(Method::GET, "/readyz", &[], Vec::new()).await.0 == StatusCode::OK {
                ready += 1;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        ready
    };
    let (calls, ready) = tokio::join!(calls, polls);
    assert_eq!(ready, 0, "ready while no write was answered");
    for call in calls {
        assert_eq!(
            call.await.unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
            "dropped at its deadline"
        );
    }
    let (_, text) = t.scrape(SCRAPE).await;
    assert_eq!(
        metric_sample(
            &text,
            "edl_store_write_duration_seconds_count",
            &["op=\"append_audit\""]
        ),
        None,
        "no audit write answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_counted_as_shed() {
    let t = start_with(|c| c.max_connections = 1).await;
    let addr = t.url.trim_start_matches("http://").to_owned();
    // One idle connection holds the only place; the next is refused with 503.
    let held = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Answered before the request is read, so a raw socket: an HTTP client would call
    // an answer to an unsent request a protocol error.
    let mut refused = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), refused.read_to_end(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 503"));
    // Stored by no cache, like every answer the router makes (D147).
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(text.contains("\r\ncache-control: no-store\r\n"), "{text}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, text) = t.scrape(SCRAPE).await;
    assert_eq!(
        metric_sample(&text, "edl_shed_total", &["reason=\"connections\""]),
        Some(1.0),
        "{text}"
    );
}

/// A check refused because the writer holds a commit (D179) was not made: its code is
/// nobody's, in this process's memory as in the database (twelfth review, S-F1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_refused_while_a_batch_is_held_leaves_its_code_unspent() {
    let Some(OneCode {
        t,
        police,
        other,
        code,
        ..
    }) = one_code_on_sqlite(|c| c.writer_stall = Duration::from_millis(300)).await
    else {
        return;
    };
    let (blocker, write) = hold_a_write(&t).await;
    assert_unavailable_with_retry_after(
        t.verify(&police, code.clone()).await,
        "refused while held",
    );
    blocker.release().await;
    assert_eq!(write.await.unwrap(), StatusCode::OK);
    // Nothing of the refused check was kept: the code is nobody's.
    assert_the_code_is_nobody_s(&t, &other, code).await;
}

/// A check whose own batch the database holds (another process holds the SQLite file's
/// write lock) is answered 503 with Retry-After once the writer has held that batch past
/// `writer_stall`, not when the writer's busy timeout or the request's deadline ends the
/// wait; its claim is then left out, so the code is nobody's (D193). Before, the check
/// waited out the 5 s busy timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_whose_batch_is_held_is_answered_at_the_stall_and_leaves_its_code_unspent() {
    let Some(OneCode {
        t,
        mut wallet,
        police,
        other,
        code,
    }) = one_code_on_sqlite(|c| c.writer_stall = Duration::from_millis(300)).await
    else {
        return;
    };
    let blocker = Blocker::hold(&t).await;
    let asked = std::time::Instant::now();
    let answer = t.verify(&police, code.clone()).await;
    let took = asked.elapsed();
    assert_unavailable_with_retry_after(answer, "its batch held");
    assert!(
        took < Duration::from_millis(1500),
        "answered at the stall: {took:?}"
    );
    // Counted as given up, and not as a write answered (twenty-second review, AC-F9).
    let (_, text) = t.scrape(SCRAPE).await;
    assert_eq!(
        metric_sample(&text, "edl_claims_given_up_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric_sample(
            &text,
            "edl_store_write_duration_seconds_count",
            &["op=\"log_verification\""]
        ),
        None,
        "no write answered"
    );
    blocker.release().await;
    // Once the writer has its lock, and its batch (the claim left out) is over.
    t.ready_within(Duration::from_secs(5)).await;
    assert_the_code_is_nobody_s(&t, &other, code).await;
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警二队"],
        "the answered check alone"
    );
}

/// A check queued behind a batch the database holds is answered 503 once that batch is
/// held past `writer_stall`, and its claim is left out when the writer comes to it (D193).
/// Before, it waited for the held batch to fail and then for its own (about 10 s here).
/// Sent 1.5 s into a hold with a 2 s bound, it is answered about 0.5 s later: the bound
/// counts from the batch's start, not from the check's (twenty-second review, AC-F2: 2 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_queued_behind_a_held_batch_is_answered_at_the_stall_and_leaves_its_code_unspent() {
    let Some(OneCode {
        t,
        mut wallet,
        police,
        other,
        code,
    }) = one_code_on_sqlite(|c| c.writer_stall = Duration::from_secs(2)).await
    else {
        return;
    };
    let blocker = Blocker::hold(&t).await;
    // A write whose batch waits for the lock, and the check sent before the stall, so it
    // is taken and queued behind that batch.
    let write = a_write(&t);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = std::time::Instant::now();
    let answer = t.verify(&police, code.clone()).await;
    let took = asked.elapsed();
    assert_unavailable_with_retry_after(answer, "queued behind a held batch");
    assert!(
        took < Duration::from_millis(1200),
        "answered once the batch is held 2 s: {took:?}"
    );
    blocker.release().await;
    // The held batch goes on: the write it holds was waited for, and is made.
    assert_eq!(write.await.unwrap(), StatusCode::OK);
    assert_the_code_is_nobody_s(&t, &other, code).await;
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警二队"],
        "the answered check alone"
    );
}

/// The refused check sent again by its own verifier once the stall is over is answered as
/// new: nothing was kept (S-F1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_refused_while_a_batch_is_held_can_be_sent_again_later() {
    let Some(OneCode {
        t, police, code, ..
    }) = one_code_on_sqlite(|c| c.writer_stall = Duration::from_millis(300)).await
    else {
        return;
    };
    let (blocker, write) = hold_a_write(&t).await;
    assert_unavailable_with_retry_after(
        t.verify(&police, code.clone()).await,
        "refused while held",
    );
    blocker.release().await;
    assert_eq!(write.await.unwrap(), StatusCode::OK);
    // The stall lasted 11 s; the code (30 s window) is still good.
    t.clock.advance(11);
    let (s, v, _) = t.verify(&police, code).await;
    assert_eq!(s, StatusCode::OK, "sent again after Retry-After: {v}");
}

/// Another process holds the SQLite file's write lock (an operator's `sqlite3` shell left
/// in a transaction) when a check's own batch begins: the writer gives up after its busy
/// timeout and nothing of the batch is made. The check is answered 503 with when to come
/// back, and its code is nobody's: another verifier's check of it, the lock gone, verifies
/// (thirteenth review, T-F1: 503 without Retry-After, then 409 for a code never logged).
/// The stall bound past the busy timeout, so the writer's giving up is what answers (the
/// stall's own answer is `a_check_whose_batch_is_held_is_answered_at_the_stall…`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_whose_batch_cannot_begin_says_when_to_retry_and_leaves_its_code_unspent() {
    let Some(OneCode {
        t,
        police,
        other,
        code,
        ..
    }) = one_code_on_sqlite(|c| c.writer_stall = Duration::from_secs(20)).await
    else {
        return;
    };
    let blocker = Blocker::hold(&t).await;
    assert_unavailable_with_retry_after(
        t.verify(&police, code.clone()).await,
        "the file held elsewhere",
    );
    blocker.release().await;
    assert_the_code_is_nobody_s(&t, &other, code).await;
}

/// A check the server does not answer within the request deadline (its write waits behind
/// another process's lock on the SQLite file) is answered 503 `unavailable` with
/// Retry-After: its outcome is unknown, and a check sent again by its verifier is answered
/// (D108). Before, it was 408 `bad_request`, which the clients read as a malformed request
/// and final (thirteenth review, T-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_not_answered_in_time_is_503_with_retry_after_and_answered_when_sent_again() {
    let Some(OneCode {
        t,
        mut wallet,
        police,
        code,
        ..
    }) = one_code_on_sqlite(|c| c.request_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let blocker = Blocker::hold(&t).await;
    assert_unavailable_with_retry_after(
        t.verify(&police, code.clone()).await,
        "not answered within the deadline",
    );
    blocker.release().await;
    let (s, v, _) = t.verify(&police, code).await;
    assert_eq!(s, StatusCode::OK, "sent again by its verifier: {v}");
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警"],
        "one check, logged once"
    );
}

/// A check answered at its deadline (503) whose write is then lost with its batch (the
/// writer gave up on another process's lock) spent nothing: another verifier's check of
/// the code, the lock gone, verifies. Before, the code stayed spent in this process's
/// memory, the late handler having been dropped before it could release it: 409
/// `already_used` for a code no store held (thirteenth review, T-F3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_dropped_at_its_deadline_whose_write_is_lost_leaves_its_code_unspent() {
    let Some(OneCode {
        t,
        police,
        other,
        code,
        ..
    }) = one_code_on_sqlite(|c| c.request_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let blocker = Blocker::hold(&t).await;
    assert_unavailable_with_retry_after(t.verify(&police, code.clone()).await, "past the deadline");
    // Held past the writer's 5 s busy timeout: the batch with the check's write is given up.
    tokio::time::sleep(Duration::from_secs(6)).await;
    blocker.release().await;
    assert_the_code_is_nobody_s(&t, &other, code).await;
}

/// An admin call whose audit entry waits past the deadline behind another process's lock
/// on the SQLite file (on PostgreSQL, its insert behind a lock on `verifiers`) had sent its
/// whole body at once: the server was slow, not the client's network. 503 with
/// Retry-After; before, 408 `request_timeout` on SQLite, the body not yet read when the
/// deadline came, and the client told its own network was at fault (fourteenth review,
/// U-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_call_the_database_keeps_past_the_deadline_is_answered_503_not_408() {
    let t = start_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let blocker = Blocker::hold(&t).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/admin/verifiers", t.url))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "平安保险", "class": "insurer"}))
        .send()
        .await
        .unwrap();
    let (s, h) = (answer.status(), answer.headers().clone());
    let v: serde_json::Value = answer.json().await.unwrap();
    blocker.release().await;
    assert_unavailable_with_retry_after((s, v, h), "the body sent, the database slow");
}

/// A request deadline its checks could not be sent again after (D183), or, on PostgreSQL, a
/// clock allowance that with the deadline leaves them no time (two ready processes' clocks
/// apart, D184; the fifteenth review's V-F3: D182's first allowance, 60 s, took a
/// spender's resend 32 s later through a process 40 s ahead as another's, 409), is refused
/// when the server starts, before its database is opened; one too large to add is refused
/// too, not a panic (sixteenth review, W-F2). On SQLite, whose processes share one clock,
/// the allowance is not counted (W-F3: a 40 s deadline was refused).
#[tokio::test]
async fn a_request_deadline_or_clock_allowance_that_leaves_a_resend_no_time_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = edl_authority::clock::ManualClock::new(START);
    let db = dir.path().join("authority.db");
    let defaults = edl_authority::Config::new(&db, "127.0.0.1:0".parse().unwrap());
    let secs = Duration::from_secs;
    let long = edl_authority::MAX_REQUEST_TIMEOUT + secs(1);
    // A server nobody runs: the settings are refused before it would be reached.
    let pg = Some("postgres://edl@127.0.0.1:1/nowhere".to_owned());
    for (request_timeout, max_clock_skew, postgres_url) in [
        (long, None, None),
        (Duration::MAX, defaults.max_clock_skew, None),
        (defaults.request_timeout, Some(secs(60)), pg.clone()),
        (defaults.request_timeout, Some(secs(6)), pg.clone()),
        (defaults.request_timeout, Some(Duration::MAX), pg.clone()),
    ] {
        let mut c = config(db.clone(), &clock);
        (c.request_timeout, c.max_clock_skew) = (request_timeout, max_clock_skew);
        c.postgres_url = postgres_url;
        let refused = edl_authority::serve(c).await.err();
        assert!(
            matches!(
                refused,
                Some(edl_authority::ServeError::RequestTimeout { request_timeout: r, .. })
                    if r == request_timeout
            ),
            "{request_timeout:?} {max_clock_skew:?}: {refused:?}"
        );
        assert!(!db.exists());
    }
    // The defaults are served, and on SQLite the longest deadline with them.
    for request_timeout in [defaults.request_timeout, edl_authority::MAX_REQUEST_TIMEOUT] {
        let mut c = config(db.clone(), &clock);
        (c.request_timeout, c.max_clock_skew) = (request_timeout, defaults.max_clock_skew);
        edl_authority::serve(c)
            .await
            .expect("served")
            .shutdown()
            .await
            .unwrap();
    }
}

/// A lock-out's first refusal is logged for the driver (D80, D166); when its entry is
/// refused while a commit is held (D179), the next refusal is logged instead (twelfth
/// review, S-F2: the entry was lost for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_out_first_refused_while_a_batch_is_held_is_still_logged_for_the_driver() {
    let t = start_with(|c| c.writer_stall = Duration::from_millis(300)).await;
    if t.on_postgres() {
        return;
    }
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let bad = t.verifier("可疑租车行", "rental").await;
    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let guesses: Vec<String> = (0..20u32)
        .map(|g| format!("2{g:06}"))
        .filter(|c| *c != real)
        .collect();
    let number = wallet.number.clone();
    let guess =
        |n: usize| json!({"method": "manual", "licence_number": number, "code": guesses[n]});
    for n in 0..5 {
        let (s, v, _) = t.verify(&bad, guess(n)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let (blocker, write) = hold_a_write(&t).await;
    // The lock-out's first refusal: its log entry is refused.
    let (s, v, _) = t.verify(&bad, guess(5)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    blocker.release().await;
    assert_eq!(write.await.unwrap(), StatusCode::OK);
    let (s, v, _) = t.verify(&bad, guess(6)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let synced = t.sync(&mut wallet).await;
    let locked = synced
        .verifications
        .iter()
        .filter(|v| v.outcome == edl_core::wire::CheckOutcome::LockedOut)
        .count();
    assert_eq!(locked, 1, "the lock-out is in the driver's log");
}

/// A lock-out's first refusal, decided in this process's memory, whose log entry then
/// fails (another connection holds the SQLite file past the writer's busy timeout) while
/// its client has hung up: the telling is taken back all the same, and a later refusal is
/// logged for the driver. Before, the taking back ran in the request and went with it: the
/// lock-out stayed told and was never logged (sixteenth review, W-F1; S-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_out_whose_first_entry_fails_after_its_client_hung_up_is_still_logged() {
    let t = start_with(|_| {}).await;
    if t.on_postgres() {
        return;
    }
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let bad = t.verifier("可疑租车行", "rental").await;
    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let guesses: Vec<String> = (0..20u32)
        .map(|g| format!("2{g:06}"))
        .filter(|c| *c != real)
        .collect();
    let number = wallet.number.clone();
    let guess =
        |n: usize| json!({"method": "manual", "licence_number": number, "code": guesses[n]});
    // The pair's five failures (D80): the sixth check is the lock-out's first refusal.
    for n in 0..5 {
        let (s, v, _) = t.verify(&bad, guess(n)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let blocker = Blocker::hold(&t).await;
    // The first refusal; its client hangs up while the entry waits for the file.
    let addr = t.url.trim_start_matches("http://");
    verify_and_hang_up(addr, &bad.api_key, &guess(5), Duration::from_millis(500)).await;
    // The writer gives up on the entry after its 5 s busy timeout.
    tokio::time::sleep(Duration::from_secs(6)).await;
    blocker.release().await;
    // Later refusals, the file writable again: the next is the first logged.
    let (s, v, _) = t.verify(&bad, guess(6)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let outcomes: Vec<edl_core::wire::CheckOutcome> = t
        .sync(&mut wallet)
        .await
        .verifications
        .iter()
        .map(|v| v.outcome)
        .collect();
    assert!(
        outcomes.contains(&edl_core::wire::CheckOutcome::LockedOut),
        "the lock-out is in the driver's log: {outcomes:?}"
    );
}

/// A check dropped at its deadline while its batch waits spends nothing: on SQLite the
/// batch waits for another process's lock on the file, let go within the writer's busy
/// timeout, so the batch begins; on PostgreSQL it waits for the driver's row, which another
/// session holds. Either way the claim of a check nobody waits for any more is left out:
/// the code stays free (another verifier's check of it verifies), and the driver's log
/// holds that check alone. Before, the claim was written after the 503: the code spent
/// with no verdict given, and its verifier's resend, after the deadline and Retry-After,
/// refused 409 (fourteenth review, U-F1, SQLite; fifteenth review, V-F1, PostgreSQL: the
/// writer looked at the claim's caller only when it gathered the batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_dropped_at_its_deadline_while_its_batch_waits_spends_nothing() {
    let t = start_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let (driver, mut wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("交警二队", "enforcement").await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    let held = Blocker::hold_driver(&t, driver).await;
    assert_unavailable_with_retry_after(t.verify(&police, code.clone()).await, "past the deadline");
    // Within SQLite's 5 s busy timeout: the batch holding the dropped check begins.
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.release().await;
    // On PostgreSQL the writer's batch goes on once the row is free.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (s, v, _) = t.verify(&other, code).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "another verifier, the code not spent: {v}"
    );
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警二队"],
        "the answered check alone is logged"
    );
}

/// D183's own case with the code's windows ended by the time it is sent again: a check
/// answered 503 at its deadline, its claim left out, sent again 45 s later as the 503 told
/// it to. The code was shown to this verifier in time, and this process remembers it: the
/// resend is that check, made now (verified, logged once), not a wrong code counted against
/// the verifier and logged for the driver (seventeenth review, X-F2; D188).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_left_out_at_its_deadline_and_sent_again_after_its_windows_ended_verifies() {
    let t = start_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let (driver, mut wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    // Shown 20 s into a window: accepted until the end of the next one, 40 s later.
    let shown = t.late_in_next_window();
    let qr = wallet.online_qr(Audience::Enforcement, shown);
    let held = Blocker::hold_driver(&t, driver).await;
    assert_unavailable_with_retry_after(t.verify(&police, qr.clone()).await, "past the deadline");
    tokio::time::sleep(Duration::from_millis(500)).await;
    held.release().await;
    // The batch goes on and leaves the claim out (D183, D184).
    tokio::time::sleep(Duration::from_millis(500)).await;

    t.clock.set(shown + 45);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "the resend, as the 503 told: {v}");
    assert_eq!(
        t.logged(&mut wallet).await,
        [("交警".to_owned(), edl_core::wire::CheckOutcome::Verified)],
        "the check, once"
    );
    // Its repeats are answered, as any check's; a minute past that check, it is only an
    // expired code.
    t.clock.set(shown + 45 + 10);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.clock.set(shown + 45 + 61);
    let (s, v, _) = t.verify(&police, qr).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("code_rejected")),
        "{v}"
    );
}

/// Shutdown waits for the writes still queued, the failure of a check whose client hung
/// up included (it is finished on a task of its own, D184): on PostgreSQL as on SQLite,
/// the server has stopped only once they are committed. Here the failure's batch waits for
/// the driver's row, held by another session; shutdown waits until the row is let go, and
/// the guess is stored when it returns. Before, it returned at once on PostgreSQL, the
/// write still queued, and the CLI's exit dropped it (sixteenth review, W-F5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_writes_still_queued_on_postgres_too() {
    let mut t = start_with(|_| {}).await;
    let Some(url) = t.pg.clone() else {
        return;
    };
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let bad = t.verifier("可疑租车行", "rental").await;
    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if real == "2000000" {
        "2000001"
    } else {
        "2000000"
    };
    let guess = json!({"method": "manual", "licence_number": wallet.number, "code": wrong});
    let session = pg_client(&url).await;
    session
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM drivers WHERE id = {driver} FOR UPDATE"
        ))
        .await
        .unwrap();
    // The wrong guess; its client hangs up while its failure waits for the row.
    let addr = t.url.trim_start_matches("http://");
    verify_and_hang_up(addr, &bad.api_key, &guess, Duration::from_millis(500)).await;
    let server = t.server.take().unwrap();
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the failure still queued"
    );
    session.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::timeout(Duration::from_secs(8), stopping)
        .await
        .expect("stops once the row is let go")
        .unwrap()
        .unwrap();
    let stored: i64 = session
        .query_one("SELECT count(*) FROM check_failures", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored, 1,
        "the wrong guess is stored once shutdown returned"
    );
}

/// A claim left out because its check stopped waiting (D183, D184) is no write committed:
/// `edl_writer_jobs_total` and `edl_writer_batches_total` do not move for it (sixteenth
/// review, W-F4: they counted it). On SQLite the batch waits for the file, on PostgreSQL
/// for the driver's row, past the check's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_out_is_not_counted_as_a_write() {
    let t = start_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    let counts = || async {
        let (_, text) = t.scrape(SCRAPE).await;
        (
            metric_sample(&text, "edl_writer_batches_total", &[]).unwrap(),
            metric_sample(&text, "edl_writer_jobs_total", &[]).unwrap(),
        )
    };
    let before = counts().await;
    let held = Blocker::hold_driver(&t, driver).await;
    assert_unavailable_with_retry_after(t.verify(&police, code).await, "past the deadline");
    held.release().await;
    // The batch goes on once the lock is let go, and leaves the claim out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counts().await, before, "nothing was written");
}

/// A failure the store refuses over budget writes nothing: only the driver's `LockedOut`
/// entry is written, one write in one transaction. Before, SQLite counted every job it ran,
/// the refused one included (seventeenth review, X-F3; W-F4 had fixed it on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_refused_over_budget_is_not_counted_as_a_write() {
    let limits = edl_authority::CheckLimits {
        licence_max_failures: 3,
        ..Default::default()
    };
    let t = start_with(|c| c.check_limits = limits).await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let first = t.verifier("平安保险", "insurer").await;
    let second = t.verifier("人保", "insurer").await;
    // A second process on the same database, its memory empty of failures.
    let mut c = t.config();
    (c.check_limits, c.metrics_token) = (limits, SCRAPE.into());
    let p2 = edl_authority::serve(c).await.expect("a second process");
    let u = TestServer::clients_of(&p2.url(), t.clock.clone());
    let wrong = || wallet.online_qr(Audience::Business, t.now() - 3600);
    for n in 0..3 {
        let (s, v, _) = t.verify(&first, wrong()).await;
        assert_eq!(v["error"], "code_rejected", "wrong code {n} ({s}): {v}");
    }
    let counts = || async {
        let (_, text) = u.scrape(SCRAPE).await;
        (
            metric_sample(&text, "edl_writer_batches_total", &[]).unwrap(),
            metric_sample(&text, "edl_writer_jobs_total", &[]).unwrap(),
        )
    };
    let before = counts().await;
    let (s, v, _) = u.verify(&second, wrong()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("locked_out")),
        "{v}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = counts().await;
    p2.shutdown().await.unwrap();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1.0, 1.0),
        "one write (the LockedOut entry) in one transaction; counted {before:?} -> {after:?}"
    );
}

/// A claim the database refuses as spent writes nothing, and is no write in the writer's
/// counts (seventeenth review, X-F3: counted as one write in a transaction of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_refused_as_spent_is_not_counted_as_a_write() {
    let mut t = start_with(|_| {}).await;
    let (_, mut wallet) = t.issued_wallet(&number(4)).await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("交警二队", "enforcement").await;
    let qr = wallet.online_qr(Audience::Enforcement, t.now());
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A restart: this process's memory holds no spend, so the database decides.
    t.restart_with(|c| c.metrics_token = SCRAPE.into()).await;
    let counts = || async {
        let (_, text) = t.scrape(SCRAPE).await;
        (
            metric_sample(&text, "edl_writer_batches_total", &[]).unwrap(),
            metric_sample(&text, "edl_writer_jobs_total", &[]).unwrap(),
        )
    };
    let before = counts().await;
    let (s, v, _) = t.verify(&other, qr).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    let after = counts().await;
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警"],
        "nothing written"
    );
    assert_eq!(
        after, before,
        "a claim that wrote nothing counted as a write"
    );
}

/// A batch waiting for a row another session holds (an operator's psql, a peer process
/// whose host fell silent mid-transaction) is not a commit the database holds: writes
/// elsewhere go on (PostgreSQL; twelfth review, S-F3: every write was refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_row_locked_elsewhere_does_not_refuse_unrelated_writes() {
    let t = start_with(|c| c.writer_stall = Duration::from_secs(1)).await;
    let Some(url) = t.pg.clone() else {
        return;
    };
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let session = pg_client(&url).await;
    session
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM drivers WHERE id = {driver} FOR UPDATE"
        ))
        .await
        .unwrap();
    let held = {
        let code = wallet.online_qr(Audience::Enforcement, t.now());
        let (url, key) = (t.url.clone(), police.api_key.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}{}", edl_core::wire::paths::VERIFY))
                .header(edl_core::wire::HEADER_API_KEY, key)
                .json(&code)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!held.is_finished(), "the check waits for the row");
    let r = reqwest::get(format!("{}/readyz", t.url)).await.unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        !v["message"]
            .as_str()
            .unwrap_or("")
            .contains("has held a commit"),
        "a row lock is not a held commit: {v}"
    );
    // A write that has nothing to do with that driver, and does not go through the writer.
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            "/admin/verifiers",
            json!({"name": "人保", "class": "insurer"}),
        )
        .await;
    session.batch_execute("ROLLBACK").await.unwrap();
    let _ = held.await;
    assert_eq!(s, StatusCode::OK, "an unrelated write: {v}");
}

/// A writer stuck on one batch past the stall bound (here on a driver's row another
/// session holds) keeps `/readyz` at 503 after the check waiting on it was dropped at its
/// deadline. Before, nothing waiting meant ready while the writer was still stuck, and a
/// balancer put the process back into service to hang its next writes (the review of
/// issue 15's operator claims, AR-1). PostgreSQL only: on SQLite the held batch already
/// says so (D179).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_stuck_on_one_batch_stays_not_ready_after_its_waiting_check_is_dropped() {
    let t = start_with(|c| {
        c.writer_stall = Duration::from_secs(1);
        c.request_timeout = Duration::from_secs(2);
    })
    .await;
    if t.pg.is_none() {
        return;
    }
    let (driver, wallet) = t.issued_wallet(&number(2)).await;
    let police = t.verifier("交警", "enforcement").await;
    let blocker = Blocker::hold_driver(&t, driver).await;
    let code = wallet.online_qr(Audience::Enforcement, t.now());
    assert_unavailable_with_retry_after(t.verify(&police, code).await, "dropped at its deadline");
    // Nothing waits now; the writer still does.
    tokio::time::sleep(Duration::from_millis(500)).await;
    not_ready_saying(&t, "on one batch").await;
    blocker.release().await;
    // Ready again once the batch went through.
    t.ready_within(Duration::from_secs(5)).await;
}

/// `/readyz` answers 503 with a message holding `words`.
async fn not_ready_saying(t: &TestServer, words: &str) {
    let r = reqwest::get(format!("{}/readyz", t.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains(words), "{v}");
}

/// A database that takes no writes (a standby, a host demoted, a database set read-only)
/// answers each write 503 with Retry-After, `/readyz` says why, and its own 503s are not
/// counted as requests shed; set writable again, the process recovers by itself. Before:
/// 500 `internal` for every write while `/readyz` said ready (AR-3, known as AF-F7), and
/// every probe counted in `edl_shed_total` (AR-4). PostgreSQL only. The server connects as
/// a role of its own, made read-only for new sessions: the other tests share the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_unavailable_not_an_internal_error() {
    let Some(base) = std::env::var("EDL_TEST_PG").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let admin = pg_client(&base).await;
    let role = format!(
        "ro_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I \
             TO {role}', current_database()); END $$"
        ))
        .await
        .unwrap();
    let as_role = base.replacen("postgres://edl@", &format!("postgres://{role}@"), 1);
    assert_ne!(
        as_role, base,
        "the test server's URL names its user: {base}"
    );
    let t = TestServer::start_on_with(Some(&as_role), |c| c.metrics_token = SCRAPE.into()).await;
    let set = |read_only: bool| {
        let setting = if read_only {
            "SET default_transaction_read_only = on"
        } else {
            "RESET default_transaction_read_only"
        };
        format!(
            "ALTER ROLE {role} {setting}; SELECT pg_terminate_backend(pid) \
             FROM pg_stat_activity WHERE usename = '{role}'"
        )
    };
    admin.batch_execute(&set(true)).await.unwrap();
    for _ in 0..2 {
        not_ready_saying(&t, "takes no writes").await;
    }
    let (_, text) = t.scrape(SCRAPE).await;
    assert_eq!(
        metric_sample(&text, "edl_shed_total", &["reason=\"unavailable\""]),
        None,
        "the probe's answers are not requests shed: {text}"
    );
    let r = t
        .http
        .post(format!("{}/admin/verifiers", t.url))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "平安保险", "class": "insurer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key(reqwest::header::RETRY_AFTER));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unavailable", "{v}");
    let (_, text) = t.scrape(SCRAPE).await;
    assert_eq!(
        metric_sample(&text, "edl_shed_total", &["reason=\"unavailable\""]),
        Some(1.0),
        "{text}"
    );
    admin.batch_execute(&set(false)).await.unwrap();
    let (s, v) = t
        .admin(
            Method::POST,
            "/admin/verifiers",
            json!({"name": "平安保险", "class": "insurer"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "writable again: {v}");
    let r = reqwest::get(format!("{}/readyz", t.url)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A process started on a database that takes no writes stops at start, saying so.
    admin.batch_execute(&set(true)).await.unwrap();
    let refused = edl_authority::serve(t.config())
        .await
        .err()
        .expect("refused at start");
    assert!(refused.to_string().contains("takes no writes"), "{refused}");
    admin.batch_execute(&set(false)).await.unwrap();
}

/// `/metrics` shows the store's connection pools (issue 15's "pool use", AR-5): on
/// PostgreSQL each pool's most connections, those in use and idle, and the calls waiting
/// for one; nothing on SQLite, which has no such pool to show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrape_shows_the_store_s_connection_pools() {
    let t = start_with(|_| {}).await;
    // Some reads and writes first, so the pools have opened connections.
    t.issued_wallet(&number(4)).await;
    let (_, text) = t.scrape(SCRAPE).await;
    if t.pg.is_none() {
        assert_eq!(
            metric_sample(&text, "edl_store_pool_max_connections", &[]),
            None,
            "{text}"
        );
        return;
    }
    for pool in ["read", "writer"] {
        let label = format!("pool=\"{pool}\"");
        let sample = |name: &str, state: Option<&str>| {
            let mut labels = vec![label.as_str()];
            labels.extend(state);
            metric_sample(&text, name, &labels).unwrap_or_else(|| panic!("{name} {pool}: {text}"))
        };
        let max = sample("edl_store_pool_max_connections", None);
        let in_use = sample("edl_store_pool_connections", Some("state=\"in_use\""));
        let idle = sample("edl_store_pool_connections", Some("state=\"idle\""));
        assert!(max >= 2.0, "{pool}: {max}");
        assert!(idle >= 1.0, "{pool}: a connection opened and returned");
        assert!(in_use + idle <= max, "{pool}: {in_use} + {idle} > {max}");
        assert_eq!(sample("edl_store_pool_waiting", None), 0.0, "{pool}");
    }
    assert_eq!(
        metric_sample(
            &text,
            "edl_store_pool_max_connections",
            &["pool=\"writer\""]
        ),
        Some(edl_authority::store::postgres::WRITER_CONNECTIONS as f64)
    );
}

/// The writer's batches as distributions (issue 15's "writer batch sizes and commit
/// latency", AR-5): a size per committed batch, the same count and sum as the totals, and
/// a length per span the database held (each batch at least).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrape_shows_the_writer_s_batch_sizes_and_held_spans() {
    let t = start_with(|_| {}).await;
    t.issued_wallet(&number(5)).await;
    let (_, text) = t.scrape(SCRAPE).await;
    let sample =
        |name: &str| metric_sample(&text, name, &[]).unwrap_or_else(|| panic!("{name}: {text}"));
    let batches = sample("edl_writer_batches_total");
    assert!(batches >= 1.0, "{text}");
    assert_eq!(sample("edl_writer_batch_size_count"), batches);
    assert_eq!(
        sample("edl_writer_batch_size_sum"),
        sample("edl_writer_jobs_total")
    );
    assert!(sample("edl_writer_batch_held_duration_seconds_count") >= batches);
}
