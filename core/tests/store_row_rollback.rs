//! Rows of the wallet's store from different moments of the same wallet (the third hostile
//! review's B-F4, D134; fixed in D143). Someone who can write the app's private files (a
//! rooted phone, a restored backup) holds two copies of one wallet under the same key and
//! puts one row of the older copy into the newer, or deletes rows. Each row still opens (a
//! sealed value is bound to its row's name, not to a moment), and sync is a delta from the
//! stored cursor, so the old row stayed until the authority next changed that part: a
//! suspended licence shown as valid, checks of the licence missing from the driver's
//! verification log.
//!
//! Now the store keeps a keyed digest over all its rows; opening a store whose rows are not
//! the set it last wrote drops what the authority gives back, and the next sync starts from
//! the beginning. Real files in a temporary directory, rows moved with plain SQL, and a fake
//! authority on loopback for the sync that follows.

#![cfg(feature = "wallet")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use edl_core::credential::{Audience, ElicenceId, TrustList};
use edl_core::licence::fixtures::{SAMPLE_LICENCE_NUMBER, sample_licence};
use edl_core::licence::{Licence, LicenceStatus};
use edl_core::wallet::store::{SoftwareKeyStore, StoreError, StoreRead, WalletStore};
use edl_core::wallet::{Enrolment, StoredElicence, SyncState, Wallet};
use edl_core::wire::{
    Base64, CheckMethod, CheckOutcome, ElicenceState, SyncResponse, VerificationLogEntry,
    VerifierClass,
};
use rusqlite::Connection;
use zeroize::Zeroizing;

/// The wallet's file in its directory (`Wallet::open`).
const STORE_FILE: &str = "wallet.db";
/// The clock offset every moment stores: kept when the rest is dropped.
const OFFSET: i64 = -3;

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_key_bytes(Zeroizing::new([0x5A; 32]))
}

fn licence(status: &str) -> Licence {
    let mut l = sample_licence(time::macros::date!(2026 - 11 - 20));
    l.main.status = LicenceStatus::from_letters(status).unwrap();
    l
}

fn log_entry(i: u64) -> VerificationLogEntry {
    VerificationLogEntry {
        at: 1_794_100_000 + i,
        verifier: format!("交警 {i}"),
        verifier_class: VerifierClass::Enforcement,
        audience: Audience::Enforcement,
        method: CheckMethod::Qr,
        outcome: CheckOutcome::Verified,
    }
}

/// What a wallet holds at one moment, as its syncs write it (names: `wallet/state.rs`).
struct Moment {
    cursor: u64,
    status: &'static str,
    log: u64,
    elicence: u64,
}

const OLD: Moment = Moment {
    cursor: 5,
    status: "A",
    log: 2,
    elicence: 1,
};
const NEW: Moment = Moment {
    cursor: 9,
    status: "D",
    log: 4,
    elicence: 2,
};

