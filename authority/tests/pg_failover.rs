//! A PostgreSQL primary with a synchronous standby on loopback; the authority is given
//! both hosts (`target_session_attrs=read-write`). Under traffic (online checks and signed
//! syncs) the primary goes away and the standby is promoted: the same authority process
//! carries on, answering `503 unavailable` with `Retry-After` in the gap and 200 again
//! without a restart, and nothing it acknowledged is lost: every check it answered 200 is
//! in the driver's log on the promoted server and every sync it answered stays spent
//! (D105). The primary goes two ways:
//! - *killed* (immediate stop): its host's kernel closes the connections at once;
//! - *fallen silent* (its host powered off, or cut off by the network): every packet to
//!   and from it is dropped, so nothing closes; the authority's own bounds on a silent
//!   connection end them (D171). The primary is named by a host name with two addresses,
//!   as a name with an IPv4 and an IPv6 record is, each tried in turn (ninth review,
//!   P-F2). This one runs in network, mount and PID namespaces of its own (`unshare -n -m
//!   -p`, as root): a loopback nobody else uses, whose packets it drops with `nft`
//!   (Debian's `nftables`, which `.ci/run` installs), an `/etc/hosts` and a temporary
//!   directory in memory of its own, and its clusters (their processes and files) ended with
//!   it however it ends.
//!
//! Runs in the PostgreSQL pass of `scripts/test` (`EDL_TEST_PG` set: PostgreSQL is
//! installed), on two clusters of its own; skipped with its reason otherwise. Bounded: a
//! round every 30 simulated seconds, at most 40 s of rounds (60 s for the silent host).

