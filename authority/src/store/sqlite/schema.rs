//! The SQLite schema and its migrations (by `PRAGMA user_version`).

use rusqlite::Connection;

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
];

/// Brings the database to the latest schema. Runs on the writer connection at start.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
