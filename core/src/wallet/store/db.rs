//! The store: opening (with the key check), the connection and its lock, transactions,
//! and the three kinds of content (documents, secrets, lists).

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::cipher::{DataKey, Slot};
use super::error::{Conversion, Corruption, MigrationError, StoreError};
use super::keystore::KeyStore;
use super::schema;
use super::secret::SecretBytes;

/// The plaintext of the key check; only the right data key opens its sealed form.
const KEY_CHECK: &[u8] = b"EDL1 store key check";
const META_WRAPPED_KEY: &str = "wrapped_key";
const META_KEY_CHECK: &str = "key_check";
const TABLES: [&str; 4] = ["docs", "items", "meta", "secrets"];
const MAX_NAME_LEN: usize = 64;
const MAX_ID_LEN: usize = 256;
/// How long a write waits for another process (a second app process, a backup tool)
/// before giving up with [`StoreError::Locked`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The wallet's encrypted SQLite store: one file per wallet.
///
/// - **At rest**: every document, secret and list item is sealed with XChaCha20-Poly1305
///   under a random 32-byte data key, bound to its row; the data key is kept in the file
///   only wrapped by the app's [`KeyStore`]. Item ids (server ids) are stored as keyed
///   HMAC tags. The file shows table and document names, row counts, sizes and order.
/// - **Threads**: `Send + Sync`; one connection behind a mutex, so there is exactly one
///   writer and no `SQLITE_BUSY` inside the process. The wallet's data is small (tens of
///   kilobytes), each read a fraction of a millisecond, so readers waiting on the lock
///   cost less than a pool would.
/// - **Durability**: WAL journal, `synchronous = FULL` (a committed sync, or a device key
///   just enrolled with the authority, survives power loss; the wallet writes rarely so
///   the extra fsync is cheap), `secure_delete` on.
/// - **Transactions**: [`Store::write`] runs a closure in one `IMMEDIATE` transaction;
///   it commits if the closure returns `Ok`, and leaves nothing behind if it returns
///   `Err` or panics.
pub struct Store {
    conn: Mutex<Connection>,
    key: DataKey,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store { key: [redacted], .. }")
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};

/// An item of a list with its id, as returned by [`Store::list_items`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem<T> {
    /// The id given to [`WriteTx::upsert_item`] (the server's id for the entry).
    pub id: String,
    /// The item.
    pub value: T,
}

impl Store {
    /// Opens the store at `path`, creating it (with a new data key wrapped by `keys`) if
    /// the file does not exist or is empty, and migrating an older schema.
    ///
    /// The key is checked before anything is written: with the wrong key this returns
    /// [`StoreError::WrongKey`] and the file is left byte-for-byte as it was. A file that
    /// is not a store returns [`StoreError::Corrupt`]; one written by a newer library
    /// returns [`StoreError::Migration`], also untouched.
    pub fn open(path: impl AsRef<Path>, keys: &dyn KeyStore) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let existing = match std::fs::metadata(path) {
            Ok(m) => m.len() > 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(_) => return Err(StoreError::Io(rusqlite::ffi::SQLITE_CANTOPEN)),
        };
        // Check the key on a read-only connection first: a read-write one could replay
        // the WAL into the main file when it closes, and "wrong key changes nothing" should
        // hold to the byte.
        let probed = if existing { probe(path, keys)? } else { None };

