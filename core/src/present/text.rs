//! The text form of a QR payload, for copy-paste, logs of tests and the CLI.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::PayloadError;
use crate::codec::DecodeError;

/// Longest text accepted (an enforcement payload with a long record fits well within).
const MAX_TEXT: usize = 8192;

/// `EDL:` followed by the payload in unpadded base64url.
pub fn payload_to_text(payload: &[u8]) -> String {
    format!("EDL:{}", URL_SAFE_NO_PAD.encode(payload))
}

/// Inverse of [`payload_to_text`]; surrounding white space is ignored.
pub fn payload_from_text(text: &str) -> Result<Vec<u8>, PayloadError> {
    let text = text.trim();
    if text.len() > MAX_TEXT {
        return Err(DecodeError::BadValue("text").into());
    }
    let body = text
        .strip_prefix("EDL:")
        .ok_or(DecodeError::BadValue("text"))?;
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| DecodeError::BadValue("text").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_garbage_is_an_error() {
        let bytes = vec![0x10, 0xff, 0, 7];
        assert_eq!(
            payload_from_text(&format!("  {} \n", payload_to_text(&bytes))).unwrap(),
            bytes
        );
        assert!(payload_from_text("EDL:***").is_err());
        assert!(payload_from_text("nope").is_err());
    }
}
