//! One admin token no longer does everything (issue 13, finding 13; D78): each token has
//! the roles the operator gave it, each endpoint checks its role (403 `forbidden`), and
//! every admin call, refused ones too, is in an append-only audit log (who, what, when,
//! the id acted on; no personal data) that only the auditor role reads.

use crate::common;

use common::*;
use edl_authority::roles::{AdminToken, Role};
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_does_only_its_job_and_every_call_is_audited() {
    let t = TestServer::start_with(|c| {
        c.admin_tokens = vec![
            AdminToken::new("clerk-wang", &[Role::Registry], "t-registry"),
            AdminToken::new("reviewer-li", &[Role::Reviewer], "t-reviewer"),
            AdminToken::new("keys-zhao", &[Role::KeyAdmin], "t-keys"),
            AdminToken::new("auditor-chen", &[Role::Auditor], "t-audit"),
        ]
    })
    .await;
    // The key rotation below takes a second of its own, after the first key's (AK-F2).
    t.clock.advance(1);
    let n = number(1);
    let driver = t.create_driver(&n, false).await;
    let status = paths::with_id(paths::STATUS, driver);

    // The registry clerk changes a status, but cannot rotate keys or review photos.
    let (s, v) = t
        .admin_as("t-registry", Method::PUT, &status, json!({"status": "D"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .admin_as("t-registry", Method::POST, paths::ROTATE_KEY, Value::Null)
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, _) = t
        .admin_as("t-registry", Method::GET, paths::REVIEWS, Value::Null)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The reviewer cannot touch the registry; the key administrator rotates keys only.
    let (s, _) = t
        .admin_as("t-reviewer", Method::PUT, &status, json!({"status": "A"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .admin_as("t-keys", Method::POST, paths::ROTATE_KEY, Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = t
        .admin_as(
            "t-keys",
            Method::GET,
            &paths::with_id(paths::DRIVER, driver),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A wrong token is not an actor: 401, and nothing to log under a name.
    let (s, _) = t
        .admin_as("t-nobody", Method::PUT, &status, json!({"status": "A"}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Only the auditor reads the log.
    let audit = edl_authority::http::audit::AUDIT;
    let (s, _) = t
        .admin_as("t-registry", Method::GET, audit, Value::Null)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, log) = t.admin_as("t-audit", Method::GET, audit, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().unwrap();
    let line = |e: &Value| {
        format!(
            "{} {} {} {}",
            e["actor"].as_str().unwrap(),
            e["action"].as_str().unwrap(),
            e["target"],
            e["allowed"]
        )
    };
    let lines: Vec<String> = entries.iter().map(line).collect();
    for want in [
        format!("clerk-wang PUT {} {driver} true", paths::STATUS),
        format!("clerk-wang POST {} null false", paths::ROTATE_KEY),
        format!("reviewer-li PUT {} {driver} false", paths::STATUS),
        format!("keys-zhao POST {} null true", paths::ROTATE_KEY),
        format!("auditor-chen GET {audit} null true"),
    ] {
        assert!(lines.contains(&want), "{want} not in {lines:#?}");
    }
    // Who, what, when, and the id: never a licence number or a name from the body.
    let text = log.to_string();
    assert!(!text.contains(&n), "{text}");
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(entries.iter().all(|e| e["at"].as_u64() == Some(t.now())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_cannot_be_rewritten() {
    let t = TestServer::start().await;
    t.create_driver(&number(1), false).await;
    if let Some(url) = &t.pg {
        // Through PostgreSQL itself, as the table's owner: the trigger refuses all three.
        let client = pg_client(url).await;
        for sql in [
            "UPDATE admin_audit SET actor = 'someone else'",
            "DELETE FROM admin_audit",
            "TRUNCATE admin_audit",
        ] {
            let e = client.batch_execute(sql).await.unwrap_err();
            assert!(format!("{e:?}").contains("append-only"), "{sql}: {e:?}");
        }
        let actors: Vec<String> = client
            .query("SELECT actor FROM admin_audit", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(actors, ["admin"]);
        return;
    }
    // Through SQLite itself, as a bug or a careless operator would.
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    assert!(
        conn.execute("UPDATE admin_audit SET actor = 'someone else'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM admin_audit", []).is_err());
    let actors: Vec<String> = conn
        .prepare("SELECT actor FROM admin_audit")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actors, ["admin"]);
}

/// An id written with percent-escapes (`/admin/drivers/%31%32/status` is driver 12 to the
/// handler) is the same call in the audit log: the same action and the same target
/// (second hostile review, R5: it was logged with the escapes and no target, so an
/// auditor looking for the driver's id never saw it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escaped_id_is_audited_as_the_id_the_handler_acted_on() {
    let t = TestServer::start_with(|c| {
        c.admin_tokens = vec![
            AdminToken::new("clerk-wang", &[Role::Registry], "t-registry"),
            AdminToken::new("auditor-chen", &[Role::Auditor], "t-audit"),
        ]
    })
    .await;
    let driver = t.create_driver(&number(1), false).await;
    let escaped: String = driver
        .to_string()
        .bytes()
        .map(|d| format!("%{d:02X}"))
        .collect();
    let path = paths::STATUS.replace("{id}", &escaped);
    let (s, v) = t
        .admin_as("t-registry", Method::PUT, &path, json!({"status": "D"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = t.driver_detail(driver).await;
    assert_eq!(d["licence"]["main"]["status"], "D", "{d}");

    let audit = edl_authority::http::audit::AUDIT;
    let (s, log) = t.admin_as("t-audit", Method::GET, audit, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let status_calls: Vec<(&str, &Value)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "clerk-wang")
        .map(|e| (e["action"].as_str().unwrap(), &e["target"]))
        .collect();
    assert_eq!(
        status_calls,
        [(format!("PUT {}", paths::STATUS).as_str(), &json!(driver))]
    );
}
