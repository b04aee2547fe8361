//! Licence status codes (驾驶证状态) and the set of them a licence carries.
//!
//! The authority's record gives a licence's status as one or more letters, e.g. "A" or "DM"
//! (暂扣 + 逾期未换证); "A" (正常) means no other code applies.
//!
//! The letters follow those in use in the traffic management systems. Public sources disagree
//! in two places, noted on [`StatusCode::Investigation`] and [`StatusCode::OverdueExam`].

use std::fmt;

use super::error::LicenceError;

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
    /// Some systems label K 扣押 (seized) instead; both mean the licence is held up by an
    /// authority, so the handling here is the same.
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
    /// [`LicenceStatus::from_letters`] for positions within a string.
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

    /// The code's bit in [`LicenceStatus::bits`]: its letter's index in the alphabet
    /// (B = 1 … Z = 25). Normal (A, bit 0) is never stored: it is the empty set.
    ///
    /// This is a wire format and is frozen, like the letters themselves.
    pub const fn bit(self) -> u8 {
        self.letter() as u8 - b'A'
    }

    /// Whether the code by itself forbids driving.
    ///
    /// H and I (an unhandled violation or accident) block business at the 车管所 but the
    /// licence stays in force. C (transferred out) moves the file, not the right to drive.
    /// K (协查) flags the holder for another authority without withdrawing the licence.
    /// Deferrals (N, P, T) forbid driving: the regulation says the holder may not drive while a
    /// deferral runs. Z (other) is unknown, so it is treated as forbidding, since a verifier
    /// must not wave through what it cannot interpret.
    pub const fn forbids_driving(self) -> bool {
        match self {
            Normal | TransferredOut | ViolationUnhandled | AccidentUnhandled | Investigation => {
                false
            }
            OverPoints | Suspended | Annulled | Revoked | Cancelled | StopUse | Locked
            | OverdueRenewal | RenewalDeferred | ExamDeferred | OverdueExam
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

/// How the e-licence shows a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StatusColour {
    /// Status normal: shown in black.
    Black,
    /// Shown in red: the licence exists but carries a code a driver or verifier must notice,
    /// whether or not it forbids driving (see [`LicenceStatus::may_drive`]).
    Red,
    /// Not shown at all: the licence has ceased to exist (annulled, revoked, cancelled,
    /// including cancelled-but-recoverable).
    Hidden,
}

/// The set of status codes a licence carries; normal (A) is the empty set.
///
/// Keeping "normal" as the absence of codes makes "A combined with D" unrepresentable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LicenceStatus(u32);

impl LicenceStatus {
    /// Bits that name a code other than A.
    const VALID_BITS: u32 = {
        let mut bits = 0;
        let mut i = 1;
        while i < StatusCode::ALL.len() {
            bits |= 1 << StatusCode::ALL[i].bit();
            i += 1;
        }
        bits
    };

    /// A normal licence (A 正常).
    pub const fn normal() -> Self {
        Self(0)
    }

    /// Parses the letters as given by the authority, e.g. "A" or "DM".
    ///
    /// Accepts only the canonical form: upper-case letters, each once, in alphabetical
    /// order, and "A" only on its own. One status has exactly one string, so the string can be
    /// compared or signed as it stands.
    pub fn from_letters(letters: &str) -> Result<Self, LicenceError> {
        if letters.is_empty() {
            return Err(LicenceError::EmptyStatus);
        }
        let mut codes = Vec::new();
        for (at, letter) in letters.chars().enumerate() {
            let code = StatusCode::from_letter(letter)
                .map_err(|_| LicenceError::UnknownStatusLetter { at })?;
            codes.push(code);
        }
        if codes.contains(&Normal) {
            return if codes.len() == 1 {
                Ok(Self::normal())
            } else {
                Err(LicenceError::NormalWithOtherCodes)
            };
        }
        if codes.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(LicenceError::StatusNotCanonical);
        }
        Ok(codes.into_iter().collect())
    }

    /// The canonical letters: "A" when normal, else the codes in alphabetical order.
    pub fn letters(self) -> String {
        self.codes().map(StatusCode::letter).collect()
    }

    /// The codes, in letter order; just [`StatusCode::Normal`] when normal.
    pub fn codes(self) -> impl Iterator<Item = StatusCode> {
        let normal = self.is_normal();
        StatusCode::ALL
            .into_iter()
            .filter(move |code| self.contains(*code) || (normal && *code == Normal))
    }

    /// Whether the status includes `code`; [`StatusCode::Normal`] only when no other code
    /// applies.
    pub const fn contains(self, code: StatusCode) -> bool {
        match code {
            Normal => self.is_normal(),
            _ => self.0 & (1 << code.bit()) != 0,
        }
    }

    /// Adds `code`; returns whether the status changed.
    ///
    /// Inserting [`StatusCode::Normal`] changes nothing: normal is the absence of codes, not a
    /// code to add. Use [`normal`](Self::normal) to clear a status.
    pub fn insert(&mut self, code: StatusCode) -> bool {
        if code == Normal || self.contains(code) {
            return false;
        }
        self.0 |= 1 << code.bit();
        true
    }

    /// Removes `code`; returns whether the status changed. Removing the last code leaves the
    /// status normal.
    pub fn remove(&mut self, code: StatusCode) -> bool {
        if code == Normal || !self.contains(code) {
            return false;
        }
        self.0 &= !(1 << code.bit());
        true
    }

    /// Whether the status is A 正常.
    pub const fn is_normal(self) -> bool {
        self.0 == 0
    }

    /// The status's bitmask of [`StatusCode::bit`]s; 0 when normal.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The status with this bitmask. Rejects bit 0 (A is stored as no bits) and bits of
    /// letters that are not codes.
    pub const fn from_bits(bits: u32) -> Result<Self, LicenceError> {
        if bits & !Self::VALID_BITS == 0 {
            Ok(Self(bits))
        } else {
            Err(LicenceError::UnknownStatusBits)
        }
    }

    /// Whether the status alone lets the holder drive: no code forbids it (see
    /// [`StatusCode::forbids_driving`]). This ignores the validity date, which a verifier
    /// checks separately.
    pub fn may_drive(self) -> bool {
        self.codes().all(|code| !code.forbids_driving())
    }

    /// How the e-licence shows this status: black when normal, hidden when a code ends the
    /// licence, red for everything else, including codes that do not forbid driving (H, I, C,
    /// K), because they still need the holder's or a verifier's attention.
    pub fn colour(self) -> StatusColour {
        if self.is_normal() {
            StatusColour::Black
        } else if self.codes().any(StatusCode::ends_licence) {
            StatusColour::Hidden
        } else {
            StatusColour::Red
        }
    }

    /// The Chinese labels joined, e.g. "暂扣、逾期未换证".
    pub fn label_zh(self) -> String {
        self.codes()
            .map(StatusCode::label_zh)
            .collect::<Vec<_>>()
            .join("、")
    }

    /// The English labels joined, e.g. "Suspended, Renewal overdue".
    pub fn label_en(self) -> String {
        self.codes()
            .map(StatusCode::label_en)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl FromIterator<StatusCode> for LicenceStatus {
    /// Collects codes; [`StatusCode::Normal`] entries add nothing.
    fn from_iter<I: IntoIterator<Item = StatusCode>>(iter: I) -> Self {
        let mut status = Self::normal();
        for code in iter {
            status.insert(code);
        }
        status
    }
}

impl fmt::Display for LicenceStatus {
    /// The canonical letters, e.g. "A" or "DM".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for code in self.codes() {
            write!(f, "{}", code.letter())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LicenceStatus {
    type Err = LicenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_letters(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(letters: &str) -> LicenceStatus {
        LicenceStatus::from_letters(letters).unwrap()
    }

    #[test]
    fn every_code_letter_round_trips() {
        for code in StatusCode::ALL {
            assert_eq!(StatusCode::from_letter(code.letter()), Ok(code));
            assert!(!code.label_zh().is_empty() && !code.label_en().is_empty());
        }
        let letters: String = StatusCode::ALL.iter().map(|c| c.letter()).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNPQRSTUZ");
    }

    #[test]
    fn letters_outside_the_table_are_rejected() {
        for letter in ['O', 'V', 'W', 'X', 'Y', 'a', 'd', '1', '正', ' '] {
            assert!(StatusCode::from_letter(letter).is_err(), "{letter}");
        }
    }

    #[test]
    fn labels_match_the_official_names() {
        assert_eq!(StatusCode::Suspended.label_zh(), "暂扣");
        assert_eq!(StatusCode::CancelledRecoverable.label_zh(), "注销可恢复");
        assert_eq!(StatusCode::OverdueReview.letter(), 'S');
        assert_eq!(status("DM").label_zh(), "暂扣、逾期未换证");
        assert_eq!(status("DM").label_en(), "Suspended, Renewal overdue");
        assert_eq!(LicenceStatus::normal().label_zh(), "正常");
    }

    #[test]
    fn normal_is_a_and_has_no_other_code() {
        let normal = LicenceStatus::normal();
        assert!(normal.is_normal());
        assert_eq!(normal.letters(), "A");
        assert_eq!(normal.codes().collect::<Vec<_>>(), vec![StatusCode::Normal]);
        assert!(normal.contains(StatusCode::Normal));
        assert_eq!(status("A"), normal);
        assert_eq!(normal.bits(), 0);
    }

    #[test]
    fn letters_round_trip_in_canonical_order() {
        let dm = status("DM");
        assert_eq!(dm.letters(), "DM");
        assert_eq!(dm.to_string(), "DM");
        assert!(dm.contains(StatusCode::Suspended));
        assert!(dm.contains(StatusCode::OverdueRenewal));
        assert!(!dm.contains(StatusCode::Normal));
        let built: LicenceStatus = [StatusCode::OverdueRenewal, StatusCode::Suspended]
            .into_iter()
            .collect();
        assert_eq!(built.letters(), "DM");
        assert_eq!(status("BDJ").letters(), "BDJ");
    }

    #[test]
    fn a_combined_with_another_letter_is_rejected() {
        for s in ["AD", "DA", "AA", "ADM"] {
            assert_eq!(
                LicenceStatus::from_letters(s),
                Err(LicenceError::NormalWithOtherCodes),
                "{s}"
            );
        }
    }

    #[test]
    fn empty_unknown_repeated_or_unordered_letters_are_rejected() {
        assert_eq!(
            LicenceStatus::from_letters(""),
            Err(LicenceError::EmptyStatus)
        );
        assert_eq!(
            LicenceStatus::from_letters("DX"),
            Err(LicenceError::UnknownStatusLetter { at: 1 })
        );
        assert_eq!(
            LicenceStatus::from_letters("d"),
            Err(LicenceError::UnknownStatusLetter { at: 0 })
        );
        assert_eq!(
            LicenceStatus::from_letters("D M"),
            Err(LicenceError::UnknownStatusLetter { at: 1 })
        );
        assert_eq!(
            LicenceStatus::from_letters("MD"),
            Err(LicenceError::StatusNotCanonical)
        );
        assert_eq!(
            LicenceStatus::from_letters("DD"),
            Err(LicenceError::StatusNotCanonical)
        );
    }

    #[test]
    fn removing_the_last_code_leaves_normal() {
        let mut s = status("DM");
        assert!(s.remove(StatusCode::Suspended));
        assert!(!s.remove(StatusCode::Suspended));
        assert_eq!(s.letters(), "M");
        assert!(s.remove(StatusCode::OverdueRenewal));
        assert!(s.is_normal());
        assert_eq!(s.letters(), "A");
    }

    #[test]
    fn inserting_normal_changes_nothing() {
        let mut s = status("D");
        assert!(!s.insert(StatusCode::Normal));
        assert_eq!(s.letters(), "D");
        assert!(s.insert(StatusCode::Detained));
        assert!(!s.insert(StatusCode::Detained));
        assert_eq!(s.letters(), "DU");
        let mut n = LicenceStatus::normal();
        assert!(!n.remove(StatusCode::Normal));
        assert!(n.is_normal());
    }

    #[test]
    fn colour_is_black_only_when_normal() {
        assert_eq!(LicenceStatus::normal().colour(), StatusColour::Black);
        for s in [
            "B", "D", "DM", "H", "I", "C", "J", "K", "L", "M", "N", "P", "Q", "S", "T", "U", "Z",
        ] {
            assert_eq!(status(s).colour(), StatusColour::Red, "{s}");
        }
    }

    #[test]
    fn colour_is_hidden_when_the_licence_has_ended() {
        for s in ["E", "F", "G", "R", "DF", "BGM"] {
            assert_eq!(status(s).colour(), StatusColour::Hidden, "{s}");
        }
    }

    #[test]
    fn may_drive_with_unhandled_business_but_not_when_suspended_or_deferred() {
        for s in ["A", "H", "I", "HI", "C", "K"] {
            assert!(status(s).may_drive(), "{s}");
        }
        for s in [
            "B", "D", "E", "F", "G", "J", "L", "M", "N", "P", "Q", "R", "S", "T", "U", "Z", "DH",
        ] {
            assert!(!status(s).may_drive(), "{s}");
        }
    }

    #[test]
    fn from_bits_rejects_normal_bit_and_unused_letters() {
        assert_eq!(LicenceStatus::from_bits(0), Ok(LicenceStatus::normal()));
        assert_eq!(
            LicenceStatus::from_bits(status("DM").bits()),
            Ok(status("DM"))
        );
        assert_eq!(status("D").bits(), 1 << 3);
        for bad_letter in ['A', 'O', 'V', 'W', 'X', 'Y'] {
            let bit = bad_letter as u32 - 'A' as u32;
            assert_eq!(
                LicenceStatus::from_bits(1 << bit),
                Err(LicenceError::UnknownStatusBits),
                "{bad_letter}"
            );
        }
        assert_eq!(
            LicenceStatus::from_bits(1 << 26),
            Err(LicenceError::UnknownStatusBits)
        );
    }

    proptest! {
        #[test]
        fn from_letters_never_panics_and_accepts_only_canonical_strings(s in ".{0,8}") {
            if let Ok(parsed) = LicenceStatus::from_letters(&s) {
                prop_assert_eq!(parsed.letters(), s);
            }
        }

        #[test]
        fn from_letters_on_letter_soup_never_panics(s in "[A-Z]{0,6}") {
            if let Ok(parsed) = LicenceStatus::from_letters(&s) {
                prop_assert_eq!(parsed.letters(), s);
            }
        }

        #[test]
        fn every_valid_status_round_trips(bits in any::<u32>()) {
            match LicenceStatus::from_bits(bits) {
                Ok(status) => {
                    prop_assert_eq!(status.bits(), bits);
                    prop_assert_eq!(LicenceStatus::from_letters(&status.letters()), Ok(status));
                }
                Err(e) => prop_assert_eq!(e, LicenceError::UnknownStatusBits),
            }
        }

        #[test]
        fn valid_statuses_round_trip(mask in any::<u32>()) {
            let status = LicenceStatus::from_bits(mask & LicenceStatus::VALID_BITS).unwrap();
            prop_assert_eq!(LicenceStatus::from_letters(&status.letters()), Ok(status));
        }
    }
}
