//! Whether a writer batch whose COMMIT went unanswered was kept (D169).
//!
//! A COMMIT whose answer is lost (the connection closed, or the server answered with a
//! connection or shutdown code) may have happened: a backend ended while it waits for a
//! synchronous standby has already committed locally, and tells the client nothing.
//! Doing the batch again would then refuse a sync as its own replay, answer a check as a
//! repeat of itself, or count a failed check twice.
//!
//! So each batch writes a mark in its own transaction, and after such a commit the writer
//! asks another connection by inserting the same mark. The insert waits for the batch's
//! transaction if that is still running (a uniqueness check waits for the writer of the
//! key, as in D165), then conflicts if the batch committed and goes through if it did not:
//! a transaction that ended without committing never will. Not kept, the question is
//! rolled back and the batch is done again. Kept, it is answered only once a commit made
//! after it is durable (a receipt row): with a synchronous standby, that commit waits
//! until the standby holds the WAL up to it, the batch's commit included (seventh review,
//! N-F1: a batch committed on the primary alone must not be acknowledged).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool, Transaction};
use tokio_postgres::Statement;
use tokio_postgres::error::SqlState;

use super::retry::{Fault, classify};

/// A batch's mark: this writer's random prefix and a count, so no two batches of any
/// process share one, and drawing one cannot fail inside the writer task.
pub type Mark = [u8; 16];

/// A writer prunes its own marks (and receipts) this long after their batch began: far
/// past the question, which it asks at once, and never while one of its batches is still
/// open (it prunes between batches).
pub const KEEP_SECS: i64 = 600;

/// Other writers' marks are pruned only after a day: a batch another process still has
/// open (waiting for a standby, say) keeps its mark until it is asked about (eighth
/// review, O-F2), and the marks of a process that stopped go eventually.
pub const SWEEP_SECS: i64 = 86_400;

/// Bounds on the question: it waits at most a second for a batch still running (one that
/// is still not over is stuck, waiting for a standby that is away), and never ends on a
/// lock timeout the database or its role may set (N-F4).
const ASK_WAIT: &str = "SET LOCAL statement_timeout = 1000; SET LOCAL lock_timeout = 0";

/// How long a kept batch's receipt may wait for the standby. Bounded here, not by the
/// server: a statement timeout, like any cancel, ends the standby wait quietly, with a
/// success.
const DURABLE_WAIT: Duration = Duration::from_secs(1);

/// The questions about one batch start within this time of the batch; each is bounded as
/// above, so the single writer, which answers nobody else meanwhile, stalls a few seconds
/// at most (N-F5). Past it: 503.
pub const SETTLE_WITHIN: Duration = Duration::from_secs(3);

/// Wait before asking again after a connection failure; doubled each time.
const BACKOFF: Duration = Duration::from_millis(20);

/// Where a writer's marks come from.
pub struct Marks {
    prefix: [u8; 8],
    next: AtomicU64,
}

impl Marks {
    /// A source with a random prefix (drawn when the writer starts).
    pub fn new() -> Marks {
        Marks {
            prefix: crate::random::bytes(),
            next: AtomicU64::new(0),
        }
    }

