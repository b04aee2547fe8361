//! The QR symbol of a presentation: encoding, module access and the renderers.

use qrcode::bits::Bits;
use qrcode::types::Mode;
use qrcode::{Color, EcLevel, QrCode, Version};

use super::error::RenderError;
use super::terminal::{self, TerminalBackground};
use super::{bitmap, svg};

/// Error correction used for every symbol.
///
/// M restores about 15 % of the codewords. The symbol is shown on a clean, flat phone screen,
/// not printed on a scuffed card, so the stronger Q and H levels would only buy robustness we do
/// not need at the price of a higher version: more, smaller modules that a verifier's camera
/// needs longer to focus on. M keeps the rotating code at a low version so it scans at once.
const EC_LEVEL: EcLevel = EcLevel::M;

/// Highest QR version (177×177 modules).
const MAX_VERSION: i16 = 40;

/// An encoded QR symbol: a square of dark and light modules, without its quiet zone.
///
/// Native UIs (Kotlin, Swift) draw it themselves from [`QrMatrix::to_bools`] or
/// [`QrMatrix::rows`], remembering the [`QrMatrix::QUIET_ZONE`] of light modules around it; the
/// CLI and tests use the PNG, SVG and terminal renderers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    /// Row-major, `width * width` entries, exactly as the `qrcode` crate produced them (moved,
    /// not copied: encoding sits on the rotation hot path).
    modules: Vec<Color>,
    width: usize,
    version: u8,
}

impl QrMatrix {
    /// Light modules every renderer puts around the symbol, as the QR standard requires; a
    /// scanner finds the finder patterns by this margin.
    pub const QUIET_ZONE: usize = 4;

    /// Most payload bytes a symbol holds (version 40, byte mode, level M).
    pub const MAX_PAYLOAD_BYTES: usize = 2331;

    /// Largest PNG pixels per module [`QrMatrix::to_png`] draws: even a version 40 symbol is then
    /// 5920 px square, more than any screen shows.
    pub const MAX_PNG_SCALE: u32 = 32;

    /// Encodes `bytes` in byte mode at error-correction level M, in the smallest version that
    /// holds them.
    ///
    /// Byte mode throughout, because payloads are binary: the `qrcode` crate's automatic mode
    /// would split them into numeric and alphanumeric segments wherever a few bytes happen to
    /// look like digits, which costs time and gains nothing on random data.
    ///
    /// # Errors
    ///
    /// [`RenderError::PayloadTooLarge`] above [`QrMatrix::MAX_PAYLOAD_BYTES`].
    pub fn encode(bytes: &[u8]) -> Result<QrMatrix, RenderError> {
        let too_large = || RenderError::PayloadTooLarge {
            len: bytes.len(),
            max: Self::MAX_PAYLOAD_BYTES,
        };
        let version = smallest_byte_mode_version(bytes.len()).ok_or_else(too_large)?;
        let mut bits = Bits::new(version);
        bits.push_byte_data(bytes).map_err(|_| too_large())?;
        bits.push_terminator(EC_LEVEL).map_err(|_| too_large())?;
        let code = QrCode::with_bits(bits, EC_LEVEL).map_err(|_| too_large())?;
        let width = code.width();
        let version = match code.version() {
            Version::Normal(v) | Version::Micro(v) => u8::try_from(v).unwrap_or(u8::MAX),
        };
        Ok(QrMatrix {
            modules: code.into_colors(),
            width,
            version,
        })
    }

    /// Modules per side, without the quiet zone (21 for version 1, 4 more per version).
    pub fn width(&self) -> usize {
        self.width
    }

