//! `edl authority …`: run the issuing-authority server.

use std::net::SocketAddr;
use std::path::PathBuf;

use edl_authority::{Config, serve};

/// `edl authority` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the authority server on a database file (created if missing), or on PostgreSQL.
    ///
    /// The admin token (every role) comes from EDL_ADMIN_TOKEN (one is made up and printed
    /// when it is not set); per-person tokens with roles (registry, reviewer, key_admin,
    /// auditor) from the file EDL_ADMIN_TOKENS_FILE, one `NAME ROLE[,ROLE…] SHA256-HEX` a
    /// line; the test identity provider's secret from EDL_IDENTITY_SECRET.
    ///
    /// Example: `edl authority serve --db authority.db --listen 127.0.0.1:8088`
    Serve {
        /// The SQLite database file, or a PostgreSQL URL (`postgres://user@host:port/db`).
        /// With PostgreSQL the issuing keys' key-encryption key comes from
        /// EDL_AUTHORITY_KEK or EDL_AUTHORITY_KEK_FILE (default: `edl-authority.kek` here);
        /// every authority on the same database needs the same one.
        #[arg(long, default_value = "edl-authority.db")]
        db: String,
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: SocketAddr,
        /// Log records as text lines or JSON objects (default: EDL_LOG_FORMAT, else
        /// text). RUST_LOG filters them (default `info`).
        #[arg(long, value_enum)]
        log_format: Option<crate::logging::Format>,
        /// On SIGTERM or Ctrl-C: seconds to let requests in flight finish and the last
        /// batch commit before giving up (exit status 1). `/metrics` needs the bearer
        /// token in EDL_METRICS_TOKEN (unset: no scrape is answered).
        #[arg(long, default_value_t = 30)]
        drain_secs: u64,
    },
    /// The registry's admin calls over HTTP (token from EDL_ADMIN_TOKEN).
    Admin(Box<crate::admin::Args>),
    /// Save the authority's trust list (its issuer keys) for offline checks.
    ///
    /// Example: `edl authority trust-list --authority http://127.0.0.1:8088 --out trust.json`
    TrustList {
        /// The authority's URL.
        #[arg(long)]
        authority: String,
        /// Where to write it (the JSON answer of `GET /v1/trust-list`).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs an `edl authority` subcommand until it ends (Ctrl-C for `serve`).
pub fn run(command: Command) -> Result<(), String> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (db, listen, drain_secs) = match command {
        Command::Serve {
            db,
            listen,
            drain_secs,
            ..
        } => (db, listen, drain_secs),
        Command::Admin(args) => return crate::admin::run(*args),
        Command::TrustList { authority, out } => {
            let bytes = runtime.block_on(crate::http::trust_list(&authority))?;
            let body = serde_json::json!({ "trust_list": edl_core::wire::Base64::encode(&bytes) });
            std::fs::write(&out, body.to_string())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("trust list saved to {}", out.display());
            return Ok(());
        }
    };
    let served = runtime.block_on(async move {
        let mut config = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            let mut config = Config::new("edl-authority", listen);
            config.postgres_url = Some(db);
            config
        } else {
            Config::new(PathBuf::from(db), listen)
        };
        config.admin_token = match std::env::var("EDL_ADMIN_TOKEN") {
            Ok(token) if !token.is_empty() => token,
            _ => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).map_err(|_| "no OS random generator".to_owned())?;
                let token = hex::encode(bytes);
                eprintln!("EDL_ADMIN_TOKEN not set; admin token for this run: {token}");
                token
            }
        };
        // Per-person tokens with roles (D78): `NAME ROLE[,ROLE…] SHA256-HEX` a line.
        if let Ok(path) = std::env::var("EDL_ADMIN_TOKENS_FILE") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read EDL_ADMIN_TOKENS_FILE {path}: {e}"))?;
            config.admin_tokens = edl_authority::roles::AdminToken::parse_file(&text)
                .map_err(|e| format!("EDL_ADMIN_TOKENS_FILE {path}: {e}"))?;
        }
        config.identity_secret = std::env::var("EDL_IDENTITY_SECRET")
            .unwrap_or_default()
            .into_bytes();
        config.metrics_token = std::env::var("EDL_METRICS_TOKEN").unwrap_or_default();
        let server = serve(config).await.map_err(|e| e.to_string())?;
        // Not a log record but the readiness line scripts and tests wait for
        // (bindings/test.sh, cli/tests): plain, on stderr, whatever the log filter or
        // format, so it cannot be filtered out or wrapped in JSON.
        eprintln!("edl authority listening on {}", server.url());
        tracing::info!(url = %server.url(), "authority serving");
        stop_signal().await;
        tracing::info!(drain_secs, "shutting down: draining requests in flight");
        // Stops accepting, lets requests in flight finish, then waits for the writer to
        // commit what is queued and close the database: every answered write is on disk.
        let drain = std::time::Duration::from_secs(drain_secs);
        match tokio::time::timeout(drain, server.shutdown()).await {
            Ok(result) => {
                result.map_err(|e| e.to_string())?;
                tracing::info!("stopped");
                Ok(())
            }
            Err(_) => Err(format!(
                "requests still in flight after {drain_secs} s; stopping without them"
            )),
        }
    });
    // Past the drain bound, tasks still running are abandoned rather than waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// Resolves on SIGTERM (what a service manager or Kubernetes sends) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
