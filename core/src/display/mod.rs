//! What the apps show, as text: the labels of the core's enums, what to tell the driver
//! after a refusal or an error, times in Beijing time, the licence's validity end and the
//! points bar's fraction (D95).
//!
//! Every function is pure and gives both languages ([`Bilingual`]); the app picks one. The
//! words decide nothing, but every app would otherwise write them again, and the rules in
//! them (9999-12-31 is 长期, times are Beijing time whatever the phone's zone, the bar is
//! full at the limit) would drift between Kotlin and Swift.

mod labels;
mod problems;
mod times;

#[cfg(feature = "wallet")]
pub use labels::upload_stage;
pub use labels::{
    application_phase, audience, check_method, check_outcome, own_status, review_outcome,
    status_check, verifier_class,
};
pub use problems::{Problem, Refusal, problem, refusal};
pub use times::{
    beijing_date_time, beijing_time, countdown, points_fraction, points_recorded, review_deadline,
    validity_end, validity_end_iso,
};

/// A text in simplified Chinese and in English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilingual {
    /// Simplified Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Bilingual {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Bilingual {
            zh: zh.into(),
            en: en.into(),
        }
    }
}
