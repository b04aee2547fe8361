//! What `edl`'s exit status says (D94), and the one type a failing command returns.
//!
//! A script at a checkpoint acts on the status, not on the words: 0 verified and in
//! force, 1 refused (or any other failure), 2 a usage error (clap's), 3 the signatures
//! hold but the status is unknown (check online), 4 a trust list or status list was
//! refused, 5 the licence is not in force (suspended, superseded, revoked).

/// The presentation or the command was refused, or something failed.
pub const REFUSED: u8 = 1;
/// The signatures hold, but the status list is stale or does not cover the e-licence.
pub const STATUS_UNKNOWN: u8 = 3;
/// A trust list or status list was refused: forged, expired, older than the held one,
/// unsigned, or signed under another root.
pub const LIST_REFUSED: u8 = 4;
/// The presentation verified but the licence is not in force.
pub const NOT_IN_FORCE: u8 = 5;
/// Stdout or stderr was closed by the reader (`edl … | head -c1`): what a shell reports
/// for a tool that SIGPIPE stopped (128 + 13), with nothing printed.
pub const BROKEN_PIPE: u8 = 141;

/// A failed command: the one line `edl` prints on stderr and the exit status.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub code: u8,
    /// One line, no personal data.
    pub message: String,
}

impl Failure {
    /// A failure with exit status `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A trust list or status list refused (exit 4).
    pub fn list(message: impl Into<String>) -> Self {
        Self::new(LIST_REFUSED, message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::new(REFUSED, message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::new(REFUSED, message)
    }
}

/// Whether a panic message is std's report of a write to a closed stdout or stderr: the
/// reader went away, which is no bug of ours.
pub fn is_broken_pipe(panic_message: &str) -> bool {
    // std panics with "failed printing to stdout: Broken pipe (os error 32)"; EPIPE is
    // 32 on Linux and the BSDs.
    panic_message.starts_with("failed printing to std") && panic_message.ends_with("(os error 32)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_told_from_a_bug() {
        assert!(is_broken_pipe(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_broken_pipe("index out of bounds"));
        assert!(!is_broken_pipe(
            "failed printing to stdout: Disk quota exceeded"
        ));
    }
}
