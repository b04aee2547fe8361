//! Hand-built PNG files for tests: layouts the `png` encoder does not write (interlaced,
//! sub-byte greyscale) and deliberately malformed headers.

/// The PNG chunk CRC (CRC-32, reflected, polynomial 0xEDB88320).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg())
        })
    })
}

/// Rewrites the IHDR of a PNG made by the `png` encoder to declare another size, fixing the
/// chunk's CRC so only the size is wrong.
pub(crate) fn with_declared_size(mut png: Vec<u8>, width: u32, height: u32) -> Vec<u8> {
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A PNG of `width`×`height` pixels with the given IHDR colour type code and bit depth; each
/// pixel's samples come from `samples(x, y)`. `palette` adds a PLTE chunk.
pub(crate) fn build(
    width: u32,
    height: u32,
    color_type: u8,
    depth: u8,
    interlaced: bool,
    palette: Option<&[u8]>,
    samples: impl Fn(u32, u32) -> Vec<u16>,
) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut scanline = |xs: &mut dyn Iterator<Item = u32>, y: u32| {
        raw.push(0); // filter type None
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for x in xs {
            for s in samples(x, y) {
                match depth {
                    16 => raw.extend_from_slice(&s.to_be_bytes()),
                    8 => raw.push(s as u8),
                    d => {
                        bits = (bits << d) | u32::from(s);
                        nbits += u32::from(d);
                        if nbits == 8 {
                            raw.push(bits as u8);
                            (bits, nbits) = (0, 0);
                        }
                    }
                }
            }
        }
        if nbits > 0 {
            raw.push((bits << (8 - nbits)) as u8);
        }
    };
    if interlaced {
        const PASSES: [(u32, u32, u32, u32); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        for (x0, y0, dx, dy) in PASSES {
            if x0 >= width || y0 >= height {
                continue;
            }
            for y in (y0..height).step_by(dy as usize) {
                scanline(&mut (x0..width).step_by(dx as usize), y);
            }
        }
    } else {
        for y in 0..height {
            scanline(&mut (0..width), y);
        }
    }

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color_type, 0, 0, u8::from(interlaced)]);
    chunk(&mut png, b"IHDR", &ihdr);
    if let Some(palette) = palette {
        chunk(&mut png, b"PLTE", palette);
    }
    chunk(&mut png, b"IDAT", &stored_zlib(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed ("stored") deflate blocks.
fn stored_zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(0xffff).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (a, b) = data.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + u32::from(x)) % 65521;
        (a, (b + a) % 65521)
    });
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}
