//! PostgreSQL's group-commit writers of several authority processes take their rows in one
//! order, so they never deadlock (D163; fourth review, K-F3). Counted by PostgreSQL's own
//! verdicts (40P01, `store::postgres::deadlocks`), not by time.

use crate::common;

use std::sync::Arc;

use common::*;
use edl_core::wire::{paths, sign_request};
use reqwest::Method;

/// One account's signed requests sent to two processes in opposite orders (a replay of
/// the account's own requests) insert the same nonces in one batch each: in key order,
/// each batch waits for the other's in one order only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_account_s_requests_sent_to_two_processes_in_opposite_orders_never_deadlock() {
    let t = TestServer::start().await;
    if !t.on_postgres() {
        return; // SQLite's writers take the file's one lock.
    }
    let (other, u) = t.second_process().await;
    let (t, u) = (Arc::new(t), Arc::new(u));
    let (_, wallet) = t.issued_wallet(&number(63)).await;
    let before = edl_authority::store::postgres::deadlocks();
    let path = format!("{}?cursor=0", paths::SYNC);
    for _ in 0..30 {
        let mut requests = Vec::new();
        for _ in 0..16 {
            let auth = sign_request(&wallet.key, "GET", &path, &[], t.now(), rand16());
            let headers: Vec<(String, String)> = auth
                .headers(wallet.account)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            requests.push(headers);
        }
        let mut tasks = Vec::new();
        for (k, h) in requests.iter().enumerate() {
            let reversed = requests[requests.len() - 1 - k].clone();
            for (server, h) in [(t.clone(), h.clone()), (u.clone(), reversed)] {
                let path = path.clone();
                tasks.push(tokio::spawn(async move {
                    let h: Vec<(&str, String)> =
                        h.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    server
                        .try_raw(Method::GET, &path, &h, Vec::new())
                        .await
                        .map(|r| r.0.as_u16())
                        .unwrap_or(0)
                }));
            }
        }
        // Each request is answered once by one process and refused as a replay by the
        // other (401), none with a 503 of a batch given up.
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        assert!(
            answers.iter().all(|a| [200, 401].contains(a)),
            "{answers:?}"
        );
        assert_eq!(
            answers.iter().filter(|a| **a == 200).count(),
            16,
            "{answers:?}"
        );
    }
    assert_eq!(
        edl_authority::store::postgres::deadlocks() - before,
        0,
        "deadlocks PostgreSQL broke"
    );
    drop(u);
    other.shutdown().await.expect("clean shutdown");
}
