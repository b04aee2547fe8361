//! The wallet's API: enrolment (unsigned, with a one-time activation code), then
//! device-signed requests: the real-person check, the application, photo upload and sync.

use serde::{Deserialize, Serialize};

use crate::credential::{Audience, ElicenceId};
use crate::licence::Licence;

use super::{Base64, VerifierClass, elicence_id};

/// `POST /v1/enrol`: binds the wallet's device public key to the driver's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The driver's licence number.
    pub licence_number: String,
    /// The one-time activation code (SMS or counter).
    pub activation_code: String,
    /// The Ed25519 device public key (32 bytes) made on the phone.
    pub device_public_key: Base64,
}

/// Answer to `POST /v1/enrol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    /// The account id to send in [`super::HEADER_ACCOUNT`].
    pub account_id: u64,
    /// The server's clock (unix seconds), for the wallet's clock offset.
    pub server_time: u64,
}

/// Answer to `POST /v1/wallet/identity-challenge`: what the phone's identity-check
/// provider must attest to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityChallenge {
    /// Names the challenge in [`IdentityProof`].
    pub challenge_id: u64,
    /// 32 random bytes the provider's attestation covers.
    pub challenge: Base64,
    /// Unix seconds after which it is refused.
    pub expires_at: u64,
}

/// The provider's answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityProof {
    /// From [`IdentityChallenge`].
    pub challenge_id: u64,
    /// The provider's attestation (test provider: see [`super::identity`]).
    pub attestation: Base64,
}

/// `POST /v1/wallet/apply`: applies for the e-licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The real-person check. Needed unless this device key already passed one.
    #[serde(default)]
    pub identity: Option<IdentityProof>,
    /// Reuse the photo on file when it still meets the rules (issues at once).
    #[serde(default = "yes")]
    pub reuse_stored_photo: bool,
}

fn yes() -> bool {
    true
}

/// Where the e-licence application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApplicationPhase {
    /// No application yet.
    NotApplied,
    /// Applied; waiting for the driver to upload a photo.
    AwaitingPhoto,
    /// A photo is with the reviewers.
    UnderReview,
    /// The e-licence is issued.
    Issued,
    /// The e-licence was replaced (renewal, new device); apply again.
    ReapplyNeeded,
    /// Stopped after a malicious photo; contact the vehicle office.
    Stopped,
}

/// A photo waiting for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewPending {
    /// The photo's id.
    pub photo_id: u64,
    /// Upload time (unix seconds).
    pub submitted_at: u64,
    /// The review is due by then: one working day, Beijing time, weekends skipped.
    pub deadline: u64,
}

/// The application as the wallet shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    /// Where it stands.
    pub phase: ApplicationPhase,
    /// A photo being reviewed (first photo or a change).
    pub pending_review: Option<ReviewPending>,
}

/// `POST /v1/wallet/photo`: a photo for the application or to change the photo of an
/// issued e-licence. Idempotent by `client_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoUpload {
    /// Chosen by the wallet per photo (1–64 of `A–Z a–z 0–9 - _`); a retry with the same
    /// key and bytes gets the first answer again.
    pub client_key: String,
    /// JPEG or PNG, at most 2 MiB, normalised on the phone.
    pub photo: Base64,
}

/// Answer to `POST /v1/wallet/photo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoAccepted {
    /// The photo's id.
    pub photo_id: u64,
    /// The review deadline (unix seconds).
    pub deadline: u64,
    /// The application after the upload.
    pub application: ApplicationView,
}

/// Whether an e-licence verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ElicenceState {
    /// In use.
    Active,
    /// Replaced by another e-licence (renewal or a new device): no longer verifies.
    Superseded,
    /// Stopped (malicious photo): no longer verifies.
    Stopped,
}

