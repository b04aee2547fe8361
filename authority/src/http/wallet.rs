//! Wallet endpoints: enrolment, then device-signed requests.

use axum::Json;
use axum::extract::State;
use edl_core::wire::{
    ApplicationView, ApplyRequest, EnrolRequest, EnrolResponse, ErrorBody, IdentityChallenge,
    PhotoAccepted, PhotoUpload, SyncQuery, SyncResponse, paths,
};

use super::extract::{AppState, Body, Params, Signed, Source, UploadSlot};
use crate::error::Result;
use crate::throttle::source_key;

/// Enrol the wallet's device key with a one-time activation code. Attempts back off
/// per licence number and per source (429 `locked_out` with Retry-After); a wrong code
/// never burns the right one.
#[utoipa::path(post, path = paths::ENROL, tag = "wallet", request_body = EnrolRequest,
    responses((status = 200, body = EnrolResponse), (status = "4XX", body = ErrorBody)))]
pub async fn enrol(
    State(app): State<AppState>,
    source: Source,
    Body(e): Body<EnrolRequest>,
) -> Result<Json<EnrolResponse>> {
    app.enrol(e, source_key(source.0)).await.map(Json)
}

/// A challenge for the real-person check (实人认证); the phone's identity-check provider
/// answers it.
#[utoipa::path(post, path = paths::IDENTITY_CHALLENGE, tag = "wallet",
    security(("device_signature" = [])),
    responses((status = 200, body = IdentityChallenge), (status = "4XX", body = ErrorBody)))]
pub async fn identity_challenge(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<IdentityChallenge>> {
    signed.current()?;
    signed.no_body()?;
    app.identity_challenge(signed.account).await.map(Json)
}

/// Apply for the e-licence: refused with the reason when the licence is not in force;
/// issued at once with a photo on file that still meets the rules, otherwise it waits
/// for a photo.
#[utoipa::path(post, path = paths::APPLY, tag = "wallet", security(("device_signature" = [])),
    request_body = ApplyRequest,
    responses((status = 200, body = ApplicationView), (status = "4XX", body = ErrorBody)))]
pub async fn apply(State(app): State<AppState>, signed: Signed) -> Result<Json<ApplicationView>> {
    signed.current()?;
    let request: ApplyRequest = signed.json()?;
    app.apply(signed.account, request).await.map(Json)
}

/// Upload a photo (JPEG or PNG, at most 2 MiB; idempotent by `client_key`), from the
/// device that passed the real-person check (403 `identity_check_required` before it).
/// Photo changes may be answered 429 with Retry-After at peak hours.
#[utoipa::path(post, path = paths::PHOTO, tag = "wallet", security(("device_signature" = [])),
    request_body = PhotoUpload,
    responses((status = 200, body = PhotoAccepted), (status = "4XX", body = ErrorBody)))]
pub async fn photo(
    State(app): State<AppState>,
    _slot: UploadSlot,
    signed: Signed,
) -> Result<Json<PhotoAccepted>> {
    signed.current()?;
    signed.identity_checked()?;
    let upload: PhotoUpload = signed.json()?;
    app.upload_photo(signed.account, upload).await.map(Json)
}

/// Everything that changed since the cursor, and the server time. A device that has not
/// passed the real-person check gets no personal data and its cursor does not move.
#[utoipa::path(get, path = paths::SYNC, tag = "wallet", security(("device_signature" = [])),
    params(SyncQuery),
    responses((status = 200, body = SyncResponse), (status = "4XX", body = ErrorBody)))]
pub async fn sync(
    State(app): State<AppState>,
    Params(q): Params<SyncQuery>,
    signed: Signed,
) -> Result<Json<SyncResponse>> {
    signed.no_body()?;
    app.sync(signed.account, q.cursor, signed.checked)
        .await
        .map(Json)
}
