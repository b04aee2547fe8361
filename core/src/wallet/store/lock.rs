//! The one connection of a store and its lock: one writer in the process, and re-entry
//! from a closure on the same thread turned into an error instead of a deadlock.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use super::error::StoreError;

/// A connection behind a mutex that knows which thread holds it.
pub(super) struct ConnLock(Mutex<Connection>);

impl ConnLock {
    pub(super) fn new(conn: Connection) -> ConnLock {
        ConnLock(Mutex::new(conn))
    }

    /// Takes the connection for this thread, refusing re-entry from a closure on it with
    /// [`StoreError::Reentrant`].
    pub(super) fn lock(&self) -> Result<Locked<'_>, StoreError> {
        let held = Held::enter(&self.0 as *const _ as usize)?;
        // A panic inside a closure poisons the lock, but the transaction was rolled back
        // as it unwound; make sure of that and carry on rather than fail forever.
        let conn = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        Ok(Locked { conn, _held: held })
    }
}

/// The connection, held by this thread until dropped.
pub(super) struct Locked<'a> {
    // Declared first so the mutex is released before this thread's mark is cleared.
    conn: MutexGuard<'a, Connection>,
    _held: Held,
}

impl Deref for Locked<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

thread_local! {
    /// The stores whose lock this thread holds, to turn re-entry into an error instead of a
    /// deadlock.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// This thread's mark on one store, cleared when dropped.
struct Held(usize);

impl Held {
    fn enter(id: usize) -> Result<Held, StoreError> {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if h.contains(&id) {
                return Err(StoreError::Reentrant);
            }
            h.push(id);
            Ok(Held(id))
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| h.borrow_mut().retain(|&x| x != self.0));
    }
}
