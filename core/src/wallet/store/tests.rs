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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    store
        .write(|tx| {
            tx.put_doc("licence", &entry(1))?;
            tx.put_doc("credential", &entry(2))?;
            tx.put_secret("device_key", &[1; 32])?;
            tx.upsert_item("record", "a", &entry(3))?;
            tx.upsert_item("record", "b", &entry(4))?;
            tx.upsert_item("messages", "m", &entry(5))
        })
        .unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    let unauthentic = StoreError::Corrupt(Corruption::Unauthentic);

    // A document's body copied over another document.
    raw.execute_batch(
        "UPDATE docs SET body = (SELECT body FROM docs WHERE name = 'licence') WHERE name = 'credential'",
    )
    .unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(1)));
    assert_eq!(
        store.get_doc::<Entry>("credential").unwrap_err(),
        unauthentic
    );
    drop(store);

    // A document moved into the secrets table.
    raw.execute_batch("UPDATE secrets SET body = (SELECT body FROM docs WHERE name = 'licence')")
        .unwrap();
    // Two items swapped positions.
    raw.execute_batch(
        "UPDATE items SET seq = -seq WHERE list = 'record';
         UPDATE items SET seq = CASE WHEN seq = -1 THEN 2 ELSE 1 END WHERE seq < 0;",
    )
    .unwrap();
    // An item moved to another list.
    raw.execute_batch("UPDATE items SET list = 'verification_log' WHERE list = 'messages'")
        .unwrap();
    let store = WalletStore::open(&path, &keys("k")).unwrap();
    assert_eq!(store.get_secret("device_key").unwrap_err(), unauthentic);
    assert_eq!(
        store.list_items::<Entry>("record").unwrap_err(),
        unauthentic
    );
    assert_eq!(
        store.list_items::<Entry>("verification_log").unwrap_err(),
        unauthentic
    );
    assert_eq!(store.list_items::<Entry>("messages").unwrap(), vec![]);
}

#[test]
fn v1_file_with_data_migrates_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let ks = keys("k");
    // A file as version 1 of the library left it.
    {
        let key = DataKey::generate().unwrap();
        let mut conn = Connection::open(&path).unwrap();
        configure(&conn).unwrap();
        let tx = conn.transaction().unwrap();
        schema::migrate(&tx, 0, 1).unwrap();
        put_meta(&tx, META_WRAPPED_KEY, &ks.wrap_key(key.master()).unwrap()).unwrap();
        put_meta(
            &tx,
            META_KEY_CHECK,
            &key.seal(Slot::KeyCheck, KEY_CHECK).unwrap(),
        )
        .unwrap();
        let w = WriteTx { tx, key: &key };
        w.upsert_item("record", "r", &entry(2)).unwrap();
        w.tx.commit().unwrap();
    }
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
