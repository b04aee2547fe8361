//! The durable floor: the least a durable, logged check does in this design, on this machine
//! and this database. `/durable/{n}` reads one row by its key (2,300 bytes, the size of a
//! holder's aggregate), appends one row of 200 bytes (the size of a verification entry)
//! that is on disk before the answer, and answers `n` constant bytes. It takes the
//! authority's database settings and its group commit (one transaction a batch, every
//! request answered after its batch committed), and nothing else: no codes, no keys, no
//! limits, no middleware, a log that only appends.
//!
//! So a check's ratio to this floor is what our own work costs, and this floor's ratio to
//! the same-size floor is what one read and one durable write cost with these databases
//! and settings (D190). `/append/{n}` is the append alone, as if every read came from
//! memory: what a design without the read would start from. `/durable-counts` says the
//! rows appended and the batches committed, so the bench can show that every 200 answer
//! was written, and the batches' size.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Target};

/// Bytes of a read row: a holder's aggregate as the authority stores it (2.3 KB).
const ROW_BYTES: usize = 2_300;
/// Bytes of an appended row: a verification log entry.
const ENTRY_BYTES: usize = 200;
/// At most this many rows to read: below [`key`]'s stride, so its stride is a permutation.
const MAX_ROWS: u64 = 2_147_483_646;
/// At most this many appends in one transaction: the authority's writers' cap.
const MAX_BATCH: usize = 512;
/// The PostgreSQL database this floor makes and uses, beside the authority's.
const PG_DATABASE: &str = "load_floor";

/// One append waiting for its batch's commit.
struct Append {
    row: i64,
    at: i64,
    done: oneshot::Sender<bool>,
}

/// The durable floor on one backend.
pub struct Durable {
    /// Rows to read, keyed `1..=rows`.
    rows: u64,
    /// Picks the next row to read.
    next: AtomicU64,
    appends: mpsc::UnboundedSender<Append>,
    /// Batches committed since start.
    batches: Arc<AtomicU64>,
    reads: Reads,
    body: Bytes,
}

/// Where the floor's reads go.
enum Reads {
    /// Idle read connections to the floor's file, opened as needed.
    Sqlite {
        idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
        path: std::path::PathBuf,
    },
    /// Connections with their prepared read, taken in turn.
    Postgres {
        clients: Vec<(tokio_postgres::Client, tokio_postgres::Statement)>,
        next: AtomicUsize,
    },
}

impl Durable {
    /// Makes the floor's tables on `target` (a SQLite file of its own, or a database of its
    /// own on the PostgreSQL cluster) with `rows` rows to read, and starts its writer. On
    /// PostgreSQL the reads take turns on `pg_readers` connections, each pipelining them.
    pub async fn open(
        target: &Target,
        rows: u64,
        pg_readers: usize,
        body: Bytes,
    ) -> Result<Arc<Durable>, Error> {
        let rows = rows.clamp(1, MAX_ROWS);
        let (tx, rx) = mpsc::unbounded_channel();
        let batches = Arc::new(AtomicU64::new(0));
        let counted = batches.clone();
        let reads = match target {
            Target::Sqlite(path) => {
                let conn = sqlite_writer(path, rows)?;
                std::thread::Builder::new()
                    .name("floor-writer".into())
                    .spawn(move || sqlite_appends(conn, rx, &counted))
                    .map_err(|e| Error::Setup(format!("writer thread: {e}")))?;
                Reads::Sqlite {
                    idle: std::sync::Mutex::new(Vec::new()),
                    path: path.clone(),
                }
            }
            Target::Postgres(url) => {
                let config = pg_database(url).await?;
                let writer = pg_connect(&config).await?;
                pg_schema(&writer, rows).await?;
                tokio::spawn(pg_appends(writer, rx, counted));
                let mut readers = Vec::with_capacity(pg_readers.max(1));
                for _ in 0..pg_readers.max(1) {
                    let client = pg_connect(&config).await?;
                    let read = client
                        .prepare("SELECT body FROM load_floor_rows WHERE id = $1")
                        .await?;
                    readers.push((client, read));
                }
                Reads::Postgres {
                    clients: readers,
                    next: AtomicUsize::new(0),
                }
            }
        };
        Ok(Arc::new(Durable {
            rows,
            next: AtomicU64::new(0),
            appends: tx,
            batches,
            reads,
            body,
        }))
    }

