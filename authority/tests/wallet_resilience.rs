//! The core's `Wallet` when things go wrong: the server goes away mid-life, the app is
//! killed in the middle of a sync, several threads use one wallet at once. Real server on
//! loopback, real database files, real encrypted store.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::holding_proxy::HoldingProxy;
use common::*;
use edl_authority::serve;
use edl_core::credential::Audience;
use edl_core::licence::Licence;
use edl_core::net::NetError;
use edl_core::present::Form;
use edl_core::verify::{Policy, verify_offline};
use edl_core::wallet::store::{SoftwareKeyStore, StoreRead, WalletStore};
use edl_core::wallet::{StoredElicence, TestIdentityProvider, Wallet, WalletError};
use edl_core::wire::{
    ApplicationPhase, ApplicationView, FeedMessage, MessageKind, VerificationLogEntry, paths,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

const KEY: [u8; 32] = [77; 32];

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new(KEY))
}

/// A core wallet in `dir` with an issued e-licence (the driver has a photo on file).
async fn issued_wallet(t: &TestServer, dir: &Path, n: &str) -> (u64, Wallet) {
    let driver = t.create_driver(n, true).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir, &keys()).unwrap();
    wallet.enrol(&t.url, n, &code).await.unwrap();
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap();
    assert_eq!(view.phase, ApplicationPhase::Issued);
    (driver, wallet)
}

async fn violation(t: &TestServer, driver: u64, points: u8) {
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2026-11-20", "place": "北京市朝阳区建国路", "act": "违反禁令标志指示", "points": points, "fine_yuan": 200}),
    )
    .await;
}

/// Everything a screen shows, to compare before and after.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    licence: Option<Licence>,
    elicence: Option<StoredElicence>,
    application: Option<ApplicationView>,
    messages: Vec<FeedMessage>,
    log: Vec<VerificationLogEntry>,
    last_synced: Option<u64>,
    photo: Option<Vec<u8>>,
}

fn snapshot(w: &Wallet) -> Snapshot {
    Snapshot {
        licence: w.licence().unwrap(),
        elicence: w.elicence().unwrap(),
        application: w.application().unwrap(),
        messages: w.messages().unwrap(),
        log: w.verification_log().unwrap(),
        last_synced: w.last_synced().unwrap(),
        photo: w.photo().unwrap(),
    }
}

fn violations_in_feed(w: &Wallet) -> usize {
    w.messages()
        .unwrap()
        .iter()
        .filter(|m| m.kind == MessageKind::ViolationRecorded)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_while_the_server_is_down_is_offline_changes_nothing_and_the_next_one_completes() {
    let mut t = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (driver, wallet) = issued_wallet(&t, dir.path(), &number(501)).await;
    // Something is waiting at the authority that the wallet has not seen.
    violation(&t, driver, 2).await;
    let before = snapshot(&wallet);
    assert!(
        before
            .licence
            .as_ref()
            .unwrap()
            .supplementary
            .record
            .is_empty()
    );

    let addr = t.server.as_ref().unwrap().addr();
    t.server.take().unwrap().shutdown().await.unwrap();
    let started = Instant::now();
    assert_eq!(
        wallet.sync().await.unwrap_err(),
        WalletError::Net(NetError::Offline)
    );
    // It retried with back-off (400 ms, 800 ms) before giving up, not forever.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
    assert_eq!(snapshot(&wallet), before);
    // Offline-first: presenting still works from the store.
    let p = wallet
        .present_at(Form::Offline, Audience::Enforcement, t.now(), 30)
        .unwrap();
    assert!(!p.payload.is_empty());
    // The store on disk is the same too: reopening shows the same state.
    drop(wallet);
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    assert_eq!(snapshot(&wallet), before);

    // Back up on the same address and database: the next sync completes.
    let mut config = t.config();
    config.listen = addr;
    let server = serve(config).await.expect("restarts on the same port");
    assert_eq!(server.url(), t.url);
    t.server = Some(server);
    let report = wallet.sync().await.unwrap();
    assert!(report.licence_changed);
    let after = snapshot(&wallet);
    let record = &after.licence.as_ref().unwrap().supplementary.record;
    assert_eq!(record.len(), 1);
    assert_eq!(
        after.licence.as_ref().unwrap().supplementary.cycle.points,
        2
    );
    assert_eq!(violations_in_feed(&wallet), 1);
    assert!(after.last_synced.is_some());
    assert_eq!(after.messages[..before.messages.len()], before.messages[..]);
}

// ---------------------------------------------------------------------------------------
// Crash safety.

const CHILD_DIR: &str = "EDL_CRASH_CHILD_DIR";
const CHILD_TEST: &str = "crash_child_syncs_in_a_loop";

/// Not a test on its own: the crash test runs this binary again with `--exact` and
/// `--ignored` and the wallet's directory in `EDL_CRASH_CHILD_DIR`. It opens the wallet
/// and syncs as fast as it can, printing `S` before and `E` after each sync, until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the crash test as a child process"]
async fn crash_child_syncs_in_a_loop() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let wallet = Wallet::open(Path::new(&dir), &keys()).unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "@ready").unwrap();
    loop {
        writeln!(out, "@S").unwrap();
        out.flush().unwrap();
        let r = wallet.sync().await;
        writeln!(out, "@{}", if r.is_ok() { "E" } else { "X" }).unwrap();
        out.flush().unwrap();
    }
}

