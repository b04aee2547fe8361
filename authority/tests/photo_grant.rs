//! A photo grant (D92) is the verify answer's to carry, not one process's memory (D155): the
//! verifier that checked an e-licence fetches its photo for a few minutes from any
//! authority process on the database, and after a restart, and nobody else fetches it.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::crypto::sha256;
use edl_core::wire::{HEADER_API_KEY, HEADER_PHOTO_GRANT};
use reqwest::{Method, StatusCode};

/// A check of `wallet`'s online QR by `verifier`: the answer.
async fn checked(t: &TestServer, verifier: &Verifier, wallet: &Wallet) -> serde_json::Value {
    let (s, v, _) = t
        .verify(verifier, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The photo's bytes, which must be the ones the answer's digest names.
fn photo_of(answer: &serde_json::Value, body: Result<serde_json::Value, Vec<u8>>) -> Vec<u8> {
    let bytes = body.expect_err("a photo, not JSON");
    assert_eq!(
        hex::encode(sha256(&bytes)),
        answer["photo_digest"].as_str().unwrap()
    );
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_holds_on_another_process_and_after_a_restart_for_its_minutes() {
    let mut t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let answer = checked(&t, &police, &wallet).await;

    // The photo is fetched through another process (a load balancer's choice).
    let (other, u) = t.second_process().await;
    let (s, body, _) = u.verifier_photo(&police, &answer, &[]).await;
    assert_eq!(s, StatusCode::OK, "the other process: {body:?}");
    photo_of(&answer, body);
    other.shutdown().await.expect("clean shutdown");

    // And after a restart of the one that checked.
    t.restart().await;
    t.clock.advance(60);
    let (s, body, _) = t.verifier_photo(&police, &answer, &[]).await;
    assert_eq!(s, StatusCode::OK, "after a restart: {body:?}");
    photo_of(&answer, body);

    // Five minutes after the check, no longer.
    t.clock.advance(240);
    let (s, body, _) = t.verifier_photo(&police, &answer, &[]).await;
    assert_eq!(
        (
            s,
            body.ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
        ),
        (StatusCode::NOT_FOUND, Some("unknown_id".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_is_its_verifier_s_alone_and_cannot_be_altered() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(2)).await;
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let answer = checked(&t, &police, &wallet).await;
    let url = answer["photo_url"].as_str().unwrap();
    let grant = answer["photo_grant"].as_str().unwrap().to_owned();

    // What a photo nobody may read is answered: the refusals below must be this, byte for
    // byte, so none tells which photos exist (tests/photo.rs has the grant of another
    // photo).
    let nobody = format!("/v1/photos/{}", "ab".repeat(32));
    let key = |v: &Verifier| (HEADER_API_KEY, v.api_key.clone());
    let (s, unknown, _) = t
        .try_raw(Method::GET, &nobody, &[key(&police)], Vec::new())
        .await
        .unwrap();
    assert_eq!(s, StatusCode::NOT_FOUND);

    let mut altered = grant.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let refused = [
        ("its own key without the grant", &police, None),
        (
            "another verifier's key with the grant",
            &insurer,
            Some(&grant),
        ),
        (
            "the grant changed by one character",
            &police,
            Some(&altered),
        ),
        (
            "the grant cut short",
            &police,
            Some(&grant[..20].to_owned()),
        ),
    ];
    for (what, verifier, grant) in refused {
        let mut headers = vec![key(verifier)];
        if let Some(g) = grant {
            headers.push((HEADER_PHOTO_GRANT, g.clone()));
        }
        let (s, body, _) = t
            .try_raw(Method::GET, url, &headers, Vec::new())
            .await
            .unwrap();
        assert_eq!((s, &body), (StatusCode::NOT_FOUND, &unknown), "{what}");
    }
    let (s, body, _) = t.verifier_photo(&police, &answer, &[]).await;
    assert_eq!(s, StatusCode::OK);
    photo_of(&answer, body);
}

/// A grant for a photo replaced since the check (the photo review's PH-7): the old photo's
/// bytes are discarded and its row kept, and the grant got 200 with an empty body, which a
/// client reads as a photo that does not match its digest (tampering) rather than gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_for_a_photo_replaced_since_answers_not_found() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let police = t.verifier("交警", "enforcement").await;
    let answer = checked(&t, &police, &wallet).await;
    // A photo change approved within the grant's minutes.
    let (s, v, _) = t.upload(&wallet, "change-1", &jpeg(12)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.admin_ok(
        Method::POST,
        &edl_core::wire::paths::with_id(
            edl_core::wire::paths::APPROVE,
            v["photo_id"].as_u64().unwrap(),
        ),
        serde_json::Value::Null,
    )
    .await;
    let (s, body, _) = t.verifier_photo(&police, &answer, &[]).await;
    assert_eq!(
        (
            s,
            body.ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
        ),
        (StatusCode::NOT_FOUND, Some("unknown_id".to_owned()))
    );
}
