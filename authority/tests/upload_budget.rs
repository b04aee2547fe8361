//! A photo upload's body (up to 3 MiB) is the largest an anonymous caller can make the
//! authority hold, and it is signed, so it must be read before its signature is checked.
//! The third hostile review (C-F1) held 250 half-sent uploads under a made-up account and
//! took the server to 1.1 GB. Now an upload is refused before its body is read when its
//! timestamp is stale, and at most `Config::max_photo_uploads` bodies are read at once;
//! the next is answered 429 `busy` with Retry-After, and the rest of the API answers as
//! before. (An account with no device was refused before its body too, until that told
//! enrolled ids from others: AH-F1, D197.)

use crate::common;

use std::time::Duration;

use common::*;
use edl_core::wire::{HEADER_ACCOUNT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, paths};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens an upload for `account` signed at `timestamp` (a signature of zeros: the body
/// never ends, so it is never checked) announcing a 3,000,000-byte body and sending the
/// first 1,000 bytes of it.
async fn half_sent_upload(t: &TestServer, account: u64, timestamp: u64) -> TcpStream {
    let addr = t.url.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 3000000\r\n\
         {HEADER_ACCOUNT}: {account}\r\n{HEADER_TIMESTAMP}: {timestamp}\r\n{HEADER_NONCE}: {}\r\n{HEADER_SIGNATURE}: {}\r\n\r\n",
        paths::PHOTO,
        "00".repeat(16),
        edl_core::wire::Base64::encode(&[0u8; 64]),
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b' '; 1000]).await.unwrap();
    s
}

/// The status line of the answer on `s`, if one comes within `wait`.
async fn answer_within(s: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    Some(text.lines().next().unwrap_or_default().to_owned())
}

/// A stale upload is refused before its body; a fresh one's body is waited for whatever
/// its account, so whether an id has a device is not told by it (AH-F1, D197). The
/// places bound what bodies in flight can hold (`half_sent_uploads_beyond_the_budget_…`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_refused_before_its_body_when_stale_and_any_account_waits_alike() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    // A driver not yet enrolled: an account with no device key.
    let unenrolled = t.create_driver(&number(3), true).await;
    let mut s = half_sent_upload(&t, wallet.account, 1).await;
    let status = answer_within(&mut s, Duration::from_secs(5)).await;
    assert!(
        status.as_deref().is_some_and(|l| l.contains(" 401 ")),
        "a stale upload, while the body is still on its way: {status:?}"
    );
    // An enrolled account, one with no device, and no such account: all wait for the
    // body that never comes.
    for account in [wallet.account, unenrolled, wallet.account + 1_000] {
        let mut s = half_sent_upload(&t, account, t.now()).await;
        let status = answer_within(&mut s, Duration::from_secs(1)).await;
        assert_eq!(status, None, "account {account}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_uploads_beyond_the_budget_are_answered_busy_and_the_rest_still_answers() {
    let t = TestServer::start_with(|c| c.max_photo_uploads = 2).await;
    let (_, wallet) = t.issued_wallet(&number(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(half_sent_upload(&t, wallet.account, t.now()).await);
    }
    // The server has taken both in (their bodies are being read).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = half_sent_upload(&t, wallet.account, t.now()).await;
    let status = answer_within(&mut third, Duration::from_secs(5)).await;
    assert!(
        status.as_deref().is_some_and(|l| l.contains(" 429 ")),
        "the third upload: {status:?}"
    );
    // The rest of the API is not held up.
    let synced = t.sync(&mut wallet_clone(&wallet)).await;
    assert!(synced.cursor > 0);
    // Once the held uploads go, the driver's own upload is taken.
    drop(held);
    drop(third);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, v, _) = t.upload(&wallet, "after", &jpeg(1)).await;
    assert_ne!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
}

fn wallet_clone(w: &Wallet) -> Wallet {
    Wallet {
        key: edl_core::crypto::SecretKey::from_seed(*w.key.to_seed()),
        account: w.account,
        number: w.number.clone(),
        cursor: 0,
        credential: None,
        seed: None,
    }
}
