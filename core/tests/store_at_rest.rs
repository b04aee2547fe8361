//! The store on a real file: nothing personal or secret is readable from the database or
//! its WAL; the wrong key fails typed and changes nothing; damaged files give `Corrupt`.

#![cfg(feature = "wallet")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use edl_core::wallet::store::{
    Argon2Settings, Corruption, MigrationError, SoftwareKeyStore, StoreError, StoreRead,
    WalletStore,
};
use serde::{Deserialize, Serialize};

const NAME: &str = "张伟";
const NUMBER: &str = "110101199003071234";
const ADDRESS: &str = "北京市东城区东华门街道正义路2号";
const RECORD_ID: &str = "rec-20261124-0007";
const MESSAGE: &str = "您的电子驾驶证申请已通过审核";

/// A device key seed with no repeating pattern, so a match cannot be an accident.
fn seed() -> [u8; 32] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Licence {
    name: String,
    number: String,
    address: String,
    classes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    date: String,
    place: String,
    points: u8,
    licence: String,
}

fn licence() -> Licence {
    Licence {
        name: NAME.into(),
        number: NUMBER.into(),
        address: ADDRESS.into(),
        classes: "C1".into(),
    }
}

fn record() -> Record {
    Record {
        date: "2026-11-20".into(),
        place: ADDRESS.into(),
        points: 3,
        licence: NUMBER.into(),
    }
}

fn keys(passphrase: &str) -> SoftwareKeyStore {
    SoftwareKeyStore::from_passphrase_with(passphrase, Argon2Settings::INSECURE_FOR_TESTS).unwrap()
}

fn fill(store: &WalletStore) {
    store
        .write(|tx| {
            tx.put_doc("licence", &licence())?;
            tx.upsert_item("record", RECORD_ID, &record())?;
            tx.upsert_item("messages", "msg-1", MESSAGE)?;
            tx.put_secret("device_key", &seed())
        })
        .unwrap();
}

/// Every encoding a careless writer might have used for `bytes`.
fn forms(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("raw".to_owned(), bytes.to_vec()),
        ("hex".to_owned(), hex::encode(bytes).into_bytes()),
        ("HEX".to_owned(), hex::encode_upper(bytes).into_bytes()),
        (
            "base64".to_owned(),
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(bytes)
                .into_bytes(),
        ),
        (
            "base64url".to_owned(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(bytes)
                .into_bytes(),
        ),
    ];
    if let Ok(text) = std::str::from_utf8(bytes) {
        let utf16le = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let utf16be = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        out.push(("utf-16le".to_owned(), utf16le));
        out.push(("utf-16be".to_owned(), utf16be));
    }
    out
}

fn needles() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (what, bytes) in [
        ("name", NAME.as_bytes().to_vec()),
        ("licence number", NUMBER.as_bytes().to_vec()),
        ("address", ADDRESS.as_bytes().to_vec()),
        // A distinctive part of the address, in case the whole is split across pages.
        ("street", "东华门街道".as_bytes().to_vec()),
        ("message", MESSAGE.as_bytes().to_vec()),
        ("record id", RECORD_ID.as_bytes().to_vec()),
        ("secret", seed().to_vec()),
        ("half of the secret", seed()[8..24].to_vec()),
    ] {
        for (form, needle) in forms(&bytes) {
            out.push((format!("{what} ({form})"), needle));
        }
    }
    out
}

fn assert_unreadable(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    assert!(
        !bytes.is_empty(),
        "{} is empty: nothing was tested",
        file.display()
    );
    for (what, needle) in needles() {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            "{what} readable in {}",
            file.display()
        );
    }
}

fn wal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Asserts two snapshots hold the same files with the same bytes, naming what differs
/// (without printing megabytes of bytes).
fn assert_same_files(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(after), names(before), "files appeared or vanished");
    for (name, bytes) in before {
        assert!(after[name] == *bytes, "{name} changed");
    }
}

/// Every file of the directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn personal_data_and_secrets_are_unreadable_in_the_database_and_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    fill(&store);

    // While the store is open the latest writes sit in the WAL.
    let wal = wal_of(&path);
    assert!(wal.exists(), "WAL mode expected");
    assert_unreadable(&wal);
    assert_unreadable(&path);

    // The grep itself works: the same needles are found in a plain SQLite file.
    let control = dir.path().join("control.db");
    let plain = rusqlite::Connection::open(&control).unwrap();
    plain
        .execute_batch("CREATE TABLE t (v TEXT, b BLOB)")
        .unwrap();
    plain
        .execute(
            "INSERT INTO t VALUES (?1, ?2)",
            rusqlite::params![serde_json::to_string(&licence()).unwrap(), &seed()[..]],
        )
        .unwrap();
    drop(plain);
    let control_bytes = std::fs::read(&control).unwrap();
    for needle in [
        NAME.as_bytes(),
        NUMBER.as_bytes(),
        ADDRESS.as_bytes(),
        &seed()[..],
    ] {
        assert!(control_bytes.windows(needle.len()).any(|w| w == needle));
    }

    // After a clean close everything is checkpointed into the main file.
    drop(store);
    assert_unreadable(&path);
}

