//! Whether a licence may be issued an e-licence (电子驾驶证), and why not.
//!
//! Only a licence in force gets an e-licence: within its validity and with no status code that
//! takes it out of force. An unhandled violation or accident (H, I) does not: the licence is
//! still in force, and the e-licence shows the code in red.

use time::Date;

use super::status::{LicenceStatus, StatusCode};

/// Why a licence may not have an e-licence, one variant per thing the driver must do
/// differently. Variants are declared most serious first; that is the order
/// [`e_licence_blockers`] reports them in.
// Serialised in snake_case (e.g. "over_points"): the wire's `not_eligible` reason.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotEligible {
    /// E 撤销: obtained improperly; the driver may not reapply for three years.
    Annulled,
    /// F 吊销: revoked; the driver must wait out the ban and qualify again.
    Revoked,
    /// G 注销: cancelled; the driver must qualify again from the start.
    Cancelled,
    /// R 注销可恢复: cancelled but restorable by retaking the theory test in time.
    CancelledRecoverable,
    /// C 转出: the file has moved; the new authority issues the e-licence.
    TransferredOut,
    /// J 停止使用: the licence must not be used; the driver must contact the authority.
    StopUse,
    /// B 超分: points limit reached; the driver must attend study and pass the test.
    OverPoints,
    /// D 暂扣: suspended; the e-licence returns when the suspension ends.
    Suspended,
    /// U 扣留: the card is detained; the driver must deal with it at the traffic police.
    Detained,
    /// L 锁定: locked by the authority; the driver must contact it.
    Locked,
    /// K 协查: flagged for another authority; the driver must contact the issuing authority.
    UnderInvestigation,
    /// M 逾期未换证, or the validity date has passed: the driver must renew.
    OverdueRenewal,
    /// N 延期换证: renewal deferred; no driving until renewed.
    RenewalDeferred,
    /// Q 逾期未体检: the medical examination is overdue; the driver must submit one.
    OverdueExam,
    /// P 延期体检: medical examination deferred; no driving until it is submitted.
    ExamDeferred,
    /// S 逾期未审验: the periodic review is overdue; the driver must attend it.
    OverdueReview,
    /// T 延期审验: review deferred; no driving until it is done.
    ReviewDeferred,
    /// Z 其他: a status this wallet cannot interpret; the driver must contact the authority.
    OtherStatus,
}

impl NotEligible {
    /// The reason a single status code blocks the e-licence, if it does.
    pub const fn for_code(code: StatusCode) -> Option<Self> {
        Some(match code {
            StatusCode::Normal | StatusCode::ViolationUnhandled | StatusCode::AccidentUnhandled => {
                return None;
            }
            StatusCode::Annulled => Self::Annulled,
            StatusCode::Revoked => Self::Revoked,
            StatusCode::Cancelled => Self::Cancelled,
            StatusCode::CancelledRecoverable => Self::CancelledRecoverable,
            StatusCode::TransferredOut => Self::TransferredOut,
            StatusCode::StopUse => Self::StopUse,
            StatusCode::OverPoints => Self::OverPoints,
            StatusCode::Suspended => Self::Suspended,
            StatusCode::Detained => Self::Detained,
            StatusCode::Locked => Self::Locked,
            StatusCode::Investigation => Self::UnderInvestigation,
            StatusCode::OverdueRenewal => Self::OverdueRenewal,
            StatusCode::RenewalDeferred => Self::RenewalDeferred,
            StatusCode::OverdueExam => Self::OverdueExam,
            StatusCode::ExamDeferred => Self::ExamDeferred,
            StatusCode::OverdueReview => Self::OverdueReview,
            StatusCode::ReviewDeferred => Self::ReviewDeferred,
            StatusCode::Other => Self::OtherStatus,
        })
    }

