//! The offline verifier's verdicts, one typed reason each.

use edl_core::verify::Rejection;

use super::{EdlError, InputKind, RejectionReason};

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
            Rejection::ElicenceSuspended => EdlError::rejected(R::ElicenceSuspended),
            Rejection::ElicenceSuperseded => EdlError::rejected(R::ElicenceSuperseded),
            Rejection::StatusUnknown => EdlError::rejected(R::StatusUnknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NotEligibleReason;
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
}
