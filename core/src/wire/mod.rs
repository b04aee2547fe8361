//! HTTP request and response types shared by the wallet, verifiers and the authority, so
//! client and server cannot drift.
//!
//! - [`error`]: the JSON error body and its stable codes.
//! - [`auth`]: header names and the device request signature.
//! - [`admin`], [`wallet`], [`verifier`]: the bodies of each party's endpoints.
//! - [`identity`]: the test provider of the real-person check.
//! - [`Base64`]: how binary fields travel (credentials, trust lists, keys, seeds, photos).
//!
//! Everything here is plain data and pure functions (no I/O, no clock). The endpoint list
//! is in [`paths`]; `docs/HTTP.md` describes the API for client writers. With the
//! `openapi` feature the types also derive `utoipa::ToSchema`.

pub mod admin;
pub mod auth;
mod b64;
mod common;
pub mod error;
pub mod identity;
pub mod photo;
#[cfg(feature = "openapi")]
mod schema;
pub mod verifier;
pub mod wallet;

pub use admin::{
    ActivationCode, BusySetting, CounterIssue, DriverCreated, DriverDetail, ElicenceSummary,
    NewDriver, NewVerifier, NewViolation, PendingReview, RejectPhoto, Renewal, ReviewDecision,
    ReviewKind, ReviewQueue, SetStatus, VerifierAccount, VerifierAccounts, VerifierCreated,
    VerifierRevoked,
};
pub use auth::{
    AuthError, DEFAULT_MAX_SKEW, HEADER_ACCOUNT, HEADER_API_KEY, HEADER_AUTHORIZATION,
    HEADER_NONCE, HEADER_PHOTO_GRANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, RequestAuth, bearer,
    request_message, sign_request,
};
pub use b64::{BAD_BASE64, Base64};
pub use common::{VerifierClass, elicence_id, option_date};
pub use error::{ErrorBody, ErrorCode};
pub use verifier::{
    BusinessQualification, LiveView, StatusLabel, TrustListResponse, TrustedKeyInfo, VerifyRequest,
    VerifyResponse,
};
pub use wallet::{
    ApplicationPhase, ApplicationView, ApplyRequest, CheckMethod, CheckOutcome, ElicenceState,
    ElicenceUpdate, EnrolRequest, EnrolResponse, FeedMessage, IdentityChallenge, IdentityProof,
    MessageKind, PhotoAccepted, PhotoUpload, ReviewOutcome, ReviewPending, ReviewResult, SyncQuery,
    SyncResponse, VerificationLogEntry,
};

/// The paths of every endpoint, so clients and the server name them once.
/// `{id}` and `{photo_id}` are path parameters (decimal).
pub mod paths {
    /// `POST`: enrol a device with an activation code.
    pub const ENROL: &str = "/v1/enrol";
    /// `GET`: the trust list.
    pub const TRUST_LIST: &str = "/v1/trust-list";
    /// `GET`: the trust list signed by the root (binary, D72).
    pub const SIGNED_TRUST_LIST: &str = "/v1/trust-list/signed";
    /// `GET`: the signed status list (binary, D71).
    pub const STATUS_LIST: &str = "/v1/status-list";
    /// `POST` (verifier): online verification.
    pub const VERIFY: &str = "/v1/verify";
    /// `POST` (signed): a real-person check challenge.
    pub const IDENTITY_CHALLENGE: &str = "/v1/wallet/identity-challenge";
    /// `POST` (signed): apply for the e-licence.
    pub const APPLY: &str = "/v1/wallet/apply";
    /// `POST` (signed): upload a photo.
    pub const PHOTO: &str = "/v1/wallet/photo";
    /// `GET` (signed): changes since a cursor.
    pub const SYNC: &str = "/v1/wallet/sync";
    /// `GET` (verifier that just checked the e-licence, or the driver, signed): the
    /// approved photo by its SHA-256 in hex (D92).
    pub const PHOTO_BY_DIGEST: &str = "/v1/photos/{digest}";
    /// `POST` (admin): register a driver.
    pub const DRIVERS: &str = "/admin/drivers";
    /// `GET` (admin): one driver.
    pub const DRIVER: &str = "/admin/drivers/{id}";
    /// `POST` (admin): a one-time activation code.
    pub const ACTIVATION_CODE: &str = "/admin/drivers/{id}/activation-code";
    /// `POST` (admin): record a violation.
    pub const VIOLATIONS: &str = "/admin/drivers/{id}/violations";
    /// `PUT` (admin): set the status.
    pub const STATUS: &str = "/admin/drivers/{id}/status";
    /// `POST` (admin): renew the licence.
    pub const RENEW: &str = "/admin/drivers/{id}/renew";
    /// `POST` (admin): counter issuance.
    pub const COUNTER_ISSUE: &str = "/admin/drivers/{id}/counter-issue";
    /// `GET` (admin): pending photo reviews.
    pub const REVIEWS: &str = "/admin/reviews";
    /// `POST` (admin): approve a photo.
    pub const APPROVE: &str = "/admin/reviews/{photo_id}/approve";
    /// `POST` (admin): reject a photo.
    pub const REJECT: &str = "/admin/reviews/{photo_id}/reject";
    /// `GET` (admin): the photo on file of the driver whose photo waits for review.
    pub const REVIEW_ON_FILE: &str = "/admin/reviews/{photo_id}/on-file";
    /// `POST` (admin): a verifier account; `GET`: the accounts, a page at a time.
    pub const VERIFIERS: &str = "/admin/verifiers";
    /// `POST` (admin): revoke a verifier account's API key.
    pub const REVOKE_VERIFIER: &str = "/admin/verifiers/{id}/revoke";
    /// `POST` (admin): rotate the issuer key.
    pub const ROTATE_KEY: &str = "/admin/keys/rotate";
    /// `PUT` (admin): the busy switch.
    pub const BUSY: &str = "/admin/settings/busy";
    /// `GET`: the OpenAPI document.
    pub const OPENAPI: &str = "/openapi.json";

