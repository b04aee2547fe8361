//! The trust list and online verification.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use edl_core::wire::{ErrorBody, TrustListResponse, VerifyRequest, VerifyResponse, paths};

use super::extract::{AppState, Body, NoBody, Verifier};
use crate::error::Result;

/// The issuer keys, for offline verification.
#[utoipa::path(get, path = paths::TRUST_LIST, tag = "verifier",
    responses((status = 200, body = TrustListResponse)))]
pub async fn trust_list(State(app): State<AppState>, _: NoBody) -> Json<TrustListResponse> {
    Json(app.trust_list())
}

/// The trust list signed by the authority's root key (binary, D72): what a wallet or an
/// offline verifier that pinned the root checks and keeps. 404 if the server has no root.
#[utoipa::path(get, path = paths::SIGNED_TRUST_LIST, tag = "verifier",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
        description = "`TrustListContents` ‖ root signature; see docs/PROTOCOL.md"),
        (status = 404, body = ErrorBody)))]
pub async fn signed_trust_list(State(app): State<AppState>, _: NoBody) -> Result<Response> {
    Ok(binary(app.signed_trust_list()?, 300))
}

/// The status list signed by the current issuing key (binary, D71): two bits per
/// e-licence index. Built per request, so a change is in the next list fetched.
#[utoipa::path(get, path = paths::STATUS_LIST, tag = "verifier",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
        description = "signed status list; see docs/PROTOCOL.md")))]
pub async fn status_list(State(app): State<AppState>, _: NoBody) -> Result<Response> {
    Ok(binary(app.status_list().await?, 60))
}

/// Public bytes any cache may keep for `max_age` seconds (they are signed and dated).
fn binary(bytes: Vec<u8>, max_age: u32) -> Response {
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response()
}

/// Online verification of an online QR, a barcode or a licence number with a manual
/// code. Answers with the live view for the narrower of the driver's chosen audience
/// and the verifier's class, with the photo. Failed codes are limited per verifier and
/// licence (429 `locked_out` with Retry-After). Every check is logged for the driver.
#[utoipa::path(post, path = paths::VERIFY, tag = "verifier", security(("api_key" = [])),
    request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = "4XX", body = ErrorBody)))]
pub async fn verify(
    verifier: Verifier,
    State(app): State<AppState>,
    Body(req): Body<VerifyRequest>,
) -> Result<Json<VerifyResponse>> {
    app.verify(&verifier.0, req).await.map(Json)
}