        // Creating: draw and wrap the key before taking the write lock, since the app's
        // key store may take its time (a platform call, a user prompt).
        let fresh = match probed {
            Some(_) => None,
            None => {
                let key = DataKey::generate()?;
                let wrapped = keys.wrap_key(key.master())?;
                Some((wrapped, key))
            }
        };

        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = if is_blank(&tx)? {
            let (wrapped, key) = match fresh {
                Some(f) => f,
                // Emptied between the probe and now (only another process could): start anew.
                None => {
                    let key = DataKey::generate()?;
                    (keys.wrap_key(key.master())?, key)
                }
            };
            schema::create(&tx)?;
            let check = key.seal(Slot::KeyCheck, KEY_CHECK)?;
            put_meta(&tx, META_WRAPPED_KEY, &wrapped)?;
            put_meta(&tx, META_KEY_CHECK, &check)?;
            key
        } else {
            let version = check_shape(&tx)?;
            let key = match probed {
                // The file the probe saw: its key is already checked.
                Some((wrapped, key))
                    if get_meta(&tx, META_WRAPPED_KEY)?.as_deref() == Some(wrapped.as_slice()) =>
                {
                    key
                }
                // Created by another process since the probe: check its key now.
                _ => read_key(&tx, keys)?.1,
            };
            schema::migrate(&tx, version, schema::VERSION)?;
            key
        };
        tx.commit()?;
        Ok(Store {
            conn: Mutex::new(conn),
            key,
        })
    }

    /// Runs `f` in one write transaction: everything it writes lands together if it
    /// returns `Ok`, and nothing does if it returns `Err` (or panics). Returns `f`'s value.
    ///
    /// Inside `f`, use the [`WriteTx`] for reads and writes; calling this store's own
    /// methods from inside returns [`StoreError::Reentrant`].
    pub fn write<R, E>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let (_held, mut conn) = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let w = WriteTx { tx, key: &self.key };
        // On `Err` (or a panic) the transaction is dropped, which rolls it back.
        let value = f(&w)?;
        w.tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Runs `f` over one consistent snapshot of the store (several reads that belong
    /// together, such as the pages of one screen).
    pub fn read<R, E>(&self, f: impl FnOnce(&ReadTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let (_held, mut conn) = self.lock()?;
        let tx = conn.transaction().map_err(StoreError::from)?;
        let value = f(&ReadTx {
            conn: &tx,
            key: &self.key,
        })?;
        // Nothing was written; ending the transaction only releases the snapshot.
        tx.rollback().map_err(StoreError::from)?;
        Ok(value)
    }

    /// The document `name`, or `None` if there is none.
    pub fn get_doc<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.read(|r| r.get_doc(name))
    }

    /// The secret `name` (zeroized when dropped, redacted in `Debug`), or `None`.
    pub fn get_secret(&self, name: &str) -> Result<Option<SecretBytes>, StoreError> {
        self.read(|r| r.get_secret(name))
    }

    /// Stores the secret `name` in a transaction of its own; inside a larger write use
    /// [`WriteTx::put_secret`].
    pub fn put_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.write(|tx| tx.put_secret(name, secret))
    }

    /// Every item of `list`, in the order they were first inserted.
    pub fn list_items<T: DeserializeOwned>(
        &self,
        list: &str,
    ) -> Result<Vec<ListItem<T>>, StoreError> {
        self.read(|r| r.list_items(list))
    }

    /// The item `id` of `list`, or `None`.
    pub fn get_item<T: DeserializeOwned>(
        &self,
        list: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.read(|r| r.get_item(list, id))
    }

    /// Re-wraps the data key with another key store (a new passphrase, or moving from the
    /// software key store to the platform one). Nothing else is re-encrypted; the old key
    /// store no longer opens the file.
    pub fn rewrap(&self, keys: &dyn KeyStore) -> Result<(), StoreError> {
        let wrapped = keys.wrap_key(self.key.master())?;
        // Refuse a key store whose unwrap does not give the key back: saving its blob
        // would lock the wallet out for good.
        if keys.unwrap_key(&wrapped)?.as_slice() != self.key.master() {
            return Err(StoreError::WrongKey);
        }
        self.write(|tx| put_meta(&tx.tx, META_WRAPPED_KEY, &wrapped))
    }

    /// The schema version of the open file (always the library's after `open`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let (_held, conn) = self.lock()?;
        schema::user_version(&conn)
    }

    /// Takes the connection for this thread, refusing re-entry from a closure on it.
    fn lock(&self) -> Result<(Held, MutexGuard<'_, Connection>), StoreError> {
        let held = Held::enter(&self.conn as *const _ as usize)?;
        // A panic inside a closure poisons the lock, but the transaction was rolled back
        // as it unwound; make sure of that and carry on rather than fail forever.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        Ok((held, conn))
    }
}

