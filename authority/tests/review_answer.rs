//! A reviewer decides photos without reading the registry (fourth hostile review, P2;
//! D146): approving or rejecting a photo answers with the decision only, as the queue shows
//! a photo with its ids only, and no answer to a role other than the registry holds a
//! driver's name, licence number, birth date, address or record.

use crate::common;

use common::*;
use edl_authority::roles::{AdminToken, Role};
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const REVIEWER: &str = "t-reviewer";
const KEY_ADMIN: &str = "t-keys";
const AUDITOR: &str = "t-audit";

/// What the registry holds of a driver and a reviewer must not read.
const PERSONAL: [&str; 5] = [
    "name",
    "licence_number",
    "date_of_birth",
    "address",
    "record",
];

/// What a decision answers: the queue's ids and the decision's outcome.
const DECISION: [&str; 7] = [
    "decided_at",
    "driver_id",
    "kind",
    "outcome",
    "phase",
    "photo_id",
    "reason",
];

async fn start() -> TestServer {
    TestServer::start_with(|c| {
        c.admin_tokens = vec![
            AdminToken::new("reviewer-li", &[Role::Reviewer], REVIEWER),
            AdminToken::new("keys-zhao", &[Role::KeyAdmin], KEY_ADMIN),
            AdminToken::new("auditor-chen", &[Role::Auditor], AUDITOR),
        ]
    })
    .await
}

/// Every key of `v`, at any depth.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// `answer` holds no key of the registry's driver and none of the driver's own text.
fn holds_nothing_personal(answer: &Value, driver_text: &[&str]) {
    let mut all = Vec::new();
    keys(answer, &mut all);
    for key in PERSONAL {
        assert!(!all.iter().any(|k| k == key), "`{key}` in {answer}");
    }
    let text = answer.to_string();
    for s in driver_text {
        assert!(!text.contains(s), "{s:?} in {answer}");
    }
}

/// A decision's answer: exactly the decision's keys, none personal.
fn decision(answer: &Value, driver_text: &[&str]) {
    holds_nothing_personal(answer, driver_text);
    let mut top: Vec<&str> = answer
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {answer}"))
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, DECISION, "{answer}");
}

