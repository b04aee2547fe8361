//! What caches may keep (D147): no cache — a verifier's browser on a shared counter PC, an
//! app's HTTP cache, a reverse proxy — keeps a driver's photo or any answer that carries
//! personal data or a secret; the public signed lists and the page's files keep the caching
//! they ask for.

use crate::common;

use common::*;
use edl_authority::http::web;
use edl_core::credential::Audience;
use edl_core::crypto::sha256;
use edl_core::wire::{
    HEADER_ACCOUNT, HEADER_API_KEY, HEADER_PHOTO_GRANT, bearer, paths, sign_request,
};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A GET of `path` with `headers`: the status and the headers (the body is not needed).
async fn get(t: &TestServer, path: &str, headers: &[(&str, String)]) -> (StatusCode, HeaderMap) {
    let mut req = t.http.get(format!("{}{path}", t.url));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.headers().clone())
}

/// The `Cache-Control` directives, lower case, without spaces.
fn directives(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("cache-control")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// No cache may answer with it without asking the authority: `no-store` or `no-cache`,
/// and no freshness that would let a cache skip the question.
fn never_served_unasked(what: &str, headers: &HeaderMap) {
    let d = directives(headers);
    assert!(
        d.iter().any(|d| d == "no-store" || d == "no-cache"),
        "{what}: {d:?}"
    );
    let fresh = d.iter().any(|d| {
        d == "immutable"
            || d.strip_prefix("max-age=")
                .or_else(|| d.strip_prefix("s-maxage="))
                .is_some_and(|secs| secs != "0")
    });
    assert!(
        !fresh || d.iter().any(|d| d == "no-cache"),
        "{what}: fresh without revalidation: {d:?}"
    );
}

/// A private cache may keep it, but must ask the authority before every use.
fn kept_only_if_asked(what: &str, headers: &HeaderMap) {
    never_served_unasked(what, headers);
    let d = directives(headers);
    assert!(
        d.iter().any(|d| d == "private") && d.iter().any(|d| d == "no-cache"),
        "{what}: {d:?}"
    );
}

/// No cache may keep it at all.
fn not_stored(what: &str, headers: &HeaderMap) {
    let d = directives(headers);
    assert!(d.iter().any(|d| d == "no-store"), "{what}: {d:?}");
}

/// `Vary` names `header` (so a cache that kept the answer despite the above would not give
/// it to a request without the same key).
fn varies_on(what: &str, headers: &HeaderMap, header: &str) {
    let names: Vec<String> = headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    assert!(
        names.iter().any(|n| n == header || n == "*"),
        "{what}: Vary {names:?} lacks {header}"
    );
}

#[tokio::test]
async fn a_kept_photo_is_asked_about_before_every_use_and_given_back_to_no_one_else() {
    let t = TestServer::start().await;
    let (_, wallet) = t.issued_wallet(&number(1)).await;
    let insurer = t.verifier("平安保险", "insurer").await;
    let (s, v, _) = t
        .verify(&insurer, wallet.manual(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let url = v["photo_url"].as_str().unwrap().to_owned();
    // The key and the answer's grant (D155); another verifier below holds the grant too.
    let grant = (
        HEADER_PHOTO_GRANT,
        v["photo_grant"].as_str().unwrap().to_owned(),
    );
    let key = vec![(HEADER_API_KEY, insurer.api_key.clone()), grant.clone()];

    // The verifier that checked: the bytes, for no cache to use without asking.
    let (s, h) = get(&t, &url, &key).await;
    assert_eq!(s, StatusCode::OK);
    kept_only_if_asked("photo", &h);
    varies_on("photo", &h, HEADER_API_KEY);
    varies_on("photo", &h, HEADER_ACCOUNT);
    // Named by its digest, so a kept copy is asked about with it: 304 for the caller the
    // grant covers...
    let etag = format!("\"{}\"", hex::encode(sha256(&jpeg(1))));
    assert_eq!(h["etag"], etag);
    let mut again = key.clone();
    again.push(("if-none-match", etag.clone()));
    let (s, h) = get(&t, &url, &again).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    kept_only_if_asked("photo 304", &h);
    varies_on("photo 304", &h, HEADER_API_KEY);
    // ...and never for anyone else: a browser asking about its copy without the key (the
    // fourth hostile review's P3, a counter PC after sign-out), or for another verifier.
    let (s, _) = get(&t, &url, &[("if-none-match", etag.clone())]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let stranger = t.verifier("Other insurer", "insurer").await;
    let (s, _) = get(
        &t,
        &url,
        &[
            (HEADER_API_KEY, stranger.api_key.clone()),
            grant.clone(),
            ("if-none-match", etag.clone()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Its driver, by a signed request: the same.
    let auth = sign_request(&wallet.key, "GET", &url, b"", t.now(), rand16());
    let signed: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
    let (s, h) = get(&t, &url, &signed).await;
    assert_eq!(s, StatusCode::OK);
    kept_only_if_asked("the driver's photo", &h);
    varies_on("the driver's photo", &h, HEADER_ACCOUNT);
    // Not on the signature, new on every request: the driver's copy could never be found.
    assert!(
        !h.get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("x-edl-signature")),
        "{:?}",
        h.get_all("vary")
    );

    // Without a key, or with the wrong one: a refusal, stored by nobody either.
    let (s, h) = get(&t, &url, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    not_stored("photo without a key", &h);
    let other = t.verifier("Car rental", "rental").await;
    let (s, h) = get(
        &t,
        &url,
        &[(HEADER_API_KEY, other.api_key.clone()), grant.clone()],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    not_stored("photo for another verifier", &h);
}

#[tokio::test]
async fn answers_with_personal_data_or_secrets_say_no_store() {
    let t = TestServer::start().await;
    let (driver, mut wallet) = t.issued_wallet(&number(1)).await;

    // The wallet's sync: the licence, the photo and the TOTP seed.
    let (s, v, h) = t
        .signed(
            &wallet,
            Method::GET,
            &format!("{}?cursor=0", paths::SYNC),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["elicence"]["totp_seed"].is_string(), "the seed is in it");
    not_stored("sync", &h);
    t.sync(&mut wallet).await;

    // The registry's view of the driver.
    let admin = [("authorization", bearer(ADMIN))];
    let (s, _, h) = t
        .raw(
            Method::GET,
            &paths::with_id(paths::DRIVER, driver),
            &admin,
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    not_stored("admin driver detail", &h);

    // Online checks, answered or refused.
    let police = t.verifier("交警", "enforcement").await;
    let (s, _, h) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    not_stored("verify", &h);
    let (s, _, h) = t
        .verify(
            &police,
            wallet.online_qr(Audience::Enforcement, t.now() - 3600),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    not_stored("refused verify", &h);

    // The unsigned trust list carries the server's time, and a path that names nothing.
    let (s, h) = get(&t, paths::TRUST_LIST, &[]).await;
    assert_eq!(s, StatusCode::OK);
    not_stored("trust list (JSON)", &h);
    let (s, h) = get(&t, "/v1/nothing-here", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    not_stored("not found", &h);
}

#[tokio::test]
async fn the_signed_lists_and_the_page_keep_their_own_caching() {
    let t = TestServer::start().await;
    for path in [paths::SIGNED_TRUST_LIST, paths::STATUS_LIST] {
        let (s, h) = get(&t, path, &[]).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let d = directives(&h);
        assert!(d.iter().any(|d| d == "public"), "{path}: {d:?}");
        assert!(
            d.iter()
                .any(|d| d.starts_with("max-age=") && d != "max-age=0"),
            "{path}: {d:?}"
        );
        assert!(!d.iter().any(|d| d == "no-store"), "{path}: {d:?}");
    }
    for path in [web::PAGE, web::SCRIPT, web::STYLE] {
        let (s, h) = get(&t, path, &[]).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(directives(&h), ["no-cache"], "{path}");
    }
}