/// What must agree in any state the store can be in: the record, the points and the
/// feed were written by the same sync, so a torn write would break one of these.
#[derive(Debug, Clone, PartialEq)]
struct Consistent {
    record: usize,
    points: u8,
    violation_messages: usize,
    messages: usize,
    log: usize,
}

fn consistent(w: &Wallet) -> Consistent {
    let licence = w.licence().unwrap().unwrap();
    let record = licence.supplementary.record.len();
    let points = licence.supplementary.cycle.points;
    let violation_messages = violations_in_feed(w);
    assert_eq!(record, violation_messages, "record and feed disagree");
    let sum: u32 = licence
        .supplementary
        .record
        .iter()
        .map(|r| u32::from(r.points))
        .sum();
    assert_eq!(u32::from(points), sum, "points and record disagree");
    Consistent {
        record,
        points,
        violation_messages,
        messages: w.messages().unwrap().len(),
        log: w.verification_log().unwrap().len(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_killed_mid_sync_always_reopens_with_the_old_or_the_new_state() {
    const ROUNDS: usize = 25;
    let t = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (driver, wallet) = issued_wallet(&t, dir.path(), &number(502)).await;
    let mut old = consistent(&wallet);
    drop(wallet);
    let exe = std::env::current_exe().unwrap();
    let (mut mid_sync, mut new_state, mut old_state) = (0, 0, 0);
    for round in 0..ROUNDS {
        // A change at the authority touching the licence record, points and the feed.
        violation(&t, driver, 1 + (round % 2) as u8).await;

        let mut child = Command::new(&exe)
            .args([
                &common::harness_name(module_path!(), CHILD_TEST),
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(marker) = line.strip_prefix('@')
                    && tx.send(marker.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        // Wait for the child to have opened the store, then let it sync for a random few
        // milliseconds (one sync here takes a few ms: request, checks, one transaction).
        let ready = rx.recv_timeout(Duration::from_secs(30));
        assert_eq!(ready.as_deref(), Ok("ready"), "child did not start");
        let delay = u64::from(rand16()[0] % 12);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let markers: Vec<String> = rx.try_iter().collect();
        if markers.last().map(String::as_str) == Some("S") {
            mid_sync += 1;
        }

        // The store opens, and holds either the state before this round or after it.
        let wallet = Wallet::open(dir.path(), &keys())
            .unwrap_or_else(|e| panic!("round {round}: store does not open: {e:?}"));
        let seen = consistent(&wallet);
        wallet.sync().await.unwrap();
        let new = consistent(&wallet);
        assert_eq!(new.record, old.record + 1, "round {round}");
        if seen == old {
            old_state += 1;
        } else {
            assert_eq!(seen, new, "round {round}: neither old nor new");
            new_state += 1;
        }
        old = new;
        drop(wallet);
    }
    eprintln!(
        "{ROUNDS} kills: {mid_sync} landed between a sync's start and its end; \
         the store held the old state {old_state} times, the new state {new_state} times"
    );
    // The kills must land during syncs often enough for the test to mean something.
    assert!(
        mid_sync >= ROUNDS / 3,
        "only {mid_sync} kills landed mid-sync"
    );
}

// ---------------------------------------------------------------------------------------
// Concurrency.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_wallet_shared_by_several_threads_stays_consistent() {
    const VIOLATIONS: usize = 8;
    let t = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (driver, wallet) = issued_wallet(&t, dir.path(), &number(503)).await;
    let trust = t.trust().await;
    let now = t.now();
    let clean = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/photos/clean.jpg"
    ))
    .unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    // Two threads syncing, each on its own executor.
    for _ in 0..2 {
        let (w, stop) = (wallet.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                rt.block_on(w.sync()).expect("sync");
                n += 1;
            }
            n
        }));
    }
    // Two threads presenting and verifying offline.
    for audience in [Audience::Enforcement, Audience::Business] {
        let (w, stop, trust) = (wallet.clone(), stop.clone(), trust.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = w
                    .present_at(Form::Offline, audience, now, 30)
                    .expect("present");
                verify_offline(&p.payload, &trust, now, &Policy::new(audience)).expect("verifies");
                w.present_at(Form::Online, audience, now, 30)
                    .expect("present online");
                n += 1;
            }
            n
        }));
    }
    // One thread reading what the screens show; the invariants hold at every read.
    {
        let (w, stop) = (wallet.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Each read is its own snapshot and syncs land in between, but the feed
                // only grows and one sync writes record and feed together: the record
                // read between two counts of the feed lies between them.
                let before = violations_in_feed(&w);
                let record = w.licence().expect("licence").expect("a licence");
                let after = violations_in_feed(&w);
                let record = record.supplementary.record.len();
                assert!(
                    before <= record && record <= after,
                    "{before} {record} {after}"
                );
                w.status_colour().expect("colour");
                w.elicence().expect("elicence").expect("an e-licence");
                w.last_synced().expect("last synced");
                n += 1;
            }
            n
        }));
    }
    // One photo check, on the same wallet.
    {
        let w = wallet.clone();
        threads.push(std::thread::spawn(move || {
            assert!(w.check_photo(&clean).expect("photo check").passes());
            1
        }));
    }

    // Meanwhile the authority records violations and a verifier checks the e-licence.
    let police = t.verifier("police", "enforcement").await;
    for i in 0..VIOLATIONS {
        violation(&t, driver, 1).await;
        let p = wallet
            .present_at(Form::Online, Audience::Enforcement, t.now(), 30)
            .unwrap();
        let (s, v, _) = t
            .verify(
                &police,
                json!({"method": "qr", "payload": edl_core::wire::Base64::encode(&p.payload)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "check {i}: {v}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let counts: Vec<usize> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");

    // After one more sync the wallet holds exactly what the authority has: every
    // violation once, every check once, no duplicates from overlapping syncs.
    wallet.sync().await.unwrap();
    let c = consistent(&wallet);
    assert_eq!(c.record, VIOLATIONS, "{c:?}");
    assert_eq!(c.violation_messages, VIOLATIONS, "{c:?}");
    // The police scanned one window's code each time (the authority's clock stands still
    // here): repeats of a code by the verifier that spent it are answered but logged once
    // (single-use codes, D68).
    assert_eq!(c.log, 1, "{c:?}");
    eprintln!("thread iterations: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_syncs_never_take_the_store_back_or_store_the_feed_twice() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let n = number(504);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();
    wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap();
    violation(&t, driver, 1).await;

    // Sync A fetches (one violation) but its answer is held back…
    proxy.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let a = tokio::spawn({
        let w = wallet.clone();
        async move { w.sync().await }
    });
    while proxy.armed.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // …while a second violation is recorded and sync B brings both.
    violation(&t, driver, 2).await;
    wallet.sync().await.unwrap();
    let b = consistent(&wallet);
    assert_eq!((b.record, b.points), (2, 3));
    // Now A's older answer arrives. It must not take the store back to one violation,
    // nor store the first violation's message a second time.
    proxy.release.notify_one();
    a.await.unwrap().unwrap();
    let after = consistent(&wallet);
    assert_eq!(after, b);
    wallet.sync().await.unwrap();
    assert_eq!(consistent(&wallet), b);
}

/// An application whose answer is lost on the way back (a phone's network drops as the
/// authority answers) is asked again by the library, not handed to the app as offline:
/// the driver would have had to pass the face check a second time (D151). The authority
/// took it the first time; asked again from the now checked device it changes nothing,
/// and the e-licence arrives with the sync `apply` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_whose_answer_is_lost_is_asked_again_and_issues_once() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let (driver, wallet, view) = apply_losing_the_answer(&t, &proxy, dir.path(), 506, true).await;
    assert_eq!(view.phase, ApplicationPhase::Issued);
    // Issued once: one e-licence on record, and the wallet holds it.
    let d = t.driver_detail(driver).await;
    assert_eq!(d["elicence"]["state"], "active", "{d}");
    let held = wallet.elicence().unwrap().expect("the e-licence arrived");
    let on_record: edl_core::wire::ElicenceSummary =
        serde_json::from_value(d["elicence"].clone()).unwrap();
    assert_eq!(held.id, on_record.elicence_id);
    let succeeded = wallet
        .messages()
        .unwrap()
        .iter()
        .filter(|m| m.kind == MessageKind::ApplicationSucceeded)
        .count();
    assert_eq!(succeeded, 1, "issued once");

    // Without a photo on file: the lost answer said "awaiting a photo", and so does the
    // one asked again.
    let dir = tempfile::tempdir().unwrap();
    let (driver, _, view) = apply_losing_the_answer(&t, &proxy, dir.path(), 507, false).await;
    assert_eq!(view.phase, ApplicationPhase::AwaitingPhoto);
    let d = t.driver_detail(driver).await;
    assert_eq!(d["application"]["phase"], "awaiting_photo", "{d}");
}

/// An application the authority issued, whose follow-up sync cannot reach it (the network
/// went away just after the answer came), is still the application `apply` returns, not
/// `Offline`: the app would ask again, and the driver pass the face check a second time
/// for an e-licence already issued (D157). The e-licence comes with the next sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_application_whose_sync_fails_is_returned_and_the_next_sync_brings_it() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let n = number(508);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();
    proxy.cut(b"GET /v1/wallet/sync");
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .expect("the application was taken: apply says so");
    assert_eq!(view.phase, ApplicationPhase::Issued);
    assert_eq!(wallet.application().unwrap(), Some(view));
    assert!(wallet.elicence().unwrap().is_none(), "not synced yet");
    let d = t.driver_detail(driver).await;
    assert_eq!(d["elicence"]["state"], "active", "{d}");

    proxy.mend();
    wallet.sync().await.expect("the network is back");
    let held = wallet.elicence().unwrap().expect("the e-licence arrived");
    let on_record: edl_core::wire::ElicenceSummary =
        serde_json::from_value(d["elicence"].clone()).unwrap();
    assert_eq!(held.id, on_record.elicence_id);
}

/// Only a sync that could not reach the authority leaves `apply` its answer (D157): one the
/// authority refused, or whose answer the wallet cannot use, is `apply`'s error as before,
/// for the app must hear it (a device no longer accepted, a broken or hostile network).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_after_an_application_that_fails_for_good_is_apply_s_error() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let answers = [
        (
            "an answer the wallet cannot use",
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        ),
        (
            "a refusal of the device",
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 74\r\nconnection: close\r\n\r\n{\"error\":\"bad_signature\",\"message\":\"the device signature does not verify\"}",
        ),
    ];
    for (n, (what, answer)) in answers.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let number = number(510 + n as u32);
        let driver = t.create_driver(&number, true).await;
        let code = t.activation_code(driver).await;
        let wallet = Wallet::open(dir.path(), &keys()).unwrap();
        wallet.enrol(&proxy.url, &number, &code).await.unwrap();
        proxy.answer(b"GET /v1/wallet/sync", answer);
        let applied = wallet
            .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
            .await;
        proxy.mend();
        let Err(WalletError::Net(e)) = &applied else {
            panic!("{what}: {applied:?}");
        };
        assert!(
            !matches!(e, NetError::Offline | NetError::Busy { .. }),
            "{what}: {e:?}"
        );
        assert!(wallet.elicence().unwrap().is_none(), "{what}");
    }
}

