//! The SQLite schema and its migrations (by `PRAGMA user_version`).

use rusqlite::{Connection, TransactionBehavior};

/// Schema versions, in order; entry `i` moves the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE issuer_keys (
    kid        INTEGER PRIMARY KEY,
    seed       BLOB    NOT NULL,
    not_before INTEGER NOT NULL,
    not_after  INTEGER NOT NULL
);
-- One row per driver: the aggregate as JSON, plus the columns looked up by.
CREATE TABLE drivers (
    id             INTEGER PRIMARY KEY,
    licence_number TEXT    NOT NULL UNIQUE,
    seq            INTEGER NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL
);
-- Every e-licence ever issued, so a superseded one is told apart from an unknown one.
CREATE TABLE elicences (
    id        INTEGER PRIMARY KEY,
    driver_id INTEGER NOT NULL REFERENCES drivers(id),
    seed      BLOB    NOT NULL,
    state     TEXT    NOT NULL
);
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,
    driver_id    INTEGER NOT NULL REFERENCES drivers(id),
    client_key   TEXT,
    digest       BLOB    NOT NULL,
    bytes        BLOB    NOT NULL,
    kind         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    decided_at   INTEGER,
    UNIQUE (driver_id, client_key)
);
CREATE INDEX photos_pending ON photos (submitted_at) WHERE status = 'pending';
-- The driver's feed: messages, review results and verification log entries, in the
-- driver's own sequence (the sync cursor).
CREATE TABLE feed (
    driver_id   INTEGER NOT NULL REFERENCES drivers(id),
    seq         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    verifier_id INTEGER,
    outcome     TEXT,
    body        TEXT    NOT NULL,
    PRIMARY KEY (driver_id, seq)
) WITHOUT ROWID;
CREATE INDEX feed_check_failures ON feed (at) WHERE outcome = 'wrong_code';
CREATE TABLE verifiers (
    id         INTEGER PRIMARY KEY,
    key_hash   BLOB    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    class      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE nonces (
    account INTEGER NOT NULL,
    nonce   BLOB    NOT NULL,
    ts      INTEGER NOT NULL,
    PRIMARY KEY (account, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_ts ON nonces (ts);
"#,
    // Failed online checks of every target, known or not (D81); the wrong codes already in
    // drivers' logs carry over.
    r#"
CREATE TABLE check_failures (
    at          INTEGER NOT NULL,
    verifier_id INTEGER NOT NULL,
    target      TEXT    NOT NULL
);
CREATE INDEX check_failures_at ON check_failures (at);
INSERT INTO check_failures (at, verifier_id, target)
    SELECT at, coalesce(verifier_id, 0), 'd:' || driver_id FROM feed WHERE outcome = 'wrong_code';
DROP INDEX feed_check_failures;
"#,
    r#"
-- The signed status list (D71): each e-licence's index and its two-bit status, kept in
-- step with the driver's state by every change; indices come from an AUTOINCREMENT
-- counter that never reuses one.
ALTER TABLE elicences ADD COLUMN status_index INTEGER;
ALTER TABLE elicences ADD COLUMN status INTEGER NOT NULL DEFAULT 1;
CREATE INDEX elicences_live ON elicences (status_index) WHERE status <> 1;
CREATE TABLE status_indices (n INTEGER PRIMARY KEY AUTOINCREMENT);
"#,
    r#"
-- Admin calls (D78): append-only, enforced by the triggers below.
CREATE TABLE admin_audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  INTEGER,
    allowed INTEGER NOT NULL
);
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    r#"
-- Online codes spent by a `verified` log entry (D106): the durable side of D68, so a code
-- stays spent across restarts and between authority processes. Pruned after ten minutes,
-- long after any code stops being accepted.
CREATE TABLE spent_codes (
    elicence_id  INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    audience     INTEGER NOT NULL,
    form         INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (elicence_id, window_start, audience, form)
) WITHOUT ROWID;
CREATE INDEX spent_codes_at ON spent_codes (at);
"#,
    r#"
-- Who spent each code (D108), so the spender's repeat is answered again after a restart
-- or by another process; NULL on the rows written before (spent by nobody known).
ALTER TABLE spent_codes ADD COLUMN verifier_id INTEGER;
"#,
    r#"
-- Spent codes keyed by their window first (D112): the codes a batch spends sit together at
-- the end of the key order instead of in random pages, and the sweep deletes a key range,
-- so the index by time goes.
CREATE TABLE spent_codes_by_window (
    window_start INTEGER NOT NULL,
    elicence_id  INTEGER NOT NULL,
    audience     INTEGER NOT NULL,
    form         INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    verifier_id  INTEGER,
    PRIMARY KEY (window_start, elicence_id, audience, form)
) WITHOUT ROWID;
INSERT INTO spent_codes_by_window (window_start, elicence_id, audience, form, at, verifier_id)
    SELECT window_start, elicence_id, audience, form, at, verifier_id FROM spent_codes;
DROP TABLE spent_codes;
ALTER TABLE spent_codes_by_window RENAME TO spent_codes;
"#,
    r#"
-- The enrolment back-off (D156): one row per counter (a licence number's, a source's),
-- named by a digest keyed by the KEK, never the number or the address; shared by every
-- process on the database and kept across restarts. Deleted once expired (no wait left,
-- the count forgotten), by the index on `expires_at`.
CREATE TABLE enrol_backoff (
    key          BLOB    PRIMARY KEY,
    attempts     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX enrol_backoff_expires ON enrol_backoff (expires_at);
"#,
    r#"
-- A failure's write reads back every process's failures on its target and by its
-- verifier within the limiter's window (D158).
CREATE INDEX check_failures_target ON check_failures (target, at);
CREATE INDEX check_failures_verifier ON check_failures (verifier_id, at);
"#,
    r#"
-- Switches an admin sets for every process on the database (D174): `busy_retry_after`,
-- the busy switch for photo changes, present while it is set.
CREATE TABLE settings (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- A revoked verifier's key is refused (D194); the row stays, for the spent codes and
-- failures that name it.
ALTER TABLE verifiers ADD COLUMN revoked_at INTEGER;
"#,
];

/// Brings the database to the latest schema. Runs on the writer connection at start.
///
/// Each step takes the file's write lock first (`BEGIN IMMEDIATE`) and only then reads the
/// version, so a second process migrating the same file at the same moment waits for the
/// first and finds its work done, instead of running it again on a version it read before
/// (D162).
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let Some(sql) = MIGRATIONS.get(usize::try_from(version).unwrap_or(0)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_codes_keep_their_rows_and_spenders_when_keyed_by_window_first() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database at version 6, as the releases before D112 left it.
        for (n, sql) in MIGRATIONS[..6].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", n as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO spent_codes (elicence_id, window_start, audience, form, at, verifier_id)
             VALUES (7, 1000, 1, 2, 1010, 3), (8, 970, 0, 0, 990, NULL)",
        )
        .unwrap();

        migrate(&mut conn).unwrap();

        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let rows: Vec<(i64, i64, i64, i64, i64, Option<i64>)> = conn
            .prepare("SELECT window_start, elicence_id, audience, form, at, verifier_id FROM spent_codes")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [(970, 8, 0, 0, 990, None), (1000, 7, 1, 2, 1010, Some(3))]
        );
        let key: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('spent_codes') WHERE pk > 0 ORDER BY pk")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(key, ["window_start", "elicence_id", "audience", "form"]);
        // Still one row per code: a second claim of a spent code writes nothing.
        let again = conn
            .execute(
                "INSERT INTO spent_codes (elicence_id, window_start, audience, form, at, verifier_id)
                 VALUES (7, 1000, 1, 2, 1020, 4) ON CONFLICT DO NOTHING",
                [],
            )
            .unwrap();
        assert_eq!(again, 0);
    }
}
