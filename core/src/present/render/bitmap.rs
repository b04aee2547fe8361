//! Bi-level PNG output shared by the QR and barcode renderers.

/// Encodes a black-on-white 1-bit greyscale PNG of a `cols`×`rows` module grid, each module
/// `module_w`×`module_h` pixels; `dark(col, row)` tells which modules are black.
///
/// Callers bound every argument (their scales are clamped), so the pixel size fits a `u32` and
/// the buffer stays small. One bit per pixel keeps even a large symbol to a few hundred KiB
/// before compression, and needs no colour conversion in any viewer.
pub(crate) fn module_grid_png(
    cols: usize,
    rows: usize,
    module_w: usize,
    module_h: usize,
    dark: impl Fn(usize, usize) -> bool,
) -> Vec<u8> {
    let width_px = cols * module_w;
    let height_px = rows * module_h;
    let row_bytes = width_px.div_ceil(8);
    let mut pixels = Vec::with_capacity(row_bytes * height_px);
    let mut line = vec![0u8; row_bytes];
    for row in 0..rows {
        // White is 1 in greyscale; start white and clear the bits of dark modules.
        line.fill(0xff);
        for col in (0..cols).filter(|&col| dark(col, row)) {
            for px in col * module_w..(col + 1) * module_w {
                line[px / 8] &= !(0x80 >> (px % 8));
            }
        }
        for _ in 0..module_h {
            pixels.extend_from_slice(&line);
        }
    }
    encode(&pixels, width_px, height_px)
}

fn encode(pixels: &[u8], width_px: usize, height_px: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let width = u32::try_from(width_px).expect("callers clamp the width to a few thousand pixels");
    let height =
        u32::try_from(height_px).expect("callers clamp the height to a few thousand pixels");
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    // Filters only help 8-bit samples; the PNG spec advises none for sub-byte depths, and the
    // fast deflate setting keeps this cheap enough for the rotation loop.
    encoder.set_filter(png::Filter::NoFilter);
    encoder.set_compression(png::Compression::Fast);
    // Writing a well-formed, non-empty image into a Vec has no failure mode left: the sizes are
    // non-zero and match the buffer, and a Vec never refuses bytes.
    let mut writer = encoder
        .write_header()
        .expect("a non-empty 1-bit greyscale header is valid");
    writer
        .write_image_data(pixels)
        .expect("the buffer holds exactly height rows of packed pixels");
    writer.finish().expect("writing into a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn modules_become_black_blocks_on_white() {
        // A 3×2 grid with the middle-top and right-bottom modules dark, 3×2 pixels each.
        let png = module_grid_png(3, 2, 3, 2, |c, r| (c, r) == (1, 0) || (c, r) == (2, 1));
        let (w, h, grey) = decode(&png);
        assert_eq!((w, h), (9, 4));
        let row = |y: usize| &grey[y * 9..(y + 1) * 9];
        let top = [255, 255, 255, 0, 0, 0, 255, 255, 255];
        let bottom = [255, 255, 255, 255, 255, 255, 0, 0, 0];
        assert_eq!(row(0), top);
        assert_eq!(row(1), top);
        assert_eq!(row(2), bottom);
        assert_eq!(row(3), bottom);
    }
}
