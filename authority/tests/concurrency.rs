//! Many requests at once: every acknowledged write (verification log entries, nonces) is
//! there afterwards, through the one group-committing writer.

mod common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::{CheckOutcome, paths};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_and_signed_requests_are_all_recorded() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("police", "enforcement").await;
    let body = wallet.online_qr(Audience::Enforcement, t.now());

    let t = std::sync::Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..250 {
        let (t, key, body) = (t.clone(), police.api_key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let v = Verifier { api_key: key };
            t.verify(&v, body).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    // Concurrent signed requests from one wallet: each has its own nonce, all accepted.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let t = t.clone();
        let w = Wallet {
            key: edl_core::crypto::SecretKey::from_seed(*wallet.key.to_seed()),
            account: wallet.account,
            number: wallet.number.clone(),
            cursor: 0,
            credential: None,
            seed: None,
        };
        tasks.push(tokio::spawn(async move {
            let path = format!("{}?cursor=0", paths::SYNC);
            t.signed(&w, Method::GET, &path, Value::Null).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }

    let mut t = std::sync::Arc::try_unwrap(t).ok().expect("tasks done");
    t.restart().await;
    let mut verified = 0;
    let mut pages = 0;
    loop {
        pages += 1;
        let synced = t.sync(&mut wallet).await;
        verified += synced
            .verifications
            .iter()
            .filter(|v| v.outcome == CheckOutcome::Verified)
            .count();
        if !synced.more {
            break;
        }
    }
    // 250 concurrent scans of one code by one verifier: all answered, one log entry (a code
    // is spent by its first check; the same verifier's repeats are not logged again).
    assert_eq!(verified, 1);
    assert_eq!(pages, 1);
}
