//! A change to one driver: `SELECT … FOR UPDATE`, the pure closure, the save, one commit.
//!
//! The row lock orders the change after any other one on the same driver (and after the
//! writer's verification log appends, which lock the same row, D116). The closure runs
//! once ([`DriverChange`] is `FnOnce`): if the transaction has to be redone (40001, a
//! connection lost before the commit), the driver is read again and the change computed
//! before is saved only if the row's `seq` (its version, moved by changes only) is still
//! the one it was computed on; otherwise the call fails as [`StoreError::Aborted`] (503)
//! and the client retries.

use std::sync::{Arc, Mutex};

use deadpool_postgres::Transaction;

use super::retry::{Fault, commit, with_retry};
use super::rows::{self, feed_columns, i, state_json};
use crate::error::Error;
use crate::store::columns::{bump_versions, elicence_state_str, kind_str, status_bits};
use crate::store::{DriverChange, DriverId, DriverState, Effects, PhotoRow, StoreError};

/// The change as computed on the first attempt.
struct Computed {
    /// The `seq` it was computed on.
    seq: u64,
    before: DriverState,
    after: DriverState,
    effects: Arc<Effects>,
}

/// What the attempts share.
struct Plan {
    change: Option<DriverChange>,
    computed: Option<Computed>,
    refuse: Option<Error>,
}

/// Applies `change` to driver `id` (see the module doc).
pub async fn update(
    pool: &deadpool_postgres::Pool,
    id: DriverId,
    change: DriverChange,
) -> Result<DriverState, Error> {
    let plan = Arc::new(Mutex::new(Plan {
        change: Some(change),
        computed: None,
        refuse: None,
    }));
    let shared = plan.clone();
    let saved = with_retry(pool, move |conn| {
        let plan = shared.clone();
        Box::pin(async move {
            let tx = conn.transaction().await?;
            let st = tx
                .prepare_cached("SELECT id, seq, state FROM drivers WHERE id = $1 FOR UPDATE")
                .await?;
            let Some(row) = tx.query_opt(&st, &[&i(id)]).await? else {
                return Ok(Err(Error::UnknownId("driver")));
            };
            let (before, version) = rows::driver(&row)?;
            let (before, after, effects) = match compute(&plan, before, version)? {
                Ok(parts) => parts,
                Err(refused) => return Ok(Err(refused)),
            };
            let seq = driver_seq(&tx, id, version).await?;
            let saved = save_change(&tx, &before, after, seq, &effects).await?;
            commit(tx).await?;
            Ok(Ok(saved))
        })
    })
    .await??;
    let refuse = plan.lock().unwrap_or_else(|e| e.into_inner()).refuse.take();
    match refuse {
        Some(e) => Err(e),
        None => Ok(saved),
    }
}

type Parts = (DriverState, DriverState, Arc<Effects>);

/// The driver's sequence, once its row is locked: the row's `seq` (`version`) or its
/// feed's last entry, whichever is later (D116: a verification appends to the feed only).
/// A statement of its own, so its snapshot is taken after the lock was granted and sees
/// every entry appended by whoever held it before (READ COMMITTED).
async fn driver_seq(tx: &Transaction<'_>, id: DriverId, version: u64) -> Result<u64, Fault> {
    let st = tx
        .prepare_cached("SELECT max(seq) FROM feed WHERE driver_id = $1")
        .await?;
    let last: Option<i64> = tx.query_one(&st, &[&i(id)]).await?.get(0);
    Ok(last.map_or(version, |last| version.max(rows::u(last))))
}

/// Runs the closure on the first attempt; later attempts reuse its result if the driver
/// has not changed since (its row's `seq`, which only a change moves, is the version).
fn compute(
    plan: &Mutex<Plan>,
    before: DriverState,
    seq: u64,
) -> Result<Result<Parts, Error>, Fault> {
    let mut plan = plan.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = &plan.computed {
        if c.seq != seq || c.before != before {
            // Changed by someone else in between: the closure cannot run twice.
            return Err(Fault::Final(StoreError::Aborted));
        }
        return Ok(Ok((c.before.clone(), c.after.clone(), c.effects.clone())));
    }
    let Some(change) = plan.change.take() else {
        return Err(Fault::Final(StoreError::Aborted));
    };
    let mut after = before.clone();
    let mut effects = match change(&mut after) {
        Ok(effects) => effects,
        Err(e) => return Ok(Err(e)),
    };
    plan.refuse = effects.refuse.take();
    let effects = Arc::new(effects);
    plan.computed = Some(Computed {
        seq,
        before: before.clone(),
        after: after.clone(),
        effects: effects.clone(),
    });
    Ok(Ok((before, after, effects)))
}

