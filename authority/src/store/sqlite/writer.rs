//! The one writer: a thread that owns the only write connection and commits jobs in
//! groups.
//!
//! SQLite allows one writer at a time, so writes are serialised anyway; doing it on one
//! thread makes read-modify-write of a driver atomic without locks. Jobs that arrive
//! while a commit is in flight wait in the channel and go into the next transaction
//! together, so one fsync covers many requests. Each job runs in its own savepoint (a
//! failing job leaves the others' changes intact), and its caller is answered only
//! after the transaction holding it has committed: nothing acknowledged is lost.

use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::store::StoreError;

/// Jobs per transaction at most: bounds the latency one batch adds.
const MAX_BATCH: usize = 512;
/// How often expired nonces are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Called after the batch commits (`Ok`) or fails to (`Err`).
type Reply = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// Runs inside the batch transaction and returns how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;

/// A handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
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
        let handle = thread::Builder::new()
            .name("edl-writer".into())
            .spawn(move || run(conn, rx, retention))?;
        Ok((Writer { jobs: tx }, handle))
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
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: &Connection| -> Reply {
            let result = in_savepoint(conn, f);
            Box::new(move |commit: Result<(), &StoreError>| {
                let answer = match commit {
                    Ok(()) => result,
                    // The job's changes are gone with the batch; its own error (if any)
                    // still explains more than the commit failure.
                    Err(_) if result.is_err() => result,
                    Err(e) => Err(E::from(StoreError::Corrupt(commit_failure(e)))),
                };
                let _ = tx.send(answer);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| E::from(StoreError::Closed))?;
        rx.await.map_err(|_| E::from(StoreError::Closed))?
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

fn run(conn: Connection, mut rx: mpsc::UnboundedReceiver<Job>, retention: Retention) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping the jobs drops their reply channels: callers see `Closed`.
            eprintln!("edl-authority: writer cannot begin a transaction: {e}");
            continue;
        }
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(&conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if last_prune.elapsed() >= PRUNE_EVERY && commit.is_ok() {
            last_prune = Instant::now();
            let cutoff = retention.clock.now().saturating_sub(retention.nonce_secs);
            // Best effort: a failed prune only keeps rows longer.
            let _ = conn.execute("DELETE FROM nonces WHERE ts < ?1", [cutoff as i64]);
        }
        let result = commit.as_ref().map(|_| ());
        for reply in replies {
            reply(result);
        }
    }
}
