//! Throwaway PostgreSQL clusters of the fault tests (`scripts/pg-cluster`), each removed
//! when dropped, so stopping or killing one disturbs no other test.

use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-cluster");

/// A cluster on a free loopback port.
pub struct Cluster {
    /// Its directory (data, log, port).
    pub dir: String,
    /// `postgres://edl@127.0.0.1:PORT/postgres`.
    pub url: String,
}

fn made(args: &[&str]) -> Cluster {
    let out = Command::new(SCRIPT).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "pg-cluster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    Cluster {
        dir: lines.next().unwrap().to_owned(),
        url: lines.next().unwrap().to_owned(),
    }
}

impl Cluster {
    /// A new primary.
    pub fn start() -> Cluster {
        made(&["start"])
    }

    /// A synchronous standby of `self` (every commit on `self` now waits for it).
    pub fn standby(&self) -> Cluster {
        made(&["standby", &format!("{}-standby", self.dir), &self.dir])
    }

    /// A URL naming `self` and its `standby`, for the one that takes writes
    /// (`target_session_attrs=read-write`): what an authority is given to fail over.
    pub fn with_standby_url(&self, standby: &Cluster) -> String {
        format!(
            "postgres://edl@{},{}/postgres?target_session_attrs=read-write",
            self.host(),
            standby.host()
        )
    }

    /// `host:port` of its server.
    pub fn host(&self) -> &str {
        let rest = self.url.trim_start_matches("postgres://edl@");
        &rest[..rest.find('/').unwrap()]
    }

    /// Runs `pg-cluster VERB DIR` (down, up, kill, promote).
    pub fn ctl(&self, verb: &str) {
        let status = Command::new(SCRIPT)
            .args([verb, &self.dir])
            .status()
            .unwrap();
        assert!(status.success(), "pg-cluster {verb}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT).args(["stop", &self.dir]).status();
    }
}
