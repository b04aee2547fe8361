//! The one error type of the rendering and scanning module.

/// Why a QR symbol or barcode could not be made, or an image could not be scanned.
///
/// Scanner failures carry a human-readable `reason` rather than the decoder crates' own error
/// types, so the enum stays `Clone + Eq` and the bindings do not depend on those crates' versions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The payload needs more than the largest QR symbol (version 40) holds.
    #[error(
        "payload of {len} bytes exceeds the {max} bytes a QR symbol holds at error-correction level M"
    )]
    PayloadTooLarge {
        /// Bytes given.
        len: usize,
        /// Most bytes a symbol holds in byte mode at level M.
        max: usize,
    },

    /// The barcode text is empty: a symbol with no data reads as nothing at the counter.
    #[error("barcode text is empty")]
    EmptyBarcodeText,

    /// The barcode text is longer than Code 128 scanners are expected to read.
    #[error("barcode text of {len} characters exceeds the {max} a Code 128 symbol may carry")]
    BarcodeTextTooLong {
        /// Characters given.
        len: usize,
        /// Most characters accepted.
        max: usize,
    },

    /// The barcode text holds a character this Code 128 encoder does not take (anything but
    /// printable ASCII).
    #[error(
        "barcode text has {character:?} at position {position}; only printable ASCII is encodable"
    )]
    BarcodeTextNotEncodable {
        /// Index of the character, counted in characters.
        position: usize,
        /// The offending character.
        character: char,
    },

    /// The bytes are not a complete, well-formed PNG image.
    #[error("not a readable PNG image: {reason}")]
    NotPng {
        /// What the PNG decoder objected to.
        reason: String,
    },

    /// The image is larger than the scanner accepts, so it is rejected before any pixel buffer is
    /// allocated.
    #[error(
        "image of {width}×{height} pixels exceeds the {max_side}×{max_side} the scanner accepts"
    )]
    ImageTooLarge {
        /// Declared width in pixels.
        width: u32,
        /// Declared height in pixels.
        height: u32,
        /// Largest side accepted, in pixels.
        max_side: u32,
    },

    /// The image was read but holds nothing that looks like a QR symbol.
    #[error("no QR symbol found in the image")]
    NoQrFound,

    /// Something shaped like a QR symbol was found but none could be read (too damaged, blurred
    /// or not really a QR symbol).
    #[error("a QR symbol was found but could not be read: {reason}")]
    QrDamaged {
        /// What the QR decoder objected to.
        reason: String,
    },
}
