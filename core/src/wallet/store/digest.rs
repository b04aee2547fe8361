//! The row digest: one keyed value over the whole set of rows, so that rows from different
//! moments of the same wallet are found when the store opens (D143).
//!
//! A sealed value is bound to its row (`cipher`'s associated data) but not to a moment: a
//! row copied from an older copy of the same wallet (same data key), or a row deleted,
//! opened as before, and the wallet's sync, a delta from its cursor, never replaced it (the
//! third hostile review's B-F4). So:
//!
//! - every row of `docs`, `secrets` and `items` has a *mark*: HMAC-SHA256, under a key
//!   derived from the data key for this alone, over the row's identity (its table; its name,
//!   or its position, list and id tag; each value with its SQLite type) and the head of its
//!   sealed value (format byte and nonce, [`HEAD_LEN`]);
//! - the digest is the XOR of the marks of all rows, sealed in `meta` ([`META_ROW_DIGEST`]),
//!   and moved in the transaction of every write: a write XORs out the mark of the row it
//!   replaces or deletes and XORs in the mark of the row it writes (two HMACs, not a pass
//!   over the store), and the transaction stores the result once, when it commits;
//! - opening computes it again from all rows and compares (`open`).
//!
//! *The head, not the whole value*: a nonce is drawn at random for each sealing, so the head
//! names one sealing, and only that sealing's bytes open under it; other bytes behind the
//! head fail authentication when read (`Corrupt(Unauthentic)`), as any damaged value does.
//! Reading the head alone keeps the opening from hashing the photo.
//!
//! *XOR is enough here*: marks are keyed, so someone without the data key can compute no
//! mark, and the digest is sealed, so they can neither read it nor write one. All they can
//! do is choose rows, and one sealed digest, from the copies they hold. A set of rows other
//! than the one a digest was written for differs from it by at least one mark, and the XOR
//! of distinct marks (independent pseudo-random values) is zero with probability 2^-256.
//! No two rows share a mark (the identity holds the row's key), so no row can cancel
//! another; deleting a row together with its share of the digest needs its mark, that is
//! the key.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Transaction};
use subtle::ConstantTimeEq;

use super::cipher::{DataKey, HEAD_LEN, KEY_LEN, Slot};
use super::error::{Corruption, StoreError};
use super::open::{get_meta, put_meta};

/// The `meta` row that holds the sealed digest.
pub(super) const META_ROW_DIGEST: &str = "row_digest";

/// The head of a stored value in SQL: its first [`HEAD_LEN`] bytes (a test checks the two
/// agree).
macro_rules! head_sql {
    () => {
        "substr(body, 1, 25)"
    };
}
pub(super) use head_sql;

/// The mark of one row.
pub(super) type Mark = [u8; KEY_LEN];

/// The XOR of the marks of a set of rows; all zeros for no rows.
#[derive(Clone, Copy, Default)]
pub(super) struct RowDigest([u8; KEY_LEN]);

impl RowDigest {
    /// Adds a row's mark to the set, or takes it out (XOR is its own inverse).
    pub(super) fn toggle(&mut self, mark: &Mark) {
        for (d, m) in self.0.iter_mut().zip(mark) {
            *d ^= m;
        }
    }

