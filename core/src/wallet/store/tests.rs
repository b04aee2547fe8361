//! The store's tests, over real files in a temporary directory.

use std::sync::Arc;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::cipher::{DataKey, Slot};
use super::open::{KEY_CHECK, META_KEY_CHECK, META_WRAPPED_KEY, configure, put_meta};
use super::schema;
use super::{
    Argon2Settings, Conversion, Corruption, KeyWrapError, KeyWrapper, ListItem, SoftwareKeyStore,
    StoreError, StoreRead, WalletStore, WriteTx,
};

fn keys(passphrase: &str) -> SoftwareKeyStore {
    SoftwareKeyStore::from_passphrase_with(passphrase, Argon2Settings::INSECURE_FOR_TESTS).unwrap()
}

fn new_store() -> (tempfile::TempDir, WalletStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = WalletStore::open(dir.path().join("w.db"), &keys("k")).unwrap();
    (dir, store)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    points: u8,
    note: String,
}

fn entry(points: u8) -> Entry {
    Entry {
        points,
        note: format!("违法 {points}"),
    }
}

#[test]
fn documents_secrets_and_items_round_trip() {
    let (_dir, store) = new_store();
    store
        .write(|tx| {
            tx.put_doc("licence", &entry(0))?;
            tx.put_secret("device_key", &[7; 32])?;
            tx.upsert_item("record", "r-1", &entry(3))?;
            tx.upsert_item("record", "r-2", &entry(6))
        })
        .unwrap();
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(0)));
    assert_eq!(store.get_doc::<Entry>("credential").unwrap(), None);
    assert_eq!(
        store.get_secret("device_key").unwrap().unwrap().expose(),
        &[7; 32]
    );
    assert!(store.get_secret("totp_seed").unwrap().is_none());
    let items = store.list_items::<Entry>("record").unwrap();
    assert_eq!(
        items,
        vec![
            ListItem {
                id: "r-1".into(),
                value: entry(3)
            },
            ListItem {
                id: "r-2".into(),
                value: entry(6)
            }
        ]
    );
    assert_eq!(
        store.get_item::<Entry>("record", "r-2").unwrap(),
        Some(entry(6))
    );
    assert!(store.list_items::<Entry>("messages").unwrap().is_empty());
}

#[test]
fn upsert_replaces_in_place_and_lists_keep_insertion_order() {
    let (_dir, store) = new_store();
    for id in ["c", "a", "b"] {
        store
            .write(|tx| tx.upsert_item("messages", id, id))
            .unwrap();
    }
    // Lists interleave in one table; each keeps its own order.
    store
        .write(|tx| tx.upsert_item("record", "a", "other list"))
        .unwrap();
    store
        .write(|tx| tx.upsert_item("messages", "a", "A2"))
        .unwrap();
    let ids: Vec<(String, String)> = store
        .list_items::<String>("messages")
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.value))
        .collect();
    assert_eq!(
        ids,
        [("c", "c"), ("a", "A2"), ("b", "b")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        store.get_item::<String>("record", "a").unwrap().as_deref(),
        Some("other list")
    );
}

#[test]
fn deletes_and_clear_remove_only_their_target() {
    let (_dir, store) = new_store();
    store
        .write(|tx| {
            tx.put_doc("a", &1)?;
            tx.put_doc("b", &2)?;
            tx.put_secret("s", b"x")?;
            tx.upsert_item("l", "1", &1)?;
            tx.upsert_item("l", "2", &2)?;
            tx.upsert_item("m", "1", &1)
        })
        .unwrap();
    store
        .write(|tx| {
            assert!(tx.delete_doc("a")?);
            assert!(!tx.delete_doc("a")?);
            assert!(tx.delete_secret("s")?);
            assert!(tx.delete_item("l", "1")?);
            assert!(!tx.delete_item("l", "9")?);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(store.get_doc::<i32>("a").unwrap(), None);
    assert_eq!(store.get_doc::<i32>("b").unwrap(), Some(2));
    assert!(store.get_secret("s").unwrap().is_none());
    assert_eq!(store.list_items::<i32>("l").unwrap().len(), 1);
    assert_eq!(store.write(|tx| tx.clear_list("l")).unwrap(), 1);
    assert_eq!(store.list_items::<i32>("m").unwrap().len(), 1);
}

#[test]
fn failing_closure_leaves_nothing_behind() {
    let (_dir, store) = new_store();
    store.write(|tx| tx.put_doc("sync_state", &1)).unwrap();
    #[derive(Debug)]
    enum SyncError {
        Store,
        ServerSaidNo,
    }
    impl From<StoreError> for SyncError {
        fn from(_: StoreError) -> Self {
            SyncError::Store
        }
    }
    let r: Result<(), SyncError> = store.write(|tx| {
        tx.put_doc("sync_state", &2)?;
        tx.put_doc("licence", &entry(1))?;
        tx.put_secret("totp_seed", &[1; 32])?;
        tx.upsert_item("record", "r-9", &entry(9))?;
        // Reads inside the transaction see its own writes.
        assert_eq!(tx.get_doc::<i32>("sync_state")?, Some(2));
        assert_eq!(tx.list_items::<Entry>("record")?.len(), 1);
        Err(SyncError::ServerSaidNo)
    });
    assert!(matches!(r, Err(SyncError::ServerSaidNo)));
    assert_eq!(store.get_doc::<i32>("sync_state").unwrap(), Some(1));
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), None);
    assert!(store.get_secret("totp_seed").unwrap().is_none());
    assert!(store.list_items::<Entry>("record").unwrap().is_empty());
}

