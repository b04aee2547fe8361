//! The store against files planted in the wallet's directory (the third hostile review):
//! schema objects of its own that SQLite would run inside the wallet's writes, key stores
//! that do not give the key back, a FIFO, a symbolic link or a directory in place of a
//! store file, a key file without end.

#![cfg(feature = "wallet")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use edl_core::wallet::store::{
    Argon2Settings, Corruption, KeyWrapError, KeyWrapper, SoftwareKeyStore, StoreError, StoreRead,
    WalletStore,
};
use zeroize::Zeroizing;

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_passphrase_with("k", Argon2Settings::INSECURE_FOR_TESTS).unwrap()
}

/// A store at `path` holding one document, closed again.
fn made_store(path: &Path) {
    let store = WalletStore::open(path, &keys()).unwrap();
    store
        .write(|tx| tx.put_doc("licence", &"status A"))
        .unwrap();
}

/// Every file of the directory with its bytes (symbolic links as their target's name).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let bytes = if meta.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else if meta.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// The reviewer's trigger (F3): after every update of a document, the old sealed body is
/// put back, so a sync that stores a revoked licence leaves the old one showing.
const PIN_DOCS: &str = "CREATE TRIGGER pin_docs AFTER UPDATE ON docs
    BEGIN UPDATE docs SET body = OLD.body WHERE name = NEW.name; END;";

#[test]
fn schema_objects_the_store_did_not_create_are_refused_and_the_file_left_alone() {
    let cases = [
        ("trigger", PIN_DOCS),
        (
            "trigger on items",
            "CREATE TRIGGER hide_log AFTER INSERT ON items
               BEGIN DELETE FROM items WHERE seq = NEW.seq; END;",
        ),
        ("view", "CREATE VIEW licence_view AS SELECT * FROM docs;"),
        (
            "table",
            "CREATE TABLE keep (name TEXT PRIMARY KEY, body BLOB);",
        ),
        ("index", "CREATE INDEX docs_by_body ON docs (body);"),
        (
            "a column more",
            "ALTER TABLE docs ADD COLUMN note TEXT DEFAULT 'x';",
        ),
    ];
    for (what, sql) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        made_store(&path);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let before = snapshot(dir.path());
        let outcome = WalletStore::open(&path, &keys());
        assert!(
            matches!(
                outcome,
                Err(StoreError::Corrupt(Corruption::UnexpectedSchema))
            ),
            "{what}: {outcome:?}"
        );
        assert_eq!(snapshot(dir.path()), before, "{what}: the files changed");
    }
}

#[test]
fn a_trigger_planted_while_the_store_is_open_never_runs_in_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    let store = WalletStore::open(&path, &keys()).unwrap();
    store
        .write(|tx| tx.put_doc("licence", &"status A"))
        .unwrap();
    // Another process adds the trigger after the store has checked the file.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(PIN_DOCS)
        .unwrap();
    store
        .write(|tx| tx.put_doc("licence", &"status F (revoked)"))
        .unwrap();
    assert_eq!(
        store.get_doc::<String>("licence").unwrap().as_deref(),
        Some("status F (revoked)")
    );
}

/// `wrap_key` hands back bytes unrelated to the key, `unwrap_key` returns them (an app's
/// bug, F5); or it keeps the key but unwraps one byte short.
struct Garbage;
impl KeyWrapper for Garbage {
    fn wrap_key(&self, _: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        Ok(vec![0; 8])
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        Ok(Zeroizing::new(wrapped.to_vec()))
    }
}
struct Short;
impl KeyWrapper for Short {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        Ok(plaintext.to_vec())
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        Ok(Zeroizing::new(wrapped[1..].to_vec()))
    }
}

#[test]
fn a_key_store_that_does_not_give_the_key_back_is_refused_before_a_store_is_made() {
    let stores: [(&str, &dyn KeyWrapper); 2] = [("garbage", &Garbage), ("short", &Short)];
    for (what, ks) in stores {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        let outcome = WalletStore::open(&path, ks);
        assert!(
            matches!(outcome, Err(StoreError::KeyWrap(KeyWrapError::NoRoundTrip))),
            "{what}: {outcome:?}"
        );
        assert!(snapshot(dir.path()).is_empty(), "{what}: a file was made");
    }
}

