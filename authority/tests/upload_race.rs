//! A photo upload racing a stop or a renewal (issue 13, finding 11): the upload's phase
//! check is part of the same update as the upload, so a stopped or renewed driver never
//! ends up with a photo under review that no rule would have accepted.
//!
//! The race is made certain, not hoped for: the real store is wrapped
//! (`common::pausing`) so the upload's update waits until the stop (or renewal) has
//! committed, then goes ahead.

use crate::common;

use std::sync::Arc;

use common::pausing::{self, Pausing};
use common::*;
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Starts an upload, holds its update until `interleave` has run, then lets it finish;
/// returns the upload's answer.
async fn upload_around<F: std::future::Future<Output = ()>>(
    t: &Arc<TestServer>,
    store: &Pausing,
    wallet: Arc<Wallet>,
    interleave: F,
) -> (StatusCode, Value) {
    store.hold_next_update();
    let upload = {
        let t = t.clone();
        tokio::spawn(async move {
            let (s, v, _) = t.upload(&wallet, "racing", &jpeg(20)).await;
            (s, v)
        })
    };
    store.paused().await;
    interleave.await;
    store.release();
    upload.await.unwrap()
}

async fn no_photo_under_review(t: &TestServer, driver: u64) {
    let d = t.driver_detail(driver).await;
    assert!(
        d["application"]["pending_review"].is_null(),
        "a photo went under review after the change: {d}"
    );
    let queue = t.admin_ok(Method::GET, paths::REVIEWS, Value::Null).await;
    assert_eq!(
        queue["reviews"].as_array().map(Vec::len),
        Some(0),
        "{queue}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_a_malicious_photo_stop_is_refused() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let (s, v, _) = t.upload(&wallet, "first", &jpeg(9)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["photo_id"].as_u64().unwrap();

    let (s, v) = upload_around(&t, &store, Arc::new(wallet), async {
        let d = t
            .admin_ok(
                Method::POST,
                &paths::with_id(paths::REJECT, first),
                json!({"reason": "恶意上传", "malicious": true}),
            )
            .await;
        assert_eq!(d["phase"], "stopped");
    })
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("elicence_stopped")),
        "{v}"
    );
    no_photo_under_review(&t, driver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_a_renewal_is_refused() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (driver, wallet) = t.issued_wallet(&number(2)).await;

    let (s, v) = upload_around(&t, &store, Arc::new(wallet), async {
        let d = t
            .admin_ok(
                Method::POST,
                &paths::with_id(paths::RENEW, driver),
                json!({"valid_until": "2034-03-07"}),
            )
            .await;
        assert_eq!(d["application"]["phase"], "reapply_needed");
    })
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "{v}"
    );
    no_photo_under_review(&t, driver).await;
}
