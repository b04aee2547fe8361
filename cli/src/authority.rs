//! `edl authority …`: run the issuing-authority server, its root key, and the signed
//! lists an offline verifier saves.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use edl_authority::{Config, serve};
use edl_core::wire::paths;

use crate::exit::Failure;
use crate::lists;

/// `edl authority` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the authority server on a database file (created if missing), or on PostgreSQL.
    ///
    /// The admin token (every role) comes from EDL_ADMIN_TOKEN (one is made up and printed
    /// when it is not set); per-person tokens with roles (registry, reviewer, key_admin,
    /// auditor) from the file EDL_ADMIN_TOKENS_FILE, one `NAME ROLE[,ROLE…] SHA256-HEX` a
    /// line; the test identity provider's secret from EDL_IDENTITY_SECRET. The root key
    /// that signs the trust list from EDL_AUTHORITY_ROOT_KEY_FILE (or EDL_AUTHORITY_ROOT_KEY,
    /// hex); EDL_AUTHORITY_NEXT_ROOT (the next root's public key, 64 hex digits) makes the
    /// served list announce a root rotation (D107); EDL_AUTHORITY_STATUS_LIST_TTL sets the
    /// status list's time-to-live in seconds; EDL_AUTHORITY_VERIFIER_RECHECK (0 to 60 s,
    /// default 10) how long a verifier revoked through another process may still be taken
    /// here (D194).
    ///
    /// Example: `edl authority serve --db authority.db --listen 127.0.0.1:8088`
    Serve {
        /// The SQLite database file, or a PostgreSQL URL (`postgres://user@host:port/db`).
        /// With PostgreSQL the issuing keys' key-encryption key comes from
        /// EDL_AUTHORITY_KEK or EDL_AUTHORITY_KEK_FILE (default: `edl-authority.kek` here);
        /// every authority on the same database needs the same one. Also read from
        /// EDL_AUTHORITY_DB, which keeps a URL's password out of the process list (D137).
        #[arg(
            long,
            env = "EDL_AUTHORITY_DB",
            hide_env_values = true,
            default_value = "edl-authority.db"
        )]
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
        /// The load balancers and reverse proxies in front (comma-separated IP addresses
        /// and networks, e.g. `10.0.0.7,10.1.0.0/16`), also read from
        /// EDL_AUTHORITY_TRUSTED_PROXIES. From them the enrolment back-off per source counts
        /// the right-most address of X-Forwarded-For that is not itself listed, so each
        /// must append (or overwrite) that header; from anyone else the header is ignored.
        /// Without the balancer listed, every client behind it is one source, and one
        /// client's wrong tries lock every driver out of enrolling (AH-F3; D199). Default:
        /// none. A malformed entry stops the server at start.
        #[arg(
            long,
            env = edl_authority::forwarded::TRUSTED_PROXIES_ENV,
            value_name = "LIST",
            value_parser = edl_authority::forwarded::TrustedProxies::parse
        )]
        trusted_proxies: Option<edl_authority::forwarded::TrustedProxies>,
    },
    /// The registry's admin calls over HTTP (token from EDL_ADMIN_TOKEN).
    Admin(Box<crate::admin::Args>),
    /// The root key that signs the trust list: create it, or sign a list with it.
    #[command(subcommand)]
    Root(crate::root::Command),
    /// Save the authority's root-signed trust list for offline checks: the bytes of
    /// `GET /v1/trust-list/signed` as served, the list of issuing keys with the root's
    /// signature.
    ///
    /// With --root (or EDL_ROOT) the list is checked before it is saved: a forged,
    /// expired or unsigned list, or one older than the list already in FILE, is refused
    /// (exit status 4) and FILE is kept. A list signed by the next root the saved list
    /// announced is accepted, and the new root to pin is printed. --from takes a list
    /// handed over another way (a file `edl authority root sign` wrote) through the
    /// same checks.
    ///
    /// Example: `edl authority trust-list --authority http://127.0.0.1:8088 --root KEY --out trust.bin`
    TrustList {
        /// The authority's URL.
        #[arg(long, required_unless_present = "from")]
        authority: Option<String>,
        /// Or a signed list in a file instead of the authority's answer.
        #[arg(long, conflicts_with = "authority")]
        from: Option<PathBuf>,
        /// Where to write it (replaced only by a newer list when --root is given).
        #[arg(long)]
        out: PathBuf,
        /// The pinned root public key (64 hex characters, or a file holding them).
        #[arg(long, env = "EDL_ROOT")]
        root: Option<String>,
    },
    /// Save the authority's signed status list (two bits per e-licence: in force,
    /// suspended, superseded) for offline checks: the bytes of `GET /v1/status-list`.
    ///
    /// With --trust FILE and --root the list's signature is checked against the trust
    /// list first (refused: exit status 4, FILE kept).
    ///
    /// Example: `edl authority status-list --authority URL --trust trust.bin --root KEY --out status.bin`
    StatusList {
        /// The authority's URL.
        #[arg(long)]
        authority: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// The saved signed trust list to check the status list's signature against.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The pinned root public key (64 hex characters, or a file holding them).
        #[arg(long, env = "EDL_ROOT")]
        root: Option<String>,
    },
}

