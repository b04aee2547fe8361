//! The one writer: a thread that owns the only write connection and commits jobs in
//! groups.
//!
//! SQLite allows one writer at a time, so writes are serialised anyway; doing it on one
//! thread makes read-modify-write of a driver atomic without locks. Jobs that arrive
//! while a commit is in flight wait in the channel and go into the next transaction
//! together, so one fsync covers many requests. Each job runs in its own savepoint (a
//! failing job leaves the others' changes intact), and its caller is answered only
//! after the transaction holding it has committed: nothing acknowledged is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::store::StoreError;
use crate::store::held::{BatchClock, BatchShape};

thread_local! {
    /// The writer thread's transactions, counted (see [`current_batch`]).
    static BATCH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The number of the writer thread's current transaction. A job may keep what it read
/// for the later jobs of the same transaction: it holds the file's write lock (`BEGIN
/// IMMEDIATE`), so no other process writes meanwhile (D163).
pub(super) fn current_batch() -> u64 {
    BATCH.with(std::cell::Cell::get)
}

/// Jobs per transaction at most: bounds the latency one batch adds.
const MAX_BATCH: usize = 512;
/// Failed online checks are kept this long: far past any lock-out's memory.
const FAILURE_SECS: u64 = 24 * 3600;
/// How often expired nonces, failures, spent codes and enrolment back-off counters are
/// deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Called after the batch commits (`Ok`) or fails to (`Err`).
type Reply = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// Runs inside the batch transaction and returns how to answer its caller; `None` if it was
/// not run (nobody waits for it, D183).
type Job = Box<dyn FnOnce(&Connection) -> Option<Ran> + Send>;

/// A job run in a batch.
struct Ran {
    /// How to answer its caller.
    reply: Reply,
    /// Whether it changed a row and kept the change: what the writer's counts count. A
    /// job refused (its savepoint rolled back) or that found nothing to write (a claim on
    /// a code spent before) made no write (seventeenth review, X-F3).
    wrote: bool,
}

/// A handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    stats: Arc<Stats>,
    held: Arc<BatchClock>,
}

/// Counts of the writer's work, to see group commit at work (jobs per batch).
#[derive(Default)]
pub struct Stats {
    /// Transactions committed that made a write.
    pub batches: AtomicU64,
    /// Jobs that made a write in them: changed a row and kept the change.
    pub jobs: AtomicU64,
    /// The same as distributions (AR-5).
    pub shape: BatchShape,
}

/// Keeps nonces for this long past their timestamp.
pub struct Retention {
    /// Where time comes from.
    pub clock: std::sync::Arc<dyn Clock>,
    /// Seconds a nonce is kept.
    pub nonce_secs: u64,
}

impl Writer {
    /// Starts the writer thread on `conn`. It stops when every handle is dropped.
    pub fn start(
        conn: Connection,
        retention: Retention,
    ) -> std::io::Result<(Writer, thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        let held = Arc::new(BatchClock::recording(stats.shape.held.clone()));
        let (counts, clock) = (stats.clone(), held.clone());
        let handle = thread::Builder::new()
            .name("edl-writer".into())
            .spawn(move || run(conn, rx, retention, &counts, &clock))?;
        Ok((
            Writer {
                jobs: tx,
                stats,
                held,
            },
            handle,
        ))
    }

    /// How much work has been committed.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// How long the batch in hand has been going, from its `BEGIN` to its `COMMIT`'s
    /// answer (D179); `None` between batches.
    pub fn held_for(&self) -> Option<Duration> {
        self.held.held_for()
    }

