//! A verifier guessing codes is locked out long before it covers a meaningful share of
//! the code space; the lock-out holds even for the right code, survives a restart, and
//! does not touch other verifiers.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn one_verifier_hammering_codes_is_locked_out_and_others_are_not() {
    let mut t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let bad = t.verifier("可疑租车行", "rental").await;
    let good = t.verifier("平安保险", "insurer").await;

    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut rejected = 0;
    let mut locked = 0;
    for guess in 0..200u32 {
        let code = format!("2{guess:06}");
        if code == real {
            continue;
        }
        let (s, v, h) = t
            .verify(
                &bad,
                json!({"method": "manual", "licence_number": wallet.number, "code": code}),
            )
            .await;
        match s {
            StatusCode::FORBIDDEN => {
                assert_eq!(v["error"], "code_rejected");
                rejected += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(v["error"], "locked_out");
                let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry > 0 && retry <= 15 * 60);
                assert_eq!(v["retry_after"].as_u64(), Some(retry));
                locked += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    // Five guesses of a million (two codes valid at a time): 0.001 % of the space, then
    // nothing but refusals.
    assert_eq!(rejected, 5);
    assert_eq!(
        locked,
        200 - 5 - usize::from((0..200).any(|g| format!("2{g:06}") == real))
    );

    // Refused even with the right code, in any form, until the lock-out ends.
    for body in [
        wallet.manual(Audience::Business, t.now()),
        wallet.online_qr(Audience::Business, t.now()),
        wallet.barcode(Audience::Business, t.now()),
    ] {
        let (s, v, _) = t.verify(&bad, body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("locked_out"))
        );
    }
    // Another verifier checking the same licence is not affected.
    let (s, v, _) = t
        .verify(&good, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A restart does not lift the lock-out.
    t.restart().await;
    let (s, _, _) = t
        .verify(&bad, wallet.manual(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);

    // The driver sees the failures, the lock-out (noted once per lock-out and server
    // run: here before and after the restart, not for each of the ~200 refusals) and
    // the good check.
    let synced = t.sync(&mut wallet).await;
    let outcomes: Vec<CheckOutcome> = synced.verifications.iter().map(|v| v.outcome).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CheckOutcome::WrongCode)
            .count(),
        5
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CheckOutcome::LockedOut)
            .count(),
        2
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CheckOutcome::Verified)
            .count(),
        1
    );
    assert!(
        synced
            .verifications
            .iter()
            .filter(|v| v.outcome != CheckOutcome::Verified)
            .all(|v| v.verifier == "可疑租车行")
    );

    // After the lock-out, the right code works again.
    t.clock.advance(15 * 60 + 1);
    let (s, v, _) = t
        .verify(&bad, wallet.manual(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn probing_unknown_ids_and_many_licences_locks_the_verifier_everywhere() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(2)).await;
    let sprayer = t.verifier("sprayer", "employer").await;
    let mut last = StatusCode::OK;
    for i in 0..40u32 {
        let (s, _, _) = t
            .verify(
                &sprayer,
                json!({"method": "manual", "licence_number": number(500 + i), "code": "2123456"}),
            )
            .await;
        last = s;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Locked out of the real licence too, though it never guessed there.
    let (s, _, _) = t
        .verify(&sprayer, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let other = t.verifier("other", "employer").await;
    let (s, _, _) = t
        .verify(&other, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// Only a check that verifies forgives a verifier's failures on a licence (second hostile
/// review, R3): a code someone else already spent (409), shown between wrong guesses, used
/// to clear them, so the pair's lock-out never came.
#[tokio::test]
async fn a_spent_code_between_wrong_guesses_does_not_forgive_them() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let police = t.verifier("交警", "enforcement").await;
    let prober = t.verifier("某交警终端", "enforcement").await;
    let qr = wallet.online_qr(Audience::Business, t.now());
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut wrong = (0..)
        .map(|n: u32| format!("2{n:06}"))
        .filter(|c| *c != real);
    let guess = |code: String| {
        t.verify(
            &prober,
            json!({"method": "manual", "licence_number": wallet.number, "code": code}),
        )
    };
    for _ in 0..4 {
        let (s, v, _) = guess(wrong.next().unwrap()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let (s, v, _) = t.verify(&prober, qr).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    // The fifth failure within the window locks the prober out of this licence.
    let (s, v, _) = guess(wrong.next().unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v, _) = t
        .verify(&prober, wallet.manual(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("locked_out")),
        "{v}"
    );
}