/// An enrolment whose answer is lost (AN-F2): the authority bound the device key and used
/// the code up; the wallet, with no answer, kept no key, so the driver's code was refused
/// from then on and a new one had to be sent. The wallet now asks again with the same key,
/// which the authority answers as enrolled, and the key it holds is the one bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_whose_answer_is_lost_is_asked_again_and_binds_the_key_the_wallet_holds() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let n = number(520);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    proxy.lose_next_answer_to(b"POST /v1/enrol");
    wallet
        .enrol(&proxy.url, &n, &code)
        .await
        .expect("enrolled, the lost answer asked again");
    assert!(!proxy.still_to_lose(), "the answer was lost once");
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .expect("the key the wallet holds is the one the authority bound");
    assert_eq!(view.phase, ApplicationPhase::Issued);
}

/// An enrolment the authority took whose next step failed (AN-F2): here the trust list's
/// fetch after it; a store too busy to write, a full disk or the app killed there are the
/// same. The wallet dropped the new key, so enrolling again with the driver's code was
/// refused for good (`bad_activation_code`). The key waits in the store now, and the
/// same code finishes the enrolment, even after the wallet was closed and opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_cut_off_after_the_authority_took_it_finishes_with_the_same_code() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let n = number(521);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    proxy.cut(b"GET /v1/trust-list");
    let cut = wallet.enrol(&proxy.url, &n, &code).await;
    assert!(
        matches!(cut, Err(WalletError::Net(NetError::Offline))),
        "{cut:?}"
    );
    assert!(wallet.enrolled().unwrap().is_none(), "not enrolled yet");
    let d = t.driver_detail(driver).await;
    assert_eq!(d["device_enrolled"], true, "the authority took it: {d}");
    drop(wallet);

    proxy.mend();
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    wallet
        .enrol(&proxy.url, &n, &code)
        .await
        .expect("the same code finishes the enrolment");
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .expect("the key the wallet holds is the one the authority bound");
    assert_eq!(view.phase, ApplicationPhase::Issued);
    // The key under way went with the enrolment's write.
    let store = WalletStore::open(dir.path().join("wallet.db"), &keys()).unwrap();
    assert_eq!(
        store
            .get_doc::<serde_json::Value>("pending_enrolment")
            .unwrap(),
        None
    );
    assert!(store.get_secret("pending_device_key").unwrap().is_none());
    // Another key with that code is still refused.
    let other = tempfile::tempdir().unwrap();
    let stranger = Wallet::open(other.path(), &keys()).unwrap();
    let refused = stranger.enrol(&t.url, &n, &code).await;
    assert!(
        matches!(
            refused,
            Err(WalletError::Net(NetError::Unauthorised(
                edl_core::wire::ErrorCode::BadActivationCode
            )))
        ),
        "{refused:?}"
    );
}

