//! What a verifier learns by probing licence numbers (issue 13, finding 7): nothing. An
//! unknown number, a number with no e-licence and a wrong code on a real e-licence get
//! one answer, byte for byte, and the same lock-out after the same number of tries; every
//! probe is counted durably, so a restart does not give the prober a fresh start.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn manual(number: &str) -> Value {
    json!({"method": "manual", "licence_number": number, "code": "2123456"})
}

#[tokio::test]
async fn unknown_number_no_elicence_and_wrong_code_answer_alike() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    t.create_driver(&number(2), true).await;
    let real = wallet.manual(Audience::Business, t.now())["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if real == "2123456" {
        "2654321"
    } else {
        "2123456"
    };
    let targets = [
        json!({"method": "manual", "licence_number": wallet.number, "code": wrong}),
        manual(&number(2)),
        manual(&number(3)),
    ];
    // One verifier per target, so only the per-licence counting is at work.
    let mut answers = Vec::new();
    for (i, body) in targets.iter().enumerate() {
        let verifier = t.verifier(&format!("prober {i}"), "rental").await;
        let mut seen = Vec::new();
        for _ in 0..7 {
            let (s, v, h) = t.verify(&verifier, body.clone()).await;
            let retry = h.get("retry-after").map(|r| r.to_str().unwrap().to_owned());
            seen.push((s, v, retry));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0][0].0, StatusCode::FORBIDDEN);
    assert_eq!(answers[0][0].1["error"], "code_rejected");
    assert_eq!(answers[0][6].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        answers[0], answers[1],
        "a licence without e-licence stands out"
    );
    assert_eq!(
        answers[0], answers[2],
        "an unknown licence number stands out"
    );

    // A barcode naming an e-licence id that does not exist answers like a wrong code too.
    let verifier = t.verifier("barcode prober", "rental").await;
    let mut barcode = wallet.barcode(Audience::Business, t.now());
    let text = barcode["text"].as_str().unwrap().to_owned();
    let flipped: String = text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == '9' { '1' } else { '9' }
            } else {
                c
            }
        })
        .collect();
    barcode["text"] = json!(flipped);
    let (s, v, _) = t.verify(&verifier, barcode).await;
    assert_eq!((s, v), (answers[0][0].0, answers[0][0].1.clone()));
}

#[tokio::test]
async fn probes_of_unknown_numbers_are_still_counted_after_a_restart() {
    let mut t = TestServer::start().await;
    let prober = t.verifier("prober", "employer").await;
    let sprayer = t.verifier("sprayer", "employer").await;
    // Four probes of one unknown number, and 29 of as many unknown numbers...
    for _ in 0..4 {
        let (s, _, _) = t.verify(&prober, manual(&number(9000))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    for i in 0..29 {
        let (s, _, _) = t.verify(&sprayer, manual(&number(100 + i))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // ...survive a restart: the fifth on that number and the thirtieth overall are the
    // last ones answered, as if nothing had happened.
    t.restart().await;
    let (s, _, _) = t.verify(&prober, manual(&number(9000))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = t.verify(&prober, manual(&number(9000))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let (s, _, _) = t.verify(&sprayer, manual(&number(200))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = t.verify(&sprayer, manual(&number(201))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
}

/// What an anonymous caller learns by signing requests for account ids (the third hostile
/// review, C-F9): nothing. An id with an enrolled device, one without, and one that names
/// nobody get one answer, byte for byte, whether the request's timestamp is fresh or stale
/// (ids are sequential, so telling them apart counted the enrolled wallets).
#[tokio::test]
async fn account_ids_with_and_without_a_device_answer_alike() {
    use edl_core::wire::{
        Base64, HEADER_ACCOUNT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, paths,
    };
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(3)).await;
    let unenrolled = t.create_driver(&number(4), true).await;
    for timestamp in [t.now(), 1] {
        let mut answers = Vec::new();
        for account in [wallet.account, unenrolled, unenrolled + 1_000] {
            let headers = [
                (HEADER_ACCOUNT, account.to_string()),
                (HEADER_TIMESTAMP, timestamp.to_string()),
                (HEADER_NONCE, "00".repeat(16)),
                (HEADER_SIGNATURE, Base64::encode(&[0u8; 64]).to_string()),
            ];
            let path = format!("{}?cursor=0", paths::SYNC);
            let (s, v, _) = t.raw(reqwest::Method::GET, &path, &headers, vec![]).await;
            answers.push((s, v));
        }
        assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED, "{answers:?}");
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "timestamp {timestamp}: {answers:?}"
        );
    }
}

/// Whether an account id has an enrolled device is not told by when the body is read
/// either (twenty-seventh review, AH-F1): the body was read only for an account with a
/// device, so `Expect: 100-continue` got `100 Continue` for an enrolled id and an
/// immediate 401 for the others, and a request whose body never came waited for it only
/// for an enrolled id.
#[tokio::test]
async fn account_ids_with_and_without_a_device_read_the_body_alike() {
    use edl_core::wire::{
        Base64, HEADER_ACCOUNT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, paths,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(5)).await;
    let unenrolled = t.create_driver(&number(6), true).await;
    let addr = t.url.trim_start_matches("http://").to_owned();
    let mut first_lines = Vec::new();
    for account in [wallet.account, unenrolled, unenrolled + 1_000] {
        let head = format!(
            "POST {} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: 1\r\nexpect: 100-continue\r\n{HEADER_ACCOUNT}: {account}\r\n\
             {HEADER_TIMESTAMP}: {}\r\n{HEADER_NONCE}: {}\r\n{HEADER_SIGNATURE}: {}\r\n\r\n",
            paths::APPLY,
            t.now(),
            "00".repeat(16),
            Base64::encode(&[0u8; 64]),
        );
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0; 256];
        let read = tokio::time::timeout(
            std::time::Duration::from_millis(1500),
            stream.read(&mut buf),
        )
        .await;
        let line = match read {
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            _ => "no answer".to_owned(),
        };
        first_lines.push(line);
    }
    assert!(
        first_lines.iter().all(|l| *l == first_lines[0]),
        "{first_lines:?}"
    );
}
