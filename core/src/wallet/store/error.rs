//! Errors of the store and of key stores. None of them carries personal data: no value,
//! no document body, no item id, no SQL text with bound values, no serde message (serde
//! messages quote the offending value).

use std::fmt;

/// Why a [`KeyWrapper`](super::KeyWrapper) could not wrap or unwrap the data key (across the
/// FFI, `KeyStoreFailure` in the app's words).
///
/// The app's platform key store maps its own failures onto these; the messages it puts in
/// [`KeyWrapError::Platform`] must hold no personal data either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyWrapError {
    /// The wrapped key does not open with this key store's key: wrong passphrase, wrong
    /// key file, or a platform key that is not the one that wrapped it. (An AEAD cannot tell
    /// a wrong key from a damaged blob; both land here.)
    #[error("the wrapped key does not open with this key")]
    WrongKey,
    /// The wrapped blob is not in a format this key store reads.
    #[error("the wrapped key is malformed")]
    Malformed,
    /// The platform key is gone for good (e.g. Android invalidates keys when the screen
    /// lock is removed): the data cannot be recovered, the wallet must be set up again.
    #[error("the platform key was invalidated")]
    KeyInvalidated,
    /// The key exists but cannot be used now (device locked, user authentication needed);
    /// trying again later may work.
    #[error("the key store is not available now")]
    Unavailable,
    /// A key file could not be read or written.
    #[error("key file: {0:?}")]
    Io(std::io::ErrorKind),
    /// The key file does not hold exactly 32 bytes.
    #[error("the key file must hold exactly 32 bytes")]
    BadKeyFile,
    /// Parameters outside the range this library accepts (e.g. Argon2 memory).
    #[error("unsupported key derivation parameters")]
    BadParameters,
    /// The operating system's random generator failed.
    #[error("no randomness from the operating system")]
    Random,
    /// Any other failure of the platform key store, in the app's words (no personal data).
    #[error("platform key store: {0}")]
    Platform(String),
    /// The key store's unwrap did not give back the key its wrap was just given (a fault of
    /// the key store): a store kept under that blob would not open again, so none is made
    /// and no wrapped key replaced.
    #[error("the key store does not give back the key it wrapped")]
    NoRoundTrip,
    /// The key store's unwrap gave back a key that is not 32 bytes long. The data key
    /// always is, so the key store is at fault, not the file (the third hostile review, F6:
    /// this was reported as a damaged store, whose answer is to wipe it).
    #[error("the key store gave back a key of the wrong length")]
    BadKeyLength,
}

/// What is wrong with a store file that reads as damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The file is not an SQLite database at all.
    NotADatabase,
    /// SQLite reports damaged pages or structures.
    Damaged,
    /// An encrypted value fails authentication: it was altered, truncated, or moved from
    /// another row, table or list.
    Unauthentic,
    /// The database lacks the wrapped data key or the key check, or they are malformed.
    MissingKey,
    /// The schema is not the one this library created: other tables, columns, indexes,
    /// triggers or views.
    UnexpectedSchema,
    /// The store's path, or its WAL or shared-memory file, is not a regular file: a
    /// directory, a symbolic link, a FIFO, a socket or a device. The store does not open it
    /// (nor follow it), so nothing there is read, written or changed.
    NotAFile,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Corruption::NotADatabase => "not a database",
            Corruption::Damaged => "damaged database",
            Corruption::Unauthentic => "a stored value fails authentication",
            Corruption::MissingKey => "the wrapped data key is missing or malformed",
            Corruption::UnexpectedSchema => "unexpected schema",
            Corruption::NotAFile => "not a regular file",
        })
    }
}

