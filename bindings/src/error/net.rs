//! The authority's answers: requests that failed on the way or were refused, for the wallet
//! and for the online checks, where a refusal is a verdict on the presentation.

use edl_core::net::{NetError, OnlineVerifyError};
use edl_core::wire::ErrorCode;

use super::{EdlError, InputKind, RefusalReason, RejectionReason};

impl EdlError {
    /// An online verifier that could not be made: the only failure is its URL.
    pub(crate) fn online_setup(e: NetError) -> Self {
        match e {
            NetError::BadUrl => bad_url(),
            NetError::InsecureUrl => insecure_url(),
            NetError::Offline
            | NetError::Busy { .. }
            | NetError::LockedOut { .. }
            | NetError::Unauthorised(_)
            | NetError::NotEligible(_)
            | NetError::Rejected { .. }
            | NetError::Untrusted
            | NetError::BadRoots
            | NetError::Protocol(_)
            | NetError::Internal => EdlError::Internal {
                detail: "the HTTP client could not be built".into(),
            },
        }
    }

    /// An online check without an answer about the licence. `input` says what the app
    /// passed, for a check that was refused on the phone as malformed.
    pub(crate) fn online(e: OnlineVerifyError, input: InputKind) -> Self {
        use RejectionReason as R;
        match e {
            // Layout rules and field names only, as for offline payloads.
            OnlineVerifyError::Malformed(p) => EdlError::malformed(input, p.to_string()),
            // The authority's refusals of a check are verdicts on the presentation.
            OnlineVerifyError::Net(e) => net(e, |code| {
                use ErrorCode::*;
                match code {
                    CodeRejected => EdlError::rejected(R::WrongCode),
                    UnknownId => EdlError::rejected(R::UnknownElicence),
                    AlreadyUsed => EdlError::rejected(R::AlreadyUsed),
                    ElicenceSuperseded => EdlError::rejected(R::ElicenceSuperseded),
                    ElicenceStopped => EdlError::rejected(R::ElicenceStopped),
                    // Not verdicts on the presentation: as for any request.
                    BadRequest
                    | BadBase64
                    | Unauthorized
                    | Forbidden
                    | BadSignature
                    | StaleRequest
                    | ReplayedRequest
                    | BadActivationCode
                    | IdentityCheckRequired
                    | IdentityCheckFailed
                    | NotEligible
                    | NotFound
                    | MethodNotAllowed
                    | AlreadyExists
                    | InvalidState
                    | IdempotencyConflict
                    | RequestTimeout
                    | PayloadTooLarge
                    | InvalidLicence
                    | InvalidPhoto
                    | Busy
                    | LockedOut
                    | Internal
                    | Unavailable => refusal(code),
                }
            }),
        }
    }
}

/// A request to the authority that failed, for any caller; `rejected` says what the
/// authority's refusals mean for the call at hand.
pub(super) fn net(e: NetError, rejected: fn(ErrorCode) -> EdlError) -> EdlError {
    match e {
        NetError::Offline => EdlError::Offline,
        NetError::Untrusted => EdlError::UntrustedAuthority,
        NetError::BadRoots => EdlError::InvalidArgument {
            detail: "authority roots: 1 to 16 DER X.509 certificates".into(),
        },
        // A client locked out after failed attempts waits like a busy one.
        NetError::Busy { retry_after_secs } | NetError::LockedOut { retry_after_secs } => {
            EdlError::Busy { retry_after_secs }
        }
        // A wrong activation code is the driver's to fix; the other codes are `Unauthorised`.
        NetError::Unauthorised(code) => refusal(code),
        NetError::NotEligible(reason) => EdlError::NotEligible {
            reason: reason.into(),
        },
        NetError::Rejected { code } => rejected(code),
        NetError::BadUrl => bad_url(),
        NetError::InsecureUrl => insecure_url(),
        // The server's text is never kept; the app gets a fixed one.
        NetError::Protocol(_) => EdlError::malformed(
            InputKind::ServerResponse,
            "unusable answer from the authority",
        ),
        NetError::Internal => EdlError::Internal {
            detail: "network client".into(),
        },
    }
}

fn insecure_url() -> EdlError {
    EdlError::InvalidArgument {
        detail: "authority_url must be https:// (http:// only to this machine)".into(),
    }
}

fn bad_url() -> EdlError {
    EdlError::InvalidArgument {
        detail: "authority_url must start with http:// or https://".into(),
    }
}

