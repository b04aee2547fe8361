//! Binary fields on the wire: standard base64 (RFC 4648, with padding) in a JSON string.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Bytes carried as a base64 string: credentials, trust lists, keys, seeds, photos.
///
/// `Debug` prints only the length, so a seed or a photo never lands in a log through a
/// derived `Debug` of a request or response.
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
pub struct Base64(pub Vec<u8>);

/// Zeroed when dropped: a `Base64` may hold a secret on its way through (the TOTP seed of
/// a sync answer, D18), and every copy of it is wiped, not just the sealed one (the second
/// hostile review's R14).
impl Drop for Base64 {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Base64 {
    /// The decoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes the decoded bytes.
    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }

    /// The bytes as exactly `N` bytes (a key or a seed), or `None` for another length.
    pub fn to_array<const N: usize>(&self) -> Option<[u8; N]> {
        <[u8; N]>::try_from(self.0.as_slice()).ok()
    }

    /// Standard base64 of `bytes` (what this type serialises to).
    pub fn encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    /// Decodes standard base64 (padding required, no whitespace).
    pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        STANDARD.decode(text)
    }
}

impl From<Vec<u8>> for Base64 {
    fn from(bytes: Vec<u8>) -> Self {
        Base64(bytes)
    }
}

impl From<&[u8]> for Base64 {
    fn from(bytes: &[u8]) -> Self {
        Base64(bytes.to_vec())
    }
}

impl fmt::Debug for Base64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Base64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a standard base64 string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Base64, E> {
                // The message names the encoding, never the text (it may be a secret).
                STANDARD
                    .decode(text)
                    .map(Base64)
                    .map_err(|_| E::custom(BAD_BASE64))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The serde error message of a string that is not base64. Servers look for it to answer
/// with the `bad_base64` error code rather than a generic `bad_request`.
pub const BAD_BASE64: &str = "invalid base64 (expected standard alphabet with padding)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_as_a_padded_string() {
        let b = Base64(vec![0, 1, 2, 253, 254, 255]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"AAEC/f7/\"");
        assert_eq!(serde_json::from_str::<Base64>(&json).unwrap(), b);
        assert_eq!(serde_json::to_string(&Base64(vec![1])).unwrap(), "\"AQ==\"");
    }

    #[test]
    fn bad_base64_is_an_error_that_does_not_echo_the_input() {
        for bad in ["\"AQ\"", "\"!!!!\"", "\"AQ==AQ==\"", "\"A Q==\""] {
            let e = serde_json::from_str::<Base64>(bad).unwrap_err().to_string();
            assert!(e.contains(BAD_BASE64), "{bad}: {e}");
            assert!(!e.contains("!!!!"));
        }
        assert!(serde_json::from_str::<Base64>("42").is_err());
    }

    #[test]
    fn debug_shows_only_the_length() {
        assert_eq!(format!("{:?}", Base64(vec![7; 32])), "Base64(32 bytes)");
        assert_eq!(Base64(vec![7; 32]).to_array::<32>(), Some([7; 32]));
        assert_eq!(Base64(vec![7; 31]).to_array::<32>(), None);
    }
}
