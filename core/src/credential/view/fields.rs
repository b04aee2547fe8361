//! Encodings of licence-model fields shared by both views.

use time::OffsetDateTime;

use crate::codec::{DecodeError, Reader, Writer};
use crate::licence::{ClassSet, LicenceStatus};

use super::CredentialError;

/// Vehicle classes as a 3-byte big-endian bitmask (bit i = class i, see `licence`).
pub(super) fn write_classes(w: &mut Writer, classes: ClassSet) {
    let bits = classes.bits();
    debug_assert!(bits < 1 << 24);
    w.raw(&bits.to_be_bytes()[1..]);
}

pub(super) fn read_classes(r: &mut Reader<'_>) -> Result<ClassSet, CredentialError> {
    let b = r.array::<3>("classes")?;
    let bits = u32::from_be_bytes([0, b[0], b[1], b[2]]);
    let classes = ClassSet::from_bits(bits).map_err(|_| DecodeError::BadValue("classes"))?;
    if classes.bits() == 0 {
        return Err(DecodeError::BadValue("classes").into());
    }
    Ok(classes)
}

/// Status codes as their letters in canonical order ("A", "DM"), one-byte length.
pub(super) fn write_status(w: &mut Writer, status: &LicenceStatus) -> Result<(), CredentialError> {
    w.str8("status", &status.letters())?;
    Ok(())
}

pub(super) fn read_status(r: &mut Reader<'_>) -> Result<LicenceStatus, CredentialError> {
    let letters = r.str8("status")?;
    let status =
        LicenceStatus::from_letters(letters).map_err(|_| DecodeError::BadValue("status"))?;
    // Canonical: the letters must be written in the one order `letters()` gives.
    if status.letters() != letters {
        return Err(DecodeError::BadValue("status").into());
    }
    Ok(status)
}

/// A unix time in seconds as the model's UTC date-time.
pub(super) fn datetime(secs: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::from(secs)).expect("every u32 is a valid unix time")
}
