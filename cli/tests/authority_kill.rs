//! `edl authority serve` killed with SIGKILL under load and started again on the same
//! database (issue 15, D103): every online check it answered 200 is in the driver's
//! verification log exactly once, every signed sync it answered stays spent (its nonce is
//! durable), every photo upload it acknowledged is there, and after the restart the
//! wallets and verifiers finish what was cut off by retrying, with nothing lost or
//! duplicated (a verifier sends a cut-off check again with the same code: D108). The real binary on loopback, on a SQLite file, or on PostgreSQL in the
//! PostgreSQL pass of `scripts/test` (`EDL_TEST_PG`: a schema of its own there). Bounded:
//! 16 drivers, 96 checks, a few hundred syncs; seconds.

#![cfg(unix)]

use crate::common;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edl_authority::testing::{PG_ENV, TestServer, Wallet, jpeg, number, pg_database, rand16};
use edl_authority::{Clock, ManualClock, SystemClock};
use edl_core::credential::Audience;
use edl_core::wire::{self, Base64, SyncResponse, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const DRIVERS: u32 = 16;
/// Verifiers checking at once.
const VERIFY_WORKERS: usize = 8;
/// The server is killed once this many checks were answered 200 (of 96).
const KILL_AFTER: usize = 40;

/// One online check: which driver, by the police (their enforcement code) or the insurer
/// (the business code), and in which form. Each is one code, so each has exactly one
/// `verified` entry in the log at the end, however often it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Check {
    driver: usize,
    police: bool,
    method: &'static str,
}

/// A signed request's path and headers, to send again.
type Signed = (String, Vec<(&'static str, String)>);

/// What became of the requests sent before the kill.
#[derive(Default)]
struct Outcomes {
    /// Answered 200.
    acked: HashSet<Check>,
    /// Sent, but the connection died before the answer, committed or not: the body sent,
    /// to send again as the verifier's app does (D108).
    unknown: HashMap<Check, Vec<u8>>,
    /// Never reached the server (connection refused): to send again.
    undelivered: Vec<Check>,
    /// Photo uploads answered 200: the driver's photo id.
    uploads: HashMap<usize, u64>,
    /// The signed syncs answered 200: (driver, path, headers), to replay.
    syncs: Vec<(usize, Signed)>,
}

/// The database: a file in `dir`, or a new schema on the PostgreSQL server of the
/// PostgreSQL pass.
async fn database(dir: &Path) -> String {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.is_empty() => pg_database(&url).await,
        _ => dir.join("authority.db").display().to_string(),
    }
}

fn headers(
    t: &TestServer,
    wallet: &Wallet,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let auth = sign_request(&wallet.key, method.as_str(), path, body, t.now(), rand16());
    auth.headers(wallet.account).into_iter().collect()
}

fn upload_body(driver: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "client_key": format!("change-{driver}"),
        "photo": Base64::encode(&jpeg(100 + driver as u8)),
    }))
    .unwrap()
}

fn check_body(wallet: &Wallet, check: Check, now: u64) -> Vec<u8> {
    let audience = if check.police {
        Audience::Enforcement
    } else {
        Audience::Business
    };
    let body = match check.method {
        "qr" => wallet.online_qr(audience, now),
        "manual" => wallet.manual(audience, now),
        _ => wallet.barcode(audience, now),
    };
    serde_json::to_vec(&body).unwrap()
}

/// The driver's whole verification log, read through the wallet's own sync.
async fn verification_log(t: &TestServer, wallet: &Wallet) -> Vec<wire::VerificationLogEntry> {
    let mut cursor = 0;
    let mut log = Vec::new();
    loop {
        let path = format!("{}?cursor={cursor}", paths::SYNC);
        let h = headers(t, wallet, &Method::GET, &path, &[]);
        let (s, v, _) = t.raw(Method::GET, &path, &h, Vec::new()).await;
        assert_eq!(s, StatusCode::OK, "sync: {v}");
        let r: SyncResponse = serde_json::from_value(v).unwrap();
        log.extend(r.verifications);
        cursor = r.cursor;
        if !r.more {
            return log;
        }
    }
}

