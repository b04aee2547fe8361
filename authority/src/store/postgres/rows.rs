//! Values to and from PostgreSQL rows. The text forms (states, kinds, feed bodies) are the
//! SQLite store's, so the two databases hold the same values.

use edl_core::wire::ReviewKind;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use crate::store::columns::verifier_account;
pub use crate::store::columns::verifier_row;
pub use crate::store::columns::{FeedColumns, decode_feed, feed_columns, i, u};
use crate::store::{DriverState, PhotoRow, PhotoStatus, StoreError, VerifierAccountRow};

/// The database's clock in Unix seconds: one clock for every process, for the batch marks'
/// times and the prunes (`prune.rs`).
pub const DB_NOW: &str = "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)";

/// A column, or `Corrupt(what)` if it does not decode.
pub fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
    what: &'static str,
) -> Result<T, StoreError> {
    row.try_get(idx).map_err(|_| StoreError::Corrupt(what))
}

/// `id, name, class, created_at, revoked_at` of a verifier row (D196).
pub fn account_row(row: &Row) -> Result<VerifierAccountRow, StoreError> {
    verifier_account((
        get(row, 0, "verifier id")?,
        get(row, 1, "verifier name")?,
        get(row, 2, "class")?,
        get(row, 3, "verifier created at")?,
        get(row, 4, "revoked at")?,
    ))
}

/// `id, seq, state` of a driver row.
pub fn driver(row: &Row) -> Result<(DriverState, u64), StoreError> {
    let state = state_at(row, 2, u(get(row, 0, "driver id")?))?;
    Ok((state, u(get(row, 1, "driver seq")?)))
}

/// The aggregate in column `idx`, as driver `id`'s (the JSON does not hold the id).
pub fn state_at(row: &Row, idx: usize, id: u64) -> Result<DriverState, StoreError> {
    let Json(mut state): Json<DriverState> = get(row, idx, "driver state")?;
    state.id = id;
    Ok(state)
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
