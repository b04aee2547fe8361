//! [`StatusCode`]: one status letter, its labels, its wire bit and what it forbids.

use std::fmt;

use crate::licence::error::LicenceError;

/// One licence status code (驾驶证状态).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusCode {
    /// A 正常: no other code applies.
    Normal,
    /// B 超分: 12 or more points in the current scoring cycle.
    OverPoints,
    /// C 转出: the licence's file was transferred to another authority.
    TransferredOut,
    /// D 暂扣: suspended for a fixed period.
    Suspended,
    /// E 撤销: the licence was annulled because it was obtained improperly.
    Annulled,
    /// F 吊销: revoked as a penalty.
    Revoked,
    /// G 注销: cancelled (death, request, medical unfitness, or overdue beyond recovery).
    Cancelled,
    /// H 违法未处理: a traffic violation has not been dealt with.
    ViolationUnhandled,
    /// I 事故未处理: a traffic accident has not been dealt with.
    AccidentUnhandled,
    /// J 停止使用: the licence must not be used.
    StopUse,
    /// K 协查: another authority has asked for assistance concerning the holder.
    ///
    /// Some systems label K 扣押 (seized) instead, under which driving is forbidden (实施条例
    /// 第28条). Both mean the licence is held up by an authority, so the handling here is
    /// the same, and it is the stricter one: K forbids driving (D152).
    Investigation,
    /// L 锁定: locked by the authority.
    Locked,
    /// M 逾期未换证: the licence expired and has not been renewed.
    OverdueRenewal,
    /// N 延期换证: renewal has been deferred.
    RenewalDeferred,
    /// P 延期体检: the medical examination has been deferred.
    ExamDeferred,
    /// Q 逾期未体检: the periodic medical examination is overdue.
    ///
    /// Uncertain letter: older systems used R for 逾期未体检, while current ones use R for
    /// 注销可恢复 and list no letter for an overdue examination at all. Q is used here so both
    /// states stay distinct; an authority feed must be mapped to it explicitly.
    OverdueExam,
    /// R 注销可恢复: cancelled, but restorable (e.g. by passing the theory test again
    /// within the recovery period).
    CancelledRecoverable,
    /// S 逾期未审验: the periodic review (审验) is overdue.
    OverdueReview,
    /// T 延期审验: the periodic review has been deferred.
    ReviewDeferred,
    /// U 扣留: the card has been detained by the police.
    Detained,
    /// Z 其他: another status not covered by the letters above.
    Other,
}

use StatusCode::*;

impl StatusCode {
    /// Every code, in letter (and so canonical) order.
    pub const ALL: [Self; 21] = [
        Normal,
        OverPoints,
        TransferredOut,
        Suspended,
        Annulled,
        Revoked,
        Cancelled,
        ViolationUnhandled,
        AccidentUnhandled,
        StopUse,
        Investigation,
        Locked,
        OverdueRenewal,
        RenewalDeferred,
        ExamDeferred,
        OverdueExam,
        CancelledRecoverable,
        OverdueReview,
        ReviewDeferred,
        Detained,
        Other,
    ];

    /// The code's letter, e.g. 'D' for 暂扣.
    pub const fn letter(self) -> char {
        match self {
            Normal => 'A',
            OverPoints => 'B',
            TransferredOut => 'C',
            Suspended => 'D',
            Annulled => 'E',
            Revoked => 'F',
            Cancelled => 'G',
            ViolationUnhandled => 'H',
            AccidentUnhandled => 'I',
            StopUse => 'J',
            Investigation => 'K',
            Locked => 'L',
            OverdueRenewal => 'M',
            RenewalDeferred => 'N',
            ExamDeferred => 'P',
            OverdueExam => 'Q',
            CancelledRecoverable => 'R',
            OverdueReview => 'S',
            ReviewDeferred => 'T',
            Detained => 'U',
            Other => 'Z',
        }
    }

    /// The code with this letter (upper case only). An error reports position 0; see
    /// [`LicenceStatus::from_letters`](super::LicenceStatus::from_letters) for positions within a string.
    pub fn from_letter(letter: char) -> Result<Self, LicenceError> {
        Self::ALL
            .into_iter()
            .find(|code| code.letter() == letter)
            .ok_or(LicenceError::UnknownStatusLetter { at: 0 })
    }