/// A kept enrolment record that can no longer be read (a damaged row) is taken as none,
/// and a new key enrols (the review of D212): reading it first must not make every later
/// enrolment fail, which a wallet that only wrote there never did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_pending_enrolment_does_not_block_enrolling() {
    let t = TestServer::start().await;
    let proxy = HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let n = number(522);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    proxy.cut(b"GET /v1/trust-list");
    assert!(wallet.enrol(&proxy.url, &n, &code).await.is_err());
    proxy.mend();
    drop(wallet);
    // Both kept rows damaged: their sealed bodies no longer open.
    let db = rusqlite::Connection::open(dir.path().join("wallet.db")).unwrap();
    for table in ["docs", "secrets"] {
        let changed = db
            .execute(
                &format!("UPDATE {table} SET body = zeroblob(64) WHERE name LIKE 'pending_%'"),
                [],
            )
            .unwrap();
        assert_eq!(changed, 1, "{table}");
    }
    drop(db);
    // That code is spent on the key the wallet lost; a new code enrols a new key.
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    wallet
        .enrol(&t.url, &n, &code)
        .await
        .expect("enrolled with a new key over the damaged record");
    assert!(wallet.enrolled().unwrap().is_some());
}

/// Enrolling again on the same wallet (the sync review's SY-1: the authority refused the
/// device, and the app says "enrol again"): the new enrolment kept the earlier one's
/// messages, verification log and pages while resetting the cursor, so the sync from 0
/// stored the whole feed again beside them, each check and message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_again_on_the_same_wallet_shows_each_message_and_check_once() {
    let t = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let n = number(530);
    let (driver, wallet) = issued_wallet(&t, dir.path(), &n).await;
    // Checks and a violation spread over several syncs, so over several cursors.
    for (i, name) in ["交警一", "交警二"].into_iter().enumerate() {
        // A window of its own for each check, the wallet's clock learnt again.
        t.clock.advance(300);
        wallet.sync().await.unwrap();
        let police = t.verifier(name, "enforcement").await;
        let p = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .unwrap();
        let (s, v, _) = t
            .verify(
                &police,
                json!({"method": "qr", "payload": edl_core::wire::Base64::encode(&p.payload)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if i == 0 {
            violation(&t, driver, 2).await;
        }
        wallet.sync().await.unwrap();
    }
    assert_eq!(wallet.verification_log().unwrap().len(), 2);

    let code = t.activation_code(driver).await;
    wallet.enrol(&t.url, &n, &code).await.unwrap();
    wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap();
    wallet.sync().await.unwrap();
    let log = wallet.verification_log().unwrap();
    assert_eq!(
        log.iter().map(|e| e.verifier.as_str()).collect::<Vec<_>>(),
        ["交警一", "交警二"],
        "each check once"
    );
    let messages = wallet.messages().unwrap();
    for m in &messages {
        assert_eq!(
            messages.iter().filter(|o| *o == m).count(),
            1,
            "twice: {m:?}"
        );
    }
}

/// A new driver `nth` (a photo on file or not) enrolled through `proxy` with a wallet in
/// `dir`, whose application's answer the proxy loses once; the wallet's `apply` must still
/// succeed.
async fn apply_losing_the_answer(
    t: &TestServer,
    proxy: &HoldingProxy,
    dir: &Path,
    nth: u32,
    photo_on_file: bool,
) -> (u64, Wallet, ApplicationView) {
    let n = number(nth);
    let driver = t.create_driver(&n, photo_on_file).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir, &keys()).unwrap();
    wallet.enrol(&proxy.url, &n, &code).await.unwrap();
    proxy.lose_next_answer_to(b"POST /v1/wallet/apply");
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .expect("applied, the lost answer asked again");
    assert!(!proxy.still_to_lose(), "the answer was lost once");
    (driver, wallet, view)
}

/// A phone whose clock moved after the last exchange (the driver changed it, or a bad
/// answer set the wallet's offset) signs with a time the authority refuses as stale. The
/// wallet learns the authority's time again and goes on; before, every later sync, upload
/// and application was refused for good (second hostile review, R9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_whose_clock_moved_learns_the_time_again_and_syncs() {
    let t = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (driver, wallet) = issued_wallet(&t, dir.path(), &number(40)).await;
    wallet.sync().await.unwrap();
    // Seen from the authority, the phone's clock is now an hour slow.
    t.clock.advance(3600);
    violation(&t, driver, 2).await;
    let report = wallet.sync().await.expect("the sync learns the time again");
    assert!(report.licence_changed);
    // And its codes are of the authority's window again.
    let police = t.verifier("交警", "enforcement").await;
    let p = wallet
        .present(Form::Online, Audience::Enforcement, None)
        .unwrap();
    let (s, v, _) = t
        .verify(
            &police,
            json!({"method": "qr", "payload": edl_core::wire::Base64::encode(&p.payload)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
