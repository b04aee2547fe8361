//! The display texts of `edl_core::display` (D95): labels, refusal and error texts, Beijing
//! times, the validity end and the points bar's fraction, translated to the UDL's types.
//! Every word and rule is the core's; this file only maps the FFI's enums onto it.

use edl_core::display::{self, Bilingual, Problem, Refusal};

use crate::error::{EdlError, KeyStoreFailure, RefusalReason};
use crate::records::{
    ApplicationPhase, CheckMethod, CheckOutcome, ReviewOutcome, UploadStage, VerifierClass,
};
use crate::types::{Audience, LocalizedText, PointsCycle};

impl From<Bilingual> for LocalizedText {
    fn from(b: Bilingual) -> Self {
        LocalizedText { zh: b.zh, en: b.en }
    }
}

fn core_refusal(reason: RefusalReason) -> Refusal {
    match reason {
        RefusalReason::ActivationCodeInvalid => Refusal::ActivationCodeInvalid,
        RefusalReason::IdentityCheckRequired => Refusal::IdentityCheckRequired,
        RefusalReason::IdentityCheckFailed => Refusal::IdentityCheckFailed,
        RefusalReason::ElicenceStopped => Refusal::ElicenceStopped,
        RefusalReason::ElicenceSuperseded => Refusal::ElicenceSuperseded,
        RefusalReason::InvalidState => Refusal::InvalidState,
    }
}

fn problem(error: &EdlError) -> Problem {
    match error {
        EdlError::NotEligible { reason } => Problem::NotEligible((*reason).into()),
        EdlError::Refused { reason } => Problem::Refused(core_refusal(*reason)),
        EdlError::Offline => Problem::Offline,
        EdlError::UntrustedAuthority => Problem::UntrustedAuthority,
        EdlError::Busy { retry_after_secs } => Problem::Busy {
            retry_after_secs: *retry_after_secs,
        },
        EdlError::Unauthorised => Problem::Unauthorised,
        EdlError::NotEnrolled => Problem::NotEnrolled,
        EdlError::NoElicence => Problem::NoElicence,
        EdlError::PhotoNotAccepted => Problem::PhotoNotAccepted,
        EdlError::Malformed { .. } => Problem::Malformed,
        EdlError::StorageFull => Problem::StorageFull,
        EdlError::StoreBusy => Problem::StoreBusy,
        EdlError::StorageUnavailable => Problem::StorageUnavailable,
        // Only a key gone for good, or damage, asks for a new enrolment (AK-F51).
        EdlError::CorruptStore
        | EdlError::KeyStore {
            reason: KeyStoreFailure::Invalidated,
        } => Problem::WalletUnreadable,
        EdlError::KeyStore {
            reason: KeyStoreFailure::Unavailable,
        } => Problem::KeyLocked,
        EdlError::KeyStore {
            reason: KeyStoreFailure::WrongKey,
        } => Problem::WrongKey,
        EdlError::StoreTooNew => Problem::AppOutdated,
        EdlError::InvalidArgument { .. }
        | EdlError::Rejected { .. }
        | EdlError::Server { .. }
        | EdlError::ListRefused { .. }
        | EdlError::KeyStore {
            reason: KeyStoreFailure::Failed,
        }
        | EdlError::Internal { .. } => Problem::Other,
    }
}

/// What to tell the driver after a failed call.
pub fn error_text(error: EdlError) -> LocalizedText {
    display::problem(problem(&error)).into()
}

/// What the driver can do about an authority's refusal.
pub fn refusal_text(reason: RefusalReason) -> LocalizedText {
    display::refusal(core_refusal(reason)).into()
}

/// The heading for an application phase.
pub fn application_phase_text(phase: ApplicationPhase) -> LocalizedText {
    display::application_phase(phase.into()).into()
}

/// The label of a photo upload's stage.
pub fn upload_stage_text(stage: UploadStage) -> LocalizedText {
    display::upload_stage(stage.into()).into()
}

/// The label of a photo review's decision.
pub fn review_outcome_text(outcome: ReviewOutcome) -> LocalizedText {
    display::review_outcome(outcome.into()).into()
}

