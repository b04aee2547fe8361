//! The registry's admin API: drivers and their licences, violations, status changes,
//! renewals, counter issuance, activation codes, photo review, verifier accounts, issuer
//! keys and the busy switch. Authorised by the admin bearer token.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::credential::{Audience, ElicenceId};
use crate::licence::serde_fmt;
use crate::licence::{ClassSet, Licence, LicenceStatus, Sex};

use super::{
    ApplicationPhase, ApplicationView, Base64, ElicenceState, ReviewOutcome, VerifierClass,
    elicence_id,
};

/// `POST /admin/drivers`: registers a driver and their licence. The scoring cycle, the
/// photo digest and the generation time are the authority's to compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    /// 证号: 17 digits then a digit or X.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 国籍.
    pub nationality: String,
    /// 出生日期, "YYYY-MM-DD".
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date_of_birth: Date,
    /// 准驾车型, e.g. "C1" or "A2 D".
    pub classes: ClassSet,
    /// 初次领证日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first_issue: Date,
    /// 有效期起始日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    /// 有效期截止日期 (inclusive; "9999-12-31" for 长期).
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: Date,
    /// 住址.
    pub address: String,
    /// 发证机关.
    pub issuing_authority: String,
    /// Status letters; "A" when left out.
    #[serde(default)]
    pub status: Option<LicenceStatus>,
    /// A photo on file that meets the rules (e.g. from the counter), reusable for the
    /// e-licence. JPEG or PNG, at most 2 MiB.
    #[serde(default)]
    pub photo: Option<Base64>,
}

/// Answer to `POST /admin/drivers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverCreated {
    /// The driver's id; it is also the wallet's account id after enrolment.
    pub driver_id: u64,
}

/// The e-licence of a driver as the registry shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ElicenceSummary {
    /// The e-licence id (20 digits).
    #[serde(with = "elicence_id")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub elicence_id: ElicenceId,
    /// Whether it verifies.
    pub state: ElicenceState,
    /// When its current credential was signed (unix seconds).
    pub issued_at: u64,
    /// When its current credential expires (unix seconds).
    pub expires_at: u64,
    /// The issuer key that signed it.
    pub kid: u16,
}

/// `GET /admin/drivers/{id}` and the answer of every driver-changing admin call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverDetail {
    /// The driver's id.
    pub driver_id: u64,
    /// Both pages as the registry holds them now.
    pub licence: Licence,
    /// Whether a wallet has enrolled a device key.
    pub device_enrolled: bool,
    /// Whether an approved photo is on file.
    pub photo_on_file: bool,
    /// The e-licence application.
    pub application: ApplicationView,
    /// The current (or last) e-licence.
    pub elicence: Option<ElicenceSummary>,
}

/// `POST /admin/drivers/{id}/activation-code`: a one-time code, as if sent by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivationCode {
    /// Eight digits; shown once, stored only as a hash.
    pub code: String,
    /// Unix seconds after which it no longer works.
    pub expires_at: u64,
}

/// `POST /admin/drivers/{id}/violations`: records an offence and its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewViolation {
    /// Day of the offence (not in the future, not before first issue).
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    /// Where it happened.
    pub place: String,
    /// The offence as worded in the decision.
    pub act: String,
    /// Points (0–12). Reaching 12 in the scoring cycle sets status B (超分).
    pub points: u8,
    /// Fine in whole yuan.
    pub fine_yuan: u32,
    /// Whether the penalty has been dealt with.
    #[serde(default)]
    pub handled: bool,
}

/// `PUT /admin/drivers/{id}/status`: sets the status letters (e.g. "D" to suspend,
/// "F" to revoke, "A" to restore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// The new status, canonical letters.
    pub status: LicenceStatus,
}

/// `POST /admin/drivers/{id}/renew`: a renewal changes classes, validity or the issuing
/// authority. The current e-licence stops verifying at once; the wallet re-applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    /// New vehicle classes.
    #[serde(default)]
    pub classes: Option<ClassSet>,
    /// New start of validity.
    #[serde(default, with = "super::common::option_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_from: Option<Date>,
    /// New end of validity: after today. Later than the current end, it also clears M
    /// (overdue renewal) and N (renewal deferred); earlier, it corrects a date.
    #[serde(default, with = "super::common::option_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<Date>,
    /// New issuing authority.
    #[serde(default)]
    pub issuing_authority: Option<String>,
}

/// `POST /admin/drivers/{id}/counter-issue`: the vehicle office issues the e-licence to
/// the driver's enrolled app account, with a photo taken at the counter or the one on
/// file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CounterIssue {
    /// A photo taken at the counter (approved by being taken there).
    #[serde(default)]
    pub photo: Option<Base64>,
}

/// Why a photo is in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewKind {
    /// For a first application (or a re-application).
    Application,
    /// To replace the photo of an issued e-licence.
    PhotoChange,
}