thread_local! {
    /// The stores whose lock this thread holds, to turn re-entry into an error instead of a
    /// deadlock.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

struct Held(usize);

impl Held {
    fn enter(id: usize) -> Result<Held, StoreError> {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if h.contains(&id) {
                return Err(StoreError::Reentrant);
            }
            h.push(id);
            Ok(Held(id))
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| h.borrow_mut().retain(|&x| x != self.0));
    }
}

/// The connection settings. `journal_mode` is stored in the file; the rest are per
/// connection and set at every open.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io(rusqlite::ffi::SQLITE_CANTOPEN));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA trusted_schema = OFF;
         PRAGMA cell_size_check = ON;",
    )?;
    Ok(())
}

/// Reads an existing file read-only: `None` if it has no schema yet (never initialised),
/// else its wrapped key and the checked data key.
fn probe(path: &Path, keys: &dyn KeyStore) -> Result<Option<(Vec<u8>, DataKey)>, StoreError> {
    let conn = open_read_only(path)?;
    if is_blank(&conn)? {
        return Ok(None);
    }
    check_shape(&conn)?;
    read_key(&conn, keys).map(Some)
}

/// A read-only connection that leaves no trace. A plain read-only connection to a WAL
/// database creates empty `-wal` and `-shm` files it cannot remove; when there is no
/// `-wal` (the last connection closed cleanly, so the main file holds every commit) the
/// file is opened `immutable`, which reads the main file alone and creates nothing. If a
/// `-wal` exists, another connection may be writing, so the normal locking read is used.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let uri = path
        .to_str()
        .filter(|_| !Path::new(&wal).exists())
        .map(|p| {
            let mut uri = String::from("file:");
            for b in p.bytes() {
                if b.is_ascii_alphanumeric() || b"/._~-".contains(&b) {
                    uri.push(char::from(b));
                } else {
                    uri.push_str(&format!("%{b:02X}"));
                }
            }
            uri + "?mode=ro&immutable=1"
        });
    Ok(match uri {
        Some(uri) => Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?,
        None => Connection::open_with_flags(path, flags)?,
    })
}

/// True for a database with no schema and version 0: a new or never-initialised file.
fn is_blank(conn: &Connection) -> Result<bool, StoreError> {
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(objects == 0 && schema::user_version(conn)? == 0)
}

/// Checks that the file is one of ours at a version this library reads; returns it.
fn check_shape(conn: &Connection) -> Result<u32, StoreError> {
    let version = schema::user_version(conn)?;
    if version > schema::VERSION {
        return Err(StoreError::Migration(MigrationError::TooNew {
            found: version,
            supported: schema::VERSION,
        }));
    }
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('docs', 'items', 'meta', 'secrets') ORDER BY name",
    )?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if version == 0 || tables != TABLES {
        return Err(StoreError::Corrupt(Corruption::UnexpectedSchema));
    }
    Ok(version)
}

/// Unwraps the data key and proves it with the key check.
fn read_key(conn: &Connection, keys: &dyn KeyStore) -> Result<(Vec<u8>, DataKey), StoreError> {
    let missing = StoreError::Corrupt(Corruption::MissingKey);
    let wrapped = get_meta(conn, META_WRAPPED_KEY)?.ok_or(missing.clone())?;
    let check = get_meta(conn, META_KEY_CHECK)?.ok_or(missing)?;
    let raw = keys.unwrap_key(&wrapped)?;
    let key = DataKey::from_bytes(&raw)?;
    // The key store may hand back a valid-looking key that is not this file's (a platform
    // key re-created after a reset): the check turns that into WrongKey here instead of
    // Corrupt on every later read.
    match key.open(Slot::KeyCheck, &check) {
        Ok(plain) if plain.as_slice() == KEY_CHECK => Ok((wrapped, key)),
        _ => Err(StoreError::WrongKey),
    }
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn put_meta(tx: &Transaction<'_>, key: &str, value: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )?;
    Ok(())
}

/// Names of documents, secrets and lists are the program's own constants: short ASCII,
/// so they can sit in the file in clear and in associated data unambiguously.
fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName)
    }
}