use crate::common;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::*;
use edl_core::credential::Audience;
use edl_core::wire::{self, CheckOutcome, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const DRIVERS: u32 = 6;
const METHODS: [&str; 3] = ["qr", "manual", "barcode"];

/// A signed sync's path and headers, to send again.
type Signed = (String, Vec<(&'static str, String)>);

/// What one request of a round got.
enum Answer {
    /// 200; for a sync, the request (replaying it must be refused: its nonce is kept).
    Ok(Option<Signed>),
    /// 503 `unavailable` with Retry-After: the store could not be reached (or a commit's
    /// outcome is unknown).
    Unavailable,
}

fn sorted(status: StatusCode, body: &Value, headers: &reqwest::header::HeaderMap) -> Answer {
    match status {
        StatusCode::OK => Answer::Ok(None),
        StatusCode::SERVICE_UNAVAILABLE
            if body["error"] == "unavailable" && headers.contains_key("retry-after") =>
        {
            Answer::Unavailable
        }
        _ => panic!("answer other than 200 or 503 with Retry-After: {status} {body}"),
    }
}

/// A round: every driver checked by the police in the three forms (this window's codes;
/// the barcode is the business audience's, since a QR and its barcode of one audience are
/// one code, D120), and a signed sync of every wallet, all at once.
async fn round(
    t: &Arc<TestServer>,
    police: &Arc<Verifier>,
    wallets: &[Arc<Wallet>],
) -> Vec<(usize, &'static str, Answer)> {
    let mut tasks = Vec::new();
    let now = t.now();
    for (d, wallet) in wallets.iter().enumerate() {
        for method in METHODS.into_iter().chain(["sync"]) {
            let (t, police, wallet) = (t.clone(), police.clone(), wallet.clone());
            tasks.push(tokio::spawn(async move {
                if method == "sync" {
                    let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
                    let auth = sign_request(&wallet.key, "GET", &path, &[], now, rand16());
                    let h: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
                    let (status, body, headers) = t.raw(Method::GET, &path, &h, Vec::new()).await;
                    return match sorted(status, &body, &headers) {
                        Answer::Ok(_) => (d, method, Answer::Ok(Some((path, h)))),
                        other => (d, method, other),
                    };
                }
                let (status, body, headers) = {
                    let body = match method {
                        "qr" => wallet.online_qr(Audience::Enforcement, now),
                        "manual" => wallet.manual(Audience::Enforcement, now),
                        _ => wallet.barcode(Audience::Business, now),
                    };
                    t.verify(&police, body).await
                };
                (d, method, sorted(status, &body, &headers))
            }));
        }
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// How the primary goes away.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Gone {
    /// Stopped at once: its connections close.
    Killed,
    /// Every packet to and from it dropped: nothing closes, nothing answers.
    Silent,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_fails_over_to_its_synchronous_standby_losing_nothing_acknowledged() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: needs PostgreSQL; runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    fail_over(Gone::Killed).await;
}

/// Set in the copy of this test binary that runs inside its own network namespace.
const IN_NAMESPACE: &str = "EDL_TEST_IN_NETNS";
const SILENT_TEST: &str =
    "a_primary_whose_host_falls_silent_fails_over_to_its_standby_losing_nothing_acknowledged";

#[test]
fn a_primary_whose_host_falls_silent_fails_over_to_its_standby_losing_nothing_acknowledged() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: needs PostgreSQL; runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    }
    if std::env::var(IN_NAMESPACE).is_err() {
        // This test again, in a network namespace of its own: its loopback is the only
        // one whose packets are dropped. In a PID namespace too, whose first process it is,
        // so that its clusters end with it however it ends (killed, a CI timeout): the
        // kernel ends every process of a PID namespace whose first one is gone. It is killed
        // with `unshare` (`--kill-child`), and `unshare` with this process.
        let namespaces = ["-n", "-m", "-p", "-f", "--kill-child", "--mount-proc"];
        let own = Command::new("unshare")
            .args(namespaces)
            .arg("true")
            .status();
        if !own.is_ok_and(|s| s.success()) {
            eprintln!("skipped: needs namespaces of its own (unshare -n -m -p, as root)");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        // Its temporary files in a directory the copy mounts a file system in memory on.
        let scratch = tempfile::tempdir().unwrap();
        let mut unshare = Command::new("unshare");
        unshare
            .args(namespaces)
            .arg("--")
            .arg(exe)
            .args([
                &common::harness_name(module_path!(), SILENT_TEST),
                "--exact",
                "--nocapture",
            ])
            .env(IN_NAMESPACE, "1")
            .env("TMPDIR", scratch.path());
        // SAFETY: `prctl` is async-signal-safe and touches nothing of this process's memory.
        unsafe {
            unshare.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        // The test in its own network namespace.
        common::assert_child_passed(&unshare.output().unwrap());
        return;
    }
    run(&["ip", "link", "set", "lo", "up"]);
    // The clusters' files (`pg-cluster` makes them in `$TMPDIR`) on a file system in memory
    // of this namespace's own: gone with it however the test ends (twelfth review, S-F6: a
    // killed test left 130 MB behind). Not over /tmp itself: the checkout may be there.
    let scratch = std::env::temp_dir();
    run(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "mode=1777",
        "tmpfs",
        scratch.to_str().unwrap(),
    ]);
    // The primary's name, seen by this namespace alone: two addresses, one of which nothing
    // listens on (glibc tries 127.0.0.1 first); once silent, both are tried in vain.
    let hosts = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        hosts.path(),
        format!("127.0.0.1 localhost\n127.0.0.2 {PRIMARY_NAME}\n127.0.0.1 {PRIMARY_NAME}\n"),
    )
    .unwrap();
    run(&[
        "mount",
        "--bind",
        hosts.path().to_str().unwrap(),
        "/etc/hosts",
    ]);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(fail_over(Gone::Silent));
}

fn run(command: &[&str]) {
    let status = Command::new(command[0])
        .args(&command[1..])
        .status()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (Debian: apt-get install nftables iproute2)"));
    assert!(status.success(), "{command:?}");
}

/// The primary's host name in the silent-host test.
const PRIMARY_NAME: &str = "pg-primary";

/// Drops every packet to and from `host:port` on this namespace's loopback.
fn silence(host: &str) {
    let port = &host[host.rfind(':').unwrap() + 1..];
    run(&["nft", "add", "table", "inet", "silence"]);
    run(&[
        "nft",
        "add chain inet silence out { type filter hook output priority 0 ; policy accept ; }",
    ]);
    run(&[
        "nft",
        &format!("add rule inet silence out tcp dport {port} drop"),
    ]);
    run(&[
        "nft",
        &format!("add rule inet silence out tcp sport {port} drop"),
    ]);
}

/// Traffic through a primary and its synchronous standby; the primary goes (`gone`) in
/// the third round and the standby is promoted half a second later.
async fn fail_over(gone: Gone) {
    let began = Instant::now();
    let primary = Cluster::start();
    let standby = primary.standby();
    let url = match gone {
        Gone::Killed => primary.with_standby_url(&standby),
        Gone::Silent => primary
            .with_standby_url(&standby)
            .replacen("127.0.0.1", PRIMARY_NAME, 1),
    };
    let t = Arc::new(TestServer::start_on(Some(&url)).await);
    let police = Arc::new(t.verifier("交警", "enforcement").await);
    let mut wallets = Vec::new();
    for n in 0..DRIVERS {
        wallets.push(Arc::new(t.issued_wallet(&number(700 + n)).await.1));
    }
    let made = began.elapsed();

    // Per (driver, form): checks answered 200, and checks answered 503 (which may or may
    // not have been committed).
    let mut acked: HashMap<(usize, &str), usize> = HashMap::new();
    let mut unsure: HashMap<(usize, &str), usize> = HashMap::new();
    let (mut unavailable, mut rounds_after, mut gone_at, mut back_at) = (0, 0, None, None);
    // The last sync each wallet had answered 200 before the primary went.
    let mut synced: HashMap<usize, Signed> = HashMap::new();
    let bound = Duration::from_secs(if gone == Gone::Silent { 60 } else { 40 });
    let deadline = Instant::now() + bound;
    for n in 0.. {
        assert!(
            Instant::now() < deadline,
            "not serving again {} s into the run ({unavailable} answers 503)",
            bound.as_secs()
        );
        let traffic = {
            let (t, police, wallets) = (t.clone(), police.clone(), wallets.clone());
            tokio::spawn(async move { round(&t, &police, &wallets).await })
        };
        if n == 2 {
            // The primary dies with the round in flight; the standby is promoted a
            // moment later, as an operator or a failover manager would.
            tokio::time::sleep(Duration::from_millis(10)).await;
            tokio::task::block_in_place(|| match gone {
                Gone::Killed => primary.ctl("kill"),
                Gone::Silent => silence(primary.host()),
            });
            gone_at = Some(Instant::now());
            tokio::time::sleep(Duration::from_millis(500)).await;
            tokio::task::block_in_place(|| standby.ctl("promote"));
        }
        let answers = traffic.await.unwrap();
        let all_ok = answers.iter().all(|(_, _, a)| matches!(a, Answer::Ok(_)));
        for (d, method, answer) in answers {
            match answer {
                Answer::Ok(Some(sync)) => {
                    if gone_at.is_none() {
                        synced.insert(d, sync);
                    }
                }
                Answer::Ok(None) => *acked.entry((d, method)).or_default() += 1,
                Answer::Unavailable => {
                    unavailable += 1;
                    *unsure.entry((d, method)).or_default() += 1;
                }
            }
        }
        // Each round shows the next window's codes (30 s), and few rounds pass before the
        // replays below, well inside the 300 s a signed request's timestamp is accepted.
        t.clock.advance(30);
        if let (Some(went), true) = (gone_at, all_ok) {
            back_at.get_or_insert_with(|| went.elapsed());
            rounds_after += 1;
            if rounds_after == 2 {
                break;
            }
        }
    }
    let recovered = back_at.unwrap();
    if gone == Gone::Silent {
        // Gone for good, as its host would be; stopped, it would wait for its standby to
        // hear of the stop.
        tokio::task::block_in_place(|| primary.ctl("kill"));
    }

    // A sync acknowledged before the primary went stays spent on the promoted server.
    assert_eq!(synced.len(), wallets.len());
    for (path, h) in synced.values() {
        let (s, v, _) = t.raw(Method::GET, path, h, Vec::new()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("replayed_request")),
            "a sync acknowledged before the failover was forgotten"
        );
    }

    // What the promoted server holds: every acknowledged check, each once, and nothing
    // but the checks that were sent.
    let mut logged: HashMap<(usize, &str), usize> = HashMap::new();
    for (d, wallet) in wallets.iter().enumerate() {
        let mut cursor = 0;
        loop {
            let path = format!("{}?cursor={cursor}", paths::SYNC);
            let (s, v, _) = t.signed(wallet, Method::GET, &path, Value::Null).await;
            assert_eq!(s, StatusCode::OK, "sync: {v}");
            let r: wire::SyncResponse = serde_json::from_value(v).unwrap();
            for e in &r.verifications {
                assert_eq!(e.outcome, CheckOutcome::Verified);
                let method = serde_json::to_value(e.method).unwrap();
                let method = METHODS
                    .into_iter()
                    .find(|m| method == *m)
                    .expect("a form that was sent");
                *logged.entry((d, method)).or_default() += 1;
            }
            cursor = r.cursor;
            if !r.more {
                break;
            }
        }
    }
    for d in 0..wallets.len() {
        for method in METHODS {
            let key = (d, method);
            let (a, u, l) = (
                acked.get(&key).copied().unwrap_or(0),
                unsure.get(&key).copied().unwrap_or(0),
                logged.get(&key).copied().unwrap_or(0),
            );
            assert!(
                a <= l && l <= a + u,
                "driver {d} {method}: {a} answered 200, {u} answered 503, {l} in the log"
            );
        }
    }
    eprintln!(
        "{gone:?}: clusters made in {:.1} s; {} checks acknowledged, {unavailable} answers 503 \
         in the gap; serving again {:.1} s after the primary went",
        made.as_secs_f64(),
        acked.values().sum::<usize>(),
        recovered.as_secs_f64()
    );
}