/// Writes `m` into the wallet in `dir` the way a sync would (new log entries appended,
/// documents replaced), enrolled with the authority at `url`.
fn write_moment(dir: &Path, url: &str, m: &Moment) {
    let store = WalletStore::open(dir.join(STORE_FILE), &keys()).unwrap();
    store
        .write(|tx| {
            if tx.get_doc::<Enrolment>("enrolment")?.is_none() {
                tx.put_secret("device_key", &[0x11; 32])?;
                tx.put_doc(
                    "enrolment",
                    &Enrolment {
                        authority_url: url.into(),
                        account_id: 7,
                        licence_number: SAMPLE_LICENCE_NUMBER.into(),
                    },
                )?;
                let trust = TrustList::new(Vec::new()).unwrap().encode();
                tx.put_doc("trust_list", &Base64(trust))?;
            }
            tx.put_doc(
                "sync_state",
                &SyncState {
                    cursor: m.cursor,
                    clock_offset: OFFSET,
                    last_synced: Some(1_795_000_000 + m.cursor),
                },
            )?;
            tx.put_doc("licence", &licence(m.status))?;
            tx.put_doc(
                "elicence",
                &StoredElicence {
                    id: ElicenceId(m.elicence),
                    state: ElicenceState::Active,
                    credential: Some(Base64(vec![m.elicence as u8; 300])),
                    issued_at: 1_794_000_000,
                    expires_at: 1_796_592_000,
                },
            )?;
            tx.put_secret("totp_seed", &[m.elicence as u8; 32])?;
            let held = tx
                .list_items::<VerificationLogEntry>("verification_log")?
                .len() as u64;
            for i in held..m.log {
                // The wallet names feed entries by page cursor, kind and position.
                tx.upsert_item(
                    "verification_log",
                    &format!("{i:020}-v-00000"),
                    &log_entry(i),
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// A wallet directory in `top` written at [`OLD`], then at [`NEW`]: the directory, and a
/// copy of the file as it was at `OLD`.
fn old_and_new(top: &Path) -> (PathBuf, PathBuf) {
    let dir = top.join("wallet");
    std::fs::create_dir(&dir).unwrap();
    write_moment(&dir, "http://127.0.0.1:9", &OLD);
    let old = copy_of(&dir, "old.db");
    write_moment(&dir, "http://127.0.0.1:9", &NEW);
    (dir, old)
}

/// A copy of the wallet's file as it is now (the store closed: no WAL beside it).
fn copy_of(dir: &Path, name: &str) -> PathBuf {
    let copy = dir.parent().unwrap().join(name);
    std::fs::copy(dir.join(STORE_FILE), &copy).unwrap();
    copy
}

/// Plain SQL on the wallet's file, as an attacker with the file would run it; `old` is
/// attached as `old`.
fn tamper(dir: &Path, old: &Path, sql: &str) {
    let raw = Connection::open(dir.join(STORE_FILE)).unwrap();
    raw.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
        .unwrap();
    raw.execute_batch(sql).unwrap();
}

/// The sync cursor the wallet in `dir` holds.
fn stored_state(dir: &Path) -> Option<SyncState> {
    let store = WalletStore::open(dir.join(STORE_FILE), &keys()).unwrap();
    store.get_doc("sync_state").unwrap()
}

/// One row of the older copy put back into the newer (the licence, the e-licence, its TOTP
/// seed or the sync state): the wallet shows nothing of what it held from the authority,
/// only what it made itself, and its next sync starts from the beginning. Seen failing
/// before the fix: the licence row rolled back alone showed status A (valid) where the
/// authority had said D (suspended), with the cursor still at 9.
#[test]
fn a_row_rolled_back_alone_shows_nothing_stale_and_the_next_sync_starts_over() {
    for (table, name) in [
        ("docs", "licence"),
        ("docs", "elicence"),
        ("secrets", "totp_seed"),
        ("docs", "sync_state"),
    ] {
        let top = tempfile::tempdir().unwrap();
        let (dir, old) = old_and_new(top.path());
        tamper(
            &dir,
            &old,
            &format!(
                "UPDATE main.{table} SET body = (SELECT body FROM old.{table} WHERE name = '{name}')
                 WHERE name = '{name}'"
            ),
        );

        let wallet = Wallet::open(&dir, &keys()).unwrap();
        let shown = wallet.licence().unwrap().map(|l| l.main.status.letters());
        assert_eq!(shown, None, "{name}: the licence shown");
        assert_eq!(wallet.elicence().unwrap(), None, "{name}");
        assert!(wallet.verification_log().unwrap().is_empty(), "{name}");
        assert_eq!(wallet.last_synced().unwrap(), None, "{name}");
        // What the wallet made itself stays: it is still enrolled, on the same clock.
        assert_eq!(wallet.enrolled().unwrap().unwrap().account_id, 7);
        drop(wallet);
        let state = stored_state(&dir).unwrap();
        assert_eq!((state.cursor, state.clock_offset), (0, OFFSET), "{name}");
    }
}

/// A fake authority on loopback that answers every sync: from cursor 0 with the whole
/// state (`full`), from any other cursor with nothing new. Returns its URL and the cursors
/// it was asked for.
fn authority(full: SyncResponse) -> (String, Arc<Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 16384];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let cursor: u64 = head
                .split_once("cursor=")
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|d| d.parse().ok())
                .unwrap_or(u64::MAX);
            seen.lock().unwrap().push(cursor);
            let page = if cursor == 0 {
                full.clone()
            } else {
                SyncResponse {
                    cursor,
                    licence: None,
                    verifications: Vec::new(),
                    ..full.clone()
                }
            };
            let body = serde_json::to_vec(&page).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (url, asked)
}

/// The authority's whole state for the wallet: the suspended licence and six checks.
fn whole_state() -> SyncResponse {
    SyncResponse {
        cursor: 12,
        more: false,
        server_time: 1_795_000_100,
        licence: Some(licence("D")),
        photo: None,
        elicence: None,
        application: None,
        reviews: Vec::new(),
        messages: Vec::new(),
        verifications: (0..6).map(log_entry).collect(),
    }
}

/// A verification-log row deleted from the file (hiding who checked the driver): the log is
/// not shown short; the next sync asks from the beginning and the whole log is back. Seen
/// failing before the fix: 3 of the 4 entries were shown, and the sync asked from cursor 9
/// (so the deleted check never came back).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_deleted_log_row_is_noticed_and_the_next_sync_brings_the_whole_log_back() {
    let (url, asked) = authority(whole_state());
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("wallet");
    std::fs::create_dir(&dir).unwrap();
    write_moment(&dir, &url, &OLD);
    write_moment(&dir, &url, &NEW);
    let raw = Connection::open(dir.join(STORE_FILE)).unwrap();
    let deleted = raw
        .execute(
            "DELETE FROM items WHERE seq = (SELECT MIN(seq) FROM items WHERE list = 'verification_log')",
            [],
        )
        .unwrap();
    assert_eq!(deleted, 1);
    drop(raw);

    let wallet = Wallet::open(&dir, &keys()).unwrap();
    let shown = wallet.verification_log().unwrap().len();
    assert_eq!(shown, 0, "log entries shown before the sync");
    wallet.sync().await.unwrap();
    assert_eq!(asked.lock().unwrap().first(), Some(&0), "the cursors asked");
    let log = wallet.verification_log().unwrap();
    assert_eq!(log, (0..6).map(log_entry).collect::<Vec<_>>());
    let status = wallet.licence().unwrap().unwrap().main.status.letters();
    assert_eq!(status, "D");
}

/// D16 holds as it did: a whole file put back to an older copy of the same wallet opens as
/// it was then (the authority, not the file, is the source of truth; the next sync brings
/// the rest). No row of it is dropped.
#[test]
fn a_whole_file_rolled_back_opens_as_it_was() {
    let top = tempfile::tempdir().unwrap();
    let (dir, old) = old_and_new(top.path());
    std::fs::copy(&old, dir.join(STORE_FILE)).unwrap();

    let wallet = Wallet::open(&dir, &keys()).unwrap();
    assert_eq!(
        wallet.licence().unwrap().unwrap().main.status.letters(),
        "A"
    );
    assert_eq!(wallet.verification_log().unwrap().len(), 2);
    assert_eq!(wallet.elicence().unwrap().unwrap().id, ElicenceId(1));
    drop(wallet);
    assert_eq!(stored_state(&dir).unwrap().cursor, OLD.cursor);
}

/// A wallet's file as the library before the row digest (schema 2) wrote it, checked in:
/// `stores/wallet-v2.db`, made at commit 682bc5c by `WalletStore` under the key file of
/// [`keys`] (enrolled as account 7, cursor 42, clock offset -3, a suspended licence, an
/// e-licence with its TOTP seed, 2 messages, 3 checks). The new library opens it as it is,
/// computes its digest in the migration, and keeps everything: the upgrade is not taken
/// for rows mixed.
#[test]
fn a_store_written_by_the_previous_version_opens_with_everything() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stores/wallet-v2.db");
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("wallet");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&fixture, dir.join(STORE_FILE)).unwrap();
    let version: u32 = Connection::open(dir.join(STORE_FILE))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);

    for _ in 0..2 {
        let wallet = Wallet::open(&dir, &keys()).unwrap();
        assert_eq!(wallet.enrolled().unwrap().unwrap().account_id, 7);
        assert_eq!(
            wallet.licence().unwrap().unwrap().main.status.letters(),
            "D"
        );
        assert_eq!(wallet.elicence().unwrap().unwrap().id, ElicenceId(9));
        assert_eq!(wallet.messages().unwrap().len(), 2);
        assert_eq!(wallet.verification_log().unwrap().len(), 3);
        assert_eq!(wallet.last_synced().unwrap(), Some(1_795_000_000));
        drop(wallet);
        let store = WalletStore::open(dir.join(STORE_FILE), &keys()).unwrap();
        assert!(!store.found_mixed_rows());
        assert!(store.schema_version().unwrap() > 2);
        assert_eq!(
            store.get_secret("totp_seed").unwrap().unwrap().expose(),
            &[0x22; 32]
        );
        let state: SyncState = store.get_doc("sync_state").unwrap().unwrap();
        assert_eq!((state.cursor, state.clock_offset), (42, -3));
    }
}

