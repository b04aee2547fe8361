//! Authority processes started at once on a fresh database all start: a rolling upgrade or
//! a fleet's first start runs the same migrations side by side (second fresh-eyes review,
//! H-F5: on PostgreSQL, one of two concurrent `CREATE TABLE IF NOT EXISTS` failed with
//! 23505 and stopped that process).

mod common;

use edl_authority::testing::{PG_ENV, config, pg_database};
use edl_authority::{ManualClock, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_started_at_once_on_a_fresh_database_both_start() {
    let pg = std::env::var(PG_ENV).ok().filter(|url| !url.is_empty());
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(common::START);
        let mut c = config(dir.path().join("authority.db"), &clock);
        if let Some(url) = &pg {
            c.postgres_url = Some(pg_database(url).await);
        }
        let (a, b) = tokio::join!(serve(c.clone()), serve(c));
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => panic!(
                "round {round}: {:?} / {:?}",
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string())
            ),
        };
        a.shutdown().await.expect("clean shutdown");
        b.shutdown().await.expect("clean shutdown");
    }
}