/// The audience switch's label.
pub fn audience_text(audience: Audience) -> LocalizedText {
    display::audience(audience.into()).into()
}

/// The label of a kind of verifier.
pub fn verifier_class_text(class: VerifierClass) -> LocalizedText {
    display::verifier_class(class.into()).into()
}

/// The label of a check's method.
pub fn check_method_text(method: CheckMethod) -> LocalizedText {
    display::check_method(method.into()).into()
}

/// The label of a check's outcome.
pub fn check_outcome_text(outcome: CheckOutcome) -> LocalizedText {
    display::check_outcome(outcome.into()).into()
}

/// Unix seconds as Beijing date and time to the minute. (The argument is not named `unix`:
/// that is a predefined C macro on Linux, and the Swift binding's C header would not compile.)
pub fn beijing_date_time(at_unix: u64) -> String {
    display::beijing_date_time(at_unix)
}

/// Unix seconds as Beijing time of day.
pub fn beijing_time(at_unix: u64) -> String {
    display::beijing_time(at_unix)
}

/// A countdown as `m:ss`.
pub fn countdown_text(seconds: u32) -> String {
    display::countdown(seconds)
}

/// The photo review's deadline as one sentence naming Beijing time.
pub fn review_deadline_text(deadline_unix: u64) -> LocalizedText {
    display::review_deadline(deadline_unix).into()
}

/// The scoring cycle's points, limit and points left as one sentence.
pub fn points_text(cycle: PointsCycle) -> LocalizedText {
    display::points_recorded(
        cycle.points.into(),
        cycle.limit.into(),
        cycle.remaining.into(),
    )
    .into()
}

/// The validity's end as printed: 长期 for 9999-12-31; a text that is not an ISO date
/// comes back as given.
pub fn validity_end_text(valid_until: String) -> LocalizedText {
    display::validity_end_iso(&valid_until).into()
}

/// How full the points bar is, 0 to 1.
pub fn points_fraction(points: u8, limit: u8) -> f32 {
    display::points_fraction(points.into(), limit.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_an_app_acts_on_has_its_own_text() {
        let other = error_text(EdlError::Internal { detail: "x".into() });
        for e in [
            EdlError::Offline,
            EdlError::NotEnrolled,
            EdlError::NoElicence,
            EdlError::CorruptStore,
            EdlError::Busy {
                retry_after_secs: 5,
            },
        ] {
            assert_ne!(error_text(e.clone()), other, "{e:?}");
        }
        assert_eq!(
            error_text(EdlError::Refused {
                reason: RefusalReason::InvalidState
            }),
            refusal_text(RefusalReason::InvalidState)
        );
    }

    /// Only a key gone for good, or a damaged store, asks the driver to enrol again: a
    /// locked phone or a mistyped passphrase said so too, and a driver who clears the app's
    /// data over it loses the wallet (thirtieth review, AK-F51).
    #[test]
    fn only_a_lost_key_or_a_damaged_store_asks_to_enrol_again() {
        let enrol_again = error_text(EdlError::CorruptStore);
        assert!(enrol_again.en.contains("enrol again"), "{enrol_again:?}");
        let key = |reason| error_text(EdlError::KeyStore { reason });
        assert_eq!(key(KeyStoreFailure::Invalidated), enrol_again);
        for reason in [
            KeyStoreFailure::Unavailable,
            KeyStoreFailure::WrongKey,
            KeyStoreFailure::Failed,
        ] {
            let text = key(reason);
            assert!(
                !text.en.contains("enrol") && !text.zh.contains("重新绑定"),
                "{reason:?}: {text:?}"
            );
        }
        assert!(key(KeyStoreFailure::Unavailable).en.contains("Unlock"));
        assert!(
            key(KeyStoreFailure::WrongKey)
                .en
                .contains("nothing was changed")
        );
    }

    #[test]
    fn validity_end_reads_long_term_and_passes_other_text_through() {
        assert_eq!(validity_end_text("9999-12-31".into()).zh, "长期");
        assert_eq!(validity_end_text("2030-03-07".into()).en, "2030-03-07");
        assert_eq!(validity_end_text("soon".into()).zh, "soon");
    }
}
