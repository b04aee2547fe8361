//! The SQLite store: WAL mode, a pool of read connections, one group-committing writer.

mod audit;
mod backoff;
mod budget;
mod change;
mod feed;
mod pool;
mod rows;
mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use edl_core::wire::{VerificationLogEntry, VerifierClass};
use rusqlite::{Connection, OptionalExtension, params};

use super::columns::{
    AccountColumns, parse_elicence_state, status_from_bits, verifier_account, verifier_row,
};
use super::{
    AuditEntry, AuditRecord, BackoffChange, BackoffEntry, BackoffKey, Budget, CheckFailure,
    DriverChange, DriverId, DriverState, ElicenceRef, FeedRow, GuessLimits, IssuerKeyRow, PhotoRow,
    RecentFailures, RegistryStore, StatusEntries, StoreError, SyncSnapshot, VerifierAccountRow,
    VerifierRow,
};
use crate::clock::Clock;
use crate::error::Error;
use crate::guard::Claim;
use change::save_change;
use feed::{append_verification, decode_feed};
use pool::ReadPool;
use rows::{
    PHOTO_COLUMNS, STATE_BY_ID, STATE_BY_NUMBER, decode_state, finish_photo, i, insert_photo,
    load_driver, load_state, photo_from_row, state_json, u,
};
use writer::{Retention, Writer};

/// Bytes of the database file the writer reads through a memory map.
const WRITER_MMAP_BYTES: i64 = 1 << 30;
/// The writer connection's page cache, in KiB (a negative `cache_size` is KiB).
const WRITER_CACHE_KIB: i64 = -64 * 1024;