/// Saves `after` over `before`: bumps the versions of changed parts, keeps the e-licence
/// table in step and appends the effects (as the SQLite store's `save_change`).
async fn save_change(
    tx: &Transaction<'_>,
    before: &DriverState,
    mut after: DriverState,
    seq: u64,
    effects: &Effects,
) -> Result<DriverState, Fault> {
    let mut seq = bump_versions(before, &mut after, seq);
    if let Some(new) = &after.elicence {
        let previous = before.elicence.as_ref().map(|e| e.id);
        if let Some(prev) = previous.filter(|p| *p != new.id) {
            let st = tx
                .prepare_cached(
                    "UPDATE elicences SET state = 'superseded', status = 1
                     WHERE id = $1 AND state = 'active'",
                )
                .await?;
            tx.execute(&st, &[&i(prev)]).await?;
        }
        // The status list reads this row: it changes in the same transaction as the state.
        let (index, status) = after.status_entry().map_or((None, 1), |(index, s)| {
            (Some(i64::from(index)), status_bits(s))
        });
        let st = tx
            .prepare_cached(
                "INSERT INTO elicences (id, driver_id, seed, state, status_index, status)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, status = excluded.status",
            )
            .await?;
        tx.execute(
            &st,
            &[
                &i(new.id),
                &i(after.id),
                &&new.seed.0[..],
                &elicence_state_str(new.state),
                &index,
                &status,
            ],
        )
        .await?;
    }
    // The new photo before the decisions and the discards: a retry racing its own first
    // upload must meet the first's key here and fail on the unique key (answered as the
    // first), before the first, withdrawn by it, gives its key back below.
    if let Some(photo) = &effects.new_photo {
        insert_photo(tx, photo).await?;
    }
    for d in &effects.photo_decisions {
        let st = tx
            .prepare_cached("UPDATE photos SET status = $2, decided_at = $3 WHERE id = $1")
            .await?;
        tx.execute(&st, &[&i(d.photo_id), &d.status.as_str(), &i(d.decided_at)])
            .await?;
    }
    if !effects.discard_photo_bytes.is_empty() {
        // The row stays, for the day's quota (D82); its upload key goes back, so the same
        // photo sent again is a new submission (D219).
        let ids: Vec<i64> = effects
            .discard_photo_bytes
            .iter()
            .map(|id| i(*id))
            .collect();
        let st = tx
            .prepare_cached(
                "UPDATE photos SET bytes = ''::BYTEA, client_key = NULL
                 WHERE id = ANY($1::BIGINT[])",
            )
            .await?;
        tx.execute(&st, &[&ids]).await?;
    }
    for event in &effects.feed {
        seq += 1;
        append_feed(tx, after.id, seq, event).await?;
    }
    let st = tx
        .prepare_cached("UPDATE drivers SET seq = $2, state = $3 WHERE id = $1")
        .await?;
    tx.execute(&st, &[&i(after.id), &i(seq), &state_json(&after)])
        .await?;
    Ok(after)
}

/// Stores a photo.
pub async fn insert_photo(tx: &Transaction<'_>, p: &PhotoRow) -> Result<(), Fault> {
    let st = tx
        .prepare_cached(
            "INSERT INTO photos (id, driver_id, client_key, digest, bytes, kind, status, submitted_at, deadline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    tx.execute(
        &st,
        &[
            &i(p.id),
            &i(p.driver_id),
            &p.client_key,
            &&p.digest[..],
            &p.bytes,
            &kind_str(p.kind),
            &p.status.as_str(),
            &i(p.submitted_at),
            &i(p.deadline),
        ],
    )
    .await?;
    Ok(())
}

/// Appends `event` to the driver's feed at `seq`.
async fn append_feed(
    tx: &Transaction<'_>,
    driver: DriverId,
    seq: u64,
    event: &crate::store::FeedEvent,
) -> Result<(), Fault> {
    let (kind, at, verifier, outcome, body) = feed_columns(event)?;
    let st = tx
        .prepare_cached(
            "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &st,
        &[&i(driver), &i(seq), &kind, &at, &verifier, &outcome, &body],
    )
    .await?;
    Ok(())
}