#[test]
fn panicking_closure_leaves_nothing_behind_and_the_store_still_works() {
    let (_dir, store) = new_store();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write(|tx| -> Result<(), StoreError> {
            tx.put_doc("licence", &entry(1))?;
            panic!("bug in the wallet layer");
        });
    }));
    assert!(result.is_err());
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), None);
    store.write(|tx| tx.put_doc("licence", &entry(2))).unwrap();
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(2)));
}

#[test]
fn reentrant_use_is_an_error_not_a_deadlock() {
    let (_dir, store) = new_store();
    let r = store.write(|_tx| store.get_doc::<i32>("licence"));
    assert_eq!(r.unwrap_err(), StoreError::Reentrant);
    let r = store.read(|_r| store.put_secret("s", b"x"));
    assert_eq!(r.unwrap_err(), StoreError::Reentrant);
    // Nothing stays marked once the closures are done.
    store.put_secret("s", b"x").unwrap();
}

#[test]
fn bad_names_and_ids_are_refused() {
    let (_dir, store) = new_store();
    for name in [
        "",
        "Licence",
        "a b",
        "名字",
        "x'; DROP TABLE docs; --",
        &"a".repeat(65),
    ] {
        assert_eq!(
            store.write(|tx| tx.put_doc(name, &1)).unwrap_err(),
            StoreError::InvalidName,
            "{name}"
        );
        assert_eq!(store.get_secret(name).unwrap_err(), StoreError::InvalidName);
    }
    assert_eq!(
        store
            .write(|tx| tx.upsert_item("record", "", &1))
            .unwrap_err(),
        StoreError::InvalidName
    );
    assert_eq!(
        store
            .write(|tx| tx.upsert_item("record", &"x".repeat(257), &1))
            .unwrap_err(),
        StoreError::InvalidName
    );
    // Server ids are free text.
    store
        .write(|tx| tx.upsert_item("record", "记录/1 'x'", &1))
        .unwrap();
    assert_eq!(
        store.get_item::<i32>("record", "记录/1 'x'").unwrap(),
        Some(1)
    );
}

#[test]
fn decoding_into_the_wrong_type_is_a_typed_error_without_the_value() {
    let (_dir, store) = new_store();
    store.write(|tx| tx.put_doc("licence", "张伟")).unwrap();
    let err = store.get_doc::<u32>("licence").unwrap_err();
    assert_eq!(err, StoreError::Conversion(Conversion::Decode));
    assert!(!format!("{err} {err:?}").contains("张伟"));
}

#[test]
fn disk_full_is_typed_and_rolls_the_whole_write_back() {
    let (_dir, store) = new_store();
    store.write(|tx| tx.put_doc("licence", &entry(1))).unwrap();
    let set_limit = |pages: Option<i64>| {
        let conn = store.conn.lock().unwrap();
        let limit = match pages {
            Some(p) => p,
            None => conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .unwrap(),
        };
        // Caps the file at its current size: SQLite then fails writes with SQLITE_FULL,
        // as it does on a full disk.
        conn.query_row(&format!("PRAGMA max_page_count = {limit}"), [], |_| Ok(()))
            .unwrap();
    };
    set_limit(None);
    let big = "照片".repeat(100_000);
    let err = store
        .write(|tx| {
            tx.put_doc("sync_state", &2)?;
            tx.put_doc("photo", &big)
        })
        .unwrap_err();
    assert_eq!(err, StoreError::DiskFull);
    assert_eq!(store.get_doc::<i32>("sync_state").unwrap(), None);
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(1)));

    set_limit(Some(1 << 30));
    store.write(|tx| tx.put_doc("photo", &big)).unwrap();
    assert_eq!(store.get_doc::<String>("photo").unwrap(), Some(big));
}

