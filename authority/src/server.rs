//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, LimitsError, MAX_REQUEST_TIMEOUT, resend_fits};
use crate::conn;
use crate::error::Error;
use crate::http;
use crate::identity::{IdentityVerifier, TestIdentityVerifier};
use crate::keys::Keys;
use crate::metered::MeteredStore;
use crate::metrics::Metrics;
use crate::seal::{FileKek, SeedSealer};
use crate::service::App;
use crate::store::RegistryStore;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or prepared.
    #[error("database: {0}")]
    Database(#[from] Error),
    /// The address could not be bound, or serving failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The failed-check limits of the configuration cannot be served (D168).
    #[error("check limits: {0}")]
    Limits(#[from] LimitsError),
    /// A `request_timeout` that, with twice `max_clock_skew`, is over
    /// [`MAX_REQUEST_TIMEOUT`]: a check answered 503 at it could not be sent again in time
    /// to be answered (D183, D184; [`resend_fits`]).
    #[error(
        "request_timeout ({request_timeout:?}) and twice max_clock_skew ({max_clock_skew:?}) are over {max} s: a check answered 503 could not be sent again in time",
        max = MAX_REQUEST_TIMEOUT.as_secs()
    )]
    RequestTimeout {
        /// The deadline asked.
        request_timeout: Duration,
        /// The clock distance asked (`None`: not checked).
        max_clock_skew: Option<Duration>,
    },
}

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    writer: Option<WriterEnd>,
}

/// What to wait for at shutdown so that every write queued is committed: the SQLite
/// writer's thread, or the PostgreSQL writer's task (sixteenth review, W-F5). Each ends
/// once the store is dropped, after the handlers and the tasks they left to finish
/// (`service::verify::to_the_end`), which hold it.
enum WriterEnd {
    Thread(std::thread::JoinHandle<()>),
    Task(JoinHandle<()>),
}

impl RunningServer {
    /// The address it listens on (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] from elsewhere,
    /// or an error).
    pub async fn wait(self) -> Result<(), ServeError> {
        let served = match self.task.await {
            Ok(result) => result.map_err(ServeError::from),
            Err(_) => Err(std::io::Error::other("the server task failed").into()),
        };
        // Every handler has finished, so the store is dropped and the writer commits
        // what is queued and closes the database; wait for it so a restart finds the
        // file closed.
        match self.writer {
            Some(WriterEnd::Thread(writer)) => {
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            }
            Some(WriterEnd::Task(writer)) => {
                let _ = writer.await;
            }
            None => {}
        }
        served
    }
}

/// Builds the shared state over an opened store: loads (or makes) the issuer key and
/// rebuilds the lock-outs.
pub async fn app(mut config: Config, store: Arc<dyn RegistryStore>) -> Result<Arc<App>, Error> {
    if config.root.is_none() {
        config.root = crate::root::RootKey::from_env()?.map(Arc::new);
    }
    if config.next_root.is_none() {
        config.next_root = crate::config::next_root_from_env()?;
    }
    crate::config::check_next_root(config.root.as_deref(), config.next_root)?;
    if let Some(ttl) = crate::config::status_list_ttl_from_env()? {
        config.status_list_ttl = ttl;
    }
    if let Some(recheck) = crate::config::verifier_recheck_from_env()? {
        config.verifier_recheck = recheck;
    }
    let life = 3600
        * u64::from(
            config
                .credential_ttl_hours
                .clamp(1, edl_core::credential::MAX_VIEW_LIFETIME_HOURS),
        );
    let sealer: Arc<dyn SeedSealer> = match &config.kek {
        Some(kek) => kek.clone(),
        None => Arc::new(FileKek::from_env_or_file(&kek_path(&config.db_path))?),
    };
    // Every write is timed for `/metrics` and `/readyz`, whichever store is underneath.
    let metrics = Arc::new(Metrics::new());
    metrics.register(store.writer_collectors());
    let store: Arc<dyn RegistryStore> = Arc::new(MeteredStore::new(
        store,
        metrics.clone(),
        config.writer_stall,
    ));
    let keys = Keys::load(store.as_ref(), config.clock.now(), life, sealer).await?;
    let identity: Arc<dyn IdentityVerifier> = match &config.identity_verifier {
        Some(provider) => provider.clone(),
        None => Arc::new(TestIdentityVerifier::new(config.identity_secret.clone())),
    };
    let mut app = App::new(store, keys, identity, config);
    app.metrics = metrics;
    let app = Arc::new(app);
    app.restore_limiter().await?;
    Ok(app)
}

/// The default KEK file: `<database>.kek` beside the database. Production keeps the KEK
/// elsewhere (`EDL_AUTHORITY_KEK_FILE` on another volume, or an HSM behind [`SeedSealer`]).
fn kek_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".kek");
    name.into()
}

