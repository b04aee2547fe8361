//! One wallet cannot fill the authority's disk (issue 13, finding 5): only the photos a
//! review or the current e-licence needs keep their bytes, and a driver's uploads are
//! limited per day whatever idempotency keys the wallet invents (D82).

use crate::common;

use common::*;
use edl_authority::domain::MAX_PHOTO_BYTES;
use edl_authority::domain::rules::MAX_UPLOADS_PER_DAY;
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A 2 MiB JPEG-looking photo, different per `n`.
fn big(n: u8) -> Vec<u8> {
    let mut b = jpeg(n);
    b.resize(MAX_PHOTO_BYTES, n);
    b
}

/// The photo counts as [`usage`] reads them; the same SQL on both databases.
const PHOTO_USAGE: &str =
    "SELECT count(*), count(*) FILTER (WHERE length(bytes) > 0), coalesce(sum(length(bytes)), 0)
             FROM photos WHERE driver_id = ";

/// (photos stored for `driver`, of them still holding bytes, bytes held, bytes of the
/// database in use).
async fn usage(t: &TestServer, driver: u64) -> (i64, i64, i64, i64) {
    if let Some(url) = &t.pg {
        return pg_usage(url, driver).await;
    }
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    let (rows, with_bytes, bytes) = conn
        .query_row(&format!("{PHOTO_USAGE}?1"), [driver as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    (rows, with_bytes, bytes, (pages - free) * size)
}

/// [`usage`] on PostgreSQL: the space in use is the photo table's (with its TOAST) once
/// `VACUUM FULL` has dropped the row versions no one can see any more.
async fn pg_usage(url: &str, driver: u64) -> (i64, i64, i64, i64) {
    let client = pg_client(url).await;
    let r = client
        .query_one(&format!("{PHOTO_USAGE}$1"), &[&(driver as i64)])
        .await
        .unwrap();
    client.batch_execute("VACUUM FULL photos").await.unwrap();
    let size = client
        .query_one("SELECT pg_total_relation_size('photos')", &[])
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), size.get(0))
}

#[tokio::test]
async fn withdrawn_and_rejected_photos_keep_no_bytes_and_uploads_are_limited() {
    let t = TestServer::start().await;
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let (_, _, _, before) = usage(&t, driver).await;

    // Twelve 2 MiB uploads, each with a fresh idempotency key.
    let mut answers = Vec::new();
    for n in 0..12u8 {
        let (s, v, h) = t.upload(&wallet, &format!("fresh-{n}"), &big(n)).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["error"], "busy", "{v}");
            let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry > 0 && retry <= 24 * 3600);
        } else {
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        answers.push(s);
    }
    let accepted = answers.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(accepted, MAX_UPLOADS_PER_DAY, "{answers:?}");

    // One photo under review, one on file: only they hold bytes.
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(queue["reviews"].as_array().unwrap().len(), 1);
    let (rows, with_bytes, bytes, in_use) = usage(&t, driver).await;
    assert_eq!(rows as usize, 1 + accepted);
    assert_eq!(with_bytes, 2);
    assert!(
        bytes <= (MAX_PHOTO_BYTES + 4096) as i64,
        "{bytes} bytes held"
    );
    assert!(
        in_use - before < 3 * MAX_PHOTO_BYTES as i64,
        "the database grew by {} bytes",
        in_use - before
    );

    // A rejected photo loses its bytes too; an approved one replaces the one on file,
    // whose bytes go.
    let pending = queue["reviews"][0]["photo_id"].as_u64().unwrap();
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::REJECT, pending),
        json!({"reason": "模糊"}),
    )
    .await;
    assert_eq!(
        usage(&t, driver).await.1,
        1,
        "the rejected photo kept its bytes"
    );

    t.clock.advance(24 * 3600);
    let (s, v, _) = t.upload(&wallet, "next-day", &big(99)).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a day later the driver may upload again: {v}"
    );
    let photo = v["photo_id"].as_u64().unwrap();
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::APPROVE, photo),
        Value::Null,
    )
    .await;
    let (_, with_bytes, bytes, _) = usage(&t, driver).await;
    assert_eq!(with_bytes, 1, "the replaced photo on file kept its bytes");
    assert_eq!(bytes, MAX_PHOTO_BYTES as i64);
}