#[test]
fn several_threads_writing_and_reading_stay_consistent() {
    const THREADS: usize = 4;
    const WRITES: usize = 40;
    let (_dir, store) = new_store();
    let store = Arc::new(store);
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let store = Arc::clone(&store);
        handles.push(std::thread::spawn(move || {
            for i in 0..WRITES {
                // Each write moves a counter and appends an item together; a reader
                // must never see one without the other.
                store
                    .write(|tx| {
                        tx.upsert_item("record", &format!("t{t}-{i}"), &entry(i as u8))?;
                        tx.put_doc(&format!("count_{t}"), &(i + 1))
                    })
                    .unwrap();
                store
                    .read(|r| {
                        let items = r.list_items::<Entry>("record")?;
                        for u in 0..THREADS {
                            let count = r.get_doc::<usize>(&format!("count_{u}"))?.unwrap_or(0);
                            let prefix = format!("t{u}-");
                            let seen = items.iter().filter(|x| x.id.starts_with(&prefix)).count();
                            assert_eq!(count, seen, "thread {u}");
                        }
                        Ok::<_, StoreError>(())
                    })
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let items = store.list_items::<Entry>("record").unwrap();
    assert_eq!(items.len(), THREADS * WRITES);
    for t in 0..THREADS {
        let mine: Vec<_> = items
            .iter()
            .filter(|x| x.id.starts_with(&format!("t{t}-")))
            .map(|x| x.value.points as usize)
            .collect();
        assert_eq!(mine, (0..WRITES).collect::<Vec<_>>());
    }
}

#[test]
fn rows_moved_between_places_fail_authentication() {
    // Names the store keeps when it finds its rows mixed (`rebuild`): a moved row changes
    // the set of rows too, and the wallet's documents from the authority would be dropped.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store
        .write(|tx| {
            tx.put_doc("enrolment", &entry(1))?;
            tx.put_doc("credential", &entry(2))?;
            tx.put_secret("device_key", &[1; 32])?;
            tx.upsert_item("record", "a", &entry(3))?;
            tx.upsert_item("record", "b", &entry(4))?;
            tx.upsert_item("notes", "m", &entry(5))
        })
        .unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    let unauthentic = StoreError::Corrupt(Corruption::Unauthentic);

    // A document's body copied over another document.
    raw.execute_batch(
        "UPDATE docs SET body = (SELECT body FROM docs WHERE name = 'enrolment') WHERE name = 'credential'",
    )
    .unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(store.found_mixed_rows());
    assert_eq!(store.get_doc::<Entry>("enrolment").unwrap(), Some(entry(1)));
    assert_eq!(
        store.get_doc::<Entry>("credential").unwrap_err(),
        unauthentic
    );
    drop(store);

    // A document moved into the secrets table.
    raw.execute_batch("UPDATE secrets SET body = (SELECT body FROM docs WHERE name = 'enrolment')")
        .unwrap();
    // Two items swapped positions.
    raw.execute_batch(
        "UPDATE items SET seq = -seq WHERE list = 'record';
         UPDATE items SET seq = CASE WHEN seq = -1 THEN 2 ELSE 1 END WHERE seq < 0;",
    )
    .unwrap();
    // An item moved to another list.
    raw.execute_batch("UPDATE items SET list = 'drafts' WHERE list = 'notes'")
        .unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(store.found_mixed_rows());
    assert_eq!(store.get_secret("device_key").unwrap_err(), unauthentic);
    assert_eq!(
        store.list_items::<Entry>("record").unwrap_err(),
        unauthentic
    );
    assert_eq!(
        store.list_items::<Entry>("drafts").unwrap_err(),
        unauthentic
    );
    assert_eq!(store.list_items::<Entry>("notes").unwrap(), vec![]);
}

/// A store file as version `version` of the library left it, with what `write` put in
/// it: that version's schema, the wrapped key and the key check, and rows written without
/// a row digest (versions before 3 stored none: no `finish`).
fn file_as_version(
    path: &std::path::Path,
    ks: &SoftwareKeyStore,
    version: u32,
    write: impl FnOnce(&WriteTx<'_>),
) {
    let key = DataKey::generate().unwrap();
    let mut conn = Connection::open(path).unwrap();
    configure(&conn).unwrap();
    let tx = conn.transaction().unwrap();
    schema::migrate(&tx, 0, version).unwrap();
    put_meta(&tx, META_WRAPPED_KEY, &ks.wrap_key(key.master()).unwrap()).unwrap();
    put_meta(
        &tx,
        META_KEY_CHECK,
        &key.seal(Slot::KeyCheck, KEY_CHECK).unwrap(),
    )
    .unwrap();
    let w = WriteTx::new(tx, &key);
    write(&w);
    w.tx.commit().unwrap();
}

#[test]
fn v1_file_with_data_migrates_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let ks = keys("k");
    // A file as version 1 of the library left it.
    file_as_version(&path, &ks, 1, |w| {
        w.upsert_item("record", "r", &entry(2)).unwrap();
    });
    assert_eq!(
        schema::user_version(&Connection::open(&path).unwrap()).unwrap(),
        1
    );
    let store = WalletStore::open(&path, &ks).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::VERSION);
    assert_eq!(
        store.list_items::<Entry>("record").unwrap()[0].value,
        entry(2)
    );
}

#[test]
fn rewrap_moves_the_store_to_a_new_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("old")).unwrap();
    store.put_secret("s", b"secret").unwrap();
    store.rewrap(&keys("new")).unwrap();
    drop(store);
    assert_eq!(
        WalletStore::open(&path, &keys("old")).unwrap_err(),
        StoreError::WrongKey
    );
    let store = WalletStore::open(&path, &keys("new")).unwrap();
    assert_eq!(store.get_secret("s").unwrap().unwrap().expose(), b"secret");
}

/// After a rewrap no file of the store holds the old blob (AN-F5): the WAL kept a copy of
/// the meta page from every earlier write, each with the blob the old key store opens.
#[test]
fn after_a_rewrap_no_file_of_the_store_holds_the_old_blob() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("old")).unwrap();
    for n in 0..5 {
        store.put_secret("s", &[n; 32]).unwrap();
    }
    let old_blob: Vec<u8> = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [META_WRAPPED_KEY],
            |r| r.get(0),
        )
        .unwrap();
    let holding = |suffix: &str| {
        let bytes = std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default();
        bytes.windows(old_blob.len()).any(|w| w == old_blob)
    };
    assert!(holding("") || holding("-wal"), "the blob is there before");
    store.rewrap(&keys("new")).unwrap();
    for suffix in ["", "-wal"] {
        assert!(!holding(suffix), "w.db{suffix} still holds the old blob");
    }
}

