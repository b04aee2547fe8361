//! The one logging path of `edl`: `tracing` records from the CLI, the core and the
//! authority go to stderr through `tracing-subscriber`, filtered like `RUST_LOG`.
//!
//! Defaults: `warn` for the CLI's commands (their output is for people, logs only for
//! trouble) and `info` for `edl authority serve` (an operator wants to see it work).
//! `RUST_LOG` overrides either (`RUST_LOG=edl_authority=debug`). Servers can log JSON
//! lines for a collector: `--log-format json` or `EDL_LOG_FORMAT=json`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How records are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One human-readable line per record.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// `EDL_LOG_FORMAT=json` when no flag chose one.
    pub fn from_env() -> Format {
        match std::env::var("EDL_LOG_FORMAT") {
            Ok(v) if v.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Text,
        }
    }
}

/// Installs the subscriber: `RUST_LOG` if set and valid, else `default` (a filter
/// directive such as `warn` or `info`).
pub fn init(default: &str, format: Format) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed stderr (a script that read the readiness line and closed the pipe)
        // must not turn a failed log write into a panic of the server.
        .log_internal_errors(false);
    // A second install (never in `edl`) would fail; logging is then left as it was.
    let _ = match format {
        Format::Json => builder.json().try_init(),
        Format::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}
