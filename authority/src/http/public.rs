//! The trust list, online verification and the photo a check names.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edl_core::wire::{
    ErrorBody, HEADER_API_KEY, HEADER_PHOTO_GRANT, TrustListResponse, VerifyRequest,
    VerifyResponse, paths,
};

use super::extract::{AppState, Body, NoBody, Signed, Verifier};
use crate::error::{Error, Result};

/// The issuer keys, for offline verification.
#[utoipa::path(get, path = paths::TRUST_LIST, tag = "verifier",
    responses((status = 200, body = TrustListResponse)))]
pub async fn trust_list(State(app): State<AppState>, _: NoBody) -> Json<TrustListResponse> {
    Json(app.trust_list().await)
}

/// The trust list signed by the authority's root key (binary, D72): what a wallet or an
/// offline verifier that pinned the root checks and keeps. 404 if the server has no root.
#[utoipa::path(get, path = paths::SIGNED_TRUST_LIST, tag = "verifier",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
        description = "`TrustListContents` ‖ root signature; see docs/PROTOCOL.md"),
        (status = 404, body = ErrorBody)))]
pub async fn signed_trust_list(State(app): State<AppState>, _: NoBody) -> Result<Response> {
    Ok(binary(app.signed_trust_list().await?, 300))
}

/// The status list signed by the current issuing key (binary, D71): two bits per
/// e-licence index. Read after the request arrives (requests that arrive together share one
/// build, D136), so a change is in the next list fetched.
#[utoipa::path(get, path = paths::STATUS_LIST, tag = "verifier",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
        description = "signed status list; see docs/PROTOCOL.md")))]
pub async fn status_list(State(app): State<AppState>, _: NoBody) -> Result<Response> {
    Ok(binary(app.status_list().await?, 60))
}

/// Public bytes any cache may keep for `max_age` seconds (they are signed and dated).
fn binary(bytes: impl Into<axum::body::Body>, max_age: u32) -> Response {
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
        bytes.into(),
    )
        .into_response()
}

/// Online verification of an online QR, a barcode or a licence number with a manual
/// code. Answers with the live view for the narrower of the driver's chosen audience
/// and the verifier's class, and the digest and URL of the photo (fetched separately,
/// [`photo`]). Failed codes are limited per verifier and
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

/// `Cache-Control` of a photo (D147): a cache may keep it, but must ask the authority
/// before every use (`no-cache`), and the authority answers a copy's `If-None-Match` with
/// 304 only after the same authorisation as the bytes: a copy in a browser or an app's
/// HTTP cache is given back to no one the grant does not cover (5 minutes, the verifier
/// that checked, or the driver). `private`: no shared cache keeps it. The verifier web page
/// fetches it with `no-store` on top, so on a counter PC that clerks share it is never
/// written to the browser's disk.
pub const PHOTO_CACHE_CONTROL: &str = "private, no-cache";

/// `Vary` of a photo: the headers that say who asks (the verifier's key; the driver's
/// account), so a cache looks a copy up only for a request from the same caller, and asks
/// the authority even then. Not the driver's signature: it is new on every request, so a
/// driver's copy would never be found again.
pub const PHOTO_VARY: &str = "x-edl-api-key, x-edl-account";

/// The approved photo by its SHA-256 (D92), as bytes: for a verifier (API key) holding the
/// `photo_grant` of its online check of that e-licence, within a few minutes of it, from
/// any authority process (D155), or for its driver (signed by the device that passed the
/// real-person check).
/// `ETag` is the digest, and `If-None-Match` with it is answered 304 once the caller may
/// read it; a cache must ask before every use (`no-cache`, D147).
#[utoipa::path(get, path = paths::PHOTO_BY_DIGEST, tag = "verifier",
    security(("api_key" = []), ("device_signature" = [])),
    params(("digest" = String, Path, description = "SHA-256 of the photo: 64 lower-case hex digits"),
           ("x-edl-photo-grant" = Option<String>, Header, nullable = false, description = "A verifier's, beside its API key: the `photo_grant` of its verify answer (D155); not sent by a driver")),
    responses(
        (status = 200, description = "The photo (`image/jpeg` or `image/png`)",
            content_type = "image/jpeg", body = Vec<u8>,
            headers(("ETag" = String, description = "The digest, quoted"),
                    ("Cache-Control" = String, description = "private, no-cache"),
                    ("Vary" = String, description = "x-edl-api-key, x-edl-account"))),
        (status = 304, description = "The photo named by If-None-Match is the one asked for"),
        (status = "4XX", body = ErrorBody, description = "404 `unknown_id`: no photo this caller may read under that digest (for a verifier: no grant, or one of another verifier or photo, altered or past its minutes); 403 `identity_check_required`: a device not yet through the real-person check")))]
pub async fn photo(
    State(app): State<AppState>,
    Path(digest): Path<String>,
    request: Request,
) -> Result<Response> {
    let mut bytes = [0u8; 32];
    if digest.len() != 64
        || digest.bytes().any(|b| b.is_ascii_uppercase())
        || hex::decode_to_slice(&digest, &mut bytes).is_err()
    {
        return Err(Error::BadRequest(
            "the digest must be 64 lower-case hex digits".into(),
        ));
    }
    let etag = format!("\"{digest}\"");
    let cached = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (mut parts, body) = request.into_parts();
    let photo = if parts.headers.contains_key(HEADER_API_KEY) {
        let Verifier(verifier) = Verifier::from_request_parts(&mut parts, &app).await?;
        let grant = parts
            .headers
            .get(HEADER_PHOTO_GRANT)
            .and_then(|v| v.to_str().ok());
        app.photo_for_verifier(&verifier, &bytes, grant).await?
    } else {
        let signed = Signed::from_request(Request::from_parts(parts, body), &app).await?;
        signed.no_body()?;
        signed.identity_checked()?;
        app.photo_for_driver(signed.account, &bytes).await?
    };
    let headers = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(|_| Error::NotFound)?,
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(PHOTO_CACHE_CONTROL),
        ),
        (header::VARY, HeaderValue::from_static(PHOTO_VARY)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let content_type = if photo.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((
        headers,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        photo,
    )
        .into_response())
}