    /// The routes: `/durable/{n}`, `/append/{n}` and `/durable-counts`.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route("/durable/{n}", get(durable))
            .route("/append/{n}", get(append_only))
            .route("/durable-counts", get(counts))
            .with_state(self)
    }

    /// The next row to read.
    fn pick(&self) -> i64 {
        key(self.next.fetch_add(1, Ordering::Relaxed), self.rows)
    }

    #[cfg(test)]
    fn picks(rows: u64, n: u64) -> Vec<i64> {
        (0..n).map(|i| key(i, rows)).collect()
    }

    /// One read and one durable append (`/durable`).
    async fn check(&self) -> Result<(), Error> {
        let row = self.pick();
        self.read(row).await?;
        self.append(row).await
    }

    /// Row `row`, which must be there and whole.
    async fn read(&self, row: i64) -> Result<(), Error> {
        let read: Vec<u8> = match &self.reads {
            Reads::Sqlite { idle, path } => {
                let conn = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let conn = match conn {
                    Some(c) => c,
                    None => sqlite_reader(path)?,
                };
                let body = conn
                    .prepare_cached("SELECT body FROM rows WHERE id = ?1")?
                    .query_row([row], |r| r.get(0))?;
                idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
                body
            }
            Reads::Postgres { clients, next } => {
                let (client, read) = &clients[next.fetch_add(1, Ordering::Relaxed) % clients.len()];
                client.query_one(read, &[&row]).await?.get(0)
            }
        };
        if read.len() != ROW_BYTES {
            return Err(Error::Setup("a floor row of the wrong size".into()));
        }
        Ok(())
    }

    /// Appends a row naming `row`; returns once its batch has committed.
    async fn append(&self, row: i64) -> Result<(), Error> {
        let (done, committed) = oneshot::channel();
        self.appends
            .send(Append {
                row,
                at: unix_now(),
                done,
            })
            .map_err(|_| Error::Setup("the floor's writer stopped".into()))?;
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(Error::Setup("the floor's batch did not commit".into())),
        }
    }

    /// `n` constant bytes once `done` is done; 503 and the error in words otherwise.
    fn answer(&self, n: usize, done: Result<(), Error>) -> Response {
        match done {
            Ok(()) => (
                [(header::CONTENT_TYPE, "application/json")],
                self.body.slice(..n.min(self.body.len())),
            )
                .into_response(),
            Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        }
    }

    async fn rows_appended(&self) -> Result<i64, Error> {
        match &self.reads {
            Reads::Sqlite { path, .. } => {
                Ok(sqlite_reader(path)?.query_row("SELECT count(*) FROM log", [], |r| r.get(0))?)
            }
            Reads::Postgres { clients, .. } => Ok(clients[0]
                .0
                .query_one("SELECT count(*) FROM load_floor_log", &[])
                .await?
                .get(0)),
        }
    }
}

async fn durable(State(floor): State<Arc<Durable>>, UrlPath(n): UrlPath<usize>) -> Response {
    floor.answer(n, floor.check().await)
}

/// The append alone, without the read: what is left of the floor were every read served
/// from memory (D119 says why a check's is not).
async fn append_only(State(floor): State<Arc<Durable>>, UrlPath(n): UrlPath<usize>) -> Response {
    floor.answer(n, floor.append(floor.pick()).await)
}

