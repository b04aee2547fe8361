//! The admin audit log and the status list's inputs on PostgreSQL.
//!
//! The audit table is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE (schema
//! migration 4, D87), so not even a bug in this server rewrites it (D78).

use deadpool_postgres::Pool;

use super::retry::{commit, with_retry};
use super::rows::{get, i, u};
use crate::store::columns::status_from_bits;
use crate::store::{AuditEntry, AuditRecord, StatusEntries, StoreError, UNINDEXED};

/// Appends `e`; returns its sequence number once committed.
pub async fn append(pool: &Pool, e: AuditEntry) -> Result<u64, StoreError> {
    with_retry(pool, move |conn| {
        let e = e.clone();
        Box::pin(async move {
            let tx = conn.transaction().await?;
            let st = tx
                .prepare_cached(
                    "INSERT INTO admin_audit (at, actor, role, action, target, allowed)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
                )
                .await?;
            let row = tx
                .query_one(
                    &st,
                    &[
                        &i(e.at),
                        &e.actor,
                        &e.role,
                        &e.action,
                        &e.target.map(i),
                        &e.allowed,
                    ],
                )
                .await?;
            let seq = u(get(&row, 0, "audit seq")?);
            commit(tx).await?;
            Ok(seq)
        })
    })
    .await
}

/// Entries after `after`, oldest first, at most `limit`.
pub async fn read(pool: &Pool, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
    with_retry(pool, move |conn| {
        Box::pin(async move {
            let st = conn
                .prepare_cached(
                    "SELECT seq, at, actor, role, action, target, allowed FROM admin_audit
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .await?;
            let mut out = Vec::new();
            for r in conn.query(&st, &[&i(after), &i64::from(limit)]).await? {
                out.push(AuditRecord {
                    seq: u(get(&r, 0, "audit seq")?),
                    entry: AuditEntry {
                        at: u(get(&r, 1, "audit at")?),
                        actor: get(&r, 2, "audit actor")?,
                        role: get(&r, 3, "audit role")?,
                        action: get(&r, 4, "audit action")?,
                        target: get::<Option<i64>>(&r, 5, "audit target")?.map(u),
                        allowed: get(&r, 6, "audit allowed")?,
                    },
                });
            }
            Ok(out)
        })
    })
    .await
}

/// A new status-list index from the one-row counter (committed on its own: an issuance
/// that then fails wastes it, and it reads as superseded).
pub async fn allocate_status_index(pool: &Pool) -> Result<u32, StoreError> {
    with_retry(pool, |conn| {
        Box::pin(async move {
            let tx = conn.transaction().await?;
            let st = tx
                .prepare_cached("UPDATE status_indices SET next = next + 1 RETURNING next - 1")
                .await?;
            let row = tx.query_one(&st, &[]).await?;
            let n: i64 = get(&row, 0, "status index")?;
            let index = u32::try_from(n)
                .ok()
                .filter(|index| *index < UNINDEXED)
                .ok_or(StoreError::Corrupt("status indices exhausted"))?;
            commit(tx).await?;
            Ok(index)
        })
    })
    .await
}

/// The list's length and the live entries, from one snapshot.
pub async fn status_entries(pool: &Pool) -> Result<StatusEntries, StoreError> {
    with_retry(pool, |conn| {
        Box::pin(async move {
            let tx = conn
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let st = tx.prepare_cached("SELECT next FROM status_indices").await?;
            let count: i64 = match tx.query_opt(&st, &[]).await? {
                Some(row) => get(&row, 0, "status count")?,
                None => 0,
            };
            let st = tx
                .prepare_cached(
                    "SELECT status_index, status FROM elicences
                     WHERE status <> 1 AND status_index IS NOT NULL",
                )
                .await?;
            let mut live = Vec::new();
            for r in tx.query(&st, &[]).await? {
                let index: i64 = get(&r, 0, "status index")?;
                let bits: i16 = get(&r, 1, "status")?;
                let index =
                    u32::try_from(index).map_err(|_| StoreError::Corrupt("status index"))?;
                live.push((index, status_from_bits(bits)?));
            }
            commit(tx).await?;
            Ok(StatusEntries {
                count: u32::try_from(count).map_err(|_| StoreError::Corrupt("status count"))?,
                live,
            })
        })
    })
    .await
}
