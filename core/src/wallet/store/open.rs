//! Opening a store file: creating it with a new data key, or checking the key of an
//! existing one before anything is written, and migrating its schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::cipher::{DataKey, Slot};
use super::error::{Corruption, MigrationError, StoreError};
use super::keystore::KeyWrapper;
use super::schema;

/// The plaintext of the key check; only the right data key opens its sealed form.
pub(super) const KEY_CHECK: &[u8] = b"EDL1 store key check";
pub(super) const META_WRAPPED_KEY: &str = "wrapped_key";
pub(super) const META_KEY_CHECK: &str = "key_check";
const TABLES: [&str; 4] = ["docs", "items", "meta", "secrets"];
/// How long a write waits for another process (a second app process, a backup tool)
/// before giving up with [`StoreError::Locked`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (or creates) the file at `path`: its connection, configured, with the schema at
/// the library's version, and its checked data key. What each failure leaves behind:
/// [`WalletStore::open`](super::WalletStore::open).
pub(super) fn open(
    path: &Path,
    keys: &dyn KeyWrapper,
) -> Result<(Connection, DataKey), StoreError> {
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

    make_private(path)?;
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
    Ok((conn, key))
}

/// Wraps `key` with `keys`, refusing a key store whose unwrap does not give the key back:
/// saving its blob would lock the wallet out for good.
pub(super) fn wrap_checked(keys: &dyn KeyWrapper, key: &DataKey) -> Result<Vec<u8>, StoreError> {
    let wrapped = keys.wrap_key(key.master())?;
    if keys.unwrap_key(&wrapped)?.as_slice() != key.master() {
        return Err(StoreError::WrongKey);
    }
    Ok(wrapped)
}

/// The connection settings. `journal_mode` is stored in the file; the rest are per
/// connection and set at every open.
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
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
fn probe(path: &Path, keys: &dyn KeyWrapper) -> Result<Option<(Vec<u8>, DataKey)>, StoreError> {
    let conn = open_read_only(path)?;
    if is_blank(&conn)? {
        return Ok(None);
    }
    check_shape(&conn)?;
    read_key(&conn, keys).map(Some)
}

/// Makes the store's file the owner's alone (0600) before SQLite opens it, creating it if
/// missing: SQLite gives its WAL and shared-memory files the database file's mode. The
/// files of an older store (made with the default umask) are narrowed too when others may
/// read them. Another account that could read the file could copy the wrapped key and
/// guess a passphrase offline (the second hostile review's R8). A file system that keeps
/// no modes (FAT on removable storage, some network mounts) refuses the change: the store
/// still opens there, with a warning.
fn make_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|_| StoreError::Io(rusqlite::ffi::SQLITE_CANTOPEN))?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            let Ok(meta) = std::fs::metadata(file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0
                && std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).is_err()
            {
                tracing::warn!("the store's file keeps its mode: the file system refused 0600");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
fn read_key(conn: &Connection, keys: &dyn KeyWrapper) -> Result<(Vec<u8>, DataKey), StoreError> {
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

pub(super) fn put_meta(tx: &Transaction<'_>, key: &str, value: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )?;
    Ok(())
}
