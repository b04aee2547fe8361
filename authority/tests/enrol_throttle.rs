//! Nobody can stop a driver from enrolling (issue 13, finding 1; D75): wrong activation
//! codes no longer burn the code; they slow down further tries on that licence (a short,
//! capped back-off) and from that source (a long one). The driver with the right code
//! gets in after an attacker's failures within the licence's capped delay.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use edl_authority::config::EnrolLimits;
use edl_core::crypto::SecretKey;
use edl_core::wire::{Base64, paths};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A client whose requests come from another loopback address than the driver's.
fn attacker() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap()
}

async fn enrol(
    t: &TestServer,
    http: &reqwest::Client,
    number: &str,
    code: &str,
) -> (StatusCode, Value, Option<u64>) {
    let key = SecretKey::from_seed(rand32());
    let resp = http
        .post(format!("{}{}", t.url, paths::ENROL))
        .json(&json!({
            "licence_number": number,
            "activation_code": code,
            "device_public_key": Base64::encode(&key.public().to_bytes()),
        }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, resp.json().await.unwrap(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_do_not_lock_the_driver_out() {
    let t = TestServer::start().await;
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let limits = EnrolLimits::default();

    // Far more wrong codes than the old five that burnt the code, as fast as allowed.
    let evil = attacker();
    let mut refused = 0;
    for i in 0..20 {
        let (s, v, retry) = enrol(&t, &evil, &n, &format!("{:08}", i)).await;
        match s {
            StatusCode::UNAUTHORIZED => assert_eq!(v["error"], "bad_activation_code"),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(v["error"], "locked_out");
                assert!(retry.is_some_and(|r| r > 0), "{v}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
        t.clock.advance(1);
    }
    assert!(refused > 0, "the attacker was never slowed down");

    // The driver, from their own phone, with the right code: in, within the licence's
    // capped delay.
    let (s, v, retry) = enrol(&t, &t.http, &n, &code).await;
    let (s, v) = if s == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry.expect("Retry-After");
        assert!(wait <= limits.licence.cap, "driver told to wait {wait} s");
        t.clock.advance(wait);
        let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
        (s, v)
    } else {
        (s, v)
    };
    assert_eq!(s, StatusCode::OK, "the driver could not enrol: {v}");
    assert_eq!(v["account_id"], driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_spraying_many_licences_is_slowed_down_for_long() {
    let t = TestServer::start().await;
    let limits = EnrolLimits::default();
    let evil = attacker();
    let mut last = None;
    // One guess on each of many licences (most not even registered): per-licence limits
    // never trigger, the source's do.
    for i in 0..(limits.source.free + 6) {
        let (s, v, retry) = enrol(&t, &evil, &number(100 + i), "12345678").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            last = retry;
        } else {
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        }
    }
    let wait = last.expect("the spraying source was never locked out");
    assert!(wait > limits.licence.cap, "locked out for only {wait} s");

    // Another source (the honest driver) is not affected.
    let n = number(1);
    let driver = t.create_driver(&n, true).await;
    let code = t.activation_code(driver).await;
    let (s, v, _) = enrol(&t, &t.http, &n, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
