//! The JSON error body every endpoint answers with when it refuses a request.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::licence::NotEligible;

/// Why a request was refused: a stable machine-readable code. Clients branch on these,
/// never on the message; codes are only ever added, never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// 400: the body or a parameter is malformed (truncated JSON, wrong types, bad values).
    BadRequest,
    /// 400: a binary field is not valid standard base64.
    BadBase64,
    /// 401: no or wrong admin token or verifier API key.
    Unauthorized,
    /// 401: the device signature headers are missing, malformed or do not verify.
    BadSignature,
    /// 401: the request timestamp is too far from the server's clock.
    StaleRequest,
    /// 401: the request's nonce was already used (a replay).
    ReplayedRequest,
    /// 401: the activation code is wrong, used, expired, or the licence is unknown.
    BadActivationCode,
    /// 403: the admin token is valid but lacks the role this endpoint needs.
    Forbidden,
    /// 403: the real-person check (实人认证) is needed for this request.
    IdentityCheckRequired,
    /// 403: the real-person check failed, or its challenge is unknown or expired.
    IdentityCheckFailed,
    /// 403: the licence may not have an e-licence; `reason` says why.
    NotEligible,
    /// 403: the e-licence was stopped (a photo was rejected as malicious).
    ElicenceStopped,
    /// 403: the online code is wrong or from an expired window.
    CodeRejected,
    /// 409: the online code was already verified, by another verifier or too long ago:
    /// a code is single-use; the driver shows a new one.
    AlreadyUsed,
    /// 404: no such endpoint.
    NotFound,
    /// 404: the driver, e-licence, licence number, photo or challenge is unknown.
    UnknownId,
    /// 405: the endpoint exists but not with this method.
    MethodNotAllowed,
    /// 409: a driver with this licence number already exists.
    AlreadyExists,
    /// 409: the request does not fit the current state (e.g. a review already decided,
    /// no device enrolled, no photo to reuse).
    InvalidState,
    /// 409: the idempotency key was used before with different content.
    IdempotencyConflict,
    /// 410: the e-licence was replaced (renewal or a new device); the wallet must sync.
    ElicenceSuperseded,
    /// 408: the request did not arrive in full within the server's deadline (a slow or
    /// stalled network). Nothing was decided; it may be sent again.
    RequestTimeout,
    /// 413: the body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// 422: licence data that fails validation.
    InvalidLicence,
    /// 422: a photo that is not a JPEG or PNG, or is too large or too small.
    InvalidPhoto,
    /// 429: the server is busy (peak hours); retry after `retry_after` seconds.
    Busy,
    /// 429: too many failed checks; locked out for `retry_after` seconds.
    LockedOut,
    /// 500: a fault on the server. Never caused by input.
    Internal,
    /// 503: the server is shutting down or its store is unavailable.
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub const fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | BadBase64 => 400,
            Unauthorized | BadSignature | StaleRequest | ReplayedRequest | BadActivationCode => 401,
            Forbidden
            | IdentityCheckRequired
            | IdentityCheckFailed
            | NotEligible
            | ElicenceStopped
            | CodeRejected => 403,
            NotFound | UnknownId => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            AlreadyExists | InvalidState | IdempotencyConflict | AlreadyUsed => 409,
            ElicenceSuperseded => 410,
            PayloadTooLarge => 413,
            InvalidLicence | InvalidPhoto => 422,
            Busy | LockedOut => 429,
            Internal => 500,
            Unavailable => 503,
        }
    }

    /// The code as written in the JSON body.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "bad_request",
            BadBase64 => "bad_base64",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            BadSignature => "bad_signature",
            StaleRequest => "stale_request",
            ReplayedRequest => "replayed_request",
            BadActivationCode => "bad_activation_code",
            IdentityCheckRequired => "identity_check_required",
            IdentityCheckFailed => "identity_check_failed",
            NotEligible => "not_eligible",
            ElicenceStopped => "elicence_stopped",
            CodeRejected => "code_rejected",
            AlreadyUsed => "already_used",
            NotFound => "not_found",
            UnknownId => "unknown_id",
            MethodNotAllowed => "method_not_allowed",
            AlreadyExists => "already_exists",
            InvalidState => "invalid_state",
            IdempotencyConflict => "idempotency_conflict",
            ElicenceSuperseded => "elicence_superseded",
            RequestTimeout => "request_timeout",
            PayloadTooLarge => "payload_too_large",
            InvalidLicence => "invalid_licence",
            InvalidPhoto => "invalid_photo",
            Busy => "busy",
            LockedOut => "locked_out",
            Internal => "internal",
            Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{ "error": "<code>", "message": "<text>", "retry_after": <secs>, "reason": "<why>" }`.
///
/// The message is for a developer or a log and never holds personal data; a client shows
/// its own text for the code. `retry_after` is set with 429 (and mirrors the
/// `Retry-After` header); `reason` is set with `not_eligible`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The stable code.
    pub error: ErrorCode,
    /// Human-readable text, without personal data.
    pub message: String,
    /// Seconds to wait before trying again (429 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Why the licence may not have an e-licence (`not_eligible` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotEligible>,
}

impl ErrorBody {
    /// A body with `code` and `message` and nothing else.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: code,
            message: message.into(),
            retry_after: None,
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_serialises_with_optional_fields_left_out() {
        let body = ErrorBody::new(ErrorCode::BadBase64, "field `photo` is not base64");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":"bad_base64","message":"field `photo` is not base64"}"#
        );
        let locked = ErrorBody {
            retry_after: Some(900),
            ..ErrorBody::new(ErrorCode::LockedOut, "too many failed checks")
        };
        let json = serde_json::to_string(&locked).unwrap();
        assert!(json.contains(r#""retry_after":900"#));
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), locked);
        let refused = ErrorBody {
            reason: Some(NotEligible::Suspended),
            ..ErrorBody::new(ErrorCode::NotEligible, "not in force")
        };
        assert!(
            serde_json::to_string(&refused)
                .unwrap()
                .contains(r#""reason":"suspended""#)
        );
    }

    #[test]
    fn as_str_matches_the_serde_name_and_statuses_are_client_or_server_errors() {
        use ErrorCode::*;
        let all = [
            BadRequest,
            BadBase64,
            Unauthorized,
            BadSignature,
            StaleRequest,
            ReplayedRequest,
            BadActivationCode,
            IdentityCheckRequired,
            IdentityCheckFailed,
            NotEligible,
            ElicenceStopped,
            CodeRejected,
            AlreadyUsed,
            NotFound,
            UnknownId,
            MethodNotAllowed,
            AlreadyExists,
            InvalidState,
            IdempotencyConflict,
            ElicenceSuperseded,
            RequestTimeout,
            PayloadTooLarge,
            InvalidLicence,
            InvalidPhoto,
            Busy,
            LockedOut,
            Internal,
            Unavailable,
        ];
        for code in all {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
            let status = code.http_status();
            assert!((400..600).contains(&status));
            assert_eq!(status >= 500, matches!(code, Internal | Unavailable));
        }
    }
}