/// A key store that wraps like `keys()` but unwraps one byte short.
struct Truncating(SoftwareKeyStore);
impl KeyWrapper for Truncating {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        self.0.wrap_key(plaintext)
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        let key = self.0.unwrap_key(wrapped)?;
        Ok(Zeroizing::new(key[1..].to_vec()))
    }
}

/// F6: a key of the wrong length from the key store was `Corrupt(MissingKey)`, which the
/// app is told to answer by wiping the wallet; the file is sound.
#[test]
fn a_key_of_the_wrong_length_from_the_key_store_is_its_fault_not_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    made_store(&path);
    let before = snapshot(dir.path());
    assert_eq!(
        WalletStore::open(&path, &Truncating(keys())).map(|_| ()),
        Err(StoreError::KeyWrap(KeyWrapError::BadKeyLength))
    );
    assert_eq!(snapshot(dir.path()), before);
    assert!(WalletStore::open(&path, &keys()).is_ok());
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens the store at `path` with `keys` on a thread of its own and waits up to 10 s for
/// the outcome. An opening that blocked on the FIFO at `fifo` is let go (the FIFO opened
/// for reading and writing at once, which satisfies a blocked reader or writer) and the
/// test fails, saying `what`.
#[cfg(unix)]
fn open_without_blocking<K: KeyWrapper + Send + 'static>(
    path: &Path,
    keys: K,
    fifo: &Path,
    what: &str,
) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let opening = path.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(WalletStore::open(&opening, &keys).map(|_| ()));
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| {
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(fifo);
            panic!("{what}: the opening blocked")
        })
}

/// A FIFO in place of the store (F7) blocked the opening for ever: it opened the path for
/// writing before looking at what it is.
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_store_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    mkfifo(&path);
    let outcome = open_without_blocking(&path, keys(), &path, "a FIFO in place of the store");
    assert_eq!(outcome, Err(StoreError::Corrupt(Corruption::NotAFile)));
}

/// A symbolic link in place of the store or its WAL (F10): the opening made the link's
/// target 0600 (with the reviewer's link to /dev/null, the system's) and SQLite wrote
/// through it. The targets here are files of the test's own directory.
#[cfg(unix)]
#[test]
fn a_symlink_in_place_of_a_store_file_is_refused_and_its_target_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for suffix in ["", "-wal", "-shm"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        if !suffix.is_empty() {
            made_store(&path);
        }
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&target, with_suffix(&path, suffix)).unwrap();
        let before = snapshot(dir.path());

        let outcome = WalletStore::open(&path, &keys()).map(|_| ());
        assert_eq!(mode(&target), 0o644, "wallet.db{suffix}: target's mode");
        assert_eq!(
            outcome,
            Err(StoreError::Corrupt(Corruption::NotAFile)),
            "wallet.db{suffix}"
        );
        assert_eq!(
            snapshot(dir.path()),
            before,
            "wallet.db{suffix}: files changed"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_directory_in_place_of_the_store_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    std::fs::create_dir(&path).unwrap();
    assert_eq!(
        WalletStore::open(&path, &keys()).map(|_| ()),
        Err(StoreError::Corrupt(Corruption::NotAFile))
    );
}

/// A key file that never ends (F9; the reviewer gave `/dev/zero`): here a FIFO fed with up
/// to 64 MiB of zeros. The key store must stop reading past 32 bytes, so the writer is
/// cut off after what the pipe holds.
#[cfg(unix)]
#[test]
fn a_key_file_without_end_is_read_only_up_to_its_bound() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.key");
    mkfifo(&path);
    let feeding = path.clone();
    let writer = std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new()
            .write(true)
            .open(&feeding)
            .unwrap();
        let chunk = [0u8; 64 * 1024];
        let mut written = 0usize;
        while written < 64 << 20 {
            match pipe.write(&chunk) {
                Ok(n) => written += n,
                // The reader went away (EPIPE; Rust ignores SIGPIPE).
                Err(_) => break,
            }
        }
        written
    });
    assert_eq!(
        SoftwareKeyStore::from_key_file(&path).unwrap_err(),
        KeyWrapError::BadKeyFile
    );
    let written = writer.join().unwrap();
    assert!(written < 1 << 20, "{written} bytes were read");
}

