//! How the SQLite store's rows encode ids, driver states, e-licence states and photos.

use edl_core::wire::ReviewKind;
use rusqlite::{Connection, OptionalExtension, params};

use super::super::columns::kind_str;
pub(super) use super::super::columns::{i, u};
use super::super::{DriverState, PhotoRow, PhotoStatus, StoreError};

/// A driver's sequence (the sync cursor), as an SQL expression over a `drivers` row: the
/// row's `seq`, moved by every change of the driver, or its feed's last entry if later. A
/// verification appends to the feed only and leaves the driver's row alone (D112): one
/// page fewer written per check.
macro_rules! driver_seq_sql {
    () => {
        "max(seq, coalesce((SELECT max(f.seq) FROM feed AS f WHERE f.driver_id = drivers.id), 0))"
    };
}

/// A driver and its sequence ([`driver_seq`]): what a change or a sync starts from.
pub(super) fn load_state(
    conn: &Connection,
    id: i64,
) -> Result<Option<(DriverState, u64)>, StoreError> {
    let row: Option<(i64, i64, String)> = conn
        .prepare_cached(concat!(
            "SELECT id, ",
            driver_seq_sql!(),
            ", state FROM drivers WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(id, seq, json)| Ok((decode_state(id, &json)?, u(seq))))
        .transpose()
}

/// A driver's state without its sequence, by [`STATE_BY_ID`] or [`STATE_BY_NUMBER`]: what
/// a read that changes nothing needs (a check, a lookup), without the seek into the feed.
pub(super) fn load_driver(
    conn: &Connection,
    sql: &str,
    key: &dyn rusqlite::ToSql,
) -> Result<Option<DriverState>, StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(sql)?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(id, json)| decode_state(id, &json)).transpose()
}

/// A driver's state from its row's JSON, with its id.
pub(super) fn decode_state(id: i64, json: &str) -> Result<DriverState, StoreError> {
    let mut state: DriverState =
        serde_json::from_str(json).map_err(|_| StoreError::Corrupt("driver state"))?;
    state.id = u(id);
    Ok(state)
}

pub(super) const STATE_BY_ID: &str = "SELECT id, state FROM drivers WHERE id = ?1";
pub(super) const STATE_BY_NUMBER: &str = "SELECT id, state FROM drivers WHERE licence_number = ?1";

/// The driver's sequence alone; `None` for an unknown driver.
pub(super) fn driver_seq(conn: &Connection, driver: i64) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT ",
            driver_seq_sql!(),
            " FROM drivers WHERE id = ?1"
        ))?
        .query_row([driver], |r| r.get::<_, i64>(0))
        .optional()?
        .map(u))
}

pub(super) fn state_json(state: &DriverState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|_| StoreError::Corrupt("driver state"))
}

pub(super) fn insert_photo(conn: &Connection, p: &PhotoRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO photos (id, driver_id, client_key, digest, bytes, kind, status, submitted_at, deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        i(p.id),
        i(p.driver_id),
        p.client_key,
        &p.digest[..],
        p.bytes,
        kind_str(p.kind),
        p.status.as_str(),
        i(p.submitted_at),
        i(p.deadline)
    ])
    .map_err(|e| conflict_on_constraint(e, "photo idempotency key"))?;
    Ok(())
}

/// `e` as [`StoreError::Conflict`] naming `what` when a constraint refused the write (a
/// row with that key is there already), else as any other SQLite error.
pub(super) fn conflict_on_constraint(e: rusqlite::Error, what: &'static str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what)
        }
        e => e.into(),
    }
}

pub(super) fn photo_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(PhotoRow, String, String)> {
    let digest: Vec<u8> = r.get(3)?;
    let mut d = [0u8; 32];
    if digest.len() == 32 {
        d.copy_from_slice(&digest);
    }
    Ok((
        PhotoRow {
            id: u(r.get(0)?),
            driver_id: u(r.get(1)?),
            client_key: r.get(2)?,
            digest: d,
            bytes: r.get(4)?,
            kind: ReviewKind::Application,
            status: PhotoStatus::Pending,
            submitted_at: u(r.get(7)?),
            deadline: u(r.get(8)?),
        },
        r.get(5)?,
        r.get(6)?,
    ))
}

pub(super) fn finish_photo(row: (PhotoRow, String, String)) -> Result<PhotoRow, StoreError> {
    let (mut p, kind, status) = row;
    p.kind = match kind.as_str() {
        "application" => ReviewKind::Application,
        "photo_change" => ReviewKind::PhotoChange,
        _ => return Err(StoreError::Corrupt("photo kind")),
    };
    p.status = PhotoStatus::parse(&status).ok_or(StoreError::Corrupt("photo status"))?;
    Ok(p)
}

pub(super) const PHOTO_COLUMNS: &str =
    "id, driver_id, client_key, digest, bytes, kind, status, submitted_at, deadline";