    /// Runs `f` in the next batch; resolves once that batch committed. `f` returning an
    /// error rolls back only its own changes.
    pub async fn run<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue(f, false).await
    }

    /// Like [`Writer::run`], but `f` is not run if its caller stopped waiting before the
    /// batch reached it (a request dropped at its deadline or by its client): for a write
    /// that is only worth making if someone is told of it, an online check's claim on its
    /// code (fourteenth review, U-F1; D183).
    pub async fn run_if_awaited<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue(f, true).await
    }

    async fn queue<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        only_if_awaited: bool,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: &Connection| -> Option<Ran> {
            if only_if_awaited && tx.is_closed() {
                tracing::debug!("write not made: its caller stopped waiting");
                return None;
            }
            let changes = conn.total_changes();
            let result = in_savepoint(conn, f);
            let wrote = result.is_ok() && conn.total_changes() > changes;
            let reply: Reply = Box::new(move |commit: Result<(), &StoreError>| {
                let answer = match commit {
                    Ok(()) => result,
                    // The job's changes are gone with the batch; its own error (if any)
                    // still explains more than the commit failure.
                    Err(StoreError::Aborted) => Err(E::from(StoreError::Aborted)),
                    Err(_) if result.is_err() => result,
                    Err(e) => Err(E::from(StoreError::Corrupt(commit_failure(e)))),
                };
                let _ = tx.send(answer);
            });
            Some(Ran { reply, wrote })
        });
        self.jobs
            .send(job)
            .map_err(|_| E::from(StoreError::Closed))?;
        // No answer to an accepted job: it was dropped with a batch that a fault abandoned.
        rx.await.map_err(|_| E::from(StoreError::Aborted))?
    }
}

fn commit_failure(_: &StoreError) -> &'static str {
    "the transaction could not be committed"
}

fn in_savepoint<T, E: From<StoreError>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("SAVEPOINT job")
        .map_err(|e| E::from(e.into()))?;
    let result = f(conn);
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end).map_err(|e| E::from(e.into()))?;
    result
}

/// Runs the jobs of a batch in order; `None` if one panicked, after answering the ones
/// before it with [`StoreError::Aborted`].
fn run_jobs(conn: &Connection, batch: Vec<Job>) -> Option<Vec<Ran>> {
    let mut ran = Vec::with_capacity(batch.len());
    for job in batch {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))) {
            Ok(job) => ran.extend(job),
            Err(_) => {
                eprintln!("edl-authority: a write job panicked; its batch was rolled back");
                for job in ran {
                    (job.reply)(Err(&StoreError::Aborted));
                }
                return None;
            }
        }
    }
    Some(ran)
}