/// `{rows} {batches}`: the rows in the log, and the batches this process committed.
async fn counts(State(floor): State<Arc<Durable>>) -> Response {
    match floor.rows_appended().await {
        Ok(n) => format!("{n} {}", floor.batches.load(Ordering::Relaxed)).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// The `n`th key read of `1..=rows`: every key once in each `rows` reads (a stride by a
/// prime larger than any `rows` allowed, [`MAX_ROWS`], so the stride is a permutation of
/// the keys; for some `rows` it is the keys in order, which a read by key does not mind).
fn key(n: u64, rows: u64) -> i64 {
    const STRIDE: u128 = 2_147_483_647;
    ((n % rows) as u128 * STRIDE % rows as u128 + 1) as i64
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `n` bytes nobody could compress, from a seed (xorshift): the rows are as incompressible
/// as sealed seeds and JSON with random names would be to PostgreSQL's TOAST.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

// ---- SQLite: the authority's settings (WAL, synchronous FULL, the writer's map and
// cache, readers without a map), a log keyed by a rowid so every batch appends.

fn sqlite_writer(path: &Path, rows: u64) -> Result<rusqlite::Connection, Error> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -64 * 1024)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    // A floor that is not durable measures nothing: the settings are read back.
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 {
        return Err(Error::Setup(format!(
            "the floor's file is not durable (journal {journal}, synchronous {synchronous})"
        )));
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS log (
             id INTEGER PRIMARY KEY, row_id INTEGER NOT NULL, at INTEGER NOT NULL,
             body BLOB NOT NULL);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT OR IGNORE INTO rows (id, body) VALUES (?1, ?2)")?;
        for id in 1..=rows {
            insert.execute(rusqlite::params![id as i64, noise(id, ROW_BYTES)])?;
        }
    }
    tx.commit()?;
    Ok(conn)
}

fn sqlite_reader(path: &Path) -> Result<rusqlite::Connection, Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // As the authority's readers wait (`store/sqlite/pool.rs`).
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(8);
    Ok(conn)
}

/// `first` and whatever else waits behind it, up to [`MAX_BATCH`]: one batch.
fn batch_from(first: Append, rx: &mut mpsc::UnboundedReceiver<Append>) -> Vec<Append> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(a) => batch.push(a),
            Err(_) => break,
        }
    }
    batch
}

/// Answers a batch's requests with whether it committed, and counts it if it did.
fn finish(batch: Vec<Append>, committed: bool, batches: &AtomicU64) {
    if committed {
        batches.fetch_add(1, Ordering::Relaxed);
    }
    for a in batch {
        let _ = a.done.send(committed);
    }
}

/// The writer thread: each batch is whatever waits, up to [`MAX_BATCH`], in one
/// transaction; its requests are answered after the commit.
fn sqlite_appends(
    conn: rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Append>,
    batches: &AtomicU64,
) {
    let entry = noise(0, ENTRY_BYTES);
    while let Some(first) = rx.blocking_recv() {
        let batch = batch_from(first, &mut rx);
        let commit = || -> rusqlite::Result<()> {
            let tx = conn.unchecked_transaction()?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT INTO log (row_id, at, body) VALUES (?1, ?2, ?3)")?;
                for a in &batch {
                    insert.execute(rusqlite::params![a.row, a.at, &entry])?;
                }
            }
            tx.commit()
        };
        let ok = commit().is_ok();
        finish(batch, ok, batches);
    }
}

// ---- PostgreSQL: a database of its own on the authority's cluster (so the authority's
// size and log counts are untouched), pipelined reads, one statement a batch.

async fn pg_database(url: &str) -> Result<tokio_postgres::Config, Error> {
    let admin: tokio_postgres::Config = url
        .parse()
        .map_err(|e| Error::Setup(format!("the PostgreSQL URL: {e}")))?;
    let client = pg_connect(&admin).await?;
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&PG_DATABASE],
        )
        .await?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {PG_DATABASE}"))
            .await?;
    }
    let mut config = admin;
    config.dbname(PG_DATABASE);
    Ok(config)
}

