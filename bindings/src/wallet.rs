//! The driver's `Wallet` and the callbacks the app implements (`KeyStore`,
//! `IdentityProvider`, `UploadProgress`): translation over `edl_core::wallet` only.

use std::path::Path;
use std::sync::Arc;

use edl_core::photo::{PhotoProblem as CoreProblem, ReviewerRule};
use edl_core::present::Form;
use edl_core::wallet::store::{KeyStoreError, SoftwareKeyStore};
use edl_core::wire::{
    ApplicationPhase as CorePhase, CheckMethod as CoreMethod, CheckOutcome as CoreOutcome,
    MessageKind as CoreKind, ReviewOutcome as CoreReview, VerifierClass as CoreClass,
};
use zeroize::Zeroizing;

use crate::error::EdlError;
use crate::observe::{ForeignObserver, RotationTicker, WalletObserver};
use crate::types::{Audience, LocalizedText, MainPage, StatusColour, SupplementaryPage};

// ---------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------

/// See `KeyStore` in `udl/edl.udl`.
pub trait KeyStore: Send + Sync {
    /// Encrypts the data key under the platform key.
    fn wrap_key(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EdlError>;
    /// Decrypts a blob made by `wrap_key`.
    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// See `IdentityProvider` in `udl/edl.udl`.
pub trait IdentityProvider: Send + Sync {
    /// The provider's attestation, or `None` when the check failed or was cancelled.
    fn attest(
        &self,
        challenge: Vec<u8>,
        licence_number: String,
    ) -> Result<Option<Vec<u8>>, EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// See `UploadProgress` in `udl/edl.udl`.
pub trait UploadProgress: Send + Sync {
    /// Called at each stage, in order.
    fn on_stage(&self, stage: UploadStage, fraction: f32) -> Result<(), EdlError>;

    /// For UniFFI's trait-interface scaffolding (`[Trait, WithForeign]` in the UDL): the
    /// handle of a foreign implementation; `None` for Rust ones.
    #[doc(hidden)]
    fn uniffi_foreign_handle(&self) -> Option<uniffi::Handle> {
        None
    }
}

/// The app's key store as the core sees it.
struct ForeignKeys(Arc<dyn KeyStore>);

impl edl_core::wallet::store::KeyStore for ForeignKeys {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        self.0
            .wrap_key(plaintext.to_vec())
            .map_err(EdlError::into_key_store_error)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        self.0
            .unwrap_key(wrapped.to_vec())
            .map(Zeroizing::new)
            .map_err(EdlError::into_key_store_error)
    }
}

/// A key store kept in software (passphrase or key file), for desktop and tests.
struct SoftwareKeys(SoftwareKeyStore);

impl KeyStore for SoftwareKeys {
    fn wrap_key(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EdlError> {
        let plaintext = Zeroizing::new(plaintext);
        edl_core::wallet::store::KeyStore::wrap_key(&self.0, &plaintext).map_err(EdlError::from)
    }

    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, EdlError> {
        edl_core::wallet::store::KeyStore::unwrap_key(&self.0, &wrapped)
            .map(|k| k.to_vec())
            .map_err(EdlError::from)
    }
}

/// A software key store over a passphrase (Argon2id).
pub fn software_key_store(passphrase: String) -> Arc<dyn KeyStore> {
    let passphrase = Zeroizing::new(passphrase);
    Arc::new(SoftwareKeys(SoftwareKeyStore::from_passphrase(&passphrase)))
}

/// A software key store over a 32-byte key file, made when it does not exist.
pub fn key_file_key_store(path: String) -> Result<Arc<dyn KeyStore>, EdlError> {
    let keys = SoftwareKeyStore::open_or_create_key_file(Path::new(&path))?;
    Ok(Arc::new(SoftwareKeys(keys)))
}

struct ForeignIdentity(Arc<dyn IdentityProvider>);

impl edl_core::wallet::IdentityProvider for ForeignIdentity {
    fn attest(&self, challenge: &[u8], licence_number: &str) -> Option<Vec<u8>> {
        // A provider that throws has not attested: the core refuses as a failed check.
        self.0
            .attest(challenge.to_vec(), licence_number.to_owned())
            .unwrap_or_else(|e| {
                log::warn!("the app's IdentityProvider threw: {e}");
                None
            })
    }
}

struct ForeignProgress(Arc<dyn UploadProgress>);

impl edl_core::wallet::UploadProgress for ForeignProgress {
    fn on_stage(&self, stage: edl_core::wallet::UploadStage) {
        // A progress bar that fails must not fail the upload it reports.
        if let Err(e) = self.0.on_stage(stage.into(), stage.fraction()) {
            log::warn!("the app's UploadProgress threw: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Records and enums
// ---------------------------------------------------------------------------------------

macro_rules! mirror_enum {
    ($ffi:ident, $core:path, $($v:ident),+ $(,)?) => {
        /// See the enum of the same name in `udl/edl.udl`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $ffi { $($v),+ }
        impl From<$core> for $ffi {
            fn from(v: $core) -> Self {
                use $core as C;
                match v { $(C::$v => $ffi::$v),+ }
            }
        }
        impl From<$ffi> for $core {
            fn from(v: $ffi) -> Self {
                use $core as C;
                match v { $($ffi::$v => C::$v),+ }
            }
        }
    };
}

mirror_enum!(PresentationForm, Form, Online, Offline);
mirror_enum!(PhotoSource, edl_core::wallet::PhotoSource, Camera, Album);
mirror_enum!(
    UploadStage,
    edl_core::wallet::UploadStage,
    Checked,
    Normalised,
    Uploading,
    Uploaded
);
mirror_enum!(
    ApplicationPhase,
    CorePhase,
    NotApplied,
    AwaitingPhoto,
    UnderReview,
    Issued,
    ReapplyNeeded,
    Stopped
);
mirror_enum!(
    MessageKind,
    CoreKind,
    ApplicationSucceeded,
    PhotoChanged,
    PhotoRejected,
    ElicenceStopped,
    LicenceRenewed,
    StatusChanged,
    ViolationRecorded,
    DeviceEnrolled
);
mirror_enum!(
    VerifierClass,
    CoreClass,
    Enforcement,
    Insurer,
    Rental,
    Employer
);
mirror_enum!(CheckMethod, CoreMethod, Qr, Barcode, Manual);
mirror_enum!(
    CheckOutcome,
    CoreOutcome,
    Verified,
    WrongCode,
    LockedOut,
    NotCurrent
);
mirror_enum!(
    ReviewOutcome,
    CoreReview,
    Approved,
    Rejected,
    RejectedMalicious
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
    Other,
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
            // A rule the core added after this list; its hint still says what to fix.
            _ => K::Other,
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

// ---------------------------------------------------------------------------------------
// Wallet
// ---------------------------------------------------------------------------------------

/// See `Wallet` in `udl/edl.udl`.
pub struct Wallet {
    inner: edl_core::wallet::Wallet,
}

impl Wallet {
    /// Opens (or creates) the wallet in `dir`.
    pub fn new(dir: String, keys: Arc<dyn KeyStore>) -> Result<Self, EdlError> {
        let inner = edl_core::wallet::Wallet::open(Path::new(&dir), &ForeignKeys(keys))?;
        log::info!("wallet opened");
        Ok(Wallet { inner })
    }

    /// Sets (or clears) the observer of changes.
    pub fn set_observer(&self, observer: Option<Arc<dyn WalletObserver>>) {
        self.inner
            .set_observer(observer.map(|o| {
                Arc::new(ForeignObserver(o)) as Arc<dyn edl_core::wallet::WalletObserver>
            }));
    }

    /// Hands the observer a fresh presentation at once and at each new window.
    pub fn start_rotation(
        &self,
        form: PresentationForm,
        audience: Audience,
    ) -> Result<Arc<RotationTicker>, EdlError> {
        let ticker = self
            .inner
            .start_rotation(form.into(), audience.into(), None)?;
        Ok(Arc::new(RotationTicker(ticker)))
    }

    /// The authority's clock as the wallet knows it.
    pub fn now_unix(&self) -> Result<u64, EdlError> {
        Ok(self.inner.now()?)
    }

    /// Whether the wallet is enrolled.
    pub fn is_enrolled(&self) -> Result<bool, EdlError> {
        Ok(self.inner.enrolled()?.is_some())
    }

    /// Enrols with a one-time activation code.
    pub async fn enrol(
        &self,
        authority_url: String,
        licence_number: String,
        activation_code: String,
    ) -> Result<(), EdlError> {
        Ok(self
            .inner
            .enrol(&authority_url, &licence_number, &activation_code)
            .await?)
    }

    /// Applies for the e-licence.
    pub async fn apply(
        &self,
        provider: Arc<dyn IdentityProvider>,
    ) -> Result<Application, EdlError> {
        Ok(self
            .inner
            .apply(Arc::new(ForeignIdentity(provider)))
            .await?
            .into())
    }

    /// Syncs with the authority.
    pub async fn sync(&self) -> Result<SyncReport, EdlError> {
        let r = self.inner.sync().await?;
        Ok(SyncReport {
            licence_changed: r.licence_changed,
            elicence_changed: r.elicence_changed,
            application_changed: r.application_changed,
            reviews: r.reviews,
            messages: r.messages,
            verifications: r.verifications,
        })
    }

    /// The on-phone photo checks.
    pub fn check_photo(&self, photo: Vec<u8>) -> Result<PhotoReport, EdlError> {
        Ok(self.inner.check_photo(&photo)?.into())
    }

    /// Checks, normalises and uploads a photo for the application.
    pub async fn submit_photo(
        &self,
        photo: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, EdlError> {
        let a = self
            .inner
            .submit_photo(photo, source.into(), foreign_progress(progress))
            .await?;
        Ok(photo_accepted(a))
    }

    /// Checks, normalises and uploads a new photo for the issued e-licence.
    pub async fn change_photo(
        &self,
        photo: Vec<u8>,
        source: PhotoSource,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<PhotoAccepted, EdlError> {
        let a = self
            .inner
            .change_photo(photo, source.into(), foreign_progress(progress))
            .await?;
        Ok(photo_accepted(a))
    }

    /// The main page as of the last sync.
    pub fn main_page(&self) -> Result<Option<MainPage>, EdlError> {
        Ok(self.inner.licence()?.map(|l| l.main.into()))
    }

    /// The supplementary page as of the last sync.
    pub fn supplementary_page(&self) -> Result<Option<SupplementaryPage>, EdlError> {
        Ok(self
            .inner
            .licence()?
            .map(|l| SupplementaryPage::new(l.supplementary, l.main.classes)))
    }

    /// How the status is shown.
    pub fn status_colour(&self) -> Result<Option<StatusColour>, EdlError> {
        Ok(self.inner.status_colour()?.map(Into::into))
    }

    /// When the last sync completed.
    pub fn last_synced_unix(&self) -> Result<Option<u64>, EdlError> {
        Ok(self.inner.last_synced()?)
    }

    /// The application as last seen.
    pub fn application(&self) -> Result<Option<Application>, EdlError> {
        Ok(self.inner.application()?.map(Into::into))
    }

    /// The approved photo.
    pub fn photo(&self) -> Result<Option<Vec<u8>>, EdlError> {
        Ok(self.inner.photo()?)
    }

    /// Messages, oldest first.
    pub fn messages(&self) -> Result<Vec<Message>, EdlError> {
        Ok(self
            .inner
            .messages()?
            .into_iter()
            .map(|m| Message {
                kind: m.kind.into(),
                at_unix: m.at,
                title: m.title,
                body: m.body,
            })
            .collect())
    }

    /// Who checked the e-licence, oldest first.
    pub fn verification_log(&self) -> Result<Vec<VerificationLogEntry>, EdlError> {
        Ok(self
            .inner
            .verification_log()?
            .into_iter()
            .map(|e| VerificationLogEntry {
                at_unix: e.at,
                verifier: e.verifier,
                verifier_class: e.verifier_class.into(),
                audience: e.audience.into(),
                method: e.method.into(),
                outcome: e.outcome.into(),
            })
            .collect())
    }

    /// Photo review results.
    pub fn photo_reviews(&self) -> Result<Vec<PhotoReview>, EdlError> {
        Ok(self
            .inner
            .photo_reviews()?
            .into_iter()
            .map(photo_review)
            .collect())
    }

    /// The QR presentation now.
    pub fn present(
        &self,
        form: PresentationForm,
        audience: Audience,
    ) -> Result<Presentation, EdlError> {
        Ok(presentation(self.inner.present(
            form.into(),
            audience.into(),
            None,
        )?))
    }

    /// The barcode and manual code now.
    pub fn dynamic_code(&self, audience: Audience) -> Result<DynamicCode, EdlError> {
        let d = self.inner.dynamic_code(audience.into(), None)?;
        Ok(DynamicCode {
            audience: d.audience.into(),
            barcode_text: d.barcode.text().to_owned(),
            barcode_modules: d.barcode.modules().to_vec(),
            manual_code: d.manual_code,
            manual_seconds_left: d.manual_seconds_left,
            seconds_left: d.seconds_left,
        })
    }
}

fn foreign_progress(
    progress: Option<Arc<dyn UploadProgress>>,
) -> Option<Arc<dyn edl_core::wallet::UploadProgress>> {
    progress.map(|p| Arc::new(ForeignProgress(p)) as Arc<dyn edl_core::wallet::UploadProgress>)
}

fn photo_accepted(a: edl_core::wire::PhotoAccepted) -> PhotoAccepted {
    PhotoAccepted {
        photo_id: a.photo_id,
        deadline_unix: a.deadline,
        application: a.application.into(),
    }
}

pub(crate) fn photo_review(r: edl_core::wire::ReviewResult) -> PhotoReview {
    PhotoReview {
        photo_id: r.photo_id,
        outcome: r.outcome.into(),
        reason: r.reason,
        decided_at_unix: r.decided_at,
    }
}

pub(crate) fn presentation(p: edl_core::present::Presentation) -> Presentation {
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
