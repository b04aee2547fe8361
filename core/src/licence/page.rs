//! The two pages of the e-licence (主页 and 副页) as plain data.
//!
//! These types do not check themselves on construction or deserialisation: data from the
//! authority or the wire goes through [`Licence::validate`] before anything relies on it.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::class::{ClassSet, VehicleClass};
use super::eligibility::{NotEligible, e_licence_eligibility};
use super::points::{PointsCycle, RecordEntry};
use super::serde_fmt;
use super::status::LicenceStatus;

/// The holder's sex (性别) as printed on the licence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

impl Sex {
    /// "男" or "女".
    pub const fn label_zh(self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
        }
    }

    /// "Male" or "Female".
    pub const fn label_en(self) -> &'static str {
        match self {
            Self::Male => "Male",
            Self::Female => "Female",
        }
    }
}

/// The main page (主页): who the holder is and what they may drive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MainPage {
    /// 证号: 18 characters, for residents the citizen ID number.
    pub licence_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 国籍, e.g. "中国".
    pub nationality: String,
    /// 出生日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date_of_birth: Date,
    /// 准驾车型.
    pub classes: ClassSet,
    /// 初次领证日期: also the anchor of the scoring cycles.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first_issue: Date,
    /// 有效期起始日期.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    /// 有效期截止日期, inclusive.
    #[serde(with = "serde_fmt::date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: Date,
    /// 状态.
    pub status: LicenceStatus,
    /// SHA-256 of the approved photo; the photo itself travels separately.
    #[serde(with = "serde_fmt::hex32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub photo_digest: [u8; 32],
    /// When the e-licence was generated, in UTC.
    #[serde(with = "serde_fmt::rfc3339_utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub generated_at: OffsetDateTime,
}

impl MainPage {
    /// Whether `today` lies within the validity period (both ends inclusive).
    pub fn in_validity(&self, today: Date) -> bool {
        self.valid_from <= today && today <= self.valid_until
    }

    /// Whether the holder may drive on `today`: within validity and with a status that allows
    /// driving. Class checks are separate ([`ClassSet::permits`]).
    pub fn may_drive(&self, today: Date) -> bool {
        self.in_validity(today) && self.status.may_drive()
    }

    /// Whether the holder may drive a vehicle of `class` on `today`.
    pub fn may_drive_class(&self, class: VehicleClass, today: Date) -> bool {
        self.may_drive(today) && self.classes.permits(class)
    }

    /// [`e_licence_eligibility`] for this page's status and validity.
    pub fn e_licence_eligibility(&self, today: Date) -> Result<(), NotEligible> {
        e_licence_eligibility(&self.status, self.valid_until, today)
    }
}

/// The supplementary page (副页): address, authority and driving record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplementaryPage {
    /// 住址.
    pub address: String,
    /// 发证机关, e.g. "北京市公安局公安交通管理局".
    pub issuing_authority: String,
    /// 记录: offences, oldest first as the authority sends them.
    pub record: Vec<RecordEntry>,
    /// The current scoring cycle.
    pub cycle: PointsCycle,
}

/// The code and Chinese meaning of each held class, in bit order, as the supplementary page
/// explains them, e.g. `[("C1", "小型汽车")]`.
pub fn class_meanings(classes: ClassSet) -> Vec<(&'static str, &'static str)> {
    classes.iter().map(|c| (c.code(), c.meaning())).collect()
}

/// A complete e-licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Licence {
    /// 主页.
    pub main: MainPage,
    /// 副页.
    pub supplementary: SupplementaryPage,
}

impl Licence {
    /// The licence number as a business verifier sees it: the first 4 and last 4 characters
    /// kept, every character between replaced by '*', e.g. "1101**********1234".
    ///
    /// A number of 8 characters or fewer is masked entirely, since showing 4 + 4 of it would
    /// show all of it.
    pub fn masked_number(&self) -> String {
        mask_number(&self.main.licence_number)
    }

    /// [`class_meanings`] of the held classes.
    pub fn class_meanings(&self) -> Vec<(&'static str, &'static str)> {
        class_meanings(self.main.classes)
    }
}