    /// The path of the photo whose SHA-256 is `digest` ([`PHOTO_BY_DIGEST`]).
    pub fn photo(digest: &[u8; 32]) -> String {
        let mut path = String::with_capacity(PHOTO_BY_DIGEST.len() + 64);
        path.push_str(&PHOTO_BY_DIGEST[..PHOTO_BY_DIGEST.len() - "{digest}".len()]);
        for b in digest {
            use std::fmt::Write;
            let _ = write!(path, "{b:02x}");
        }
        path
    }

    /// `path` with its `{param}` replaced by `value` (a client convenience).
    pub fn with_id(path: &str, value: u64) -> String {
        match (path.find('{'), path.find('}')) {
            (Some(a), Some(b)) if a < b => format!("{}{value}{}", &path[..a], &path[b + 1..]),
            _ => path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_filled_in() {
        assert_eq!(
            paths::with_id(paths::STATUS, 12),
            "/admin/drivers/12/status"
        );
        assert_eq!(
            paths::with_id(paths::APPROVE, 3),
            "/admin/reviews/3/approve"
        );
        assert_eq!(paths::with_id(paths::SYNC, 3), paths::SYNC);
    }

    #[test]
    fn verify_request_is_tagged_by_method() {
        let r: VerifyRequest =
            serde_json::from_str(r#"{"method":"manual","licence_number":"1","code":"1 234567"}"#)
                .unwrap();
        assert_eq!(r.method(), CheckMethod::Manual);
        let qr = VerifyRequest::Qr {
            payload: Base64(vec![1, 2]),
        };
        assert_eq!(
            serde_json::to_string(&qr).unwrap(),
            r#"{"method":"qr","payload":"AQI="}"#
        );
        assert!(serde_json::from_str::<VerifyRequest>(r#"{"method":"fax"}"#).is_err());
    }

    #[test]
    fn apply_request_defaults_to_reusing_the_stored_photo() {
        let r: ApplyRequest = serde_json::from_str("{}").unwrap();
        assert!(r.reuse_stored_photo);
        assert!(r.identity.is_none());
    }

    #[test]
    fn renewal_dates_are_optional() {
        let r: Renewal = serde_json::from_str(r#"{"valid_until":"2034-03-07"}"#).unwrap();
        assert_eq!(r.valid_until, Some(time::macros::date!(2034 - 03 - 07)));
        assert_eq!(r.valid_from, None);
        let back = serde_json::to_string(&r).unwrap();
        assert!(back.contains(r#""valid_until":"2034-03-07""#));
        assert!(serde_json::from_str::<Renewal>(r#"{"valid_until":"2034-3-7"}"#).is_err());
    }
}
