//! Admin endpoints (bearer token); each names the role it needs (D78): registry,
//! reviewer (photo review and the busy switch) or key administrator. Only the registry's
//! endpoints answer with a driver's data; the others answer with what their role works on
//! (D146).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use edl_core::wire::{
    ActivationCode, BusySetting, CounterIssue, DriverCreated, DriverDetail, ErrorBody, NewDriver,
    NewVerifier, NewViolation, RejectPhoto, Renewal, ReviewDecision, ReviewQueue, SetStatus,
    TrustListResponse, VerifierAccounts, VerifierCreated, VerifierRevoked, paths,
};
use serde::Deserialize;

use super::extract::{Admin, AppState, Body, Id, NoBody, OptionalBody, Params};
use crate::error::{Error, Result};
use crate::roles::need;

/// Register a driver and their licence.
#[utoipa::path(post, path = paths::DRIVERS, tag = "admin", security(("admin_token" = [])),
    request_body = NewDriver,
    responses((status = 200, body = DriverCreated), (status = "4XX", body = ErrorBody)))]
pub async fn create_driver(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Body(d): Body<NewDriver>,
) -> Result<Json<DriverCreated>> {
    app.create_driver(d).await.map(Json)
}

/// One driver: licence, application and e-licence.
#[utoipa::path(get, path = paths::DRIVER, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")),
    responses((status = 200, body = DriverDetail), (status = "4XX", body = ErrorBody)))]
pub async fn driver(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    _: NoBody,
) -> Result<Json<DriverDetail>> {
    app.driver(id).await.map(Json)
}

/// A one-time activation code for enrolling the driver's wallet (replaces any earlier
/// one).
#[utoipa::path(post, path = paths::ACTIVATION_CODE, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")),
    responses((status = 200, body = ActivationCode), (status = "4XX", body = ErrorBody)))]
pub async fn activation_code(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    _: NoBody,
) -> Result<Json<ActivationCode>> {
    app.activation_code(id).await.map(Json)
}

/// Record a violation; one that takes the scoring cycle it is dated in to 12 points sets
/// status B (超分).
#[utoipa::path(post, path = paths::VIOLATIONS, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")), request_body = NewViolation,
    responses((status = 200, body = DriverDetail), (status = "4XX", body = ErrorBody)))]
pub async fn violation(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    Body(v): Body<NewViolation>,
) -> Result<Json<DriverDetail>> {
    app.record_violation(id, v).await.map(Json)
}

/// Set the licence status (suspend D, revoke F, cancel G, stop use J, overdue Q/S, …).
/// Verifiers see it on their next check.
#[utoipa::path(put, path = paths::STATUS, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")), request_body = SetStatus,
    responses((status = 200, body = DriverDetail), (status = "4XX", body = ErrorBody)))]
pub async fn status(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    Body(s): Body<SetStatus>,
) -> Result<Json<DriverDetail>> {
    app.set_status(id, s.status).await.map(Json)
}

/// Renew the licence; the current e-licence stops verifying at once.
#[utoipa::path(post, path = paths::RENEW, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")), request_body = Renewal,
    responses((status = 200, body = DriverDetail), (status = "4XX", body = ErrorBody)))]
pub async fn renew(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    Body(r): Body<Renewal>,
) -> Result<Json<DriverDetail>> {
    app.renew(id, r).await.map(Json)
}

/// Counter issuance: issue the e-licence to the driver's enrolled app account.
#[utoipa::path(post, path = paths::COUNTER_ISSUE, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Driver id")), request_body(content = CounterIssue, description = "May be empty"),
    responses((status = 200, body = DriverDetail), (status = "4XX", body = ErrorBody)))]
pub async fn counter_issue(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    OptionalBody(c): OptionalBody<CounterIssue>,
) -> Result<Json<DriverDetail>> {
    app.counter_issue(id, c).await.map(Json)
}

/// Query of the review queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// At most this many (1–100, default 20).
    pub limit: Option<u32>,
}

/// Pending photo reviews, oldest first.
#[utoipa::path(get, path = paths::REVIEWS, tag = "review", security(("admin_token" = [])),
    params(QueueQuery),
    responses((status = 200, body = ReviewQueue), (status = "4XX", body = ErrorBody)))]
pub async fn reviews(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    Params(q): Params<QueueQuery>,
    _: NoBody,
) -> Result<Json<ReviewQueue>> {
    app.review_queue(q.limit).await.map(Json)
}

/// Approve a photo: issues the e-licence and puts "application succeeded" in the feed
/// (or updates the photo of an issued e-licence). Answers with the decision only, not the
/// driver (D146).
#[utoipa::path(post, path = paths::APPROVE, tag = "review", security(("admin_token" = [])),
    params(("photo_id" = u64, Path, description = "Photo id")),
    responses((status = 200, body = ReviewDecision), (status = "4XX", body = ErrorBody)))]
pub async fn approve(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    Id(photo_id): Id,
    _: NoBody,
) -> Result<Json<ReviewDecision>> {
    app.approve(photo_id).await.map(Json)
}

