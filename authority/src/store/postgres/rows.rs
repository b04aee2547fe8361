//! Values to and from PostgreSQL rows. The text forms (states, kinds, feed bodies) are the
//! SQLite store's, so the two databases hold the same values.

use edl_core::wire::{ReviewKind, VerificationLogEntry};
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use crate::store::{DriverState, FeedEvent, PhotoRow, PhotoStatus, StoreError};

/// Ids and times as stored: they are below 2^63 (ids are masked to 63 bits when made).
pub fn i(v: u64) -> i64 {
    v as i64
}

/// Inverse of [`i`].
pub fn u(v: i64) -> u64 {
    v as u64
}

/// A column, or `Corrupt(what)` if it does not decode.
pub fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
    what: &'static str,
) -> Result<T, StoreError> {
    row.try_get(idx).map_err(|_| StoreError::Corrupt(what))
}

/// `id, seq, state` of a driver row.
pub fn driver(row: &Row) -> Result<(DriverState, u64), StoreError> {
    let Json(mut state): Json<DriverState> = get(row, 2, "driver state")?;
    state.id = u(get(row, 0, "driver id")?);
    Ok((state, u(get(row, 1, "driver seq")?)))
}

/// The aggregate as a JSONB parameter.
pub fn state_json(state: &DriverState) -> Json<&DriverState> {
    Json(state)
}

/// The photo columns, in the order [`photo`] reads them.
pub const PHOTO_COLUMNS: &str =
    "id, driver_id, client_key, digest, bytes, kind, status, submitted_at, deadline";

/// A row of [`PHOTO_COLUMNS`].
pub fn photo(row: &Row) -> Result<PhotoRow, StoreError> {
    let digest: Vec<u8> = get(row, 3, "photo digest")?;
    let kind: String = get(row, 5, "photo kind")?;
    let status: String = get(row, 6, "photo status")?;
    Ok(PhotoRow {
        id: u(get(row, 0, "photo id")?),
        driver_id: u(get(row, 1, "photo driver")?),
        client_key: get(row, 2, "photo client key")?,
        digest: digest
            .try_into()
            .map_err(|_| StoreError::Corrupt("photo digest"))?,
        bytes: get(row, 4, "photo bytes")?,
        kind: match kind.as_str() {
            "application" => ReviewKind::Application,
            "photo_change" => ReviewKind::PhotoChange,
            _ => return Err(StoreError::Corrupt("photo kind")),
        },
        status: PhotoStatus::parse(&status).ok_or(StoreError::Corrupt("photo status"))?,
        submitted_at: u(get(row, 7, "photo time")?),
        deadline: u(get(row, 8, "photo deadline")?),
    })
}

/// A feed row's columns besides the key: `(kind, at, verifier_id, outcome, body)`.
pub type FeedColumns = (&'static str, i64, Option<i64>, Option<String>, String);

/// How `event` is stored.
pub fn feed_columns(event: &FeedEvent) -> Result<FeedColumns, StoreError> {
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
    Ok((kind, i(at), verifier, outcome, body))
}

fn outcome_str(entry: &VerificationLogEntry) -> String {
    serde_json::to_value(entry.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A stored feed entry back.
pub fn decode_feed(
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
