//! `EdlError`, the one public error of the foreign API, and the one place where the richer
//! internal errors of `edl-core` are turned into it.
//!
//! Rules kept here: every internal error maps to the variant an app can act on; no message
//! or `detail` carries a value from the input (names, numbers, codes), only names of fields
//! and rules; core errors whose text could quote a value are replaced by a fixed text.

use edl_core::credential::CredentialError;
use edl_core::net::{NetError, OnlineVerifyError};
use edl_core::present::PayloadError;
use edl_core::present::render::RenderError;
use edl_core::verify::Rejection;
use edl_core::wallet::WalletError;
use edl_core::wallet::store::{KeyStoreError, StoreError};
use edl_core::wire::ErrorCode;

use crate::types::{Audience, NotEligibleReason};

/// See `EdlError` in `udl/edl.udl`: each variant is documented there, for every language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdlError {
    /// Outside bytes or text are not in the expected format.
    #[error("malformed {what:?}: {detail}")]
    Malformed {
        /// Which input.
        what: InputKind,
        /// The field or rule, never a value.
        detail: String,
    },
    /// The app passed an argument the API refuses.
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// The argument and the rule.
        detail: String,
    },
    /// A presentation was checked and is not valid.
    #[error("presentation rejected: {reason:?}")]
    Rejected {
        /// Why.
        reason: RejectionReason,
    },
    /// The licence may not have an e-licence.
    #[error("not eligible: {reason:?}")]
    NotEligible {
        /// Why.
        reason: NotEligibleReason,
    },
    /// The authority refused the request.
    #[error("refused by the authority: {reason:?}")]
    Refused {
        /// Why.
        reason: RefusalReason,
    },
    /// The authority could not be reached.
    #[error("the authority cannot be reached")]
    Offline,
    /// The authority's TLS certificate was not trusted.
    #[error("the authority's certificate is not trusted")]
    UntrustedAuthority,
    /// The authority is busy; retry later.
    #[error("the authority is busy; retry after {retry_after_secs} s")]
    Busy {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// The authority no longer accepts this device or API key.
    #[error("not authorised by the authority")]
    Unauthorised,
    /// The authority answered with an unexpected error.
    #[error("unexpected answer from the authority (HTTP {status})")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The wallet is not enrolled.
    #[error("the wallet is not enrolled")]
    NotEnrolled,
    /// The wallet holds no e-licence.
    #[error("the wallet holds no e-licence")]
    NoElicence,
    /// The photo was not accepted.
    #[error("the photo was not accepted")]
    PhotoNotAccepted,
    /// The app's key store failed.
    #[error("key store failure: {reason:?}")]
    KeyStore {
        /// Why.
        reason: KeyStoreFailure,
    },
    /// The store is damaged or tampered with.
    #[error("the wallet store is corrupt")]
    CorruptStore,
    /// No space left for the store.
    #[error("no space left for the wallet store")]
    StorageFull,
    /// A fault inside this library.
    #[error("internal error: {detail}")]
    Internal {
        /// What broke, without personal data.
        detail: String,
    },
}

/// Which outside input was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A scanned QR payload.
    Payload,
    /// The text form of a payload.
    PayloadText,
    /// A trust list.
    TrustList,
    /// An image to scan.
    Image,
    /// A photo.
    Photo,
    /// An answer from the authority.
    ServerResponse,
    /// A barcode's digits, or a manual code with its licence number, for an online check.
    TypedCode,
}