/// Runs an `edl authority` subcommand until it ends (Ctrl-C for `serve`).
pub fn run(command: Command) -> Result<(), Failure> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (db, listen, drain_secs, trusted_proxies) = match command {
        Command::Serve {
            db,
            listen,
            drain_secs,
            trusted_proxies,
            ..
        } => (db, listen, drain_secs, trusted_proxies.unwrap_or_default()),
        Command::Admin(args) => return Ok(crate::admin::run(*args)?),
        Command::Root(command) => return crate::root::run(command, &runtime),
        Command::TrustList {
            authority,
            from,
            out,
            root,
        } => {
            let bytes = match (&from, &authority) {
                (Some(file), _) => lists::read(file)?,
                (None, Some(url)) => {
                    runtime.block_on(crate::http::bytes(url, paths::SIGNED_TRUST_LIST))?
                }
                (None, None) => return Err("give --authority URL or --from FILE".into()),
            };
            return save_trust_list(&bytes, &out, root.as_deref());
        }
        Command::StatusList {
            authority,
            out,
            trust,
            root,
        } => {
            return save_status_list(
                &runtime,
                &authority,
                &out,
                trust.as_deref(),
                root.as_deref(),
            );
        }
    };
    // Every connection holds a descriptor: the common soft limit of 1,024 cannot hold the
    // cap of 1,024 connections (D144). The server lowers its cap to what remains.
    let open_files = edl_authority::open_files::raise_soft_limit();
    tracing::debug!(open_files, "open-file limit");
    let served = runtime.block_on(async move {
        let mut config = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            let mut config = Config::new("edl-authority", listen);
            config.postgres_url = Some(db);
            config
        } else {
            Config::new(PathBuf::from(db), listen)
        };
        // Never an all-roles token in the log (third hostile review, C-F4; D137): with
        // per-person tokens there is none, and a made-up one is shown only at a terminal.
        config.admin_token = match std::env::var("EDL_ADMIN_TOKEN") {
            Ok(token) if !token.is_empty() => token,
            _ if std::env::var_os("EDL_ADMIN_TOKENS_FILE").is_some() => String::new(),
            _ if std::io::stderr().is_terminal() => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).map_err(|_| "no OS random generator".to_owned())?;
                let token = hex::encode(bytes);
                eprintln!("EDL_ADMIN_TOKEN not set; admin token for this run: {token}");
                token
            }
            _ => {
                eprintln!(
                    "neither EDL_ADMIN_TOKEN nor EDL_ADMIN_TOKENS_FILE is set: \
                     the admin API refuses every call"
                );
                String::new()
            }
        };
        // Per-person tokens with roles (D78): `NAME ROLE[,ROLE…] SHA256-HEX` a line.
        if let Ok(path) = std::env::var("EDL_ADMIN_TOKENS_FILE") {
            let text = crate::files::read(std::path::Path::new(&path), 1 << 20)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| format!("EDL_ADMIN_TOKENS_FILE: {e}"))?;
            config.admin_tokens = edl_authority::roles::AdminToken::parse_file(&text)
                .map_err(|e| format!("EDL_ADMIN_TOKENS_FILE {path}: {e}"))?;
        }
        config.identity_secret = std::env::var("EDL_IDENTITY_SECRET")
            .unwrap_or_default()
            .into_bytes();
        config.metrics_token = std::env::var("EDL_METRICS_TOKEN").unwrap_or_default();
        config.trusted_proxies = trusted_proxies;
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
    Ok(served?)
}

/// `edl authority trust-list`: the signed list fetched (or read), checked against the pinned root
/// and the list already saved (when a root is given), and save it as served.
fn save_trust_list(bytes: &[u8], out: &Path, root: Option<&str>) -> Result<(), Failure> {
    let Some(root) = root else {
        lists::save(out, bytes)?;
        println!(
            "signed trust list saved to {} (not checked: give --root KEY to check it)",
            out.display()
        );
        return Ok(());
    };
    let root = lists::parse_root(root)?;
    let held = crate::files::read_if_there(out, lists::MAX_LIST_BYTES)?;
    let accepted = lists::refresh(root, held.as_deref(), bytes, lists::now()?)?;
    lists::save(out, bytes)?;
    println!("{}", lists::describe_trust(&accepted.contents));
    println!("checked against the root and saved to {}", out.display());
    if accepted.root != root {
        println!(
            "the root rotated: pin {} from now on (--root, EDL_ROOT)",
            accepted.root
        );
    }
    Ok(())
}

/// `edl authority status-list`: fetch the signed status list, check its signature when
/// a trust list and root are given, and save it as served.
fn save_status_list(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    out: &Path,
    trust: Option<&Path>,
    root: Option<&str>,
) -> Result<(), Failure> {
    let bytes = runtime.block_on(crate::http::bytes(url, paths::STATUS_LIST))?;
    let Some(trust) = trust else {
        lists::save(out, &bytes)?;
        println!(
            "signed status list saved to {} (not checked: give --trust FILE and --root KEY to check it)",
            out.display()
        );
        return Ok(());
    };
    let root = root.ok_or("checking a status list needs the pinned root: --root KEY")?;
    let now = lists::now()?;
    let trust = lists::open_trust(&lists::parse_root(root)?, &lists::read(trust)?, now)?;
    let list = lists::open_status(&bytes, &trust, now)?;
    lists::check_live_status(&list, now)?;
    // Never back to an older list than the one saved (R16): replayed within its lifetime,
    // it would show a licence suspended since then as in force. A saved file that no
    // longer verifies (another authority, keys retired) is simply replaced.
    if let Some(held) = crate::files::read(out, lists::MAX_LIST_BYTES)
        .ok()
        .and_then(|held| lists::open_status(&held, &trust, now).ok())
        && held.issued_at > list.issued_at
    {
        return Err(Failure::list(format!(
            "status list refused: older than the one saved in {} (made {}, against {}); the saved one is kept",
            out.display(),
            edl_core::licence::beijing::format(u64::from(list.issued_at)),
            edl_core::licence::beijing::format(u64::from(held.issued_at)),
        )));
    }
    lists::save(out, &bytes)?;
    println!("{}", lists::describe_status(&list));
    println!("signature checked and saved to {}", out.display());
    Ok(())
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
