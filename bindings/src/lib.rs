//! `edl-ffi`: the UniFFI layer over `edl-core`, implementing `udl/edl.udl`.
//!
//! It only translates: arguments into core calls, core results into the UDL's records, and
//! core errors into [`EdlError`] (in `error.rs`, the one place that does). It decides
//! nothing: every rule, label and check lives in `edl-core`.
//!
//! Objects handed to foreign code are shared through `Arc` and are `Send + Sync`; none has
//! a `&mut self` method.

mod callbacks;
mod display;
mod error;
mod logging;
mod mirror;
mod online_verifier;
mod records;
mod trust;
mod types;
mod verifier;
mod wallet;
mod wiping_alloc;

pub use callbacks::{
    IdentityProvider, KeyStore, UploadProgress, WalletObserver, key_file_key_store,
    software_key_store,
};
pub use display::{
    application_phase_text, audience_text, beijing_date_time, beijing_time, check_method_text,
    check_outcome_text, countdown_text, error_text, points_fraction, points_text, refusal_text,
    review_deadline_text, review_outcome_text, upload_stage_text, validity_end_text,
    verifier_class_text,
};
pub use error::{
    EdlError, InputKind, KeyStoreFailure, ListKind, ListRefusal, RefusalReason, RejectionReason,
};
pub use logging::{LogLevel, Logger, set_logger};
pub use online_verifier::OnlineVerifier;
pub use records::{
    Application, ApplicationPhase, CheckMethod, CheckOutcome, DynamicCode, Message, MessageKind,
    PhotoAccepted, PhotoProblem, PhotoProblemKind, PhotoReport, PhotoReview, PhotoSource,
    Presentation, PresentationForm, ReviewOutcome, ReviewPending, SyncReport, UploadStage,
    VerificationLogEntry, VerifierClass, WalletEvent,
};
pub use trust::{
    ListsInfo, OwnStatus, StaleStatusPolicy, StatusCheck, StatusListInfo, TrustListInfo,
    own_status_text, status_check_text,
};
pub use types::{
    Audience, BusinessQualification, BusinessView, ClassMeaning, DisclosedView, EnforcementView,
    LicenceStatus, LiveView, LocalizedText, MainPage, NotEligibleReason, OnlineVerification,
    PointsCycle, RecordEntry, Sex, StatusColour, SupplementaryPage, VerifiedView,
};
pub use verifier::Verifier;
pub use wallet::{RotationTicker, Wallet};

use edl_core::present::Header;
use edl_core::present::render::{QrMatrix, RenderError};

uniffi::include_scaffolding!("edl");

/// The core library's version. The workspace versions every crate together, so this crate's
/// version is the core's.
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Every QR symbol in a PNG; an empty list when there is none.
pub fn scan_png(png: Vec<u8>) -> Result<Vec<Vec<u8>>, EdlError> {
    match edl_core::present::render::scan_png(&png) {
        Err(RenderError::NoQrFound) => Ok(Vec::new()),
        other => other.map_err(EdlError::scan),
    }
}

/// A PNG of the QR symbol of `payload`.
pub fn render_qr_png(payload: Vec<u8>, module_px: u32) -> Result<Vec<u8>, EdlError> {
    Ok(QrMatrix::encode(&payload)
        .map_err(EdlError::render)?
        .to_png(module_px))
}

/// The bytes of a payload's text form.
pub fn payload_from_text(text: String) -> Result<Vec<u8>, EdlError> {
    edl_core::present::payload_from_text(&text).map_err(EdlError::payload_text)
}

/// Which presentation a payload carries.
pub fn payload_form(payload: Vec<u8>) -> Result<PresentationForm, EdlError> {
    Header::of(&payload)
        .map(|header| header.form.into())
        .map_err(EdlError::payload)
}

/// The text form of a payload.
pub fn payload_to_text(payload: Vec<u8>) -> String {
    edl_core::present::payload_to_text(&payload)
}

/// Loads the face model for the photo checks.
pub fn load_face_model(model: Vec<u8>) -> Result<(), EdlError> {
    edl_core::photo::load_face_model(&model).map_err(EdlError::photo)
}

/// Pins the authority's root certificates (DER) for every client made from now on; `None`
/// trusts the platform's verifier again.
pub fn set_authority_roots(roots_der: Option<Vec<Vec<u8>>>) -> Result<(), EdlError> {
    Ok(edl_core::net::set_authority_roots(roots_der)?)
}

/// The driver-facing text of a not-eligible reason.
pub fn not_eligible_text(reason: NotEligibleReason) -> LocalizedText {
    reason.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ffi_objects_are_send_and_sync() {
        assert_send_sync::<Verifier>();
        assert_send_sync::<OnlineVerifier>();
        assert_send_sync::<Wallet>();
        assert_send_sync::<RotationTicker>();
    }

    #[test]
    fn a_rendered_qr_scans_back_and_an_image_without_one_is_an_empty_list() {
        let payload = b"EDL test payload".to_vec();
        let png = render_qr_png(payload.clone(), 4).unwrap();
        assert_eq!(scan_png(png).unwrap(), vec![payload]);
        let barcode = edl_core::present::render::Barcode::code128("12345678")
            .unwrap()
            .to_png(2, 40);
        assert_eq!(scan_png(barcode).unwrap(), Vec::<Vec<u8>>::new());
        assert!(matches!(
            scan_png(b"not a png".to_vec()),
            Err(EdlError::Malformed {
                what: InputKind::Image,
                ..
            })
        ));
    }

    #[test]
    fn a_payload_too_large_for_a_qr_symbol_is_an_invalid_argument() {
        assert!(matches!(
            render_qr_png(vec![0; 4000], 1),
            Err(EdlError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn payload_form_routes_online_and_offline_qrs() {
        let s = edl_core::sample::issued(edl_core::sample::VECTOR_TIME as u32 - 600);
        for form in [
            edl_core::present::Form::Online,
            edl_core::present::Form::Offline,
        ] {
            let payload = s
                .holder
                .present(
                    form,
                    edl_core::credential::Audience::Business,
                    edl_core::sample::VECTOR_TIME,
                    30,
                )
                .unwrap()
                .payload;
            assert_eq!(payload_form(payload), Ok(form.into()));
        }
        for junk in [vec![], vec![0xff, 1, 2]] {
            assert!(matches!(
                payload_form(junk),
                Err(EdlError::Malformed {
                    what: InputKind::Payload,
                    ..
                })
            ));
        }
    }

    #[test]
    fn only_the_shipped_face_model_loads() {
        let model = include_bytes!("../../core/models/seeta_fd_frontal_v1.0.bin");
        assert_eq!(load_face_model(model.to_vec()), Ok(()));
        assert!(matches!(
            load_face_model(b"not a model".to_vec()),
            Err(EdlError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn not_eligible_text_comes_from_the_core() {
        let text = not_eligible_text(NotEligibleReason::OverPoints);
        assert!(text.zh.contains("12"));
        assert!(text.en.contains("12 points"));
    }
}