/// Why a presentation was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    /// Unknown issuer key.
    UnknownIssuerKey,
    /// Bad issuer signature.
    BadIssuerSignature,
    /// Bad device signature.
    BadDeviceSignature,
    /// The window has passed.
    WindowExpired,
    /// The window has not started.
    WindowNotYetValid,
    /// Another audience's view.
    WrongAudience {
        /// What the driver chose.
        presented: Audience,
        /// What this verifier is.
        expected: Audience,
    },
    /// Issued outside its issuer key's period.
    IssuedOutsideKeyPeriod,
    /// Declares a lifetime above the protocol cap.
    LifetimeTooLong {
        /// What the view declares.
        declared_hours: u16,
        /// The cap.
        max_hours: u16,
    },
    /// The licence's validity has not started.
    LicenceNotYetValid,
    /// The e-licence's lifetime has ended.
    CredentialExpired,
    /// The e-licence claims a future issue time.
    CredentialNotYetValid,
    /// The licence is not in force.
    LicenceNotInForce {
        /// Why.
        reason: NotEligibleReason,
    },
    /// Online: wrong or expired code.
    WrongCode,
    /// Online: replaced e-licence.
    ElicenceSuperseded,
    /// Online: stopped e-licence.
    ElicenceStopped,
    /// Online: unknown e-licence.
    UnknownElicence,
    /// Online: the code was already verified (single use).
    AlreadyUsed,
}

/// Why the authority refused a wallet request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// Wrong, used or expired activation code.
    ActivationCodeInvalid,
    /// The real-person check is needed.
    IdentityCheckRequired,
    /// The real-person check failed.
    IdentityCheckFailed,
    /// The e-licence was stopped.
    ElicenceStopped,
    /// The e-licence was replaced.
    ElicenceSuperseded,
    /// The request does not fit the application's state.
    InvalidState,
}

/// Why the app's key store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStoreFailure {
    /// Not the key that wrapped the data key.
    WrongKey,
    /// Not usable now.
    Unavailable,
    /// Gone for good.
    Invalidated,
    /// Any other failure.
    Failed,
}

impl EdlError {
    fn malformed(what: InputKind, detail: impl Into<String>) -> Self {
        EdlError::Malformed {
            what,
            detail: detail.into(),
        }
    }

    /// A `Rejected` error with `reason`.
    fn rejected(reason: RejectionReason) -> Self {
        EdlError::Rejected { reason }
    }

    /// A trust list that does not decode. Its error text names fields only.
    pub(crate) fn trust_list(e: CredentialError) -> Self {
        EdlError::malformed(InputKind::TrustList, e.to_string())
    }

    /// Payload bytes that are not an EDL payload. The core's text names the layout rule.
    pub(crate) fn payload(e: PayloadError) -> Self {
        EdlError::malformed(InputKind::Payload, e.to_string())
    }

    /// A payload's text form that does not decode.
    pub(crate) fn payload_text(e: PayloadError) -> Self {
        EdlError::malformed(InputKind::PayloadText, e.to_string())
    }

    /// The QR renderer refused the payload: the only failure is a payload too large.
    pub(crate) fn render(e: RenderError) -> Self {
        EdlError::InvalidArgument {
            detail: format!("payload: {e}"),
        }
    }

