//! Opening a store file: creating it with a new data key, or checking the key of an
//! existing one before anything is written, and migrating its schema.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::cipher::{DataKey, Slot};
use super::error::{Corruption, KeyWrapError, MigrationError, StoreError};
use super::keystore::KeyWrapper;
use super::write::WriteTx;
use super::{digest, rebuild, schema};

/// The plaintext of the key check; only the right data key opens its sealed form. Files
/// from before the row digest (schema 1 and 2) hold this one.
pub(super) const KEY_CHECK: &[u8] = b"EDL1 store key check";
/// The key check of a file that keeps a row digest (schema 3 on). It tells such a file from
/// an older one whatever its header says: without it, a file whose `user_version` was set
/// back to 2 and its digest row deleted would pass for one from before the digest, and its
/// rows, however mixed, would be vouched for at the migration.
pub(super) const KEY_CHECK_DIGESTED: &[u8] = b"EDL1 store key check; rows digested";
pub(super) const META_WRAPPED_KEY: &str = "wrapped_key";
pub(super) const META_KEY_CHECK: &str = "key_check";
/// What SQLite keeps beside a database: the files [`check_files`] looks at. A WAL store
/// never makes a rollback journal, but SQLite looks for a hot one on its first read and
/// opens it blocking, so a FIFO at that name would hang the opening (AN-F4).
const SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];
/// The size of an SQLite database file's header: every database file is at least this long.
const SQLITE_HEADER_BYTES: u64 = 100;
/// How many times [`open`] looks at the file again when another process changed it while
/// the key store was asked, before it answers [`StoreError::Locked`]: two openers of one
/// wallet settle in two (the second finds the first's file); a third means a process that
/// keeps replacing the file.
const OPEN_ATTEMPTS: usize = 3;
/// How long a write waits for another process (a second app process, a backup tool)
/// before giving up with [`StoreError::Locked`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (or creates) the file at `path`: its connection, configured, with the schema at
/// the library's version, and its checked data key; a file whose rows are not the set its
/// row digest vouches for has what the authority gives back dropped first (`rebuild`). What
/// each failure leaves behind: [`WalletStore::open`](super::WalletStore::open).
pub(super) fn open(path: &Path, keys: &dyn KeyWrapper) -> Result<Opened, StoreError> {
    let path = &resolved(path)?;
    for _ in 0..OPEN_ATTEMPTS {
        if let Some(opened) = open_once(path, keys)? {
            return Ok(opened);
        }
        tracing::debug!("the store's file changed while its key was asked for; looking again");
    }
    Err(StoreError::Locked)
}

