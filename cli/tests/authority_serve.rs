//! `edl authority serve` starts a real server on a database file.

mod common;

#[test]
fn authority_serve_answers_on_the_address_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("authority.db");
    let (mut child, addr) = common::serve(&db, &[], &[]);
    let answer = String::from_utf8(common::get(&addr, "/v1/trust-list")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.contains("\"trust_list\""), "{answer}");
    assert!(db.exists(), "the database file was created");
}

/// `--db postgres://…` selects the PostgreSQL store: the server answers, and what it
/// acknowledged is there when a new process starts on the same database (the KEK from
/// `EDL_AUTHORITY_KEK_FILE`, as every authority on one database shares it). Runs in the
/// PostgreSQL pass of `scripts/test` (`EDL_TEST_PG`), on a schema of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_serve_on_postgres_serves_and_persists() {
    use edl_authority::testing::{PG_ENV, TestServer, number, pg_database};
    use edl_authority::{Clock, ManualClock, SystemClock};
    use edl_core::credential::Audience;
    use reqwest::StatusCode;

    let Some(server) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped: runs in the PostgreSQL pass (EDL_TEST_PG)");
        return;
    };
    let db = pg_database(&server).await;
    assert!(db.starts_with("postgres://"));
    let dir = tempfile::tempdir().unwrap();
    let kek = dir.path().join("authority.kek");
    let envs: [(&str, &std::ffi::OsStr); 1] = [("EDL_AUTHORITY_KEK_FILE", kek.as_os_str())];
    let clock = ManualClock::new(SystemClock.now());

    let (mut child, addr) = common::serve(&db, &[], &envs);
    let t = TestServer::clients_of(&format!("http://{addr}"), clock.clone());
    let police = t.verifier("交警", "enforcement").await;
    let (driver, mut wallet) = t.issued_wallet(&number(1)).await;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    common::sigterm(&child);
    assert!(common::wait_within(&mut child, std::time::Duration::from_secs(10)).is_some());
    // Nothing was written to a SQLite file instead.
    assert!(!std::path::Path::new("edl-authority.db").exists());

    let (mut child, addr) = common::serve(&db, &[], &envs);
    clock.set(SystemClock.now());
    let t = TestServer::clients_of(&format!("http://{addr}"), clock.clone());
    // The driver, the wallet's device key, the e-licence (its sealed seed opens with the
    // same KEK), the verifier and its check are all there.
    let detail = t
        .admin_ok(
            reqwest::Method::GET,
            &edl_core::wire::paths::with_id(edl_core::wire::paths::DRIVER, driver),
            serde_json::Value::Null,
        )
        .await;
    assert!(detail.to_string().contains(&number(1)), "{detail}");
    wallet.cursor = 0;
    let sync = t.sync(&mut wallet).await;
    assert_eq!(sync.verifications.len(), 1);
    assert_eq!(sync.verifications[0].verifier, "交警");
    // A new check (another form: another code): the e-licence's seed still opens, the
    // verifier's key still works.
    clock.set(SystemClock.now());
    let (s, v, _) = t
        .verify(&police, wallet.manual(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    common::sigterm(&child);
    assert!(common::wait_within(&mut child, std::time::Duration::from_secs(10)).is_some());
}