    /// A message for the driver, in Chinese.
    pub const fn reason_zh(self) -> &'static str {
        match self {
            Self::Annulled => "驾驶证已被撤销，三年内不得重新申领。",
            Self::Revoked => "驾驶证已被吊销，禁驾期满后须重新考试申领。",
            Self::Cancelled => "驾驶证已被注销，须重新考试申领。",
            Self::CancelledRecoverable => {
                "驾驶证已被注销，可在规定期限内通过科目一考试恢复驾驶资格。"
            }
            Self::TransferredOut => "驾驶证档案已转出，请向转入地车辆管理所申领电子驾驶证。",
            Self::StopUse => "驾驶证已停止使用，请联系发证机关。",
            Self::OverPoints => "记分已满12分，请参加道路交通安全法律法规学习并考试。",
            Self::Suspended => "驾驶证被暂扣，暂扣期满后恢复。",
            Self::Detained => "驾驶证被扣留，请到公安机关交通管理部门处理。",
            Self::Locked => "驾驶证已锁定，请联系发证机关。",
            Self::UnderInvestigation => "驾驶证处于协查状态，请联系发证机关。",
            Self::OverdueRenewal => "驾驶证已超过有效期，请办理换证。",
            Self::RenewalDeferred => "驾驶证延期换证期间不得驾驶，请办理换证。",
            Self::OverdueExam => "逾期未提交身体条件证明，请提交体检证明。",
            Self::ExamDeferred => "延期提交身体条件证明期间不得驾驶，请提交体检证明。",
            Self::OverdueReview => "逾期未审验，请参加审验。",
            Self::ReviewDeferred => "延期审验期间不得驾驶，请参加审验。",
            Self::OtherStatus => "驾驶证状态异常，请联系发证机关。",
        }
    }

    /// A message for the driver, in English.
    pub const fn reason_en(self) -> &'static str {
        match self {
            Self::Annulled => "The licence was annulled; you may not reapply for three years.",
            Self::Revoked => "The licence was revoked; you must qualify again after the ban.",
            Self::Cancelled => "The licence was cancelled; you must qualify again.",
            Self::CancelledRecoverable => {
                "The licence was cancelled; pass the theory test in time to restore it."
            }
            Self::TransferredOut => {
                "The licence file was transferred; apply to the new vehicle administration office."
            }
            Self::StopUse => "The licence must not be used; contact the issuing authority.",
            Self::OverPoints => "You reached 12 points; attend the study course and pass the test.",
            Self::Suspended => "The licence is suspended until the suspension ends.",
            Self::Detained => "The licence is detained; deal with it at the traffic police.",
            Self::Locked => "The licence is locked; contact the issuing authority.",
            Self::UnderInvestigation => {
                "The licence is under investigation; contact the issuing authority."
            }
            Self::OverdueRenewal => "The licence has expired; renew it.",
            Self::RenewalDeferred => "You may not drive while renewal is deferred; renew it.",
            Self::OverdueExam => "Your medical examination is overdue; submit one.",
            Self::ExamDeferred => {
                "You may not drive while the medical examination is deferred; submit one."
            }
            Self::OverdueReview => "Your periodic review is overdue; attend it.",
            Self::ReviewDeferred => "You may not drive while the review is deferred; attend it.",
            Self::OtherStatus => "The licence status is abnormal; contact the issuing authority.",
        }
    }
}

impl std::fmt::Display for NotEligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason_en())
    }
}

impl std::error::Error for NotEligible {}

/// Every reason the licence may not have an e-licence, most serious first, without repeats.
/// Empty when it may.
///
/// A licence past `valid_until` is overdue for renewal even while its recorded status is
/// still A: the authority's batch that sets M may not have run yet.
pub fn e_licence_blockers(
    status: &LicenceStatus,
    valid_until: Date,
    today: Date,
) -> Vec<NotEligible> {
    let mut reasons: Vec<NotEligible> = status.codes().filter_map(NotEligible::for_code).collect();
    if today > valid_until {
        reasons.push(NotEligible::OverdueRenewal);
    }
    reasons.sort_unstable();
    reasons.dedup();
    reasons
}

