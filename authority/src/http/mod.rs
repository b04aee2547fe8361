//! The HTTP API: routes, body limits, the JSON fallbacks and the OpenAPI document, all
//! from one router so the document cannot miss a route.

mod admin;
pub mod audit;
pub mod extract;
pub mod ops;
mod public;
mod wallet;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use edl_core::wire::{ErrorBody, ErrorCode, HEADER_API_KEY, HEADER_SIGNATURE};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Error;
use extract::AppState;

/// Body limit of endpoints that take no photo.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Body limit of endpoints that take a photo: 2 MiB as base64 plus the JSON around it.
pub const PHOTO_BODY_LIMIT: usize = 3 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "EDL issuing authority",
        description = "The 12123-style backend of the EDL electronic driving licence wallet. \
            See docs/HTTP.md for authentication and error handling."
    ),
    modifiers(&Security),
    tags(
        (name = "wallet", description = "Enrolment and device-signed wallet requests"),
        (name = "verifier", description = "Online verification and the trust list"),
        (name = "admin", description = "The registry, keys and audit log (admin token with the role each names)"),
        (name = "review", description = "Photo review (admin token with the reviewer role)")
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(HEADER_API_KEY))),
        );
        components.add_security_scheme(
            "device_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                HEADER_SIGNATURE,
                "Ed25519 device signature with X-EDL-Account, X-EDL-Timestamp and \
                 X-EDL-Nonce; see docs/HTTP.md",
            ))),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    let small = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(wallet::enrol))
        .routes(routes!(wallet::identity_challenge))
        .routes(routes!(wallet::apply))
        .routes(routes!(wallet::sync))
        .routes(routes!(public::trust_list))
        .routes(routes!(public::signed_trust_list))
        .routes(routes!(public::status_list))
        .routes(routes!(public::verify))
        .routes(routes!(public::photo))
        .routes(routes!(admin::driver))
        .routes(routes!(admin::activation_code))
        .routes(routes!(admin::violation))
        .routes(routes!(admin::status))
        .routes(routes!(admin::renew))
        .routes(routes!(admin::reviews))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::reject))
        .routes(routes!(admin::review_on_file))
        .routes(routes!(admin::create_verifier, admin::verifiers))
        .routes(routes!(admin::revoke_verifier))
        .routes(routes!(admin::rotate_key))
        .routes(routes!(admin::busy, admin::get_busy))
        .routes(routes!(audit::audit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let photos = OpenApiRouter::new()
        .routes(routes!(wallet::photo))
        .routes(routes!(admin::create_driver))
        .routes(routes!(admin::counter_issue))
        .layer(DefaultBodyLimit::max(PHOTO_BODY_LIMIT));
    small.merge(photos)
}

/// The router's routes outside the OpenAPI document, all `GET`: the document itself, the
/// verifier page's files (`web::FILES`) and the operator's health, readiness and metrics. With the document's routes
/// this is every route, which the authorisation matrix test checks (D79).
pub const EXTRA_ROUTES: &[&str] = &[
    edl_core::wire::paths::OPENAPI,
    web::FILES[0].0,
    web::FILES[1].0,
    web::FILES[2].0,
    web::FILES[3].0,
    ops::HEALTHZ,
    ops::READYZ,
    ops::METRICS,
];

/// The OpenAPI document of the API (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// The document as pretty JSON with a final newline (the committed
/// `authority/openapi.json`).
pub fn openapi_json() -> String {
    pretty(&openapi())
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The panic payload may hold request data; it is not echoed. The panic itself was
    // logged once, with its location, by the hook (`crate::telemetry::log_panics`).
    tracing::debug!("a handler panicked; answered 500");
    let body = ErrorBody::new(
        ErrorCode::Internal,
        "the server could not complete the request",
    );
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(body),
    )
        .into_response()
}

/// The whole service for `app`.
pub fn router(app: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    let doc = Arc::new(pretty(&doc));
    router
        .route(
            edl_core::wire::paths::OPENAPI,
            get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], (*doc).clone()) }
            }),
        )
        // The verifier web page: files for a browser, outside the OpenAPI document.
        .merge(web::routes())
        // Health, readiness and metrics: for the operator's tooling, outside it too.
        .merge(ops::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_response))
        // Outermost, so the fallbacks' and a panic's answers get it too.
        .layer(axum::middleware::map_response(no_store_unless_said))
        .with_state(app)
}

/// `Cache-Control: no-store` on every answer that does not name its own (D147): sync
/// carries the TOTP seed, the registry's answers and the verify answers personal data, and
/// no browser or proxy is to keep them. The answers that set their own keep it: the
/// signed trust and status lists (`public, max-age`), the page's files (`no-cache`) and
/// the photo (`private, no-cache` with `Vary`).
async fn no_store_unless_said(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn pretty(doc: &utoipa::openapi::OpenApi) -> String {
    let mut text = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}