    /// The Chinese label, as shown by 交管12123.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Normal => "正常",
            OverPoints => "超分",
            TransferredOut => "转出",
            Suspended => "暂扣",
            Annulled => "撤销",
            Revoked => "吊销",
            Cancelled => "注销",
            ViolationUnhandled => "违法未处理",
            AccidentUnhandled => "事故未处理",
            StopUse => "停止使用",
            Investigation => "协查",
            Locked => "锁定",
            OverdueRenewal => "逾期未换证",
            RenewalDeferred => "延期换证",
            ExamDeferred => "延期体检",
            OverdueExam => "逾期未体检",
            CancelledRecoverable => "注销可恢复",
            OverdueReview => "逾期未审验",
            ReviewDeferred => "延期审验",
            Detained => "扣留",
            Other => "其他",
        }
    }

    /// An English label.
    pub const fn label_en(self) -> &'static str {
        match self {
            Normal => "Normal",
            OverPoints => "Points limit reached",
            TransferredOut => "Transferred out",
            Suspended => "Suspended",
            Annulled => "Annulled",
            Revoked => "Revoked",
            Cancelled => "Cancelled",
            ViolationUnhandled => "Violation not dealt with",
            AccidentUnhandled => "Accident not dealt with",
            StopUse => "Use stopped",
            Investigation => "Under investigation",
            Locked => "Locked",
            OverdueRenewal => "Renewal overdue",
            RenewalDeferred => "Renewal deferred",
            ExamDeferred => "Medical examination deferred",
            OverdueExam => "Medical examination overdue",
            CancelledRecoverable => "Cancelled, recoverable",
            OverdueReview => "Review overdue",
            ReviewDeferred => "Review deferred",
            Detained => "Detained",
            Other => "Other",
        }
    }

    /// The code's bit in [`LicenceStatus::bits`](super::LicenceStatus::bits): its letter's index in the alphabet
    /// (B = 1 … Z = 25). Normal (A, bit 0) is never stored: it is the empty set.
    ///
    /// This is a wire format and is frozen, like the letters themselves.
    pub const fn bit(self) -> u8 {
        self.letter() as u8 - b'A'
    }

    /// Whether the code by itself forbids driving: what the letter says of the holder's
    /// right to drive, which [`LicenceStatus::may_drive`](super::LicenceStatus::may_drive)
    /// reports.
    ///
    /// Whether this e-licence is in force is another question, answered by the eligibility
    /// table ([`NotEligible::for_code`](crate::licence::NotEligible::for_code)): a verifier
    /// decides on in force, never on `may_drive` alone. The two agree on every letter but C.
    ///
    /// H and I (an unhandled violation or accident) block business at the 车管所 but the
    /// licence stays in force. C (transferred out) moves the file, not the right to drive:
    /// the holder drives on under the new registry, so C does not forbid driving, while this
    /// e-licence is superseded (the new authority issues the next one), so C is not in force.
    /// K (协查) forbids driving: some systems label it 扣押 (seized), under which driving is
    /// forbidden, and a verifier must not wave through a letter whose meaning differs
    /// between systems (D152). Deferrals (N, P, T) forbid driving: the regulation says the
    /// holder may not drive while a deferral runs. Z (other) is unknown, so it is treated as
    /// forbidding, since a verifier must not wave through what it cannot interpret.
    pub const fn forbids_driving(self) -> bool {
        match self {
            Normal | TransferredOut | ViolationUnhandled | AccidentUnhandled => false,
            OverPoints | Suspended | Annulled | Revoked | Cancelled | StopUse | Investigation
            | Locked | OverdueRenewal | RenewalDeferred | ExamDeferred | OverdueExam
            | CancelledRecoverable | OverdueReview | ReviewDeferred | Detained | Other => true,
        }
    }

    /// Whether the code means the licence no longer exists as a licence (E, F, G, R).
    pub const fn ends_licence(self) -> bool {
        matches!(self, Annulled | Revoked | Cancelled | CancelledRecoverable)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}
