//! Bad input to every endpoint — truncated bodies, wrong types, huge bodies, bad
//! base64, unknown and malformed ids, missing credentials — gets a 4xx with the JSON
//! error body, never a 5xx or a panic.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::{self, Base64, paths};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Public,
    Admin,
    Wallet,
    Verifier,
}

struct Endpoint {
    method: Method,
    /// With `{}` where the path id goes.
    path: &'static str,
    auth: Auth,
    /// A valid body (for building broken ones); `None` for endpoints without one.
    body: Option<Value>,
    /// Fields holding base64.
    base64: &'static [&'static str],
}

fn endpoints(driver_number: &str) -> Vec<Endpoint> {
    use Auth::*;
    let e = |method, path, auth, body: Option<Value>, base64| Endpoint {
        method,
        path,
        auth,
        body,
        base64,
    };
    vec![
        e(
            Method::POST,
            paths::DRIVERS,
            Admin,
            Some(json!({
            "licence_number": number(900), "name": "李四", "sex": "female", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "北京",
            "issuing_authority": "北京市公安局公安交通管理局",
            "photo": Base64::encode(&jpeg(1))})),
            &["photo"],
        ),
        e(Method::GET, paths::DRIVER, Admin, None, &[]),
        e(Method::POST, paths::ACTIVATION_CODE, Admin, None, &[]),
        e(
            Method::POST,
            paths::VIOLATIONS,
            Admin,
            Some(json!({
            "date": "2026-11-01", "place": "A", "act": "B", "points": 2, "fine_yuan": 100})),
            &[],
        ),
        e(
            Method::PUT,
            paths::STATUS,
            Admin,
            Some(json!({"status": "D"})),
            &[],
        ),
        e(
            Method::POST,
            paths::RENEW,
            Admin,
            Some(json!({"valid_until": "2034-01-01"})),
            &[],
        ),
        e(
            Method::POST,
            paths::COUNTER_ISSUE,
            Admin,
            Some(json!({"photo": Base64::encode(&jpeg(2))})),
            &["photo"],
        ),
        e(Method::GET, paths::REVIEWS, Admin, None, &[]),
        e(Method::POST, paths::APPROVE, Admin, None, &[]),
        e(
            Method::POST,
            paths::REJECT,
            Admin,
            Some(json!({"reason": "模糊", "malicious": false})),
            &[],
        ),
        e(
            Method::POST,
            paths::VERIFIERS,
            Admin,
            Some(json!({"name": "x", "class": "insurer"})),
            &[],
        ),
        e(Method::POST, paths::ROTATE_KEY, Admin, None, &[]),
        e(
            Method::PUT,
            paths::BUSY,
            Admin,
            Some(json!({"retry_after": 60})),
            &[],
        ),
        e(
            Method::POST,
            paths::ENROL,
            Public,
            Some(json!({
            "licence_number": driver_number, "activation_code": "12345678",
            "device_public_key": Base64::encode(&[7; 32])})),
            &["device_public_key"],
        ),
        e(Method::GET, paths::TRUST_LIST, Public, None, &[]),
        e(Method::POST, paths::IDENTITY_CHALLENGE, Wallet, None, &[]),
        e(
            Method::POST,
            paths::APPLY,
            Wallet,
            Some(json!({
            "identity": {"challenge_id": 1, "attestation": Base64::encode(&[1; 32])},
            "reuse_stored_photo": true})),
            &[],
        ),
        e(
            Method::POST,
            paths::PHOTO,
            Wallet,
            Some(json!({
            "client_key": "k", "photo": Base64::encode(&jpeg(3))})),
            &["photo"],
        ),
        e(Method::GET, paths::SYNC, Wallet, None, &[]),
        e(
            Method::POST,
            paths::VERIFY,
            Verifier,
            Some(json!({
            "method": "qr", "payload": Base64::encode(&[0x10; 14])})),
            &["payload"],
        ),
    ]
}

struct Walk {
    t: TestServer,
    wallet: Wallet,
    verifier: Verifier,
    driver: u64,
    checked: usize,
}

