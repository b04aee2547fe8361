//! The Code 128 barcode of a presentation and its renderers.

use super::error::RenderError;
use super::{bitmap, code128, svg};

/// A Code 128 barcode: the text it carries and its bar modules.
///
/// Native UIs draw [`Barcode::modules`] themselves, with [`Barcode::QUIET_ZONE`] light modules
/// on each side; the CLI and tests use the PNG and SVG renderers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Barcode {
    text: String,
    modules: Vec<bool>,
}

impl Barcode {
    /// Light modules on each side: ISO/IEC 15417 asks for at least ten, so a scanner can tell
    /// where the symbol starts.
    pub const QUIET_ZONE: usize = 10;

    /// Most characters of text accepted (the GS1 limit for Code 128).
    pub const MAX_TEXT_CHARS: usize = code128::MAX_TEXT_CHARS;

    /// Largest pixels per module [`Barcode::to_png`] draws.
    pub const MAX_MODULE_PX: u32 = 32;

    /// Largest bar height in pixels [`Barcode::to_png`] draws.
    pub const MAX_HEIGHT_PX: u32 = 4096;

    /// Encodes `text` (1 to [`Barcode::MAX_TEXT_CHARS`] printable ASCII characters) as Code 128,
    /// switching between code sets B and C for the narrowest symbol: an all-digit text is
    /// encoded two digits per symbol.
    ///
    /// # Errors
    ///
    /// [`RenderError::BarcodeTextNotEncodable`] for any character outside printable ASCII,
    /// [`RenderError::EmptyBarcodeText`] and [`RenderError::BarcodeTextTooLong`].
    pub fn code128(text: &str) -> Result<Barcode, RenderError> {
        let values = code128::values(text)?;
        Ok(Barcode {
            text: text.to_owned(),
            modules: code128::modules(&values),
        })
    }

    /// The text the barcode carries, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The modules from left to right (`true` = bar), each one narrowest-bar wide: start code,
    /// data, check symbol and stop pattern, without the quiet zones.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }

    /// Modules across the whole symbol, both quiet zones included.
    fn width_with_quiet_zones(&self) -> usize {
        self.modules.len() + 2 * Self::QUIET_ZONE
    }

    /// Whether module `x`, counted from the outer edge of the left quiet zone, is a bar.
    fn is_bar_with_quiet_zone(&self, x: usize) -> bool {
        x.checked_sub(Self::QUIET_ZONE)
            .and_then(|x| self.modules.get(x))
            .is_some_and(|bar| *bar)
    }

    /// A black-on-white 1-bit greyscale PNG, `module_px` pixels per module and `height_px`
    /// pixels tall, quiet zones included: `(modules().len() + 20) * module_px` pixels wide.
    ///
    /// `module_px` is clamped to `1..=`[`Barcode::MAX_MODULE_PX`] and `height_px` to
    /// `1..=`[`Barcode::MAX_HEIGHT_PX`], so the call cannot fail or allocate without bound.
    pub fn to_png(&self, module_px: u32, height_px: u32) -> Vec<u8> {
        let module_px = module_px.clamp(1, Self::MAX_MODULE_PX) as usize;
        let height_px = height_px.clamp(1, Self::MAX_HEIGHT_PX) as usize;
        let width = self.width_with_quiet_zones();
        bitmap::module_grid_png(width, 1, module_px, height_px, |x, _| {
            self.is_bar_with_quiet_zone(x)
        })
    }

    /// An SVG document whose `viewBox` is in modules, quiet zones included, one `<path>` of
    /// bars on a white background.
    ///
    /// The height is 15 % of the width, the least ISO/IEC 15417 allows. The root element has
    /// `preserveAspectRatio="none"`, so a UI may stretch it to any box: a one-dimensional code
    /// reads the same at any height.
    pub fn to_svg(&self) -> String {
        let width = self.width_with_quiet_zones();
        let height = (width * 15).div_ceil(100);
        let mut path = svg::PathBuilder::default();
        for (x, len) in svg::dark_runs(self.modules.iter().copied()) {
            path.rect(x + Self::QUIET_ZONE, 0, len, height);
        }
        svg::document(
            width,
            height,
            &path.finish(),
            r#" preserveAspectRatio="none""#,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_size_and_first_row(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let (w, h) = (reader.info().width, reader.info().height);
        let row = reader.next_row().unwrap().unwrap().data().to_vec();
        (w, h, row)
    }

    #[test]
    fn twenty_digit_code_is_narrow_set_c() {
        let code = Barcode::code128("12345678901234567890").unwrap();
        assert_eq!(code.text(), "12345678901234567890");
        // Start, ten digit pairs, check symbol: 11 modules each, then the 13-module stop.
        assert_eq!(code.modules().len(), 12 * 11 + 13);
    }

    #[test]
    fn png_has_quiet_zones_and_the_requested_size() {
        let code = Barcode::code128("12345678901234567890").unwrap();
        let (w, h, row) = png_size_and_first_row(&code.to_png(3, 80));
        assert_eq!((w, h), ((145 + 20) * 3, 80));
        // Thirty white pixels, then the start code's first bar, two modules wide.
        assert!(row[..30].iter().all(|&p| p == 255));
        assert!(row[30..36].iter().all(|&p| p == 0));
        assert!(row[row.len() - 30..].iter().all(|&p| p == 255));
        // Every pixel column is the colour of its module.
        for (x, &p) in row.iter().enumerate() {
            let module = x / 3;
            let bar = (10..155).contains(&module) && code.modules()[module - 10];
            assert_eq!(p == 0, bar, "pixel {x}");
        }
    }

    #[test]
    fn png_sizes_are_clamped() {
        let code = Barcode::code128("7").unwrap();
        let modules = code.modules().len() as u32 + 20;
        let (w, h, _) = png_size_and_first_row(&code.to_png(0, 0));
        assert_eq!((w, h), (modules, 1));
        let (w, h, _) = png_size_and_first_row(&code.to_png(u32::MAX, u32::MAX));
        assert_eq!(
            (w, h),
            (modules * Barcode::MAX_MODULE_PX, Barcode::MAX_HEIGHT_PX)
        );
    }

    #[test]
    fn svg_has_one_path_of_all_bars_in_a_viewbox_with_quiet_zones() {
        let code = Barcode::code128("EDL 2024").unwrap();
        let svg = code.to_svg();
        let width = code.modules().len() + 20;
        let height = (width * 15).div_ceil(100);
        assert!(svg.contains(&format!("viewBox=\"0 0 {width} {height}\"")));
        assert_eq!(svg.matches("<path ").count(), 1);
        // Start B begins with a two-module bar right after the quiet zone.
        assert!(svg.contains(&format!("d=\"M10 0h2v{height}h-2z")));
        let bars = code
            .modules()
            .iter()
            .zip(code.modules().iter().skip(1))
            .filter(|(a, b)| **a && !**b)
            .count()
            + 1;
        assert_eq!(svg.matches('M').count(), bars);
    }

    #[test]
    fn non_ascii_text_is_rejected() {
        assert!(matches!(
            Barcode::code128("驾驶证"),
            Err(RenderError::BarcodeTextNotEncodable {
                position: 0,
                character: '驾'
            })
        ));
    }
}