/// One try of [`open`]. `None` when another process made, emptied or replaced the file
/// between the look at it and the write lock: the lock is let go and nothing is written,
/// so that the key store (a platform call, perhaps a prompt) is never asked while the
/// lock is held and every other process's write waits on it (AN-F6).
fn open_once(path: &Path, keys: &dyn KeyWrapper) -> Result<Option<Opened>, StoreError> {
    // Before anything opens the path: a FIFO would block the opening for ever, and a
    // symbolic link would have the store written (and made 0600) wherever it points.
    let len = check_files(path)?;
    // Shorter than SQLite's header, the file is no store, though SQLite would take it for
    // an empty one and the wallet would start anew over it (the third hostile review's
    // B-F8). An empty file is a new store: the file is made before the first write.
    if len.is_some_and(|len| len > 0 && len < SQLITE_HEADER_BYTES) {
        return Err(StoreError::Corrupt(Corruption::NotADatabase));
    }
    let existing = len.is_some_and(|len| len > 0);
    // Check the key on a read-only connection first: a read-write one could replay
    // the WAL into the main file when it closes, and "wrong key changes nothing" should
    // hold to the byte.
    let probed = if existing { probe(path, keys)? } else { None };

    // Creating: draw and wrap the key before taking the write lock, since the app's
    // key store may take its time (a platform call, a user prompt). The wrap is checked
    // before any file is made: a blob that does not unwrap to the key would lose the
    // wallet at its next start.
    let fresh = match probed {
        Some(_) => None,
        None => {
            let key = DataKey::generate()?;
            let wrapped = wrap_checked(keys, &key)?;
            Some((wrapped, key))
        }
    };

    make_private(path)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )?;
    configure(&conn)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (key, rows) = if is_blank(&tx)? {
        // Emptied between the probe and now (only another process could): look again.
        let Some((wrapped, key)) = fresh else {
            return Ok(None);
        };
        schema::create(&tx)?;
        let check = key.seal(Slot::KeyCheck, KEY_CHECK_DIGESTED)?;
        put_meta(&tx, META_WRAPPED_KEY, &wrapped)?;
        put_meta(&tx, META_KEY_CHECK, &check)?;
        (key, Rows::New)
    } else {
        let version = check_shape(&tx)?;
        let (key, digested) = match probed {
            // The file the probe saw: its key is already unwrapped. Its key check is read
            // again here, under the write lock: another opener may have migrated the file
            // to the row digest since the probe read it (AN-F3), and taking the probe's "no
            // digest yet" for that file would drop its rows as mixed.
            Some(Checked { wrapped, key })
                if get_meta(&tx, META_WRAPPED_KEY)?.as_deref() == Some(wrapped.as_slice()) =>
            {
                let digested = check_key(&tx, &key)?;
                (key, digested)
            }
            // Made or replaced by another process since the probe: look again.
            _ => return Ok(None),
        };
        schema::migrate(&tx, version, schema::VERSION)?;
        let rows = if !digested && version < schema::ROW_DIGEST {
            // A file from before the digest: the step to schema 3 brings it in, computed
            // here in the step's transaction over the rows as the older library left them.
            Rows::New
        } else if digested && digest::holds(&tx, &key)? {
            Rows::Whole
        } else {
            // Rows not the set the digest vouches for; or a key check from before the
            // digest in a file of schema 3 (a row of a copy from before the upgrade).
            Rows::Mixed
        };
        if !digested {
            put_meta(
                &tx,
                META_KEY_CHECK,
                &key.seal(Slot::KeyCheck, KEY_CHECK_DIGESTED)?,
            )?;
        }
        (key, rows)
    };
    if rows == Rows::Mixed {
        // Rows from different moments of this wallet (B-F4): what the authority gives back
        // is dropped and the next sync starts from the beginning (`rebuild`, D143).
        tracing::warn!("the store's rows are not the set it last wrote; syncing from the start");
        let w = WriteTx::new(tx, &key);
        rebuild::forget_what_the_authority_gives_back(&w)?;
        w.forget_digest();
        digest::rebase(&w.tx, &key)?;
        w.tx.commit()?;
    } else {
        if rows == Rows::New {
            digest::rebase(&tx, &key)?;
        }
        tx.commit()?;
    }
    Ok(Some(Opened {
        conn,
        key,
        mixed: rows == Rows::Mixed,
    }))
}

/// What an opening found of the rows against their digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// A new file, or one from before the digest: the digest is made now.
    New,
    /// The set of rows the digest vouches for.
    Whole,
    /// Any other set: rows from different moments of the wallet, or rows deleted.
    Mixed,
}

/// An opened store file.
pub(super) struct Opened {
    /// Its connection, configured, with the schema at the library's version.
    pub(super) conn: Connection,
    /// Its checked data key.
    pub(super) key: DataKey,
    /// Whether its rows were not the set it last wrote, so what the authority gives back
    /// was dropped ([`WalletStore::found_mixed_rows`](super::WalletStore::found_mixed_rows)).
    pub(super) mixed: bool,
}

/// Wraps `key` with `keys`, refusing a key store whose unwrap does not give the key back
/// ([`KeyWrapError::NoRoundTrip`]): saving its blob would lock the wallet out for good.
/// A blob the key store itself calls wrong or malformed is the same fault; its other
/// failures (unavailable, invalidated) keep their reasons.
pub(super) fn wrap_checked(keys: &dyn KeyWrapper, key: &DataKey) -> Result<Vec<u8>, StoreError> {
    let no_round_trip = StoreError::KeyWrap(KeyWrapError::NoRoundTrip);
    let wrapped = keys.wrap_key(key.master())?;
    match keys.unwrap_key(&wrapped) {
        Ok(back) if back.as_slice() == key.master() => Ok(wrapped),
        Ok(_) | Err(KeyWrapError::WrongKey | KeyWrapError::Malformed) => Err(no_round_trip),
        Err(other) => Err(other.into()),
    }
}