#[test]
fn a_key_store_that_gives_back_another_key_is_wrong_key() {
    struct Liar;
    impl KeyWrapper for Liar {
        fn wrap_key(&self, _: &[u8]) -> Result<Vec<u8>, crate::wallet::store::KeyWrapError> {
            Ok(vec![0; 8])
        }
        fn unwrap_key(
            &self,
            _: &[u8],
        ) -> Result<Zeroizing<Vec<u8>>, crate::wallet::store::KeyWrapError> {
            Ok(Zeroizing::new(vec![0x55; 32]))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    // Re-wrapping finds the fault before it saves the blob: a key-store error, the key
    // store's not the file's (the third hostile review, F5).
    assert_eq!(
        store.rewrap(&Liar).unwrap_err(),
        StoreError::KeyWrap(KeyWrapError::NoRoundTrip)
    );
    drop(store);
    assert_eq!(
        WalletStore::open(&path, &Liar).unwrap_err(),
        StoreError::WrongKey
    );
}

#[test]
fn debug_of_store_and_transactions_shows_nothing_secret() {
    let (_dir, store) = new_store();
    store.put_secret("device_key", &[0xAB; 32]).unwrap();
    let shown = store
        .write(|tx| {
            let s = tx.get_secret("device_key")?.unwrap();
            Ok::<_, StoreError>(format!("{store:?} {tx:?} {s:?} {:?}", DataKey::generate()?))
        })
        .unwrap();
    assert!(!shown.contains("171") && !shown.to_lowercase().contains("abab"));
    assert!(shown.contains("[redacted]"));
}

// The row digest (D143): rows from different moments of one wallet are found at opening.

/// Copies the store's file (closed: no WAL beside it) to `name` beside it.
fn copy_beside(path: &std::path::Path, name: &str) -> std::path::PathBuf {
    let copy = path.with_file_name(name);
    std::fs::copy(path, &copy).unwrap();
    copy
}

fn found_mixed(path: &std::path::Path) -> bool {
    WalletStore::open(path, &keys("k"))
        .unwrap()
        .found_mixed_rows()
}

/// Every single row rolled back, put back after its deletion, or deleted, and the digest
/// row rolled back alone or with some rows, is found; the same file untouched, or wholly
/// rolled back, is not.
#[test]
fn any_row_rolled_back_put_back_or_deleted_is_found_and_a_whole_copy_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store
        .write(|tx| {
            tx.put_doc("d1", &entry(1))?;
            tx.put_doc("d2", &entry(2))?;
            tx.put_secret("s1", &[1; 32])?;
            tx.upsert_item("list", "a", &entry(3))?;
            tx.upsert_item("list", "b", &entry(4))?;
            tx.upsert_item("list", "c", &entry(5))
        })
        .unwrap();
    drop(store);
    let old = copy_beside(&path, "old.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(!store.found_mixed_rows());
    store
        .write(|tx| {
            tx.put_doc("d1", &entry(11))?;
            tx.put_secret("s1", &[2; 32])?;
            tx.upsert_item("list", "b", &entry(14))?;
            tx.upsert_item("list", "d", &entry(16))?;
            tx.delete_item("list", "c")?;
            tx.put_doc("d3", &entry(13))?;
            tx.delete_doc("d2")
        })
        .unwrap();
    drop(store);
    let new = copy_beside(&path, "new.db");

    let cases = [
        ("nothing", "", false),
        (
            "a document rolled back",
            "UPDATE main.docs SET body = (SELECT body FROM old.docs WHERE name = 'd1') WHERE name = 'd1'",
            true,
        ),
        (
            "a secret rolled back",
            "UPDATE main.secrets SET body = (SELECT body FROM old.secrets WHERE name = 's1')",
            true,
        ),
        (
            "an item rolled back",
            "UPDATE main.items SET body = (SELECT body FROM old.items WHERE seq = 2) WHERE seq = 2",
            true,
        ),
        (
            "a deleted item put back",
            "INSERT INTO main.items SELECT * FROM old.items WHERE seq = 3",
            true,
        ),
        (
            "a deleted document put back",
            "INSERT INTO main.docs SELECT * FROM old.docs WHERE name = 'd2'",
            true,
        ),
        ("a document deleted", "DELETE FROM main.docs WHERE name = 'd3'", true),
        ("an item deleted", "DELETE FROM main.items WHERE seq = 4", true),
        ("the digest deleted", "DELETE FROM main.meta WHERE key = 'row_digest'", true),
        (
            "the digest rolled back alone",
            "UPDATE main.meta SET value = (SELECT value FROM old.meta WHERE key = 'row_digest')
             WHERE key = 'row_digest'",
            true,
        ),
        (
            "the digest rolled back with some of the rows",
            "UPDATE main.meta SET value = (SELECT value FROM old.meta WHERE key = 'row_digest')
             WHERE key = 'row_digest';
             UPDATE main.docs SET body = (SELECT body FROM old.docs WHERE name = 'd1') WHERE name = 'd1';
             UPDATE main.secrets SET body = (SELECT body FROM old.secrets WHERE name = 's1');",
            true,
        ),
        (
            "a document's name made a blob (it would read as missing)",
            "UPDATE main.docs SET name = CAST(name AS BLOB) WHERE name = 'd3'",
            true,
        ),
    ];
    for (what, sql, mixed) in cases {
        std::fs::copy(&new, &path).unwrap();
        let raw = Connection::open(&path).unwrap();
        raw.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
            .unwrap();
        raw.execute_batch(sql).unwrap();
        drop(raw);
        assert_eq!(found_mixed(&path), mixed, "{what}");
        // Found once: the store vouches for what it kept.
        assert!(!found_mixed(&path), "{what}, opened again");
    }
    std::fs::copy(&old, &path).unwrap();
    assert!(!found_mixed(&path), "the whole file rolled back");
    assert_eq!(
        WalletStore::open(&path, &keys("k"))
            .unwrap()
            .get_doc::<Entry>("d2")
            .unwrap(),
        Some(entry(2))
    );
}

/// A mixed store drops what the authority gives back (a sync from cursor 0 brings it
/// again), keeps what only the wallet holds, and sets the cursor to 0 with the clock kept.
#[test]
fn a_mixed_store_keeps_what_only_the_wallet_holds_and_starts_its_sync_over() {
    use crate::wallet::state::{self, SyncState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    let docs = [
        state::ENROLMENT,
        state::TRUST_LIST,
        state::TRUST_LISTS,
        state::LICENCE,
        state::PHOTO,
        state::ELICENCE,
        state::APPLICATION,
        state::PHOTO_SUBMISSION,
    ];
    let lists = [
        state::MESSAGES,
        state::VERIFICATION_LOG,
        state::PHOTO_REVIEWS,
    ];
    let synced = SyncState {
        cursor: 40,
        clock_offset: -7,
        last_synced: Some(1_800_000_000),
    };
    store
        .write(|tx| {
            for name in docs {
                tx.put_doc(name, &entry(1))?;
            }
            tx.put_secret(state::DEVICE_KEY, &[1; 32])?;
            tx.put_secret(state::TOTP_SEED, &[2; 32])?;
            for list in lists {
                tx.upsert_item(list, "1", &entry(2))?;
            }
            tx.put_doc(state::SYNC_STATE, &synced)
        })
        .unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    raw.execute("DELETE FROM items WHERE list = 'messages'", [])
        .unwrap();
    drop(raw);

    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(store.found_mixed_rows());
    let kept = [
        state::ENROLMENT,
        state::TRUST_LIST,
        state::TRUST_LISTS,
        state::PHOTO_SUBMISSION,
    ];
    for name in docs {
        let held = store.get_doc::<Entry>(name).unwrap().is_some();
        assert_eq!(held, kept.contains(&name), "{name}");
    }
    assert!(store.get_secret(state::DEVICE_KEY).unwrap().is_some());
    assert!(store.get_secret(state::TOTP_SEED).unwrap().is_none());
    for list in lists {
        assert!(
            store.list_items::<Entry>(list).unwrap().is_empty(),
            "{list}"
        );
    }
    assert_eq!(
        store.get_doc::<SyncState>(state::SYNC_STATE).unwrap(),
        Some(SyncState {
            cursor: 0,
            clock_offset: -7,
            last_synced: None
        })
    );

    // The sync state itself replaced by something that does not open: it goes, and the
    // wallet learns the clock again at its next exchange.
    drop(store);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE docs SET body = (SELECT body FROM docs WHERE name = 'enrolment') WHERE name = 'sync_state'",
        [],
    )
    .unwrap();
    drop(raw);
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(store.found_mixed_rows());
    assert_eq!(store.get_doc::<SyncState>(state::SYNC_STATE).unwrap(), None);
}

/// Every kind of write, failed and panicking writes and a re-wrap among them, moves the
/// digest with the rows: opened again after each, the store is whole and reads back.
#[test]
fn every_kind_of_write_leaves_the_store_whole_across_reopenings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let open = |k: &str| WalletStore::open(&path, &keys(k)).unwrap();
    type Step = Box<dyn Fn(&WriteTx<'_>) -> Result<(), StoreError>>;
    let steps: Vec<Step> = vec![
        Box::new(|tx| tx.put_doc("licence", &entry(1))),
        Box::new(|tx| tx.put_doc("licence", &entry(2))),
        Box::new(|tx| tx.put_secret("totp_seed", &[3; 32])),
        Box::new(|tx| tx.put_secret("totp_seed", &[4; 32])),
        Box::new(|tx| {
            for i in 0..50 {
                tx.upsert_item("verification_log", &format!("v{i}"), &entry(i))?;
            }
            Ok(())
        }),
        Box::new(|tx| tx.upsert_item("verification_log", "v7", &entry(70))),
        Box::new(|tx| tx.delete_item("verification_log", "v8").map(|_| ())),
        Box::new(|tx| tx.delete_item("verification_log", "absent").map(|_| ())),
        Box::new(|tx| tx.delete_secret("totp_seed").map(|_| ())),
        Box::new(|tx| tx.delete_doc("absent").map(|_| ())),
        Box::new(|tx| {
            // Written, deleted and written again in one transaction.
            tx.put_doc("photo", &entry(5))?;
            tx.delete_doc("photo")?;
            tx.upsert_item("messages", "m", &entry(6))?;
            tx.clear_list("messages")?;
            tx.upsert_item("messages", "m", &entry(7))?;
            tx.put_doc("photo", &entry(8))
        }),
        Box::new(|tx| tx.clear_list("verification_log").map(|_| ())),
        Box::new(|tx| tx.upsert_item("verification_log", "again", &entry(9))),
    ];
    for (i, step) in steps.iter().enumerate() {
        let store = open("k");
        assert!(!store.found_mixed_rows(), "before step {i}");
        store.write(|tx| step(tx)).unwrap();
        // A write that fails, and one that panics, after rows moved: nothing lands.
        let failed: Result<(), StoreError> = store.write(|tx| {
            tx.put_doc("licence", &entry(99))?;
            tx.upsert_item("verification_log", "lost", &entry(99))?;
            Err(StoreError::InvalidName)
        });
        assert!(failed.is_err());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(|tx| {
                tx.delete_doc("licence")?;
                panic!("in the middle of a write");
                #[allow(unreachable_code)]
                Ok::<_, StoreError>(())
            })
        }));
        assert!(panicked.is_err());
        drop(store);
    }
    let store = open("k");
    assert!(!store.found_mixed_rows());
    store.rewrap(&keys("other")).unwrap();
    drop(store);
    let store = open("other");
    assert!(!store.found_mixed_rows());
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(2)));
    assert_eq!(store.get_doc::<Entry>("photo").unwrap(), Some(entry(8)));
    assert_eq!(
        store.list_items::<Entry>("messages").unwrap()[0].value,
        entry(7)
    );
    let log = store.list_items::<Entry>("verification_log").unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].id, "again");
    assert!(store.get_secret("totp_seed").unwrap().is_none());
}

