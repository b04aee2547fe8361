//! Whether a writer batch whose COMMIT went unanswered was kept (D169).
//!
//! A COMMIT whose answer is lost (the connection closed, or the server answered with a
//! connection or shutdown code) may have happened: a backend ended while it waits for a
//! synchronous standby has already committed locally, and tells the client nothing.
//! Doing the batch again would then refuse a sync as its own replay, answer a check as a
//! repeat of itself, or count a failed check twice; answering 503 tells a verifier to
//! check again with a code already spent.
//!
//! So each batch writes a random mark in its own transaction, and after such a commit the
//! writer asks another connection by inserting the same mark and rolling back. The insert
//! waits for the batch's transaction if that is still running (a uniqueness check waits
//! for the writer of the key, as in D165), then conflicts if the batch committed and goes
//! through if it did not: a transaction that ended without committing never will. Rolled
//! back, the question writes nothing and can be asked again. It holds nothing else, so it
//! cannot deadlock with the batches of other processes.

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::error::SqlState;

use super::retry::{Fault, classify, with_retry};
use crate::store::StoreError;

/// A batch's mark: random, so no two batches of any process share one.
pub type Mark = [u8; 16];

/// The longest the question waits for a batch still running. A batch still not over a
/// second after its answer was lost is stuck (waiting for a standby that is away): its
/// jobs are answered 503, as before D169.
const ASK_WAIT: &str = "SET LOCAL statement_timeout = 1000";

/// A new mark.
pub fn new() -> Mark {
    crate::random::bytes()
}

/// Writes `mark` in the batch's transaction `tx`; `at` is when (for the prune).
pub async fn put(tx: &Transaction<'_>, mark: &Mark, at: i64) -> Result<(), Fault> {
    let insert = tx
        .prepare_cached("INSERT INTO batch_marks (id, at) VALUES ($1, $2)")
        .await?;
    tx.execute(&insert, &[&&mark[..], &at]).await?;
    Ok(())
}

/// After a commit answered [`Fault::Ambiguous`]: `Ok` if the batch that wrote `mark` was
/// kept, [`Fault::Transient`] if it was not (it may be done again), [`Fault::Ambiguous`]
/// if the database cannot tell within the bounds (unreachable, or the batch still runs).
pub async fn settle(pool: &Pool, mark: &Mark, at: i64) -> Result<(), Fault> {
    let mark = *mark;
    let kept = with_retry(pool, move |conn| {
        Box::pin(async move {
            let tx = conn.transaction().await?;
            tx.batch_execute(ASK_WAIT).await?;
            let inserted = tx
                .execute(
                    "INSERT INTO batch_marks (id, at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&&mark[..], &at],
                )
                .await
                .map_err(|e| match e.code() {
                    // The batch still runs: nobody can tell yet.
                    Some(code) if *code == SqlState::QUERY_CANCELED => Fault::Ambiguous,
                    _ => classify(&e),
                })?;
            // The answer is known; a rollback that fails only loses the connection.
            let _ = tx.rollback().await;
            Ok(inserted == 0)
        })
    })
    .await;
    match kept {
        Ok(true) => {
            tracing::warn!("a batch's commit went unanswered; it was kept");
            Ok(())
        }
        Ok(false) => {
            tracing::warn!("a batch's commit went unanswered; it was not kept and is redone");
            Err(Fault::Transient)
        }
        Err(StoreError::Unavailable) => Err(Fault::Ambiguous),
        Err(e) => Err(Fault::Final(e)),
    }
}
