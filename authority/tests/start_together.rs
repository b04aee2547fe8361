//! Authority processes started at once on a fresh database all start: a rolling upgrade or
//! a fleet's first start runs the same migrations side by side (second fresh-eyes review,
//! H-F5: on PostgreSQL, one of two concurrent `CREATE TABLE IF NOT EXISTS` failed with
//! 23505 and stopped that process; D173: under load two processes chased each other
//! through the steps past the store's four tries; tenth review, Q-F1: with three or more,
//! two `CREATE OR REPLACE FUNCTION` of one function failed with XX000). A migration that
//! fails for good says why (Q-F3).

use crate::common;

use edl_authority::testing::{PG_ENV, config, pg_client, pg_database};
use edl_authority::{Config, ManualClock, serve};

/// A configuration on a fresh database: a SQLite file in `dir`, or a schema of its own on
/// the suite's PostgreSQL server when there is one.
async fn fresh(dir: &tempfile::TempDir) -> Config {
    let clock = ManualClock::new(common::START);
    let mut c = config(dir.path().join("authority.db"), &clock);
    if let Some(url) = postgres() {
        c.postgres_url = Some(pg_database(&url).await);
    }
    c
}

fn postgres() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|url| !url.is_empty())
}

/// Whether this is the PostgreSQL pass of the suite; if not, says that the test is skipped.
fn in_postgres_pass() -> bool {
    let pass = postgres().is_some();
    if !pass {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
    }
    pass
}

/// Starts `n` processes on `c` at once and shuts them down; the errors of those that did
/// not start.
async fn start_at_once(n: usize, c: &Config) -> Vec<String> {
    let starts: Vec<_> = (0..n).map(|_| tokio::spawn(serve(c.clone()))).collect();
    let mut failed = Vec::new();
    for start in starts {
        match start.await.unwrap() {
            Ok(s) => s.shutdown().await.expect("clean shutdown"),
            Err(e) => failed.push(e.to_string()),
        }
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_started_at_once_on_a_fresh_database_both_start() {
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let failed = start_at_once(2, &fresh(&dir).await).await;
        assert!(failed.is_empty(), "round {round}: {failed:?}");
    }
}

/// Six at once, on PostgreSQL (SQLite's migrations take the file's write lock first).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_processes_started_at_once_on_a_fresh_database_all_start() {
    if !in_postgres_pass() {
        return;
    }
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let failed = start_at_once(6, &fresh(&dir).await).await;
        assert!(failed.is_empty(), "round {round}: {failed:?}");
    }
}

/// The same made likely: the database as a process killed between committing the audit
/// log's step (4) and recording its version leaves it (its objects made, version 3), so
/// the fleet then starting all run that step again, each replacing the existing function.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_started_on_a_step_made_but_not_recorded_all_start() {
    if !in_postgres_pass() {
        return;
    }
    for round in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let c = fresh(&dir).await;
        serve(c.clone()).await.unwrap().shutdown().await.unwrap();
        pg_client(c.postgres_url.as_deref().unwrap())
            .await
            .batch_execute("DELETE FROM edl_schema_version WHERE version >= 4")
            .await
            .unwrap();
        let failed = start_at_once(4, &c).await;
        assert!(failed.is_empty(), "round {round}: {failed:?}");
    }
}

/// A migration statement that fails for good with a code a clash also has (here 42710: a
/// type named like the `settings` table, left in the schema) is, past a few passes, the
/// error it is, with its SQLSTATE, not "database unavailable" (Q-F3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_fails_for_good_says_why() {
    if !in_postgres_pass() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = fresh(&dir).await;
    pg_client(c.postgres_url.as_deref().unwrap())
        .await
        .batch_execute("CREATE TYPE settings AS ENUM ('x')")
        .await
        .unwrap();
    let e = serve(c).await.err().expect("refused").to_string();
    assert!(e.contains("sqlstate 42710"), "{e}");
}