    /// QR version, 1 to 40.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Whether the module at column `x`, row `y` is dark. Anything outside the symbol is the
    /// light quiet zone, so out-of-range coordinates answer `false` rather than panic.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x] == Color::Dark
    }

    /// The rows from top to bottom, each its modules from left to right (`true` = dark).
    pub fn rows(
        &self,
    ) -> impl ExactSizeIterator<Item = impl ExactSizeIterator<Item = bool> + '_> + '_ {
        self.modules
            .chunks_exact(self.width)
            .map(|row| row.iter().map(|module| *module == Color::Dark))
    }

    /// All modules row-major (`true` = dark), `width() * width()` of them, for bindings that
    /// pass the matrix as one flat array.
    pub fn to_bools(&self) -> Vec<bool> {
        self.modules.iter().map(|m| *m == Color::Dark).collect()
    }

    /// Whether the module at (`x`, `y`) counted from the outer corner of the quiet zone is dark.
    fn is_dark_with_quiet_zone(&self, x: usize, y: usize) -> bool {
        match (
            x.checked_sub(Self::QUIET_ZONE),
            y.checked_sub(Self::QUIET_ZONE),
        ) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }

    /// Modules per side including the quiet zone on both sides.
    fn side_with_quiet_zone(&self) -> usize {
        self.width + 2 * Self::QUIET_ZONE
    }

    /// A black-on-white 1-bit greyscale PNG, `scale` pixels per module, quiet zone included: the
    /// image is `(width() + 8) * scale` pixels square.
    ///
    /// `scale` is clamped to `1..=`[`QrMatrix::MAX_PNG_SCALE`], so the call cannot fail or
    /// allocate without bound.
    pub fn to_png(&self, scale: u32) -> Vec<u8> {
        let scale = scale.clamp(1, Self::MAX_PNG_SCALE) as usize;
        let side = self.side_with_quiet_zone();
        bitmap::module_grid_png(side, side, scale, scale, |x, y| {
            self.is_dark_with_quiet_zone(x, y)
        })
    }

    /// An SVG document whose `viewBox` counts modules, quiet zone included, so it scales to any
    /// size: a white background and one `<path>` of run-length horizontal segments for the dark
    /// modules, drawn with `shape-rendering="crispEdges"` so no anti-aliased seams appear
    /// between neighbouring modules.
    pub fn to_svg(&self) -> String {
        let side = self.side_with_quiet_zone();
        let mut path = svg::PathBuilder::default();
        for (y, row) in self.rows().enumerate() {
            for (x, len) in svg::dark_runs(row) {
                path.rect(x + Self::QUIET_ZONE, y + Self::QUIET_ZONE, len, 1);
            }
        }
        svg::document(side, side, &path.finish(), "")
    }

    /// Text art for a terminal with a dark background (the usual default), two module rows per
    /// line with the half blocks `▀ ▄ █` and spaces, quiet zone included.
    ///
    /// On a dark terminal the glyphs are the light colour, so this paints the light modules and
    /// the quiet zone and leaves the dark modules as background: a phone pointed at the screen
    /// sees dark modules on a light field, the polarity every scanner expects. Use
    /// [`QrMatrix::to_terminal_for`] with [`TerminalBackground::Light`] on a light terminal.
    pub fn to_terminal(&self) -> String {
        self.to_terminal_for(TerminalBackground::Dark)
    }

    /// Text art as [`QrMatrix::to_terminal`], for a terminal with the given background colour.
    /// There are `(width() + 9) / 2` lines, each `width() + 8` characters and a `\n`.
    pub fn to_terminal_for(&self, background: TerminalBackground) -> String {
        let side = self.side_with_quiet_zone();
        terminal::half_blocks(side, background, |x, y| self.is_dark_with_quiet_zone(x, y))
    }
}