/// The SQLite implementation of [`RegistryStore`].
pub struct SqliteStore {
    reads: ReadPool,
    writer: Writer,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (or makes) the database at `path`, migrates it and starts the writer.
    /// Nonces are kept `nonce_secs` past their timestamp.
    pub fn open(
        path: &Path,
        read_pool_size: usize,
        clock: Arc<dyn Clock>,
        nonce_secs: u64,
    ) -> Result<Self, StoreError> {
        make_private(path)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL: readers never block the writer nor each other. FULL: a commit is on disk
        // before any request in its batch is answered (group commit amortises the fsync).
        into_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(64);
        // The writer touches a few pages of every driver it logs a check for: keeping
        // them in its own cache saves a read system call per page per job.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        // The writer reads through a memory map (D110): it alone changes the file, so it
        // never finds the WAL changed by another and keeps its map between transactions
        // (readers do, so they do not map, D113).
        conn.pragma_update(None, "mmap_size", WRITER_MMAP_BYTES)?;
        schema::migrate(&mut conn)?;
        let (writer, thread) =
            Writer::start(conn, Retention { clock, nonce_secs }).map_err(|_| StoreError::Closed)?;
        Ok(SqliteStore {
            reads: ReadPool::new(path.to_owned(), read_pool_size),
            writer,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// The writer thread, for waiting until it has closed the database (it ends once
    /// the store is dropped and the queued jobs are committed).
    pub fn take_writer_thread(&self) -> Option<std::thread::JoinHandle<()>> {
        self.thread.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Puts the database in WAL mode. On a fresh file another process may be doing the same at
/// that moment: the change needs the file to itself and SQLite answers `SQLITE_BUSY` at
/// once, without the busy timeout, so it is tried again for as long as that timeout
/// (D176). Once the other has made the change, this one finds it made.
fn into_wal(conn: &Connection) -> rusqlite::Result<()> {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < until =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            done => return done,
        }
    }
}

/// Makes the database file (if missing) and its WAL and shared-memory files readable and
/// writable by the owner only (0600): they hold TOTP seeds and personal data. SQLite gives
/// the `-wal` and `-shm` files it creates the database file's mode; existing ones (from a
/// database made before this rule) are tightened here.
fn make_private(path: &Path) -> Result<(), StoreError> {
    match crate::seal::private_file(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return Err(StoreError::Corrupt("the database file cannot be made")),
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(|_| StoreError::Corrupt("the database file's mode cannot be set"))?;
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Transactions committed and jobs run in them so far: jobs per batch shows group
    /// commit at work (for benchmarks).
    pub fn commit_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        let s = self.writer.stats();
        (
            s.batches.load(Ordering::Relaxed),
            s.jobs.load(Ordering::Relaxed),
        )
    }
}

/// Who spent `code` (`None` for a row older than D108) and when, as `spent_codes` records
/// it; `None` if it is not spent. The claim's answer when its insert met the row (D108),
/// and the read of a code past its windows (D186).
fn spender_of(
    conn: &Connection,
    (elicence, window, audience, form): crate::guard::CodeKey,
) -> rusqlite::Result<Option<(Option<u64>, u64)>> {
    conn.prepare_cached(
        "SELECT verifier_id, at FROM spent_codes
         WHERE window_start = ?1 AND elicence_id = ?2 AND audience = ?3 AND form = ?4",
    )?
    .query_row(params![i(window), i(elicence), audience, form], |r| {
        Ok((r.get::<_, Option<i64>>(0)?.map(u), u(r.get(1)?)))
    })
    .optional()
}

/// A verifier account's columns as selected by `revoke_verifier` and `verifiers`: id,
/// name, class, created_at, revoked_at.
fn account_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountColumns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

#[async_trait]
impl RegistryStore for SqliteStore {
    fn writer_counts(&self) -> Option<(u64, u64)> {
        Some(self.commit_stats())
    }

    fn writer_held_for(&self) -> Option<std::time::Duration> {
        self.writer.held_for()
    }

    fn writer_collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.writer.stats().shape.collectors()
    }

    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError> {
        let conn = self.reads.get()?;
        let mut stmt = conn.prepare_cached(
            "SELECT kid, seed, not_before, not_after FROM issuer_keys ORDER BY kid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (kid, seed, nb, na) = row?;
            keys.push(IssuerKeyRow {
                kid: u16::try_from(kid).map_err(|_| StoreError::Corrupt("kid"))?,
                seed,
                not_before: u32::try_from(nb).map_err(|_| StoreError::Corrupt("not_before"))?,
                not_after: u32::try_from(na).map_err(|_| StoreError::Corrupt("not_after"))?,
            });
        }
        Ok(keys)
    }

    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError> {
        self.writer
            .run(move |conn| {
                conn.execute(
                    "UPDATE issuer_keys SET not_after = ?1 WHERE not_after > ?1",
                    [i64::from(key.not_before)],
                )?;
                conn.execute(
                    "INSERT INTO issuer_keys (kid, seed, not_before, not_after) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        i64::from(key.kid),
                        &key.seed[..],
                        i64::from(key.not_before),
                        i64::from(key.not_after)
                    ],
                )
                // Another process took this key id first (D128), as PostgreSQL says too.
                .map_err(|e| rows::conflict_on_constraint(e, "issuer key id"))?;
                Ok::<_, StoreError>(())
            })
            .await
    }

    async fn create_driver(
        &self,
        state: DriverState,
        photo: Option<PhotoRow>,
    ) -> Result<DriverId, StoreError> {
        let mut state = state;
        state.versions = super::Versions::AT_CREATION;
        self.writer
            .run(move |conn| {
                let json = state_json(&state)?;
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO drivers (licence_number, seq, state) VALUES (?1, 1, ?2)",
                    )?
                    .execute(params![state.licence.main.licence_number, json]);
                inserted.map_err(|e| rows::conflict_on_constraint(e, "licence number"))?;
                let id = u(conn.last_insert_rowid());
                if let Some(mut p) = photo {
                    p.driver_id = id;
                    insert_photo(conn, &p)?;
                }
                Ok(id)
            })
            .await
    }

    async fn driver(&self, id: DriverId) -> Result<Option<DriverState>, StoreError> {
        let conn = self.reads.get()?;
        Ok(load_driver(&conn, STATE_BY_ID, &i(id))?)
    }

    async fn driver_by_licence_number(
        &self,
        licence_number: &str,
    ) -> Result<Option<DriverState>, StoreError> {
        let conn = self.reads.get()?;
        Ok(load_driver(&conn, STATE_BY_NUMBER, &licence_number)?)
    }