#[test]
fn reopening_with_the_right_key_reads_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    fill(&WalletStore::open(&path, &keys("correct horse")).unwrap());

    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );
    let records = store.list_items::<Record>("record").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].id.as_str(), &records[0].value),
        (RECORD_ID, &record())
    );
    assert_eq!(
        store.list_items::<String>("messages").unwrap()[0].value,
        MESSAGE
    );
    let secret = store.get_secret("device_key").unwrap().unwrap();
    assert_eq!(secret.expose(), &seed());
    assert!(!format!("{secret:?}").contains(&seed()[0].to_string()));
}

#[test]
fn wrong_key_is_a_typed_error_and_leaves_every_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    fill(&WalletStore::open(&path, &keys("correct horse")).unwrap());

    let before = snapshot(dir.path());
    assert_eq!(
        WalletStore::open(&path, &keys("battery staple")).unwrap_err(),
        StoreError::WrongKey
    );
    let key_file = SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([1; 32]));
    assert_eq!(
        WalletStore::open(&path, &key_file).unwrap_err(),
        StoreError::WrongKey
    );
    assert_same_files(&before, &snapshot(dir.path()));

    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );
}

#[test]
fn wrong_key_while_the_wallet_is_open_leaves_database_and_wal_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    fill(&store);
    let wal = wal_of(&path);
    let (db_before, wal_before) = (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap());

    assert_eq!(
        WalletStore::open(&path, &keys("battery staple")).unwrap_err(),
        StoreError::WrongKey
    );
    assert!(
        std::fs::read(&path).unwrap() == db_before,
        "database changed"
    );
    assert!(std::fs::read(&wal).unwrap() == wal_before, "WAL changed");
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );
}

#[test]
fn default_argon2_settings_and_key_files_open_their_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    fill(&WalletStore::open(&path, &SoftwareKeyStore::from_passphrase("correct horse")).unwrap());
    let store =
        WalletStore::open(&path, &SoftwareKeyStore::from_passphrase("correct horse")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );

    let key_path = dir.path().join("wallet.key");
    let db2 = dir.path().join("desktop.db");
    fill(&WalletStore::open(&db2, &SoftwareKeyStore::create_key_file(&key_path).unwrap()).unwrap());
    let store =
        WalletStore::open(&db2, &SoftwareKeyStore::from_key_file(&key_path).unwrap()).unwrap();
    assert_eq!(
        store.get_secret("device_key").unwrap().unwrap().expose(),
        &seed()
    );
}

#[test]
fn files_that_are_not_stores_are_corrupt_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        (
            "random.db",
            (0..8192u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        (
            "text.db",
            b"this is not a database at all, just text\n".repeat(200),
        ),
        ("header-only.db", b"SQLite format 3\0".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = WalletStore::open(&path, &keys("k")).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{name}: {err:?}");
        assert!(std::fs::read(&path).unwrap() == bytes, "{name} changed");
    }

    // A real store cut in half.
    let path = dir.path().join("truncated.db");
    {
        let store = WalletStore::open(&path, &keys("k")).unwrap();
        fill(&store);
        for i in 0..200 {
            store
                .write(|tx| tx.upsert_item("verification_log", &format!("v{i}"), &"x".repeat(500)))
                .unwrap();
        }
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let outcome = WalletStore::open(&path, &keys("k"))
        .and_then(|s| s.list_items::<String>("verification_log").map(|_| ()));
    assert!(
        matches!(outcome, Err(StoreError::Corrupt(_))),
        "{outcome:?}"
    );

    // Another program's SQLite database.
    let path = dir.path().join("foreign.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE contacts (name TEXT); PRAGMA user_version = 1;")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_eq!(
        WalletStore::open(&path, &keys("k")).unwrap_err(),
        StoreError::Corrupt(Corruption::UnexpectedSchema)
    );
    assert!(
        std::fs::read(&path).unwrap() == before,
        "foreign database changed"
    );
}

#[test]
fn a_flipped_byte_in_a_stored_value_is_corrupt_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    fill(&WalletStore::open(&path, &keys("k")).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let body: Vec<u8> = raw
        .query_row("SELECT body FROM docs WHERE name = 'licence'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut bad = body.clone();
    bad[body.len() / 2] ^= 0x20;
    raw.execute("UPDATE docs SET body = ?1 WHERE name = 'licence'", [&bad])
        .unwrap();
    drop(raw);
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap_err(),
        StoreError::Corrupt(Corruption::Unauthentic)
    );
    // The rest of the wallet still reads.
    assert_eq!(store.list_items::<Record>("record").unwrap().len(), 1);
}

#[test]
fn a_file_from_a_newer_library_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    fill(&WalletStore::open(&path, &keys("k")).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let before = snapshot(dir.path());
    let err = WalletStore::open(&path, &keys("k")).unwrap_err();
    assert!(matches!(
        err,
        StoreError::Migration(MigrationError::TooNew { found: 99, .. })
    ));
    assert_same_files(&before, &snapshot(dir.path()));
}

#[test]
fn errors_carry_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    fill(&store);
    let errors = [
        store.get_doc::<u64>("licence").unwrap_err(),
        store.list_items::<u64>("record").unwrap_err(),
        WalletStore::open(&path, &keys("wrong")).unwrap_err(),
    ];
    for e in errors {
        let shown = format!("{e} {e:?}");
        for needle in [NAME, NUMBER, ADDRESS, "东华门"] {
            assert!(!shown.contains(needle), "{shown}");
        }
    }
}

#[test]
fn paths_with_spaces_hashes_question_marks_and_chinese_work() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("我的 钱包 #1?x=%41");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("wallet 100%.db");
    fill(&WalletStore::open(&path, &keys("k")).unwrap());
    let before = snapshot(&sub);
    assert_eq!(
        WalletStore::open(&path, &keys("x")).unwrap_err(),
        StoreError::WrongKey
    );
    assert_same_files(&before, &snapshot(&sub));
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );
}

