//! Nobody can stop a driver from enrolling (issue 13, finding 1; D75): wrong activation
//! codes no longer burn the code; they slow down further tries on that licence (a short,
//! capped back-off) and from that source (a long one). The driver with the right code
//! gets in after an attacker's failures within the licence's capped delay.
//!
//! The counts are kept in the store (D156): a restart forgets none of them, two authority
//! processes on one database count together, a burst of parallel tries (on one process or
//! spread over two) gets no extra ones, a try refused during a wait writes nothing, and
//! the rows are named by digests keyed by the KEK, never by the licence number or address.

use crate::common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use common::*;
use edl_authority::config::EnrolLimits;
use edl_authority::forwarded::TrustedProxies;
use edl_authority::seal::{FileKek, KeyedDigest};
use edl_core::crypto::SecretKey;
use edl_core::wire::{Base64, paths};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A client whose requests come from another loopback address than the driver's.
fn attacker() -> reqwest::Client {
    from(2)
}

/// A client whose requests come from 127.0.0.`n` (the driver's phone is 127.0.0.1).
fn from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn enrol(
    t: &TestServer,
    http: &reqwest::Client,
    number: &str,
    code: &str,
) -> (StatusCode, Value, Option<u64>) {
    enrol_at(&t.url, http, number, code).await
}

/// An enrolment whose request carries `X-Forwarded-For: forwarded_for`, as a load
/// balancer in front would add it.
async fn enrol_via(
    t: &TestServer,
    http: &reqwest::Client,
    forwarded_for: &str,
    number: &str,
    code: &str,
) -> (StatusCode, Value) {
    let (status, body, _) = enrol_request(&t.url, http, Some(forwarded_for), number, code).await;
    (status, body)
}

/// An enrolment at the server at `url` (one of two processes on one database).
async fn enrol_at(
    url: &str,
    http: &reqwest::Client,
    number: &str,
    code: &str,
) -> (StatusCode, Value, Option<u64>) {
    enrol_request(url, http, None, number, code).await
}

