//! The driver's feed in SQLite: messages, review results and verification log entries,
//! each a row in the driver's own sequence.

use edl_core::wire::VerificationLogEntry;
use rusqlite::{Connection, params};

pub(super) use crate::store::columns::decode_feed;
use crate::store::columns::{feed_columns, i, u};
use crate::store::{DriverId, FeedEvent, StoreError};

/// Appends `event` to the driver's feed at the next seq; returns that seq.
pub(super) fn append_feed(
    conn: &Connection,
    driver: DriverId,
    seq: u64,
    event: &FeedEvent,
) -> Result<(), StoreError> {
    let (kind, at, verifier, outcome, body) = feed_columns(event)?;
    conn.prepare_cached(
        "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![i(driver), i(seq), kind, at, verifier, outcome, body])?;
    Ok(())
}

/// Appends a check to the driver's verification log, at the driver's next seq.
pub(super) fn append_verification(
    conn: &Connection,
    driver: DriverId,
    verifier_id: u64,
    entry: VerificationLogEntry,
) -> Result<(), StoreError> {
    let seq: i64 = conn
        .prepare_cached("UPDATE drivers SET seq = seq + 1 WHERE id = ?1 RETURNING seq")?
        .query_row([i(driver)], |r| r.get(0))?;
    append_feed(
        conn,
        driver,
        u(seq),
        &FeedEvent::Verification { verifier_id, entry },
    )
}
