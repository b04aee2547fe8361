//! The verifier's online client (`edl_core::net::OnlineVerifier`, what the bindings'
//! `OnlineVerifier` wraps) against the real authority on loopback: every way of presenting,
//! what each audience sees, and each refusal as the typed error an app branches on.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::net::{NetError, OnlineVerifier, OnlineVerifyError};
use edl_core::present::{Form, PayloadError};
use edl_core::wire::{ErrorCode, LiveView};

fn client(t: &TestServer, verifier: &Verifier) -> OnlineVerifier {
    OnlineVerifier::new(&t.url, &verifier.api_key).expect("a loopback URL")
}

fn refused(code: ErrorCode) -> Result<(), OnlineVerifyError> {
    Err(OnlineVerifyError::Net(NetError::Rejected { code }))
}

#[tokio::test]
async fn qr_barcode_and_manual_code_each_verify_with_the_verifiers_view() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let holder = wallet.holder();
    let insurer = client(&t, &t.verifier("平安保险", "insurer").await);
    let police = client(&t, &t.verifier("交警支队", "enforcement").await);

    let qr = holder
        .present(Form::Online, Audience::Enforcement, t.now(), 30)
        .unwrap()
        .payload;
    let online = police.verify_qr(&qr).await.expect("police check");
    let answer = &online.answer;
    assert_eq!(answer.elicence_id, holder.id());
    assert!(answer.in_force);
    let LiveView::Enforcement { licence } = &answer.view else {
        panic!("police see both pages");
    };
    assert_eq!(licence.main.licence_number, wallet.number);
    // The photo came by its digest, separately, and is the one the licence names (D92).
    assert_eq!(edl_core::crypto::sha256(&online.photo), answer.photo_digest);
    assert_eq!(answer.photo_digest, licence.main.photo_digest);
    assert_eq!(online.photo, jpeg(1));

    // The driver chose the enforcement view, but an insurer only ever gets the
    // qualification: the narrower of the two audiences. (A code is single-use: the
    // insurer is shown the next window's.)
    t.clock.advance(30);
    let qr = holder
        .present(Form::Online, Audience::Enforcement, t.now(), 30)
        .unwrap()
        .payload;
    let online = insurer.verify_qr(&qr).await.expect("insurer check");
    let answer = &online.answer;
    let LiveView::Business { qualification } = &answer.view else {
        panic!("an insurer sees the qualification only");
    };
    assert_ne!(qualification.masked_number, wallet.number);
    assert!(qualification.masked_number.contains('*'));

    let dynamic = holder
        .dynamic_code(Audience::Business, t.now(), 30)
        .unwrap();
    let by_barcode = insurer
        .verify_barcode(dynamic.barcode.text())
        .await
        .unwrap();
    assert_eq!(by_barcode.answer.elicence_id, holder.id());
    // Spaces as a person reads the code out, around the number too.
    let spaced = format!(
        "{} {}",
        &dynamic.manual_code[..3],
        &dynamic.manual_code[3..]
    );
    let by_manual = insurer
        .verify_manual(&format!(" {} ", wallet.number), &spaced)
        .await
        .unwrap();
    assert_eq!(by_manual.answer.elicence_id, holder.id());
    assert_eq!(by_manual.answer.view.audience(), Audience::Business);
}

#[tokio::test]
async fn refusals_are_typed_and_malformed_input_is_refused_on_the_phone() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(2)).await;
    let holder = wallet.holder();
    let insurer = client(&t, &t.verifier("平安保险", "insurer").await);

    // A code from a window long gone: a screenshot.
    let old = holder
        .present(Form::Online, Audience::Business, t.now() - 600, 30)
        .unwrap()
        .payload;
    assert_eq!(
        insurer.verify_qr(&old).await.map(drop),
        refused(ErrorCode::CodeRejected)
    );
    // An unknown licence number answers like a wrong code: probing learns nothing (D81).
    assert_eq!(
        insurer
            .verify_manual(&number(99), "2123456")
            .await
            .map(drop),
        refused(ErrorCode::CodeRejected)
    );

    // An offline QR is not for the online check: refused before anything is sent.
    let offline = holder
        .present(Form::Offline, Audience::Business, t.now(), 30)
        .unwrap()
        .payload;
    assert_eq!(
        insurer.verify_qr(&offline).await.map(drop),
        Err(OnlineVerifyError::Malformed(PayloadError::WrongForm))
    );
    assert!(matches!(
        insurer.verify_barcode("not digits").await,
        Err(OnlineVerifyError::Malformed(_))
    ));

    let fake = client(
        &t,
        &Verifier {
            api_key: "not-a-key".into(),
        },
    );
    let fresh = holder
        .present(Form::Online, Audience::Business, t.now(), 30)
        .unwrap()
        .payload;
    assert_eq!(
        fake.verify_qr(&fresh).await.map(drop),
        Err(OnlineVerifyError::Net(NetError::Unauthorised(
            ErrorCode::Unauthorized
        )))
    );
    // The refusals above did not use up the real verifier's attempts for this licence
    // (two failures so far): the live code still verifies.
    assert!(insurer.verify_qr(&fresh).await.unwrap().answer.in_force);
}