/// Item ids come from the server: any text, bounded so the store stays predictable.
fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        Err(StoreError::InvalidName)
    } else {
        Ok(())
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Conversion(Conversion::Encode))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    // serde's message quotes the value it choked on, so it is dropped here.
    serde_json::from_slice(bytes).map_err(|_| StoreError::Conversion(Conversion::Decode))
}

/// Item plaintext: `id length (u16 BE) || id || JSON`. The id travels inside the seal so
/// the file holds only its keyed tag.
fn encode_item<T: Serialize + ?Sized>(
    id: &str,
    value: &T,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let json = to_json(value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(2 + id.len() + json.len()));
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

fn decode_item<T: DeserializeOwned>(plain: &[u8]) -> Result<ListItem<T>, StoreError> {
    // Authenticated bytes we wrote; a mismatch means a bug or a foreign writer with the key.
    let bad = StoreError::Corrupt(Corruption::Unauthentic);
    let len = plain
        .get(..2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or(bad.clone())?;
    let id = plain.get(2..2 + len).ok_or(bad.clone())?;
    let id = std::str::from_utf8(id).map_err(|_| bad)?.to_owned();
    let value = from_json(&plain[2 + len..])?;
    Ok(ListItem { id, value })
}

/// The reads, shared by [`ReadTx`] and [`WriteTx`].
struct Access<'a> {
    conn: &'a Connection,
    key: &'a DataKey,
}

impl Access<'_> {
    fn get_doc<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        check_name(name)?;
        let body: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT body FROM docs WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        body.map(|b| from_json(&self.key.open(Slot::Doc(name), &b)?))
            .transpose()
    }

    fn get_secret(&self, name: &str) -> Result<Option<SecretBytes>, StoreError> {
        check_name(name)?;
        let body: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT body FROM secrets WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        body.map(|b| self.key.open(Slot::Secret(name), &b).map(SecretBytes::new))
            .transpose()
    }

    fn list_items<T: DeserializeOwned>(&self, list: &str) -> Result<Vec<ListItem<T>>, StoreError> {
        check_name(list)?;
        let mut stmt = self
            .conn
            .prepare("SELECT seq, id_tag, body FROM items WHERE list = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([list])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let tag: Vec<u8> = row.get(1)?;
            let tag = tag_of(&tag)?;
            let body: Vec<u8> = row.get(2)?;
            let plain = self.key.open(
                Slot::Item {
                    list,
                    id_tag: &tag,
                    seq,
                },
                &body,
            )?;
            out.push(decode_item(&plain)?);
        }
        Ok(out)
    }

    fn get_item<T: DeserializeOwned>(&self, list: &str, id: &str) -> Result<Option<T>, StoreError> {
        check_name(list)?;
        check_id(id)?;
        let tag = self.key.id_tag(list, id);
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, body FROM items WHERE list = ?1 AND id_tag = ?2",
                rusqlite::params![list, &tag[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((seq, body)) = row else {
            return Ok(None);
        };
        let plain = self.key.open(
            Slot::Item {
                list,
                id_tag: &tag,
                seq,
            },
            &body,
        )?;
        let item: ListItem<T> = decode_item(&plain)?;
        Ok(Some(item.value))
    }
}

fn tag_of(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(Corruption::Unauthentic))
}

/// A read-only view of one consistent snapshot, inside [`Store::read`].
pub struct ReadTx<'a> {
    conn: &'a Connection,
    key: &'a DataKey,
}

impl fmt::Debug for ReadTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadTx { .. }")
    }
}

impl ReadTx<'_> {
    fn access(&self) -> Access<'_> {
        Access {
            conn: self.conn,
            key: self.key,
        }
    }

    /// The document `name`, or `None`.
    pub fn get_doc<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.access().get_doc(name)
    }

    /// The secret `name` (zeroized when dropped, redacted in `Debug`), or `None`.
    pub fn get_secret(&self, name: &str) -> Result<Option<SecretBytes>, StoreError> {
        self.access().get_secret(name)
    }

    /// Every item of `list`, in the order they were first inserted.
    pub fn list_items<T: DeserializeOwned>(
        &self,
        list: &str,
    ) -> Result<Vec<ListItem<T>>, StoreError> {
        self.access().list_items(list)
    }

    /// The item `id` of `list`, or `None`.
    pub fn get_item<T: DeserializeOwned>(
        &self,
        list: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.access().get_item(list, id)
    }
}

