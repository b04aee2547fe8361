//! The store handle: one file, one connection, transactions as closures.

use std::fmt;
use std::path::Path;

use rusqlite::TransactionBehavior;

use super::cipher::DataKey;
use super::error::StoreError;
use super::keystore::KeyWrapper;
use super::lock::ConnLock;
use super::open::{self, META_WRAPPED_KEY, put_meta};
use super::read::sealed::{Snapshot, View};
use super::read::{ReadTx, StoreRead};
use super::schema;
use super::write::WriteTx;

/// The wallet's encrypted SQLite store: one file per wallet.
///
/// - **At rest**: every document, secret and list item is sealed with XChaCha20-Poly1305
///   under a random 32-byte data key, bound to its row; the data key is kept in the file
///   only wrapped by the app's [`KeyWrapper`]. Item ids (server ids) are stored as keyed
///   HMAC tags. The file shows table and document names, row counts, sizes and order.
/// - **Threads**: `Send + Sync`; one connection behind a mutex, so there is exactly one
///   writer and no `SQLITE_BUSY` inside the process. The wallet's data is small (tens of
///   kilobytes), each read a fraction of a millisecond, so readers waiting on the lock
///   cost less than a pool would.
/// - **Durability**: WAL journal, `synchronous = FULL` (a committed sync, or a device key
///   just enrolled with the authority, survives power loss; the wallet writes rarely so
///   the extra fsync is cheap), `secure_delete` on.
/// - **Transactions**: [`WalletStore::write`] runs a closure in one `IMMEDIATE`
///   transaction; it commits if the closure returns `Ok`, and leaves nothing behind if it
///   returns `Err` or panics.
/// - **Reads**: [`StoreRead`], each call in a snapshot of its own; several reads that
///   belong together go through [`WalletStore::read`].
/// - **Rows from different moments**: a keyed digest over the whole set of rows, moved by
///   every write in its transaction, is checked at each opening; a file whose rows were
///   mixed from older copies of the same wallet, or deleted, opens with what the authority
///   gives back dropped ([`WalletStore::found_mixed_rows`]; D143).
pub struct WalletStore {
    pub(super) conn: ConnLock,
    key: DataKey,
    mixed: bool,
}

impl fmt::Debug for WalletStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalletStore { key: [redacted], .. }")
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WalletStore>();
};

impl WalletStore {
    /// Opens the store at `path`, creating it (with a new data key wrapped by `keys`) if
    /// the file does not exist or is empty, and migrating an older schema.
    ///
    /// The key is checked before anything is written: with the wrong key this returns
    /// [`StoreError::WrongKey`] and the file is left byte-for-byte as it was. A file that
    /// is not a store returns [`StoreError::Corrupt`]; one written by a newer library
    /// returns [`StoreError::Migration`], also untouched. The key store is never asked
    /// while the file's write lock is held; another process that keeps making or replacing
    /// the file meanwhile gets [`StoreError::Locked`].
    ///
    /// A file whose rows are not the set the store last wrote (a row put back from an older
    /// copy of the same wallet, a row deleted: the third hostile review's B-F4) opens, but
    /// without what the authority gives back: the licence, photo, e-licence and its TOTP
    /// seed, application, messages, verification log and photo reviews are dropped, and the
    /// sync cursor goes back to 0 (clock offset kept, last sync forgotten), so the wallet
    /// shows nothing stale and its next sync brings everything again. The enrolment, device
    /// key, lists and photo submission, which only the wallet holds, stay. A whole file put
    /// back to an older copy still opens as it was (D16): the next sync brings the rest.
    pub fn open(path: impl AsRef<Path>, keys: &dyn KeyWrapper) -> Result<WalletStore, StoreError> {
        let opened = open::open(path.as_ref(), keys)?;
        Ok(WalletStore {
            conn: ConnLock::new(opened.conn),
            key: opened.key,
            mixed: opened.mixed,
        })
    }

    /// Whether opening found rows that are not the set this store last wrote, and so dropped
    /// what the authority gives back (see [`WalletStore::open`]). The next sync starts from
    /// the beginning.
    pub fn found_mixed_rows(&self) -> bool {
        self.mixed
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
        let mut conn = self.conn.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let w = WriteTx::new(tx, &self.key);
        // On `Err` (or a panic) the transaction is dropped, which rolls it back.
        let value = f(&w)?;
        // The row digest lands in the same transaction as the rows it vouches for.
        w.finish()?;
        w.tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Runs `f` over one consistent snapshot of the store (several reads that belong
    /// together, such as the pages of one screen).
    pub fn read<R, E>(&self, f: impl FnOnce(&ReadTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn.lock()?;
        let tx = conn.transaction().map_err(StoreError::from)?;
        let value = f(&ReadTx {
            view: View {
                conn: &tx,
                key: &self.key,
            },
        })?;
        // Nothing was written; ending the transaction only releases the snapshot.
        tx.rollback().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Stores the secret `name` in a transaction of its own; inside a larger write use
    /// [`WriteTx::put_secret`].
    pub fn put_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.write(|tx| tx.put_secret(name, secret))
    }

    /// Re-wraps the data key with another key store (a new passphrase, or moving from the
    /// software key store to the platform one). The data key itself is kept and nothing
    /// else is re-encrypted: the old key store no longer opens the file, but it still
    /// opens any copy of the file from before (a backup), so a passphrase that leaked is
    /// not cut off by this (a new wallet is). The WAL, which kept a copy of the old blob
    /// in every earlier version of its page, is checkpointed and emptied at once (AN-F5);
    /// another process reading the store at that moment keeps it from being emptied.
    pub fn rewrap(&self, keys: &dyn KeyWrapper) -> Result<(), StoreError> {
        let wrapped = open::wrap_checked(keys, &self.key)?;
        self.write(|tx| put_meta(&tx.tx, META_WRAPPED_KEY, &wrapped))?;
        let conn = self.conn.lock()?;
        // The answer row says whether it was blocked; either way the rewrap stands.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The schema version of the open file (always the library's after `open`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let conn = self.conn.lock()?;
        schema::user_version(&conn)
    }
}

impl Snapshot for WalletStore {
    fn snapshot<R>(
        &self,
        f: impl FnOnce(&View<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.read(|r| r.snapshot(f))
    }
}

impl StoreRead for WalletStore {}