/// The environment variable that makes [`a_writer_killed_at_any_moment_leaves_a_store_that_
/// opens_whole`] the writer it kills: the path of the store to write.
const WRITER: &str = "EDL_TEST_STORE_WRITER";

/// A writer process killed (SIGKILL) at an arbitrary moment of its writes: the store opens
/// whole, never taken for rows mixed, and holds the last commit (each write appends a check
/// and stores the count with it; every seventh clears the log first).
#[test]
fn a_writer_killed_at_any_moment_leaves_a_store_that_opens_whole() {
    if let Ok(path) = std::env::var(WRITER) {
        let store = WalletStore::open(&path, &keys()).unwrap();
        let progress = format!("{path}.progress");
        for i in 0u64.. {
            store
                .write(|tx| {
                    if i % 7 == 0 {
                        tx.clear_list("verification_log")?;
                    }
                    tx.upsert_item("verification_log", &format!("{i:020}"), &log_entry(i))?;
                    let count = tx
                        .list_items::<VerificationLogEntry>("verification_log")?
                        .len();
                    tx.put_doc("licence", &licence(if i % 2 == 0 { "A" } else { "D" }))?;
                    tx.put_secret("totp_seed", &[i as u8; 32])?;
                    tx.put_doc(
                        "sync_state",
                        &SyncState {
                            cursor: count as u64,
                            clock_offset: OFFSET,
                            last_synced: Some(i),
                        },
                    )
                })
                .unwrap();
            std::fs::write(&progress, i.to_string()).unwrap();
        }
        unreachable!();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    let progress = dir.path().join("wallet.db.progress");
    for round in 0..8u64 {
        let _ = std::fs::remove_file(&progress);
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                // The harness names a test by its module's path without the crate's.
                &format!(
                    "{}::a_writer_killed_at_any_moment_leaves_a_store_that_opens_whole",
                    module_path!().split_once("::").map_or("", |(_, path)| path)
                ),
                "--exact",
                "--test-threads=1",
            ])
            .env(WRITER, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !progress.exists() {
            assert!(started.elapsed().as_secs() < 60, "the writer never wrote");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // Somewhere in the writes that follow.
        std::thread::sleep(std::time::Duration::from_millis(3 + 7 * round));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = WalletStore::open(&path, &keys()).unwrap();
        assert!(!store.found_mixed_rows(), "round {round}");
        let state: SyncState = store.get_doc("sync_state").unwrap().unwrap();
        let log = store
            .list_items::<VerificationLogEntry>("verification_log")
            .unwrap();
        assert_eq!(state.cursor, log.len() as u64, "round {round}");
        assert!(store.get_secret("totp_seed").unwrap().is_some());
    }
}