/// Opens the database (PostgreSQL at `config.postgres_url` when set, else the SQLite file
/// at `config.db_path`: WAL, migrated), binds `config.listen` and serves on the current
/// tokio runtime until shut down.
pub async fn serve(config: Config) -> Result<RunningServer, ServeError> {
    serve_wrapped(config, |store| store).await
}

/// Like [`serve`], with the opened store passed through `wrap` before the server uses it:
/// a decorator around every store call (a test's store that holds one call back,
/// `authority/tests/common/pausing.rs`), on the database `config` names.
pub async fn serve_wrapped(
    config: Config,
    wrap: impl FnOnce(Arc<dyn RegistryStore>) -> Arc<dyn RegistryStore>,
) -> Result<RunningServer, ServeError> {
    // Before the database is opened or migrated.
    servable(&config)?;
    let (store, writer): (Arc<dyn RegistryStore>, _) = match &config.postgres_url {
        Some(url) => {
            let store = PgStore::connect(
                url,
                // Reads and a driver's changes share this pool; the writer has its own.
                pg_pool_size(&config),
                config.clock.clone(),
                2 * config.max_request_skew,
            )
            .await
            .map_err(Error::from)?;
            let writer = store.take_writer_task().map(WriterEnd::Task);
            (Arc::new(store), writer)
        }
        None => {
            let store = SqliteStore::open(
                &config.db_path,
                config.read_pool_size,
                config.clock.clone(),
                2 * config.max_request_skew,
            )
            .map_err(Error::from)?;
            let writer = store.take_writer_thread().map(WriterEnd::Thread);
            (Arc::new(store), writer)
        }
    };
    let mut server = serve_with_store(config, wrap(store)).await?;
    server.writer = writer;
    Ok(server)
}

/// Whether `config` can be served: its check limits (D168), its request deadline and clock
/// allowance (D183, D184).
fn servable(config: &Config) -> Result<(), ServeError> {
    config.check_limits.check()?;
    // The clocks are checked on PostgreSQL only: the processes on one SQLite file share
    // their host's (sixteenth review, W-F3).
    let max_clock_skew = config
        .max_clock_skew
        .filter(|_| config.postgres_url.is_some());
    if !resend_fits(config.request_timeout, max_clock_skew) {
        return Err(ServeError::RequestTimeout {
            request_timeout: config.request_timeout,
            max_clock_skew,
        });
    }
    Ok(())
}

/// Like [`serve`] over another [`RegistryStore`] (e.g. a PostgreSQL one); `config.db_path` is
/// not used.
pub async fn serve_with_store(
    config: Config,
    store: Arc<dyn RegistryStore>,
) -> Result<RunningServer, ServeError> {
    servable(&config)?;
    let listener = TcpListener::bind(config.listen).await?;
    let limits = conn::Limits {
        header_timeout: config.header_timeout,
        request_timeout: config.request_timeout,
        write_timeout: config.write_timeout,
        max_connections: capped_connections(&config),
    };
    let app = app(config, store).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let metrics = app.metrics.clone();
    // The metrics layer goes outside the deadline, so a request answered for it is counted.
    let router = http::router(app.clone())
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            crate::deadline::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app,
            crate::metrics::track,
        ));
    let task = tokio::spawn(conn::accept_loop(listener, router, rx, limits, metrics));
    Ok(RunningServer {
        addr,
        shutdown: Some(tx),
        task,
        writer: None,
    })
}

/// `config.max_connections`, or fewer if the process's open-file limit cannot hold that
/// many beside what the server keeps open (C-F8; D144).
fn capped_connections(config: &Config) -> usize {
    let soft = crate::open_files::soft_limit();
    let database_descriptors = if config.postgres_url.is_some() {
        // One socket a connection, the writer's included.
        pg_pool_size(config) + crate::store::postgres::WRITER_CONNECTIONS
    } else {
        // The readers and the writer, each with the database, its write-ahead log and its
        // shared memory open.
        3 * (config.read_pool_size + 1)
    };
    let reserve = crate::open_files::reserve(database_descriptors);
    let cap = crate::open_files::connection_cap(config.max_connections, soft, reserve);
    if cap < config.max_connections {
        tracing::warn!(
            open_files = soft,
            max_connections = config.max_connections,
            serving_at_once = cap,
            "the open-file limit holds fewer connections than configured; raise it \
             (LimitNOFILE) to serve them all"
        );
    }
    cap
}

/// Connections of the PostgreSQL store's pool, which reads and a driver's changes share
/// (the group-commit writer has [`crate::store::postgres::WRITER_CONNECTIONS`] of its own).
fn pg_pool_size(config: &Config) -> usize {
    2 * config.read_pool_size
}
