//! The records and enums of `udl/edl.udl`, and their conversions from `edl-core` types.
//!
//! The foreign API has its own types rather than re-exporting the core's: a change in the
//! core then fails to compile here instead of silently changing what apps receive. Every
//! conversion is a plain field-by-field translation; labels, masks, colours and rules all
//! come from the core.

use edl_core::credential::{self, ViewHeader};
use edl_core::licence::{self, ClassSet, VehicleClass};
use edl_core::wire;

use crate::mirror::mirror_enum;

mirror_enum!(
    /// Whom a view is for.
    pub enum Audience = credential::Audience {
        /// Police: both pages.
        Enforcement,
        /// Businesses: qualification only.
        Business,
    }
);

mirror_enum!(
    /// How a status is shown.
    pub enum StatusColour = licence::StatusColour {
        /// Normal.
        Black,
        /// A code to notice.
        Red,
        /// The licence has ended.
        Hidden,
    }
);

mirror_enum!(
    /// 性别.
    pub enum Sex = licence::Sex {
        /// 男.
        Male,
        /// 女.
        Female,
    }
);

mirror_enum!(
    /// Why a licence may not have an e-licence (see the UDL for each variant).
    #[allow(missing_docs)]
    pub enum NotEligibleReason = licence::NotEligible {
        Annulled,
        Revoked,
        Cancelled,
        CancelledRecoverable,
        TransferredOut,
        StopUse,
        OverPoints,
        Suspended,
        Detained,
        Locked,
        UnderInvestigation,
        OverdueRenewal,
        RenewalDeferred,
        OverdueExam,
        ExamDeferred,
        OverdueReview,
        ReviewDeferred,
        OtherStatus,
    }
);

/// A text in two languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl From<NotEligibleReason> for LocalizedText {
    fn from(r: NotEligibleReason) -> Self {
        let r = licence::NotEligible::from(r);
        LocalizedText {
            zh: r.reason_zh().to_owned(),
            en: r.reason_en().to_owned(),
        }
    }
}

/// A licence status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceStatus {
    /// Canonical letters.
    pub letters: String,
    /// Display colour.
    pub colour: StatusColour,
    /// Chinese labels.
    pub label_zh: String,
    /// English labels.
    pub label_en: String,
    /// Whether the status letters alone permit driving (not whether the e-licence is in
    /// force: the verdict says that).
    pub may_drive: bool,
}

impl From<licence::LicenceStatus> for LicenceStatus {
    fn from(s: licence::LicenceStatus) -> Self {
        LicenceStatus {
            letters: s.letters(),
            colour: s.colour().into(),
            label_zh: s.label_zh(),
            label_en: s.label_en(),
            may_drive: s.may_drive(),
        }
    }
}

/// A held class and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassMeaning {
    /// Code.
    pub code: String,
    /// Chinese meaning.
    pub meaning_zh: String,
    /// English meaning.
    pub meaning_en: String,
}

impl From<VehicleClass> for ClassMeaning {
    fn from(c: VehicleClass) -> Self {
        ClassMeaning {
            code: c.code().to_owned(),
            meaning_zh: c.meaning().to_owned(),
            meaning_en: c.meaning_en().to_owned(),
        }
    }
}

fn class_codes(classes: ClassSet) -> Vec<String> {
    classes.iter().map(|c| c.code().to_owned()).collect()
}

/// A licence date as ISO 8601 ("2028-03-07").
fn iso(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Lower-case hex. Records carry digests as text: Kotlin data classes compare byte arrays
/// by identity, so a `bytes` field would break `==` on every view.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The business view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessView {
    /// 姓名.
    pub name: String,
    /// Masked licence number.
    pub masked_number: String,
    /// 16-byte photo digest, hex.
    pub photo_digest_hex: String,
    /// Classes as printed.
    pub classes: String,
    /// Class codes.
    pub class_codes: Vec<String>,
    /// Validity start.
    pub valid_from: String,
    /// Validity end.
    pub valid_until: String,
    /// Status.
    pub status: LicenceStatus,
    /// Issue time.
    pub issued_at_unix: u64,
    /// Expiry time.
    pub expires_at_unix: u64,
}

impl From<credential::BusinessView> for BusinessView {
    fn from(v: credential::BusinessView) -> Self {
        BusinessView {
            name: v.name,
            masked_number: v.masked_number,
            photo_digest_hex: hex(&v.photo_digest),
            classes: v.classes.compact(),
            class_codes: class_codes(v.classes),
            valid_from: iso(v.valid_from),
            valid_until: iso(v.valid_until),
            status: v.status.into(),
            issued_at_unix: issued_at(&v.header),
            expires_at_unix: v.header.expires_at(),
        }
    }
}