async fn pg_connect(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, Error> {
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

async fn pg_schema(client: &tokio_postgres::Client, rows: u64) -> Result<(), Error> {
    // A floor that is not durable measures nothing: the cluster's settings are read back.
    // Every `synchronous_commit` but `off` flushes the commit here before answering.
    for setting in ["fsync", "synchronous_commit"] {
        let value: String = client
            .query_one(&format!("SHOW {setting}"), &[])
            .await?
            .get(0);
        if value == "off" {
            return Err(Error::Setup(format!(
                "the cluster is not durable ({setting} = {value})"
            )));
        }
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS load_floor_rows (
                 id BIGINT PRIMARY KEY, body BYTEA NOT NULL);
             CREATE TABLE IF NOT EXISTS load_floor_log (
                 id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 row_id BIGINT NOT NULL, at BIGINT NOT NULL, body BYTEA NOT NULL);
             -- Append-only and dropped with the cluster: no vacuum or analyze of it is to
             -- share the cores with the runs after this floor's.
             ALTER TABLE load_floor_log SET (autovacuum_enabled = false);",
        )
        .await?;
    let insert = "INSERT INTO load_floor_rows (id, body)
                  SELECT * FROM unnest($1::bigint[], $2::bytea[]) ON CONFLICT DO NOTHING";
    let mut id = 1u64;
    while id <= rows {
        let last = (id + 999).min(rows);
        let ids: Vec<i64> = (id..=last).map(|k| k as i64).collect();
        let bodies: Vec<Vec<u8>> = (id..=last).map(|k| noise(k, ROW_BYTES)).collect();
        client.execute(insert, &[&ids, &bodies]).await?;
        id = last + 1;
    }
    client.batch_execute("ANALYZE load_floor_rows").await?;
    Ok(())
}

/// The writer task: each batch is whatever waits, up to [`MAX_BATCH`], in one statement
/// (one transaction, committed with the cluster's `synchronous_commit`).
async fn pg_appends(
    client: tokio_postgres::Client,
    mut rx: mpsc::UnboundedReceiver<Append>,
    batches: Arc<AtomicU64>,
) {
    let entry = noise(0, ENTRY_BYTES);
    let stmt = match client
        .prepare(
            "INSERT INTO load_floor_log (row_id, at, body)
             SELECT r, a, $3 FROM unnest($1::bigint[], $2::bigint[]) AS t (r, a)",
        )
        .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("floor writer: {e}");
            return;
        }
    };
    while let Some(first) = rx.recv().await {
        let batch = batch_from(first, &mut rx);
        let row_ids: Vec<i64> = batch.iter().map(|a| a.row).collect();
        let ats: Vec<i64> = batch.iter().map(|a| a.at).collect();
        let ok = client
            .execute(&stmt, &[&row_ids, &ats, &entry])
            .await
            .is_ok();
        finish(batch, ok, &batches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite floor with `rows` rows, in `floor.db` in `dir` (made there the first time):
    /// the file's path and the floor.
    async fn sqlite_floor(
        dir: &tempfile::TempDir,
        rows: u64,
    ) -> (std::path::PathBuf, Arc<Durable>) {
        let path = dir.path().join("floor.db");
        let floor = Durable::open(
            &Target::Sqlite(path.clone()),
            rows,
            1,
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap();
        (path, floor)
    }

    /// Forty checks at once on `floor`, each answered; committed in batches: at least one,
    /// at most one a check.
    async fn forty_checks_at_once(floor: &Arc<Durable>) {
        let checks: Vec<_> = (0..40)
            .map(|_| {
                let floor = floor.clone();
                tokio::spawn(async move { floor.check().await })
            })
            .collect();
        for check in checks {
            check.await.unwrap().unwrap();
        }
        let batches = floor.batches.load(Ordering::Relaxed);
        assert!((1..=40).contains(&batches), "{batches} batches");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_check_answered_is_a_row_committed_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, floor) = sqlite_floor(&dir, 50).await;
        forty_checks_at_once(&floor).await;
        assert_eq!(floor.rows_appended().await.unwrap(), 40);
        // Committed, not only the writer's: a connection opened now reads every row.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 40);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_floor_opened_again_keeps_its_rows_and_reads_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let (_, first) = sqlite_floor(&dir, 7).await;
        first.check().await.unwrap();
        let (_, again) = sqlite_floor(&dir, 7).await;
        // Each of the seven keys is read (a missing or short row fails the check).
        for _ in 0..14 {
            again.check().await.unwrap();
        }
        assert_eq!(again.rows_appended().await.unwrap(), 15);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_whose_row_is_gone_is_a_503_and_appends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, floor) = sqlite_floor(&dir, 3).await;
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM rows", [])
            .unwrap();
        let answer = floor.answer(1, floor.check().await);
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(floor.rows_appended().await.unwrap(), 0);
        // The append alone does not read, so it still writes.
        let answer = floor.answer(1, floor.append(floor.pick()).await);
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(floor.rows_appended().await.unwrap(), 1);
    }

    /// The PostgreSQL floor on the server `EDL_TEST_PG` names (the PostgreSQL pass of
    /// `scripts/test`), in its database of its own there, as `scripts/load` runs it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_floor_answers_only_committed_checks_and_refuses_a_cluster_that_is_not_durable()
     {
        let Ok(url) = std::env::var("EDL_TEST_PG") else {
            eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
            return;
        };
        let target = Target::Postgres(url.clone());
        let open = || Durable::open(&target, 50, 2, Bytes::from_static(b"x"));
        // A run killed before its reset below leaves the next one a cluster to reset.
        // Another connection, to read what is committed and to change the settings.
        let other = pg_connect(&pg_database(&url).await.unwrap()).await.unwrap();
        let reset = format!("ALTER DATABASE {PG_DATABASE} RESET synchronous_commit");
        other.batch_execute(&reset).await.unwrap();
        let floor = open().await.unwrap();
        // The database outlives a run: what this one adds is counted.
        let before = floor.rows_appended().await.unwrap();
        forty_checks_at_once(&floor).await;
        // Committed, not only sent: another connection reads every row.
        let count = "SELECT count(*) FROM load_floor_log";
        let rows: i64 = other.query_one(count, &[]).await.unwrap().get(0);
        assert_eq!(rows, before + 40);

        // A check whose row is gone is a 503 that appends nothing; the append alone still
        // writes.
        other
            .batch_execute("DELETE FROM load_floor_rows")
            .await
            .unwrap();
        let answer = floor.answer(1, floor.check().await);
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let rows: i64 = other.query_one(count, &[]).await.unwrap().get(0);
        assert_eq!(rows, before + 40);
        let answer = floor.answer(1, floor.append(floor.pick()).await);
        assert_eq!(answer.status(), StatusCode::OK);
        let rows: i64 = other.query_one(count, &[]).await.unwrap().get(0);
        assert_eq!(rows, before + 41);

        // Commits not flushed before the answer: no floor.
        other
            .batch_execute(&format!(
                "ALTER DATABASE {PG_DATABASE} SET synchronous_commit = off"
            ))
            .await
            .unwrap();
        let refused = open().await;
        other.batch_execute(&reset).await.unwrap();
        match refused {
            Err(Error::Setup(why)) => assert!(why.contains("synchronous_commit"), "{why}"),
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("a floor on commits that are not flushed"),
        }
        // Reset, it opens again, its rows made again where missing.
        let again = open().await.unwrap();
        again.check().await.unwrap();
    }

    #[test]
    fn every_key_is_read_once_in_each_round_of_reads() {
        // 7 divides 2^31 - 2: there the stride reads the keys in order, still each once.
        for rows in [1, 7, 10_000, 1_000_000] {
            let mut picks = Durable::picks(rows, rows);
            picks.sort_unstable();
            assert!(
                picks.iter().copied().eq(1..=rows as i64),
                "{rows} rows: every key once"
            );
        }
    }

    #[test]
    fn the_rows_do_not_compress() {
        let a = noise(1, ROW_BYTES);
        let b = noise(2, ROW_BYTES);
        assert_eq!(a.len(), ROW_BYTES);
        assert_ne!(a, b);
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 200, "bytes spread over the range");
        // No short period either (a run of 0..=255 over and over would compress).
        for period in 1..=1024 {
            assert!(
                (0..ROW_BYTES - period).any(|i| a[i] != a[i + period]),
                "period {period}"
            );
        }
    }
}
