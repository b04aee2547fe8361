//! Bounded decoding of untrusted JPEG/PNG bytes into upright RGB pixels.

use std::io::Cursor;

use image::error::LimitErrorKind;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use super::error::PhotoError;
use super::pixels::Photo;
use super::spec::{MAX_DECODER_ALLOC, MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE};

/// Decodes `bytes` as JPEG or PNG with its EXIF orientation (applied by [`Photo`] to the
/// copies the checks take), flattening any transparency onto white.
///
/// The declared dimensions are checked before any pixel buffer is allocated, so a small file
/// that declares a huge image costs nothing.
pub(crate) fn decode(bytes: &[u8]) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(PhotoError::FileTooLarge {
            size: bytes.len(),
            max: MAX_FILE_BYTES,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PhotoError::Corrupt)?;
    // Only the two formats a phone camera or album hands over; everything else is refused
    // before a decoder looks at it.
    if !matches!(reader.format(), Some(ImageFormat::Jpeg | ImageFormat::Png)) {
        return Err(PhotoError::UnsupportedFormat);
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_error)?;

    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::ImageTooLarge { width, height });
    }
    // A damaged EXIF block must not cost the driver the photo: without a readable
    // orientation the pixels are taken as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => PhotoError::ImageTooLarge { width, height },
        other => map_error(other),
    })?;
    Ok(Photo::new(flatten_on_white(img), orientation))
}

/// RGB pixels; transparent pixels become white, as a cut-out portrait is meant to be shown
/// on the white licence background.
fn flatten_on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            // Integer "over" onto white, rounded: c·a + 255·(255 − a), over 255.
            let v = (u32::from(src[c]) * a + 255 * (255 - a) + 127) / 255;
            dst[c] = v as u8;
        }
    }
    out
}

fn map_error(e: ImageError) -> PhotoError {
    match e {
        ImageError::Unsupported(_) => PhotoError::UnsupportedFormat,
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => {
                PhotoError::ImageTooLarge {
                    width: 0,
                    height: 0,
                }
            }
            _ => PhotoError::Corrupt,
        },
        _ => PhotoError::Corrupt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_pixels_become_white() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let rgb = flatten_on_white(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }

    #[test]
    fn non_image_bytes_are_unsupported() {
        assert_eq!(
            decode(b"%PDF-1.7 hello").err(),
            Some(PhotoError::UnsupportedFormat)
        );
        assert_eq!(decode(b"").err(), Some(PhotoError::Empty));
    }
}
