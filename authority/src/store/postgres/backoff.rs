//! The enrolment back-off counters in PostgreSQL (D156): one row per counter, changed in
//! a transaction that locks the rows it read (`SELECT … FOR UPDATE`), so parallel changes
//! of one counter, from any process on the database, run one after the other. A counter
//! with no row yet cannot be locked: its row is inserted `ON CONFLICT DO NOTHING`, and if
//! another transaction inserted it first the whole change is redone with that row (the
//! change is a pure function, so running it again is safe). Nothing here needs more than
//! D87 allows: under SERIALIZABLE (CockroachDB) a conflict is a 40001, redone the same way.

use std::sync::Arc;

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::Row;

use super::retry::{Fault, commit, with_retry};
use super::rows::{get, i, u};
use crate::error::Error;
use crate::store::{BackoffChange, BackoffEntry, BackoffKey, StoreError};

const COLUMNS: &str = "key, attempts, last_at, locked_until, expires_at";

fn entry(row: &Row) -> Result<(Vec<u8>, BackoffEntry), StoreError> {
    let attempts: i64 = get(row, 1, "back-off attempts")?;
    Ok((
        get(row, 0, "back-off key")?,
        BackoffEntry {
            attempts: u32::try_from(attempts)
                .map_err(|_| StoreError::Corrupt("back-off attempts"))?,
            last: u(get(row, 2, "back-off last")?),
            locked_until: u(get(row, 3, "back-off lock")?),
            expires_at: u(get(row, 4, "back-off expiry")?),
        },
    ))
}

/// `rows` in the order of `keys`.
fn in_order(keys: &[BackoffKey], rows: &[Row]) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
    let found = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok(keys
        .iter()
        .map(|k| {
            found
                .iter()
                .find(|(key, _)| key[..] == k[..])
                .map(|(_, e)| *e)
        })
        .collect())
}

fn key_array(keys: &[BackoffKey]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.to_vec()).collect()
}

/// The counters `keys`, in order: one read, no lock.
pub async fn read(
    pool: &Pool,
    keys: &[BackoffKey],
) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
    let keys = Arc::new(keys.to_vec());
    with_retry(pool, move |conn| {
        let keys = keys.clone();
        Box::pin(async move {
            let st = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM enrol_backoff WHERE key = ANY($1)"
                ))
                .await?;
            let rows = conn.query(&st, &[&key_array(&keys)]).await?;
            Ok(in_order(&keys, &rows)?)
        })
    })
    .await
}

/// Runs `change` on the counters `keys` under their rows' locks and saves what it made of
/// them, in one transaction.
pub async fn update(pool: &Pool, keys: &[BackoffKey], change: BackoffChange) -> Result<(), Error> {
    let keys = Arc::new(keys.to_vec());
    with_retry(pool, move |conn| {
        let (keys, change) = (keys.clone(), change.clone());
        Box::pin(async move {
            let tx = conn.transaction().await?;
            // In key order, so two changes of the same counters lock them in one order.
            let st = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM enrol_backoff WHERE key = ANY($1) ORDER BY key FOR UPDATE"
                ))
                .await?;
            let rows = tx.query(&st, &[&key_array(&keys)]).await?;
            let before = in_order(&keys, &rows)?;
            let mut after = before.clone();
            if let Err(e) = change(&mut after) {
                // Nothing written: a refusal only read (and locked) its rows.
                let _ = tx.rollback().await;
                return Ok(Err(e));
            }
            for ((key, before), after) in keys.iter().zip(&before).zip(&after) {
                save(&tx, key, before, after).await?;
            }
            commit(tx).await?;
            Ok(Ok(()))
        })
    })
    .await?
}

/// Saves one counter: an update of a row this transaction holds locked, a delete, or the
/// insert of a row that was not there when read.
async fn save(
    tx: &Transaction<'_>,
    key: &BackoffKey,
    before: &Option<BackoffEntry>,
    after: &Option<BackoffEntry>,
) -> Result<(), Fault> {
    match (before, after) {
        _ if before == after => {}
        (Some(_), Some(e)) => {
            let st = tx
                .prepare_cached(
                    "UPDATE enrol_backoff SET attempts = $2, last_at = $3, locked_until = $4,
                         expires_at = $5
                     WHERE key = $1",
                )
                .await?;
            let (attempts, last, locked_until, expires_at) = columns(e);
            tx.execute(
                &st,
                &[&&key[..], &attempts, &last, &locked_until, &expires_at],
            )
            .await?;
        }
        (None, Some(e)) => {
            let st = tx
                .prepare_cached(
                    "INSERT INTO enrol_backoff (key, attempts, last_at, locked_until, expires_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .await?;
            let (attempts, last, locked_until, expires_at) = columns(e);
            let inserted = tx
                .execute(
                    &st,
                    &[&&key[..], &attempts, &last, &locked_until, &expires_at],
                )
                .await?;
            if inserted == 0 {
                // Another transaction made the row since it was read: do it all again
                // with that row, locked this time.
                return Err(Fault::Transient);
            }
        }
        (Some(_), None) => {
            let st = tx
                .prepare_cached("DELETE FROM enrol_backoff WHERE key = $1")
                .await?;
            tx.execute(&st, &[&&key[..]]).await?;
        }
        // Not there when read, not wanted: a row made since by another change is that
        // change's, which comes after this one.
        (None, None) => {}
    }
    Ok(())
}

/// An entry's columns after its key.
fn columns(e: &BackoffEntry) -> (i64, i64, i64, i64) {
    (
        i64::from(e.attempts),
        i(e.last),
        i(e.locked_until),
        i(e.expires_at),
    )
}