/// One photo waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingReview {
    /// The photo's id.
    pub photo_id: u64,
    /// Whose photo it is.
    pub driver_id: u64,
    /// Why it is reviewed.
    pub kind: ReviewKind,
    /// Upload time (unix seconds).
    pub submitted_at: u64,
    /// The review deadline: one working day (Beijing time, weekends skipped).
    pub deadline: u64,
    /// The photo bytes.
    pub photo: Base64,
}

/// `GET /admin/reviews`: the oldest pending photos first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewQueue {
    /// Up to `limit` pending reviews.
    pub reviews: Vec<PendingReview>,
}

/// `POST /admin/reviews/{photo_id}/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RejectPhoto {
    /// Shown to the driver (e.g. "背景不是白色"); 1–200 characters.
    pub reason: String,
    /// The upload was malicious: this stops the e-licence.
    #[serde(default)]
    pub malicious: bool,
}

/// Answer to `POST /admin/reviews/{photo_id}/approve` and `…/reject`: the decision and
/// where it left the application. Nothing of the driver beyond the ids the queue shows
/// (D146): a reviewer decides photos, not the registry's data, so the answer does not
/// hand them the licence, the address or the record that `GET /admin/drivers/{id}` keeps
/// for the registry role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewDecision {
    /// The photo decided.
    pub photo_id: u64,
    /// Whose photo it was.
    pub driver_id: u64,
    /// Why it was reviewed.
    pub kind: ReviewKind,
    /// The decision: `approved`, `rejected` or `rejected_malicious`.
    pub outcome: ReviewOutcome,
    /// The reason given with a rejection, as the driver sees it; `null` for an approval.
    pub reason: Option<String>,
    /// The application's phase after the decision: `issued` once an approval issued or
    /// re-signed the e-licence, `awaiting_photo` after a rejected application photo,
    /// `stopped` after a malicious one, `not_applied` when the licence was no longer
    /// eligible to issue (the driver is told why, the reviewer is not).
    pub phase: ApplicationPhase,
    /// When it was decided (unix seconds).
    pub decided_at: u64,
}

/// `POST /admin/verifiers`: a verifier account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewVerifier {
    /// Shown in drivers' verification logs (e.g. "平安保险 北京分公司"); 1–100 characters.
    pub name: String,
    /// Its kind of business.
    pub class: VerifierClass,
}

/// Answer to `POST /admin/verifiers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierCreated {
    /// The verifier's id.
    pub verifier_id: u64,
    /// The API key for [`super::HEADER_API_KEY`]; shown once, stored only as a hash.
    pub api_key: String,
    /// Its class.
    pub class: VerifierClass,
    /// The widest audience it may see.
    pub audience: Audience,
}

/// Answer to `POST /admin/verifiers/{id}/revoke`: the account's API key is refused from
/// then on (D194), and whose account it was, so that an operator sees at once which
/// business a mistyped id cut off (D196).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierRevoked {
    /// The verifier's id.
    pub verifier_id: u64,
    /// When it was revoked (unix seconds): the first revocation's time, when revoked
    /// before.
    pub revoked_at: u64,
    /// The business's name, as drivers' logs show it.
    pub name: String,
    /// Its class.
    pub class: VerifierClass,
}

/// One verifier account as `GET /admin/verifiers` lists it (D196). Never its API key or
/// the key's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierAccount {
    /// The verifier's id.
    pub verifier_id: u64,
    /// The business's name, as drivers' logs show it.
    pub name: String,
    /// Its class.
    pub class: VerifierClass,
    /// When the account was made (unix seconds).
    pub created_at: u64,
    /// When it was revoked (unix seconds); `null` while its key is taken.
    pub revoked_at: Option<u64>,
}

/// Answer to `GET /admin/verifiers`: a page of the accounts, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierAccounts {
    /// Ascending by id. An empty page is the end: a page may hold fewer than asked for
    /// (at most 500) and not be the last.
    pub verifiers: Vec<VerifierAccount>,
    /// The key hash the list was filtered by (`key_sha256`, lower-case hex), `null` for a
    /// plain page. A client that asked for the filter and reads no such field talks to an
    /// authority that ignored it, and must not take the page for the key's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<String>,
}

/// `PUT /admin/settings/busy` (and `GET`, to read it back): peak-hours switch for photo
/// changes. `retry_after` must be named, `null` included, and nothing else: a body that
/// misspells it is refused rather than read as `null`, which clears the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusySetting {
    /// When set, photo changes are answered 429 with this Retry-After (seconds, 1 to
    /// 86,400, the authority's bounds); `null` accepts them again.
    #[serde(deserialize_with = "named_nullable")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 1, maximum = 86400)
    )]
    pub retry_after: Option<u32>,
}

/// An `Option` field that must be present, `null` or a value: with `deserialize_with`,
/// serde refuses a missing field instead of reading it as `None`.
fn named_nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d)
}
