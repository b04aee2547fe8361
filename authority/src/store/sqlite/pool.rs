//! A small pool of read-only connections.
//!
//! Reads are primary-key lookups of a few microseconds, so they run on the request's own
//! task (no blocking-pool hop). A connection is taken without waiting: if none is idle a
//! new one is opened, and at most `max_idle` are kept. (r2d2_sqlite and deadpool-sqlite
//! target older rusqlite releases, and deadpool hops to a blocking thread per call.)

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

/// Idle read connections to one database file.
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl ReadPool {
    /// A pool over `path` keeping up to `max_idle` connections.
    pub fn new(path: PathBuf, max_idle: usize) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        }
    }

    /// An idle connection, or a new one.
    pub fn get(&self) -> Result<PooledConnection<'_>, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self,
        })
    }

    /// A new read connection that the caller owns: for a long read moved off the request's
    /// task (the status list's scan of every e-licence, D136).
    pub fn detached(&self) -> Result<Connection, StoreError> {
        self.open()
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        // No memory map here (D113): a reader that finds the WAL changed since its last
        // read, which under load is every read, unmaps the whole file and faults its
        // pages back in, which costs more than reading the few pages it needs.
        Ok(conn)
    }
}

/// A connection that goes back to the pool when dropped.
pub struct PooledConnection<'a> {
    conn: Option<Connection>,
    pool: &'a ReadPool,
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A connection left inside a transaction (a panic mid-read) is not reused.
            if !conn.is_autocommit() {
                return;
            }
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < self.pool.max_idle {
                idle.push(conn);
            }
        }
    }
}
