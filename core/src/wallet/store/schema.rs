//! The schema: the current one in one place, and the steps that bring an older file to it.
//!
//! A new database is created from [`CURRENT`] in one go; an existing one runs the
//! [`MIGRATIONS`] after its `user_version`, each step in the same transaction as its
//! version bump. A test checks that both roads end at the same `sqlite_master`.
//!
//! Every column that holds licence data, a secret or a server id is a sealed blob (see
//! `cipher`); the file shows only table and document names, row counts, sizes and order.

use rusqlite::Transaction;

use super::error::{MigrationError, StoreError};

/// The schema version this library writes.
pub(super) const VERSION: u32 = 3;

/// The first version whose files keep a row digest (`digest`, D143). The step to it changes
/// no table; `open` computes the digest in the step's transaction. A library older than it
/// refuses such a file as too new, so no write that leaves the digest behind reaches it.
pub(super) const ROW_DIGEST: u32 = 3;

/// The whole current schema, for a new database.
pub(super) const CURRENT: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE docs (
    name TEXT PRIMARY KEY NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE items (
    seq    INTEGER PRIMARY KEY,
    list   TEXT NOT NULL,
    id_tag BLOB NOT NULL,
    body   BLOB NOT NULL,
    UNIQUE (list, id_tag)
);
CREATE INDEX items_by_list ON items (list, seq);
";

/// One step: the SQL that takes a database from version `to - 1` to `to`.
pub(super) struct Migration {
    /// The version after this step.
    pub(super) to: u32,
    /// The statements, run in one transaction with the version bump.
    pub(super) sql: &'static str,
}

/// Every step from an empty file (version 0) up to [`VERSION`], in order. Never edit a
/// step that has shipped: add one.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        to: 1,
        sql: "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE docs (
    name TEXT PRIMARY KEY NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE items (
    seq    INTEGER PRIMARY KEY,
    list   TEXT NOT NULL,
    id_tag BLOB NOT NULL,
    body   BLOB NOT NULL,
    UNIQUE (list, id_tag)
);
",
    },
    Migration {
        // Lists are read in order of `seq`; without this index SQLite walks the unique
        // index on (list, id_tag) and then sorts.
        to: 2,
        sql: "CREATE INDEX items_by_list ON items (list, seq);",
    },
    Migration {
        // The row digest (`meta` row `row_digest`): no table changes; `open` computes it
        // over the rows in this step's transaction, since it needs the data key.
        to: ROW_DIGEST,
        sql: "",
    },
];

/// The file's schema version.
pub(super) fn user_version(conn: &rusqlite::Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // A negative or huge user_version was not written by this library.
    u32::try_from(v).map_err(|_| {
        StoreError::Migration(MigrationError::TooNew {
            found: u32::MAX,
            supported: VERSION,
        })
    })
}

fn set_user_version(tx: &Transaction<'_>, v: u32) -> rusqlite::Result<()> {
    // PRAGMA takes no bound parameters; `v` is a number we chose, not input.
    tx.execute_batch(&format!("PRAGMA user_version = {v}"))
}

/// One schema object as `sqlite_master` lists it: type, name, table, and its SQL with
/// runs of whitespace made one space (the file keeps the text it was created with, and a
/// fresh file and a migrated one differ only in layout).
pub(super) type Object = (String, String, String, String);

/// Every object of the file's schema, in a fixed order. SQLite's statistics tables
/// (`sqlite_stat1` to `4`, made by `ANALYZE`, which a backup or inspection tool may have
/// run) are left out: they steer the query planner only and hold no code.
pub(super) fn objects(conn: &rusqlite::Connection) -> Result<Vec<Object>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master
         WHERE NOT (type = 'table' AND name LIKE 'sqlite\\_stat_' ESCAPE '\\')
         ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        let sql: String = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            sql.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The objects a file of schema `version` holds: the migration steps up to it, run on an
/// empty database in memory (a fraction of a millisecond at each opening).
pub(super) fn objects_at(version: u32) -> Result<Vec<Object>, StoreError> {
    let mut conn = rusqlite::Connection::open_in_memory()?;
    let tx = conn.transaction()?;
    migrate(&tx, 0, version)?;
    objects(&tx)
}

/// Creates the current schema in a new, empty database.
pub(super) fn create(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(CURRENT)?;
    set_user_version(tx, VERSION)?;
    Ok(())
}

/// Runs the steps after `from` up to `to`, inside `tx`.
pub(super) fn migrate(tx: &Transaction<'_>, from: u32, to: u32) -> Result<(), StoreError> {
    if from > VERSION {
        return Err(StoreError::Migration(MigrationError::TooNew {
            found: from,
            supported: VERSION,
        }));
    }
    for step in MIGRATIONS.iter().filter(|m| m.to > from && m.to <= to) {
        let failed = |e: rusqlite::Error| {
            let code = match &e {
                rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
                _ => -1,
            };
            StoreError::Migration(MigrationError::StepFailed {
                from: step.to - 1,
                code,
            })
        };
        tx.execute_batch(step.sql).map_err(failed)?;
        set_user_version(tx, step.to).map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn schema_of(conn: &Connection) -> Vec<Object> {
        objects(conn).unwrap()
    }

    #[test]
    fn steps_are_consecutive_from_one_to_the_current_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.to as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().to, VERSION);
    }

    #[test]
    fn database_migrated_step_by_step_equals_a_fresh_one() {
        let mut fresh = Connection::open_in_memory().unwrap();
        let tx = fresh.transaction().unwrap();
        create(&tx).unwrap();
        tx.commit().unwrap();

        // One transaction per step, as an app updated release after release would run them.
        let mut old = Connection::open_in_memory().unwrap();
        for m in MIGRATIONS {
            let tx = old.transaction().unwrap();
            migrate(&tx, m.to - 1, m.to).unwrap();
            tx.commit().unwrap();
            assert_eq!(user_version(&old).unwrap(), m.to);
        }

        assert_eq!(schema_of(&old), schema_of(&fresh));
        assert_eq!(user_version(&old).unwrap(), user_version(&fresh).unwrap());
        assert!(schema_of(&fresh).len() >= 5);
    }

    #[test]
    fn all_steps_at_once_equal_a_fresh_one() {
        let mut a = Connection::open_in_memory().unwrap();
        let tx = a.transaction().unwrap();
        migrate(&tx, 0, VERSION).unwrap();
        tx.commit().unwrap();
        let mut b = Connection::open_in_memory().unwrap();
        let tx = b.transaction().unwrap();
        create(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(schema_of(&a), schema_of(&b));
    }

    #[test]
    fn newer_file_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        assert_eq!(
            migrate(&tx, VERSION + 1, VERSION).unwrap_err(),
            StoreError::Migration(MigrationError::TooNew {
                found: VERSION + 1,
                supported: VERSION
            })
        );
    }

    #[test]
    fn failed_step_reports_its_version_and_leaves_the_old_one() {
        let mut c = Connection::open_in_memory().unwrap();
        // A table in the way of step 1 makes it fail.
        c.execute_batch("CREATE TABLE meta (x)").unwrap();
        let tx = c.transaction().unwrap();
        let err = migrate(&tx, 0, VERSION).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Migration(MigrationError::StepFailed { from: 0, .. })
        ));
        drop(tx);
        assert_eq!(user_version(&c).unwrap(), 0);
    }
}
