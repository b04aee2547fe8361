//! The OpenAPI document is generated from the handlers and wire types; the committed
//! copy must match a fresh generation.
//!
//! After changing the API: `UPDATE_OPENAPI=1 cargo test -p edl-authority --test authority_tests openapi::`.

use crate::common;

use edl_core::wire::paths;
use reqwest::Method;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

#[test]
fn committed_openapi_document_matches_a_fresh_generation() {
    let fresh = edl_authority::http::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &fresh).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "authority/openapi.json is stale; regenerate it with \
         UPDATE_OPENAPI=1 cargo test -p edl-authority --test authority_tests openapi::"
    );
}

#[test]
fn every_endpoint_of_the_wire_module_is_documented_with_its_schemas() {
    let doc: serde_json::Value =
        serde_json::from_str(&edl_authority::http::openapi_json()).unwrap();
    let documented = doc["paths"].as_object().unwrap();
    for path in [
        paths::ENROL,
        paths::TRUST_LIST,
        paths::SIGNED_TRUST_LIST,
        paths::STATUS_LIST,
        paths::VERIFY,
        paths::PHOTO_BY_DIGEST,
        paths::IDENTITY_CHALLENGE,
        paths::APPLY,
        paths::PHOTO,
        paths::SYNC,
        paths::DRIVERS,
        paths::DRIVER,
        paths::ACTIVATION_CODE,
        paths::VIOLATIONS,
        paths::STATUS,
        paths::RENEW,
        paths::COUNTER_ISSUE,
        paths::REVIEWS,
        paths::APPROVE,
        paths::REJECT,
        paths::REVIEW_ON_FILE,
        paths::VERIFIERS,
        paths::REVOKE_VERIFIER,
        paths::ROTATE_KEY,
        paths::BUSY,
        edl_authority::http::audit::AUDIT,
    ] {
        assert!(documented.contains_key(path), "{path} is not documented");
    }
    assert_eq!(documented.len(), 26);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "ErrorCode",
        "SyncResponse",
        "VerifyResponse",
        "Licence",
        "ClassSet",
        "LicenceStatus",
        "NotEligible",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
}

#[tokio::test]
async fn the_server_serves_the_same_document() {
    let t = common::TestServer::start().await;
    let resp = t
        .http
        .request(Method::GET, format!("{}{}", t.url, paths::OPENAPI))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.unwrap(),
        edl_authority::http::openapi_json()
    );
}