fn run(
    conn: Connection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    retention: Retention,
    stats: &Stats,
    held: &BatchClock,
) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let _batch = tracing::debug_span!("writer_batch", jobs = batch.len()).entered();
        let in_batch = held.begin();
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Another process holds the file's write lock past the busy timeout, or the
            // file went away. Dropping the jobs drops their reply channels: callers see
            // `Aborted` (nothing of theirs was made; 503 with Retry-After).
            tracing::error!(error = %e, "writer cannot begin a transaction");
            continue;
        }
        BATCH.with(|b| b.set(b.get().wrapping_add(1)));
        let Some(ran) = run_jobs(&conn, batch) else {
            // A job panicked: its changes (and its savepoint) are in an unknown state, so
            // the whole batch goes. The jobs already run are told `Aborted`, those not yet
            // run are dropped (their callers see `Aborted` too), and the thread lives on
            // for the next batch instead of taking every later write down with it.
            let _ = conn.execute_batch("ROLLBACK");
            continue;
        };
        let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
        drop(in_batch);
        if let Err(e) = &commit {
            tracing::error!(error = %e, "writer batch not committed");
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            // The writes made: not the jobs left out (sixteenth review, W-F4), refused or
            // finding nothing to write (seventeenth, X-F3); no batch for a transaction
            // that made none.
            tracing::trace!("writer batch committed");
            let made = ran.iter().filter(|job| job.wrote).count() as u64;
            if made > 0 {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.jobs.fetch_add(made, Ordering::Relaxed);
                stats.shape.sizes.observe(made as f64);
            }
        }
        // Answered before the prune, which is nobody's to wait for (twenty-second review,
        // AC-F3).
        let result = commit.as_ref().map(|_| ());
        for job in ran {
            (job.reply)(result);
        }
        if last_prune.elapsed() >= PRUNE_EVERY && commit.is_ok() {
            last_prune = Instant::now();
            // Each delete takes the file's write lock and may wait out the busy timeout
            // for another process: the held clock covers it, as PostgreSQL's prune (D179),
            // so writes are refused and claims given up meanwhile (D193), not queued.
            let _pruning = held.begin();
            let cutoff = retention.clock.now().saturating_sub(retention.nonce_secs);
            // Best effort: a failed prune only keeps rows longer.
            let _ = conn.execute("DELETE FROM nonces WHERE ts < ?1", [cutoff as i64]);
            let _ = conn.execute(
                "DELETE FROM check_failures WHERE at < ?1",
                [retention.clock.now().saturating_sub(FAILURE_SECS) as i64],
            );
            let _ = conn.execute(
                // By window (the key's first column, D112): a code is spent within a
                // window or two of its start, so this keeps each as long as KEEP_SECS.
                "DELETE FROM spent_codes WHERE window_start < ?1",
                [retention
                    .clock
                    .now()
                    .saturating_sub(crate::guard::KEEP_SECS) as i64],
            );
            // Expired enrolment back-off counters mean nothing any more (D156).
            let _ = conn.execute(
                "DELETE FROM enrol_backoff WHERE expires_at < ?1",
                [retention.clock.now() as i64],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn start(path: &std::path::Path) -> Writer {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let retention = Retention {
            clock: Arc::new(ManualClock::new(0)),
            nonce_secs: 600,
        };
        Writer::start(conn, retention).unwrap().0
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_jobs_commit_and_a_failing_job_rolls_back_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = start(&path);
        let mut tasks = Vec::new();
        for n in 0..300i64 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                w.run(move |conn| {
                    conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                    if n % 10 == 0 {
                        // Inserted, then refused: the savepoint takes the row back.
                        return Err(StoreError::Conflict("test"));
                    }
                    Ok(n)
                })
                .await
            }));
        }
        let mut ok = 0;
        for (n, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(v) => {
                    assert_eq!(v, n as i64);
                    ok += 1;
                }
                Err(StoreError::Conflict(_)) => assert_eq!(n % 10, 0),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 270);
        // Every answered job is already visible to a new connection: committed.
        let reader = Connection::open(&path).unwrap();
        let count: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 270);
        let failed: i64 = reader
            .query_row("SELECT count(*) FROM t WHERE n % 10 = 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(failed, 0);
        // Jobs that arrived during a commit shared the next one.
        let stats = writer.stats();
        let (batches, jobs) = (
            stats.batches.load(Ordering::Relaxed),
            stats.jobs.load(Ordering::Relaxed),
        );
        // The 30 refused jobs made no write (seventeenth review, X-F3).
        assert_eq!(jobs, 270);
        assert!(batches < jobs, "{batches} batches for {jobs} jobs");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_its_batch_as_unavailable_and_the_next_write_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = start(&path);
        let before =
            writer.run(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (1)", [])?));
        let panics = writer.run(|c| -> Result<usize, StoreError> {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            panic!("a bug in one job");
        });
        let (before, panics) = tokio::join!(before, panics);
        assert!(matches!(panics, Err(StoreError::Aborted)), "{panics:?}");
        // A job in the same batch may have been rolled back with it; it is told so (503),
        // never told "done" for a change that is not there.
        if let Err(e) = &before {
            assert!(matches!(e, StoreError::Aborted), "{e:?}");
        }
        let after = writer
            .run(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (3)", [])?))
            .await;
        assert!(after.is_ok(), "{after:?}");
        let reader = Connection::open(&path).unwrap();
        let rows: Vec<i64> = reader
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: &[i64] = if before.is_ok() { &[1, 3] } else { &[3] };
        assert_eq!(rows, expected);
    }

    #[tokio::test]
    async fn a_job_that_breaks_a_constraint_does_not_sink_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let writer = start(&dir.path().join("w.db"));
        let first = writer.run(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (1)", [])?));
        let duplicate =
            writer.run(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (1)", [])?));
        let third = writer.run(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (3)", [])?));
        let (a, b, c) = tokio::join!(first, duplicate, third);
        assert!(a.is_ok() && b.is_err() && c.is_ok());
    }
}