/// Two handles on one file (two processes of the app) writing at once: each transaction
/// reads the digest the other left, so the file stays whole.
#[test]
fn two_handles_writing_at_once_leave_the_store_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let a = Arc::new(WalletStore::open(&path, &keys("k")).unwrap());
    let b = Arc::new(WalletStore::open(&path, &keys("k")).unwrap());
    let handles: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(t, store)| {
            std::thread::spawn(move || {
                for i in 0..40u8 {
                    store
                        .write(|tx| {
                            tx.upsert_item("verification_log", &format!("{t}-{i}"), &entry(i))?;
                            if i % 3 == 0 {
                                tx.delete_item("verification_log", &format!("{t}-{}", i / 2))?;
                            }
                            tx.put_doc(&format!("count_{t}"), &i)
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert!(!store.found_mixed_rows());
    assert_eq!(store.get_doc::<u8>("count_1").unwrap(), Some(39));
}

/// The file as a crash in the middle of a write leaves it (the write's pages already in
/// the WAL, without their commit) opens whole, with the last commit's rows: the digest
/// moves in the rows' transaction.
#[test]
fn a_crash_in_the_middle_of_a_write_leaves_the_last_commit_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store
        .write(|tx| {
            tx.put_doc("licence", &entry(1))?;
            tx.upsert_item("verification_log", "v0", &entry(0))
        })
        .unwrap();
    {
        // A small page cache, so the write's pages spill into the WAL before its commit.
        let conn = store.conn.lock().unwrap();
        conn.execute_batch("PRAGMA cache_size = 8").unwrap();
    }
    let wal_len = || {
        std::fs::metadata(dir.path().join("w.db-wal"))
            .unwrap()
            .len()
    };
    let committed = wal_len();
    store
        .write(|tx| {
            tx.put_doc("licence", &entry(2))?;
            for i in 1..400 {
                tx.upsert_item("verification_log", &format!("v{i}"), &entry(i as u8))?;
            }
            tx.delete_item("verification_log", "v0")?;
            assert!(
                wal_len() > committed,
                "nothing of the write reached the WAL"
            );
            for suffix in ["", "-wal"] {
                let name = format!("w.db{suffix}");
                std::fs::copy(dir.path().join(&name), crashed.join(&name)).unwrap();
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let store = WalletStore::open(crashed.join("w.db"), &keys("k")).unwrap();
    assert!(!store.found_mixed_rows());
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(1)));
    assert_eq!(
        store.list_items::<Entry>("verification_log").unwrap().len(),
        1
    );
}

/// A file as version 2 of the library left it (no row digest) opens with everything, the
/// digest computed over its rows in the migration's transaction; it is whole from then on.
#[test]
fn a_v2_file_with_data_gets_its_digest_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let ks = keys("k");
    file_as_version(&path, &ks, 2, |w| {
        w.put_doc("licence", &entry(1)).unwrap();
        w.put_secret("totp_seed", &[5; 32]).unwrap();
        w.upsert_item("verification_log", "v", &entry(2)).unwrap();
    });
    let raw = Connection::open(&path).unwrap();
    assert_eq!(schema::user_version(&raw).unwrap(), 2);
    let digests: i64 = raw
        .query_row(
            "SELECT count(*) FROM meta WHERE key = 'row_digest'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(digests, 0);
    drop(raw);
    for _ in 0..2 {
        let store = WalletStore::open(&path, &ks).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::VERSION);
        assert!(!store.found_mixed_rows());
        assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(1)));
        assert_eq!(
            store.get_secret("totp_seed").unwrap().unwrap().expose(),
            &[5; 32]
        );
        assert_eq!(
            store.list_items::<Entry>("verification_log").unwrap()[0].value,
            entry(2)
        );
    }
}

/// A file that keeps a row digest tells itself from an older one by its key check, not by
/// its header: with `user_version` set back to 2 and the digest row deleted, mixed rows are
/// still found (the migration would otherwise have vouched for them); with only the header
/// set back, nothing is lost. A key check from a copy made before the upgrade, put into the
/// upgraded file, is a row from another moment too.
#[test]
fn a_digested_file_set_back_to_an_older_schema_is_not_taken_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store.write(|tx| tx.put_doc("d1", &entry(1))).unwrap();
    drop(store);
    let old = copy_beside(&path, "old.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store.write(|tx| tx.put_doc("d1", &entry(2))).unwrap();
    drop(store);
    let new = copy_beside(&path, "new.db");
    let roll_back = "UPDATE main.docs SET body = (SELECT body FROM old.docs WHERE name = 'd1');";
    let unvouched = "DELETE FROM main.meta WHERE key = 'row_digest'; PRAGMA main.user_version = 2;";
    for (what, sql, mixed) in [
        ("set back, digest deleted", unvouched.to_owned(), true),
        (
            "a row rolled back, set back, digest deleted",
            format!("{roll_back} {unvouched}"),
            true,
        ),
        (
            "only set back",
            "PRAGMA main.user_version = 2;".into(),
            false,
        ),
    ] {
        std::fs::copy(&new, &path).unwrap();
        let raw = Connection::open(&path).unwrap();
        raw.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
            .unwrap();
        raw.execute_batch(&sql).unwrap();
        drop(raw);
        let store = WalletStore::open(&path, &keys("k")).unwrap();
        assert_eq!(store.found_mixed_rows(), mixed, "{what}");
        assert_eq!(store.schema_version().unwrap(), schema::VERSION, "{what}");
        if !mixed {
            assert_eq!(store.get_doc::<Entry>("d1").unwrap(), Some(entry(2)));
        }
    }

    // A file from before the upgrade, copied, then upgraded and written.
    let ks = keys("k");
    std::fs::remove_file(&path).unwrap();
    file_as_version(&path, &ks, 2, |w| {
        w.put_doc("d1", &entry(1)).unwrap();
    });
    let before_upgrade = copy_beside(&path, "before-upgrade.db");
    let store = WalletStore::open(&path, &ks).unwrap();
    assert!(!store.found_mixed_rows());
    store.write(|tx| tx.put_doc("d1", &entry(2))).unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    raw.execute("ATTACH ?1 AS old", [before_upgrade.to_str().unwrap()])
        .unwrap();
    raw.execute_batch(
        "UPDATE main.meta SET value = (SELECT value FROM old.meta WHERE key = 'key_check')
         WHERE key = 'key_check'",
    )
    .unwrap();
    drop(raw);
    assert!(found_mixed(&path), "a key check from before the upgrade");
    assert!(!found_mixed(&path));
}

/// A key store whose first unwrap says it began, then waits to be told to go on.
struct PausedOnce {
    keys: SoftwareKeyStore,
    began: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    go: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl KeyWrapper for PausedOnce {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        self.keys.wrap_key(plaintext)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        if let Some(began) = self.began.lock().unwrap().take() {
            began.send(()).unwrap();
            let go = self.go.lock().unwrap().take().unwrap();
            go.recv().unwrap();
        }
        self.keys.unwrap_key(wrapped)
    }
}

/// Two openers of a file from before the row digest (AN-F3): the first is in its key
/// store's unwrap (a platform call, a prompt) when the second migrates the file to the
/// digest and commits. The first then took the probe's "no digest yet" for the migrated
/// file, found its key check from before the digest in a digested schema, and dropped all
/// the authority gives back as mixed rows.
#[test]
fn a_file_migrated_by_another_opener_during_the_probe_is_not_taken_for_mixed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    file_as_version(&path, &keys("k"), 2, |w| {
        w.put_doc(crate::wallet::state::LICENCE, &entry(7)).unwrap();
    });
    let (began_tx, began) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel();
    let paused = PausedOnce {
        keys: keys("k"),
        began: std::sync::Mutex::new(Some(began_tx)),
        go: std::sync::Mutex::new(Some(go_rx)),
    };
    let first = std::thread::spawn({
        let path = path.clone();
        move || WalletStore::open(&path, &paused)
    });
    began.recv().unwrap();
    let second = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(second.schema_version().unwrap(), schema::VERSION);
    assert!(!second.found_mixed_rows());
    drop(second);
    go.send(()).unwrap();
    let first = first.join().unwrap().unwrap();
    assert!(
        !first.found_mixed_rows(),
        "the migrated file was taken for mixed rows"
    );
    assert_eq!(
        first
            .get_doc::<Entry>(crate::wallet::state::LICENCE)
            .unwrap(),
        Some(entry(7))
    );
}

/// Whether some connection holds the write lock of the database at `path` now: a
/// connection of its own that may not wait is refused `BEGIN IMMEDIATE`.
fn write_lock_held(path: &std::path::Path) -> bool {
    let Ok(conn) = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
    else {
        return false;
    };
    conn.busy_timeout(std::time::Duration::ZERO).unwrap();
    match conn.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            conn.execute_batch("ROLLBACK").unwrap();
            false
        }
        Err(e) => {
            assert_eq!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy),
                "{e}"
            );
            true
        }
    }
}

