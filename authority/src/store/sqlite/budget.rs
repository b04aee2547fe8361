//! The failed-check limits every process is held to (D163), on SQLite: the failures a
//! check counts are read inside the writer's transaction, which holds the file's write
//! lock (`BEGIN IMMEDIATE`), so no other process writes between the read and the check's
//! own write.
//!
//! What a transaction has read is kept for the rest of it, with the failures its own jobs
//! add: the many checks of one verifier in one batch read its failures once (each read is
//! the writer's time, and the writer is every check's). A job rolled back after its
//! failure was counted leaves it counted for the rest of the batch: one more failure than
//! stored, for a few milliseconds.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::rows::{i, u};
use super::writer;
use crate::store::{GuessLimits, RECENT_FAILURES, StoreError};

/// Failures read since a time (and those added since), by name.
type Seen<K> = HashMap<K, (i64, Vec<u64>)>;

/// What the writer thread's current transaction has read.
#[derive(Default)]
struct Read {
    batch: u64,
    targets: Seen<String>,
    verifiers: Seen<u64>,
}

thread_local! {
    static READ: RefCell<Read> = RefCell::new(Read::default());
}

/// [`StoreError::OverBudget`] if a check by `verifier_id` on `target` at `at` would go past
/// `limits`, counting the failures every process stored (D163).
pub(super) fn refuse_over_budget(
    conn: &Connection,
    target: &str,
    verifier_id: u64,
    at: u64,
    limits: &GuessLimits,
) -> Result<(), StoreError> {
    let since = i(at.saturating_sub(limits.window));
    // A verifier's lock-out outlasts the window (D163, H-F4).
    let verifier_since = i(at.saturating_sub(limits.memory()));
    READ.with(|read| {
        let mut read = read.borrow_mut();
        let read = &mut *read;
        let batch = writer::current_batch();
        if read.batch != batch {
            *read = Read {
                batch,
                ..Read::default()
            };
        }
        let on_target = match limits.target_max {
            Some(_) => seen(&mut read.targets, target.to_owned(), since, || {
                failures_on(conn, target, since)
            })?,
            None => Vec::new(),
        };
        let by_verifier = seen(&mut read.verifiers, verifier_id, verifier_since, || {
            failures_by(conn, verifier_id, verifier_since)
        })?;
        match limits.refusal(&on_target, &by_verifier, at) {
            Some(refused) => Err(StoreError::OverBudget(refused)),
            None => Ok(()),
        }
    })
}

/// Counts a failure the current transaction stored, for the checks after it in the batch.
pub(super) fn count_failure(target: &str, verifier_id: u64, at: u64) {
    READ.with(|read| {
        let mut read = read.borrow_mut();
        if read.batch != writer::current_batch() {
            return;
        }
        if let Some((_, times)) = read.targets.get_mut(target) {
            times.push(at);
        }
        if let Some((_, times)) = read.verifiers.get_mut(&verifier_id) {
            times.push(at);
        }
    })
}

/// The failures of `key` since `since`: from what this transaction read, when it read from
/// that time or earlier, otherwise read now.
fn seen<K: std::hash::Hash + Eq>(
    map: &mut Seen<K>,
    key: K,
    since: i64,
    read: impl FnOnce() -> Result<Vec<u64>, StoreError>,
) -> Result<Vec<u64>, StoreError> {
    if let Some((from, times)) = map.get(&key)
        && *from <= since
    {
        return Ok(times.clone());
    }
    let times = read()?;
    map.insert(key, (since, times.clone()));
    Ok(times)
}

/// The times of the failures on `target` since `since`, oldest first: the newest
/// [`RECENT_FAILURES`], by the index `(target, at)`.
pub(super) fn failures_on(
    conn: &Connection,
    target: &str,
    since: i64,
) -> Result<Vec<u64>, StoreError> {
    times(
        conn,
        "SELECT at FROM check_failures WHERE target = ?1 AND at >= ?2
         ORDER BY at DESC LIMIT ?3",
        params![target, since, RECENT_FAILURES],
    )
}

/// The times of the failures by `verifier_id` since `since`, oldest first: the newest
/// [`RECENT_FAILURES`], by the index `(verifier_id, at)`.
pub(super) fn failures_by(
    conn: &Connection,
    verifier_id: u64,
    since: i64,
) -> Result<Vec<u64>, StoreError> {
    times(
        conn,
        "SELECT at FROM check_failures WHERE verifier_id = ?1 AND at >= ?2
         ORDER BY at DESC LIMIT ?3",
        params![i(verifier_id), since, RECENT_FAILURES],
    )
}

fn times(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<u64>, StoreError> {
    let mut newest_first = conn
        .prepare_cached(sql)?
        .query_map(params, |r| r.get::<_, i64>(0).map(u))?
        .collect::<Result<Vec<u64>, _>>()?;
    newest_first.reverse();
    Ok(newest_first)
}
