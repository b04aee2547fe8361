//! The driver's feed in SQLite: messages, review results and verification log entries,
//! each a row in the driver's own sequence.

use edl_core::wire::VerificationLogEntry;
use rusqlite::{Connection, params};

use super::rows::driver_seq;
pub(super) use crate::store::columns::decode_feed;
use crate::store::columns::{feed_columns, i};
use crate::store::{DriverId, FeedEvent, StoreError};

/// Appends `event` to the driver's feed at `seq`, which the caller has read as the
/// driver's next inside the same write transaction.
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
    // The next seq from the feed itself, not by moving the driver's row (D112): the
    // writer's transaction holds the write lock, so nothing appends between this read
    // and the insert, not even another process on the same file.
    let seq = driver_seq(conn, i(driver))?
        .ok_or(StoreError::Corrupt("verification log of an unknown driver"))?;
    append_feed(
        conn,
        driver,
        seq + 1,
        &FeedEvent::Verification { verifier_id, entry },
    )
}