/// The wallet's e-licence after a change: a new credential comes with its TOTP seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElicenceUpdate {
    /// The e-licence id (20 digits).
    #[serde(with = "elicence_id")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub elicence_id: ElicenceId,
    /// Whether it verifies.
    pub state: ElicenceState,
    /// `Credential::encode()` bytes; set while active.
    pub credential: Option<Base64>,
    /// The 32-byte TOTP seed; set while active. Keep it in the encrypted store.
    pub totp_seed: Option<Base64>,
    /// When the credential was signed (unix seconds).
    pub issued_at: u64,
    /// When the credential expires; sync before then for a fresh one.
    pub expires_at: u64,
}

/// How a photo review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewOutcome {
    /// Approved.
    Approved,
    /// Rejected; upload another.
    Rejected,
    /// Rejected as malicious; the e-licence is stopped.
    RejectedMalicious,
}

/// A photo review result, in the sync feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewResult {
    /// The photo's id.
    pub photo_id: u64,
    /// The outcome.
    pub outcome: ReviewOutcome,
    /// The reviewer's reason for a rejection.
    pub reason: Option<String>,
    /// When it was decided (unix seconds).
    pub decided_at: u64,
}

/// What a feed message is about, so the app can pick an icon or a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MessageKind {
    /// 电子驾驶证申领成功.
    ApplicationSucceeded,
    /// The photo change was approved.
    PhotoChanged,
    /// A photo was rejected; the reason is in the body.
    PhotoRejected,
    /// The e-licence was stopped.
    ElicenceStopped,
    /// The licence was renewed: apply again.
    LicenceRenewed,
    /// The licence status changed.
    StatusChanged,
    /// A violation was recorded.
    ViolationRecorded,
    /// A new device was enrolled on the account.
    DeviceEnrolled,
}

/// A message in the driver's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedMessage {
    /// What it is about.
    pub kind: MessageKind,
    /// When (unix seconds).
    pub at: u64,
    /// Short title, Chinese.
    pub title: String,
    /// Body text, Chinese.
    pub body: String,
}

/// How a verifier presented the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckMethod {
    /// Scanned the online QR.
    Qr,
    /// Scanned the barcode.
    Barcode,
    /// Typed the licence number and manual code.
    Manual,
}

/// How an online check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckOutcome {
    /// The code was right; the verifier got the view.
    Verified,
    /// A wrong or expired code.
    WrongCode,
    /// Refused: the verifier was locked out after failed codes.
    LockedOut,
    /// The code named an e-licence that was replaced or stopped.
    NotCurrent,
}

/// One check of the driver's e-licence, as the driver's verification log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationLogEntry {
    /// When (unix seconds).
    pub at: u64,
    /// The verifier's name.
    pub verifier: String,
    /// Its class.
    pub verifier_class: VerifierClass,
    /// The audience it saw (or would have seen).
    pub audience: Audience,
    /// How the check was presented.
    pub method: CheckMethod,
    /// How it ended.
    pub outcome: CheckOutcome,
}

/// `GET /v1/wallet/sync?cursor=N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SyncQuery {
    /// The `cursor` of the last sync; 0 (or left out) for everything.
    #[serde(default)]
    pub cursor: u64,
}

/// Everything that changed since the wallet's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// Send this as `cursor` next time.
    pub cursor: u64,
    /// More changes are waiting: sync again at once with the new cursor.
    pub more: bool,
    /// The server's clock (unix seconds), for the wallet's clock offset.
    pub server_time: u64,
    /// Both pages (status, points, record entries) if they changed.
    pub licence: Option<Licence>,
    /// The approved photo if it changed.
    pub photo: Option<Base64>,
    /// The e-licence if it changed (a new credential brings its TOTP seed).
    pub elicence: Option<ElicenceUpdate>,
    /// The application if it changed.
    pub application: Option<ApplicationView>,
    /// Photo review results, oldest first.
    pub reviews: Vec<ReviewResult>,
    /// Messages, oldest first.
    pub messages: Vec<FeedMessage>,
    /// Checks of the e-licence by verifiers, oldest first.
    pub verifications: Vec<VerificationLogEntry>,
}
