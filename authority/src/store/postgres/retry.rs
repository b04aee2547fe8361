//! What a PostgreSQL failure means, and the bounded retry around each call.
//!
//! Two kinds of failure are worth trying again: the database refused the transaction so
//! that another may win (serialization failure 40001, deadlock 40P01: nothing of it was
//! kept), and the connection went away before the transaction was sent to commit. A
//! commit that fails for want of a connection (lost, or the server shutting down) is not
//! retried: it may have happened, and doing it again could log a check twice. The caller
//! gets [`StoreError::Unavailable`] (503 with Retry-After) and retries with a new request;
//! the writer's batches find out instead (`marks.rs`, D169).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Object, Pool, PoolError};
use tokio_postgres::error::SqlState;

use crate::store::StoreError;

/// Attempts per call: the first and three retries.
pub const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled for each next one (20, 40, 80 ms: under 0.2 s
/// in all, well inside a request's deadline).
const BACKOFF: Duration = Duration::from_millis(20);

/// A failure, sorted by what to do about it.
#[derive(Debug)]
pub enum Fault {
    /// Nothing was kept; the same work may run again.
    Transient,
    /// The server takes no writes (25006: a standby, a primary demoted, a database set
    /// read-only): nothing was kept, and the pooled connections are to that server, so
    /// they are dropped before the same work is tried again on a new one, which a
    /// multi-host URL with `target_session_attrs=read-write` opens on the new primary.
    ReadOnly,
    /// The connection broke while committing: the outcome is unknown.
    Ambiguous,
    /// A final answer (a constraint, a corrupt value, a bug).
    Final(StoreError),
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Fault::Final(e)
    }
}

impl From<tokio_postgres::Error> for Fault {
    fn from(e: tokio_postgres::Error) -> Self {
        classify(&e)
    }
}

impl From<PoolError> for Fault {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => classify(&e),
            // No connection within the pool's timeouts: the server is away or swamped.
            PoolError::Timeout(_) => Fault::Transient,
            PoolError::Closed => Fault::Final(StoreError::Closed),
            _ => Fault::Transient,
        }
    }
}

/// Deadlocks PostgreSQL broke in this process's transactions (each is redone, after
/// PostgreSQL's `deadlock_timeout` of waiting): none should occur, as every transaction
/// takes its rows in one order (D163, J-F3).
static DEADLOCKS: AtomicU64 = AtomicU64::new(0);

/// How many of this process's transactions PostgreSQL ended as deadlocked so far.
pub fn deadlocks() -> u64 {
    DEADLOCKS.load(Ordering::Relaxed)
}

/// Sorts a driver error: retryable, or final with its SQLSTATE only (the message may
/// quote a licence number).
pub fn classify(e: &tokio_postgres::Error) -> Fault {
    match e.code() {
        Some(code) => classify_code(code),
        // No SQLSTATE: the socket closed, or an I/O error before an answer.
        None => Fault::Transient,
    }
}

/// [`classify`] for an error the server answered with `code`.
fn classify_code(code: &SqlState) -> Fault {
    if *code == SqlState::T_R_DEADLOCK_DETECTED {
        DEADLOCKS.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("postgres broke a deadlock; the transaction is redone");
        return Fault::Transient;
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE {
        return Fault::Transient;
    }
    let class = &code.code()[..2];
    // 08: connection exceptions; 57P01..57P03: the server shuts down or is starting; 53:
    // the server is out of a resource (connections, memory, disk); 55P03: a lock not
    // had within the server's `lock_timeout`. None is the request's doing, and none kept
    // anything: tried again, then 503 with Retry-After, never 500 (the review of issue
    // 15's operator claims, AR-2: a server at its connection limit answered 500).
    if class == "08"
        || class == "53"
        || matches!(code.code(), "57P01" | "57P02" | "57P03" | "55P03")
    {
        return Fault::Transient;
    }
    if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        return Fault::ReadOnly;
    }
    if *code == SqlState::UNIQUE_VIOLATION {
        return Fault::Final(StoreError::Conflict("unique key"));
    }
    Fault::Final(StoreError::Postgres(format!("sqlstate {}", code.code())))
}

