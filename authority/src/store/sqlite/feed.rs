//! The driver's feed in SQLite: messages, review results and verification log entries,
//! each a row in the driver's own sequence.

use edl_core::wire::VerificationLogEntry;
use rusqlite::{Connection, params};

use super::{i, u};
use crate::store::{DriverId, FeedEvent, StoreError};

/// Appends `event` to the driver's feed at the next seq; returns that seq.
pub(super) fn append_feed(
    conn: &Connection,
    driver: DriverId,
    seq: u64,
    event: &FeedEvent,
) -> Result<(), StoreError> {
    let (kind, at, verifier, outcome, body) = match event {
        FeedEvent::Message(m) => ("message", m.at, None, None, serde_json::to_string(m)),
        FeedEvent::Review(r) => ("review", r.decided_at, None, None, serde_json::to_string(r)),
        FeedEvent::Verification { verifier_id, entry } => (
            "verification",
            entry.at,
            Some(i(*verifier_id)),
            Some(outcome_str(entry)),
            serde_json::to_string(entry),
        ),
    };
    let body = body.map_err(|_| StoreError::Corrupt("feed entry"))?;
    conn.prepare_cached(
        "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![i(driver), i(seq), kind, i(at), verifier, outcome, body])?;
    Ok(())
}

fn outcome_str(entry: &VerificationLogEntry) -> String {
    serde_json::to_value(entry.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(super) fn decode_feed(
    kind: &str,
    body: &str,
    verifier_id: Option<i64>,
) -> Result<FeedEvent, StoreError> {
    let bad = |_| StoreError::Corrupt("feed entry");
    Ok(match kind {
        "message" => FeedEvent::Message(serde_json::from_str(body).map_err(bad)?),
        "review" => FeedEvent::Review(serde_json::from_str(body).map_err(bad)?),
        "verification" => FeedEvent::Verification {
            verifier_id: u(verifier_id.unwrap_or(0)),
            entry: serde_json::from_str(body).map_err(bad)?,
        },
        _ => return Err(StoreError::Corrupt("feed kind")),
    })
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