/// The connection settings. `journal_mode` is stored in the file; the rest are per
/// connection and set at every open.
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    harden(conn)?;
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

/// Turns off what a file could bring to run inside the store's own statements: triggers
/// (one planted in the file put old rows back after every write, the third hostile review's
/// F3) and views. [`check_shape`] refuses a file that holds either; this keeps one added
/// while the store is open (by another process) from running. Defensive mode also refuses
/// `writable_schema` and other ways of editing the schema from SQL.
fn harden(conn: &Connection) -> Result<(), StoreError> {
    for (setting, on) in [
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
    ] {
        if conn.set_db_config(setting, on)? != on {
            return Err(StoreError::Io(rusqlite::ffi::SQLITE_MISUSE));
        }
    }
    Ok(())
}

/// Reads an existing file read-only: `None` if it has no schema yet (never initialised),
/// else its wrapped key and the checked data key.
fn probe(path: &Path, keys: &dyn KeyWrapper) -> Result<Option<Checked>, StoreError> {
    let conn = open_read_only(path)?;
    harden(&conn)?;
    if is_blank(&conn)? {
        return Ok(None);
    }
    check_shape(&conn)?;
    read_key(&conn, keys).map(Some)
}

/// Checks, without following links or opening anything, that the store's file and its
/// WAL, shared-memory and rollback-journal files are each absent or a regular file; returns the store file's
/// length if it exists. Anything else (a directory, a symbolic link, a FIFO, a socket, a
/// device) is [`Corruption::NotAFile`]: the third hostile review's F7 (a FIFO blocked the
/// opening for ever) and F10 (through a link to `/dev/null`, the opening made the system's
/// device 0600). A directory the app owns has no reason to hold a link there, and following
/// one would put the wallet (and its mode) wherever it points.
fn check_files(path: &Path) -> Result<Option<u64>, StoreError> {
    let mut len = None;
    for suffix in SUFFIXES {
        let file = with_suffix(path, suffix);
        match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.file_type().is_file() => {
                if suffix.is_empty() {
                    len = Some(meta.len());
                }
            }
            Ok(_) => return Err(StoreError::Corrupt(Corruption::NotAFile)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return Err(StoreError::Io(rusqlite::ffi::SQLITE_CANTOPEN)),
        }
    }
    Ok(len)
}

