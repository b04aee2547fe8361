//! `edl authority …`: run the issuing-authority server.

use std::net::SocketAddr;
use std::path::PathBuf;

use edl_authority::{Config, serve};

/// `edl authority` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the authority server on a database file (created if missing), or on PostgreSQL.
    ///
    /// The admin token comes from EDL_ADMIN_TOKEN (one is made up and printed when it is not
    /// set); the test identity provider's secret from EDL_IDENTITY_SECRET.
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
    let (db, listen) = match command {
        Command::Serve { db, listen, .. } => (db, listen),
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
    runtime.block_on(async move {
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
        config.identity_secret = std::env::var("EDL_IDENTITY_SECRET")
            .unwrap_or_default()
            .into_bytes();
        let server = serve(config).await.map_err(|e| e.to_string())?;
        // Not a log record but the readiness line scripts and tests wait for
        // (bindings/test.sh, cli/tests): plain, on stderr, whatever the log filter or
        // format, so it cannot be filtered out or wrapped in JSON.
        eprintln!("edl authority listening on {}", server.url());
        tracing::info!(url = %server.url(), "authority serving");
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        server.shutdown().await.map_err(|e| e.to_string())
    })
}