/// Reject a photo with a reason; a malicious one stops the e-licence. Answers with the
/// decision only, not the driver (D146).
#[utoipa::path(post, path = paths::REJECT, tag = "review", security(("admin_token" = [])),
    params(("photo_id" = u64, Path, description = "Photo id")), request_body = RejectPhoto,
    responses((status = 200, body = ReviewDecision), (status = "4XX", body = ErrorBody)))]
pub async fn reject(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    Id(photo_id): Id,
    Body(r): Body<RejectPhoto>,
) -> Result<Json<ReviewDecision>> {
    app.reject(photo_id, r).await.map(Json)
}

/// The photo on file of the driver whose photo waits for review, to compare a change's
/// face with (D223). Never cached.
#[utoipa::path(get, path = paths::REVIEW_ON_FILE, tag = "review", security(("admin_token" = [])),
    params(("photo_id" = u64, Path, description = "Photo id of the pending review")),
    responses(
        (status = 200, description = "The photo on file (`image/jpeg` or `image/png`)",
            content_type = "image/jpeg", body = Vec<u8>),
        (status = "4XX", body = ErrorBody, description = "404 `unknown_id`: no such pending photo, or no photo on file; 409 `invalid_state`: the review was decided")))]
pub async fn review_on_file(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    Id(photo_id): Id,
    _: NoBody,
) -> Result<Response> {
    let photo = app.review_on_file(photo_id).await?;
    let content_type = if photo.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        photo,
    )
        .into_response())
}

/// Create a verifier account; the API key is shown once.
#[utoipa::path(post, path = paths::VERIFIERS, tag = "admin", security(("admin_token" = [])),
    request_body = NewVerifier,
    responses((status = 200, body = VerifierCreated), (status = "4XX", body = ErrorBody)))]
pub async fn create_verifier(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Body(v): Body<NewVerifier>,
) -> Result<Json<VerifierCreated>> {
    app.create_verifier(v).await.map(Json)
}

/// Query of the verifier accounts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifiersQuery {
    /// Accounts whose id is above this (default 0: from the first).
    pub after: Option<u64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<u32>,
    /// Only the account whose API key this is the SHA-256 of (64 hex digits), if its key
    /// is still taken: from a leaked key to its account, with no key sent (D196).
    pub key_sha256: Option<String>,
}

/// The verifier accounts by id, revoked ones with their time (D196): no key, nor its hash.
/// The next page is `after` the last id listed. With `key_sha256`, only the account whose
/// key that is (none for a revoked one, whose key is no longer on file).
#[utoipa::path(get, path = paths::VERIFIERS, tag = "admin", security(("admin_token" = [])),
    params(VerifiersQuery),
    responses((status = 200, body = VerifierAccounts), (status = "4XX", body = ErrorBody)))]
pub async fn verifiers(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Params(q): Params<VerifiersQuery>,
    _: NoBody,
) -> Result<Json<VerifierAccounts>> {
    let key_hash = q.key_sha256.as_deref().map(key_sha256).transpose()?;
    app.verifier_accounts(q.after.unwrap_or(0), q.limit.unwrap_or(100), key_hash)
        .await
        .map(Json)
}

/// A key's SHA-256 given as 64 hex digits.
fn key_sha256(hex_digits: &str) -> Result<[u8; 32]> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut hash)
        .map_err(|_| Error::BadRequest("key_sha256 must be 64 hex digits".into()))?;
    Ok(hash)
}

/// Revoke a verifier account: its API key is refused from then on (in every authority
/// process on the database within `Config::verifier_recheck`, D194). Revoking again
/// answers the first revocation.
#[utoipa::path(post, path = paths::REVOKE_VERIFIER, tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, description = "Verifier id")),
    responses((status = 200, body = VerifierRevoked), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_verifier(
    _: Admin<need::Registry>,
    State(app): State<AppState>,
    Id(id): Id,
    _: NoBody,
) -> Result<Json<VerifierRevoked>> {
    app.revoke_verifier(id).await.map(Json)
}

/// Rotate the issuer key. Credentials signed with the previous key keep verifying until
/// they expire; new ones use the new key.
#[utoipa::path(post, path = paths::ROTATE_KEY, tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = TrustListResponse), (status = "4XX", body = ErrorBody)))]
pub async fn rotate_key(
    _: Admin<need::KeyAdmin>,
    State(app): State<AppState>,
    _: NoBody,
) -> Result<Json<TrustListResponse>> {
    app.rotate_key().await.map(Json)
}

/// Set or clear the busy switch for photo changes (peak hours): `retry_after` 1 s to a
/// day, or `null`.
#[utoipa::path(put, path = paths::BUSY, tag = "admin", security(("admin_token" = [])),
    request_body = BusySetting,
    responses((status = 200, body = BusySetting), (status = "4XX", body = ErrorBody)))]
pub async fn busy(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    Body(b): Body<BusySetting>,
) -> Result<Json<BusySetting>> {
    app.set_busy(b).await.map(Json)
}

/// The busy switch in effect, as the database holds it, for every process (D177).
#[utoipa::path(get, path = paths::BUSY, tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = BusySetting), (status = "4XX", body = ErrorBody)))]
pub async fn get_busy(
    _: Admin<need::Reviewer>,
    State(app): State<AppState>,
    _: NoBody,
) -> Result<Json<BusySetting>> {
    let retry_after = app.busy().await?;
    Ok(Json(BusySetting { retry_after }))
}
