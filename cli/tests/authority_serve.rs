//! `edl authority serve` starts a real server on a database file.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Child;

/// Waits, 20 s at most, for `child`, a server given a setting it must refuse, to end; checks
/// it failed before it listened and returns its stderr. Bounded: a server that took the
/// setting would listen and never end by itself (`what` names it in the panic).
fn refused_at_start(mut child: Child, what: &str) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > until {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the server started with {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    stderr
}

/// Starts the server on `db` with `env`, checks that it answers the trust list, and stops
/// it.
fn serves_the_trust_list(db: &Path, env: &[(&str, &OsStr)]) {
    let (mut child, addr) = common::serve(db, &[], env);
    let answer = String::from_utf8(common::get(&addr, "/v1/trust-list")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.contains("\"trust_list\""), "{answer}");
}

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

/// `EDL_AUTHORITY_VERIFIER_RECHECK` sets how long a verifier revoked through another
/// process may still be taken (D194; twenty-third review, AD-F3): a value past its bounds
/// stops the server before it listens, naming them, and one within them serves.
#[test]
fn a_verifier_recheck_past_its_bounds_is_refused_at_start() {
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("authority.db");
    let child = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("EDL_AUTHORITY_VERIFIER_RECHECK", "61")
        .env("EDL_ADMIN_TOKEN", "t")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = refused_at_start(child, "a recheck of 61 s");
    assert!(stderr.contains("0 to 60 seconds"), "{stderr}");

    serves_the_trust_list(&db, &[("EDL_AUTHORITY_VERIFIER_RECHECK", OsStr::new("0"))]);
}

/// The trusted proxies (AH-F3; D199) are refused at start when an entry is not an address
/// or a network, from the flag or the environment, with the setting and the entry named;
/// a list of both kinds serves.
#[test]
fn a_malformed_trusted_proxy_is_refused_at_start_by_name() {
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("authority.db");
    let refused = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_edl"));
        command
            .args(["authority", "serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .args(args)
            .env("EDL_ADMIN_TOKEN", "t")
            .env_remove("EDL_AUTHORITY_TRUSTED_PROXIES")
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(list) = env {
            command.env("EDL_AUTHORITY_TRUSTED_PROXIES", list);
        }
        refused_at_start(command.spawn().unwrap(), &format!("{args:?} {env:?}"))
    };
    let stderr = refused(&[], Some("10.0.0.7, 10.0.0.0/33"));
    assert!(
        stderr.contains("EDL_AUTHORITY_TRUSTED_PROXIES") && stderr.contains("10.0.0.0/33"),
        "{stderr}"
    );
    let stderr = refused(&["--trusted-proxies", "10.0.0.1/8"], None);
    assert!(
        stderr.contains("--trusted-proxies") && stderr.contains("bits set past its prefix"),
        "{stderr}"
    );

    serves_the_trust_list(
        &db,
        &[(
            "EDL_AUTHORITY_TRUSTED_PROXIES",
            OsStr::new("127.0.0.1, 10.0.0.0/8, 2001:db8::/32"),
        )],
    );
}

/// With no `EDL_ADMIN_TOKEN`, the server makes up no all-roles token for its log (third
/// hostile review, C-F4): it printed one to stderr, the log stream, even when per-person
/// tokens were configured, so whoever read the logs held every role. Now a server with
/// per-person tokens has no all-roles token, and one without any prints a made-up token
/// only to a terminal; under a service manager (stderr a pipe) the admin API is closed.
#[test]
fn no_all_roles_token_is_made_up_into_the_log() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    // alice may only run the registry (the hash of "alice-token").
    let hash = hex::encode(edl_core::crypto::sha256(b"alice-token"));
    std::fs::write(&tokens, format!("alice registry {hash}\n")).unwrap();
    for with_file in [true, false] {
        let db = dir.path().join(format!("authority-{with_file}.db"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_edl"));
        command
            .args(["authority", "serve", "--listen", "127.0.0.1:0"])
            // The database from the environment (a URL's password stays out of `ps`).
            .env("EDL_AUTHORITY_DB", &db)
            .env_remove("EDL_ADMIN_TOKEN")
            .env_remove("EDL_ADMIN_TOKENS_FILE")
            .env_remove("EDL_AUTHORITY_ROOT_KEY")
            .env_remove("EDL_AUTHORITY_ROOT_KEY_FILE")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped());
        if with_file {
            command.env("EDL_ADMIN_TOKENS_FILE", &tokens);
        }
        let mut child = command.spawn().unwrap();
        let mut printed = Vec::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            let line = line.unwrap();
            let ready = line.starts_with("edl authority listening on ");
            printed.push(line);
            if ready {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(db.exists(), "the database EDL_AUTHORITY_DB names");
        let printed = printed.join("\n");
        // A token is 32 hex digits; nothing else the server prints has such a run.
        let token_like = printed
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() >= 32);
        assert!(!token_like, "tokens file: {with_file}; printed:\n{printed}");
    }
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
