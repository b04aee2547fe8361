//! `edl`: the command a newcomer runs first.

mod authority;
mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// EDL Wallet: an electronic driving licence (电子驾驶证) wallet core and its tools.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Issue a sample e-licence, present it and verify it, step by step.
    ///
    /// Example: `edl demo --no-tty`
    Demo(demo::Args),
    /// Run the issuing-authority server.
    #[command(subcommand)]
    Authority(authority::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Authority(command) => authority::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("edl: {reason}");
            ExitCode::FAILURE
        }
    }
}