/// The smallest version whose level-M data capacity holds `len` bytes in one byte-mode segment,
/// worked out from the capacity table alone so no bits are built for versions that do not fit.
fn smallest_byte_mode_version(len: usize) -> Option<Version> {
    let payload_bits = len.checked_mul(8)?;
    (1..=MAX_VERSION).map(Version::Normal).find(|&version| {
        // Mode indicator, character count, then the bytes; the terminator and padding only fill
        // what is left.
        let needed = 4 + Mode::Byte.length_bits_count(version) + payload_bits;
        Bits::new(version)
            .max_len(EC_LEVEL)
            .is_ok_and(|capacity| needed <= capacity)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(len: usize) -> Vec<u8> {
        // A fixed, byte-spread pattern: every value 0..=255 appears, including runs of ASCII
        // digits that automatic mode selection would have split out.
        (0..len).map(|i| (i.wrapping_mul(151) + 7) as u8).collect()
    }

    #[test]
    fn version_grows_with_payload_size() {
        let versions: Vec<u8> = [1, 15, 40, 200, 600, 1200]
            .iter()
            .map(|&len| QrMatrix::encode(&payload(len)).unwrap().version())
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }

    #[test]
    fn two_hundred_bytes_stay_within_version_ten() {
        let qr = QrMatrix::encode(&payload(200)).unwrap();
        assert!(qr.version() <= 10, "version {}", qr.version());
        // Version 10 at level M holds 213 bytes: one more than that needs version 11.
        assert_eq!(QrMatrix::encode(&payload(213)).unwrap().version(), 10);
        assert_eq!(QrMatrix::encode(&payload(214)).unwrap().version(), 11);
    }

    #[test]
    fn version_is_the_smallest_that_fits_in_byte_mode() {
        // Level M byte-mode capacities of versions 1 and 2 are 14 and 26 bytes.
        assert_eq!(QrMatrix::encode(&payload(14)).unwrap().version(), 1);
        assert_eq!(QrMatrix::encode(&payload(15)).unwrap().version(), 2);
        assert_eq!(QrMatrix::encode(&payload(26)).unwrap().version(), 2);
        assert_eq!(QrMatrix::encode(&payload(27)).unwrap().version(), 3);
    }

    #[test]
    fn width_follows_version() {
        for len in [0, 1, 40, 600] {
            let qr = QrMatrix::encode(&payload(len)).unwrap();
            assert_eq!(qr.width(), 17 + 4 * usize::from(qr.version()));
        }
    }

    #[test]
    fn too_long_payload_is_a_typed_error() {
        assert_eq!(
            QrMatrix::encode(&payload(3000)),
            Err(RenderError::PayloadTooLarge {
                len: 3000,
                max: QrMatrix::MAX_PAYLOAD_BYTES
            })
        );
    }

    #[test]
    fn max_payload_fits_version_forty_and_one_more_byte_does_not() {
        let qr = QrMatrix::encode(&payload(QrMatrix::MAX_PAYLOAD_BYTES)).unwrap();
        assert_eq!(qr.version(), 40);
        assert!(matches!(
            QrMatrix::encode(&payload(QrMatrix::MAX_PAYLOAD_BYTES + 1)),
            Err(RenderError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn matrix_views_agree_with_each_other() {
        let qr = QrMatrix::encode(b"\x00\xffbinary\x01").unwrap();
        let flat = qr.to_bools();
        assert_eq!(flat.len(), qr.width() * qr.width());
        let from_rows: Vec<bool> = qr.rows().flatten().collect();
        assert_eq!(flat, from_rows);
        for y in 0..qr.width() {
            for x in 0..qr.width() {
                assert_eq!(qr.is_dark(x, y), flat[y * qr.width() + x]);
            }
        }
    }

    #[test]
    fn finder_pattern_corners_are_dark_and_outside_is_light() {
        let qr = QrMatrix::encode(b"x").unwrap();
        let last = qr.width() - 1;
        assert!(qr.is_dark(0, 0) && qr.is_dark(last, 0) && qr.is_dark(0, last));
        // The bottom-right corner has no finder pattern; beyond the symbol is quiet zone.
        assert!(!qr.is_dark(qr.width(), 0));
        assert!(!qr.is_dark(0, usize::MAX));
    }

    #[test]
    fn png_has_quiet_zone_and_scaled_size() {
        let qr = QrMatrix::encode(b"size").unwrap();
        for scale in [1, 3, 8] {
            let png = qr.to_png(scale);
            let (w, h) = png_size(&png);
            let expected = (qr.width() as u32 + 8) * scale;
            assert_eq!((w, h), (expected, expected));
        }
    }

    #[test]
    fn png_scale_is_clamped() {
        let qr = QrMatrix::encode(b"clamp").unwrap();
        let side = qr.width() as u32 + 8;
        assert_eq!(png_size(&qr.to_png(0)), (side, side));
        let max = side * QrMatrix::MAX_PNG_SCALE;
        assert_eq!(png_size(&qr.to_png(u32::MAX)), (max, max));
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        (info.width, info.height)
    }

    #[test]
    fn svg_has_one_path_and_a_viewbox_in_modules_with_quiet_zone() {
        let qr = QrMatrix::encode(&payload(40)).unwrap();
        let svg = qr.to_svg();
        let side = qr.width() + 8;
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert_eq!(svg.matches("<path ").count(), 1);
        // The top-left finder pattern's first row is one run of seven dark modules.
        assert!(svg.contains("M4 4h7v1h-7z"));
    }

    #[test]
    fn svg_path_covers_exactly_the_dark_modules() {
        let qr = QrMatrix::encode(&payload(14)).unwrap();
        let svg = qr.to_svg();
        let d = svg.split(" d=\"").nth(1).unwrap();
        let dark_in_path: usize = d
            .split('h')
            .skip(1)
            .step_by(2)
            .map(|s| s.split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        let dark = qr.to_bools().iter().filter(|d| **d).count();
        assert_eq!(dark_in_path, dark);
    }

    #[test]
    fn terminal_art_packs_two_module_rows_per_line() {
        let qr = QrMatrix::encode(&payload(40)).unwrap();
        let side = qr.width() + 8;
        for background in [TerminalBackground::Dark, TerminalBackground::Light] {
            let art = qr.to_terminal_for(background);
            let lines: Vec<&str> = art.lines().collect();
            assert_eq!(lines.len(), side.div_ceil(2));
            assert!(lines.iter().all(|l| l.chars().count() == side));
            assert!(art.ends_with('\n'));
        }
    }

    #[test]
    fn dark_terminal_art_paints_quiet_zone_and_light_terminal_art_leaves_it_blank() {
        let qr = QrMatrix::encode(b"polarity").unwrap();
        let dark = qr.to_terminal();
        let light = qr.to_terminal_for(TerminalBackground::Light);
        let first_dark = dark.lines().next().unwrap();
        let first_light = light.lines().next().unwrap();
        assert!(first_dark.chars().all(|c| c == '█'));
        assert!(first_light.chars().all(|c| c == ' '));
        // Line 2 holds module rows 4 and 5: the top edge of the finder pattern, dark above and
        // dark below, is painted on a light terminal and left as background on a dark one.
        let row = |art: &str| art.lines().nth(2).unwrap().chars().nth(4).unwrap();
        assert_eq!(row(&light), '█');
        assert_eq!(row(&dark), ' ');
    }
}
