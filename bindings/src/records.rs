//! The records and enums the wallet's calls and events hand over (see `udl/edl.udl`), and
//! their field-by-field conversions from `edl_core::wallet` and `edl_core::wire`.

use edl_core::photo::{PhotoProblem as CoreProblem, ReviewerRule};
use edl_core::present::Form;
use edl_core::wire::{
    ApplicationPhase as CorePhase, CheckMethod as CoreMethod, CheckOutcome as CoreOutcome,
    MessageKind as CoreKind, ReviewOutcome as CoreReview, VerifierClass as CoreClass,
};

use crate::mirror::mirror_enum;
use crate::types::{Audience, LocalizedText, StatusColour};

mirror_enum!(
    /// See `PresentationForm` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum PresentationForm = Form { Online, Offline }
);
mirror_enum!(
    /// See `PhotoSource` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum PhotoSource = edl_core::wallet::PhotoSource { Camera, Album }
);
mirror_enum!(
    /// See `UploadStage` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum UploadStage = edl_core::wallet::UploadStage {
        Checked,
        Normalised,
        Uploading,
        Uploaded,
    }
);
mirror_enum!(
    /// See `ApplicationPhase` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum ApplicationPhase = CorePhase {
        NotApplied,
        AwaitingPhoto,
        UnderReview,
        Issued,
        ReapplyNeeded,
        Stopped,
    }
);
mirror_enum!(
    /// See `MessageKind` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum MessageKind = CoreKind {
        ApplicationSucceeded,
        PhotoChanged,
        PhotoRejected,
        ElicenceStopped,
        LicenceRenewed,
        StatusChanged,
        ViolationRecorded,
        DeviceEnrolled,
    }
);
mirror_enum!(
    /// See `VerifierClass` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum VerifierClass = CoreClass { Enforcement, Insurer, Rental, Employer }
);
mirror_enum!(
    /// See `CheckMethod` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum CheckMethod = CoreMethod { Qr, Barcode, Manual }
);
mirror_enum!(
    /// See `CheckOutcome` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum CheckOutcome = CoreOutcome { Verified, WrongCode, LockedOut, NotCurrent }
);
mirror_enum!(
    /// See `ReviewOutcome` in `udl/edl.udl`.
    #[allow(missing_docs)]
    pub enum ReviewOutcome = CoreReview { Approved, Rejected, RejectedMalicious }
);

/// Which rule a photo breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum PhotoProblemKind {
    ResolutionTooLow,
    NoFace,
    MoreThanOneFace,
    FaceTooSmall,
    FaceTooLarge,
    FaceOffCentre,
    TooLittleRoomAboveHead,
    BackgroundNotWhite,
    BackgroundTinted,
    BackgroundUneven,
    FaceLightingUneven,
    Underexposed,
    Overexposed,
    Blurred,
}

impl From<&CoreProblem> for PhotoProblemKind {
    fn from(p: &CoreProblem) -> Self {
        use PhotoProblemKind as K;
        match p {
            CoreProblem::ResolutionTooLow { .. } => K::ResolutionTooLow,
            CoreProblem::NoFace => K::NoFace,
            CoreProblem::MoreThanOneFace { .. } => K::MoreThanOneFace,
            CoreProblem::FaceTooSmall => K::FaceTooSmall,
            CoreProblem::FaceTooLarge => K::FaceTooLarge,
            CoreProblem::FaceOffCentre { .. } => K::FaceOffCentre,
            CoreProblem::TooLittleRoomAboveHead => K::TooLittleRoomAboveHead,
            CoreProblem::BackgroundNotWhite { .. } => K::BackgroundNotWhite,
            CoreProblem::BackgroundTinted => K::BackgroundTinted,
            CoreProblem::BackgroundUneven { .. } => K::BackgroundUneven,
            CoreProblem::FaceLightingUneven { .. } => K::FaceLightingUneven,
            CoreProblem::Underexposed => K::Underexposed,
            CoreProblem::Overexposed => K::Overexposed,
            CoreProblem::Blurred => K::Blurred,
        }
    }
}

/// A problem found on the phone, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoProblem {
    /// The rule.
    pub kind: PhotoProblemKind,
    /// What to fix.
    pub hint: LocalizedText,
}

/// See `PhotoReport` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoReport {
    /// No problem found.
    pub passes: bool,
    /// Every problem found.
    pub problems: Vec<PhotoProblem>,
    /// Rules the reviewer judges.
    pub left_to_reviewer: Vec<LocalizedText>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl From<edl_core::photo::PhotoReport> for PhotoReport {
    fn from(r: edl_core::photo::PhotoReport) -> Self {
        let rule = |r: &ReviewerRule| LocalizedText {
            zh: r.description_zh().to_owned(),
            en: r.description_en().to_owned(),
        };
        PhotoReport {
            passes: r.passes(),
            problems: r
                .problems
                .iter()
                .map(|p| PhotoProblem {
                    kind: p.into(),
                    hint: LocalizedText {
                        zh: p.hint_zh().to_owned(),
                        en: p.hint_en().to_owned(),
                    },
                })
                .collect(),
            left_to_reviewer: r.left_to_reviewer.iter().map(rule).collect(),
            width: r.width,
            height: r.height,
        }
    }
}

/// See `ReviewPending` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ReviewPending {
    pub photo_id: u64,
    pub submitted_at_unix: u64,
    pub deadline_unix: u64,
}

/// See `Application` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Application {
    pub phase: ApplicationPhase,
    pub pending_review: Option<ReviewPending>,
}

