//! The trust list and online verification.

use axum::Json;
use axum::extract::State;
use edl_core::wire::{ErrorBody, TrustListResponse, VerifyRequest, VerifyResponse, paths};

use super::extract::{AppState, Body, NoBody, Verifier};
use crate::error::Result;

/// The issuer keys, for offline verification.
#[utoipa::path(get, path = paths::TRUST_LIST, tag = "verifier",
    responses((status = 200, body = TrustListResponse)))]
pub async fn trust_list(State(app): State<AppState>, _: NoBody) -> Json<TrustListResponse> {
    Json(app.trust_list())
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
