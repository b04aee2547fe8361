//! The PostgreSQL store: a pool of async connections (tokio-postgres under
//! deadpool-postgres), versioned migrations, `SELECT … FOR UPDATE` around a driver's
//! change, and group commit of nonces and verification log entries.
//!
//! Every call has one shape: [`with_retry`] over a pooled connection, writes in an
//! explicit transaction ended by [`retry::commit`] (so a lost connection is retried only
//! when nothing can have been committed), statements through the connection's prepared
//! statement cache. The SQL stays inside what CockroachDB and YugabyteDB accept (D87).

mod audit;
mod backoff;
mod driver;
mod limits;
mod marks;
mod prune;
mod retry;
mod rows;
mod schema;
mod silence;
mod writer;

pub use marks::settled;
pub use retry::deadlocks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use edl_core::wire::{VerificationLogEntry, VerifierClass};
use tokio::sync::oneshot;
use tokio_postgres::NoTls;

use super::{
    AuditEntry, AuditRecord, BackoffChange, BackoffEntry, BackoffKey, Budget, CheckFailure,
    DriverChange, DriverId, DriverState, ElicenceRef, FeedRow, GuessLimits, IssuerKeyRow, PhotoRow,
    RECENT_FAILURES, RecentFailures, RegistryStore, SealedSeed, StatusEntries, StoreError,
    SyncSnapshot, VerifierAccountRow, VerifierRow, Versions,
};
use crate::clock::Clock;
use crate::error::Error;
use crate::store::columns::parse_elicence_state;
use retry::{Fault, commit, with_retry};
/// How a feed entry is stored (its columns besides the key), for bulk loaders (`tools/load`).
pub use rows::feed_columns;
use rows::{PHOTO_COLUMNS, account_row, decode_feed, get, i, state_json, u, verifier_row};
use silence::bound_silence;
use writer::{Job, Retention, Waiter, Writer};

