//! The enrolment back-off counters in SQLite (D156): one row per counter, read on the read
//! pool, changed inside a write job. The writer holds the database's write lock for its
//! whole batch (`BEGIN IMMEDIATE`), so a change reads and saves its rows with no other
//! write in between, from this process or another on the same file.

use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{i, u};
use crate::error::Error;
use crate::store::{BackoffChange, BackoffEntry, BackoffKey, StoreError};

/// The counters `keys`, in order.
pub(super) fn read(
    conn: &Connection,
    keys: &[BackoffKey],
) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT attempts, last_at, locked_until, expires_at FROM enrol_backoff WHERE key = ?1",
    )?;
    keys.iter()
        .map(|key| {
            let row: Option<(i64, i64, i64, i64)> = stmt
                .query_row([&key[..]], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            row.map(|(attempts, last, locked_until, expires_at)| {
                Ok(BackoffEntry {
                    attempts: u32::try_from(attempts)
                        .map_err(|_| StoreError::Corrupt("back-off attempts"))?,
                    last: u(last),
                    locked_until: u(locked_until),
                    expires_at: u(expires_at),
                })
            })
            .transpose()
        })
        .collect()
}

/// Runs `change` on the counters `keys` and saves what it made of them; inside a write
/// job, so nothing else writes in between.
pub(super) fn update(
    conn: &Connection,
    keys: &[BackoffKey],
    change: &BackoffChange,
) -> Result<(), Error> {
    let before = read(conn, keys)?;
    let mut after = before.clone();
    change(&mut after)?;
    for ((key, before), after) in keys.iter().zip(&before).zip(&after) {
        match after {
            _ if after == before => {}
            Some(e) => {
                conn.prepare_cached(
                    "INSERT INTO enrol_backoff (key, attempts, last_at, locked_until, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO UPDATE SET attempts = excluded.attempts,
                         last_at = excluded.last_at, locked_until = excluded.locked_until,
                         expires_at = excluded.expires_at",
                )
                .map_err(StoreError::from)?
                .execute(params![
                    &key[..],
                    i64::from(e.attempts),
                    i(e.last),
                    i(e.locked_until),
                    i(e.expires_at)
                ])
                .map_err(StoreError::from)?;
            }
            None => {
                conn.prepare_cached("DELETE FROM enrol_backoff WHERE key = ?1")
                    .map_err(StoreError::from)?
                    .execute([&key[..]])
                    .map_err(StoreError::from)?;
            }
        }
    }
    Ok(())
}
