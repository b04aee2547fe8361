//! Online verification (verifier API key) and the public trust list.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::credential::{Audience, ElicenceId};
use crate::licence::serde_fmt;
use crate::licence::{ClassSet, Licence, LicenceStatus, NotEligible, StatusColour};

use super::{Base64, CheckMethod, elicence_id};

/// `POST /v1/verify`: what the verifier read from the driver's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerifyRequest {
    /// The bytes of the online QR (14 bytes).
    Qr {
        /// The scanned payload bytes.
        payload: Base64,
    },
    /// The 32 digits read off the barcode.
    Barcode {
        /// The barcode text.
        text: String,
    },
    /// Typed by a person: the licence number and the 7-digit manual code.
    Manual {
        /// The full licence number the driver gave.
        licence_number: String,
        /// The manual code (spaces allowed).
        code: String,
    },
}

impl VerifyRequest {
    /// How the check was presented.
    pub fn method(&self) -> CheckMethod {
        match self {
            VerifyRequest::Qr { .. } => CheckMethod::Qr,
            VerifyRequest::Barcode { .. } => CheckMethod::Barcode,
            VerifyRequest::Manual { .. } => CheckMethod::Manual,
        }
    }
}

/// What an insurer, rental firm or employer gets: qualification only. There is no field
/// for the address, the date of birth, the full licence number or the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessQualification {
    /// 姓名.
    pub name: String,
    /// The licence number with all but its first and last four characters masked.
    pub masked_number: String,
    /// 准驾车型.
    pub classes: ClassSet,
    /// 有效期起始日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    /// 有效期截止日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: Date,
    /// Live status letters.
    pub status: LicenceStatus,
    /// SHA-256 of the photo (hex), matching the photo sent alongside.
    #[serde(with = "serde_fmt::hex32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub photo_digest: [u8; 32],
}

/// The live view of the narrower of the driver's chosen audience and the verifier's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "audience", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LiveView {
    /// Police: both pages, with live status, points and record.
    Enforcement {
        /// Both pages as the registry holds them now.
        licence: Licence,
    },
    /// Businesses: qualification only.
    Business {
        /// The qualification.
        qualification: BusinessQualification,
    },
}

impl LiveView {
    /// The audience of the view.
    pub fn audience(&self) -> Audience {
        match self {
            LiveView::Enforcement { .. } => Audience::Enforcement,
            LiveView::Business { .. } => Audience::Business,
        }
    }
}

/// Answer to a successful `POST /v1/verify`: the code was right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyResponse {
    /// The e-licence checked (20 digits).
    #[serde(with = "elicence_id")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub elicence_id: ElicenceId,
    /// When the authority checked (unix seconds).
    pub checked_at: u64,
    /// Whether the licence is in force right now (status and validity).
    pub in_force: bool,
    /// If not, the most serious reason.
    pub not_in_force_reason: Option<NotEligible>,
    /// How the status is shown: black (normal), red (a code to notice) or hidden.
    pub status_colour: StatusColour,
    /// The status in words (the view carries its letters), so a verifier's screen keeps
    /// no table of status names. Empty in answers of servers older than this field.
    #[serde(default)]
    pub status_label: StatusLabel,
    /// What the verifier may see.
    pub view: LiveView,
    /// SHA-256 of the approved photo (hex). The photo itself is its own resource (D92):
    /// fetch `photo_url` with the same API key and `photo_grant`, and check that it hashes
    /// to this.
    #[serde(with = "serde_fmt::hex32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub photo_digest: [u8; 32],
    /// Where the photo is, relative to the authority: `/v1/photos/{photo_digest}`
    /// (content-addressed: the same URL always names the same bytes; a cache may keep it but
    /// asks before each use; readable by this verifier for a few minutes after this check,
    /// and by the driver).
    pub photo_url: String,
    /// What lets this verifier fetch the photo, in the `x-edl-photo-grant` header beside
    /// its API key, for a few minutes after this check, from any authority process (D155):
    /// opaque, URL-safe base64. Servers older than this field send none (they kept grants
    /// in their own memory); a client then reads it as empty and sends no header.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub photo_grant: String,
}

/// A licence status in words: the official names of its codes, joined ("暂扣、逾期未换证",
/// "Suspended, Renewal overdue"; "正常", "Normal" when normal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusLabel {
    /// In Chinese.
    pub zh: String,
    /// In English.
    pub en: String,
}

impl From<LicenceStatus> for StatusLabel {
    fn from(status: LicenceStatus) -> Self {
        StatusLabel {
            zh: status.label_zh(),
            en: status.label_en(),
        }
    }
}

/// One issuer key of the trust list, spelled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedKeyInfo {
    /// The key id named in every view it signs.
    pub kid: u16,
    /// The Ed25519 public key (32 bytes).
    pub public_key: Base64,
    /// Views issued before this (unix seconds) are not accepted under it.
    pub not_before: u64,
    /// Views issued after this are not accepted (retired key); 4294967295 while current.
    pub not_after: u64,
}

/// `GET /v1/trust-list`: the issuer keys a verifier accepts offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustListResponse {
    /// `TrustList::encode()` bytes: what an offline verifier stores.
    pub trust_list: Base64,
    /// The same keys, spelled out.
    pub keys: Vec<TrustedKeyInfo>,
    /// The current key, which signed `signature`.
    pub signer_kid: u16,
    /// The current key's signature over `trust_list` (purpose `TrustList`), so a
    /// verifier that pinned an earlier list can follow a rotation.
    pub signature: Base64,
    /// The server's clock (unix seconds).
    pub server_time: u64,
}
