//! Reading: the one set of getters ([`StoreRead`]) that the store, a read transaction and
//! a write transaction share, and the read transaction itself.

use std::fmt;

use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;

use super::cipher::Slot;
use super::encoding::{ListItem, check_id, check_name, decode_item, from_json, tag_of};
use super::error::StoreError;
use super::secret::SecretBytes;
use sealed::{Snapshot, View};

/// The reads of a wallet store, the same on [`WalletStore`](super::WalletStore),
/// [`ReadTx`] and [`WriteTx`](super::WriteTx).
///
/// What a read sees depends on where it is made: on the store, each call reads its own
/// snapshot (and, from inside one of the store's own closures, returns
/// [`StoreError::Reentrant`]); on a [`ReadTx`], the one snapshot of its closure; on a
/// [`WriteTx`](super::WriteTx), the transaction's state, its own writes included.
///
/// Sealed: only this module's types implement it.
pub trait StoreRead: Snapshot {
    /// The document `name`, or `None` if there is none.
    fn get_doc<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.snapshot(|v| v.get_doc(name))
    }

    /// The secret `name` (zeroized when dropped, redacted in `Debug`), or `None`.
    fn get_secret(&self, name: &str) -> Result<Option<SecretBytes>, StoreError> {
        self.snapshot(|v| v.get_secret(name))
    }

    /// Every item of `list`, in the order they were first inserted.
    fn list_items<T: DeserializeOwned>(&self, list: &str) -> Result<Vec<ListItem<T>>, StoreError> {
        self.snapshot(|v| v.list_items(list))
    }

    /// The item `id` of `list`, or `None`.
    fn get_item<T: DeserializeOwned>(&self, list: &str, id: &str) -> Result<Option<T>, StoreError> {
        self.snapshot(|v| v.get_item(list, id))
    }
}

pub(super) mod sealed {
    use rusqlite::Connection;

    use super::super::cipher::DataKey;
    use super::super::error::StoreError;

    /// Gives [`StoreRead`](super::StoreRead) a connection and key to read with. Public in a
    /// private module, so that no type outside the store can implement the reads.
    pub trait Snapshot {
        /// Runs `f` over a view of this handle's data.
        fn snapshot<R>(
            &self,
            f: impl FnOnce(&View<'_>) -> Result<R, StoreError>,
        ) -> Result<R, StoreError>;
    }

    /// A connection (or transaction) and the key to open what it reads.
    pub struct View<'a> {
        pub(in crate::wallet::store) conn: &'a Connection,
        pub(in crate::wallet::store) key: &'a DataKey,
    }
}

/// A read-only view of one consistent snapshot, inside
/// [`WalletStore::read`](super::WalletStore::read). Its reads: [`StoreRead`].
pub struct ReadTx<'a> {
    pub(super) view: View<'a>,
}

impl fmt::Debug for ReadTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadTx { .. }")
    }
}

impl Snapshot for ReadTx<'_> {
    fn snapshot<R>(
        &self,
        f: impl FnOnce(&View<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        f(&self.view)
    }
}

impl StoreRead for ReadTx<'_> {}

// The reads themselves, written once.
impl View<'_> {
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