    fn same_as(&self, other: &RowDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// A row, by the values that name it, as SQLite holds them.
#[derive(Clone, Copy)]
pub(super) enum Row<'a> {
    Doc {
        name: ValueRef<'a>,
    },
    Secret {
        name: ValueRef<'a>,
    },
    Item {
        seq: ValueRef<'a>,
        list: ValueRef<'a>,
        id_tag: ValueRef<'a>,
    },
}

/// The mark of `row` whose stored value begins with `head`.
pub(super) fn mark(key: &DataKey, row: Row<'_>, head: ValueRef<'_>) -> Mark {
    use hmac::Mac;
    let mut mac = key.row_mac();
    let mut feed = |v: ValueRef<'_>| {
        let number;
        let (kind, bytes): (u8, &[u8]) = match v {
            ValueRef::Null => (0, &[]),
            ValueRef::Integer(i) => {
                number = i.to_be_bytes();
                (1, &number)
            }
            ValueRef::Real(r) => {
                number = r.to_bits().to_be_bytes();
                (2, &number)
            }
            ValueRef::Text(t) => (3, t),
            ValueRef::Blob(b) => (4, b),
        };
        mac.update(&[kind]);
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    match row {
        Row::Doc { name } => {
            feed(ValueRef::Text(b"doc"));
            feed(name);
        }
        Row::Secret { name } => {
            feed(ValueRef::Text(b"secret"));
            feed(name);
        }
        Row::Item { seq, list, id_tag } => {
            feed(ValueRef::Text(b"item"));
            feed(seq);
            feed(list);
            feed(id_tag);
        }
    }
    feed(head);
    mac.finalize().into_bytes().into()
}

/// The mark of a row just sealed as `body`.
pub(super) fn mark_sealed(key: &DataKey, row: Row<'_>, body: &[u8]) -> Mark {
    mark(key, row, ValueRef::Blob(&body[..HEAD_LEN.min(body.len())]))
}

/// The mark of a row as read back: its head as SQL's [`head_sql`] gave it.
pub(super) fn mark_stored(key: &DataKey, row: Row<'_>, head: &Value) -> Mark {
    mark(key, row, head.into())
}

/// The digest of every row the file holds now: one pass over the three tables, reading
/// each value's head only.
pub(super) fn compute(conn: &Connection, key: &DataKey) -> Result<RowDigest, StoreError> {
    let mut digest = RowDigest::default();
    for (sql, doc) in [
        (concat!("SELECT name, ", head_sql!(), " FROM docs"), true),
        (
            concat!("SELECT name, ", head_sql!(), " FROM secrets"),
            false,
        ),
    ] {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let name = r.get_ref(0)?;
            let row = if doc {
                Row::Doc { name }
            } else {
                Row::Secret { name }
            };
            digest.toggle(&mark(key, row, r.get_ref(1)?));
        }
    }
    let mut stmt = conn.prepare(concat!(
        "SELECT seq, list, id_tag, ",
        head_sql!(),
        " FROM items"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let row = Row::Item {
            seq: r.get_ref(0)?,
            list: r.get_ref(1)?,
            id_tag: r.get_ref(2)?,
        };
        digest.toggle(&mark(key, row, r.get_ref(3)?));
    }
    Ok(digest)
}

/// The digest the file vouches for; `None` if its row is missing or does not open (both
/// only by tampering, once the file is at schema 3).
pub(super) fn load(conn: &Connection, key: &DataKey) -> Result<Option<RowDigest>, StoreError> {
    let Some(sealed) = get_meta(conn, META_ROW_DIGEST)? else {
        return Ok(None);
    };
    match key.open(Slot::RowDigest, &sealed) {
        Ok(plain) => Ok(<[u8; KEY_LEN]>::try_from(plain.as_slice())
            .ok()
            .map(RowDigest)),
        Err(StoreError::Corrupt(Corruption::Unauthentic)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Seals and stores `digest` as the file's.
pub(super) fn save(
    tx: &Transaction<'_>,
    key: &DataKey,
    digest: &RowDigest,
) -> Result<(), StoreError> {
    put_meta(tx, META_ROW_DIGEST, &key.seal(Slot::RowDigest, &digest.0)?)
}

/// Makes the stored digest that of the rows the file holds now: at creation, after the
/// migration that brought the digest in, and after dropping what a mixed store cannot vouch
/// for.
pub(super) fn rebase(tx: &Transaction<'_>, key: &DataKey) -> Result<(), StoreError> {
    save(tx, key, &compute(tx, key)?)
}

/// Whether the rows the file holds are the set its digest was written for.
pub(super) fn holds(conn: &Connection, key: &DataKey) -> Result<bool, StoreError> {
    let stored = load(conn, key)?;
    let now = compute(conn, key)?;
    Ok(stored.is_some_and(|d| d.same_as(&now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes(&[3; KEY_LEN]).unwrap()
    }

    #[test]
    fn the_head_in_sql_is_the_head_of_a_sealed_value() {
        assert_eq!(head_sql!(), format!("substr(body, 1, {HEAD_LEN})"));
        let conn = Connection::open_in_memory().unwrap();
        let body = key().seal(Slot::Doc("licence"), b"value").unwrap();
        let head: Value = conn
            .query_row(
                concat!("SELECT ", head_sql!(), " FROM (SELECT ?1 AS body)"),
                [&body],
                |r| r.get(0),
            )
            .unwrap();
        let row = Row::Doc {
            name: ValueRef::Text(b"licence"),
        };
        assert_eq!(
            mark_stored(&key(), row, &head),
            mark_sealed(&key(), row, &body)
        );
    }

    /// A row's mark changes with anything that names it or its sealing: table, name, list,
    /// id tag, position, the SQLite type of any of them, the nonce; and with the key.
    #[test]
    fn marks_differ_for_every_other_row_and_key() {
        let k = key();
        let head = [1u8; HEAD_LEN];
        let other_head = [2u8; HEAD_LEN];
        let text = |s: &'static str| ValueRef::Text(s.as_bytes());
        let item = |seq: i64, list: &'static str, tag: &'static [u8]| Row::Item {
            seq: ValueRef::Integer(seq),
            list: text(list),
            id_tag: ValueRef::Blob(tag),
        };
        let rows = [
            Row::Doc {
                name: text("licence"),
            },
            Row::Doc {
                name: ValueRef::Blob(b"licence"),
            },
            Row::Doc {
                name: text("licenc"),
            },
            Row::Secret {
                name: text("licence"),
            },
            item(1, "verification_log", b"t"),
            item(2, "verification_log", b"t"),
            item(1, "messages", b"t"),
            item(1, "verification_log", b"u"),
            Row::Item {
                seq: text("1"),
                list: text("verification_log"),
                id_tag: ValueRef::Blob(b"t"),
            },
        ];
        let mut seen = std::collections::HashSet::new();
        for row in rows {
            for h in [head, other_head] {
                assert!(seen.insert(mark(&k, row, ValueRef::Blob(&h))));
            }
            assert!(seen.insert(mark(&k, row, ValueRef::Text(&head))));
            let other_key = DataKey::from_bytes(&[4; KEY_LEN]).unwrap();
            assert!(seen.insert(mark(&other_key, row, ValueRef::Blob(&head))));
        }
    }

    #[test]
    fn toggling_a_mark_twice_leaves_the_digest_as_it_was() {
        let mut d = RowDigest::default();
        let a = [7u8; KEY_LEN];
        let b = [9u8; KEY_LEN];
        d.toggle(&a);
        let one = d;
        d.toggle(&b);
        assert!(!d.same_as(&one));
        d.toggle(&b);
        assert!(d.same_as(&one));
        d.toggle(&a);
        assert!(d.same_as(&RowDigest::default()));
    }
}
