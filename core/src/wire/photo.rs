//! The form of a licence photo on the wire (HTTP.md): a JPEG or PNG, by its magic bytes,
//! of 64 bytes to 2 MiB. The authority takes no other photo, a wallet stores no other
//! approved photo from a sync answer (D123), and a verifier reads no larger one.

/// Largest photo, in bytes.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;
/// Smallest photo: anything smaller cannot hold a recognisable face.
pub const MIN_PHOTO_BYTES: usize = 64;

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Why bytes are not a licence photo's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.reason())]
pub enum PhotoFormError {
    /// Over [`MAX_PHOTO_BYTES`].
    TooLarge,
    /// Under [`MIN_PHOTO_BYTES`].
    TooSmall,
    /// Neither a JPEG nor a PNG.
    NotJpegOrPng,
}

impl PhotoFormError {
    /// The reason in a few words, for an error answer or a log line.
    pub const fn reason(self) -> &'static str {
        match self {
            PhotoFormError::TooLarge => "larger than 2 MiB",
            PhotoFormError::TooSmall => "too small to be a photo",
            PhotoFormError::NotJpegOrPng => "not a JPEG or PNG",
        }
    }
}

/// Checks what can be checked without decoding: size and format.
pub fn check_photo_form(bytes: &[u8]) -> Result<(), PhotoFormError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoFormError::TooLarge);
    }
    if bytes.len() < MIN_PHOTO_BYTES {
        return Err(PhotoFormError::TooSmall);
    }
    if !(bytes.starts_with(JPEG_MAGIC) || bytes.starts_with(PNG_MAGIC)) {
        return Err(PhotoFormError::NotJpegOrPng);
    }
    Ok(())
}
