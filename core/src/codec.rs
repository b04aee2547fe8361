//! The compact binary codec of every signed object and QR payload.
//!
//! Fixed-width big-endian integers, length-prefixed UTF-8 and byte strings, and dates as
//! days since 1900-01-01. Each field has exactly one encoding and decoding must consume
//! every byte, so the encoding is canonical: one byte changed means the signed bytes
//! changed. Why not CBOR: see `docs/DECISIONS.md` (QR size). Layouts: `docs/PROTOCOL.md`.

use time::{Date, Duration, macros::date};

/// Why bytes could not be decoded. Never carries the bytes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("input ends inside field `{0}`")]
    Truncated(&'static str),
    /// Bytes were left after the last field.
    #[error("{0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// A text field is not UTF-8.
    #[error("field `{0}` is not UTF-8")]
    BadUtf8(&'static str),
    /// A field holds a value the format does not allow.
    #[error("field `{0}` holds a value the format does not allow")]
    BadValue(&'static str),
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A text or list is longer than its length prefix can say.
    #[error("field `{0}` is too long for its length prefix")]
    TooLong(&'static str),
    /// A date outside 1900-01-01..=2079-06-05 (and not the long-term marker).
    #[error("field `{0}` holds a date the format cannot carry")]
    DateOutOfRange(&'static str),
}

/// The first day a date field can carry.
pub const DATE_EPOCH: Date = date!(1900 - 01 - 01);
/// "长期": a validity with no end. Encoded as `0xFFFF`.
pub const LONG_TERM: Date = date!(9999 - 12 - 31);
const LONG_TERM_CODE: u16 = 0xFFFF;

/// Appends fields to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Big-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Raw bytes of a fixed-size field.
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// UTF-8 text with a one-byte length (≤ 255 bytes).
    pub fn str8(&mut self, field: &'static str, v: &str) -> Result<&mut Self, EncodeError> {
        let len = u8::try_from(v.len()).map_err(|_| EncodeError::TooLong(field))?;
        self.u8(len).raw(v.as_bytes());
        Ok(self)
    }

    /// Bytes with a two-byte length (≤ 65535 bytes).
    pub fn bytes16(&mut self, field: &'static str, v: &[u8]) -> Result<&mut Self, EncodeError> {
        let len = u16::try_from(v.len()).map_err(|_| EncodeError::TooLong(field))?;
        self.u16(len).raw(v);
        Ok(self)
    }

    /// A date as u16 days since 1900-01-01; [`LONG_TERM`] as `0xFFFF`.
    pub fn date(&mut self, field: &'static str, d: Date) -> Result<&mut Self, EncodeError> {
        Ok(self.u16(date_code(field, d)?))
    }
}

/// The u16 code of a date (see [`Writer::date`]).
pub fn date_code(field: &'static str, d: Date) -> Result<u16, EncodeError> {
    if d == LONG_TERM {
        return Ok(LONG_TERM_CODE);
    }
    let days = (d - DATE_EPOCH).whole_days();
    match u16::try_from(days) {
        Ok(code) if code != LONG_TERM_CODE => Ok(code),
        _ => Err(EncodeError::DateOutOfRange(field)),
    }
}

/// Reads fields from a byte slice, never past its end.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Succeeds only when every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(field, N)?;
        Ok(bytes.try_into().expect("take returned N bytes"))
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Big-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// UTF-8 text with a one-byte length.
    pub fn str8(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let len = self.u8(field)?;
        let bytes = self.take(field, usize::from(len))?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8(field))
    }

    /// Bytes with a two-byte length. The length is checked against the input before
    /// anything is allocated.
    pub fn bytes16(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u16(field)?;
        self.take(field, usize::from(len))
    }

    /// A date written by [`Writer::date`].
    pub fn date(&mut self, field: &'static str) -> Result<Date, DecodeError> {
        let code = self.u16(field)?;
        if code == LONG_TERM_CODE {
            return Ok(LONG_TERM);
        }
        DATE_EPOCH
            .checked_add(Duration::days(i64::from(code)))
            .ok_or(DecodeError::BadValue(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_round_trip_at_the_edges() {
        for d in [
            DATE_EPOCH,
            date!(1970 - 01 - 01),
            date!(2079 - 06 - 05),
            LONG_TERM,
        ] {
            let mut w = Writer::default();
            w.date("d", d).unwrap();
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.date("d").unwrap(), d);
            r.finish().unwrap();
        }
    }

    #[test]
    fn dates_outside_the_range_are_refused() {
        let mut w = Writer::default();
        assert_eq!(
            w.date("d", date!(1899 - 12 - 31)).unwrap_err(),
            EncodeError::DateOutOfRange("d")
        );
        assert_eq!(
            w.date("d", date!(2079 - 06 - 06)).unwrap_err(),
            EncodeError::DateOutOfRange("d")
        );
        assert!(w.is_empty());
    }

    #[test]
    fn truncation_and_trailing_bytes_are_errors() {
        assert_eq!(
            Reader::new(&[0, 5, b'a']).bytes16("f"),
            Err(DecodeError::Truncated("f"))
        );
        assert_eq!(Reader::new(&[1]).u16("f"), Err(DecodeError::Truncated("f")));
        let mut r = Reader::new(&[1, 2]);
        r.u8("f").unwrap();
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
        assert_eq!(
            Reader::new(&[2, 0xff, 0xfe]).str8("n"),
            Err(DecodeError::BadUtf8("n"))
        );
    }

    #[test]
    fn overlong_text_is_refused_not_truncated() {
        let long = "字".repeat(100);
        assert_eq!(
            Writer::default().str8("name", &long).unwrap_err(),
            EncodeError::TooLong("name")
        );
    }

    proptest! {
        #[test]
        fn fields_round_trip(a in any::<u8>(), b in any::<u16>(), c in any::<u32>(), d in any::<u64>(),
                             s in ".{0,60}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assume!(s.len() <= 255);
            let mut w = Writer::default();
            w.u8(a).u16(b).u32(c).u64(d);
            w.str8("s", &s).unwrap();
            w.bytes16("b", &bytes).unwrap();
            let out = w.into_bytes();
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.u8("a").unwrap(), a);
            prop_assert_eq!(r.u16("b").unwrap(), b);
            prop_assert_eq!(r.u32("c").unwrap(), c);
            prop_assert_eq!(r.u64("d").unwrap(), d);
            prop_assert_eq!(r.str8("s").unwrap(), s.as_str());
            prop_assert_eq!(r.bytes16("b").unwrap(), bytes.as_slice());
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            let _ = r.str8("s");
            let _ = r.bytes16("b");
            let _ = r.date("d");
            let _ = r.u64("u");
        }
    }
}
