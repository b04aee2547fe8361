//! The authorisation matrix (issue 13; D79): every endpoint of the authority × every kind
//! of caller (anonymous, driver A, driver B, a business verifier, an enforcement verifier,
//! each admin role), generated from ONE table, against the real server on loopback. Each
//! caller is either let through (whatever the endpoint then answers, it is not an
//! authentication or role refusal) or refused with exactly the expected code. A second
//! test checks that the table lists every route of the API the router serves (its OpenAPI
//! document is generated from the same router), so a new endpoint cannot be left out.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use edl_authority::roles::{AdminToken, Role};
use edl_core::credential::Audience;
use edl_core::wire::{Base64, HEADER_API_KEY, bearer, paths, sign_request};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Anyone.
    Public,
    /// A verifier's API key (any class).
    Verifier,
    /// A device signature of the account's own device.
    Wallet,
    /// An admin token with this role.
    Admin(Role),
    /// A verifier's API key, or the account's own device signature (the photo a check
    /// names, D92; whether this verifier just checked that e-licence is `tests/photo.rs`).
    VerifierOrWallet,
    /// The operator's scraper token (`/metrics`, D90), which no caller here holds.
    Scraper,
}

/// Every endpoint: method, path (ids filled in at run time), who may call it.
const ROUTES: &[(&str, &str, Gate)] = &[
    ("POST", paths::ENROL, Gate::Public),
    ("GET", paths::TRUST_LIST, Gate::Public),
    ("GET", paths::SIGNED_TRUST_LIST, Gate::Public),
    ("GET", paths::STATUS_LIST, Gate::Public),
    ("GET", paths::PHOTO_BY_DIGEST, Gate::VerifierOrWallet),
    ("POST", paths::VERIFY, Gate::Verifier),
    ("POST", paths::IDENTITY_CHALLENGE, Gate::Wallet),
    ("POST", paths::APPLY, Gate::Wallet),
    ("POST", paths::PHOTO, Gate::Wallet),
    ("GET", paths::SYNC, Gate::Wallet),
    ("POST", paths::DRIVERS, Gate::Admin(Role::Registry)),
    ("GET", paths::DRIVER, Gate::Admin(Role::Registry)),
    ("POST", paths::ACTIVATION_CODE, Gate::Admin(Role::Registry)),
    ("POST", paths::VIOLATIONS, Gate::Admin(Role::Registry)),
    ("PUT", paths::STATUS, Gate::Admin(Role::Registry)),
    ("POST", paths::RENEW, Gate::Admin(Role::Registry)),
    ("POST", paths::COUNTER_ISSUE, Gate::Admin(Role::Registry)),
    ("POST", paths::VERIFIERS, Gate::Admin(Role::Registry)),
    ("GET", paths::VERIFIERS, Gate::Admin(Role::Registry)),
    ("POST", paths::REVOKE_VERIFIER, Gate::Admin(Role::Registry)),
    ("GET", paths::REVIEWS, Gate::Admin(Role::Reviewer)),
    ("POST", paths::APPROVE, Gate::Admin(Role::Reviewer)),
    ("POST", paths::REJECT, Gate::Admin(Role::Reviewer)),
    ("GET", paths::REVIEW_ON_FILE, Gate::Admin(Role::Reviewer)),
    ("PUT", paths::BUSY, Gate::Admin(Role::Reviewer)),
    ("GET", paths::BUSY, Gate::Admin(Role::Reviewer)),
    ("POST", paths::ROTATE_KEY, Gate::Admin(Role::KeyAdmin)),
    (
        "GET",
        edl_authority::http::audit::AUDIT,
        Gate::Admin(Role::Auditor),
    ),
    // Outside the API document: files for a browser and the document itself.
    ("GET", paths::OPENAPI, Gate::Public),
    ("GET", edl_authority::http::web::PAGE, Gate::Public),
    ("GET", edl_authority::http::web::SCRIPT, Gate::Public),
    ("GET", edl_authority::http::web::STYLE, Gate::Public),
    ("GET", edl_authority::http::web::ICON, Gate::Public),
    ("GET", edl_authority::http::ops::HEALTHZ, Gate::Public),
    ("GET", edl_authority::http::ops::READYZ, Gate::Public),
    ("GET", edl_authority::http::ops::METRICS, Gate::Scraper),
];

/// Every kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    DriverA,
    /// Driver B's own device signing for driver A's account.
    DriverB,
    Business,
    Enforcement,
    Admin(Role),
}

const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::DriverA,
    Caller::DriverB,
    Caller::Business,
    Caller::Enforcement,
    Caller::Admin(Role::Registry),
    Caller::Admin(Role::Reviewer),
    Caller::Admin(Role::KeyAdmin),
    Caller::Admin(Role::Auditor),
];

/// What `caller` must get at a `gate`: `None` = let through, else the error code.
fn expected(gate: Gate, caller: Caller) -> Option<&'static str> {
    match (gate, caller) {
        (Gate::Public, _) => None,
        (Gate::Verifier, Caller::Business | Caller::Enforcement) => None,
        (Gate::Verifier, _) => Some("unauthorized"),
        (Gate::Wallet, Caller::DriverA) => None,
        (Gate::Wallet, _) => Some("bad_signature"),
        (Gate::Admin(need), Caller::Admin(has)) if need == has => None,
        (Gate::Admin(_), Caller::Admin(_)) => Some("forbidden"),
        (Gate::Admin(_), _) => Some("unauthorized"),
        (Gate::VerifierOrWallet, Caller::Business | Caller::Enforcement | Caller::DriverA) => None,
        (Gate::VerifierOrWallet, _) => Some("bad_signature"),
        (Gate::Scraper, _) => Some("unauthorized"),
    }
}

