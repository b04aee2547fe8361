//! The status codes and sets: letters, labels, canonical form, colour.

use super::*;
use crate::licence::error::LicenceError;
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
fn may_drive_with_unhandled_business_but_not_when_suspended_deferred_or_held_up() {
    for s in ["A", "H", "I", "HI", "C"] {
        assert!(status(s).may_drive(), "{s}");
    }
    for s in [
        "B", "D", "E", "F", "G", "J", "K", "L", "M", "N", "P", "Q", "R", "S", "T", "U", "Z", "DH",
        "HK", "CK",
    ] {
        assert!(!status(s).may_drive(), "{s}");
    }
}

#[test]
fn only_a_transfer_lets_the_holder_drive_where_the_e_licence_is_not_in_force() {
    // `may_drive` crosses the FFI beside the eligibility's `in_force`: a verifier reading
    // either must not hear "yes" where the other says "no", save for C, whose right to
    // drive goes on under the new registry while this e-licence is superseded.
    for code in StatusCode::ALL {
        let not_in_force = crate::licence::NotEligible::for_code(code).is_some();
        if not_in_force && code != StatusCode::TransferredOut {
            assert!(code.forbids_driving(), "{code}");
        }
        if code.forbids_driving() {
            assert!(not_in_force, "{code}");
        }
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
