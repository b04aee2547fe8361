//! A synchronous standby that goes away: PostgreSQL then holds every commit until it is
//! back, as it should (a commit acknowledged before the standby has it could be lost in a
//! fail-over). The authority must not queue writes behind a commit that does not come:
//! once its writer has held one batch for longer than `writer_stall`, new writes are
//! answered `503 unavailable` with `Retry-After` at once, the checks waiting for that
//! commit then too (D193), and `/readyz` says why; when the standby is back, the held
//! commit completes and writes are taken again (D179; the eighth review's O-F7, rest).
//!
//! Runs in the PostgreSQL pass of `scripts/test` (`EDL_TEST_PG` set), on two clusters of
//! its own. Bounded: about 20 s each, most of it making the clusters.

use crate::common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::*;
use edl_core::credential::Audience;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_synchronous_standby_away_writes_are_refused_at_once_and_taken_again_when_it_returns()
 {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: needs PostgreSQL; runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let primary = Cluster::start();
    let standby = primary.standby();
    let t =
        TestServer::start_on_with(Some(&primary.url), |c| c.metrics_token = SCRAPE.into()).await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("交警二队", "enforcement").await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "with the standby there: {v}");

    standby.ctl("down");
    // A check whose claim is now in a commit PostgreSQL holds: answered once the writer
    // has held that commit past the stall, not at the request's deadline (D193).
    let stall = t.config().writer_stall;
    let held = wallet.manual(Audience::Enforcement, t.now());
    let asked = Instant::now();
    let (s, v, h) = t.verify(&police, held.clone()).await;
    let took = asked.elapsed();
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "the check in the held commit: {v}"
    );
    assert!(h.contains_key("retry-after"), "{h:?}");
    assert!(
        took > stall && took < stall + Duration::from_secs(2),
        "answered at the stall: {took:?}"
    );

    let asked = Instant::now();
    let (s, v, h) = t
        .verify(&police, wallet.barcode(Audience::Business, t.now()))
        .await;
    let took = asked.elapsed();
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "a check while the writer holds a batch: {v}"
    );
    assert!(h.contains_key("retry-after"), "{h:?}");
    assert!(
        took < Duration::from_secs(2),
        "answered at once, not queued: {took:?}"
    );
    let (s, v, _) = t
        .raw(reqwest::Method::GET, "/readyz", &[], Vec::new())
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "not ready: {v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("has held a commit"),
        "says why: {v}"
    );
    assert!(
        held_seconds(&t).await > stall.as_secs_f64(),
        "the held batch is in the metrics"
    );

    standby.ctl("up");
    // The held commit completes.
    t.ready_within(Duration::from_secs(20)).await;
    // The held check's claim committed with its batch: the code is spent (another
    // verifier is refused), and sent again by its verifier, as the 503 told, it is
    // answered as its repeat (D108), not logged again (twenty-second review, AC-F5).
    let (s, v, _) = t.verify(&other, held.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "the held claim committed: {v}"
    );
    let (s, v, _) = t.verify(&police, held).await;
    assert_eq!(s, StatusCode::OK, "the held check sent again: {v}");
    // The refused check was not taken: sent again, it is answered as new.
    let (s, v, _) = t
        .verify(&police, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "the refused check sent again: {v}");
    let (s, v, _) = t
        .raw(reqwest::Method::GET, "/readyz", &[], Vec::new())
        .await;
    assert_eq!(s, StatusCode::OK, "ready again: {v}");
    assert!(held_seconds(&t).await < stall.as_secs_f64());
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警", "交警", "交警"],
        "each check logged once"
    );
}

const SCRAPE: &str = "scrape-token";

/// `edl_writer_batch_held_seconds` from `/metrics`.
async fn held_seconds(t: &TestServer) -> f64 {
    let (_, text) = t.scrape(SCRAPE).await;
    metric_sample(&text, "edl_writer_batch_held_seconds", &[]).expect("the gauge is scraped")
}

/// A check whose log entry is in a commit PostgreSQL holds (its synchronous standby away)
/// is answered 503 at the request deadline, and the commit completes once the standby is
/// back: the code was spent, and nobody was told. Its verifier sends it again after the
/// longest deadline served and the answer's Retry-After, and is answered, as the 503
/// said (D181), with one entry in the driver's log; another verifier is refused. Before,
/// the spender's repeat was answered for 10 s only, less than the 30 s deadline: 409
/// `already_used` (fourteenth review, U-F1; D183).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_held_past_its_deadline_is_answered_when_its_verifier_sends_it_again() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: needs PostgreSQL; runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let primary = Cluster::start();
    let standby = primary.standby();
    let t = TestServer::start_on_with(Some(&primary.url), |c| {
        c.request_timeout = Duration::from_secs(2);
    })
    .await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("交警二队", "enforcement").await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    // At a window's start, so the code is still good at the resend below.
    let now = t.now();
    t.clock.set(now - now % 30 + 30);
    let code = wallet.online_qr(Audience::Enforcement, t.now());

    standby.ctl("down");
    let (s, v, _) = t.verify(&police, code.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "the check in the held commit, at its deadline: {v}"
    );
    let retry_after = v["retry_after"].as_u64().expect("says when to come back");
    standby.ctl("up");
    // The held commit completes.
    t.ready_within(Duration::from_secs(20)).await;

    t.clock
        .advance(edl_authority::MAX_REQUEST_TIMEOUT.as_secs() + retry_after);
    let (s, v, _) = t.verify(&police, code.clone()).await;
    assert_eq!(s, StatusCode::OK, "sent again by its verifier: {v}");
    let (s, v, _) = t.verify(&other, code).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    assert_eq!(
        t.verified_by(&mut wallet).await,
        ["交警"],
        "one check, logged once"
    );
}