#[test]
fn an_empty_file_becomes_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    std::fs::write(&path, b"").unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    fill(&store);
    drop(store);
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(
        store.get_doc::<Licence>("licence").unwrap(),
        Some(licence())
    );
}

mod damaged_files {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A populated store file, made once.
    fn pristine() -> &'static Vec<u8> {
        static FILE: OnceLock<Vec<u8>> = OnceLock::new();
        FILE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("wallet.db");
            let store = WalletStore::open(&path, &keys("k")).unwrap();
            fill(&store);
            for i in 0..30 {
                store
                    .write(|tx| tx.upsert_item("messages", &format!("m{i}"), &MESSAGE.repeat(3)))
                    .unwrap();
            }
            drop(store);
            std::fs::read(&path).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever bytes are damaged, opening and reading everything returns a typed error
        /// or the values that were stored: never a panic, never altered data.
        #[test]
        fn damaged_bytes_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let mut bytes = pristine().clone();
            for (at, v) in edits {
                let i = at % bytes.len();
                bytes[i] = v;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut % bytes.len());
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("wallet.db");
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(store) = WalletStore::open(&path, &keys("k")) {
                if let Ok(Some(l)) = store.get_doc::<Licence>("licence") {
                    prop_assert_eq!(l, licence());
                }
                if let Ok(Some(s)) = store.get_secret("device_key") {
                    prop_assert_eq!(s.expose(), &seed()[..]);
                }
                for r in store.list_items::<Record>("record").unwrap_or_default() {
                    prop_assert_eq!((r.id.as_str(), r.value), (RECORD_ID, record()));
                }
                for m in store.list_items::<String>("messages").unwrap_or_default() {
                    prop_assert!(m.value == MESSAGE || m.value == MESSAGE.repeat(3));
                }
                let _ = store.write(|tx| tx.upsert_item("messages", "new", "x"));
            }
        }
    }
}

/// The store's files are the owner's alone (0600), like the authority's database (D64):
/// with the default umask they were 0644, and any local account could copy the wrapped
/// key and guess the passphrase offline (second hostile review, R8). A file from before
/// is made private when the store next opens.
#[cfg(unix)]
#[test]
fn the_store_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    fill(&store);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal_of(&path)), 0o600);
    drop(store);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = WalletStore::open(&path, &keys("correct horse")).unwrap();
    fill(&store);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal_of(&path)), 0o600);
}

/// A wallet's new directory is its owner's alone (0700), its missing parents too; one that
/// exists keeps the mode its owner gave it (the CLI review's leftover, D164).
#[cfg(unix)]
#[test]
fn a_new_wallet_directory_is_its_owner_s_alone_and_an_existing_one_is_left_as_it_is() {
    use edl_core::wallet::Wallet;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| {
        format!(
            "{:o}",
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        )
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = root.path().join("home").join("wallet");
    drop(Wallet::open(&dir, &keys("correct horse")).unwrap());
    assert_eq!(mode(&dir), "700");
    assert_eq!(mode(&root.path().join("home")), "700");

    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o750)).unwrap();
    drop(Wallet::open(&shared, &keys("correct horse")).unwrap());
    assert_eq!(mode(&shared), "750");
}