impl Walk {
    async fn send(
        &mut self,
        e: &Endpoint,
        path: &str,
        body: Vec<u8>,
        auth: Auth,
    ) -> (StatusCode, Value) {
        let headers: Vec<(&str, String)> = match auth {
            Auth::Public => vec![],
            Auth::Admin => vec![("authorization", wire::bearer(ADMIN))],
            Auth::Verifier => vec![(wire::HEADER_API_KEY, self.verifier.api_key.clone())],
            Auth::Wallet => wire::sign_request(
                &self.wallet.key,
                e.method.as_str(),
                path,
                &body,
                self.t.now(),
                rand16(),
            )
            .headers(self.wallet.account)
            .into_iter()
            .collect(),
        };
        let (s, v, _) = self.t.raw(e.method.clone(), path, &headers, body).await;
        (s, v)
    }

    /// Sends and asserts a 4xx with the error body (and, when given, the code).
    async fn expect(
        &mut self,
        e: &Endpoint,
        path: &str,
        body: Vec<u8>,
        auth: Auth,
        what: &str,
        code: Option<&str>,
    ) {
        let (s, v) = self.send(e, path, body, auth).await;
        assert!(s.is_client_error(), "{} {path} ({what}): {s} {v}", e.method);
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "{path} ({what}): {v}"
        );
        if let Some(code) = code {
            assert_eq!(v["error"], code, "{} {path} ({what}): {v}", e.method);
        }
        // Messages never echo what was sent.
        assert!(
            !v["message"].as_str().unwrap().contains("李四"),
            "{path} ({what}): {v}"
        );
        self.checked += 1;
    }

    fn path(&self, e: &Endpoint, id: &str) -> String {
        match e.path.find('{') {
            Some(a) => {
                let b = e.path.find('}').unwrap();
                format!("{}{id}{}", &e.path[..a], &e.path[b + 1..])
            }
            None if e.path == paths::SYNC => format!("{}?cursor=0", e.path),
            None => e.path.to_owned(),
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_bad_input_with_a_4xx_json_error() {
    let t = TestServer::start().await;
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let verifier = t.verifier("v", "enforcement").await;
    let mut w = Walk {
        t,
        wallet,
        verifier,
        driver,
        checked: 0,
    };
    let huge = vec![b'{'; 4 * 1024 * 1024];
    for e in endpoints(&number(1)) {
        let path = w.path(&e, &w.driver.to_string());

        // Wrong or missing credentials.
        if e.auth != Auth::Public {
            let body = e
                .body
                .as_ref()
                .map(|b| serde_json::to_vec(b).unwrap())
                .unwrap_or_default();
            w.expect(
                &e,
                &path,
                body.clone(),
                Auth::Public,
                "no credentials",
                None,
            )
            .await;
            let wrong = match e.auth {
                Auth::Admin => Auth::Verifier,
                _ => Auth::Admin,
            };
            w.expect(&e, &path, body, wrong, "other party's credentials", None)
                .await;
        }

        // Malformed and unknown ids.
        if e.path.contains('{') {
            for id in ["abc", "-1", "1.5", "99999999999999999999999", "%00"] {
                let p = w.path(&e, id);
                let body = e
                    .body
                    .as_ref()
                    .map(|b| serde_json::to_vec(b).unwrap())
                    .unwrap_or_default();
                w.expect(&e, &p, body, e.auth, "malformed id", Some("bad_request"))
                    .await;
            }
            let p = w.path(&e, "987654321");
            let body = e
                .body
                .as_ref()
                .map(|b| serde_json::to_vec(b).unwrap())
                .unwrap_or_default();
            w.expect(&e, &p, body, e.auth, "unknown id", Some("unknown_id"))
                .await;
        }

        // A huge body.
        w.expect(
            &e,
            &path,
            huge.clone(),
            e.auth,
            "huge body",
            Some("payload_too_large"),
        )
        .await;

        let Some(valid) = &e.body else { continue };
        let text = serde_json::to_vec(valid).unwrap();

        // Truncated, empty, not JSON, not UTF-8, wrong top-level types.
        for cut in [1, text.len() / 2, text.len() - 1] {
            w.expect(
                &e,
                &path,
                text[..cut].to_vec(),
                e.auth,
                "truncated",
                Some("bad_request"),
            )
            .await;
        }
        if e.path != paths::COUNTER_ISSUE {
            w.expect(&e, &path, vec![], e.auth, "empty", Some("bad_request"))
                .await;
        }
        for junk in [
            &b"\xff\xfe\x00junk"[..],
            b"not json",
            b"[]",
            b"42",
            b"\"x\"",
            b"null",
            b"{\"a\":",
        ] {
            w.expect(
                &e,
                &path,
                junk.to_vec(),
                e.auth,
                "junk",
                Some("bad_request"),
            )
            .await;
        }

        // Each field with a wrong type.
        let fields: Vec<String> = valid.as_object().unwrap().keys().cloned().collect();
        for field in &fields {
            for wrong in [json!({"nested": true}), json!([1, 2]), json!(-1.5e300)] {
                let mut b = valid.clone();
                b[field.as_str()] = wrong;
                w.expect(
                    &e,
                    &path,
                    serde_json::to_vec(&b).unwrap(),
                    e.auth,
                    field,
                    None,
                )
                .await;
            }
        }
        // A field the endpoint does not take, beside the right ones: a misspelt optional
        // field would otherwise take its default and the call succeed (AH-F4).
        let mut b = valid.clone();
        b["a_field_no_endpoint_takes"] = json!(true);
        w.expect(
            &e,
            &path,
            serde_json::to_vec(&b).unwrap(),
            e.auth,
            "unknown field",
            Some("bad_request"),
        )
        .await;
        // Bad base64 in each binary field.
        for field in e.base64 {
            for bad in ["!!!!", "AQ", "A===", "AAAA AAAA"] {
                let mut b = valid.clone();
                b[*field] = json!(bad);
                w.expect(
                    &e,
                    &path,
                    serde_json::to_vec(&b).unwrap(),
                    e.auth,
                    field,
                    Some("bad_base64"),
                )
                .await;
            }
        }
    }

    // Values of the right type that the endpoint cannot accept.
    let verify = endpoints(&number(1)).pop().unwrap();
    for body in [
        json!({"method": "qr", "payload": Base64::encode(&[])}),
        json!({"method": "qr", "payload": Base64::encode(&[0x10; 13])}),
        json!({"method": "qr", "payload": Base64::encode(&[0xff; 14])}),
        json!({"method": "qr", "payload": Base64::encode(&[0x10; 4000])}),
        json!({"method": "barcode", "text": "123"}),
        json!({"method": "barcode", "text": "9".repeat(32)}),
        json!({"method": "manual", "licence_number": "", "code": "1123456"}),
        json!({"method": "manual", "licence_number": "x".repeat(10_000), "code": "1123456"}),
        json!({"method": "manual", "licence_number": number(1), "code": "12"}),
        json!({"method": "manual", "licence_number": number(1), "code": "9123456"}),
        json!({"method": "fax"}),
    ] {
        w.expect(
            &verify,
            paths::VERIFY,
            serde_json::to_vec(&body).unwrap(),
            Auth::Verifier,
            "bad code",
            None,
        )
        .await;
    }
    let admin_post = |path: &'static str| Endpoint {
        method: Method::POST,
        path,
        auth: Auth::Admin,
        body: None,
        base64: &[],
    };
    let d = w.driver;
    for (path, body) in [
        (
            paths::DRIVERS,
            json!({"licence_number": "123", "name": "", "sex": "male", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "a", "issuing_authority": "b"}),
        ),
        (
            paths::DRIVERS,
            json!({"licence_number": number(1), "name": "x", "sex": "male", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "a", "issuing_authority": "b"}),
        ),
        (
            paths::DRIVERS,
            json!({"licence_number": number(2), "name": "x", "sex": "male", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "a", "issuing_authority": "b",
            "photo": Base64::encode(b"GIF89a not a jpeg at all, but long enough to pass the size check....")}),
        ),
        (
            paths::DRIVERS,
            json!({"licence_number": number(3), "name": "x", "sex": "male", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2090-01-01", "address": "a", "issuing_authority": "b"}),
        ),
        (
            paths::DRIVERS,
            json!({"licence_number": number(4), "name": "x", "sex": "male", "nationality": "中国",
            "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
            "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "北".repeat(90), "issuing_authority": "b"}),
        ),
        (paths::VERIFIERS, json!({"name": "", "class": "insurer"})),
        (
            paths::VERIFIERS,
            json!({"name": "x", "class": "tax_office"}),
        ),
    ] {
        let e = admin_post(path);
        w.expect(
            &e,
            path,
            serde_json::to_vec(&body).unwrap(),
            Auth::Admin,
            "bad value",
            None,
        )
        .await;
    }
    for (template, body) in [
        (paths::STATUS, json!({"status": "AD"})),
        (paths::STATUS, json!({"status": "DD"})),
        (paths::STATUS, json!({"status": ""})),
        (paths::RENEW, json!({})),
        (paths::RENEW, json!({"valid_until": "2000-01-01"})),
        (paths::RENEW, json!({"classes": "Q9"})),
        (
            paths::VIOLATIONS,
            json!({"date": "2026-11-01", "place": "", "act": "B", "points": 2, "fine_yuan": 1}),
        ),
        (
            paths::VIOLATIONS,
            json!({"date": "2026-11-01", "place": "A", "act": "B", "points": 300, "fine_yuan": 1}),
        ),
        (
            paths::VIOLATIONS,
            json!({"date": "2026-13-01", "place": "A", "act": "B", "points": 2, "fine_yuan": 1}),
        ),
    ] {
        let mut e = admin_post(template);
        if template == paths::STATUS {
            e.method = Method::PUT;
        }
        let p = paths::with_id(template, d);
        w.expect(
            &e,
            &p,
            serde_json::to_vec(&body).unwrap(),
            Auth::Admin,
            "bad value",
            None,
        )
        .await;
    }
    // Wallet bodies of the right shape with bad values.
    let photo = Endpoint {
        method: Method::POST,
        path: paths::PHOTO,
        auth: Auth::Wallet,
        body: None,
        base64: &[],
    };
    for body in [
        json!({"client_key": "", "photo": Base64::encode(&jpeg(1))}),
        json!({"client_key": "has space", "photo": Base64::encode(&jpeg(1))}),
        json!({"client_key": "k".repeat(65), "photo": Base64::encode(&jpeg(1))}),
        json!({"client_key": "k", "photo": Base64::encode(b"short")}),
        json!({"client_key": "k", "photo": Base64::encode(&[0u8; 4096])}),
        json!({"client_key": "k", "photo": Base64::encode(&vec![0xFF; 2 * 1024 * 1024 + 10])}),
    ] {
        w.expect(
            &photo,
            paths::PHOTO,
            serde_json::to_vec(&body).unwrap(),
            Auth::Wallet,
            "bad photo",
            None,
        )
        .await;
    }
    let enrol = Endpoint {
        method: Method::POST,
        path: paths::ENROL,
        auth: Auth::Public,
        body: None,
        base64: &[],
    };
    for key in [vec![1u8; 31], vec![1u8; 33], vec![]] {
        let body = json!({"licence_number": number(1), "activation_code": "1", "device_public_key": Base64::encode(&key)});
        w.expect(
            &enrol,
            paths::ENROL,
            serde_json::to_vec(&body).unwrap(),
            Auth::Public,
            "bad key",
            Some("bad_request"),
        )
        .await;
    }
    let sync = Endpoint {
        method: Method::GET,
        path: paths::SYNC,
        auth: Auth::Wallet,
        body: None,
        base64: &[],
    };
    for q in [
        "?cursor=abc",
        "?cursor=-1",
        "?cursor=99999999999999999999999",
    ] {
        let p = format!("{}{q}", paths::SYNC);
        w.expect(
            &sync,
            &p,
            vec![],
            Auth::Wallet,
            "bad cursor",
            Some("bad_request"),
        )
        .await;
    }
    let reviews = Endpoint {
        method: Method::GET,
        path: paths::REVIEWS,
        auth: Auth::Admin,
        body: None,
        base64: &[],
    };
    w.expect(
        &reviews,
        "/admin/reviews?limit=x",
        vec![],
        Auth::Admin,
        "bad limit",
        Some("bad_request"),
    )
    .await;

    // Unknown routes and methods.
    let nothing = Endpoint {
        method: Method::GET,
        path: "/nothing",
        auth: Auth::Public,
        body: None,
        base64: &[],
    };
    w.expect(
        &nothing,
        "/nothing",
        vec![],
        Auth::Public,
        "unknown route",
        Some("not_found"),
    )
    .await;
    let wrong_method = Endpoint {
        method: Method::DELETE,
        path: paths::VERIFY,
        auth: Auth::Public,
        body: None,
        base64: &[],
    };
    w.expect(
        &wrong_method,
        paths::VERIFY,
        vec![],
        Auth::Public,
        "wrong method",
        Some("method_not_allowed"),
    )
    .await;

    // Still healthy after all that, and the e-licence still verifies.
    let (s, _, _) = w.t.raw(Method::GET, paths::TRUST_LIST, &[], vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let body = w.wallet.online_qr(Audience::Enforcement, w.t.now());
    let (s, v, _) = w.t.verify(&w.verifier, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(w.checked > 300, "only {} bad requests walked", w.checked);
}

/// Text that would not be shown as it reads (a name reversed by U+202E, a NUL, a line
/// break, a terminal escape) is refused, and nothing is stored: licence data as invalid
/// (422), an admin's other free text as a bad request (400). The second hostile review
/// found such driver and verifier names accepted (R6, R7).
#[tokio::test]
async fn text_with_hidden_characters_is_refused_and_nothing_is_stored() {
    let t = TestServer::start().await;
    let driver = |name: &str, address: &str| {
        json!({
        "licence_number": number(901), "name": name, "sex": "female", "nationality": "中国",
        "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
        "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": address,
        "issuing_authority": "北京市公安局公安交通管理局",
        "photo": Base64::encode(&jpeg(1))})
    };
    for body in [
        driver("李\u{202E}四", "北京"),
        driver("李\u{0}四", "北京"),
        driver("李四", "北京市\n东城区"),
    ] {
        let (s, v) = t.admin(Method::POST, paths::DRIVERS, body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_licence")),
            "{v}"
        );
    }
    // Nothing was stored under the number: the real entry goes in.
    let (s, v) = t
        .admin(Method::POST, paths::DRIVERS, driver("李四", "北京"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["driver_id"].as_u64().expect("the new driver's id");

    // Nor in a record entry, nor in a verifier's name, which drivers read in their log
    // (an escape sequence there would clear a terminal or fake a line).
    let path = paths::with_id(paths::VIOLATIONS, id);
    let violation = json!({"date": "2026-11-01", "place": "长安街", "act": "超速\u{202D}", "points": 2, "fine_yuan": 100});
    let (s, v) = t.admin(Method::POST, &path, violation).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{v}"
    );
    let d = t.driver_detail(id).await;
    assert_eq!(d["licence"]["supplementary"]["record"], json!([]), "{d}");
    for name in ["交警\u{1b}[2J", "交警\n第二行", "\u{202E}警交"] {
        let (s, v) = t
            .admin(
                Method::POST,
                paths::VERIFIERS,
                json!({"name": name, "class": "enforcement"}),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{name:?}: {v}"
        );
    }
}

/// A misspelt optional field is refused, not read as its default (twenty-seventh review,
/// AH-F4): `"stauts": "D"` used to register a licence meant to be suspended as in force,
/// and its e-licence then verified as in force.
#[tokio::test]
async fn a_misspelt_field_is_refused_and_nothing_is_stored() {
    let t = TestServer::start().await;
    let driver = |status_field: &str| {
        json!({
        "licence_number": number(902), "name": "李四", "sex": "female", "nationality": "中国",
        "date_of_birth": "1991-01-01", "classes": "C1", "first_issue": "2015-01-01",
        "valid_from": "2021-01-01", "valid_until": "2031-01-01", "address": "北京",
        "issuing_authority": "北京市公安局公安交通管理局", status_field: "D"})
    };
    let (s, v) = t
        .admin(Method::POST, paths::DRIVERS, driver("stauts"))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("a field this endpoint does not take"),
        "the message says what is wrong: {v}"
    );
    // Nothing was stored under the number: the body spelt right goes in, suspended.
    let (s, v) = t
        .admin(Method::POST, paths::DRIVERS, driver("status"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = t.driver_detail(v["driver_id"].as_u64().unwrap()).await;
    assert_eq!(d["licence"]["main"]["status"], "D", "{d}");
}

/// A request head is held to 64 KiB (twenty-seventh review, AH-F5): hyper's default read
/// buffer took heads of about 400 KiB, which an anonymous connection could hold for the
/// header timeout, 400 of them costing 75 MB. No client sends more than a few KiB.
#[tokio::test]
async fn a_request_head_over_64_kib_is_refused_with_431() {
    let t = TestServer::start().await;
    let head = |kib: usize| vec![("x-padding", "a".repeat(kib * 1024))];
    let (s, _, _) = t
        .try_raw(Method::GET, "/healthz", &head(8), Vec::new())
        .await
        .expect("an 8 KiB head is answered");
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = t
        .try_raw(Method::GET, "/healthz", &head(100), Vec::new())
        .await
        .expect("a 100 KiB head is answered");
    assert_eq!(s, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}
