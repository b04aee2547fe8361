//! The two QR payload layouts and their shared header byte.
//!
//! Header: `version (4 bits) | form (2 bits) | audience (2 bits)`. See `docs/PROTOCOL.md`.

use crate::codec::{DecodeError, Reader, Writer};
use crate::credential::{Audience, ElicenceId, SignedView};
use crate::crypto::{Signature, sha256};

use super::window::{MAX_PERIOD, MIN_PERIOD, Window};

/// Protocol version carried in the high nibble of every payload.
pub const VERSION: u8 = 1;

/// How a payload is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// Id + TOTP code; the verifier asks the authority.
    Online,
    /// Signed view + device signature; checkable with the trust list alone.
    Offline,
}

impl Form {
    const fn code(self) -> u8 {
        match self {
            Form::Online => 0,
            Form::Offline => 1,
        }
    }
}

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not a payload of this protocol at all (empty, or a version we do not read).
    #[error("not an EDL payload (version {0})")]
    UnknownVersion(u8),
    /// A header with a form or audience code that does not exist.
    #[error("unknown form or audience in the header")]
    BadHeader,
    /// A period outside the allowed range.
    #[error("rotation period out of range")]
    BadPeriod,
    /// A payload of the other form was given.
    #[error("payload is not of the expected form")]
    WrongForm,
    /// The bytes after the header do not fit the layout.
    #[error("malformed payload: {0}")]
    Malformed(#[from] DecodeError),
}

/// The decoded header byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Online or offline.
    pub form: Form,
    /// Whom the driver chose to show.
    pub audience: Audience,
}

impl Header {
    /// The header byte.
    pub fn byte(&self) -> u8 {
        VERSION << 4 | self.form.code() << 2 | self.audience.code()
    }

    /// Reads a header byte.
    pub fn parse(byte: u8) -> Result<Header, PayloadError> {
        if byte >> 4 != VERSION {
            return Err(PayloadError::UnknownVersion(byte >> 4));
        }
        let form = match (byte >> 2) & 0b11 {
            0 => Form::Online,
            1 => Form::Offline,
            _ => return Err(PayloadError::BadHeader),
        };
        let audience = Audience::from_code(byte & 0b11).ok_or(PayloadError::BadHeader)?;
        Ok(Header { form, audience })
    }

    /// Peeks at the header of any payload.
    pub fn of(payload: &[u8]) -> Result<Header, PayloadError> {
        Header::parse(*payload.first().ok_or(PayloadError::UnknownVersion(0))?)
    }
}

fn check_period(period: u8) -> Result<u32, PayloadError> {
    let period = u32::from(period);
    if (MIN_PERIOD..=MAX_PERIOD).contains(&period) {
        Ok(period)
    } else {
        Err(PayloadError::BadPeriod)
    }
}

/// The online QR payload: 14 bytes, a version-1 symbol.
/// `header | period u8 | e-licence id u64 | code u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlinePayload {
    /// Whom the driver chose to show.
    pub audience: Audience,
    /// Rotation period in seconds.
    pub period: u32,
    /// Which e-licence.
    pub id: ElicenceId,
    /// The 8-digit TOTP code as a number.
    pub code: u32,
}

impl OnlinePayload {
    /// Encoded length.
    pub const LEN: usize = 14;

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let header = Header {
            form: Form::Online,
            audience: self.audience,
        };
        let mut w = Writer::with_capacity(Self::LEN);
        w.u8(header.byte())
            .u8(self.period as u8)
            .u64(self.id.0)
            .u32(self.code);
        w.into_bytes()
    }

    /// Parses payload bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let header = Header::of(bytes)?;
        if header.form != Form::Online {
            return Err(PayloadError::WrongForm);
        }
        let mut r = Reader::new(&bytes[1..]);
        let period = check_period(r.u8("period")?)?;
        let id = ElicenceId(r.u64("id")?);
        let code = r.u32("code")?;
        r.finish()?;
        if code > 99_999_999 {
            return Err(DecodeError::BadValue("code").into());
        }
        Ok(OnlinePayload {
            audience: header.audience,
            period,
            id,
            code,
        })
    }

    /// The code as the 8 digits the TOTP check compares.
    pub fn code_digits(&self) -> String {
        format!("{:08}", self.code)
    }
}