/// An error code of the authority, for a request it refused. A code without a variant of
/// its own is `Server` with the status the authority answers it with
/// ([`ErrorCode::http_status`]), never a status rebuilt here.
pub(super) fn refusal(code: ErrorCode) -> EdlError {
    use ErrorCode::*;
    use RefusalReason as R;
    let refused = |reason| EdlError::Refused { reason };
    match code {
        BadActivationCode => refused(R::ActivationCodeInvalid),
        IdentityCheckRequired => refused(R::IdentityCheckRequired),
        IdentityCheckFailed => refused(R::IdentityCheckFailed),
        ElicenceStopped => refused(R::ElicenceStopped),
        ElicenceSuperseded => refused(R::ElicenceSuperseded),
        InvalidState | IdempotencyConflict => refused(R::InvalidState),
        InvalidPhoto => EdlError::PhotoNotAccepted,
        Unauthorized | Forbidden | BadSignature | StaleRequest | ReplayedRequest => {
            EdlError::Unauthorised
        }
        // Too slow to reach the authority: nothing was decided (the client maps it so).
        RequestTimeout => EdlError::Offline,
        // Only reached without a Retry-After (the client maps the usual answers itself).
        Busy | LockedOut => EdlError::Busy {
            retry_after_secs: 0,
        },
        BadRequest | BadBase64 | NotEligible | CodeRejected | NotFound | UnknownId
        | MethodNotAllowed | AlreadyExists | AlreadyUsed | PayloadTooLarge | InvalidLicence
        | Internal | Unavailable => EdlError::Server {
            status: code.http_status(),
        },
    }
}

/// A network setting or request outside the wallet and the online checks (the TLS roots).
impl From<NetError> for EdlError {
    fn from(e: NetError) -> Self {
        net(e, refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::wallet::WalletError;

    #[test]
    fn a_refusal_without_a_variant_keeps_the_status_the_authority_answered_with() {
        // These three were all labelled 400 when the status was rebuilt by hand.
        for (code, status) in [
            (ErrorCode::CodeRejected, 403),
            (ErrorCode::AlreadyExists, 409),
            (ErrorCode::InvalidLicence, 422),
            (ErrorCode::BadRequest, 400),
            (ErrorCode::UnknownId, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::PayloadTooLarge, 413),
        ] {
            assert_eq!(code.http_status(), status);
            assert_eq!(
                EdlError::from(WalletError::Net(NetError::Rejected { code })),
                EdlError::Server { status },
                "{code}"
            );
        }
    }

    #[test]
    fn online_check_refusals_become_rejections_and_waits() {
        use edl_core::present::PayloadError;
        let net = |e| OnlineVerifyError::Net(e);
        let rejected = |code| net(NetError::Rejected { code });
        let cases = [
            (
                rejected(ErrorCode::CodeRejected),
                EdlError::rejected(RejectionReason::WrongCode),
            ),
            (
                rejected(ErrorCode::UnknownId),
                EdlError::rejected(RejectionReason::UnknownElicence),
            ),
            (
                rejected(ErrorCode::ElicenceSuperseded),
                EdlError::rejected(RejectionReason::ElicenceSuperseded),
            ),
            (
                rejected(ErrorCode::ElicenceStopped),
                EdlError::rejected(RejectionReason::ElicenceStopped),
            ),
            (
                net(NetError::LockedOut {
                    retry_after_secs: 900,
                }),
                EdlError::Busy {
                    retry_after_secs: 900,
                },
            ),
            (
                net(NetError::Unauthorised(ErrorCode::Unauthorized)),
                EdlError::Unauthorised,
            ),
            (net(NetError::Offline), EdlError::Offline),
            (net(NetError::Untrusted), EdlError::UntrustedAuthority),
            (
                net(NetError::Protocol("an answer about another e-licence")),
                EdlError::malformed(
                    InputKind::ServerResponse,
                    "unusable answer from the authority",
                ),
            ),
        ];
        for (error, edl) in cases {
            assert_eq!(EdlError::online(error, InputKind::Payload), edl);
        }
        assert_eq!(
            EdlError::online(
                OnlineVerifyError::Malformed(PayloadError::WrongForm),
                InputKind::TypedCode
            ),
            EdlError::malformed(InputKind::TypedCode, "payload is not of the expected form")
        );
        assert!(matches!(
            EdlError::online_setup(NetError::BadUrl),
            EdlError::InvalidArgument { .. }
        ));
    }
}
