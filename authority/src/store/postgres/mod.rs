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
    SyncSnapshot, VerifierRow, Versions,
};
use crate::clock::Clock;
use crate::error::Error;
use crate::store::columns::parse_elicence_state;
use retry::{Fault, commit, with_retry};
/// How a feed entry is stored (its columns besides the key), for bulk loaders (`tools/load`).
pub use rows::feed_columns;
use rows::{PHOTO_COLUMNS, decode_feed, get, i, state_json, u};
use writer::{Job, Retention, Writer};

/// The PostgreSQL implementation of [`RegistryStore`].
pub struct PgStore {
    pool: Pool,
    writer: Writer,
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

/// A connection the network silences (the database's host powered off, a partition: no
/// reset ever comes) is given up after this long without an acknowledgement of what was
/// sent, or of the keepalive probes sent while waiting for an answer (D171). Without it the
/// kernel's own bounds hold: about 15 minutes of retransmission, two hours before a probe,
/// all that time holding the writer and every request that got such a connection. A
/// server that is merely slow (a commit waiting for its standby) still answers the probes.
const SILENT_FOR: Duration = Duration::from_secs(10);
/// Idle time before the first keepalive probe, and between probes.
const PROBE_AFTER: Duration = Duration::from_secs(5);
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Above this a URL's `tcp_user_timeout` was likely written in libpq's milliseconds.
const SECONDS_NOT_MILLIS: Duration = Duration::from_secs(600);

/// The keys a connection string sets, read as tokio-postgres reads them (its `config.rs`):
/// a URL's query (`?key=value&…`, the keys percent-decoded), or `key = value` pairs whose
/// values may be single-quoted, with backslash escapes, up to an empty key, where the
/// driver stops reading. Only the keys: what the driver made of their values is in the
/// parsed `Config`, except where it took a value as nothing said (a 0). A string the
/// driver refuses is refused before this is asked.
fn connection_keys(conn: &str) -> Vec<String> {
    if let Some(rest) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| conn.strip_prefix(scheme))
    {
        return url_query(rest).map_or_else(Vec::new, |query| {
            query
                .split('&')
                .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
                .map(|key| {
                    percent_encoding::percent_decode_str(key)
                        .decode_utf8_lossy()
                        .into()
                })
                .collect()
        });
    }
    let mut keys = Vec::new();
    let mut rest = conn;
    loop {
        rest = rest.trim_start();
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let (key, after) = rest.split_at(key_end);
        // The driver reads no further than an empty key (and a malformed string has been
        // refused by its parse).
        let Some(value) = after
            .trim_start()
            .strip_prefix('=')
            .filter(|_| !key.is_empty())
        else {
            return keys;
        };
        keys.push(key.to_owned());
        let value = value.trim_start();
        let (quoted, mut chars) = match value.strip_prefix('\'') {
            Some(v) => (true, v.char_indices()),
            None => (false, value.char_indices()),
        };
        let start = value.len() - chars.as_str().len();
        let mut end = value.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' if quoted => {
                    end = start + at + 1;
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = start + at;
                    break;
                }
                _ => {}
            }
        }
        rest = &value[end..];
    }
}

/// The query of a URL without its scheme, found as the driver finds it: the credentials
/// end at the first `@` (a `?` in a password is the password's), the hosts at `/` or `?`,
/// the database name at `?`.
fn url_query(rest: &str) -> Option<&str> {
    let rest = rest.split_once('@').map_or(rest, |(_, hosts)| hosts);
    let rest = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    let rest = match rest.strip_prefix('/') {
        Some(path) => &path[path.find('?').unwrap_or(path.len())..],
        None => rest,
    };
    rest.strip_prefix('?')
}