/// `number` as a business verifier sees it (see [`Licence::masked_number`]).
pub(crate) fn mask_number(number: &str) -> String {
    const KEEP: usize = 4;
    let len = number.chars().count();
    if len <= 2 * KEEP {
        return "*".repeat(len);
    }
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i < KEEP || i >= len - KEEP { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::fixtures::sample_licence;
    use crate::licence::status::StatusCode;
    use crate::licence::test_value::{Value, from_value, to_value};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 06 - 01);

    #[test]
    fn masked_number_keeps_first_and_last_four() {
        let licence = sample_licence(TODAY);
        assert_eq!(licence.masked_number(), "1101**********1234");
        assert_eq!(licence.masked_number().chars().count(), 18);
    }

    #[test]
    fn short_or_non_ascii_numbers_are_masked_without_panicking() {
        assert_eq!(mask_number(""), "");
        assert_eq!(mask_number("12345678"), "********");
        assert_eq!(mask_number("123456789"), "1234*6789");
        assert_eq!(mask_number("一二三四五六七八九"), "一二三四*六七八九");
    }

    #[test]
    fn class_meanings_explain_each_held_class() {
        assert_eq!(
            sample_licence(TODAY).class_meanings(),
            vec![("C1", "小型汽车")]
        );
        let classes: ClassSet = "A2 D".parse().unwrap();
        assert_eq!(
            class_meanings(classes),
            vec![("A2", "重型牵引挂车"), ("D", "普通三轮摩托车")]
        );
    }

    #[test]
    fn sex_labels() {
        assert_eq!(Sex::Male.label_zh(), "男");
        assert_eq!(Sex::Female.label_en(), "Female");
    }

    #[test]
    fn may_drive_needs_validity_and_a_permitting_status() {
        let mut main = sample_licence(TODAY).main;
        assert!(main.may_drive(TODAY));
        assert!(main.may_drive_class(VehicleClass::C2, TODAY));
        assert!(!main.may_drive_class(VehicleClass::B2, TODAY));
        assert!(main.may_drive(main.valid_until));
        assert!(!main.may_drive(date!(2028 - 03 - 08)));
        main.status.insert(StatusCode::ViolationUnhandled);
        assert!(main.may_drive(TODAY));
        main.status.insert(StatusCode::Suspended);
        assert!(!main.may_drive(TODAY));
        assert_eq!(
            main.e_licence_eligibility(TODAY),
            Err(NotEligible::Suspended)
        );
    }

    #[test]
    fn sample_licence_round_trips_through_serde() {
        let licence = sample_licence(TODAY);
        let value = to_value(&licence).unwrap();
        assert_eq!(from_value::<Licence>(value), Ok(licence));
    }

    #[test]
    fn serialised_fields_read_as_a_person_expects() {
        let value = to_value(&sample_licence(TODAY)).unwrap();
        let main = value.get("main").unwrap();
        let text = |v: &str| Some(Value::Str(v.into()));
        assert_eq!(
            main.get("licence_number").cloned(),
            text("110101199003071234")
        );
        assert_eq!(main.get("sex").cloned(), text("male"));
        assert_eq!(main.get("classes").cloned(), text("C1"));
        assert_eq!(main.get("status").cloned(), text("A"));
        assert_eq!(main.get("valid_until").cloned(), text("2028-03-07"));
        assert_eq!(
            main.get("generated_at").cloned(),
            text("2026-06-01T00:00:00Z")
        );
        assert_eq!(
            main.get("photo_digest").cloned(),
            text("6ad094cf26d1abe8a3b57a08afb2bbba74acffaa68fa625537681d00531d85e7")
        );
        let supplementary = value.get("supplementary").unwrap();
        let cycle = supplementary.get("cycle").unwrap();
        assert_eq!(cycle.get("start").cloned(), text("2026-03-07"));
        assert_eq!(cycle.get("end").cloned(), text("2027-03-06"));
        assert_eq!(cycle.get("points"), Some(&Value::U64(9)));
        let Some(Value::Seq(record)) = supplementary.get("record") else {
            panic!("record is not a list");
        };
        assert_eq!(record[0].get("date").cloned(), text("2026-04-02"));
        assert_eq!(record[0].get("handled"), Some(&Value::Bool(true)));
    }

    #[test]
    fn a_licence_with_a_non_canonical_status_does_not_deserialise() {
        let mut value = to_value(&sample_licence(TODAY)).unwrap();
        let Value::Map(pages) = &mut value else {
            unreachable!()
        };
        let Value::Map(main) = &mut pages[0].1 else {
            unreachable!()
        };
        let status = main.iter_mut().find(|(k, _)| k == "status").unwrap();
        status.1 = Value::Str("MD".into());
        assert!(from_value::<Licence>(value).is_err());
    }
}
