//! `edl`: the command a newcomer runs first.

mod admin;
mod authority;
mod demo;
mod exit;
mod files;
mod http;
mod lists;
mod logging;
mod root;
mod scanner;
mod show;
mod verify;
mod wallet;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The process's allocator (D117): under load glibc's malloc took about a tenth of the
/// authority's CPU; mimalloc cut the server's CPU a check on PostgreSQL by a fifth to a
/// third. Set here, in the binary: the libraries (the core, the phone library) leave the
/// allocator to whoever links them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// EDL Wallet: an electronic driving licence (电子驾驶证) wallet core and its tools.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole flow on an authority started here: enrol, apply, photo, review, present,
    /// verify offline and online, violation, suspension, renewal.
    Demo(demo::Args),
    /// The issuing authority: run the server, admin calls, its root key, and the signed
    /// trust and status lists.
    #[command(subcommand)]
    Authority(authority::Command),
    /// Verify a presentation (QR payload, QR image or manual code), offline or online.
    Verify(verify::Args),
    /// A wallet on disk: enrol, apply, sync, show, present, photos, log.
    Wallet(wallet::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Authority(authority::Command::Serve { log_format, .. }) = &cli.command {
        // A server: records at info, optionally as JSON, and a panic is one error record
        // with its location (the handler's request is answered 500 and serving goes on).
        logging::init("info", log_format.unwrap_or_else(logging::Format::from_env));
        edl_authority::telemetry::log_panics();
    } else {
        logging::init("warn", logging::Format::from_env());
        // A bug must not greet the user with a backtrace: one line, and a non-zero exit.
        std::panic::set_hook(Box::new(|info| {
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            // The reader closed our output (`edl … | head -c1`): stop quietly, as a Unix
            // tool stopped by SIGPIPE does (Rust ignores SIGPIPE, so a write panics).
            if exit::is_broken_pipe(&what) {
                std::process::exit(i32::from(exit::BROKEN_PIPE));
            }
            eprintln!("edl: internal error (a bug; please report it): {what}");
        }));
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args).map_err(exit::Failure::from),
        Command::Authority(command) => authority::run(command),
        Command::Verify(args) => verify::run(&args),
        Command::Wallet(args) => wallet::run(args).map_err(exit::Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("edl: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