/// The reviewer's decision at `path` (approve or reject) on `photo`, which must be taken
/// (200) and answer a decision holding none of `driver_text`.
async fn decided(
    t: &TestServer,
    path: &str,
    photo: u64,
    body: Value,
    driver_text: &[&str],
) -> Value {
    let (s, v) = t
        .admin_as(REVIEWER, Method::POST, &paths::with_id(path, photo), body)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    decision(&v, driver_text);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_s_decision_answers_with_the_decision_and_nothing_of_the_driver() {
    let t = start().await;
    let n = number(146);
    let driver = t.create_driver(&n, false).await;
    let place = "北京市朝阳区建国路88号";
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2024-05-01", "place": place, "act": "违反禁令标志指示",
               "points": 3, "fine_yuan": 200}),
    )
    .await;
    let registry = t.driver_detail(driver).await;
    let name = registry["licence"]["main"]["name"].as_str().unwrap();
    let address = registry["licence"]["supplementary"]["address"]
        .as_str()
        .unwrap();
    let driver_text = [n.as_str(), name, address, place, "1990-03-07"];

    let mut wallet = t.enrol(driver, &n).await;
    t.apply_ok(&wallet).await;
    let (s, v, _) = t.upload(&wallet, "first", &jpeg(2)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["photo_id"].as_u64().unwrap();

    // Rejected: the reason goes back, the application awaits another photo.
    let v = decided(
        &t,
        paths::REJECT,
        first,
        json!({"reason": "背景不是白色"}),
        &driver_text,
    )
    .await;
    assert_eq!(
        v,
        json!({"photo_id": first, "driver_id": driver, "kind": "application",
               "outcome": "rejected", "reason": "背景不是白色", "phase": "awaiting_photo",
               "decided_at": t.now()})
    );

    // Approved: the e-licence is issued.
    let (s, v, _) = t.upload(&wallet, "second", &jpeg(3)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = v["photo_id"].as_u64().unwrap();
    let v = decided(&t, paths::APPROVE, second, Value::Null, &driver_text).await;
    assert_eq!(
        v,
        json!({"photo_id": second, "driver_id": driver, "kind": "application",
               "outcome": "approved", "reason": null, "phase": "issued",
               "decided_at": t.now()})
    );
    t.sync(&mut wallet).await;
    assert!(wallet.credential.is_some());

    // A photo change, approved, then a malicious one: the e-licence stops.
    let (_, v, _) = t.upload(&wallet, "change", &jpeg(4)).await;
    let change = v["photo_id"].as_u64().unwrap();
    let v = decided(&t, paths::APPROVE, change, Value::Null, &driver_text).await;
    assert_eq!(
        (&v["kind"], &v["phase"]),
        (&json!("photo_change"), &json!("issued"))
    );
    let (_, v, _) = t.upload(&wallet, "bad", &jpeg(5)).await;
    let bad = v["photo_id"].as_u64().unwrap();
    let v = decided(
        &t,
        paths::REJECT,
        bad,
        json!({"reason": "恶意上传", "malicious": true}),
        &driver_text,
    )
    .await;
    assert_eq!(
        (&v["outcome"], &v["phase"]),
        (&json!("rejected_malicious"), &json!("stopped"))
    );

    // The same status codes and refusals as before: a second decision is a conflict, an
    // unknown photo is not found, and the registry stays closed to the reviewer.
    let (s, v) = t
        .admin_as(
            REVIEWER,
            Method::POST,
            &paths::with_id(paths::APPROVE, bad),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (s, v) = t
        .admin_as(
            REVIEWER,
            Method::POST,
            &paths::with_id(paths::REJECT, 9_999),
            json!({"reason": "模糊"}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_id"))
    );
    let (s, v) = t
        .admin_as(
            REVIEWER,
            Method::GET,
            &paths::with_id(paths::DRIVER, driver),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
}

/// Every endpoint the reviewer, the key administrator and the auditor may call, with a
/// driver registered and a photo in the queue: no answer holds the driver's identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_to_a_role_other_than_the_registry_holds_a_driver_s_identity() {
    let t = start().await;
    let n = number(147);
    let driver = t.create_driver(&n, false).await;
    let registry = t.driver_detail(driver).await;
    let name = registry["licence"]["main"]["name"].as_str().unwrap();
    let address = registry["licence"]["supplementary"]["address"]
        .as_str()
        .unwrap();
    let driver_text = [n.as_str(), name, address, "1990-03-07"];
    let wallet = t.enrol(driver, &n).await;
    t.apply_ok(&wallet).await;
    let (s, v, _) = t.upload(&wallet, "first", &jpeg(2)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let photo = v["photo_id"].as_u64().unwrap();

    let calls: [(&str, Method, String, Value); 7] = [
        (REVIEWER, Method::GET, paths::REVIEWS.into(), Value::Null),
        (
            REVIEWER,
            Method::PUT,
            paths::BUSY.into(),
            json!({"retry_after": 60}),
        ),
        (
            REVIEWER,
            Method::PUT,
            paths::BUSY.into(),
            json!({"retry_after": null}),
        ),
        (
            REVIEWER,
            Method::POST,
            paths::with_id(paths::REJECT, photo),
            json!({"reason": "模糊"}),
        ),
        (
            KEY_ADMIN,
            Method::POST,
            paths::ROTATE_KEY.into(),
            Value::Null,
        ),
        (
            AUDITOR,
            Method::GET,
            edl_authority::http::audit::AUDIT.into(),
            Value::Null,
        ),
        // A refusal's answer too.
        (
            REVIEWER,
            Method::POST,
            paths::with_id(paths::APPROVE, photo),
            Value::Null,
        ),
    ];
    // The key rotation among them takes a second of its own, after the first key's (AK-F2).
    t.clock.advance(1);
    for (token, method, path, body) in calls {
        let (s, v) = t.admin_as(token, method.clone(), &path, body).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::CONFLICT,
            "{method} {path}: {s} {v}"
        );
        holds_nothing_personal(&v, &driver_text);
    }
}

/// A reviewer compares a photo change with the photo on file (the photo review's AO-PH2):
/// the queue showed the new photo alone, so a compliant photo of someone else could not be
/// told from the driver's. The face on file is the reviewer's to see while the review is
/// pending, and nothing else of the driver comes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_sees_the_photo_on_file_beside_a_pending_change() {
    let t = start().await;
    let (_, wallet) = t.issued_wallet(&number(60)).await;
    let (s, v, _) = t.upload(&wallet, "change-1", &jpeg(61)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let change = v["photo_id"].as_u64().unwrap();
    let path = paths::with_id(paths::REVIEW_ON_FILE, change);
    let on_file = |token: &'static str| {
        let (t, path) = (&t, path.clone());
        async move {
            t.try_raw(
                Method::GET,
                &path,
                &[("authorization", format!("Bearer {token}"))],
                Vec::new(),
            )
            .await
            .expect("answered")
        }
    };
    let (s, body, headers) = on_file(REVIEWER).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body.expect_err("bytes, not JSON"),
        jpeg(1),
        "the photo on file"
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Another role, and the review once decided: nothing.
    let (s, _, _) = on_file(AUDITOR).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    t.admin_as(
        REVIEWER,
        Method::POST,
        &paths::with_id(paths::APPROVE, change),
        Value::Null,
    )
    .await;
    let (s, _, _) = on_file(REVIEWER).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

/// A pending photo is a wallet's (only a wallet's upload makes a review), so approving
/// it holds it to the wallet's rule: a PNG kept before wallets had to send JPEG (D224)
/// may carry an ICC profile that every verifier's decoder inflates in full, which the
/// header check's bound does not see (the review of D224, AQ-1: before, approved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_png_from_before_the_wallet_rule_cannot_be_approved() {
    let t = start().await;
    // A whole, compliant-sized PNG, as an upload before D224 kept it.
    let mut png_photo = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_photo, 520, 756);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![250; 520 * 756 * 3]).unwrap();
    }
    let change = pending_change_holding(&t, 64, &png_photo).await;
    approval_is_refused_as_invalid(&t, change).await;
    // Refused, not decided: it can still be rejected.
    let (s, v) = t
        .admin_as(
            REVIEWER,
            Method::POST,
            &paths::with_id(paths::REJECT, change),
            json!({"reason": "not a JPEG"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// A photo kept before the header check (D222) is checked before it goes on file (the
/// review of D222, U-3): one declaring 20,000 × 20,000 pixels, put in the queue behind
/// the authority's back as an older version would have kept it, cannot be approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_photo_over_the_bound_cannot_be_approved() {
    let t = start().await;
    // A PNG header declaring the reviewer's size.
    let mut bomb = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bomb, 20_000, 20_000);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_chunk(png::chunk::IDAT, &[]).unwrap();
    }
    bomb.resize(1000, 0);
    let change = pending_change_holding(&t, 62, &bomb).await;
    approval_is_refused_as_invalid(&t, change).await;
}

/// A photo change of a new issued driver (licence `number(n)`), pending review, its row's
/// bytes then replaced by `bytes` behind the authority's back, as an older version would
/// have kept them; its photo id.
async fn pending_change_holding(t: &TestServer, n: u8, bytes: &[u8]) -> u64 {
    let (_, wallet) = t.issued_wallet(&number(u32::from(n))).await;
    let (s, v, _) = t.upload(&wallet, "change-1", &jpeg(n + 1)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let change = v["photo_id"].as_u64().unwrap();
    let literal = if t.on_postgres() {
        format!("'\\x{}'::BYTEA", hex::encode(bytes))
    } else {
        format!("x'{}'", hex::encode(bytes))
    };
    t.run_sql(&format!(
        "UPDATE photos SET bytes = {literal} WHERE id = {}",
        change as i64
    ))
    .await;
    change
}

/// A reviewer's approval of `photo_id` is refused: 422 `invalid_photo`.
async fn approval_is_refused_as_invalid(t: &TestServer, photo_id: u64) {
    let (s, v) = t
        .admin_as(
            REVIEWER,
            Method::POST,
            &paths::with_id(paths::APPROVE, photo_id),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo")),
        "{v}"
    );
}