/// An enrolment at `url` with a new device key, and `X-Forwarded-For` when given: the
/// answer's status, body and Retry-After.
async fn enrol_request(
    url: &str,
    http: &reqwest::Client,
    forwarded_for: Option<&str>,
    number: &str,
    code: &str,
) -> (StatusCode, Value, Option<u64>) {
    let key = SecretKey::from_seed(rand32());
    let mut request = http.post(format!("{url}{}", paths::ENROL));
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    let resp = request
        .json(&json!({
            "licence_number": number,
            "activation_code": code,
            "device_public_key": Base64::encode(&key.public().to_bytes()),
        }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, resp.json().await.unwrap(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_do_not_lock_the_driver_out() {
    let t = TestServer::start().await;
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let limits = EnrolLimits::default();

    // Far more wrong codes than the old five that burnt the code, as fast as allowed.
    let evil = attacker();
    let mut refused = 0;
    for i in 0..20 {
        let (s, v, retry) = enrol(&t, &evil, &n, &format!("{:08}", i)).await;
        match s {
            StatusCode::UNAUTHORIZED => assert_eq!(v["error"], "bad_activation_code"),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(v["error"], "locked_out");
                assert!(retry.is_some_and(|r| r > 0), "{v}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
        t.clock.advance(1);
    }
    assert!(refused > 0, "the attacker was never slowed down");

    // The driver, from their own phone, with the right code: in, within the licence's
    // capped delay.
    let (s, v, retry) = enrol(&t, &t.http, &n, &code).await;
    let (s, v) = if s == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry.expect("Retry-After");
        assert!(wait <= limits.licence.cap, "driver told to wait {wait} s");
        t.clock.advance(wait);
        let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
        (s, v)
    } else {
        (s, v)
    };
    assert_eq!(s, StatusCode::OK, "the driver could not enrol: {v}");
    assert_eq!(v["account_id"], driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_spraying_many_licences_is_slowed_down_for_long() {
    let t = TestServer::start().await;
    let limits = EnrolLimits::default();
    let evil = attacker();
    let mut last = None;
    // One guess on each of many licences (most not even registered): per-licence limits
    // never trigger, the source's do.
    for i in 0..(limits.source.free + 6) {
        let (s, v, retry) = enrol(&t, &evil, &number(100 + i), "12345678").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            last = retry;
        } else {
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        }
    }
    let wait = last.expect("the spraying source was never locked out");
    assert!(wait > limits.licence.cap, "locked out for only {wait} s");

    // Another source (the honest driver) is not affected.
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// `tries` wrong codes on `number` from `http`, all sent at once, spread over the servers
/// at `urls` in turn: the status of each.
async fn burst(urls: &[&str], http: &reqwest::Client, number: &str, tries: u32) -> Vec<StatusCode> {
    let tasks: Vec<_> = (0..tries)
        .map(|i| {
            let (url, http, number) = (
                urls[i as usize % urls.len()].to_owned(),
                http.clone(),
                number.to_owned(),
            );
            tokio::spawn(async move {
                enrol_at(&url, &http, &number, &format!("{:08}", 90_000 + i)).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let (s, v, _) = task.await.unwrap();
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
            "unexpected {s}: {v}"
        );
        statuses.push(s);
    }
    statuses
}

fn wrong(statuses: &[StatusCode]) -> usize {
    statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count()
}

/// Tries on one licence let through when sent one after the other: the free ones and the
/// one that starts the first wait.
fn let_through(limits: &EnrolLimits) -> usize {
    limits.licence.free as usize + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_parallel_wrong_codes_gets_no_extra_tries() {
    let t = TestServer::start().await;
    let limits = EnrolLimits::default();
    let n = number(1);
    t.create_driver(&n, true).await;
    let statuses = burst(&[&t.url], &attacker(), &n, 30).await;
    assert_eq!(wrong(&statuses), let_through(&limits), "{statuses:?}");
}

/// A restart used to forget every count (D75 kept them in the process's memory): each
/// licence got its free tries back and each source its ten, one guessing round per
/// restart at full speed (D156).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_off_survives_a_restart() {
    let mut t = TestServer::start().await;
    let limits = EnrolLimits::default();
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let evil = attacker();
    for i in 0..let_through(&limits) {
        let (s, v, _) = enrol(&t, &evil, &n, &format!("{:08}", i)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    let (s, _, retry) = enrol(&t, &evil, &n, "00000042").await;
    assert_eq!(
        (s, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(limits.licence.base))
    );

    t.restart().await;

    // Still waiting: the restart gave no free try back.
    let (s, v, retry) = enrol(&t, &evil, &n, "00000043").await;
    assert_eq!(
        (s, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(limits.licence.base)),
        "a restart forgot the licence's count: {v}"
    );
    // After the wait the count goes on from where it was: the next wait is doubled.
    t.clock.advance(limits.licence.base);
    let (s, v, _) = enrol(&t, &evil, &n, "00000044").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _, retry) = enrol(&t, &evil, &n, "00000045").await;
    assert_eq!(
        (s, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(2 * limits.licence.base))
    );

    // One source spraying many licences, then a restart: still slowed down.
    let sprayer = from(3);
    for i in 0..=limits.source.free {
        let (s, v, _) = enrol(&t, &sprayer, &number(100 + i), "12345678").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    let (s, _, retry) = enrol(&t, &sprayer, &number(200), "12345678").await;
    assert_eq!(
        (s, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(limits.source.base))
    );
    t.restart().await;
    let (s, v, retry) = enrol(&t, &sprayer, &number(201), "12345678").await;
    assert_eq!(
        (s, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(limits.source.base)),
        "a restart forgot the source's count: {v}"
    );

    // The driver, once the licence's wait is over, gets in, and the licence starts over.
    t.clock.advance(2 * limits.licence.base);
    let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = enrol(&t, &evil, &n, "00000046").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the success did not forgive the licence: {v}"
    );
}

/// Several authority processes on one database behind a balancer (docs/DEPLOYMENT.md):
/// each used to count alone, so a guesser got the free tries and the guessing rate once
/// per process (D156). Runs on both backends: two servers over one SQLite file, or over
/// one PostgreSQL database in the PostgreSQL pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_share_the_count() {
    let t = TestServer::start().await;
    let (other, u) = t.second_process().await;
    let limits = EnrolLimits::default();
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;

    // Tries on one licence through either process, in turn: its free tries once.
    let evil = attacker();
    for i in 0..let_through(&limits) {
        let at = if i % 2 == 0 { &t } else { &u };
        let (s, v, _) = enrol(at, &evil, &n, &format!("{:08}", i)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    for at in [&t, &u] {
        let (s, v, retry) = enrol(at, &evil, &n, "00000042").await;
        assert_eq!(
            (s, retry),
            (StatusCode::TOO_MANY_REQUESTS, Some(limits.licence.base)),
            "{} counted alone: {v}",
            at.url
        );
    }

    // A burst spread over both processes: no extra tries either.
    let m = number(2);
    t.create_driver(&m, true).await;
    let statuses = burst(&[&t.url, &u.url], &from(3), &m, 40).await;
    assert_eq!(wrong(&statuses), let_through(&limits), "{statuses:?}");

    // One source spraying licences through both processes: its ten free tries once.
    let sprayer = from(4);
    for i in 0..=limits.source.free {
        let at = if i % 2 == 0 { &t } else { &u };
        let (s, v, _) = enrol(at, &sprayer, &number(100 + i), "12345678").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    for at in [&t, &u] {
        let (s, v, retry) = enrol(at, &sprayer, &number(200), "12345678").await;
        assert_eq!(
            (s, retry),
            (StatusCode::TOO_MANY_REQUESTS, Some(limits.source.base)),
            "{} counted the source alone: {v}",
            at.url
        );
    }

    // The driver enrols through the other process once the wait is over; the licence
    // starts over on both.
    t.clock.advance(limits.licence.base);
    let (s, v, _) = enrol(&u, &u.http, &n, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = enrol(&t, &evil, &n, "00000043").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    other.shutdown().await.expect("clean shutdown");
}

const SCRAPE: &str = "test-scrape-token";

/// The number of store writes of the enrolment back-off so far, from `/metrics`.
async fn backoff_writes(t: &TestServer) -> Option<f64> {
    let (_, text) = t.scrape(SCRAPE).await;
    metric_sample(
        &text,
        "edl_store_write_duration_seconds_count",
        &["op=\"enrol_backoff\""],
    )
}

/// An anonymous caller sends enrolments at will: each try counted is one write, and a
/// try refused during a wait is answered from a read, so flooding a locked licence or
/// from a locked source writes nothing, even in a burst of parallel tries (D156).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_try_refused_during_a_wait_writes_nothing() {
    let t = TestServer::start_with(|c| c.metrics_token = SCRAPE.into()).await;
    let limits = EnrolLimits::default();
    let n = number(1);
    t.create_driver(&n, true).await;
    let evil = attacker();
    for i in 0..let_through(&limits) {
        let (s, v, _) = enrol(&t, &evil, &n, &format!("{:08}", i)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    let counted = backoff_writes(&t).await;
    assert_eq!(
        counted,
        Some(let_through(&limits) as f64),
        "one write per try counted"
    );
    for i in 0..50 {
        let (s, _, _) = enrol(&t, &evil, &n, &format!("{:08}", 100 + i)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(backoff_writes(&t).await, counted, "a refused try wrote");

    // A burst on another licence: the tries refused by the wait the burst began are
    // refused by reads too, not inside a write.
    let m = number(2);
    let statuses = burst(&[&t.url], &from(3), &m, 50).await;
    assert_eq!(wrong(&statuses), let_through(&limits), "{statuses:?}");
    assert_eq!(
        backoff_writes(&t).await,
        counted.map(|c| c + let_through(&limits) as f64),
        "a burst's refused tries reached the store's change"
    );
}

/// The stored counts are named by digests keyed by the KEK (D150's `keyed_digest`, labels
/// of their own): licence numbers are ID-card numbers and sources are addresses, and a
/// plain hash of either could be searched from a copy of the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_off_is_stored_under_names_the_database_alone_cannot_reverse() {
    let kek = [0x21; 32];
    let t = TestServer::start_with(|c| c.kek = Some(Arc::new(FileKek::new(&kek)))).await;
    let n = number(1);
    let (s, v, _) = enrol(&t, &attacker(), &n, "12345678").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");

    let names: BTreeSet<Vec<u8>> = match &t.pg {
        Some(url) => {
            let client = pg_client(url).await;
            client
                .query("SELECT key FROM enrol_backoff", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        }
        None => rusqlite::Connection::open(t.db())
            .unwrap()
            .prepare("SELECT key FROM enrol_backoff")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
    };
    let keyed =
        |label: &[u8], data: &[u8]| FileKek::new(&kek).keyed_digest(label, data)[..16].to_vec();
    // 127.0.0.2 as the throttle keys a source: a tag byte, then `0:ffff:` and the address
    // (its IPv4-mapped form moved up, apart from every IPv6 /64).
    let source = [1, 0, 0, 0xff, 0xff, 127, 0, 0, 2];
    let expected: BTreeSet<Vec<u8>> = [
        keyed(b"enrolment licence number", n.as_bytes()),
        keyed(b"enrolment source", &source),
    ]
    .into();
    assert_eq!(names, expected);
    let unkeyed = edl_core::crypto::sha256(n.as_bytes());
    assert!(names.iter().all(|k| !unkeyed.starts_with(k)));
}

/// Behind the load balancer of docs/DEPLOYMENT.md every enrolment came from its address,
/// so eleven wrong tries by one anonymous client locked out every driver's right code, and
/// one try an hour kept it so (twenty-seventh review, AH-F3). With the balancer (here
/// 127.0.0.1) trusted, the source counted is the address it forwards: the client's wrong
/// tries count against the client alone, and still do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tries_through_a_trusted_proxy_count_against_the_forwarded_address() {
    let t = TestServer::start_with(|c| {
        c.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let limits = EnrolLimits::default();
    let balancer = &t.http;
    for i in 0..=limits.source.free {
        let (s, v) = enrol_via(&t, balancer, "192.0.2.7", &number(100 + i), "12345678").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"], "bad_activation_code");
    }

    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let (s, v) = enrol_via(&t, balancer, "198.51.100.9", &n, &code).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the driver behind the balancer was locked out: {v}"
    );
    assert_eq!(v["account_id"], driver);

    // The client that sent the wrong tries was counted.
    let (s, v) = enrol_via(&t, balancer, "192.0.2.7", &number(200), "12345678").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "locked_out");
}

/// Without a trusted proxy (the default) `X-Forwarded-For` is not read: a client naming
/// another address with each try would otherwise never be counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let t = TestServer::start().await;
    let limits = EnrolLimits::default();
    let evil = attacker();
    let random_address = || {
        let b = rand16();
        format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
    };
    for i in 0..=limits.source.free {
        let (s, v) = enrol_via(&t, &evil, &random_address(), &number(100 + i), "12345678").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    for code in [code.as_str(), "12345678"] {
        let (s, v) = enrol_via(&t, &evil, &random_address(), &n, code).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "escaped the count: {v}");
        assert_eq!(v["error"], "locked_out");
    }
}

/// A wrong code on a licence with a code waiting writes nothing to the driver's record:
/// the code is decided on a read, and only the right one goes to the writer (twenty-seventh
/// review, AH-F2). Before, a wrong code committed an attempt counter nothing read, so one
/// try's time told a registered number, and one with a code waiting, from an unknown one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_writes_nothing_to_the_driver_s_record() {
    const SCRAPE: &str = "enrol-scrape-token";
    let t = TestServer::start_with(|c| c.metrics_token = SCRAPE.into()).await;
    let n = number(3);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let driver_writes = |text: &str| {
        metric_sample(
            text,
            "edl_store_write_duration_seconds_count",
            &["op=\"update_driver\""],
        )
        .unwrap_or(0.0)
    };
    let before = driver_writes(&t.scrape(SCRAPE).await.1);
    let (s, v, _) = enrol(&t, &attacker(), &n, "00000000").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(driver_writes(&t.scrape(SCRAPE).await.1), before);
    // The right code still enrols, through the writer.
    let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(driver_writes(&t.scrape(SCRAPE).await.1), before + 1.0);
}
