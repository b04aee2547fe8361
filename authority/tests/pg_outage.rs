//! PostgreSQL stopped under load: while it is down the authority answers
//! `503 unavailable` with `Retry-After` (never a 500, never a hang), and when it comes back
//! the same process serves again without a restart. The load is eight clients: four
//! registering drivers and reading the review queue (the store's transactions), four
//! wallets syncing with signed requests (their nonces go through the group-committing
//! writer); a sync answered 200 while the database went away stays spent after it is back
//! (D104). Bounded: under 30 s (most of it making the cluster).
//!
//! Runs in the PostgreSQL pass of `scripts/test` (`EDL_TEST_PG` set), on a cluster of its
//! own (`scripts/pg-cluster`) so stopping it disturbs no other test.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::*;
use edl_core::wire::{paths, sign_request};
use reqwest::{Method, StatusCode};

#[derive(Default)]
struct Tally {
    ok: AtomicU32,
    unavailable_with_retry_after: AtomicU32,
    other: AtomicU32,
}

/// Tallies one answer: 200, 503 `unavailable` with Retry-After, or anything else.
fn count(
    tally: &Tally,
    status: StatusCode,
    body: &serde_json::Value,
    headers: &reqwest::header::HeaderMap,
) {
    if status == StatusCode::OK {
        tally.ok.fetch_add(1, Ordering::Relaxed);
    } else if status == StatusCode::SERVICE_UNAVAILABLE
        && body["error"] == "unavailable"
        && headers.get("retry-after").is_some()
    {
        tally
            .unavailable_with_retry_after
            .fetch_add(1, Ordering::Relaxed);
    } else {
        eprintln!("unexpected answer {status}: {body}");
        tally.other.fetch_add(1, Ordering::Relaxed);
    }
}

/// A signed sync's path and headers, kept to replay.
type Signed = (String, Vec<(&'static str, String)>);

/// One signed sync of `wallet`; the request is kept in `synced` when answered 200.
async fn sync(t: &TestServer, wallet: &Wallet, tally: &Tally, synced: &Mutex<Vec<Signed>>) {
    let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
    let auth = sign_request(&wallet.key, "GET", &path, &[], t.now(), rand16());
    let h: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (status, body, headers) = t.raw(Method::GET, &path, &h, Vec::new()).await;
    count(tally, status, &body, &headers);
    if status == StatusCode::OK {
        synced.lock().unwrap().push((path, h));
    }
}

/// One request of the light load: a write (a new driver) or a read (the review queue).
async fn one(t: &TestServer, n: u32, tally: &Tally) -> StatusCode {
    let (status, body, headers) = if n.is_multiple_of(2) {
        let l = edl_core::licence::fixtures::sample_licence(edl_core::verify::china_date(t.now()));
        let body = serde_json::json!({
            "licence_number": number(n),
            "name": l.main.name,
            "sex": "male",
            "nationality": l.main.nationality,
            "date_of_birth": "1990-03-07",
            "classes": "C1",
            "first_issue": "2012-03-07",
            "valid_from": "2018-03-07",
            "valid_until": "2028-03-07",
            "address": l.supplementary.address,
            "issuing_authority": l.supplementary.issuing_authority,
        });
        t.raw(
            Method::POST,
            paths::DRIVERS,
            &[("authorization", edl_core::wire::bearer(ADMIN))],
            serde_json::to_vec(&body).unwrap(),
        )
        .await
    } else {
        t.raw(
            Method::GET,
            paths::REVIEWS,
            &[("authorization", edl_core::wire::bearer(ADMIN))],
            Vec::new(),
        )
        .await
    };
    count(tally, status, &body, &headers);
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_answers_503_with_retry_after_and_recovers_by_itself() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    let cluster = Cluster::start();
    let t = Arc::new(TestServer::start_on(Some(&cluster.url)).await);
    let up = Tally::default();
    for n in 0..20 {
        assert_eq!(one(&t, n, &up).await, StatusCode::OK);
    }

    let mut wallets = Vec::new();
    for c in 0..4 {
        wallets.push(Arc::new(t.issued_wallet(&number(9_000 + c)).await.1));
    }

    // Load from 8 clients while the database goes away.
    let down = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let synced = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for wallet in &wallets {
        let (t, down, stop, wallet, synced) = (
            t.clone(),
            down.clone(),
            stop.clone(),
            wallet.clone(),
            synced.clone(),
        );
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                sync(&t, &wallet, &down, &synced).await;
                assert!(started.elapsed() < Duration::from_secs(8));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for c in 0..4u32 {
        let (t, down, stop) = (t.clone(), down.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 1_000 * (c + 1);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                one(&t, n, &down).await;
                // Answered within the retry bound, not after a client's patience.
                assert!(started.elapsed() < Duration::from_secs(8));
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.ctl("down");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    assert!(
        down.unavailable_with_retry_after.load(Ordering::Relaxed) > 0,
        "no 503 with Retry-After while the database was down"
    );
    assert_eq!(
        down.other.load(Ordering::Relaxed),
        0,
        "answers other than 200 or 503"
    );

    // Back up: the same process serves again, without a restart.
    cluster.ctl("up");
    let back = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = 6_000;
    loop {
        if one(&t, n, &back).await == StatusCode::OK
            && one(&t, n + 1, &back).await == StatusCode::OK
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recovered 15 s after the database returned"
        );
        n += 2;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let steady = Tally::default();
    for k in 0..20 {
        assert_eq!(one(&t, 7_000 + k, &steady).await, StatusCode::OK);
    }
    assert_eq!(back.other.load(Ordering::Relaxed), 0);

    // Every sync answered 200 around the outage was durable: sent again, it is refused
    // as a replay (its nonce was committed before the answer), never served twice.
    let synced = std::mem::take(&mut *synced.lock().unwrap());
    assert!(!synced.is_empty());
    for (path, h) in &synced {
        let (s, v, _) = t.raw(Method::GET, path, h, Vec::new()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("replayed_request")),
            "{v}"
        );
    }
    // The wallets finish: a new sync goes through.
    for wallet in &wallets {
        let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
        let (s, v, _) = t
            .signed(wallet, Method::GET, &path, serde_json::Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}