fn issued_at(header: &ViewHeader) -> u64 {
    u64::from(header.issued_at)
}

/// 主页.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainPage {
    /// 证号.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 性别 in Chinese.
    pub sex_label_zh: String,
    /// 性别 in English.
    pub sex_label_en: String,
    /// 国籍.
    pub nationality: String,
    /// 出生日期.
    pub date_of_birth: String,
    /// Classes as printed.
    pub classes: String,
    /// Class codes.
    pub class_codes: Vec<String>,
    /// 初次领证日期.
    pub first_issue: String,
    /// Validity start.
    pub valid_from: String,
    /// Validity end.
    pub valid_until: String,
    /// 状态.
    pub status: LicenceStatus,
    /// 32-byte photo digest, hex.
    pub photo_digest_hex: String,
    /// Generation time.
    pub generated_at_unix: u64,
}

impl From<licence::MainPage> for MainPage {
    fn from(m: licence::MainPage) -> Self {
        MainPage {
            licence_number: m.licence_number,
            name: m.name,
            sex: m.sex.into(),
            sex_label_zh: m.sex.label_zh().to_owned(),
            sex_label_en: m.sex.label_en().to_owned(),
            nationality: m.nationality,
            date_of_birth: iso(m.date_of_birth),
            classes: m.classes.compact(),
            class_codes: class_codes(m.classes),
            first_issue: iso(m.first_issue),
            valid_from: iso(m.valid_from),
            valid_until: iso(m.valid_until),
            status: m.status.into(),
            photo_digest_hex: hex(&m.photo_digest),
            // Generation times come from u32 issue times, so they are never negative.
            generated_at_unix: u64::try_from(m.generated_at.unix_timestamp()).unwrap_or(0),
        }
    }
}

/// One driving-record entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// Day.
    pub date: String,
    /// Place.
    pub place: String,
    /// Offence.
    pub act: String,
    /// Points.
    pub points: u8,
    /// Fine in yuan.
    pub fine_yuan: u32,
    /// Dealt with.
    pub handled: bool,
}

impl From<licence::RecordEntry> for RecordEntry {
    fn from(e: licence::RecordEntry) -> Self {
        RecordEntry {
            date: iso(e.date),
            place: e.place,
            act: e.act,
            points: e.points,
            fine_yuan: e.fine_yuan,
            handled: e.handled,
        }
    }
}

/// The scoring cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsCycle {
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
    /// Points.
    pub points: u8,
    /// The limit.
    pub limit: u8,
    /// Points left.
    pub remaining: u8,
    /// Limit reached.
    pub reached_limit: bool,
}

impl From<licence::PointsCycle> for PointsCycle {
    fn from(c: licence::PointsCycle) -> Self {
        PointsCycle {
            start: iso(c.start),
            end: iso(c.end),
            points: c.points,
            limit: licence::POINTS_LIMIT,
            remaining: c.remaining(),
            reached_limit: c.reached_limit(),
        }
    }
}

/// 副页.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementaryPage {
    /// 住址.
    pub address: String,
    /// 发证机关.
    pub issuing_authority: String,
    /// 驾驶记录.
    pub record: Vec<RecordEntry>,
    /// The scoring cycle.
    pub cycle: PointsCycle,
    /// Meanings of the held classes.
    pub class_meanings: Vec<ClassMeaning>,
}

impl SupplementaryPage {
    pub(crate) fn new(s: licence::SupplementaryPage, classes: ClassSet) -> Self {
        SupplementaryPage {
            address: s.address,
            issuing_authority: s.issuing_authority,
            record: s.record.into_iter().map(Into::into).collect(),
            cycle: s.cycle.into(),
            class_meanings: classes.iter().map(Into::into).collect(),
        }
    }
}

/// The enforcement view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcementView {
    /// 20-digit e-licence id.
    pub elicence_id: String,
    /// 主页.
    pub main: MainPage,
    /// 副页.
    pub supplementary: SupplementaryPage,
    /// Issue time.
    pub issued_at_unix: u64,
    /// Expiry time.
    pub expires_at_unix: u64,
}

impl From<credential::EnforcementView> for EnforcementView {
    fn from(v: credential::EnforcementView) -> Self {
        let classes = v.licence.main.classes;
        EnforcementView {
            elicence_id: v.id.to_string(),
            main: v.licence.main.into(),
            supplementary: SupplementaryPage::new(v.licence.supplementary, classes),
            issued_at_unix: issued_at(&v.header),
            expires_at_unix: v.header.expires_at(),
        }
    }
}

