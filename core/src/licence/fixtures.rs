//! A realistic, fictitious licence for tests, benches and the demo.
//!
//! Behind the `test-support` feature rather than `cfg(test)` because other crates' tests and
//! the CLI's demo use it; the phone library is built without it. The holder does not
//! exist; the licence number has the right shape but deliberately fails the citizen ID check
//! digit, so it cannot collide with a real person's.

use time::macros::date;
use time::{Date, Time};

use super::class::{ClassSet, VehicleClass};
use super::page::{Licence, MainPage, Sex, SupplementaryPage};
use super::points::{PointsCycle, RecordEntry};
use super::status::LicenceStatus;

/// SHA-256 of the ASCII bytes `EDL sample photo`, standing in for the approved photo.
pub const SAMPLE_PHOTO_DIGEST: [u8; 32] = [
    0x6a, 0xd0, 0x94, 0xcf, 0x26, 0xd1, 0xab, 0xe8, 0xa3, 0xb5, 0x7a, 0x08, 0xaf, 0xb2, 0xbb, 0xba,
    0x74, 0xac, 0xff, 0xaa, 0x68, 0xfa, 0x62, 0x55, 0x37, 0x68, 0x1d, 0x00, 0x53, 0x1d, 0x85, 0xe7,
];

/// The sample holder's name.
pub const SAMPLE_NAME: &str = "张伟";

/// The sample licence number.
pub const SAMPLE_LICENCE_NUMBER: &str = "110101199003071234";

/// The sample licence as seen on `today`: 张伟, C1, first issued 2012-03-07, valid
/// 2018-03-07 to 2028-03-07, status normal, generated at midnight UTC on `today`.
///
/// The record holds the sample offences dated on or before `today` (none happen in the
/// future), and the scoring cycle is the one containing `today`, with its points summed from
/// that record. Before the first issue date the cycle is the first one. The result always
/// passes [`Licence::validate`].
pub fn sample_licence(today: Date) -> Licence {
    sample_with_name(today, SAMPLE_NAME)
}

/// [`sample_licence`] with another holder name (which may be invalid, for tests of
/// validation).
pub fn sample_with_name(today: Date, name: &str) -> Licence {
    let first_issue = date!(2012 - 03 - 07);
    let record: Vec<RecordEntry> = sample_record()
        .into_iter()
        .filter(|entry| entry.date <= today)
        .collect();
    // Clamped so the cycle and its successor's anniversary stay inside the calendar; with
    // that and nine points at most, computing the cycle cannot fail.
    let cycle_day = today.clamp(first_issue, date!(9998 - 12 - 31));
    let cycle = PointsCycle::containing(first_issue, cycle_day, &record)
        .expect("the sample's cycle is in range and its points are few");

    Licence {
        main: MainPage {
            licence_number: SAMPLE_LICENCE_NUMBER.into(),
            name: name.into(),
            sex: Sex::Male,
            nationality: "中国".into(),
            date_of_birth: date!(1990 - 03 - 07),
            classes: ClassSet::from_iter([VehicleClass::C1]),
            first_issue,
            valid_from: date!(2018 - 03 - 07),
            valid_until: date!(2028 - 03 - 07),
            status: LicenceStatus::normal(),
            photo_digest: SAMPLE_PHOTO_DIGEST,
            generated_at: today.with_time(Time::MIDNIGHT).assume_utc(),
        },
        supplementary: SupplementaryPage {
            address: "北京市东城区东华门街道正义路2号".into(),
            issuing_authority: "北京市公安局公安交通管理局".into(),
            record,
            cycle,
        },
    }
}

/// Every offence of the sample holder, oldest first.
fn sample_record() -> Vec<RecordEntry> {
    vec![
        RecordEntry {
            date: date!(2026 - 04 - 02),
            place: "北京市海淀区中关村大街".into(),
            act: "驾驶机动车行经人行横道，未按规定减速、停车、避让行人的".into(),
            points: 3,
            fine_yuan: 200,
            handled: true,
        },
        RecordEntry {
            date: date!(2026 - 05 - 12),
            place: "北京市朝阳区建国路".into(),
            act: "驾驶机动车违反道路交通信号灯通行的".into(),
            points: 6,
            fine_yuan: 200,
            handled: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn photo_digest_is_the_sha256_it_claims_to_be() {
        let digest: [u8; 32] = Sha256::digest(b"EDL sample photo").into();
        assert_eq!(digest, SAMPLE_PHOTO_DIGEST);
    }

    #[test]
    fn sample_counts_both_offences_in_the_2026_cycle() {
        let licence = sample_licence(date!(2026 - 11 - 25));
        let cycle = &licence.supplementary.cycle;
        assert_eq!(
            (cycle.start, cycle.end),
            (date!(2026 - 03 - 07), date!(2027 - 03 - 06))
        );
        assert_eq!(cycle.points, 9);
        assert_eq!(licence.supplementary.record.len(), 2);
    }

    #[test]
    fn sample_has_no_offences_from_the_future() {
        let licence = sample_licence(date!(2026 - 05 - 01));
        assert_eq!(licence.supplementary.record.len(), 1);
        assert_eq!(licence.supplementary.cycle.points, 3);
    }

    #[test]
    fn sample_in_a_later_cycle_has_zero_points() {
        let licence = sample_licence(date!(2027 - 04 - 01));
        assert_eq!(licence.supplementary.cycle.points, 0);
        assert_eq!(licence.supplementary.record.len(), 2);
    }

    #[test]
    fn sample_for_extreme_days_does_not_panic() {
        assert_eq!(sample_licence(Date::MIN).validate(), Ok(()));
        assert_eq!(sample_licence(Date::MAX).validate(), Ok(()));
    }

    #[test]
    fn sample_check_digit_is_deliberately_wrong() {
        // GB 11643: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 → 'X'.
        let digits = SAMPLE_LICENCE_NUMBER.as_bytes();
        let sum: u32 = (0..17)
            .map(|i| u32::from(digits[i] - b'0') * ((1u32 << (17 - i)) % 11))
            .sum();
        let check = (12 - sum % 11) % 11;
        assert_ne!(u32::from(digits[17] - b'0'), check);
    }
}
