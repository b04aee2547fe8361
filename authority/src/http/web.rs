//! The verifier web page at `/verify`: a static page, its stylesheet and its script,
//! embedded in the binary (built from `authority/web/`, whose README says how) and served
//! from the API's own origin, so the page's only connection is to this server.
//!
//! Not part of the OpenAPI document: these are files for a browser, not API endpoints.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where the page lives.
pub const PAGE: &str = "/verify";
/// The script, bundled by `authority/web/build.mjs` (committed, so no npm at build time).
pub const SCRIPT: &str = "/verify/assets/verify.js";
/// The stylesheet.
pub const STYLE: &str = "/verify/assets/verify.css";
/// The page's icon, which it names so that a browser does not ask for `/favicon.ico`, a
/// 404 in the console of every verifier's first visit.
pub const ICON: &str = "/verify/assets/icon.svg";

const HTML: &str = include_str!("../../web/static/index.html");
const JS: &str = include_str!("../../web/dist/verify.js");
const CSS: &str = include_str!("../../web/static/verify.css");
const SVG: &str = include_str!("../../web/static/icon.svg");

/// The page's Content-Security-Policy: its own script and style only (no inline code), the
/// photo as a `data:` image, the camera as a media stream, and requests to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
    connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The page and its assets: path, content type, body. The router is built from this
/// table (and `http::EXTRA_ROUTES` lists it for the authorisation matrix).
pub const FILES: [(&str, &str, &str); 4] = [
    (PAGE, "text/html; charset=utf-8", HTML),
    (SCRIPT, "text/javascript; charset=utf-8", JS),
    (STYLE, "text/css; charset=utf-8", CSS),
    (ICON, "image/svg+xml", SVG),
];

/// The routes of the page and its assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES
        .into_iter()
        .fold(Router::new(), |router, (path, content_type, body)| {
            router.route(path, get(move || async move { file(content_type, body) }))
        })
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // The camera for this page only; nothing else the browser could lend it.
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
        ),
        // Small and embedded: revalidate rather than run a stale script after an upgrade.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, body).into_response()
}