/// The disclosed view.
// Lives only on its way across the FFI, where it is serialised; UDL has no `Box` for it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisclosedView {
    /// Qualification subset.
    Business {
        /// The view.
        view: BusinessView,
    },
    /// Both pages.
    Enforcement {
        /// The view.
        view: EnforcementView,
    },
}

impl From<credential::DisclosedView> for DisclosedView {
    fn from(v: credential::DisclosedView) -> Self {
        match v {
            credential::DisclosedView::Business(view) => {
                DisclosedView::Business { view: view.into() }
            }
            credential::DisclosedView::Enforcement(view) => {
                DisclosedView::Enforcement { view: view.into() }
            }
        }
    }
}

/// An accepted offline presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedView {
    /// Its audience.
    pub audience: Audience,
    /// Window start.
    pub window_start_unix: u64,
    /// Window end.
    pub window_end_unix: u64,
    /// What may be seen.
    pub disclosed: DisclosedView,
    /// What the status list said.
    pub status: crate::trust::StatusCheck,
}

impl From<edl_core::verify::Verified> for VerifiedView {
    fn from(v: edl_core::verify::Verified) -> Self {
        VerifiedView {
            audience: v.view.audience().into(),
            window_start_unix: v.window.starts_at(),
            window_end_unix: v.window.ends_at(),
            disclosed: v.view.into(),
            status: v.status.into(),
        }
    }
}

/// What a business verifier sees online: the qualification only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessQualification {
    /// 姓名.
    pub name: String,
    /// Masked licence number.
    pub masked_number: String,
    /// Classes as printed.
    pub classes: String,
    /// Class codes.
    pub class_codes: Vec<String>,
    /// Validity start.
    pub valid_from: String,
    /// Validity end.
    pub valid_until: String,
    /// Live status.
    pub status: LicenceStatus,
    /// 32-byte photo digest, hex.
    pub photo_digest_hex: String,
}

impl From<wire::BusinessQualification> for BusinessQualification {
    fn from(q: wire::BusinessQualification) -> Self {
        BusinessQualification {
            name: q.name,
            masked_number: q.masked_number,
            classes: q.classes.compact(),
            class_codes: class_codes(q.classes),
            valid_from: iso(q.valid_from),
            valid_until: iso(q.valid_until),
            status: q.status.into(),
            photo_digest_hex: hex(&q.photo_digest),
        }
    }
}

/// The live view an online check returns.
// Lives only on its way across the FFI, as `DisclosedView` does.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveView {
    /// Qualification only.
    Business {
        /// The qualification.
        qualification: BusinessQualification,
    },
    /// Both pages.
    Enforcement {
        /// 主页.
        main: MainPage,
        /// 副页.
        supplementary: SupplementaryPage,
    },
}

impl From<wire::LiveView> for LiveView {
    fn from(v: wire::LiveView) -> Self {
        match v {
            wire::LiveView::Business { qualification } => LiveView::Business {
                qualification: qualification.into(),
            },
            wire::LiveView::Enforcement { licence } => {
                let classes = licence.main.classes;
                LiveView::Enforcement {
                    main: licence.main.into(),
                    supplementary: SupplementaryPage::new(licence.supplementary, classes),
                }
            }
        }
    }
}

/// The authority's answer to an online check whose code was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineVerification {
    /// 20-digit e-licence id.
    pub elicence_id: String,
    /// When the authority checked.
    pub checked_at_unix: u64,
    /// In force now.
    pub in_force: bool,
    /// Why not, if not.
    pub not_in_force_reason: Option<NotEligibleReason>,
    /// Status colour.
    pub status_colour: StatusColour,
    /// What may be seen.
    pub view: LiveView,
    /// The approved photo, fetched by its digest and checked against it.
    pub photo: Vec<u8>,
}

impl From<edl_core::net::OnlineAnswer> for OnlineVerification {
    fn from(online: edl_core::net::OnlineAnswer) -> Self {
        let r = online.answer;
        OnlineVerification {
            elicence_id: r.elicence_id.to_string(),
            checked_at_unix: r.checked_at,
            in_force: r.in_force,
            not_in_force_reason: r.not_in_force_reason.map(Into::into),
            status_colour: r.status_colour.into(),
            view: r.view.into(),
            photo: online.photo,
        }
    }
}
