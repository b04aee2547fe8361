//! `edl-load`: the authority under load (issue 15).
//!
//! - `populate`: N drivers with active e-licences straight into a SQLite file or a
//!   PostgreSQL database (`populate.rs`).
//! - `serve`: the authority (`edl_authority::serve`, what `edl authority serve` runs) on
//!   that database.
//! - `floor`: constant answers from a bare axum handler, tiny or of a given size; and,
//!   given a database, the durable floor: one read and one durable append an answer
//!   (`durable.rs`).
//! - `bench`: the matrix of workloads and connection counts against one authority and the
//!   floor, read next to the server's `/metrics` and the database's log rows
//!   (`bench.rs`), printed as Markdown rows.
//! - `size`: bytes the database takes, and its photos.
//!
//! Loopback only; every run is bounded in time and in requests. `scripts/load` runs it all.

mod bench;
mod codes;
mod db;
mod durable;
mod floor;
mod generate;
mod populate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// The allocator `edl` runs the authority with (D117): the server measured is the one
/// shipped. (The generator and the floors share it; they allocate little.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The authority's store failed.
    #[error("store: {0}")]
    Store(#[from] edl_authority::store::StoreError),
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// Anything else, said in words.
    #[error("{0}")]
    Setup(String),
}

/// A database: a SQLite file or a PostgreSQL URL.
#[derive(Debug, Clone)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl Target {
    fn parse(db: &str) -> Target {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Target::Postgres(db.to_owned())
        } else {
            Target::Sqlite(PathBuf::from(db))
        }
    }

    /// The backend's name in tables.
    pub fn backend(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "SQLite",
            Target::Postgres(_) => "PostgreSQL",
        }
    }
}

#[derive(Parser)]
#[command(about = "Load tools for the EDL authority (loopback only, bounded runs)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load drivers with active e-licences into an empty database (EDL_AUTHORITY_KEK set).
    Populate {
        /// SQLite file or postgres:// URL.
        #[arg(long)]
        db: String,
        /// Drivers to load.
        #[arg(long, default_value_t = 10_000)]
        drivers: u64,
        /// Bytes of each driver's photo.
        #[arg(long, default_value_t = 16_384)]
        photo_bytes: usize,
        /// Verification log entries per driver.
        #[arg(long, default_value_t = 3)]
        log_rows: u32,
    },
    /// Run the authority on a database until SIGTERM (EDL_AUTHORITY_KEK, EDL_METRICS_TOKEN).
    Serve {
        /// SQLite file or postgres:// URL.
        #[arg(long)]
        db: String,
        /// Address to listen on.
        #[arg(long)]
        listen: SocketAddr,
    },
    /// Serve constant answers: `/tiny` and `/sized/{bytes}`, and given `--durable` the
    /// durable floor's `/durable/{bytes}` and `/append/{bytes}`, until SIGTERM.
    Floor {
        /// Address to listen on.
        #[arg(long)]
        listen: SocketAddr,
        /// The durable floor's database: a SQLite file of its own, or the postgres:// URL
        /// of a cluster (it makes a database of its own there).
        #[arg(long)]
        durable: Option<String>,
        /// Rows the durable floor reads from (made at start).
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// The durable floor's read connections on PostgreSQL: the authority's pool (2, 4, 8
        /// and 16 measured alike: `docs/BENCHMARKS.md`, "The durable floor").
        #[arg(long, default_value_t = 16)]
        pg_readers: usize,
    },
    /// Measure the workloads against a running authority and floor; Markdown rows.
    Bench(bench::Args),
    /// Bytes the database takes, in all and in photos.
    Size {
        /// SQLite file or postgres:// URL.
        #[arg(long)]
        db: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Populate {
                db,
                drivers,
                photo_bytes,
                log_rows,
            } => {
                let plan = populate::Plan {
                    drivers,
                    photo_bytes,
                    log_rows,
                };
                let secs = populate::populate(&Target::parse(&db), &plan).await?;
                println!(
                    "populated {drivers} drivers in {secs:.1} s ({:.0} drivers/s)",
                    drivers as f64 / secs
                );
                Ok(())
            }
            Command::Serve { db, listen } => serve(Target::parse(&db), listen).await,
            Command::Floor {
                listen,
                durable,
                rows,
                pg_readers,
            } => {
                let durable = durable.map(|db| floor::DurableArgs {
                    target: Target::parse(&db),
                    rows,
                    pg_readers,
                });
                floor::serve(listen, durable).await
            }
            Command::Bench(args) => bench::run(args).await,
            Command::Size { db } => {
                let (total, photos, drivers) = db::size(&Target::parse(&db)).await?;
                println!(
                    "{total} bytes, {photos} of them photo bytes, {drivers} drivers: \
                     {} bytes per driver, {} without the photo",
                    total / drivers.max(1),
                    total.saturating_sub(photos) / drivers.max(1)
                );
                Ok(())
            }
        }
    });
    if let Err(e) = result {
        eprintln!("edl-load: {e}");
        std::process::exit(1);
    }
}

async fn serve(target: Target, listen: SocketAddr) -> Result<(), Error> {
    let mut config = match &target {
        Target::Sqlite(path) => edl_authority::Config::new(path.clone(), listen),
        Target::Postgres(url) => {
            let mut c = edl_authority::Config::new("edl-load", listen);
            c.postgres_url = Some(url.clone());
            c
        }
    };
    config.admin_token = std::env::var("EDL_ADMIN_TOKEN").unwrap_or_default();
    config.metrics_token = std::env::var("EDL_METRICS_TOKEN").unwrap_or_default();
    let server = edl_authority::serve(config)
        .await
        .map_err(|e| Error::Setup(format!("serve: {e}")))?;
    eprintln!("edl authority listening on {}", server.url());
    stop_signal().await;
    tokio::time::timeout(Duration::from_secs(30), server.shutdown())
        .await
        .map_err(|_| Error::Setup("drain took over 30 s".into()))?
        .map_err(|e| Error::Setup(format!("shutdown: {e}")))
}

/// SIGTERM or Ctrl-C.
pub async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
