//! Consistency checks for a [`Licence`] received from the authority or decoded from the wire.

use super::error::{Field, LicenceError};
use super::page::Licence;
use super::points::{POINTS_LIMIT, PointsCycle};

/// Longest name accepted, in UTF-8 bytes: 21 Chinese characters, or a long transliterated
/// name. It bounds the size of the signed credential and of the rendered card.
pub const MAX_NAME_BYTES: usize = 64;

/// Longest nationality accepted, in UTF-8 bytes.
pub const MAX_NATIONALITY_BYTES: usize = 64;

/// Longest free text accepted (address, authority, record place and act), in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 256;

/// Length of a licence number.
pub const LICENCE_NUMBER_LEN: usize = 18;

impl Licence {
    /// Checks the licence is internally consistent; the first problem found is returned.
    ///
    /// This does not look at the date (validity or status); see
    /// [`MainPage::e_licence_eligibility`](super::MainPage::e_licence_eligibility). Nor does it
    /// check the citizen ID check digit of the licence number: numbers issued to foreigners
    /// are not citizen ID numbers.
    pub fn validate(&self) -> Result<(), LicenceError> {
        let main = &self.main;
        let supplementary = &self.supplementary;

        check_licence_number(&main.licence_number)?;
        check_name(&main.name)?;
        check_text(&main.nationality, Field::Nationality, MAX_NATIONALITY_BYTES)?;
        if main.classes.is_empty() {
            return Err(LicenceError::Empty(Field::Classes));
        }
        if main.date_of_birth >= main.first_issue {
            return Err(LicenceError::BirthNotBeforeFirstIssue);
        }
        if main.first_issue > main.valid_from {
            return Err(LicenceError::FirstIssueAfterValidity);
        }
        if main.valid_from > main.valid_until {
            return Err(LicenceError::ValidityReversed);
        }

        check_text(&supplementary.address, Field::Address, MAX_TEXT_BYTES)?;
        check_text(
            &supplementary.issuing_authority,
            Field::IssuingAuthority,
            MAX_TEXT_BYTES,
        )?;
        for (index, entry) in supplementary.record.iter().enumerate() {
            // Only bounded, not required: an authority record with a blank place is still a
            // scored offence, and refusing it would hide the points.
            check_len(&entry.place, Field::RecordPlace, MAX_TEXT_BYTES)?;
            check_len(&entry.act, Field::RecordAct, MAX_TEXT_BYTES)?;
            if entry.points > POINTS_LIMIT {
                return Err(LicenceError::EntryPointsTooHigh { index });
            }
        }

        let cycle = &supplementary.cycle;
        // A cycle that starts before first issue is as misaligned as one off the anniversary.
        let expected = PointsCycle::bounds_containing(main.first_issue, cycle.start)
            .map_err(|_| LicenceError::CycleMisaligned)?;
        if expected != (cycle.start, cycle.end) {
            return Err(LicenceError::CycleMisaligned);
        }
        if cycle.points_in(&supplementary.record)? != cycle.points {
            return Err(LicenceError::CyclePointsMismatch);
        }
        Ok(())
    }
}

/// The rule for a holder's name wherever it is shown: non-blank, at most
/// [`MAX_NAME_BYTES`], every character shown as itself. [`Licence::validate`] applies it to
/// the licence; a business view's decoder applies it to the one name it carries (D145).
pub fn check_name(name: &str) -> Result<(), LicenceError> {
    check_text(name, Field::Name, MAX_NAME_BYTES)
}

/// 17 ASCII digits then a digit or upper-case 'X' (the citizen ID layout, GB 11643).
pub fn check_licence_number(number: &str) -> Result<(), LicenceError> {
    if number.is_empty() {
        return Err(LicenceError::Empty(Field::LicenceNumber));
    }
    let bytes = number.as_bytes();
    let well_formed = bytes.len() == LICENCE_NUMBER_LEN
        && bytes[..LICENCE_NUMBER_LEN - 1]
            .iter()
            .all(u8::is_ascii_digit)
        && (bytes[LICENCE_NUMBER_LEN - 1].is_ascii_digit()
            || bytes[LICENCE_NUMBER_LEN - 1] == b'X');
    if well_formed {
        Ok(())
    } else {
        Err(LicenceError::MalformedLicenceNumber)
    }
}

/// Non-blank and at most `max` bytes. Blank counts as empty: a name of spaces is no name.
fn check_text(text: &str, field: Field, max: usize) -> Result<(), LicenceError> {
    if text.trim().is_empty() {
        return Err(LicenceError::Empty(field));
    }
    check_len(text, field, max)
}

/// At most `max` bytes, and nothing that is not shown as itself.
fn check_len(text: &str, field: Field, max: usize) -> Result<(), LicenceError> {
    if text.len() > max {
        Err(LicenceError::TooLong { field, max })
    } else if has_hidden_character(text) {
        Err(LicenceError::HiddenCharacter(field))
    } else {
        Ok(())
    }
}

