//! Why bytes could not be treated as a photo at all.

use super::report::PhotoProblem;

/// Input that cannot be checked or normalised as a photo. A photo that is merely wrong (no
/// face, grey background, …) is not an error: [`check_photo`](super::check_photo) reports it
/// as [`PhotoProblem`]s. No variant carries the photo's content.
/// Deliberately not `#[non_exhaustive]`: the bindings map every variant, so a new one fails
/// to compile there until it is mapped (D42).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// No bytes at all.
    #[error("the photo is empty")]
    Empty,
    /// The file is larger than [`MAX_FILE_BYTES`](super::spec::MAX_FILE_BYTES).
    #[error("the photo file is {size} bytes, more than the {max} accepted")]
    FileTooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a JPEG or PNG file.
    #[error("not a JPEG or PNG image")]
    UnsupportedFormat,
    /// The declared size is beyond [`MAX_SIDE`](super::spec::MAX_SIDE) or
    /// [`MAX_PIXELS`](super::spec::MAX_PIXELS) (or would need more memory than allowed): a
    /// decompression bomb is refused before its pixels are allocated.
    #[error("the image is {width}x{height} pixels, larger than accepted")]
    ImageTooLarge {
        /// Declared width (0 when the decoder refused before reporting a size).
        width: u32,
        /// Declared height (0 when the decoder refused before reporting a size).
        height: u32,
    },
    /// A JPEG or PNG that is truncated or corrupt.
    #[error("the image data is corrupt or truncated")]
    Corrupt,
    /// The face detector failed on this image (it should not; reported, never a crash).
    #[error("the face detector failed on this image")]
    DetectorFailed,
    /// The photo cannot be cropped to a licence photo: the framing problems say why.
    #[error("the photo cannot be cropped to a licence photo: {0:?}")]
    CannotFrame(Vec<PhotoProblem>),
    /// Even at the lowest quality allowed the JPEG stays over the size limit (only noise-like
    /// images do this).
    #[error("the normalised JPEG stays over the size limit")]
    EncodedTooLarge,
    /// The JPEG encoder failed.
    #[error("JPEG encoding failed")]
    Encode,
    /// No face model: this library was built without one and the app has not called
    /// `load_face_model` (a programming error in the app).
    #[error("no face model: call load_face_model first")]
    NoFaceModel,
    /// The bytes given to `load_face_model` are not the face model shipped with the library.
    #[error("not the face model shipped with the library")]
    BadFaceModel,
}

impl PhotoError {
    /// What to do, in Chinese, for the driver.
    pub fn hint_zh(&self) -> &'static str {
        match self {
            PhotoError::Empty | PhotoError::Corrupt => "无法读取该照片：请重新拍摄或选择另一张。",
            PhotoError::FileTooLarge { .. } | PhotoError::ImageTooLarge { .. } => {
                "照片文件过大：请用手机相机直接拍摄，不要上传超大图片。"
            }
            PhotoError::UnsupportedFormat => "只支持 JPEG 或 PNG 格式的照片。",
            PhotoError::DetectorFailed
            | PhotoError::Encode
            | PhotoError::EncodedTooLarge
            | PhotoError::NoFaceModel
            | PhotoError::BadFaceModel => "照片处理失败：请重新拍摄。",
            PhotoError::CannotFrame(_) => "无法按驾驶证照片规格裁剪：请按提示重新拍摄。",
        }
    }

    /// What to do, in English, for the driver.
    pub fn hint_en(&self) -> &'static str {
        match self {
            PhotoError::Empty | PhotoError::Corrupt => {
                "This photo cannot be read: take it again or choose another one."
            }
            PhotoError::FileTooLarge { .. } | PhotoError::ImageTooLarge { .. } => {
                "The photo file is too large: take the photo with the phone camera instead."
            }
            PhotoError::UnsupportedFormat => "Only JPEG and PNG photos are accepted.",
            PhotoError::DetectorFailed
            | PhotoError::Encode
            | PhotoError::EncodedTooLarge
            | PhotoError::NoFaceModel
            | PhotoError::BadFaceModel => "The photo could not be processed: please take it again.",
            PhotoError::CannotFrame(_) => {
                "The photo cannot be cropped to a licence photo: follow the hints and take it again."
            }
        }
    }
}
