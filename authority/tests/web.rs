//! The verifier web page is served by the authority itself, from its own origin, with a
//! policy that lets the page run its own script and nothing else. (What the page does is
//! tested in a real browser by authority/web/test.sh.)

use crate::common;

use common::TestServer;
use edl_authority::http::web;

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server
        .http
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let server = TestServer::start().await;
    for (path, kind) in [
        (web::PAGE, "text/html"),
        (web::SCRIPT, "text/javascript"),
        (web::STYLE, "text/css"),
        (web::ICON, "image/svg+xml"),
    ] {
        let resp = get(&server, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(h["content-security-policy"], web::CONTENT_SECURITY_POLICY);
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(!resp.bytes().await.unwrap().is_empty());
    }
}

#[test]
fn the_policy_allows_no_inline_code_and_no_other_origin() {
    let csp = web::CONTENT_SECURITY_POLICY;
    for forbidden in ["unsafe-inline", "unsafe-eval", "http:", "https:", "*"] {
        assert!(!csp.contains(forbidden), "{forbidden} in {csp}");
    }
    for needed in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(needed), "{needed} missing from {csp}");
    }
}

#[tokio::test]
async fn the_page_loads_only_its_own_files_and_holds_no_inline_script() {
    let server = TestServer::start().await;
    let html = get(&server, web::PAGE).await.text().await.unwrap();
    assert!(html.contains(&format!("<script src=\"{}\" defer></script>", web::SCRIPT)));
    assert!(html.contains(&format!("href=\"{}\"", web::STYLE)));
    // Its icon named, so a browser does not ask for a `/favicon.ico` the server lacks.
    assert!(html.contains(&format!("<link rel=\"icon\" href=\"{}\"", web::ICON)));
    assert_eq!(html.matches("<script").count(), 1, "one script, a file");
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains(" onclick"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no other origin"
    );
}

#[tokio::test]
async fn an_unknown_asset_is_a_json_not_found_and_the_page_is_not_an_api_endpoint() {
    let server = TestServer::start().await;
    let resp = get(&server, "/verify/assets/missing.js").await;
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let doc = edl_authority::http::openapi();
    assert!(
        doc.paths.paths.keys().all(|p| !p.starts_with(web::PAGE)),
        "the page is not in the OpenAPI document"
    );
}
