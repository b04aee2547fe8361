//! The admin audit log in SQLite: one table, append-only (triggers refuse UPDATE and
//! DELETE, so not even a bug in this server rewrites it; D78).

use rusqlite::{Connection, params};

use super::{i, u};
use crate::store::{AuditEntry, AuditRecord, StoreError};

/// Appends `e`; returns its sequence number.
pub(super) fn append(conn: &Connection, e: &AuditEntry) -> Result<u64, StoreError> {
    conn.execute(
        "INSERT INTO admin_audit (at, actor, role, action, target, allowed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![i(e.at), e.actor, e.role, e.action, e.target.map(i), e.allowed],
    )?;
    Ok(u(conn.last_insert_rowid()))
}

/// Entries after `after`, oldest first, at most `limit`.
pub(super) fn read(
    conn: &Connection,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, role, action, target, allowed FROM admin_audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![i(after), limit], |r| {
        Ok(AuditRecord {
            seq: u(r.get(0)?),
            entry: AuditEntry {
                at: u(r.get(1)?),
                actor: r.get(2)?,
                role: r.get(3)?,
                action: r.get(4)?,
                target: r.get::<_, Option<i64>>(5)?.map(u),
                allowed: r.get(6)?,
            },
        })
    })?;
    rows.map(|r| r.map_err(StoreError::from)).collect()
}