impl From<edl_core::wire::ApplicationView> for Application {
    fn from(v: edl_core::wire::ApplicationView) -> Self {
        Application {
            phase: v.phase.into(),
            pending_review: v.pending_review.map(|p| ReviewPending {
                photo_id: p.photo_id,
                submitted_at_unix: p.submitted_at,
                deadline_unix: p.deadline,
            }),
        }
    }
}

/// See `PhotoAccepted` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PhotoAccepted {
    pub photo_id: u64,
    pub deadline_unix: u64,
    pub application: Application,
}

/// See `SyncReport` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SyncReport {
    pub licence_changed: bool,
    pub elicence_changed: bool,
    pub application_changed: bool,
    pub reviews: u32,
    pub messages: u32,
    pub verifications: u32,
}

/// See `Message` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Message {
    pub kind: MessageKind,
    pub at_unix: u64,
    pub title: String,
    pub body: String,
}

/// See `VerificationLogEntry` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct VerificationLogEntry {
    pub at_unix: u64,
    pub verifier: String,
    pub verifier_class: VerifierClass,
    pub audience: Audience,
    pub method: CheckMethod,
    pub outcome: CheckOutcome,
}

/// See `PhotoReview` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PhotoReview {
    pub photo_id: u64,
    pub outcome: ReviewOutcome,
    pub reason: Option<String>,
    pub decided_at_unix: u64,
}

/// See `Presentation` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Presentation {
    pub form: PresentationForm,
    pub audience: Audience,
    pub payload: Vec<u8>,
    pub qr_width: u32,
    pub qr_modules: Vec<bool>,
    pub window_start_unix: u64,
    pub window_end_unix: u64,
    pub seconds_left: u32,
}

/// See `DynamicCode` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DynamicCode {
    pub audience: Audience,
    pub barcode_text: String,
    pub barcode_modules: Vec<bool>,
    pub manual_code: String,
    pub manual_seconds_left: u32,
    pub seconds_left: u32,
}

impl From<edl_core::wire::PhotoAccepted> for PhotoAccepted {
    fn from(a: edl_core::wire::PhotoAccepted) -> Self {
        PhotoAccepted {
            photo_id: a.photo_id,
            deadline_unix: a.deadline,
            application: a.application.into(),
        }
    }
}

impl From<edl_core::wallet::SyncReport> for SyncReport {
    fn from(r: edl_core::wallet::SyncReport) -> Self {
        SyncReport {
            licence_changed: r.licence_changed,
            elicence_changed: r.elicence_changed,
            application_changed: r.application_changed,
            reviews: r.reviews,
            messages: r.messages,
            verifications: r.verifications,
        }
    }
}

impl From<edl_core::wire::FeedMessage> for Message {
    fn from(m: edl_core::wire::FeedMessage) -> Self {
        Message {
            kind: m.kind.into(),
            at_unix: m.at,
            title: m.title,
            body: m.body,
        }
    }
}

impl From<edl_core::wire::VerificationLogEntry> for VerificationLogEntry {
    fn from(e: edl_core::wire::VerificationLogEntry) -> Self {
        VerificationLogEntry {
            at_unix: e.at,
            verifier: e.verifier,
            verifier_class: e.verifier_class.into(),
            audience: e.audience.into(),
            method: e.method.into(),
            outcome: e.outcome.into(),
        }
    }
}

impl From<edl_core::wire::ReviewResult> for PhotoReview {
    fn from(r: edl_core::wire::ReviewResult) -> Self {
        PhotoReview {
            photo_id: r.photo_id,
            outcome: r.outcome.into(),
            reason: r.reason,
            decided_at_unix: r.decided_at,
        }
    }
}

impl From<edl_core::present::Presentation> for Presentation {
    fn from(p: edl_core::present::Presentation) -> Self {
        Presentation {
            form: p.form.into(),
            audience: p.audience.into(),
            qr_width: u32::try_from(p.qr.width()).unwrap_or(u32::MAX),
            qr_modules: p.qr.to_bools(),
            payload: p.payload,
            window_start_unix: p.window.starts_at(),
            window_end_unix: p.window.ends_at(),
            seconds_left: p.seconds_left,
        }
    }
}

impl From<edl_core::present::DynamicCode> for DynamicCode {
    fn from(d: edl_core::present::DynamicCode) -> Self {
        DynamicCode {
            audience: d.audience.into(),
            barcode_text: d.barcode.text().to_owned(),
            barcode_modules: d.barcode.modules().to_vec(),
            manual_code: d.manual_code,
            manual_seconds_left: d.manual_seconds_left,
            seconds_left: d.seconds_left,
        }
    }
}

/// See `WalletEvent` in `udl/edl.udl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WalletEvent {
    ElicenceChanged,
    LicenceChanged { colour: Option<StatusColour> },
    ApplicationChanged { application: Application },
    ReviewResult { review: PhotoReview },
    NewMessages { count: u32 },
    NewVerifications { count: u32 },
    Rotation { presentation: Presentation },
}

impl From<edl_core::wallet::WalletEvent> for WalletEvent {
    fn from(e: edl_core::wallet::WalletEvent) -> Self {
        use edl_core::wallet::WalletEvent as E;
        match e {
            E::ElicenceChanged => WalletEvent::ElicenceChanged,
            E::LicenceChanged { colour } => WalletEvent::LicenceChanged {
                colour: colour.map(Into::into),
            },
            E::ApplicationChanged(a) => WalletEvent::ApplicationChanged {
                application: a.into(),
            },
            E::ReviewResult(r) => WalletEvent::ReviewResult { review: r.into() },
            E::NewMessages(count) => WalletEvent::NewMessages { count },
            E::NewVerifications(count) => WalletEvent::NewVerifications { count },
            E::Rotation(p) => WalletEvent::Rotation {
                presentation: p.into(),
            },
        }
    }
}