/// The offline QR payload.
/// `header | period u8 | window low byte u8 | signed view (body ‖ issuer sig) | device sig [64]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflinePayload {
    /// The view shown (its audience is the header's).
    pub view: SignedView,
    /// Rotation period in seconds.
    pub period: u32,
    /// Low byte of the window index.
    pub window_low: u8,
    /// Device signature over [`presentation_message`].
    pub device_sig: Signature,
}

/// Bytes before the view.
const OFFLINE_PREFIX: usize = 3;

impl OfflinePayload {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let header = Header {
            form: Form::Offline,
            audience: self.view.audience(),
        };
        let view = self.view.as_bytes();
        let mut w = Writer::with_capacity(OFFLINE_PREFIX + view.len() + 64);
        w.u8(header.byte())
            .u8(self.period as u8)
            .u8(self.window_low)
            .raw(view)
            .raw(&self.device_sig.0);
        w.into_bytes()
    }

    /// Splits payload bytes into their parts (nothing is verified here).
    pub fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let header = Header::of(bytes)?;
        if header.form != Form::Offline {
            return Err(PayloadError::WrongForm);
        }
        let mut r = Reader::new(&bytes[1..]);
        let period = check_period(r.u8("period")?)?;
        let window_low = r.u8("window")?;
        let view_len = r
            .remaining()
            .checked_sub(64)
            .ok_or(DecodeError::Truncated("device_sig"))?;
        let view = r.take("view", view_len)?.to_vec();
        let device_sig = Signature(r.array("device_sig")?);
        r.finish()?;
        let view = SignedView::from_bytes(header.audience, view)
            .map_err(|_| DecodeError::Truncated("view"))?;
        Ok(OfflinePayload {
            view,
            period,
            window_low,
            device_sig,
        })
    }
}

/// What the device signs for an offline presentation:
/// `header u8 | period u8 | window index u64 | SHA-256(signed view)`.
pub fn presentation_message(audience: Audience, window: Window, view: &SignedView) -> [u8; 42] {
    let header = Header {
        form: Form::Offline,
        audience,
    };
    let mut m = [0u8; 42];
    m[0] = header.byte();
    m[1] = window.period as u8;
    m[2..10].copy_from_slice(&window.index.to_be_bytes());
    m[10..].copy_from_slice(&sha256(view.as_bytes()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_unknown_codes() {
        for form in [Form::Online, Form::Offline] {
            for audience in Audience::ALL {
                let h = Header { form, audience };
                assert_eq!(Header::parse(h.byte()).unwrap(), h);
            }
        }
        assert_eq!(Header::parse(0x20), Err(PayloadError::UnknownVersion(2)));
        assert_eq!(Header::parse(0x18), Err(PayloadError::BadHeader));
        assert_eq!(Header::parse(0x12), Err(PayloadError::BadHeader));
        assert_eq!(Header::of(&[]), Err(PayloadError::UnknownVersion(0)));
    }

    #[test]
    fn online_payload_is_fourteen_bytes_and_round_trips() {
        let p = OnlinePayload {
            audience: Audience::Business,
            period: 30,
            id: ElicenceId(u64::MAX),
            code: 12_345_678,
        };
        let bytes = p.encode();
        assert_eq!(bytes.len(), OnlinePayload::LEN);
        assert_eq!(OnlinePayload::decode(&bytes).unwrap(), p);
        assert_eq!(p.code_digits(), "12345678");
        assert!(OnlinePayload::decode(&bytes[..13]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(OnlinePayload::decode(&long).is_err());
    }

    #[test]
    fn out_of_range_period_and_code_are_rejected() {
        let mut bytes = OnlinePayload {
            audience: Audience::Business,
            period: 30,
            id: ElicenceId(1),
            code: 1,
        }
        .encode();
        bytes[1] = 5;
        assert_eq!(OnlinePayload::decode(&bytes), Err(PayloadError::BadPeriod));
        bytes[1] = 30;
        bytes[10..].copy_from_slice(&100_000_000u32.to_be_bytes());
        assert!(matches!(
            OnlinePayload::decode(&bytes),
            Err(PayloadError::Malformed(_))
        ));
    }
}