/// Commits `tx`; a connection lost on the way, or a commit the server ends as it shuts
/// down, is [`Fault::Ambiguous`].
pub async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<(), Fault> {
    tx.commit().await.map_err(|e| match classify(&e) {
        // A serialization failure or a deadlock at commit rolled it back: safe to redo. A
        // shutdown code (57P01..57P03) or a connection code (08) may come after the commit
        // was made (D169).
        Fault::Transient if rolled_back(&e) => Fault::Transient,
        Fault::Transient | Fault::ReadOnly => Fault::Ambiguous,
        // CockroachDB's "result is ambiguous" (seventh review, N-F3).
        _ if e.code() == Some(&SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN) => Fault::Ambiguous,
        other => other,
    })
}

/// The commit was refused so that another transaction may win: nothing of it was kept.
fn rolled_back(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// One attempt of a call: gets a pooled connection and runs on it.
pub type Attempt<'c, T> = Pin<Box<dyn Future<Output = Result<T, Fault>> + Send + 'c>>;

/// Runs `op` on a pooled connection, again (bounded, with backoff) while it fails
/// transiently; then [`StoreError::Unavailable`].
pub async fn with_retry<T, F>(pool: &Pool, mut op: F) -> Result<T, StoreError>
where
    F: for<'c> FnMut(&'c mut Object) -> Attempt<'c, T>,
{
    let mut wait = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let fault = match pool.get().await {
            Ok(mut conn) => match op(&mut conn).await {
                Ok(v) => return Ok(v),
                Err(Fault::ReadOnly) => {
                    drop_all(pool, conn);
                    Fault::ReadOnly
                }
                Err(f) => {
                    drop_idle_if_lost(pool, &conn);
                    f
                }
            },
            Err(e) => Fault::from(e),
        };
        match fault {
            Fault::Final(e) => return Err(e),
            Fault::Ambiguous => return Err(StoreError::Unavailable),
            Fault::Transient | Fault::ReadOnly if attempt < ATTEMPTS => {
                tracing::debug!(attempt, "postgres call failed transiently; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Fault::Transient | Fault::ReadOnly => break,
        }
    }
    tracing::warn!("postgres unreachable after retries");
    Err(StoreError::Unavailable)
}

/// `conn` and every idle connection are dropped: they are to a server that takes no
/// writes (25006), and the pool's next connection may reach one that does.
fn drop_all(pool: &Pool, conn: Object) {
    drop(Object::take(conn));
    let dropped = pool.retain(|_, _| false).removed.len();
    tracing::warn!(
        dropped,
        "postgres takes no writes here; its connections dropped"
    );
}

/// After `conn` was lost, the idle connections are dropped: opened before it, to the same
/// server, they are likely lost too (a server gone, a fail-over, a partition), and each
/// would otherwise cost the request that got it a silent wait before its retry (D171). A
/// loss that was the connection's alone (a backend ended) costs only new connections.
pub fn drop_idle_if_lost(pool: &Pool, conn: &Object) {
    if conn.is_closed() {
        let dropped = pool.retain(|_, _| false).removed.len();
        tracing::debug!(
            dropped,
            "postgres connection lost; idle connections dropped"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(code: &str) -> &'static str {
        match classify_code(&SqlState::from_code(code)) {
            Fault::Transient => "transient",
            Fault::ReadOnly => "read-only",
            Fault::Ambiguous => "ambiguous",
            Fault::Final(_) => "final",
        }
    }

    /// What the server says of itself, not of the request, is tried again and then 503
    /// (AR-2, AR-3); what the request caused is final.
    #[test]
    fn a_server_out_of_resources_or_read_only_is_not_a_final_answer() {
        for code in [
            "53300", "53100", "53200", "53400", "53000", "55P03", "57P01", "08006",
        ] {
            assert_eq!(sorted(code), "transient", "{code}");
        }
        assert_eq!(sorted("25006"), "read-only");
        for code in ["40001", "40P01"] {
            assert_eq!(sorted(code), "transient", "{code}");
        }
        for code in ["23505", "22P02", "42P01", "XX000"] {
            assert_eq!(sorted(code), "final", "{code}");
        }
    }
}