    /// The next mark.
    pub fn next(&self) -> Mark {
        let mut mark = [0u8; 16];
        mark[..8].copy_from_slice(&self.prefix);
        mark[8..].copy_from_slice(&self.next.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        mark
    }

    /// The lowest and highest ids this writer writes, its marks and their receipts: what
    /// its own prune may delete.
    pub fn own_range(&self) -> (Vec<u8>, Vec<u8>) {
        let low = [&self.prefix[..], &[0u8; 8]].concat();
        let high = [&self.prefix[..], &[0xffu8; 16]].concat();
        (low, high)
    }
}

/// Receipts asked for so far in this process, so each is a new row (its own transaction
/// id, so its commit always waits for the standby) that nothing else holds.
static RECEIPTS: AtomicU64 = AtomicU64::new(0);

/// What the questions found so far in this process: kept, not kept (redone), unknown (503).
static KEPT: AtomicU64 = AtomicU64::new(0);
static NOT_KEPT: AtomicU64 = AtomicU64::new(0);
static UNKNOWN: AtomicU64 = AtomicU64::new(0);

/// Batches whose commit went unanswered in this process so far: found kept, found not
/// kept (done again), and not found out (answered 503).
pub fn settled() -> (u64, u64, u64) {
    (
        KEPT.load(Ordering::Relaxed),
        NOT_KEPT.load(Ordering::Relaxed),
        UNKNOWN.load(Ordering::Relaxed),
    )
}

/// A mark's insert, its time by the database's clock (`rows::DB_NOW`): one clock for every
/// process (seventh review, N-F2: a process whose clock ran ten minutes ahead pruned other
/// processes' fresh marks).
const INSERT: &str =
    "INSERT INTO batch_marks (id, at) VALUES ($1, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))";

/// The mark's insert, prepared on `tx`'s connection (a round trip the first time only), so
/// that [`put`] sends its one request when first polled.
pub async fn prepare(tx: &Transaction<'_>) -> Result<Statement, Fault> {
    Ok(tx.prepare_cached(INSERT).await?)
}

/// Writes `mark` in the batch's transaction `tx` with `insert` from [`prepare`].
pub async fn put(tx: &Transaction<'_>, insert: &Statement, mark: &Mark) -> Result<(), Fault> {
    tx.execute(insert, &[&&mark[..]]).await?;
    Ok(())
}

/// After a commit answered [`Fault::Ambiguous`]: `Ok` if the batch that wrote `mark` was
/// kept (and is as durable as a commit here is), [`Fault::Transient`] if it was not (it
/// may be done again), [`Fault::Ambiguous`] if that cannot be told by `by`.
pub async fn settle(pool: &Pool, mark: &Mark, by: Instant) -> Result<(), Fault> {
    let mut wait = BACKOFF;
    loop {
        let fault = match pool.get().await {
            Ok(conn) => match ask(conn, mark).await {
                Ok(true) => {
                    KEPT.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("a batch's commit went unanswered; it was kept");
                    return Ok(());
                }
                Ok(false) => {
                    NOT_KEPT.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "a batch's commit went unanswered; it was not kept and is redone"
                    );
                    return Err(Fault::Transient);
                }
                Err(f) => f,
            },
            Err(e) => Fault::from(e),
        };
        // Only a connection that failed before the question was answered is worth another
        // try; anything else (a timeout, a read-only server, the pool closed) leaves it open.
        match fault {
            Fault::Transient if Instant::now() + wait < by => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            _ => {
                UNKNOWN.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("a batch's commit went unanswered; whether it was kept is unknown");
                return Err(Fault::Ambiguous);
            }
        }
    }
}

/// A statement of the question that ran out of its time leaves the answer unknown (the
/// batch still runs); other failures are sorted as anywhere else.
fn timed_out_unknown(e: tokio_postgres::Error) -> Fault {
    match e.code() {
        Some(code) if *code == SqlState::QUERY_CANCELED => Fault::Ambiguous,
        _ => classify(&e),
    }
}

/// One question on `conn`: whether the batch was kept.
async fn ask(mut conn: Object, mark: &Mark) -> Result<bool, Fault> {
    let tx = conn.transaction().await?;
    tx.batch_execute(ASK_WAIT).await?;
    let inserted = tx
        .execute(
            &format!("{INSERT} ON CONFLICT (id) DO NOTHING"),
            &[&&mark[..]],
        )
        .await
        .map_err(timed_out_unknown)?;
    if inserted == 1 {
        // The answer is known; a rollback that fails only loses the connection.
        let _ = tx.rollback().await;
        return Ok(false);
    }
    // Kept here. A receipt committed after it: the batch is as durable as this commit.
    // Its id is the mark and a count (24 bytes, apart from every mark), so its insert,
    // still under the question's timeout, waits for nobody (eighth review, O-F1); the
    // timeout is lifted for the COMMIT alone, which the writer bounds.
    let n = RECEIPTS.fetch_add(1, Ordering::Relaxed);
    let receipt = [&mark[..], &n.to_be_bytes()].concat();
    tx.execute(INSERT, &[&receipt])
        .await
        .map_err(timed_out_unknown)?;
    tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
    let committed = tokio::time::timeout(DURABLE_WAIT, tx.commit()).await;
    match committed {
        Ok(Ok(())) => Ok(true),
        Ok(Err(_)) => Err(Fault::Ambiguous),
        Err(_) => {
            // Still waiting for the standby: this connection leaves the pool (it would hold
            // up whoever got it next) and the batch's jobs get 503.
            drop(Object::take(conn));
            Err(Fault::Ambiguous)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::DB_NOW;
    use super::*;

    #[test]
    fn marks_of_one_writer_differ_share_its_prefix_and_carry_the_database_s_time() {
        let marks = Marks::new();
        let (a, b) = (marks.next(), marks.next());
        assert_ne!(a, b);
        assert_eq!(a[..8], b[..8]);
        let (low, high) = marks.own_range();
        let receipt = [&b[..], &u64::MAX.to_be_bytes()].concat();
        assert!(low.as_slice() <= &a[..] && &receipt[..] <= high.as_slice());
        let theirs = Marks::new().next();
        assert!(!(low.as_slice() <= &theirs[..] && &theirs[..] <= high.as_slice()));
        assert_ne!(
            Marks::new().next()[..8],
            a[..8],
            "another writer, another prefix"
        );
        assert!(INSERT.contains(DB_NOW), "the mark's time is the database's");
    }
}