/// Two openers of a new wallet (AN-F6): the first is in its key store's wrap of a new data
/// key (a platform call, a prompt) when the second creates the file and commits. The first
/// then found a store under its write lock and asked its key store to unwrap that store's
/// key there, so every other process's write waited on the platform's call, or a prompt.
/// It now lets the lock go and opens the file it finds as any opener does.
#[test]
fn a_file_created_by_another_opener_is_not_unwrapped_under_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    // The second opener makes the file and writes to it while the first is in its wrap.
    let meddling = Meddling::new(&path, |asked| {
        if asked == Asked::Wrap(0) {
            let second = WalletStore::open(dir.path().join("w.db"), &keys("k")).unwrap();
            second.write(|tx| tx.put_doc("d1", &entry(4))).unwrap();
        }
    });
    let first = WalletStore::open(&path, &meddling).unwrap();
    assert_eq!(
        count(&meddling.under_lock),
        0,
        "the key store was asked while the write lock was held"
    );
    assert_eq!(first.get_doc::<Entry>("d1").unwrap(), Some(entry(4)));
    assert!(!first.found_mixed_rows());
}

/// Which call a [`Meddling`] key store is in, with how many of its kind came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Wrap(usize),
    Unwrap(usize),
}

/// A key store that runs `meddle` at each call before answering it, and counts the calls
/// it was asked while the store's write lock was held.
struct Meddling<F> {
    keys: SoftwareKeyStore,
    path: std::path::PathBuf,
    meddle: F,
    wraps: std::sync::atomic::AtomicUsize,
    unwraps: std::sync::atomic::AtomicUsize,
    under_lock: std::sync::atomic::AtomicUsize,
}