#[tokio::test]
async fn guessing_ends_in_a_lock_out_with_its_wait() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let rental = client(&t, &t.verifier("可疑租车行", "rental").await);
    let real = wallet
        .holder()
        .dynamic_code(Audience::Business, t.now(), 30)
        .unwrap();
    let mut outcomes = Vec::new();
    for guess in 0..8u32 {
        let code = format!("2{guess:06}");
        if code != real.manual_code {
            outcomes.push(rental.verify_manual(&wallet.number, &code).await.map(drop));
        }
    }
    let locked = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(OnlineVerifyError::Net(NetError::LockedOut { retry_after_secs }))
                    if *retry_after_secs > 0
            )
        })
        .count();
    assert_eq!(outcomes[0], refused(ErrorCode::CodeRejected));
    assert!(locked >= 2, "{outcomes:?}");
}

#[tokio::test]
async fn trust_list_matches_the_authoritys_and_a_stopped_server_is_offline() {
    let mut t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(4)).await;
    let insurer = client(&t, &t.verifier("平安保险", "insurer").await);
    assert_eq!(
        insurer.trust_list().await.unwrap().encode(),
        t.trust().await.encode()
    );

    let qr = wallet
        .holder()
        .present(Form::Online, Audience::Business, t.now(), 30)
        .unwrap()
        .payload;
    t.server.take().unwrap().shutdown().await.unwrap();
    assert_eq!(
        insurer.verify_qr(&qr).await.map(drop),
        Err(OnlineVerifyError::Net(NetError::Offline))
    );
    assert_eq!(insurer.trust_list().await.map(drop), Err(NetError::Offline));
}

/// A photo whose answer the network loses is fetched again (its grant lasts minutes): the
/// check, already spent and logged by the authority, is not handed to the verifier as
/// offline (D159).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_whose_answer_is_lost_is_fetched_again() {
    let t = TestServer::start().await;
    let proxy = common::holding_proxy::HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let (_, wallet) = t.issued_wallet(&number(9)).await;
    let police = t.verifier("交警支队", "enforcement").await;
    let client = OnlineVerifier::new(&proxy.url, &police.api_key).expect("a loopback URL");
    proxy.lose_next_answer_to(b"GET /v1/photos/");
    let qr = wallet
        .holder()
        .present(Form::Online, Audience::Enforcement, t.now(), 30)
        .unwrap()
        .payload;
    let online = client
        .verify_qr(&qr)
        .await
        .expect("verified, the photo asked again");
    assert!(!proxy.still_to_lose(), "the photo's answer was lost once");
    assert_eq!(online.photo, jpeg(1));
}

/// The photo's fetch, retries and waits included, is bounded (D159): its failure comes back
/// while the verifier can still repeat the check (60 s from the spend, D108, D183), not after
/// two 10 s Retry-After waits (second fresh-eyes review, F3). And a photo that cannot be
/// had fails the check: a verdict without the face is not shown (D160).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_that_cannot_be_had_fails_the_check_within_its_bound() {
    let t = TestServer::start().await;
    let proxy = common::holding_proxy::HoldingProxy::start(t.server.as_ref().unwrap().addr()).await;
    let (_, wallet) = t.issued_wallet(&number(10)).await;
    let police = t.verifier("交警支队", "enforcement").await;
    let client = OnlineVerifier::new(&proxy.url, &police.api_key).expect("a loopback URL");
    proxy.answer(
        b"GET /v1/photos/",
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 10\r\ncontent-length: 37\r\nconnection: close\r\n\r\n{\"error\":\"busy\",\"message\":\"busy now\"}",
    );
    let qr = wallet
        .holder()
        .present(Form::Online, Audience::Enforcement, t.now(), 30)
        .unwrap()
        .payload;
    let started = std::time::Instant::now();
    let got = client.verify_qr(&qr).await;
    let took = started.elapsed();
    assert!(got.is_err(), "{got:?}");
    let bound = edl_core::net::PHOTO_FETCH_SECS;
    assert!(
        took < std::time::Duration::from_secs(bound + 3),
        "the photo's failure came {took:?} after the check"
    );
    // The repeat, once the photo can be had, is answered again with it.
    proxy.mend();
    let again = client.verify_qr(&qr).await.expect("the repeat");
    assert_eq!(again.photo, jpeg(1));
}