/// Which way a value failed to convert between the caller's type and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// The caller's value could not be serialised.
    Encode,
    /// The stored JSON does not fit the type asked for (a program error, or a migration
    /// the wallet layer still has to write).
    Decode,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The key store's key is not the one this database was created with. Opening
    /// changed nothing on disk.
    #[error("wrong key for this store")]
    WrongKey,
    /// The file is damaged or has been tampered with.
    #[error("corrupt store: {0}")]
    Corrupt(Corruption),
    /// The disk (or the app's quota) is full; the transaction was rolled back.
    #[error("disk full")]
    DiskFull,
    /// Another process holds the database lock longer than the busy timeout, or kept
    /// making or replacing the file while it was being opened.
    #[error("the store is locked by another process")]
    Locked,
    /// The file cannot be opened, read or written (permissions, missing directory, I/O
    /// error). The number is SQLite's extended result code, for diagnosis.
    #[error("storage I/O error (SQLite code {0})")]
    Io(i32),
    /// The wallet's directory cannot be made or opened. The number is the OS error
    /// (`errno`), for diagnosis: not a SQLite code (an `EACCES`, 13, read as one was
    /// `SQLITE_FULL`).
    #[error("the wallet's directory cannot be made or opened (OS error {0})")]
    Directory(i32),
    /// The key wrapper (the app's key store) failed for a reason other than a wrong key.
    #[error("key store: {0}")]
    KeyWrap(KeyWrapError),
    /// The schema cannot be brought to this library's version.
    #[error("migration: {0}")]
    Migration(MigrationError),
    /// A document, list or secret name is not 1–64 of `[a-z0-9_.-]`, or an item id is
    /// empty or longer than 256 bytes.
    #[error("invalid name or id")]
    InvalidName,
    /// A value could not be converted to or from JSON.
    #[error("cannot convert the value ({0:?})")]
    Conversion(Conversion),
    /// A `WalletStore` method was called from inside a `write` or `read` closure of the same
    /// store on the same thread; use the transaction handle instead (the alternative is a
    /// deadlock).
    #[error("store used re-entrantly from inside one of its own transactions")]
    Reentrant,
}

/// Why migrating the schema failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    /// The file was written by a newer version of the library; opening it would risk
    /// losing data, so the store refuses and leaves it untouched.
    #[error("the database has schema version {found}, newer than {supported}")]
    TooNew {
        /// The file's `user_version`.
        found: u32,
        /// The newest version this library knows.
        supported: u32,
    },
    /// A migration step failed; the database stays at version `from`.
    #[error("step from version {from} failed (SQLite code {code})")]
    StepFailed {
        /// The version the step started from.
        from: u32,
        /// SQLite's extended result code.
        code: i32,
    },
}

impl From<KeyWrapError> for StoreError {
    fn from(e: KeyWrapError) -> Self {
        match e {
            // A wrong key is the same fact whether the key store or the key check finds it.
            KeyWrapError::WrongKey => StoreError::WrongKey,
            // The blob came from the database file, so a malformed one is a damaged store.
            KeyWrapError::Malformed => StoreError::Corrupt(Corruption::MissingKey),
            other => StoreError::KeyWrap(other),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::DiskFull => StoreError::DiskFull,
                ErrorCode::NotADatabase => StoreError::Corrupt(Corruption::NotADatabase),
                ErrorCode::DatabaseCorrupt => StoreError::Corrupt(Corruption::Damaged),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Locked,
                _ => StoreError::Io(f.extended_code),
            },
            // A column of the wrong type, a missing row where one must be: the file does not
            // hold what this library wrote.
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..)
            | rusqlite::Error::QueryReturnedNoRows
            | rusqlite::Error::InvalidColumnIndex(_)
            | rusqlite::Error::InvalidColumnName(_) => {
                StoreError::Corrupt(Corruption::UnexpectedSchema)
            }
            // Anything else is a misuse of rusqlite inside this module; report it without
            // its message (which may quote SQL).
            _ => StoreError::Io(-1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_full_maps_to_disk_full() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        assert_eq!(StoreError::from(e), StoreError::DiskFull);
    }

    #[test]
    fn key_store_wrong_key_is_the_store_wrong_key() {
        assert_eq!(
            StoreError::from(KeyWrapError::WrongKey),
            StoreError::WrongKey
        );
        assert_eq!(
            StoreError::from(KeyWrapError::Unavailable),
            StoreError::KeyWrap(KeyWrapError::Unavailable)
        );
    }
}