    /// The scanner could not read the image. (`scan_png` answers "no symbol" with an empty
    /// list before it gets here.) The decoder crates' texts are replaced by fixed ones: they
    /// are not ours to vouch for.
    pub(crate) fn scan(e: RenderError) -> Self {
        let detail = match e {
            RenderError::NotPng { .. } => "not a readable PNG".to_owned(),
            RenderError::QrDamaged { .. } | RenderError::NoQrFound => {
                "no QR symbol in the image could be read".to_owned()
            }
            // The renderer's own refusals: sizes and rules, never content.
            e @ (RenderError::ImageTooLarge { .. }
            | RenderError::PayloadTooLarge { .. }
            | RenderError::EmptyBarcodeText
            | RenderError::BarcodeTextTooLong { .. }
            | RenderError::BarcodeTextNotEncodable { .. }) => e.to_string(),
        };
        EdlError::malformed(InputKind::Image, detail)
    }
}

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
fn net(e: NetError, rejected: fn(ErrorCode) -> EdlError) -> EdlError {
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

impl EdlError {
    /// A photo error: the face model's are the app's programming errors; the others name
    /// sizes and formats of the photo, never personal data.
    pub(crate) fn photo(e: edl_core::photo::PhotoError) -> Self {
        use edl_core::photo::PhotoError;
        match e {
            PhotoError::NoFaceModel | PhotoError::BadFaceModel => EdlError::InvalidArgument {
                detail: e.to_string(),
            },
            PhotoError::Empty
            | PhotoError::FileTooLarge { .. }
            | PhotoError::UnsupportedFormat
            | PhotoError::ImageTooLarge { .. }
            | PhotoError::Corrupt
            | PhotoError::DetectorFailed
            | PhotoError::CannotFrame(_)
            | PhotoError::EncodedTooLarge
            | PhotoError::Encode => EdlError::malformed(InputKind::Photo, e.to_string()),
        }
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

impl From<Rejection> for EdlError {
    fn from(r: Rejection) -> Self {
        use RejectionReason as R;
        match r {
            // The core's text names the layout rule or field that failed, never a value.
            Rejection::Malformed(detail) => EdlError::malformed(InputKind::Payload, detail),
            Rejection::UnknownIssuerKey => EdlError::rejected(R::UnknownIssuerKey),
            Rejection::BadIssuerSignature => EdlError::rejected(R::BadIssuerSignature),
            Rejection::BadDeviceSignature => EdlError::rejected(R::BadDeviceSignature),
            Rejection::WindowExpired => EdlError::rejected(R::WindowExpired),
            Rejection::WindowNotYetValid => EdlError::rejected(R::WindowNotYetValid),
            Rejection::WrongAudience {
                presented,
                expected,
            } => EdlError::rejected(R::WrongAudience {
                presented: presented.into(),
                expected: expected.into(),
            }),
            Rejection::IssuedOutsideKeyPeriod => EdlError::rejected(R::IssuedOutsideKeyPeriod),
            Rejection::LifetimeTooLong {
                declared_hours,
                max_hours,
            } => EdlError::rejected(R::LifetimeTooLong {
                declared_hours,
                max_hours,
            }),
            Rejection::LicenceNotYetValid => EdlError::rejected(R::LicenceNotYetValid),
            Rejection::CredentialExpired => EdlError::rejected(R::CredentialExpired),
            Rejection::CredentialNotYetValid => EdlError::rejected(R::CredentialNotYetValid),
            Rejection::LicenceNotInForce(reason) => EdlError::rejected(R::LicenceNotInForce {
                reason: reason.into(),
            }),
        }
    }
}

impl From<KeyStoreError> for KeyStoreFailure {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::WrongKey => KeyStoreFailure::WrongKey,
            KeyStoreError::Unavailable => KeyStoreFailure::Unavailable,
            KeyStoreError::KeyInvalidated => KeyStoreFailure::Invalidated,
            KeyStoreError::Malformed
            | KeyStoreError::Io(_)
            | KeyStoreError::BadKeyFile
            | KeyStoreError::BadParameters
            | KeyStoreError::Random
            | KeyStoreError::Platform(_) => KeyStoreFailure::Failed,
        }
    }
}

impl From<KeyStoreError> for EdlError {
    fn from(e: KeyStoreError) -> Self {
        EdlError::KeyStore { reason: e.into() }
    }
}

impl EdlError {
    /// What the app's `KeyStore` threw, as the core's key-store error: a `KeyStore` variant
    /// keeps its reason; anything else is a platform failure (its text is not passed on).
    pub(crate) fn into_key_store_error(self) -> KeyStoreError {
        match self {
            EdlError::KeyStore { reason } => match reason {
                KeyStoreFailure::WrongKey => KeyStoreError::WrongKey,
                KeyStoreFailure::Unavailable => KeyStoreError::Unavailable,
                KeyStoreFailure::Invalidated => KeyStoreError::KeyInvalidated,
                KeyStoreFailure::Failed => KeyStoreError::Platform("key store failed".into()),
            },
            _ => KeyStoreError::Platform("key store failed".into()),
        }
    }
}

/// A callback (`KeyStore`, `IdentityProvider`, `UploadProgress`) threw something that is not
/// an `EdlError`, or the foreign side failed. Its text comes from foreign code and is not
/// passed on.
impl From<uniffi::UnexpectedUniFFICallbackError> for EdlError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        EdlError::Internal {
            detail: "a callback implemented by the app failed".into(),
        }
    }
}