/// A key store that, while it wraps the new key (the slow step of a creation: a platform
/// call, a user prompt), lets `plant` put something in place of the store file: the window
/// between the look at the path and its opening, where another process could act.
struct Planting<F: Fn() + Send + Sync> {
    keys: SoftwareKeyStore,
    plant: F,
}
impl<F: Fn() + Send + Sync> KeyWrapper for Planting<F> {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        (self.plant)();
        self.keys.wrap_key(plaintext)
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        self.keys.unwrap_key(wrapped)
    }
}

/// A FIFO or a dangling link planted after the path was looked at is not opened through
/// (fresh-eyes review of D129): the opening that narrows the file's mode followed links and
/// waited on FIFOs, so a FIFO blocked it for ever and a dangling link had its target made.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_link_planted_during_the_key_store_s_wrap_is_not_opened_through() {
    for kind in ["fifo", "dangling link"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        let target = dir.path().join("made-through-the-link");
        let keys = Planting {
            keys: keys(),
            plant: {
                let (path, target) = (path.clone(), target.clone());
                move || {
                    if kind == "fifo" {
                        mkfifo(&path);
                    } else {
                        std::os::unix::fs::symlink(&target, &path).unwrap();
                    }
                }
            },
        };
        let outcome = open_without_blocking(&path, keys, &path, kind);
        assert!(outcome.is_err(), "{kind}: opened");
        assert!(!target.exists(), "{kind}: a file was made through the link");
    }
}

/// A store file cut to fewer bytes than SQLite's 100-byte header is not a new wallet (the
/// third hostile review, B-F8: a file of 1 byte opened as a new, empty wallet over the
/// tampered one). An empty file still opens as new: the store makes the file before its
/// first write, so a crash in between leaves one.
#[test]
fn a_store_file_shorter_than_a_header_is_not_a_new_wallet() {
    for len in [1usize, 50, 99] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        made_store(&path);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..len]).unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(&path, suffix));
        }
        let outcome = WalletStore::open(&path, &keys()).map(|_| ());
        assert_eq!(
            outcome,
            Err(StoreError::Corrupt(Corruption::NotADatabase)),
            "{len} bytes"
        );
        assert_eq!(
            std::fs::read(&path).unwrap().len(),
            len,
            "{len} bytes: the file was changed"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    std::fs::write(&path, b"").unwrap();
    assert!(
        WalletStore::open(&path, &keys()).is_ok(),
        "an empty file is a new store"
    );
}

/// A wallet whose directory is reached through a link higher up (AN-F1): on an iPhone the
/// app's directories are under `/var`, a link to `/private/var`; on many Android releases
/// `/data/user/0` links to `/data/data`. SQLite's no-follow flag refuses a link anywhere in
/// the path, so such a wallet never opened (`StorageUnavailable` for ever).
#[cfg(unix)]
#[test]
fn a_store_reached_through_a_linked_parent_directory_opens_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("private-var");
    std::fs::create_dir(&real).unwrap();
    let linked = dir.path().join("var");
    std::os::unix::fs::symlink(&real, &linked).unwrap();
    let path = linked.join("wallet.db");
    made_store(&path);
    let store = WalletStore::open(&path, &keys()).expect("reopened through the link");
    assert_eq!(
        store.get_doc::<String>("licence").unwrap(),
        Some("status A".to_owned())
    );
    assert!(
        real.join("wallet.db").is_file(),
        "the store is in the real directory"
    );
}

/// A FIFO or a directory at the rollback journal's name (AN-F4): SQLite looks for a hot
/// journal on its first read, even of a WAL database, and opened the FIFO without a
/// non-blocking flag, so the wallet's opening blocked for ever (B-F7 under another name).
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_rollback_journal_is_refused_without_blocking() {
    for wal in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.db");
        made_store(&path);
        if wal {
            // A WAL left beside the file takes the read-only probe's locking path.
            std::fs::write(with_suffix(&path, "-wal"), b"").unwrap();
        } else {
            let _ = std::fs::remove_file(with_suffix(&path, "-wal"));
        }
        let journal = with_suffix(&path, "-journal");
        mkfifo(&journal);
        let outcome = open_without_blocking(
            &path,
            keys(),
            &journal,
            &format!("with a WAL: {wal}: a FIFO journal"),
        );
        assert_eq!(
            outcome,
            Err(StoreError::Corrupt(Corruption::NotAFile)),
            "with a WAL: {wal}"
        );
    }
}