/// The PostgreSQL implementation of [`RegistryStore`].
pub struct PgStore {
    pool: Pool,
    writer: Writer,
    /// The writer's task, until the server takes it to join at shutdown.
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Longest wait for a pooled connection, or to connect to one address, before an attempt
/// fails.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait to open a new connection, name lookups and every address tried included: a
/// silent host whose name has several addresses (an IPv4 and an IPv6 record) costs a
/// connect timeout each before the next host is tried, which a bound per host ran out
/// before the standby (ninth review, P-F2). Five silent addresses fit, well inside a
/// request's 30 s deadline.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections the group-commit writer keeps beside the pool: one for its batches (and its
/// prunes, between them), and one to ask about a batch whose commit went unanswered, on a
/// connection opened after the loss while the lost one is still held (D171).
pub const WRITER_CONNECTIONS: usize = 2;

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq's keys), migrates the
    /// database and starts the group-commit writer on the current runtime. At most
    /// `pool_size` connections are open for reads and a driver's changes, and
    /// [`WRITER_CONNECTIONS`] more for the writer; nonces are kept `nonce_secs` past their
    /// timestamp. The connection is not encrypted: the database must be on loopback or a
    /// private network (see D86).
    pub async fn connect(
        url: &str,
        pool_size: usize,
        clock: Arc<dyn Clock>,
        nonce_secs: u64,
    ) -> Result<Self, StoreError> {
        // The URL may hold a password: its parse error is not repeated.
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Postgres("invalid connection string".into()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(POOL_TIMEOUT);
        }
        bound_silence(&mut config, url);
        // Each address of each host of the URL gets its own connect timeout, one after the
        // other: a new connection may try them all (a first host fallen silent, its standby
        // promoted: D171), so the pool gives it at least CREATE_TIMEOUT, and as long as the
        // hosts take at one address each.
        let hosts = config.get_hosts().len().max(config.get_hostaddrs().len());
        let create_timeout = CREATE_TIMEOUT.max(
            config
                .get_connect_timeout()
                .copied()
                .unwrap_or(POOL_TIMEOUT)
                * u32::try_from(hosts.max(1)).unwrap_or(u32::MAX),
        );
        let pool_of = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    // Checks that the connection is open before lending it: after a database
                    // restart the dead connections are replaced instead of failing a request.
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(POOL_TIMEOUT))
                .create_timeout(Some(create_timeout))
                .recycle_timeout(Some(POOL_TIMEOUT))
                .build()
                .map_err(|_| StoreError::Postgres("pool".into()))
        };
        let pool = pool_of(pool_size.max(2))?;
        // A standby, or a host left first in the URL after a fail-over, would refuse
        // every write: said at start rather than as 503s (AR-3).
        if !takes_writes(&pool).await? {
            return Err(StoreError::Postgres(
                "the database takes no writes (a standby, or set read-only): give the \
                 primary, or every host with target_session_attrs=read-write"
                    .into(),
            ));
        }
        with_retry(&pool, |conn| Box::pin(schema::migrate(conn))).await?;
        // The writer's connections are its own: in a pool shared with the reads, every
        // batch waited its turn behind the checks' reads, and every check waits for its
        // batch (D191).
        let writes = pool_of(WRITER_CONNECTIONS)?;
        let (writer, task) = Writer::start(writes, Retention { clock, nonce_secs });
        Ok(PgStore {
            pool,
            writer,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// The writer's task, to wait for at shutdown: it ends once the store is dropped and
    /// what was queued is committed (sixteenth review, W-F5). `None` once taken.
    pub fn take_writer_task(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.task.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    async fn read_driver(
        &self,
        sql: &'static str,
        key: impl tokio_postgres::types::ToSql + Clone + Send + Sync + 'static,
    ) -> Result<Option<DriverState>, StoreError> {
        with_retry(&self.pool, move |conn| {
            let key = key.clone();
            Box::pin(async move {
                let st = conn.prepare_cached(sql).await?;
                let row = conn.query_opt(&st, &[&key]).await?;
                Ok(row.map(|r| rows::driver(&r)).transpose()?.map(|(s, _)| s))
            })
        })
        .await
    }

    async fn read_photos(
        &self,
        sql: String,
        a: Option<i64>,
        b: Option<String>,
    ) -> Result<Vec<PhotoRow>, StoreError> {
        with_retry(&self.pool, move |conn| {
            let (sql, b) = (sql.clone(), b.clone());
            Box::pin(async move {
                let st = conn.prepare_cached(&sql).await?;
                let rows = match (a, &b) {
                    (Some(a), Some(b)) => conn.query(&st, &[&a, b]).await?,
                    (Some(a), None) => conn.query(&st, &[&a]).await?,
                    _ => conn.query(&st, &[]).await?,
                };
                Ok(rows
                    .iter()
                    .map(rows::photo)
                    .collect::<Result<Vec<_>, _>>()?)
            })
        })
        .await
    }
}

/// A driver by id or by licence number, for reads that need no sequence (`read_driver`
/// drops the row's `seq`, which is not the cursor since D116).
const BY_ID: &str = "SELECT id, seq, state FROM drivers WHERE id = $1";
const BY_NUMBER: &str = "SELECT id, seq, state FROM drivers WHERE licence_number = $1";
/// What a sync reads, in one statement (one snapshot under READ COMMITTED, one round trip):
/// the driver's row with its sequence (the sync cursor: the row's `seq`, moved by every
/// change, or its feed's last entry if later, as a verification appends to the feed only,
/// D116), then its feed entries past the cursor `$2`, at most `$3`, in order; no row at
/// all for an unknown driver. The last column orders the two parts (a `UNION ALL` keeps no
/// order of its own, on the distributed engines either).
const SYNC_SNAPSHOT: &str = "SELECT id,
        GREATEST(seq, COALESCE((SELECT max(f.seq) FROM feed AS f WHERE f.driver_id = drivers.id), 0)),
        state, NULL::TEXT, NULL::TEXT, NULL::BIGINT, 0
    FROM drivers WHERE id = $1
    UNION ALL
    SELECT NULL, e.seq, NULL, e.kind, e.body, e.verifier_id, 1
    FROM (SELECT seq, kind, body, verifier_id FROM feed
          WHERE driver_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS e
    ORDER BY 7, 2";

/// `pool` as it is now, named `name`.
fn pool_use(name: &'static str, pool: &Pool) -> crate::store::PoolUse {
    let status = pool.status();
    crate::store::PoolUse {
        name,
        max: status.max_size,
        size: status.size,
        idle: status.available,
        waiting: status.waiting,
    }
}

/// Whether a connection of `pool` may write: `transaction_read_only` is on for a
/// standby and for a database set read-only.
async fn takes_writes(pool: &Pool) -> Result<bool, StoreError> {
    with_retry(pool, |conn| {
        Box::pin(async move {
            let st = conn
                .prepare_cached("SELECT current_setting('transaction_read_only')")
                .await?;
            let row = conn.query_one(&st, &[]).await?;
            Ok(get::<String>(&row, 0, "transaction_read_only")? == "off")
        })
    })
    .await
}

#[async_trait]
impl RegistryStore for PgStore {
    fn writer_counts(&self) -> Option<(u64, u64)> {
        Some(self.writer.counts())
    }

    fn writer_held_for(&self) -> Option<Duration> {
        self.writer.held_for()
    }

    fn writer_busy_for(&self) -> Option<Duration> {
        self.writer.busy_for()
    }

    fn writer_collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.writer.collectors()
    }

    fn pool_use(&self) -> Vec<crate::store::PoolUse> {
        vec![
            pool_use("read", &self.pool),
            pool_use("writer", self.writer.pool()),
        ]
    }

    async fn takes_writes(&self) -> Result<bool, StoreError> {
        takes_writes(&self.pool).await
    }

    async fn database_time(&self) -> Result<Option<u64>, StoreError> {
        with_retry(&self.pool, |conn| {
            Box::pin(async move {
                // Whole seconds: what every row's time is written in.
                let st = conn
                    .prepare_cached("SELECT floor(extract(epoch FROM now()))::BIGINT")
                    .await?;
                let row = conn.query_one(&st, &[]).await?;
                let secs = u64::try_from(get::<i64>(&row, 0, "now")?)
                    .map_err(|_| StoreError::Corrupt("database time"))?;
                Ok(Some(secs))
            })
        })
        .await
    }

    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError> {
        with_retry(&self.pool, |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached(
                        "SELECT kid, seed, not_before, not_after FROM issuer_keys ORDER BY kid",
                    )
                    .await?;
                let mut keys = Vec::new();
                for r in conn.query(&st, &[]).await? {
                    keys.push(IssuerKeyRow {
                        kid: u16::try_from(get::<i64>(&r, 0, "kid")?)
                            .map_err(|_| StoreError::Corrupt("kid"))?,
                        seed: get(&r, 1, "seed")?,
                        not_before: u32::try_from(get::<i64>(&r, 2, "not_before")?)
                            .map_err(|_| StoreError::Corrupt("not_before"))?,
                        not_after: u32::try_from(get::<i64>(&r, 3, "not_after")?)
                            .map_err(|_| StoreError::Corrupt("not_after"))?,
                    });
                }
                Ok(keys)
            })
        })
        .await
    }

    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError> {
        with_retry(&self.pool, move |conn| {
            let key = key.clone();
            Box::pin(async move {
                let tx = conn.transaction().await?;
                let retire = tx
                    .prepare_cached("UPDATE issuer_keys SET not_after = $1 WHERE not_after > $1")
                    .await?;
                tx.execute(&retire, &[&i64::from(key.not_before)]).await?;
                let add = tx
                    .prepare_cached(
                        "INSERT INTO issuer_keys (kid, seed, not_before, not_after) VALUES ($1, $2, $3, $4)",
                    )
                    .await?;
                tx.execute(
                    &add,
                    &[
                        &i64::from(key.kid),
                        &key.seed,
                        &i64::from(key.not_before),
                        &i64::from(key.not_after),
                    ],
                )
                .await?;
                commit(tx).await
            })
        })
        .await
    }

    async fn create_driver(
        &self,
        state: DriverState,
        photo: Option<PhotoRow>,
    ) -> Result<DriverId, StoreError> {
        let mut state = state;
        state.versions = Versions::AT_CREATION;
        let (state, photo) = (Arc::new(state), Arc::new(photo));
        with_retry(&self.pool, move |conn| {
            let (state, photo) = (state.clone(), photo.clone());
            Box::pin(async move {
                let tx = conn.transaction().await?;
                let st = tx
                    .prepare_cached(
                        "INSERT INTO drivers (licence_number, seq, state) VALUES ($1, 1, $2) RETURNING id",
                    )
                    .await?;
                let row = tx
                    .query_one(
                        &st,
                        &[&state.licence.main.licence_number, &state_json(&state)],
                    )
                    .await
                    .map_err(|e| match retry::classify(&e) {
                        Fault::Final(StoreError::Conflict(_)) => {
                            Fault::Final(StoreError::Conflict("licence number"))
                        }
                        other => other,
                    })?;
                let id = u(get(&row, 0, "driver id")?);
                if let Some(p) = photo.as_ref() {
                    let mut p = p.clone();
                    p.driver_id = id;
                    driver::insert_photo(&tx, &p).await?;
                }
                commit(tx).await?;
                Ok(id)
            })
        })
        .await
    }

    async fn driver(&self, id: DriverId) -> Result<Option<DriverState>, StoreError> {
        self.read_driver(BY_ID, i(id)).await
    }

    async fn driver_by_licence_number(
        &self,
        licence_number: &str,
    ) -> Result<Option<DriverState>, StoreError> {
        self.read_driver(BY_NUMBER, licence_number.to_owned()).await
    }

    async fn update_driver(
        &self,
        id: DriverId,
        change: DriverChange,
    ) -> Result<DriverState, Error> {
        driver::update(&self.pool, id, change).await
    }

    async fn elicence(&self, id: u64) -> Result<Option<ElicenceRef>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                // One statement, so one snapshot: the row and the aggregate agree (and one
                // round trip for a check instead of two, D115). The SQLite store's SQL.
                let st = conn
                    .prepare_cached(
                        "SELECT e.driver_id, e.seed, e.state,
                                (SELECT d.state FROM drivers AS d WHERE d.id = e.driver_id)
                         FROM elicences AS e WHERE e.id = $1",
                    )
                    .await?;
                let Some(r) = conn.query_opt(&st, &[&i(id)]).await? else {
                    return Ok(None);
                };
                let driver_id = u(get(&r, 0, "driver id")?);
                let seed: Vec<u8> = get(&r, 1, "seed")?;
                let state: String = get(&r, 2, "state")?;
                Ok(Some(ElicenceRef {
                    seed: SealedSeed(seed),
                    state: parse_elicence_state(&state).ok_or(StoreError::Corrupt("state"))?,
                    holder: rows::state_at(&r, 3, driver_id)?,
                }))
            })
        })
        .await
    }

    async fn allocate_status_index(&self) -> Result<u32, StoreError> {
        audit::allocate_status_index(&self.pool).await
    }

    async fn status_entries(&self) -> Result<StatusEntries, StoreError> {
        audit::status_entries(&self.pool).await
    }

    async fn photo(&self, id: u64) -> Result<Option<PhotoRow>, StoreError> {
        let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = $1");
        Ok(self.read_photos(sql, Some(i(id)), None).await?.pop())
    }

    async fn photo_by_client_key(
        &self,
        driver: DriverId,
        client_key: &str,
    ) -> Result<Option<PhotoRow>, StoreError> {
        let sql =
            format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE driver_id = $1 AND client_key = $2");
        let key = Some(client_key.to_owned());
        Ok(self.read_photos(sql, Some(i(driver)), key).await?.pop())
    }

    async fn pending_photos(&self, limit: u32) -> Result<Vec<PhotoRow>, StoreError> {
        let sql = format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE status = 'pending' ORDER BY submitted_at, id LIMIT $1"
        );
        self.read_photos(sql, Some(i64::from(limit)), None).await
    }

    async fn sync(
        &self,
        driver: DriverId,
        cursor: u64,
        limit: u32,
    ) -> Result<Option<SyncSnapshot>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                // One statement, so one snapshot: the state and the feed are of the same
                // moment, in one round trip (D192).
                let st = conn.prepare_cached(SYNC_SNAPSHOT).await?;
                let rows = conn
                    .query(&st, &[&i(driver), &i(cursor), &(i64::from(limit) + 1)])
                    .await?;
                // The driver's row first, then its entries in order (`SYNC_SNAPSHOT`).
                let mut rows = rows.iter();
                let Some(row) = rows.next() else {
                    return Ok(None);
                };
                let (state, seq) = rows::driver(row)?;
                let mut feed = Vec::new();
                for r in rows {
                    let kind: String = get(r, 3, "feed kind")?;
                    let body: String = get(r, 4, "feed body")?;
                    feed.push(FeedRow {
                        seq: u(get(r, 1, "feed seq")?),
                        event: decode_feed(&kind, &body, get(r, 5, "feed verifier")?)?,
                    });
                }
                Ok(Some(SyncSnapshot { state, seq, feed }))
            })
        })
        .await
    }

    async fn create_verifier(
        &self,
        name: &str,
        class: VerifierClass,
        key_hash: [u8; 32],
        now: u64,
    ) -> Result<u64, StoreError> {
        let name = name.to_owned();
        with_retry(&self.pool, move |conn| {
            let name = name.clone();
            Box::pin(async move {
                let tx = conn.transaction().await?;
                let st = tx
                    .prepare_cached(
                        "INSERT INTO verifiers (key_hash, name, class, created_at)
                         VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .await?;
                let row = tx
                    .query_one(&st, &[&&key_hash[..], &name, &class.as_str(), &i(now)])
                    .await?;
                let id = u(get(&row, 0, "verifier id")?);
                commit(tx).await?;
                Ok(id)
            })
        })
        .await
    }

    async fn verifier_by_key_hash(
        &self,
        key_hash: [u8; 32],
    ) -> Result<Option<VerifierRow>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached(
                        "SELECT id, name, class FROM verifiers
                         WHERE key_hash = $1 AND revoked_at IS NULL",
                    )
                    .await?;
                let Some(r) = conn.query_opt(&st, &[&&key_hash[..]]).await? else {
                    return Ok(None);
                };
                let class: String = get(&r, 2, "class")?;
                Ok(Some(verifier_row(
                    get(&r, 0, "verifier id")?,
                    get(&r, 1, "verifier name")?,
                    &class,
                )?))
            })
        })
        .await
    }

    async fn revoke_verifier(
        &self,
        id: u64,
        now: u64,
    ) -> Result<Option<VerifierAccountRow>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                // The first revocation's time stays: revoking again changes nothing.
                let st = conn
                    .prepare_cached(
                        "UPDATE verifiers SET revoked_at = COALESCE(revoked_at, $2), key_hash = $3
                         WHERE id = $1 RETURNING id, name, class, created_at, revoked_at",
                    )
                    .await?;
                let tombstone = crate::store::revoked_key_hash(id);
                let row = conn
                    .query_opt(&st, &[&i(id), &i(now), &&tombstone[..]])
                    .await?;
                Ok(row.as_ref().map(account_row).transpose()?)
            })
        })
        .await
    }

    async fn verifiers(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VerifierAccountRow>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached(
                        "SELECT id, name, class, created_at, revoked_at FROM verifiers
                         WHERE id > $1 ORDER BY id LIMIT $2",
                    )
                    .await?;
                let rows = conn.query(&st, &[&i(after), &i64::from(limit)]).await?;
                Ok(rows.iter().map(account_row).collect::<Result<_, _>>()?)
            })
        })
        .await
    }

    async fn record_nonce(
        &self,
        account: DriverId,
        nonce: [u8; 16],
        timestamp: u64,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job::Nonce {
            account,
            nonce,
            ts: timestamp,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Aborted)?
    }

    async fn log_verification(
        &self,
        driver: DriverId,
        verifier_id: u64,
        entry: VerificationLogEntry,
        spends: Option<crate::guard::CodeKey>,
        budget: Option<Budget>,
    ) -> Result<crate::guard::Claim, StoreError> {
        let (reply, answer) = oneshot::channel();
        // Held until answered: dropped with this call, the writer leaves the claim out.
        let (_waiter, waiting) = Waiter::watched();
        self.writer.send(Job::Log {
            driver,
            verifier_id,
            entry,
            spends,
            budget,
            reply,
            waiting,
        })?;
        answer.await.map_err(|_| StoreError::Aborted)?
    }

    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: GuessLimits,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job::Failure {
            failure,
            log,
            limits,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Aborted)?
    }

    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached(
                        "SELECT verifier_id, target, at FROM check_failures
                         WHERE at >= $1 ORDER BY at",
                    )
                    .await?;
                let mut out = Vec::new();
                for r in conn.query(&st, &[&i(since)]).await? {
                    out.push(CheckFailure {
                        verifier_id: u(get(&r, 0, "verifier")?),
                        target: get(&r, 1, "target")?,
                        at: u(get(&r, 2, "at")?),
                    });
                }
                Ok(out)
            })
        })
        .await
    }

    async fn code_spender(
        &self,
        (elicence, window, audience, form): crate::guard::CodeKey,
    ) -> Result<Option<(Option<u64>, u64)>, StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached(
                        "SELECT verifier_id, at FROM spent_codes
                         WHERE elicence_id = $1 AND window_start = $2 AND audience = $3
                           AND form = $4",
                    )
                    .await?;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
                    &i(elicence),
                    &i(window),
                    &i16::from(audience),
                    &i16::from(form),
                ];
                let Some(r) = conn.query_opt(&st, &params).await? else {
                    return Ok(None);
                };
                let spender: Option<i64> = get(&r, 0, "verifier_id")?;
                Ok(Some((spender.map(u), u(get(&r, 1, "at")?))))
            })
        })
        .await
    }

    async fn recent_check_failures(
        &self,
        verifier_id: u64,
        target: &str,
        since: u64,
    ) -> Result<RecentFailures, StoreError> {
        let target = target.to_owned();
        with_retry(&self.pool, move |conn| {
            let target = target.clone();
            Box::pin(async move {
                // After the batches still storing such failures (D165, L-F4).
                limits::wait_for_failures_on(conn, verifier_id, &target, since).await?;
                // The newest of each, by the indexes (target, at) and (verifier_id, at).
                let on_target = conn
                    .prepare_cached(
                        "SELECT at FROM check_failures WHERE target = $1 AND at >= $2
                         ORDER BY at DESC LIMIT $3",
                    )
                    .await?;
                let by_verifier = conn
                    .prepare_cached(
                        "SELECT at FROM check_failures WHERE verifier_id = $1 AND at >= $2
                         ORDER BY at DESC LIMIT $3",
                    )
                    .await?;
                let limit = i64::from(RECENT_FAILURES);
                let times = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<u64>, Fault> {
                    let mut out = rows
                        .iter()
                        .map(|r| get::<i64>(r, 0, "at").map(u))
                        .collect::<Result<Vec<u64>, _>>()?;
                    out.reverse();
                    Ok(out)
                };
                let on_target = times(
                    conn.query(&on_target, &[&target, &i(since), &limit])
                        .await?,
                )?;
                let by_verifier = times(
                    conn.query(&by_verifier, &[&i(verifier_id), &i(since), &limit])
                        .await?,
                )?;
                Ok(RecentFailures {
                    on_target,
                    by_verifier,
                })
            })
        })
        .await
    }

    async fn enrol_backoff(
        &self,
        keys: &[BackoffKey],
    ) -> Result<Vec<Option<BackoffEntry>>, StoreError> {
        backoff::read(&self.pool, keys).await
    }

    async fn update_enrol_backoff(
        &self,
        keys: &[BackoffKey],
        change: BackoffChange,
    ) -> Result<(), Error> {
        backoff::update(&self.pool, keys, change).await
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        audit::append(&self.pool, entry).await
    }

    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        audit::read(&self.pool, after, limit).await
    }

    async fn busy(&self) -> Result<Option<u32>, StoreError> {
        with_retry(&self.pool, |conn| {
            Box::pin(async move {
                let st = conn
                    .prepare_cached("SELECT value FROM settings WHERE name = 'busy_retry_after'")
                    .await?;
                let row = conn.query_opt(&st, &[]).await?;
                let value = row.map(|r| get::<i64>(&r, 0, "busy setting")).transpose()?;
                Ok(value
                    .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt("busy setting")))
                    .transpose()?)
            })
        })
        .await
    }

    async fn set_busy(&self, retry_after: Option<u32>) -> Result<(), StoreError> {
        with_retry(&self.pool, move |conn| {
            Box::pin(async move {
                // One statement, its own transaction, idempotent: a retry after a lost
                // answer sets the same value again.
                match retry_after {
                    Some(secs) => {
                        conn.execute(
                            "INSERT INTO settings (name, value) VALUES ('busy_retry_after', $1)
                             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                            &[&i64::from(secs)],
                        )
                        .await?
                    }
                    None => {
                        conn.execute("DELETE FROM settings WHERE name = 'busy_retry_after'", &[])
                            .await?
                    }
                };
                Ok(())
            })
        })
        .await
    }
}