impl From<StoreError> for EdlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::WrongKey => EdlError::KeyStore {
                reason: KeyStoreFailure::WrongKey,
            },
            StoreError::KeyStore(k) => k.into(),
            StoreError::Corrupt(_) => EdlError::CorruptStore,
            StoreError::DiskFull => EdlError::StorageFull,
            StoreError::Locked => EdlError::Internal {
                detail: "the store is locked by another process".into(),
            },
            StoreError::Io(code) => EdlError::Internal {
                detail: format!("storage I/O error (SQLite code {code})"),
            },
            StoreError::Migration(_) => EdlError::CorruptStore,
            StoreError::InvalidName | StoreError::Conversion(_) | StoreError::Reentrant => {
                EdlError::Internal {
                    detail: "store failure".into(),
                }
            }
        }
    }
}

/// An error code of the authority, for a request it refused. A code without a variant of
/// its own is `Server` with the status the authority answers it with
/// ([`ErrorCode::http_status`]), never a status rebuilt here.
fn refusal(code: ErrorCode) -> EdlError {
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

impl From<WalletError> for EdlError {
    fn from(e: WalletError) -> Self {
        use edl_core::photo::PhotoError;
        use edl_core::present::PresentError;
        match e {
            WalletError::Net(e) => net(e, refusal),
            WalletError::NotEnrolled => EdlError::NotEnrolled,
            WalletError::NoElicence => EdlError::NoElicence,
            WalletError::IdentityCheck => EdlError::Refused {
                reason: RefusalReason::IdentityCheckFailed,
            },
            // The core's text may quote what the server sent: a fixed text instead.
            WalletError::Protocol(_) => EdlError::malformed(
                InputKind::ServerResponse,
                "unusable answer from the authority",
            ),
            WalletError::Store(s) => s.into(),
            WalletError::Present(p) => match p {
                PresentError::BadPeriod => EdlError::InvalidArgument {
                    detail: "rotation period out of range".into(),
                },
                PresentError::KeyMismatch | PresentError::Credential(_) => EdlError::CorruptStore,
                PresentError::Render(_) => EdlError::Internal {
                    detail: "the presentation could not be rendered".into(),
                },
            },
            WalletError::PhotoProblems(_) | WalletError::Photo(PhotoError::CannotFrame(_)) => {
                EdlError::PhotoNotAccepted
            }
            WalletError::Photo(p) => EdlError::photo(p),
            WalletError::Internal => EdlError::Internal {
                detail: "wallet".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::licence::NotEligible;

    #[test]
    fn each_rejection_becomes_its_typed_reason() {
        let cases = [
            (
                Rejection::UnknownIssuerKey,
                RejectionReason::UnknownIssuerKey,
            ),
            (
                Rejection::BadIssuerSignature,
                RejectionReason::BadIssuerSignature,
            ),
            (
                Rejection::BadDeviceSignature,
                RejectionReason::BadDeviceSignature,
            ),
            (Rejection::WindowExpired, RejectionReason::WindowExpired),
            (
                Rejection::WindowNotYetValid,
                RejectionReason::WindowNotYetValid,
            ),
            (
                Rejection::CredentialExpired,
                RejectionReason::CredentialExpired,
            ),
            (
                Rejection::CredentialNotYetValid,
                RejectionReason::CredentialNotYetValid,
            ),
            (
                Rejection::LicenceNotInForce(NotEligible::Suspended),
                RejectionReason::LicenceNotInForce {
                    reason: NotEligibleReason::Suspended,
                },
            ),
        ];
        for (rejection, reason) in cases {
            assert_eq!(EdlError::from(rejection), EdlError::Rejected { reason });
        }
        assert!(matches!(
            EdlError::from(Rejection::Malformed("truncated `view`".into())),
            EdlError::Malformed {
                what: InputKind::Payload,
                ..
            }
        ));
    }

    #[test]
    fn wallet_errors_become_the_variants_an_app_acts_on() {
        use edl_core::licence::NotEligible;
        let cases = [
            (WalletError::Net(NetError::Offline), EdlError::Offline),
            (
                WalletError::Net(NetError::Unauthorised(ErrorCode::BadActivationCode)),
                EdlError::Refused {
                    reason: RefusalReason::ActivationCodeInvalid,
                },
            ),
            (
                WalletError::Net(NetError::Rejected {
                    code: ErrorCode::BadActivationCode,
                }),
                EdlError::Refused {
                    reason: RefusalReason::ActivationCodeInvalid,
                },
            ),
            (
                WalletError::Net(NetError::Unauthorised(ErrorCode::BadSignature)),
                EdlError::Unauthorised,
            ),
            (
                WalletError::Net(NetError::LockedOut {
                    retry_after_secs: 60,
                }),
                EdlError::Busy {
                    retry_after_secs: 60,
                },
            ),
            (
                WalletError::Net(NetError::NotEligible(NotEligible::Suspended)),
                EdlError::NotEligible {
                    reason: NotEligibleReason::Suspended,
                },
            ),
            (WalletError::NotEnrolled, EdlError::NotEnrolled),
            (WalletError::NoElicence, EdlError::NoElicence),
            (
                WalletError::PhotoProblems(Vec::new()),
                EdlError::PhotoNotAccepted,
            ),
            (
                WalletError::Store(StoreError::WrongKey),
                EdlError::KeyStore {
                    reason: KeyStoreFailure::WrongKey,
                },
            ),
            (
                WalletError::Store(StoreError::KeyStore(KeyStoreError::KeyInvalidated)),
                EdlError::KeyStore {
                    reason: KeyStoreFailure::Invalidated,
                },
            ),
            (
                WalletError::Store(StoreError::DiskFull),
                EdlError::StorageFull,
            ),
            (
                WalletError::Net(NetError::BadUrl),
                EdlError::InvalidArgument {
                    detail: "authority_url must start with http:// or https://".into(),
                },
            ),
        ];
        for (wallet, edl) in cases {
            assert_eq!(EdlError::from(wallet), edl);
        }
    }

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
    fn a_server_text_never_reaches_the_app() {
        let e = EdlError::from(WalletError::Protocol("name 张三 in a body".into()));
        assert!(!e.to_string().contains("张三"));
        assert!(matches!(
            e,
            EdlError::Malformed {
                what: InputKind::ServerResponse,
                ..
            }
        ));
    }

    #[test]
    fn what_a_foreign_key_store_throws_keeps_its_reason() {
        for reason in [
            KeyStoreFailure::WrongKey,
            KeyStoreFailure::Unavailable,
            KeyStoreFailure::Invalidated,
            KeyStoreFailure::Failed,
        ] {
            let back: KeyStoreFailure = EdlError::KeyStore { reason }.into_key_store_error().into();
            assert_eq!(back, reason);
        }
        let other: KeyStoreFailure = EdlError::Offline.into_key_store_error().into();
        assert_eq!(other, KeyStoreFailure::Failed);
    }

    #[test]
    fn scanner_texts_from_decoder_crates_are_not_passed_on() {
        let e = EdlError::scan(RenderError::NotPng {
            reason: "whatever the decoder said".into(),
        });
        assert_eq!(
            e,
            EdlError::Malformed {
                what: InputKind::Image,
                detail: "not a readable PNG".into()
            }
        );
        assert!(!e.to_string().contains("whatever"));
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
