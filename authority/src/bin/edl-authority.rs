//! `edl-authority --db FILE --listen ADDR`: the server on its own, for manual testing.
//! The admin token comes from `EDL_ADMIN_TOKEN` (printed when made up here) and the test
//! identity provider's secret from `EDL_IDENTITY_SECRET`.

use std::net::SocketAddr;
use std::process::ExitCode;

use edl_authority::{Config, serve};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let db = arg(&args, "--db").unwrap_or_else(|| "edl-authority.db".into());
    let listen: SocketAddr = match arg(&args, "--listen")
        .unwrap_or_else(|| "127.0.0.1:8088".into())
        .parse()
    {
        Ok(a) => a,
        Err(_) => {
            eprintln!("usage: edl-authority [--db FILE] [--listen ADDR]");
            return ExitCode::from(2);
        }
    };
    let mut config = Config::new(db, listen);
    config.admin_token = std::env::var("EDL_ADMIN_TOKEN").unwrap_or_else(|_| {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random generator is available");
        let token = hex::encode(bytes);
        eprintln!("EDL_ADMIN_TOKEN not set; admin token for this run: {token}");
        token
    });
    config.identity_secret = std::env::var("EDL_IDENTITY_SECRET")
        .unwrap_or_default()
        .into_bytes();
    let server = match serve(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edl-authority: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("edl-authority listening on {}", server.url());
    let _ = tokio::signal::ctrl_c().await;
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edl-authority: {e}");
            ExitCode::FAILURE
        }
    }
}