impl<F: Fn(Asked) + Send + Sync> Meddling<F> {
    fn new(path: &std::path::Path, meddle: F) -> Self {
        Meddling {
            keys: keys("k"),
            path: path.to_owned(),
            meddle,
            wraps: std::sync::atomic::AtomicUsize::new(0),
            unwraps: std::sync::atomic::AtomicUsize::new(0),
            under_lock: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Counts a call made under the write lock, then meddles.
    fn asked(&self, asked: Asked) {
        if write_lock_held(&self.path) {
            self.under_lock
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        (self.meddle)(asked);
    }
}

fn count(counter: &std::sync::atomic::AtomicUsize) -> usize {
    counter.load(std::sync::atomic::Ordering::SeqCst)
}

fn next(counter: &std::sync::atomic::AtomicUsize) -> usize {
    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

impl<F: Fn(Asked) + Send + Sync> KeyWrapper for Meddling<F> {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        self.asked(Asked::Wrap(next(&self.wraps)));
        self.keys.wrap_key(plaintext)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        self.asked(Asked::Unwrap(next(&self.unwraps)));
        self.keys.unwrap_key(wrapped)
    }
}

/// Removes the store at `path` with its WAL and shared-memory files, as a restore would.
fn remove_store(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(name));
    }
}

/// A file emptied while the opener's key store unwrapped its key (AN-F6, D227's other
/// branch): the new data key is wrapped outside the write lock, at the next look, and
/// the store opens anew (the review of D227, AQ-8: before, the wrap ran under the lock).
#[test]
fn a_file_emptied_during_the_probe_is_made_anew_without_asking_under_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    drop(WalletStore::open(&path, &keys("k")).unwrap());
    let meddling = Meddling::new(&path, |asked| {
        if asked == Asked::Unwrap(0) {
            std::fs::File::create(dir.path().join("w.db")).unwrap();
        }
    });
    let store = WalletStore::open(&path, &meddling).unwrap();
    assert_eq!(count(&meddling.under_lock), 0);
    assert_eq!(store.schema_version().unwrap(), schema::VERSION);
    store.write(|tx| tx.put_doc("d1", &entry(3))).unwrap();
    drop(store);
    let again = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(again.get_doc::<Entry>("d1").unwrap(), Some(entry(3)));
}

/// A file replaced by another wallet at every look (a process restoring it in a loop):
/// three looks, each key asked outside the write lock, then `Locked` (D227, AQ-8).
#[test]
fn a_file_replaced_at_every_look_gives_locked_after_three() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    drop(WalletStore::open(&path, &keys("k")).unwrap());
    let meddling = Meddling::new(&path, |asked| {
        if !matches!(asked, Asked::Unwrap(_)) {
            return;
        }
        let path = dir.path().join("w.db");
        remove_store(&path);
        drop(WalletStore::open(&path, &keys("k")).unwrap());
    });
    assert!(matches!(
        WalletStore::open(&path, &meddling),
        Err(StoreError::Locked)
    ));
    assert_eq!(count(&meddling.unwraps), 3);
    assert_eq!(count(&meddling.under_lock), 0);
}
