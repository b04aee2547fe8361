//! Any PNG (untrusted) to an 8-bit greyscale pixel buffer of bounded size, for the scanner.

use std::io::Cursor;

use png::{ColorType, Decoder, DecodingError, InterlaceInfo, Transformations};

use super::error::RenderError;

/// A greyscale image, row-major, 0 = black, 255 = white.
pub(crate) struct GreyImage {
    /// Pixels per row.
    pub(crate) width: usize,
    /// Rows.
    pub(crate) height: usize,
    /// `width * height` luminance values.
    pub(crate) pixels: Vec<u8>,
}

/// Decodes `png_bytes` into greyscale, refusing any image with a side over `max_side` before
/// the pixel buffer is allocated.
///
/// Every PNG colour type and bit depth is accepted: the decoder expands palettes and sub-byte
/// samples and strips 16-bit samples to 8, and this converts the result row by row, so memory
/// stays at one byte per pixel plus one decoded row, whatever the source format.
pub(crate) fn decode(png_bytes: &[u8], max_side: u32) -> Result<GreyImage, RenderError> {
    let mut decoder = Decoder::new(Cursor::new(png_bytes));
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    // Text and ICC chunks can be large compressed blobs; the scanner needs neither.
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let header = decoder.read_header_info().map_err(not_png)?;
    let (width_px, height_px) = (header.width, header.height);
    let too_large = RenderError::ImageTooLarge {
        width: width_px,
        height: height_px,
        max_side,
    };
    if width_px > max_side || height_px > max_side {
        return Err(too_large);
    }
    let interlaced = header.interlaced;
    let mut reader = decoder.read_info().map_err(|e| match e {
        DecodingError::LimitsExceeded => too_large.clone(),
        e => not_png(e),
    })?;
    let channels = match reader.output_color_type() {
        (ColorType::Grayscale, png::BitDepth::Eight) => 1,
        (ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
        (ColorType::Rgb, png::BitDepth::Eight) => 3,
        (ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => {
            return Err(RenderError::NotPng {
                reason: format!("unexpected decoded pixel layout {other:?}"),
            });
        }
    };
    // Both bounded by `max_side` above, so they fit and their product is bounded.
    let (width, height) = (width_px as usize, height_px as usize);
    let mut pixels = if interlaced {
        // Adam7 passes scatter pixels over the whole image, so it must exist from the start.
        vec![0; width * height]
    } else {
        // Grows row by row: a tiny file declaring a huge image fails before claiming its size.
        Vec::new()
    };
    let mut grey_row = Vec::with_capacity(width);
    while let Some(row) = reader.next_interlaced_row().map_err(not_png)? {
        grey_row.clear();
        grey_row.extend(row.data().chunks_exact(channels).map(luminance));
        match row.interlace() {
            InterlaceInfo::Null(_) => pixels.extend_from_slice(&grey_row),
            InterlaceInfo::Adam7(pass) => {
                png::expand_interlaced_row(&mut pixels, width, &grey_row, pass, 8);
            }
        }
    }
    if pixels.len() != width * height {
        return Err(RenderError::NotPng {
            reason: "image data ends before the last row".to_owned(),
        });
    }
    Ok(GreyImage {
        width,
        height,
        pixels,
    })
}

fn not_png(e: DecodingError) -> RenderError {
    RenderError::NotPng {
        reason: e.to_string(),
    }
}

/// Rec. 601 luma of one pixel (grey, grey+alpha, RGB or RGBA, 8-bit), composited over white: a
/// QR symbol exported with a transparent background is meant to be seen on a light page.
fn luminance(pixel: &[u8]) -> u8 {
    let (grey, alpha) = match *pixel {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (rgb_luma(r, g, b), 255),
        [r, g, b, a] => (rgb_luma(r, g, b), u32::from(a)),
        // `chunks_exact` with 1..=4 channels gives no other length.
        _ => (255, 255),
    };
    // At most 255·255 + 255·255, divided by 255: at most 255.
    ((grey * alpha + 255 * (255 - alpha)) / 255) as u8
}

fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::present::render::test_png;

    /// A 4×3 image whose pixel (x, y) is black when `x == y`, white otherwise, in the given
    /// IHDR colour type and bit depth, optionally Adam7-interlaced. Alpha is opaque.
    fn diagonal_png(color_type: u8, depth: u8, interlaced: bool) -> Vec<u8> {
        let white = u16::MAX >> (16 - depth);
        let palette: &[u8] = &[0, 0, 0, 255, 255, 255];
        let samples = |x: u32, y: u32| {
            let v = if x == y { 0 } else { white };
            match color_type {
                0 => vec![v],
                2 => vec![v, v, v],
                3 => vec![u16::from(x != y)],
                4 => vec![v, white],
                6 => vec![v, v, v, white],
                _ => unreachable!(),
            }
        };
        let palette = (color_type == 3).then_some(palette);
        test_png::build(4, 3, color_type, depth, interlaced, palette, samples)
    }

    fn is_diagonal(image: &GreyImage) -> bool {
        (image.width, image.height) == (4, 3)
            && image
                .pixels
                .iter()
                .enumerate()
                .all(|(i, &p)| p == if i % 4 == i / 4 { 0 } else { 255 })
    }

    #[test]
    fn every_colour_type_depth_and_interlacing_decodes_to_the_same_grey() {
        // (IHDR colour type, bit depth): grey, RGB, palette, grey+alpha, RGBA.
        let layouts = [
            (0, 1),
            (0, 2),
            (0, 4),
            (0, 8),
            (0, 16),
            (2, 8),
            (2, 16),
            (3, 1),
            (3, 8),
            (4, 8),
            (4, 16),
            (6, 8),
            (6, 16),
        ];
        for (color_type, depth) in layouts {
            for interlaced in [false, true] {
                let png = diagonal_png(color_type, depth, interlaced);
                let image = decode(&png, 16).unwrap();
                assert!(is_diagonal(&image), "{color_type} {depth} {interlaced}");
            }
        }
    }

    #[test]
    fn transparency_chunk_makes_pixels_white() {
        // Palette entry 0 (black) made fully transparent by a tRNS chunk: the diagonal vanishes.
        let mut png = diagonal_png(3, 8, false);
        let mut trns = vec![0, 0, 0, 1, b't', b'R', b'N', b'S', 0];
        let crc = test_png::crc32(&trns[4..]);
        trns.extend_from_slice(&crc.to_be_bytes());
        // tRNS must precede IDAT: insert it right after PLTE (8 + 25 + 18 bytes in).
        png.splice(51..51, trns);
        let image = decode(&png, 16).unwrap();
        assert!(image.pixels.iter().all(|&p| p == 255));
    }

    #[test]
    fn transparent_pixels_count_as_white() {
        assert_eq!(luminance(&[0, 0]), 255);
        assert_eq!(luminance(&[0, 0, 0, 0]), 255);
        assert_eq!(luminance(&[0, 0, 0, 255]), 0);
        assert_eq!(luminance(&[255, 255, 255]), 255);
    }

    #[test]
    fn image_over_the_side_limit_is_refused() {
        let png = diagonal_png(0, 8, false);
        assert!(matches!(
            decode(&png, 3),
            Err(RenderError::ImageTooLarge {
                width: 4,
                height: 3,
                max_side: 3
            })
        ));
    }
}
