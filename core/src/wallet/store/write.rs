//! Writing: the write transaction and its writes of documents, secrets and list items.

use std::cell::Cell;
use std::fmt;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{OptionalExtension, Transaction};
use serde::Serialize;

use super::cipher::{DataKey, Slot};
use super::digest::{self, Mark, Row, RowDigest, head_sql};
use super::encoding::{check_id, check_name, encode_item, to_json};
use super::error::StoreError;
use super::read::StoreRead;
use super::read::sealed::{Snapshot, View};

/// One write transaction, inside [`WalletStore::write`](super::WalletStore::write). Its reads
/// ([`StoreRead`]) see its own writes.
pub struct WriteTx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) key: &'a DataKey,
    /// The row digest as this transaction's writes have moved it; read from the file at the
    /// first write, stored by [`WriteTx::finish`] (`digest`, D143).
    digest: Cell<Option<RowDigest>>,
}

impl fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteTx { .. }")
    }
}

impl<'a> WriteTx<'a> {
    pub(super) fn new(tx: Transaction<'a>, key: &'a DataKey) -> WriteTx<'a> {
        WriteTx {
            tx,
            key,
            digest: Cell::new(None),
        }
    }

    /// Stores the row digest as the writes moved it, if they did; called just before the
    /// commit, so the digest lands with the rows or not at all.
    pub(super) fn finish(&self) -> Result<(), StoreError> {
        match self.digest.get() {
            Some(d) => digest::save(&self.tx, self.key, &d),
            None => Ok(()),
        }
    }

    /// Forgets the digest moved so far (the opening stores one computed afresh instead).
    pub(super) fn forget_digest(&self) {
        self.digest.set(None);
    }

    /// Moves the row digest: takes out the mark of the row a write replaced or deleted and
    /// puts in the mark of the row it wrote. The digest is read from the file at the first
    /// write of the transaction; a missing or unauthentic one (tampering while the store was
    /// open) counts as empty, so the stored digest stays wrong and the next opening finds it.
    fn retally(&self, gone: Option<Mark>, added: Option<Mark>) -> Result<(), StoreError> {
        let mut d = match self.digest.get() {
            Some(d) => d,
            None => digest::load(&self.tx, self.key)?.unwrap_or_default(),
        };
        for mark in gone.iter().chain(added.iter()) {
            d.toggle(mark);
        }
        self.digest.set(Some(d));
        Ok(())
    }

    /// The mark of an item row as read back (`seq`, `list`, `id_tag`, head).
    fn item_mark(&self, row: &[Value; 4]) -> Mark {
        let item = Row::Item {
            seq: (&row[0]).into(),
            list: (&row[1]).into(),
            id_tag: (&row[2]).into(),
        };
        digest::mark_stored(self.key, item, &row[3])
    }

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
        let row = kind.row(name);
        let old: Option<Value> = self
            .tx
            .query_row(kind.head(), [name], |r| r.get(0))
            .optional()?;
        let body = self.key.seal(kind.slot(name), plaintext)?;
        self.tx
            .execute(kind.upsert(), rusqlite::params![name, body])?;
        self.retally(
            old.map(|h| digest::mark_stored(self.key, row, &h)),
            Some(digest::mark_sealed(self.key, row, &body)),
        )
    }

    fn delete_named(&self, kind: Named, name: &str) -> Result<bool, StoreError> {
        check_name(name)?;
        let gone: Option<Value> = self
            .tx
            .query_row(kind.delete(), [name], |r| r.get(0))
            .optional()?;
        let Some(head) = gone else {
            return Ok(false);
        };
        self.retally(
            Some(digest::mark_stored(self.key, kind.row(name), &head)),
            None,
        )?;
        Ok(true)
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
        let existing: Option<[Value; 4]> = self
            .tx
            .query_row(
                concat!(
                    "SELECT seq, list, id_tag, ",
                    head_sql!(),
                    " FROM items WHERE list = ?1 AND id_tag = ?2"
                ),
                rusqlite::params![list, &tag[..]],
                item_values,
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
        let item = |seq| Row::Item {
            seq: ValueRef::Integer(seq),
            list: ValueRef::Text(list.as_bytes()),
            id_tag: ValueRef::Blob(&tag[..]),
        };
        match existing {
            Some(old) => {
                let ValueRef::Integer(seq) = ValueRef::from(&old[0]) else {
                    // An INTEGER PRIMARY KEY is always an integer.
                    return Err(StoreError::Corrupt(
                        super::error::Corruption::UnexpectedSchema,
                    ));
                };
                let body = seal(seq)?;
                self.tx.execute(
                    "UPDATE items SET body = ?1 WHERE seq = ?2",
                    rusqlite::params![body, seq],
                )?;
                self.retally(
                    Some(self.item_mark(&old)),
                    Some(digest::mark_sealed(self.key, item(seq), &body)),
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
                self.retally(None, Some(digest::mark_sealed(self.key, item(seq), &body)))?;
            }
        }
        Ok(())
    }

    /// Removes item `id` from `list`; returns whether it was there.
    pub fn delete_item(&self, list: &str, id: &str) -> Result<bool, StoreError> {
        check_name(list)?;
        check_id(id)?;
        let tag = self.key.id_tag(list, id);
        let gone = self
            .tx
            .query_row(
                concat!(
                    "DELETE FROM items WHERE list = ?1 AND id_tag = ?2 RETURNING seq, list, id_tag, ",
                    head_sql!()
                ),
                rusqlite::params![list, &tag[..]],
                item_values,
            )
            .optional()?;
        let Some(old) = gone else {
            return Ok(false);
        };
        self.retally(Some(self.item_mark(&old)), None)?;
        Ok(true)
    }

    /// Removes every item of `list` (a full re-sync); returns how many there were.
    pub fn clear_list(&self, list: &str) -> Result<usize, StoreError> {
        check_name(list)?;
        let mut stmt = self.tx.prepare(concat!(
            "DELETE FROM items WHERE list = ?1 RETURNING seq, list, id_tag, ",
            head_sql!()
        ))?;
        let gone = stmt
            .query_map([list], item_values)?
            .collect::<Result<Vec<_>, _>>()?;
        for old in &gone {
            self.retally(Some(self.item_mark(old)), None)?;
        }
        Ok(gone.len())
    }
}

/// An item row's `seq`, `list`, `id_tag` and head, as SQLite holds them.
fn item_values(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Value; 4]> {
    Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
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

    fn row(self, name: &str) -> Row<'_> {
        let name = ValueRef::Text(name.as_bytes());
        match self {
            Named::Doc => Row::Doc { name },
            Named::Secret => Row::Secret { name },
        }
    }

    /// The head of the stored value (for the row digest).
    fn head(self) -> &'static str {
        match self {
            Named::Doc => concat!("SELECT ", head_sql!(), " FROM docs WHERE name = ?1"),
            Named::Secret => concat!("SELECT ", head_sql!(), " FROM secrets WHERE name = ?1"),
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

    /// Deletes and gives back the head of what it deleted (for the row digest).
    fn delete(self) -> &'static str {
        match self {
            Named::Doc => concat!("DELETE FROM docs WHERE name = ?1 RETURNING ", head_sql!()),
            Named::Secret => concat!(
                "DELETE FROM secrets WHERE name = ?1 RETURNING ",
                head_sql!()
            ),
        }
    }
}
