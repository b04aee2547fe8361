//! What the bench reads from the database itself: verification log rows (to check that
//! every 200 answer was logged), the wallets' cursor, and the bytes on disk.

use crate::{Error, Target};

const LOG_ROWS: &str = "SELECT count(*) FROM feed WHERE kind = 'verification'";

/// Verification log rows in the feed.
pub async fn log_rows(target: &Target) -> Result<u64, Error> {
    one(target, LOG_ROWS).await.map(|n| n as u64)
}

/// The seq of driver 1 as populated: the cursor of a wallet that synced after its
/// e-licence was issued (every populated driver has the same).
pub async fn cursor(target: &Target) -> Result<u64, Error> {
    one(target, "SELECT seq FROM drivers WHERE id = 1")
        .await
        .map(|n| n as u64)
}

/// `(database bytes, photo bytes, drivers)`.
pub async fn size(target: &Target) -> Result<(u64, u64, u64), Error> {
    let (total, photos) = match target {
        Target::Sqlite(path) => {
            // The main file after a checkpoint, and the WAL if any.
            let wal = path.with_extension(
                path.extension()
                    .map_or("wal".into(), |e| format!("{}-wal", e.to_string_lossy())),
            );
            let len = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
            let photos = one(target, "SELECT coalesce(sum(length(bytes)), 0) FROM photos").await?;
            (len(path) + len(&wal), photos as u64)
        }
        Target::Postgres(_) => (
            one(target, "SELECT pg_database_size(current_database())").await? as u64,
            one(target, "SELECT pg_total_relation_size('photos')").await? as u64,
        ),
    };
    let drivers = one(target, "SELECT count(*) FROM drivers").await? as u64;
    Ok((total, photos, drivers))
}

async fn one(target: &Target, sql: &str) -> Result<i64, Error> {
    match target {
        Target::Sqlite(path) => {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            Ok(conn.query_row(sql, [], |r| r.get(0))?)
        }
        Target::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            let task = tokio::spawn(conn);
            let row = client.query_one(sql, &[]).await?;
            drop(client);
            let _ = task.await;
            Ok(row.get(0))
        }
    }
}
