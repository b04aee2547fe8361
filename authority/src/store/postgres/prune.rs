//! Deleting what the writer keeps for a while only: expired nonces, failed checks and
//! their lock rows, spent codes, batch marks and enrolment back-off counters.
//!
//! A row goes once it is past its keep by this process's clock *and* by the database's
//! (D170). The rows carry the time of the process that wrote them, and every process
//! prunes: by its own clock alone, one whose clock ran ahead deleted the others' fresh
//! rows, so a code still inside its window was answered again through another process
//! and a signed request could be replayed (the test in `pg_prune_clock.rs`). The
//! database's clock is one for every process; this process's is kept as a second bound so
//! that a database whose clock runs ahead deletes nothing early either. Kept longer, a row
//! costs only space (D170).

use deadpool_postgres::Pool;

use super::marks::{self, Marks};
use super::rows::{DB_NOW, i};

/// Failed online checks (and their lock rows) are kept this long: far past any lock-out's
/// memory.
pub const FAILURE_SECS: u64 = 24 * 3600;

/// `column` past its keep by both clocks: `$1` this process's cut-off, `$2` the keep, taken
/// from the database's time.
fn past(column: &str) -> String {
    format!("{column} < LEAST($1, {DB_NOW} - $2)")
}

/// How long a prune's delete waits for a row another session holds. A failure batch of
/// another process holds its target's lock row while it waits for a driver's row, which an
/// operator's session or a silent peer may hold for long, and a peer may hold an expired
/// enrolment counter likewise; the prune runs under the writer's clock of a held commit,
/// so waiting on with it would refuse every write past the stall bound though no commit is
/// held (twenty-second review, AC-F4; twenty-fifth, AF-F4). Given up, the rows are deleted
/// by the next prune.
const ROW_WAIT: &str = "SET LOCAL lock_timeout = '100ms'";

/// Runs one delete of `table`'s expired rows, `$1` its cut-off by this process's clock and
/// `$2` its keep, in a transaction of its own that waits at most [`ROW_WAIT`] for a row
/// held elsewhere. Best effort: one that fails is logged (its table and SQLSTATE) and left
/// to the next prune; rolled back, it leaves the connection clean for the pool.
async fn delete(
    conn: &mut deadpool_postgres::Object,
    table: &'static str,
    sql: String,
    (cutoff, secs): (i64, i64),
) {
    let done = async {
        let tx = conn.transaction().await?;
        tx.batch_execute(ROW_WAIT).await?;
        tx.execute(&sql, &[&cutoff, &secs]).await?;
        tx.commit().await
    };
    if let Err(e) = done.await {
        tracing::warn!(
            table,
            sqlstate = e.code().map(|c| c.code()),
            "a prune's delete failed; the next prune tries again"
        );
    }
}

/// Deletes what has expired at `now` (this process's time); nonces are kept `nonce_secs`.
/// Best effort: a failed prune only keeps rows longer, and the next one tries again.
pub async fn prune(pool: &Pool, now: u64, nonce_secs: u64, marks: &Marks) {
    let Ok(mut conn) = pool.get().await else {
        return;
    };
    // A cut-off by this process's clock and the keep it was made with.
    let keep = |secs: u64| (i(now.saturating_sub(secs)), i(secs));
    delete(
        &mut conn,
        "nonces",
        format!("DELETE FROM nonces WHERE {}", past("ts")),
        keep(nonce_secs),
    )
    .await;
    delete(
        &mut conn,
        "check_failures",
        format!("DELETE FROM check_failures WHERE {}", past("at")),
        keep(FAILURE_SECS),
    )
    .await;
    // After the failures: a row outlives none of its own (D163).
    // In name order, as batches take them, byte order whatever the database's locale
    // (fourth review, K-F6; fifth, L-F5).
    delete(
        &mut conn,
        "guess_locks",
        format!(
            "DELETE FROM guess_locks WHERE name IN (
                 SELECT name FROM guess_locks WHERE {} ORDER BY name COLLATE \"C\" FOR UPDATE)",
            past("at")
        ),
        keep(FAILURE_SECS),
    )
    .await;
    delete(
        &mut conn,
        "spent_codes",
        format!("DELETE FROM spent_codes WHERE {}", past("at")),
        keep(crate::guard::KEEP_SECS),
    )
    .await;
    // Written by the database's clock (D169, N-F2): this writer's own after ten minutes,
    // everyone's after a day (O-F2).
    let (low, high) = marks.own_range();
    let _ = conn
        .execute(
            &format!(
                "DELETE FROM batch_marks WHERE (id BETWEEN $1 AND $2 AND at < {DB_NOW} - $3)
                     OR at < {DB_NOW} - $4"
            ),
            &[&low, &high, &marks::KEEP_SECS, &marks::SWEEP_SECS],
        )
        .await;
    // Expired enrolment back-off counters mean nothing any more (D156).
    delete(
        &mut conn,
        "enrol_backoff",
        format!("DELETE FROM enrol_backoff WHERE {}", past("expires_at")),
        keep(0),
    )
    .await;
}