/// How many `verified` entries each check has in the drivers' logs.
async fn logged(t: &TestServer, wallets: &[Arc<Wallet>]) -> HashMap<Check, usize> {
    let mut logged: HashMap<Check, usize> = HashMap::new();
    for (driver, wallet) in wallets.iter().enumerate() {
        for entry in verification_log(t, wallet).await {
            let e = serde_json::to_value(&entry).unwrap();
            assert_eq!(e["outcome"], "verified", "{e}");
            let check = Check {
                driver,
                police: entry.verifier == "交警",
                method: match e["method"].as_str().unwrap() {
                    "qr" => "qr",
                    "manual" => "manual",
                    _ => "barcode",
                },
            };
            *logged.entry(check).or_default() += 1;
        }
    }
    logged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_check_sync_or_upload() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let kek = dir.path().join("authority.kek");
    let envs: [(&str, &OsStr); 1] = [("EDL_AUTHORITY_KEK_FILE", kek.as_os_str())];
    let (mut child, addr) = common::serve(&db, &[], &envs);

    // The clients sign with the real time the server reads.
    let clock = ManualClock::new(SystemClock.now());
    let ticking = {
        let clock = clock.clone();
        tokio::spawn(async move {
            loop {
                clock.set(SystemClock.now());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let t = Arc::new(TestServer::clients_of(
        &format!("http://{addr}"),
        clock.clone(),
    ));
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let mut wallets = Vec::new();
    for n in 0..DRIVERS {
        wallets.push(Arc::new(t.issued_wallet(&number(500 + n)).await.1));
    }
    let mut queue = Vec::new();
    for driver in 0..DRIVERS as usize {
        // A QR and its barcode carry one code (D120), so each verifier shows one of them:
        // the police scan the QR, the insurer the barcode; both take a manual code.
        for (police, methods) in [(true, ["qr", "manual"]), (false, ["barcode", "manual"])] {
            for method in methods {
                queue.push(Check {
                    driver,
                    police,
                    method,
                });
            }
        }
    }
    let all_checks: HashSet<Check> = queue.iter().copied().collect();
    // Interleave the drivers, so the kill finds checks of every one in flight.
    queue.sort_by_key(|c| (c.method, c.police, std::cmp::Reverse(c.driver)));
    let queue = Arc::new(Mutex::new(queue));
    let out = Arc::new(Mutex::new(Outcomes::default()));
    let verified = Arc::new(AtomicUsize::new(0));
    let gone = Arc::new(AtomicBool::new(false));

    let mut tasks = Vec::new();
    for _ in 0..VERIFY_WORKERS {
        let (t, queue, out, verified, wallets) = (
            t.clone(),
            queue.clone(),
            out.clone(),
            verified.clone(),
            wallets.clone(),
        );
        let keys = (police.api_key.clone(), insurer.api_key.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(check) = queue.lock().unwrap().pop() else {
                    return;
                };
                let key = if check.police { &keys.0 } else { &keys.1 };
                let body = check_body(&wallets[check.driver], check, t.now());
                let answer = t
                    .try_raw(
                        Method::POST,
                        paths::VERIFY,
                        &[(wire::HEADER_API_KEY, key.clone())],
                        body.clone(),
                    )
                    .await;
                let mut out = out.lock().unwrap();
                match answer {
                    Ok((StatusCode::OK, _, _)) => {
                        out.acked.insert(check);
                        verified.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok((s, v, _)) => panic!("{check:?}: {s} {v:?}"),
                    Err(e) if e.is_connect() => out.undelivered.push(check),
                    Err(_) => {
                        out.unknown.insert(check, body);
                    }
                }
            }
        }));
    }
    for (driver, wallet) in wallets.iter().enumerate() {
        let (t, out, gone, wallet) = (t.clone(), out.clone(), gone.clone(), wallet.clone());
        tasks.push(tokio::spawn(async move {
            // A photo change (idempotent by its client key), then syncs until the server
            // is gone.
            let body = upload_body(driver);
            let h = headers(&t, &wallet, &Method::POST, paths::PHOTO, &body);
            match t.try_raw(Method::POST, paths::PHOTO, &h, body).await {
                Ok((StatusCode::OK, Ok(v), _)) => {
                    let id = v["photo_id"].as_u64().unwrap();
                    out.lock().unwrap().uploads.insert(driver, id);
                }
                Ok((s, v, _)) => panic!("upload: {s} {v:?}"),
                Err(_) => return,
            }
            while !gone.load(Ordering::SeqCst) {
                let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
                let h = headers(&t, &wallet, &Method::GET, &path, &[]);
                match t.try_raw(Method::GET, &path, &h, Vec::new()).await {
                    Ok((StatusCode::OK, _, _)) => {
                        out.lock().unwrap().syncs.push((driver, (path, h)))
                    }
                    Ok((s, v, _)) => panic!("sync: {s} {v:?}"),
                    Err(_) => return,
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    // SIGKILL mid-run: no drain, no last batch, whatever was in flight is cut off.
    let deadline = Instant::now() + Duration::from_secs(30);
    while verified.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    gone.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let out = Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap();
    assert!(
        out.acked.len() < all_checks.len(),
        "the kill came after the load"
    );
    assert!(!out.syncs.is_empty());

    // Started again on the same database.
    let (mut child, addr) = common::serve(&db, &[], &envs);
    let t = TestServer::clients_of(&format!("http://{addr}"), clock.clone());

    // The checks cut off by the kill are sent again at once, the same code by the same
    // verifier (within D68's ten seconds and the code's window): answered 200 whether or
    // not the first attempt committed (those that did are answered as repeats, D108),
    // and logged once either way (checked below).
    let before = logged(&t, &wallets).await;
    let committed = out
        .unknown
        .keys()
        .filter(|c| before.contains_key(c))
        .count();
    for (check, body) in &out.unknown {
        let key = if check.police {
            &police.api_key
        } else {
            &insurer.api_key
        };
        let (s, v, _) = t
            .raw(
                Method::POST,
                paths::VERIFY,
                &[(wire::HEADER_API_KEY, key.clone())],
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{check:?} cut off, sent again: {v}");
    }

    // An acknowledged sync stays spent: its nonce was durable before the answer.
    let mut last_sync = HashMap::new();
    for (driver, signed) in &out.syncs {
        last_sync.insert(*driver, signed);
    }
    for (path, h) in last_sync.values() {
        let (s, v, _) = t.raw(Method::GET, path, h, Vec::new()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("replayed_request")),
            "an acknowledged sync was forgotten"
        );
    }
    // Every wallet finishes its photo change by retrying it with the same key: the one
    // acknowledged is the one kept, and nobody has two under review.
    let mut photos = HashSet::new();
    for (driver, wallet) in wallets.iter().enumerate() {
        let (s, v, _) = t
            .signed(
                wallet,
                Method::POST,
                paths::PHOTO,
                serde_json::from_slice(&upload_body(driver)).unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "upload retried: {v}");
        let id = v["photo_id"].as_u64().unwrap();
        if let Some(acked) = out.uploads.get(&driver) {
            assert_eq!(id, *acked, "an acknowledged upload was lost");
        }
        photos.insert(id);
    }
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    let queued: HashSet<u64> = queue["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["photo_id"].as_u64().unwrap())
        .collect();
    assert_eq!(queued, photos, "one photo under review per driver");
    assert_eq!(queue["reviews"].as_array().unwrap().len(), DRIVERS as usize);

    // The checks that never reached the server go through now.
    for check in &out.undelivered {
        let key = if check.police {
            &police.api_key
        } else {
            &insurer.api_key
        };
        let (s, v, _) = t
            .raw(
                Method::POST,
                paths::VERIFY,
                &[(wire::HEADER_API_KEY, key.clone())],
                check_body(&wallets[check.driver], *check, t.now()),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{check:?} after the restart: {v}");
    }

    // The log: every check once (acknowledged, cut off and sent again, or never
    // delivered and sent again), nothing else.
    let logged = logged(&t, &wallets).await;
    for check in &all_checks {
        let n = logged.get(check).copied().unwrap_or(0);
        let cut_off = out.unknown.contains_key(check);
        assert_eq!(n, 1, "{check:?} (cut off: {cut_off}) logged {n} times");
    }
    assert!(logged.keys().all(|c| all_checks.contains(c)));
    eprintln!(
        "killed after {} checks answered ({} cut off, {} of them committed; {} undelivered: all sent again), {} syncs, {} uploads; {:.1} s",
        out.acked.len(),
        out.unknown.len(),
        committed,
        out.undelivered.len(),
        out.syncs.len(),
        out.uploads.len(),
        started.elapsed().as_secs_f64()
    );
    ticking.abort();
    common::sigterm(&child);
    assert!(common::wait_within(&mut child, Duration::from_secs(10)).is_some());
}