fn token(role: Role) -> String {
    format!("token-of-the-{}", role.as_str())
}

/// One admin per role (and the test's all-roles token for the set-up).
fn tokens() -> Vec<AdminToken> {
    Role::ALL
        .into_iter()
        .map(|r| AdminToken::new(r.as_str(), &[r], &token(r)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_caller_exactly_as_the_table_says() {
    let t = TestServer::start_with(|c| c.admin_tokens = tokens()).await;
    let (driver_a, wallet_a) = t.issued_wallet(&number(1)).await;
    let (_, mut wallet_b) = t.issued_wallet(&number(2)).await;
    // Driver B's device, claiming driver A's account.
    wallet_b.account = driver_a;
    let business = t.verifier("租车行", "rental").await;
    let enforcement = t.verifier("交警", "enforcement").await;

    let mut checked = 0;
    for &(method, template, gate) in ROUTES {
        let path = paths::with_id(template, driver_a);
        let path = if template == paths::SYNC {
            format!("{path}?cursor=0")
        } else if template == paths::REVOKE_VERIFIER {
            // No such verifier (404 once let through): the callers' own keys stay good.
            paths::with_id(template, 999_999)
        } else if template == paths::PHOTO_BY_DIGEST {
            // A well-formed digest, so the request reaches the caller's check.
            paths::photo(&[0u8; 32])
        } else {
            path
        };
        for caller in CALLERS {
            // A fresh window for every call, so single use (D68) never gets in the way.
            t.clock.advance(30);
            // A read sends no body (`POST /admin/verifiers` has one, its `GET` none).
            let body = if method == "GET" {
                Value::Null
            } else {
                body_for(template, &wallet_a, t.now())
            };
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let bytes = if body.is_null() {
                Vec::new()
            } else {
                serde_json::to_vec(&body).unwrap()
            };
            let headers: Vec<(&str, String)> = match caller {
                Caller::Anonymous => vec![],
                Caller::DriverA | Caller::DriverB => {
                    let w = if caller == Caller::DriverA {
                        &wallet_a
                    } else {
                        &wallet_b
                    };
                    let auth =
                        sign_request(&w.key, method.as_str(), &path, &bytes, t.now(), rand16());
                    auth.headers(w.account).into_iter().collect()
                }
                Caller::Business => vec![(HEADER_API_KEY, business.api_key.clone())],
                Caller::Enforcement => vec![(HEADER_API_KEY, enforcement.api_key.clone())],
                Caller::Admin(role) => vec![("authorization", bearer(&token(role)))],
            };
            let resp = t
                .http
                .request(method.clone(), format!("{}{}", t.url, path))
                .headers(
                    headers
                        .iter()
                        .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                        .collect(),
                )
                .body(bytes)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned));
            let what = format!("{method} {template} as {caller:?}: {status} {code:?}");
            match expected(gate, caller) {
                None => assert!(
                    !matches!(
                        code.as_deref(),
                        Some("unauthorized" | "bad_signature" | "forbidden")
                    ),
                    "{what}: let through expected"
                ),
                Some(refusal) => {
                    assert_eq!(code.as_deref(), Some(refusal), "{what}");
                    let want = if refusal == "forbidden" {
                        StatusCode::FORBIDDEN
                    } else {
                        StatusCode::UNAUTHORIZED
                    };
                    assert_eq!(status, want, "{what}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * CALLERS.len());
}

/// A body an allowed caller could send (valid where it is cheap to be).
fn body_for(template: &str, wallet_a: &Wallet, now: u64) -> Value {
    match template {
        t if t == paths::ENROL => json!({
            "licence_number": wallet_a.number,
            "activation_code": "00000000",
            "device_public_key": Base64::encode(&rand32_key()),
        }),
        t if t == paths::VERIFY => wallet_a.online_qr(Audience::Business, now),
        t if t == paths::APPLY => json!({"reuse_stored_photo": true}),
        t if t == paths::PHOTO => {
            json!({"client_key": format!("k{now}"), "photo": Base64::encode(&jpeg(3))})
        }
        t if t == paths::DRIVERS => json!({}),
        t if t == paths::VIOLATIONS => json!({}),
        t if t == paths::STATUS => json!({"status": "A"}),
        t if t == paths::RENEW => json!({}),
        t if t == paths::VERIFIERS => json!({"name": "某公司", "class": "employer"}),
        t if t == paths::REJECT => json!({"reason": "模糊", "malicious": false}),
        t if t == paths::BUSY => json!({"retry_after": null}),
        _ => Value::Null,
    }
}

fn rand32_key() -> [u8; 32] {
    edl_core::crypto::SecretKey::from_seed(rand32())
        .public()
        .to_bytes()
}

#[test]
fn the_table_lists_every_route_of_the_api() {
    let doc = edl_authority::http::openapi();
    let mut served = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if op.is_some() {
                served.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes with no line in the matrix: {missing:?}"
    );
    assert_eq!(listed.len(), ROUTES.len(), "a route listed twice");
    // Every listed route outside the document is one of the router's own extra routes.
    for extra in listed.difference(&served) {
        assert!(
            edl_authority::http::EXTRA_ROUTES.contains(&extra.1.as_str()),
            "{extra:?} is neither in the API nor an extra route"
        );
    }
    assert_eq!(
        listed.difference(&served).count(),
        edl_authority::http::EXTRA_ROUTES.len(),
        "an extra route of the router has no line in the matrix"
    );
}
