//! Writing: the write transaction and its writes of documents, secrets and list items.

use std::fmt;

use rusqlite::{OptionalExtension, Transaction};
use serde::Serialize;

use super::cipher::{DataKey, Slot};
use super::encoding::{check_id, check_name, encode_item, to_json};
use super::error::StoreError;
use super::read::StoreRead;
use super::read::sealed::{Snapshot, View};

/// One write transaction, inside [`WalletStore::write`](super::WalletStore::write). Its reads
/// ([`StoreRead`]) see its own writes.
pub struct WriteTx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) key: &'a DataKey,
}

impl fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteTx { .. }")
    }
}

impl WriteTx<'_> {
    /// Stores `value` as JSON under `name`, replacing any previous document.
    pub fn put_doc<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        self.put_named(Named::Doc, name, &to_json(value)?)
    }

    /// Removes the document `name`; returns whether there was one.
    pub fn delete_doc(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_named(Named::Doc, name)
    }

    /// Stores the secret `name` (a key seed, a TOTP seed), replacing any previous one.
    /// The caller keeps its own copy in a zeroizing type.
    pub fn put_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.put_named(Named::Secret, name, secret)
    }

    /// Removes the secret `name`; returns whether there was one. With `secure_delete` on,
    /// SQLite overwrites the freed cells.
    pub fn delete_secret(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_named(Named::Secret, name)
    }

    /// Seals `plaintext` in `kind`'s slot for `name` and stores it, replacing any previous
    /// value: documents and secrets differ only in their table and slot.
    fn put_named(&self, kind: Named, name: &str, plaintext: &[u8]) -> Result<(), StoreError> {
        check_name(name)?;
        let body = self.key.seal(kind.slot(name), plaintext)?;
        self.tx
            .execute(kind.upsert(), rusqlite::params![name, body])?;
        Ok(())
    }

    fn delete_named(&self, kind: Named, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        Ok(self.tx.execute(kind.delete(), [name])? > 0)
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
        // The item is sealed to its list, id and position (see `Slot::Item`).
        let seal = |seq| {
            self.key.seal(
                Slot::Item {
                    list,
                    id_tag: &tag,
                    seq,
                },
                &plain,
            )
        };
        match existing {
            Some(seq) => {
                let body = seal(seq)?;
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
                let body = seal(seq)?;
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
}

impl Snapshot for WriteTx<'_> {
    fn snapshot<R>(
        &self,
        f: impl FnOnce(&View<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        f(&View {
            conn: &self.tx,
            key: self.key,
        })
    }
}

impl StoreRead for WriteTx<'_> {}

/// The two tables of named values, which share their layout (`name`, `body`).
#[derive(Clone, Copy)]
enum Named {
    Doc,
    Secret,
}

impl Named {
    fn slot(self, name: &str) -> Slot<'_> {
        match self {
            Named::Doc => Slot::Doc(name),
            Named::Secret => Slot::Secret(name),
        }
    }

    /// Whole SQL texts, so no table name is ever formatted into a statement.
    fn upsert(self) -> &'static str {
        match self {
            Named::Doc => {
                "INSERT INTO docs (name, body) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body"
            }
            Named::Secret => {
                "INSERT INTO secrets (name, body) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Named::Doc => "DELETE FROM docs WHERE name = ?1",
            Named::Secret => "DELETE FROM secrets WHERE name = ?1",
        }
    }
}