/// Whether the licence may have an e-licence on `today`; if not, the most serious reason.
pub fn e_licence_eligibility(
    status: &LicenceStatus,
    valid_until: Date,
    today: Date,
) -> Result<(), NotEligible> {
    match e_licence_blockers(status, valid_until, today).first() {
        Some(reason) => Err(*reason),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const UNTIL: Date = date!(2028 - 03 - 07);
    const TODAY: Date = date!(2026 - 06 - 01);

    fn check(letters: &str, today: Date) -> Result<(), NotEligible> {
        e_licence_eligibility(&LicenceStatus::from_letters(letters).unwrap(), UNTIL, today)
    }

    #[test]
    fn a_normal_licence_in_validity_is_eligible() {
        assert_eq!(check("A", TODAY), Ok(()));
        // The last day of validity still counts.
        assert_eq!(check("A", UNTIL), Ok(()));
    }

    #[test]
    fn unhandled_violation_or_accident_does_not_block() {
        assert_eq!(check("H", TODAY), Ok(()));
        assert_eq!(check("I", TODAY), Ok(()));
        assert_eq!(check("HI", TODAY), Ok(()));
    }

    #[test]
    fn each_blocking_code_gives_its_reason() {
        let cases = [
            ("B", NotEligible::OverPoints),
            ("C", NotEligible::TransferredOut),
            ("D", NotEligible::Suspended),
            ("E", NotEligible::Annulled),
            ("F", NotEligible::Revoked),
            ("G", NotEligible::Cancelled),
            ("J", NotEligible::StopUse),
            ("K", NotEligible::UnderInvestigation),
            ("L", NotEligible::Locked),
            ("M", NotEligible::OverdueRenewal),
            ("N", NotEligible::RenewalDeferred),
            ("P", NotEligible::ExamDeferred),
            ("Q", NotEligible::OverdueExam),
            ("R", NotEligible::CancelledRecoverable),
            ("S", NotEligible::OverdueReview),
            ("T", NotEligible::ReviewDeferred),
            ("U", NotEligible::Detained),
            ("Z", NotEligible::OtherStatus),
        ];
        for (letters, reason) in cases {
            assert_eq!(check(letters, TODAY), Err(reason), "{letters}");
        }
    }

    #[test]
    fn every_code_except_a_h_i_blocks() {
        for code in StatusCode::ALL {
            let blocks = NotEligible::for_code(code).is_some();
            let expected = !matches!(
                code,
                StatusCode::Normal | StatusCode::ViolationUnhandled | StatusCode::AccidentUnhandled
            );
            assert_eq!(blocks, expected, "{code}");
        }
    }

    #[test]
    fn a_passed_validity_date_is_overdue_renewal_even_with_status_a() {
        let day_after = date!(2028 - 03 - 08);
        assert_eq!(check("A", day_after), Err(NotEligible::OverdueRenewal));
        assert_eq!(check("H", day_after), Err(NotEligible::OverdueRenewal));
    }

    #[test]
    fn the_most_serious_reason_comes_first_and_repeats_collapse() {
        assert_eq!(check("DM", TODAY), Err(NotEligible::Suspended));
        assert_eq!(check("BDF", TODAY), Err(NotEligible::Revoked));
        let status = LicenceStatus::from_letters("DM").unwrap();
        assert_eq!(
            e_licence_blockers(&status, UNTIL, date!(2029 - 01 - 01)),
            vec![NotEligible::Suspended, NotEligible::OverdueRenewal]
        );
    }

    #[test]
    fn every_reason_has_both_messages() {
        for code in StatusCode::ALL {
            if let Some(reason) = NotEligible::for_code(code) {
                assert!(!reason.reason_zh().is_empty());
                assert!(!reason.reason_en().is_empty());
                assert_eq!(reason.to_string(), reason.reason_en());
            }
        }
    }
}
