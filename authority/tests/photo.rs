//! The photo as its own resource (D92): a verify answer is small and names the photo by its
//! digest; the photo is served as bytes, kept by no cache (D147), to the verifier that just
//! checked that e-licence (for a few minutes, with the answer's grant, D155) and to its
//! driver, and to no one else.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::crypto::sha256;
use edl_core::wire::{HEADER_API_KEY, HEADER_PHOTO_GRANT, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// GET of `path` with `headers`: status, headers and the raw body.
async fn get(
    t: &TestServer,
    path: &str,
    headers: &[(&str, String)],
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = t.http.get(format!("{}{path}", t.url));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn key(v: &Verifier) -> Vec<(&'static str, String)> {
    vec![(HEADER_API_KEY, v.api_key.clone())]
}

/// `v`'s key with the photo grant of the verify `answer` (D155).
fn granted(v: &Verifier, answer: &serde_json::Value) -> Vec<(&'static str, String)> {
    let mut headers = key(v);
    let grant = answer["photo_grant"]
        .as_str()
        .expect("the answer grants the photo");
    headers.push((HEADER_PHOTO_GRANT, grant.to_owned()));
    headers
}

#[tokio::test]
async fn the_answer_names_the_photo_and_the_checking_verifier_fetches_it_once() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let r = t
        .http
        .post(format!("{}{}", t.url, paths::VERIFY))
        .header(HEADER_API_KEY, &police.api_key)
        .json(&wallet.online_qr(Audience::Enforcement, t.now()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let answer = r.bytes().await.unwrap();
    // Small: the enforcement view with both pages, but no photo inside.
    assert!(answer.len() < 2048, "{} bytes", answer.len());
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert!(v.get("photo").is_none());
    let digest = v["photo_digest"].as_str().unwrap().to_owned();
    assert_eq!(digest, hex::encode(sha256(&jpeg(1))));
    assert_eq!(v["photo_url"], format!("/v1/photos/{digest}"));

    let url = v["photo_url"].as_str().unwrap();
    let (status, headers, body) = get(&t, url, &granted(&police, &v)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, jpeg(1));
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["etag"], format!("\"{digest}\""));
    // A cache asks before every use (D147; tests/cache_control.rs has the rest).
    assert_eq!(headers["cache-control"], "private, no-cache");

    // A client that keeps it itself asks with its ETag and gets 304, without the bytes.
    let mut again = granted(&police, &v);
    again.push(("if-none-match", format!("\"{digest}\"")));
    let (status, _, body) = get(&t, url, &again).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
}

#[tokio::test]
async fn only_a_verifier_that_just_checked_that_elicence_may_read_its_photo() {
    let t = TestServer::start().await;
    let (_, first) = t.issued_wallet(&number(1)).await;
    let police = t.verifier("交警", "enforcement").await;
    let other = t.verifier("平安保险", "insurer").await;
    let (s, v, _) = t
        .verify(&police, first.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let url = v["photo_url"].as_str().unwrap().to_owned();

    // Another verifier with a valid key, which checked nothing: no photo, not even with
    // the police's grant.
    let (status, _, body) = get(&t, &url, &granted(&other, &v)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let e: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(e["error"], "unknown_id");
    // A wrong code grants nothing either.
    let mut wrong = first.manual(Audience::Business, t.now());
    let code = wrong["code"].as_str().unwrap().to_owned();
    let last = (code.as_bytes()[6] - b'0' + 1) % 10;
    wrong["code"] = json!(format!("{}{last}", &code[..6]));
    let (s, _, _) = t.verify(&other, wrong).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(get(&t, &url, &key(&other)).await.0, StatusCode::NOT_FOUND);
    // The grant without a key, or with a made-up one.
    let grant_only: Vec<_> = granted(&police, &v).split_off(1);
    assert_eq!(get(&t, &url, &grant_only).await.0, StatusCode::UNAUTHORIZED);
    let mut fake = grant_only.clone();
    fake.push((HEADER_API_KEY, "not-a-key".to_owned()));
    assert_eq!(get(&t, &url, &fake).await.0, StatusCode::UNAUTHORIZED);
    // The police's own key without its grant.
    assert_eq!(get(&t, &url, &key(&police)).await.0, StatusCode::NOT_FOUND);

    // The grant lasts minutes, not for ever.
    assert_eq!(get(&t, &url, &granted(&police, &v)).await.0, StatusCode::OK);
    t.clock.advance(edl_authority::grants::GRANT_SECS);
    assert_eq!(
        get(&t, &url, &granted(&police, &v)).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Registers a driver like `TestServer::create_driver` but with `photo` on file.
async fn driver_with_photo(t: &TestServer, number: &str, photo: &[u8]) -> u64 {
    let l = edl_core::licence::fixtures::sample_licence(edl_core::verify::china_date(t.now()));
    let body = json!({
        "licence_number": number, "name": l.main.name, "sex": "male",
        "nationality": l.main.nationality, "date_of_birth": "1990-03-07", "classes": "C1",
        "first_issue": "2012-03-07", "valid_from": "2018-03-07", "valid_until": "2028-03-07",
        "address": l.supplementary.address,
        "issuing_authority": l.supplementary.issuing_authority,
        "photo": edl_core::wire::Base64::encode(photo),
    });
    t.admin_ok(Method::POST, paths::DRIVERS, body).await["driver_id"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_grant_is_for_the_photo_of_the_elicence_checked() {
    let t = TestServer::start().await;
    let (_, checked) = t.issued_wallet(&number(1)).await;
    let b = driver_with_photo(&t, &number(2), &jpeg(2)).await;
    let mut unchecked = t.enrol(b, &number(2)).await;
    t.apply_ok(&unchecked).await;
    t.sync(&mut unchecked).await;

    let police = t.verifier("交警", "enforcement").await;
    let (s, first, _) = t
        .verify(&police, checked.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mine = paths::photo(&sha256(&jpeg(1)));
    assert_eq!(
        get(&t, &mine, &granted(&police, &first)).await.0,
        StatusCode::OK
    );
    // The other driver's photo is on file, but this verifier checked nothing of theirs:
    // the grant it holds is for another photo.
    let theirs = paths::photo(&sha256(&jpeg(2)));
    assert_eq!(
        get(&t, &theirs, &granted(&police, &first)).await.0,
        StatusCode::NOT_FOUND
    );
    // Until it checks them.
    let (s, second, _) = t
        .verify(&police, unchecked.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (status, _, body) = get(&t, &theirs, &granted(&police, &second)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, jpeg(2));
}

#[tokio::test]
async fn the_driver_reads_its_own_photo_with_a_signed_request() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let path = paths::photo(&sha256(&jpeg(1)));
    // Signed by hand (the test client's `signed` reads JSON; a photo is bytes).
    let auth = sign_request(&wallet.key, "GET", &path, b"", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (status, h, body) = get(&t, &path, &headers).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, jpeg(1));
    assert_eq!(h["etag"], format!("\"{}\"", hex::encode(sha256(&jpeg(1)))));

    // Another driver's wallet, through its real-person check (no photo of its own yet)
    // and signing correctly, gets nothing under that digest.
    let other_driver = t.create_driver(&number(2), false).await;
    let other = t.enrol(other_driver, &number(2)).await;
    t.apply_ok(&other).await;
    let auth = sign_request(&other.key, "GET", &path, b"", t.now(), rand16());
    let headers: Vec<(&str, String)> = auth.headers(other.account).into_iter().collect();
    assert_eq!(get(&t, &path, &headers).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_digest_that_is_not_64_lower_case_hex_digits_is_a_bad_request() {
    let t = TestServer::start().await;
    let police = t.verifier("交警", "enforcement").await;
    for bad in ["abc", &"A".repeat(64), &"g".repeat(64), &"0".repeat(65)] {
        let (status, _, _) = get(&t, &format!("/v1/photos/{bad}"), &key(&police)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// Body bytes per online check, before (the photo as base64 in every answer) and after
/// (D92): printed for docs/BENCHMARKS.md with
/// `cargo test -p edl-authority --test authority_tests photo::bytes_per_check -- --nocapture`.
/// "Before" is the answer as the old format serialised it: this answer without the digest
/// and URL, with `photo` holding the base64 of the same photo.
#[tokio::test]
async fn bytes_per_check_before_and_after_the_photo_left_the_answer() {
    let photo = include_bytes!("../../core/tests/photos/clean.jpg");
    let t = TestServer::start().await;
    let driver = driver_with_photo(&t, &number(1), photo).await;
    let mut wallet = t.enrol(driver, &number(1)).await;
    t.apply_ok(&wallet).await;
    t.sync(&mut wallet).await;
    println!(
        "photo: {} bytes (core/tests/photos/clean.jpg)\n\
         audience     | before: answer | after: answer | + photo, first check | + photo, cached (304)",
        photo.len()
    );
    for (audience, class) in [
        (Audience::Enforcement, "enforcement"),
        (Audience::Business, "insurer"),
    ] {
        let verifier = t.verifier(class, class).await;
        let r = t
            .http
            .post(format!("{}{}", t.url, paths::VERIFY))
            .header(HEADER_API_KEY, &verifier.api_key)
            .json(&wallet.online_qr(audience, t.now()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let after = r.bytes().await.unwrap().to_vec();
        let mut old: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&after).unwrap();
        let answer = serde_json::Value::Object(old.clone());
        let url = old.remove("photo_url").unwrap();
        old.remove("photo_digest");
        old.remove("photo_grant");
        old.insert("photo".into(), json!(edl_core::wire::Base64::encode(photo)));
        let before = serde_json::to_vec(&old).unwrap();
        let (s, _, fetched) = get(&t, url.as_str().unwrap(), &granted(&verifier, &answer)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(fetched.len(), photo.len());
        let mut cached = granted(&verifier, &answer);
        cached.push((
            "if-none-match",
            format!("\"{}\"", hex::encode(sha256(photo))),
        ));
        let (s, _, revalidated) = get(&t, url.as_str().unwrap(), &cached).await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        println!(
            "{class:<12} | {:>14} | {:>13} | {:>20} | {:>21}",
            before.len(),
            after.len(),
            after.len() + fetched.len(),
            after.len() + revalidated.len()
        );
        assert!(after.len() < 2048, "{} bytes", after.len());
        assert!(before.len() > 80_000);
        // The next window's code, for the next audience (codes are single-use).
        t.clock.advance(30);
    }
}

/// A wallet sends its photo as a JPEG (the review of D222, U-1): a PNG, which may carry an
/// ICC profile inflating to hundreds of MiB in every decoder that reads it, is refused.
#[tokio::test]
async fn a_wallet_s_photo_upload_must_be_a_jpeg() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(64)).await;
    let img = image::RgbImage::from_pixel(52, 75, image::Rgb([200, 200, 200]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (s, v, _) = t.upload(&wallet, "png-1", &png).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo")),
        "{v}"
    );
}