/// Bounds a silent connection ([`SILENT_FOR`]) where the connection string `conn` does not
/// say otherwise (`tcp_user_timeout`, `keepalives`, `keepalives_idle`,
/// `keepalives_interval`). A key it names keeps its value, 0 (the system's bound, in libpq)
/// and the driver's own defaults included (ninth review, P-F3).
fn bound_silence(config: &mut tokio_postgres::Config, conn: &str) {
    let named = connection_keys(conn);
    let names = |key: &str| named.iter().any(|k| k == key);
    match config.get_tcp_user_timeout() {
        None if names("tcp_user_timeout") => {}
        None => {
            config.tcp_user_timeout(SILENT_FOR);
        }
        // libpq reads the same key in milliseconds: a libpq string's 10000 (10 s) would be
        // almost three hours here (ninth review, P-F3). Said once, at start.
        Some(t) if *t > SECONDS_NOT_MILLIS => tracing::warn!(
            secs = t.as_secs(),
            "the database URL's tcp_user_timeout is read in seconds, not milliseconds"
        ),
        Some(_) => {}
    }
    if config.get_keepalives() {
        if !names("keepalives_idle") {
            config.keepalives_idle(PROBE_AFTER);
        }
        if !names("keepalives_interval") {
            config.keepalives_interval(PROBE_EVERY);
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq's keys), migrates the
    /// database and starts the group-commit writer on the current runtime. At most
    /// `pool_size` connections are open; nonces are kept `nonce_secs` past their
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
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Checks that the connection is open before lending it: after a database
                // restart the dead connections are replaced instead of failing a request.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(create_timeout))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|_| StoreError::Postgres("pool".into()))?;
        with_retry(&pool, |conn| Box::pin(schema::migrate(conn))).await?;
        let writer = Writer::start(pool.clone(), Retention { clock, nonce_secs });
        Ok(PgStore { pool, writer })
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
/// A driver with its sequence (the sync cursor): the row's `seq`, moved by every change,
/// or its feed's last entry if later (a verification appends to the feed only, D116).
const WITH_SEQ_BY_ID: &str = "SELECT id,
        GREATEST(seq, COALESCE((SELECT max(f.seq) FROM feed AS f WHERE f.driver_id = drivers.id), 0)),
        state
    FROM drivers WHERE id = $1";
const BY_NUMBER: &str = "SELECT id, seq, state FROM drivers WHERE licence_number = $1";

#[async_trait]
impl RegistryStore for PgStore {
    fn writer_counts(&self) -> Option<(u64, u64)> {
        Some(self.writer.counts())
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
                // One snapshot: the state and the feed are of the same moment.
                let tx = conn
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?;
                let st = tx.prepare_cached(WITH_SEQ_BY_ID).await?;
                let Some(row) = tx.query_opt(&st, &[&i(driver)]).await? else {
                    return Ok(None);
                };
                let (state, seq) = rows::driver(&row)?;
                let st = tx
                    .prepare_cached(
                        "SELECT seq, kind, body, verifier_id FROM feed
                         WHERE driver_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    )
                    .await?;
                let mut feed = Vec::new();
                for r in tx
                    .query(&st, &[&i(driver), &i(cursor), &(i64::from(limit) + 1)])
                    .await?
                {
                    let kind: String = get(&r, 1, "feed kind")?;
                    let body: String = get(&r, 2, "feed body")?;
                    feed.push(FeedRow {
                        seq: u(get(&r, 0, "feed seq")?),
                        event: decode_feed(&kind, &body, get(&r, 3, "feed verifier")?)?,
                    });
                }
                commit(tx).await?;
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
                    .prepare_cached("SELECT id, name, class FROM verifiers WHERE key_hash = $1")
                    .await?;
                let Some(r) = conn.query_opt(&st, &[&&key_hash[..]]).await? else {
                    return Ok(None);
                };
                let class: String = get(&r, 2, "class")?;
                Ok(Some(VerifierRow {
                    id: u(get(&r, 0, "verifier id")?),
                    name: get(&r, 1, "verifier name")?,
                    class: VerifierClass::from_name(&class).ok_or(StoreError::Corrupt("class"))?,
                }))
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
        self.writer.send(Job::Log {
            driver,
            verifier_id,
            entry,
            spends,
            budget,
            reply,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// tokio-postgres's own keepalive idle time.
    const DRIVER_PROBE_AFTER: Duration = Duration::from_secs(2 * 60 * 60);

    fn bounded(url: &str) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        bound_silence(&mut config, url);
        config
    }

    #[test]
    fn a_url_that_says_nothing_gets_the_silence_bounds() {
        let c = bounded("postgres://edl@127.0.0.1:5432/postgres");
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert!(c.get_keepalives());
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);
        assert_eq!(c.get_keepalives_interval(), Some(PROBE_EVERY));
    }

    #[test]
    fn the_url_s_own_bounds_win() {
        let c = bounded(
            "postgres://edl@127.0.0.1:5432/postgres?tcp_user_timeout=30\
             &keepalives_idle=60&keepalives_interval=7",
        );
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(30)));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(60));
        assert_eq!(c.get_keepalives_interval(), Some(Duration::from_secs(7)));
        let off = bounded("postgres://edl@127.0.0.1:5432/postgres?keepalives=0");
        assert!(!off.get_keepalives(), "keepalives turned off stay off");
    }

    /// 0 is the system's bound in libpq, which tokio-postgres reads as nothing said: a URL
    /// that names a key keeps what it says, 0 and the driver's own default included
    /// (ninth review, P-F3).
    #[test]
    fn a_url_s_zero_or_driver_default_is_kept_not_replaced() {
        for url in [
            "postgres://edl@127.0.0.1:5432/postgres?tcp_user_timeout=0\
             &keepalives_idle=7200&keepalives_interval=0",
            "host=127.0.0.1 user=edl tcp_user_timeout = 0 keepalives_idle=7200 \
             keepalives_interval='0'",
        ] {
            let c = bounded(url);
            assert_eq!(c.get_tcp_user_timeout(), None, "{url}");
            assert_eq!(c.get_keepalives_idle(), DRIVER_PROBE_AFTER, "{url}");
            assert_eq!(c.get_keepalives_interval(), None, "{url}");
        }
        // The key's name elsewhere (a password, a database name) is not the key.
        let c = bounded(
            "postgres://edl:tcp_user_timeout=0@127.0.0.1:5432/keepalives_idle=1\
             ?application_name=keepalives_interval=0",
        );
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);
        assert_eq!(c.get_keepalives_interval(), Some(PROBE_EVERY));
        let c = bounded("host=127.0.0.1 password='x tcp_user_timeout=0' user=edl");
        assert_eq!(
            c.get_tcp_user_timeout(),
            Some(&SILENT_FOR),
            "a quoted value"
        );
    }

    /// The driver ends a URL's credentials at the first `@`, so a `?` in a password is the
    /// password's, not the query's start; and a `?key&` in a password names nothing
    /// (eleventh review, R-F1).
    #[test]
    fn a_question_mark_in_the_credentials_is_not_the_query() {
        let url = "postgres://edl:pa?ss@127.0.0.1:5432/postgres?tcp_user_timeout=0\
                   &keepalives_idle=7200";
        let parsed: tokio_postgres::Config = url.parse().unwrap();
        assert_eq!(
            parsed.get_password(),
            Some(&b"pa?ss"[..]),
            "the driver's reading"
        );
        let c = bounded(url);
        assert_eq!(c.get_tcp_user_timeout(), None, "the URL's 0 kept");
        assert_eq!(
            c.get_keepalives_idle(),
            DRIVER_PROBE_AFTER,
            "the URL's 7200 kept"
        );

        let c = bounded("postgres://edl:x?keepalives_idle&tcp_user_timeout&y@127.0.0.1/postgres");
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR), "nothing named");
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER, "nothing named");
    }

    /// The driver stops reading a `key = value` string at an empty key and ignores the
    /// rest, so the keys past it are not named (R-F1); and it decodes a URL's keys, so a
    /// percent-encoded key is named (D178's leftover).
    #[test]
    fn only_the_keys_the_driver_read_are_named() {
        let conn = "host=127.0.0.1 user=edl =x tcp_user_timeout=30 keepalives_idle=60";
        let parsed: tokio_postgres::Config = conn.parse().unwrap();
        assert_eq!(
            parsed.get_tcp_user_timeout(),
            None,
            "the driver ignored the tail"
        );
        let c = bounded(conn);
        assert_eq!(c.get_tcp_user_timeout(), Some(&SILENT_FOR));
        assert_eq!(c.get_keepalives_idle(), PROBE_AFTER);

        let c = bounded("postgres://edl@127.0.0.1/postgres?tcp%5Fuser_timeout=0");
        assert_eq!(
            c.get_tcp_user_timeout(),
            None,
            "a percent-encoded key is named"
        );
    }
}
