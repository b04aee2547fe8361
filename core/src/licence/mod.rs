//! The driving licence domain model (机动车驾驶证), as shown by the e-licence (电子驾驶证).
//!
//! - [`beijing`]: Beijing time (UTC+8), the time zone of every licence date.
//! - [`class`]: vehicle classes (准驾车型), which class permits which, and sets of classes.
//! - [`status`]: status codes (驾驶证状态), the set a licence carries, and its display colour.
//! - [`eligibility`]: whether a licence may have an e-licence, and why not.
//! - [`points`]: the driving record and the 12-month scoring cycle (记分周期).
//! - [`page`]: the main and supplementary pages and the whole [`Licence`].
//! - [`validate`]: consistency checks on a licence from an untrusted source.
//! - [`serde_fmt`]: how licence data looks when serialised.
//! - `fixtures`: a sample licence for tests and demos (with the `test-support` feature).
//!
//! Nothing here reads a clock: every check that depends on the date takes `today`.

pub mod beijing;
pub mod class;
pub mod eligibility;
pub mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod page;
pub mod points;
pub mod serde_fmt;
pub mod status;
pub mod validate;

#[cfg(test)]
mod test_value;

pub use class::{ClassSet, VehicleClass};
pub use eligibility::{NotEligible, e_licence_blockers, e_licence_eligibility};
pub use error::{Field, LicenceError};
pub use page::{Licence, MainPage, Sex, SupplementaryPage, class_meanings};
pub use points::{POINTS_LIMIT, PointsCycle, RecordEntry};
pub use status::{LicenceStatus, StatusCode, StatusColour};
pub use validate::{
    check_licence_number, check_name, has_hidden_character, is_hidden_character, printable,
};