/// One write transaction, inside [`Store::write`]. Reads through it see its own writes.
pub struct WriteTx<'a> {
    tx: Transaction<'a>,
    key: &'a DataKey,
}

impl fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteTx { .. }")
    }
}

impl WriteTx<'_> {
    fn access(&self) -> Access<'_> {
        Access {
            conn: &self.tx,
            key: self.key,
        }
    }

    /// Stores `value` as JSON under `name`, replacing any previous document.
    pub fn put_doc<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        check_name(name)?;
        let body = self.key.seal(Slot::Doc(name), &to_json(value)?)?;
        self.tx.execute(
            "INSERT INTO docs (name, body) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET body = excluded.body",
            rusqlite::params![name, body],
        )?;
        Ok(())
    }

    /// Removes the document `name`; returns whether there was one.
    pub fn delete_doc(&self, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        Ok(self
            .tx
            .execute("DELETE FROM docs WHERE name = ?1", [name])?
            > 0)
    }

    /// Stores the secret `name` (a key seed, a TOTP seed), replacing any previous one.
    /// The caller keeps its own copy in a zeroizing type.
    pub fn put_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        check_name(name)?;
        let body = self.key.seal(Slot::Secret(name), secret)?;
        self.tx.execute(
            "INSERT INTO secrets (name, body) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET body = excluded.body",
            rusqlite::params![name, body],
        )?;
        Ok(())
    }

    /// Removes the secret `name`; returns whether there was one. With `secure_delete` on,
    /// SQLite overwrites the freed cells.
    pub fn delete_secret(&self, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        Ok(self
            .tx
            .execute("DELETE FROM secrets WHERE name = ?1", [name])?
            > 0)
    }

    /// Inserts item `id` at the end of `list`, or replaces it in place if the list already
    /// has it (so a re-sent server entry neither duplicates nor moves). `id` is the
    /// server's id: 1 to 256 bytes.
    pub fn upsert_item<T: Serialize + ?Sized>(
        &self,
        list: &str,
        id: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        check_name(list)?;
        check_id(id)?;
        let tag = self.key.id_tag(list, id);
        let plain = encode_item(id, value)?;
        let existing: Option<i64> = self
            .tx
            .query_row(
                "SELECT seq FROM items WHERE list = ?1 AND id_tag = ?2",
                rusqlite::params![list, &tag[..]],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(seq) => {
                let body = self.key.seal(
                    Slot::Item {
                        list,
                        id_tag: &tag,
                        seq,
                    },
                    &plain,
                )?;
                self.tx.execute(
                    "UPDATE items SET body = ?1 WHERE seq = ?2",
                    rusqlite::params![body, seq],
                )?;
            }
            None => {
                // The position is chosen here, not by SQLite, because it is sealed into the
                // item: moving an item to another position then fails authentication.
                let seq: i64 =
                    self.tx
                        .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM items", [], |r| {
                            r.get(0)
                        })?;
                let body = self.key.seal(
                    Slot::Item {
                        list,
                        id_tag: &tag,
                        seq,
                    },
                    &plain,
                )?;
                self.tx.execute(
                    "INSERT INTO items (seq, list, id_tag, body) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![seq, list, &tag[..], body],
                )?;
            }
        }
        Ok(())
    }

    /// Removes item `id` from `list`; returns whether it was there.
    pub fn delete_item(&self, list: &str, id: &str) -> Result<bool, StoreError> {
        check_name(list)?;
        check_id(id)?;
        let tag = self.key.id_tag(list, id);
        Ok(self.tx.execute(
            "DELETE FROM items WHERE list = ?1 AND id_tag = ?2",
            rusqlite::params![list, &tag[..]],
        )? > 0)
    }

    /// Removes every item of `list` (a full re-sync); returns how many there were.
    pub fn clear_list(&self, list: &str) -> Result<usize, StoreError> {
        check_name(list)?;
        Ok(self
            .tx
            .execute("DELETE FROM items WHERE list = ?1", [list])?)
    }

    /// The document `name` as this transaction sees it, or `None`.
    pub fn get_doc<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.access().get_doc(name)
    }

    /// The secret `name` as this transaction sees it, or `None`.
    pub fn get_secret(&self, name: &str) -> Result<Option<SecretBytes>, StoreError> {
        self.access().get_secret(name)
    }

    /// Every item of `list` as this transaction sees them, in insertion order.
    pub fn list_items<T: DeserializeOwned>(
        &self,
        list: &str,
    ) -> Result<Vec<ListItem<T>>, StoreError> {
        self.access().list_items(list)
    }

    /// The item `id` of `list` as this transaction sees it, or `None`.
    pub fn get_item<T: DeserializeOwned>(
        &self,
        list: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.access().get_item(list, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::store::{Argon2Settings, SoftwareKeyStore};
    use serde::Deserialize;
    use std::sync::Arc;

    fn keys(passphrase: &str) -> SoftwareKeyStore {
        SoftwareKeyStore::from_passphrase_with(passphrase, Argon2Settings::INSECURE_FOR_TESTS)
            .unwrap()
    }

    fn new_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("w.db"), &keys("k")).unwrap();
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
                                let seen =
                                    items.iter().filter(|x| x.id.starts_with(&prefix)).count();
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
        let store = Store::open(&path, &keys("k")).unwrap();
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
        let store = Store::open(&path, &keys("k")).unwrap();
        assert_eq!(store.get_doc::<Entry>("licence").unwrap(), Some(entry(1)));
        assert_eq!(
            store.get_doc::<Entry>("credential").unwrap_err(),
            unauthentic
        );
        drop(store);

        // A document moved into the secrets table.
        raw.execute_batch(
            "UPDATE secrets SET body = (SELECT body FROM docs WHERE name = 'licence')",
        )
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
        let store = Store::open(&path, &keys("k")).unwrap();
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
        let store = Store::open(&path, &ks).unwrap();
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
        let store = Store::open(&path, &keys("old")).unwrap();
        store.put_secret("s", b"secret").unwrap();
        store.rewrap(&keys("new")).unwrap();
        drop(store);
        assert_eq!(
            Store::open(&path, &keys("old")).unwrap_err(),
            StoreError::WrongKey
        );
        let store = Store::open(&path, &keys("new")).unwrap();
        assert_eq!(store.get_secret("s").unwrap().unwrap().expose(), b"secret");
    }

    #[test]
    fn a_key_store_that_gives_back_another_key_is_wrong_key() {
        struct Liar;
        impl KeyStore for Liar {
            fn wrap_key(&self, _: &[u8]) -> Result<Vec<u8>, crate::wallet::store::KeyStoreError> {
                Ok(vec![0; 8])
            }
            fn unwrap_key(
                &self,
                _: &[u8],
            ) -> Result<Zeroizing<Vec<u8>>, crate::wallet::store::KeyStoreError> {
                Ok(Zeroizing::new(vec![0x55; 32]))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let store = Store::open(&path, &keys("k")).unwrap();
        assert_eq!(store.rewrap(&Liar).unwrap_err(), StoreError::WrongKey);
        drop(store);
        assert_eq!(Store::open(&path, &Liar).unwrap_err(), StoreError::WrongKey);
    }

    #[test]
    fn debug_of_store_and_transactions_shows_nothing_secret() {
        let (_dir, store) = new_store();
        store.put_secret("device_key", &[0xAB; 32]).unwrap();
        let shown = store
            .write(|tx| {
                let s = tx.get_secret("device_key")?.unwrap();
                Ok::<_, StoreError>(format!(
                    "{store:?} {tx:?} {s:?} {:?}",
                    self::DataKey::generate()?
                ))
            })
            .unwrap();
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("abab"));
        assert!(shown.contains("[redacted]"));
    }
}
