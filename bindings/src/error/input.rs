//! Outside input the phone refuses to read: trust lists, payloads, scanned images, photos.
//! The texts name layout rules, sizes and formats, never content.

use edl_core::credential::CredentialError;
use edl_core::present::PayloadError;
use edl_core::present::render::RenderError;

use super::{EdlError, InputKind};

impl EdlError {
    /// A trust list that does not decode. Its error text names fields only.
    pub(crate) fn trust_list(e: CredentialError) -> Self {
        EdlError::malformed(InputKind::TrustList, e.to_string())
    }

    /// Payload bytes that are not an EDL payload. The core's text names the layout rule.
    pub(crate) fn payload(e: PayloadError) -> Self {
        EdlError::malformed(InputKind::Payload, e.to_string())
    }

    /// A payload's text form that does not decode.
    pub(crate) fn payload_text(e: PayloadError) -> Self {
        EdlError::malformed(InputKind::PayloadText, e.to_string())
    }

    /// The QR renderer refused the payload: the only failure is a payload too large.
    pub(crate) fn render(e: RenderError) -> Self {
        EdlError::InvalidArgument {
            detail: format!("payload: {e}"),
        }
    }

    /// The scanner could not read the image. (`scan_png` answers "no symbol" with an empty
    /// list before it gets here.) The decoder crates' texts are replaced by fixed ones: they
    /// are not ours to vouch for.
    pub(crate) fn scan(e: RenderError) -> Self {
        let detail = match e {
            RenderError::NotPng { .. } => "not a readable PNG".to_owned(),
            RenderError::QrDamaged { .. } | RenderError::NoQrFound => {
                "no QR symbol in the image could be read".to_owned()
            }
            // The renderer's own refusals: sizes and rules, never content.
            e @ (RenderError::ImageTooLarge { .. }
            | RenderError::PayloadTooLarge { .. }
            | RenderError::EmptyBarcodeText
            | RenderError::BarcodeTextTooLong { .. }
            | RenderError::BarcodeTextNotEncodable { .. }) => e.to_string(),
        };
        EdlError::malformed(InputKind::Image, detail)
    }
}

impl EdlError {
    /// A photo error: the face model's are the app's programming errors; the others name
    /// sizes and formats of the photo, never personal data.
    pub(crate) fn photo(e: edl_core::photo::PhotoError) -> Self {
        use edl_core::photo::PhotoError;
        match e {
            PhotoError::NoFaceModel | PhotoError::BadFaceModel => EdlError::InvalidArgument {
                detail: e.to_string(),
            },
            PhotoError::Empty
            | PhotoError::FileTooLarge { .. }
            | PhotoError::UnsupportedFormat
            | PhotoError::ImageTooLarge { .. }
            | PhotoError::Corrupt
            | PhotoError::DetectorFailed
            | PhotoError::CannotFrame(_)
            | PhotoError::EncodedTooLarge
            | PhotoError::Encode => EdlError::malformed(InputKind::Photo, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_texts_from_decoder_crates_are_not_passed_on() {
        let e = EdlError::scan(RenderError::NotPng {
            reason: "whatever the decoder said".into(),
        });
        assert_eq!(
            e,
            EdlError::Malformed {
                what: InputKind::Image,
                detail: "not a readable PNG".into()
            }
        );
        assert!(!e.to_string().contains("whatever"));
    }
}