/// `path` with its directory's symbolic links resolved, its file name kept as it is.
///
/// SQLite's no-follow flag, which keeps a link planted at a store file's name from being
/// opened through, refuses a link anywhere in the path (AN-F1), and the platforms put links
/// above an app's own directories: `/var` is `/private/var` on iOS and macOS, and
/// `/data/user/0` is `/data/data` on many Android releases. Resolving the directory first
/// keeps the flag for the store's own files ([`check_files`] and [`make_private`] refuse a
/// link there) without refusing the platform's. A link at the wallet's directory itself is
/// followed too: replacing it takes the right to write in the app's own directory, which
/// can do anything to the store's files anyway.
fn resolved(path: &Path) -> Result<PathBuf, StoreError> {
    let Some(name) = path.file_name() else {
        return Err(StoreError::Corrupt(Corruption::NotAFile));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(dir)
        .map_err(|e| StoreError::Directory(e.raw_os_error().unwrap_or(0)))?;
    Ok(dir.join(name))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the store's file the owner's alone (0600) before SQLite opens it, creating it if
/// missing: SQLite gives its WAL and shared-memory files the database file's mode. The
/// files of an older store (made with the default umask) are narrowed too when others may
/// read them. Another account that could read the file could copy the wrapped key and
/// guess a passphrase offline (the second hostile review's R8). A file system that keeps
/// no modes (FAT on removable storage, some network mounts) refuses the change: the store
/// still opens there, with a warning.
///
/// No link is followed. The store's file is opened (created if missing) and its mode
/// changed through that descriptor (`fchmod`), once the path is seen, without following
/// links, to be that same regular file: a link put in place after [`check_files`] is
/// refused, not followed. The WAL and shared-memory files are not opened here: closing a
/// descriptor of them would drop the POSIX locks another connection of this process holds
/// on them (SQLite's own descriptors are shared for that reason). They are changed by name
/// only if, just before, the name is a regular file.
fn make_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
        let cant_open = |_| StoreError::Io(rusqlite::ffi::SQLITE_CANTOPEN);
        let private = std::fs::Permissions::from_mode(0o600);
        let refused =
            || tracing::warn!("the store's file keeps its mode: the file system refused 0600");
        // Not through a link, and not waiting on a FIFO: either may have been put in
        // place of the file since `check_files` looked (the key store's wrap is slow).
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(cant_open)?;
        let opened = file.metadata().map_err(cant_open)?;
        let named = std::fs::symlink_metadata(path).map_err(cant_open)?;
        if !named.file_type().is_file()
            || (named.dev(), named.ino()) != (opened.dev(), opened.ino())
        {
            return Err(StoreError::Corrupt(Corruption::NotAFile));
        }
        if opened.permissions().mode() & 0o077 != 0
            && file.set_permissions(private.clone()).is_err()
        {
            refused();
        }
        for suffix in ["-wal", "-shm", "-journal"] {
            let name = with_suffix(path, suffix);
            let meta = match std::fs::symlink_metadata(&name) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(cant_open(e)),
            };
            if !meta.file_type().is_file() {
                return Err(StoreError::Corrupt(Corruption::NotAFile));
            }
            if meta.permissions().mode() & 0o077 != 0
                && std::fs::set_permissions(&name, private.clone()).is_err()
            {
                refused();
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
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let wal = with_suffix(path, "-wal");
    let uri = path.to_str().filter(|_| !wal.exists()).map(|p| {
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

/// Checks that the file is one of ours at a version this library reads; returns it. Its
/// `sqlite_master` must hold exactly what this library's schema holds at that version,
/// each object with its SQL: no other table, column, index, trigger or view (the third
/// hostile review's F3: a trigger planted in the file ran inside the wallet's own writes
/// and put old rows back after each of them).
fn check_shape(conn: &Connection) -> Result<u32, StoreError> {
    let version = schema::user_version(conn)?;
    if version > schema::VERSION {
        return Err(StoreError::Migration(MigrationError::TooNew {
            found: version,
            supported: schema::VERSION,
        }));
    }
    if version == 0 || schema::objects(conn)? != schema::objects_at(version)? {
        return Err(StoreError::Corrupt(Corruption::UnexpectedSchema));
    }
    Ok(version)
}

/// A data key proved by the file's key check.
struct Checked {
    /// The wrapped key it was unwrapped from.
    wrapped: Vec<u8>,
    key: DataKey,
}

/// Unwraps the data key and proves it with the key check. Which of the two checks the
/// file holds is read again under the write lock ([`check_key`]), where it counts.
fn read_key(conn: &Connection, keys: &dyn KeyWrapper) -> Result<Checked, StoreError> {
    let missing = StoreError::Corrupt(Corruption::MissingKey);
    let wrapped = get_meta(conn, META_WRAPPED_KEY)?.ok_or(missing.clone())?;
    let check = get_meta(conn, META_KEY_CHECK)?.ok_or(missing)?;
    let raw = keys.unwrap_key(&wrapped)?;
    let key = DataKey::from_bytes(&raw)?;
    opens_check(&key, &check)?;
    Ok(Checked { wrapped, key })
}

/// Checks `key` against the file's key check as it is now; true if the check is the one
/// of a file with a row digest.
fn check_key(conn: &Connection, key: &DataKey) -> Result<bool, StoreError> {
    let check =
        get_meta(conn, META_KEY_CHECK)?.ok_or(StoreError::Corrupt(Corruption::MissingKey))?;
    opens_check(key, &check)
}

/// Whether `key` opens the key check `check`, and to which of the two.
fn opens_check(key: &DataKey, check: &[u8]) -> Result<bool, StoreError> {
    // The key store may hand back a valid-looking key that is not this file's (a platform
    // key re-created after a reset): the check turns that into WrongKey here instead of
    // Corrupt on every later read.
    match key.open(Slot::KeyCheck, check) {
        Ok(plain) if [KEY_CHECK, KEY_CHECK_DIGESTED].contains(&plain.as_slice()) => {
            Ok(plain.as_slice() == KEY_CHECK_DIGESTED)
        }
        _ => Err(StoreError::WrongKey),
    }
}

pub(super) fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
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