/// Whether `text` holds a character that is not shown as itself (`is_hidden`): text that
/// would not read on a screen as it was typed. The authority applies the same rule to the
/// other text people read, such as verifier names (D122).
pub fn has_hidden_character(text: &str) -> bool {
    text.chars().any(is_hidden)
}

/// Whether `c` is a character that would not show as itself ([`has_hidden_character`]).
pub fn is_hidden_character(c: char) -> bool {
    is_hidden(c)
}

/// `text` as a screen may show text someone else wrote: each character that would not show
/// as itself ([`has_hidden_character`]) replaced by U+FFFD, so it can neither move a
/// terminal's cursor, break a line, nor turn the text around.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if has_hidden_character(text) {
        text.chars()
            .map(|c| if is_hidden(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// A character that changes how the text around it is shown instead of being shown: a
/// control character (C0, DEL, C1: line breaks and tabs included, every field is one
/// printed line) or a bidirectional formatting character (the marks U+061C, U+200E,
/// U+200F, the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069), and
/// the line and paragraph separators U+2028, U+2029. A name holding U+202E is shown
/// reversed on a verifier's screen and on the card. Joiners (U+200C, U+200D) stay: some
/// scripts need them.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::class::ClassSet;
    use crate::licence::fixtures::{sample_licence, sample_with_name};
    use time::macros::date;

    #[test]
    fn printable_text_keeps_what_shows_and_marks_what_would_not() {
        assert_eq!(printable("张三 Zhang"), "张三 Zhang");
        assert_eq!(
            printable("a\r\x1b[1A\n\u{202E}b"),
            "a\u{FFFD}\u{FFFD}[1A\u{FFFD}\u{FFFD}b"
        );
    }

    const TODAY: time::Date = date!(2026 - 06 - 01);

    fn broken(change: impl FnOnce(&mut Licence)) -> Result<(), LicenceError> {
        let mut licence = sample_licence(TODAY);
        change(&mut licence);
        licence.validate()
    }

    #[test]
    fn the_sample_licence_is_valid() {
        assert_eq!(sample_licence(TODAY).validate(), Ok(()));
        assert_eq!(sample_licence(date!(2012 - 01 - 01)).validate(), Ok(()));
        assert_eq!(sample_licence(date!(2031 - 01 - 01)).validate(), Ok(()));
    }

    #[test]
    fn licence_number_must_be_17_digits_and_a_digit_or_x() {
        assert_eq!(
            broken(|l| l.main.licence_number = "11010119900307123X".into()),
            Ok(())
        );
        for bad in [
            "11010119900307123",
            "1101011990030712345",
            "11010119900307123x",
            "1101011990030712X4",
            "A10101199003071234",
            "１10101199003071234",
            "110101 99003071234",
        ] {
            assert_eq!(
                broken(|l| l.main.licence_number = bad.into()),
                Err(LicenceError::MalformedLicenceNumber),
                "{bad}"
            );
        }
        assert_eq!(
            broken(|l| l.main.licence_number.clear()),
            Err(LicenceError::Empty(Field::LicenceNumber))
        );
    }

    #[test]
    fn name_must_be_present_and_at_most_64_bytes() {
        assert_eq!(
            sample_with_name(TODAY, "").validate(),
            Err(LicenceError::Empty(Field::Name))
        );
        assert_eq!(
            sample_with_name(TODAY, "  ").validate(),
            Err(LicenceError::Empty(Field::Name))
        );
        // 21 three-byte characters fit in 64 bytes, 22 do not.
        assert_eq!(sample_with_name(TODAY, &"张".repeat(21)).validate(), Ok(()));
        assert_eq!(
            sample_with_name(TODAY, &"张".repeat(22)).validate(),
            Err(LicenceError::TooLong {
                field: Field::Name,
                max: 64
            })
        );
        assert_eq!(sample_with_name(TODAY, "买买提·艾力").validate(), Ok(()));
    }

    #[test]
    fn text_holds_no_control_or_bidirectional_formatting_character() {
        // U+202E shows the rest of a name reversed on a verifier's screen; NUL cuts a C
        // string short; a line break splits one printed line in two.
        for (bad, field) in [
            ("张\u{202E}伟", Field::Name),
            ("张\u{2066}伟\u{2069}", Field::Name),
            ("张\u{200F}伟", Field::Name),
            ("张\u{0}伟", Field::Name),
            ("张\u{7F}伟", Field::Name),
            ("张\u{85}伟", Field::Name),
            ("张\u{2028}伟", Field::Name),
        ] {
            assert_eq!(
                sample_with_name(TODAY, bad).validate(),
                Err(LicenceError::HiddenCharacter(field)),
                "{bad:?}"
            );
        }
        assert_eq!(
            broken(|l| l.main.nationality = "中\u{061C}国".into()),
            Err(LicenceError::HiddenCharacter(Field::Nationality))
        );
        assert_eq!(
            broken(|l| l.supplementary.address = "北京市\n东城区".into()),
            Err(LicenceError::HiddenCharacter(Field::Address))
        );
        assert_eq!(
            broken(|l| l.supplementary.issuing_authority = "\t北京".into()),
            Err(LicenceError::HiddenCharacter(Field::IssuingAuthority))
        );
        assert_eq!(
            broken(|l| l.supplementary.record[0].act = "超速\u{202D}".into()),
            Err(LicenceError::HiddenCharacter(Field::RecordAct))
        );
        // Names in other scripts, the middle dot of transliterated names and a zero-width
        // joiner (part of some scripts) stay valid.
        for good in ["买买提·艾力", "Zoë O'Brien-Ng", "ئەخمەت", "क्\u{200D}ष"] {
            assert_eq!(sample_with_name(TODAY, good).validate(), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn other_text_fields_must_be_present_and_bounded() {
        assert_eq!(
            broken(|l| l.main.nationality.clear()),
            Err(LicenceError::Empty(Field::Nationality))
        );
        assert_eq!(
            broken(|l| l.supplementary.address = "x".repeat(257)),
            Err(LicenceError::TooLong {
                field: Field::Address,
                max: 256
            })
        );
        assert_eq!(
            broken(|l| l.supplementary.issuing_authority.clear()),
            Err(LicenceError::Empty(Field::IssuingAuthority))
        );
        assert_eq!(broken(|l| l.supplementary.record[0].place.clear()), Ok(()));
        assert_eq!(
            broken(|l| l.supplementary.record[0].place = "路".repeat(86)),
            Err(LicenceError::TooLong {
                field: Field::RecordPlace,
                max: 256
            })
        );
        assert_eq!(
            broken(|l| l.supplementary.record[1].act = "x".repeat(257)),
            Err(LicenceError::TooLong {
                field: Field::RecordAct,
                max: 256
            })
        );
    }

    #[test]
    fn classes_must_not_be_empty() {
        assert_eq!(
            broken(|l| l.main.classes = ClassSet::EMPTY),
            Err(LicenceError::Empty(Field::Classes))
        );
    }

    #[test]
    fn dates_must_be_in_order() {
        assert_eq!(
            broken(|l| l.main.valid_until = date!(2018 - 03 - 06)),
            Err(LicenceError::ValidityReversed)
        );
        assert_eq!(
            broken(|l| l.main.valid_from = date!(2012 - 03 - 06)),
            Err(LicenceError::FirstIssueAfterValidity)
        );
        assert_eq!(
            broken(|l| l.main.date_of_birth = l.main.first_issue),
            Err(LicenceError::BirthNotBeforeFirstIssue)
        );
    }

    #[test]
    fn an_entry_cannot_carry_more_than_twelve_points() {
        assert_eq!(
            broken(|l| l.supplementary.record[1].points = 13),
            Err(LicenceError::EntryPointsTooHigh { index: 1 })
        );
    }

    #[test]
    fn cycle_must_sit_on_first_issue_anniversaries() {
        assert_eq!(
            broken(|l| l.supplementary.cycle.start = date!(2026 - 03 - 08)),
            Err(LicenceError::CycleMisaligned)
        );
        assert_eq!(
            broken(|l| l.supplementary.cycle.end = date!(2027 - 03 - 07)),
            Err(LicenceError::CycleMisaligned)
        );
        assert_eq!(
            broken(|l| {
                l.supplementary.cycle.start = date!(2011 - 03 - 07);
                l.supplementary.cycle.end = date!(2012 - 03 - 06);
            }),
            Err(LicenceError::CycleMisaligned)
        );
    }

    #[test]
    fn cycle_points_must_match_the_record() {
        assert_eq!(
            broken(|l| l.supplementary.cycle.points = 8),
            Err(LicenceError::CyclePointsMismatch)
        );
        assert_eq!(
            broken(|l| l.supplementary.record[0].points = 2),
            Err(LicenceError::CyclePointsMismatch)
        );
        assert_eq!(
            broken(|l| l.supplementary.record[0].handled = false),
            Ok(())
        );
    }

    #[test]
    fn a_record_summing_past_255_points_is_rejected() {
        assert_eq!(
            broken(|l| {
                let mut entry = l.supplementary.record[0].clone();
                entry.points = 12;
                l.supplementary.record = vec![entry; 22];
            }),
            Err(LicenceError::PointsOverflow)
        );
    }

    #[test]
    fn error_messages_name_the_field_not_the_value() {
        let err = sample_with_name(TODAY, &"张".repeat(22))
            .validate()
            .unwrap_err();
        let message = err.to_string();
        assert_eq!(message, "name is longer than 64 bytes");
        assert!(!message.contains('张'));
        let err = broken(|l| l.main.licence_number = "1101011990030712".into()).unwrap_err();
        assert!(!err.to_string().contains("1101"));
    }
}
