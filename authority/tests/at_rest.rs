//! What a copy of the authority's files gives away (issue 13, finding 9): the database and
//! its WAL/SHM are readable by their owner only, and the issuing key seeds in it are sealed
//! under a key-encryption key kept outside it. Real server, real files.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::*;
use edl_authority::seal::{FileKek, KeyedDigest};
use edl_core::crypto::SecretKey;
use reqwest::Method;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_is_private_and_holds_no_plain_issuing_seed() {
    let mut s = TestServer::start().await;
    if s.on_postgres() {
        // File modes and the file's bytes: the embedded SQLite database only.
        eprintln!("skipped on PostgreSQL: a test of the SQLite file");
        return;
    }
    s.create_driver("110101199003071234", true).await;
    let db = s.db();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    let trusted = s.trust().await.keys()[0].key;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<u8> = conn
        .query_row("SELECT seed FROM issuer_keys", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    // No 32 bytes of the stored value are the seed of the key verifiers trust.
    assert!(
        !stored
            .windows(32)
            .any(|w| SecretKey::from_seed(w.try_into().unwrap()).public() == trusted),
        "the issuing seed is stored in the clear"
    );
    // The same KEK (the file beside the database) opens it again after a restart...
    s.restart().await;
    assert_eq!(s.trust().await.keys()[0].key, trusted);
    s.admin_ok(
        Method::GET,
        edl_core::wire::paths::REVIEWS,
        serde_json::Value::Null,
    )
    .await;
    // ...and another KEK does not: the server refuses to start rather than sign with
    // garbage.
    s.server.take().unwrap().shutdown().await.unwrap();
    let mut config = config(db.clone(), &s.clock);
    config.kek = Some(Arc::new(FileKek::new(&[0x42; 32])));
    assert!(edl_authority::serve(config).await.is_err());
}

/// Every byte of the database files, the WAL included (where fresh rows live until a
/// checkpoint).
fn database_bytes(db: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db.display())) {
            all.extend(bytes);
        }
    }
    all
}

/// On PostgreSQL: the stored e-licence seeds and driver aggregates (where the seed lives).
async fn pg_bytes(url: &str) -> Vec<u8> {
    let client = pg_client(url).await;
    let mut all = Vec::new();
    for r in client
        .query("SELECT seed FROM elicences", &[])
        .await
        .unwrap()
    {
        all.extend(r.get::<_, Vec<u8>>(0));
    }
    for r in client
        .query("SELECT state::TEXT FROM drivers", &[])
        .await
        .unwrap()
    {
        all.extend(r.get::<_, String>(0).into_bytes());
    }
    assert!(!all.is_empty(), "nothing read from the database");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_seeds_are_sealed_in_the_database() {
    let mut s = TestServer::start().await;
    let (_, wallet) = s.issued_wallet("110101199003071234").await;
    let seed = wallet.seed.expect("the wallet got its TOTP seed");
    let files = match &s.pg {
        Some(url) => pg_bytes(url).await,
        None => database_bytes(&s.db()),
    };
    let hex_seed = hex::encode(seed);
    assert!(
        !files.windows(32).any(|w| w == seed),
        "the TOTP seed is stored in the clear"
    );
    assert!(
        !files
            .windows(hex_seed.len())
            .any(|w| w.eq_ignore_ascii_case(hex_seed.as_bytes())),
        "the TOTP seed is stored in the clear, as hex"
    );
    // The server still opens it: after a restart, its codes verify.
    s.restart().await;
    let police = s.verifier("police", "enforcement").await;
    let (status, v, _) = s
        .verify(
            &police,
            wallet.online_qr(edl_core::credential::Audience::Enforcement, s.now()),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
}

/// A licence number typed in a check but held by nobody is counted under a name a copy of
/// the database cannot turn back into the number (fourth hostile review, I4; D150): it was
/// a plain SHA-256 of the number, and an 18-digit ID number has few enough likely values
/// (region, birth date, sequence) to be found from it, so the table of failures named the
/// ID numbers of people who may not be drivers at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probed_number_is_stored_under_a_name_the_database_alone_cannot_reverse() {
    // A KEK of the test's own, to compute the name the server must use.
    let kek = [0x21; 32];
    let t = TestServer::start_with(|c| c.kek = Some(Arc::new(FileKek::new(&kek)))).await;
    if t.on_postgres() {
        eprintln!("skipped on PostgreSQL: reads the SQLite file");
        return;
    }
    let police = t.verifier("police", "enforcement").await;
    let probed = "110101198001010017";
    let (s, _, _) = t
        .verify(
            &police,
            serde_json::json!({"method": "manual", "licence_number": probed, "code": "1123456"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::FORBIDDEN);
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    let targets: Vec<String> = conn
        .prepare("SELECT target FROM check_failures")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let probe_names: Vec<&String> = targets.iter().filter(|t| t.starts_with("n:")).collect();
    assert_eq!(probe_names.len(), 1, "{targets:?}");
    // What anyone holding the file could compute for each candidate number.
    let unkeyed =
        edl_core::crypto::sha256(format!("edl probed licence number {probed}").as_bytes());
    assert_ne!(
        probe_names[0],
        &format!("n:{}", hex::encode(&unkeyed[..16])),
        "the probed number's name is an unkeyed hash of it"
    );
    // It is the KEK's keyed digest: what only the holder of the KEK can compute.
    let keyed = FileKek::new(&kek).keyed_digest(b"probed licence number", probed.as_bytes());
    assert_eq!(probe_names[0], &format!("n:{}", hex::encode(&keyed[..16])));
}