    async fn update_driver(
        &self,
        id: DriverId,
        change: DriverChange,
    ) -> Result<DriverState, Error> {
        let (state, refuse) = self
            .writer
            .run(move |conn| {
                let (before, seq) = load_state(conn, i(id))?.ok_or(Error::UnknownId("driver"))?;
                let mut after = before.clone();
                let mut effects = change(&mut after)?;
                let refuse = effects.refuse.take();
                let saved = save_change(conn, &before, after, seq, &effects)?;
                Ok::<_, Error>((saved, refuse))
            })
            .await?;
        match refuse {
            Some(e) => Err(e),
            None => Ok(state),
        }
    }

    async fn elicence(&self, id: u64) -> Result<Option<ElicenceRef>, StoreError> {
        let conn = self.reads.get()?;
        // One statement, so one read transaction: the row and the aggregate agree. A
        // subquery, not a join: each side is then a single-table rowid lookup, which
        // SQLite plans without weighing the partial index on `elicences`; a join weighs it
        // against the bound id and so re-prepares the statement at every new id (measured:
        // a fifth more CPU a check).
        let row: Option<(i64, Vec<u8>, String, String)> = conn
            .prepare_cached(
                "SELECT e.driver_id, e.seed, e.state,
                        (SELECT d.state FROM drivers AS d WHERE d.id = e.driver_id)
                 FROM elicences AS e WHERE e.id = ?1",
            )?
            .query_row([i(id)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        row.map(|(driver, seed, state, holder)| {
            Ok(ElicenceRef {
                seed: super::SealedSeed(seed),
                state: parse_elicence_state(&state).ok_or(StoreError::Corrupt("state"))?,
                holder: decode_state(driver, &holder)?,
            })
        })
        .transpose()
    }

    async fn allocate_status_index(&self) -> Result<u32, StoreError> {
        self.writer
            .run(|conn| {
                // AUTOINCREMENT remembers the highest n in sqlite_sequence, so the row can go.
                conn.execute("INSERT INTO status_indices DEFAULT VALUES", [])?;
                let n = conn.last_insert_rowid();
                conn.execute("DELETE FROM status_indices", [])?;
                u32::try_from(n - 1)
                    .ok()
                    .filter(|index| *index < super::UNINDEXED)
                    .ok_or(StoreError::Corrupt("status indices exhausted"))
            })
            .await
    }

    async fn status_entries(&self) -> Result<StatusEntries, StoreError> {
        // Every e-licence is read: on a blocking thread with a connection of its own, not
        // on the request's task like the point reads (D136).
        let conn = self.reads.detached()?;
        tokio::task::spawn_blocking(move || {
            let tx = conn.unchecked_transaction()?;
            let count: i64 = tx
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'status_indices'",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let mut stmt = tx.prepare_cached(
                "SELECT status_index, status FROM elicences
                 WHERE status <> 1 AND status_index IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i16>(1)?)))?;
            let mut live = Vec::new();
            for row in rows {
                let (index, bits) = row?;
                let index =
                    u32::try_from(index).map_err(|_| StoreError::Corrupt("status index"))?;
                live.push((index, status_from_bits(bits)?));
            }
            Ok(StatusEntries {
                count: u32::try_from(count).map_err(|_| StoreError::Corrupt("status count"))?,
                live,
            })
        })
        .await
        .map_err(|_| StoreError::Corrupt("the status read did not finish"))?
    }

    async fn photo(&self, id: u64) -> Result<Option<PhotoRow>, StoreError> {
        let conn = self.reads.get()?;
        conn.prepare_cached(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?1"))?
            .query_row([i(id)], photo_from_row)
            .optional()?
            .map(finish_photo)
            .transpose()
    }

    async fn photo_by_client_key(
        &self,
        driver: DriverId,
        client_key: &str,
    ) -> Result<Option<PhotoRow>, StoreError> {
        let conn = self.reads.get()?;
        conn.prepare_cached(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE driver_id = ?1 AND client_key = ?2"
        ))?
        .query_row(params![i(driver), client_key], photo_from_row)
        .optional()?
        .map(finish_photo)
        .transpose()
    }

    async fn pending_photos(&self, limit: u32) -> Result<Vec<PhotoRow>, StoreError> {
        let conn = self.reads.get()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE status = 'pending' ORDER BY submitted_at, id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([i64::from(limit)], photo_from_row)?;
        rows.map(|r| finish_photo(r?)).collect()
    }

    async fn sync(
        &self,
        driver: DriverId,
        cursor: u64,
        limit: u32,
    ) -> Result<Option<SyncSnapshot>, StoreError> {
        let conn = self.reads.get()?;
        // One read transaction: the state and the feed are of the same moment.
        let tx = conn.unchecked_transaction()?;
        let Some((state, seq)) = load_state(&tx, i(driver))? else {
            return Ok(None);
        };
        let mut stmt = tx.prepare_cached(
            "SELECT seq, kind, body, verifier_id FROM feed WHERE driver_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![i(driver), i(cursor), i64::from(limit) + 1], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut feed = Vec::new();
        for row in rows {
            let (s, kind, body, verifier) = row?;
            feed.push(FeedRow {
                seq: u(s),
                event: decode_feed(&kind, &body, verifier)?,
            });
        }
        drop(stmt);
        tx.finish()?;
        Ok(Some(SyncSnapshot { state, seq, feed }))
    }

    async fn create_verifier(
        &self,
        name: &str,
        class: VerifierClass,
        key_hash: [u8; 32],
        now: u64,
    ) -> Result<u64, StoreError> {
        let name = name.to_owned();
        self.writer
            .run(move |conn| {
                conn.execute(
                    "INSERT INTO verifiers (key_hash, name, class, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&key_hash[..], name, class.as_str(), i(now)],
                )?;
                Ok(u(conn.last_insert_rowid()))
            })
            .await
    }

    async fn verifier_by_key_hash(
        &self,
        key_hash: [u8; 32],
    ) -> Result<Option<VerifierRow>, StoreError> {
        let conn = self.reads.get()?;
        let row: Option<(i64, String, String)> = conn
            .prepare_cached(
                "SELECT id, name, class FROM verifiers WHERE key_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([&key_hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(id, name, class)| verifier_row(id, name, &class))
            .transpose()
    }

    async fn revoke_verifier(
        &self,
        id: u64,
        now: u64,
    ) -> Result<Option<VerifierAccountRow>, StoreError> {
        self.writer
            .run(move |conn| {
                // The first revocation's time stays: revoking again changes nothing.
                let row = conn
                    .prepare_cached(
                        "UPDATE verifiers SET revoked_at = COALESCE(revoked_at, ?2), key_hash = ?3
                         WHERE id = ?1 RETURNING id, name, class, created_at, revoked_at",
                    )?
                    .query_row(
                        params![i(id), i(now), &super::revoked_key_hash(id)[..]],
                        account_columns,
                    )
                    .optional()?;
                row.map(verifier_account).transpose()
            })
            .await
    }

    async fn verifiers(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VerifierAccountRow>, StoreError> {
        let conn = self.reads.get()?;
        let rows = conn
            .prepare_cached(
                "SELECT id, name, class, created_at, revoked_at FROM verifiers
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?
            .query_map(params![i(after), i64::from(limit)], account_columns)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(verifier_account).collect()
    }

    async fn record_nonce(
        &self,
        account: DriverId,
        nonce: [u8; 16],
        timestamp: u64,
    ) -> Result<bool, StoreError> {
        self.writer
            .run(move |conn| {
                let n = conn
                    .prepare_cached(
                        "INSERT INTO nonces (account, nonce, ts) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![i(account), &nonce[..], i(timestamp)])?;
                Ok(n == 1)
            })
            .await
    }

    async fn log_verification(
        &self,
        driver: DriverId,
        verifier_id: u64,
        entry: VerificationLogEntry,
        spends: Option<crate::guard::CodeKey>,
        budget: Option<Budget>,
    ) -> Result<Claim, StoreError> {
        let write = move |conn: &Connection| -> Result<Claim, StoreError> {
            // Decided inside the write, so the writes of every process on this file
            // take their turns (the database's write lock) with the decision (D163).
            if let Some(b) = &budget {
                budget::refuse_over_budget(conn, &b.target, verifier_id, entry.at, &b.limits)?;
            }
            if let Some((elicence, window, audience, form)) = spends {
                // The claim and the entry commit together: a code is spent exactly
                // when its `verified` entry exists (D106), and by whom (D108).
                let fresh = conn
                        .prepare_cached(
                            "INSERT INTO spent_codes (elicence_id, window_start, audience, form, at, verifier_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                        )?
                        .execute(params![
                            i(elicence),
                            i(window),
                            audience,
                            form,
                            i(entry.at),
                            i(verifier_id)
                        ])?;
                if fresh == 0 {
                    // The row the insert met, in this transaction.
                    let (spender, at) = spender_of(conn, (elicence, window, audience, form))?
                        .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                    return Ok(Claim::on_spent(spender, at, verifier_id, entry.at));
                }
            }
            append_verification(conn, driver, verifier_id, entry)?;
            Ok(Claim::Fresh)
        };
        // A claim on a code is made only for a check still waiting for it: one dropped at
        // its deadline before its batch was not answered, and its code stays free (D183).
        if spends.is_some() {
            self.writer.run_if_awaited(write).await
        } else {
            self.writer.run(write).await
        }
    }

    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: GuessLimits,
    ) -> Result<(), StoreError> {
        self.writer
            .run(move |conn| {
                budget::refuse_over_budget(
                    conn,
                    &failure.target,
                    failure.verifier_id,
                    failure.at,
                    &limits,
                )?;
                conn.prepare_cached(
                    "INSERT INTO check_failures (at, verifier_id, target) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![
                    i(failure.at),
                    i(failure.verifier_id),
                    &failure.target
                ])?;
                budget::count_failure(&failure.target, failure.verifier_id, failure.at);
                if let Some((driver, entry)) = log {
                    append_verification(conn, driver, failure.verifier_id, entry)?;
                }
                Ok(())
            })
            .await
    }

    async fn recent_check_failures(
        &self,
        verifier_id: u64,
        target: &str,
        since: u64,
    ) -> Result<RecentFailures, StoreError> {
        let conn = self.reads.get()?;
        let on_target = budget::failures_on(&conn, target, i(since))?;
        let by_verifier = budget::failures_by(&conn, verifier_id, i(since))?;
        Ok(RecentFailures {
            on_target,
            by_verifier,
        })
    }

    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError> {
        let conn = self.reads.get()?;
        let mut stmt = conn.prepare_cached(
            "SELECT verifier_id, target, at FROM check_failures WHERE at >= ?1 ORDER BY at",
        )?;
        let rows = stmt.query_map([i(since)], |r| {
            Ok(CheckFailure {
                verifier_id: u(r.get(0)?),
                target: r.get(1)?,
                at: u(r.get(2)?),
            })
        })?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    async fn code_spender(
        &self,
        code: crate::guard::CodeKey,
    ) -> Result<Option<(Option<u64>, u64)>, StoreError> {
        let conn = self.reads.get()?;
        Ok(spender_of(&conn, code)?)
    }

    async fn enrol_backoff(
        &self,
        keys: &[BackoffKey],
    ) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
        let conn = self.reads.get()?;
        backoff::read(&conn, keys)
    }

    async fn update_enrol_backoff(
        &self,
        keys: &[BackoffKey],
        change: BackoffChange,
    ) -> Result<(), Error> {
        let keys = keys.to_vec();
        self.writer
            .run(move |conn| backoff::update(conn, &keys, &change))
            .await
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        self.writer
            .run(move |conn| audit::append(conn, &entry))
            .await
    }

    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.reads.get()?;
        audit::read(&conn, after, limit)
    }

    async fn busy(&self) -> Result<Option<u32>, StoreError> {
        let conn = self.reads.get()?;
        let value: Option<i64> = conn
            .prepare_cached("SELECT value FROM settings WHERE name = 'busy_retry_after'")?
            .query_row([], |r| r.get(0))
            .optional()?;
        value
            .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt("busy setting")))
            .transpose()
    }

    async fn set_busy(&self, retry_after: Option<u32>) -> Result<(), StoreError> {
        self.writer
            .run(move |conn| {
                match retry_after {
                    Some(secs) => conn.execute(
                        "INSERT INTO settings (name, value) VALUES ('busy_retry_after', ?1)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        [i64::from(secs)],
                    )?,
                    None => {
                        conn.execute("DELETE FROM settings WHERE name = 'busy_retry_after'", [])?
                    }
                };
                Ok::<_, StoreError>(())
            })
            .await
    }
}
