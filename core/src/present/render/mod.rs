//! What a presentation looks like on screen, and reading it back.
//!
//! The wallet's screen shows three renderings of the same rotating presentation:
//!
//! - a QR symbol ([`QrMatrix`]) of the binary payload, byte mode at error-correction level M;
//! - a Code 128 barcode ([`Barcode`]) of a short, usually all-digit code, for laser scanners;
//! - the manual code as plain text (nothing to render here).
//!
//! Phone UIs draw the module matrices themselves; the PNG, SVG and terminal renderers serve the
//! CLI, a desktop verifier and tests. With the `scan` feature, [`scan_png`] reads QR symbols
//! back out of a PNG, treating it as untrusted input.

mod barcode;
mod bitmap;
mod code128;
mod error;
#[cfg(feature = "scan")]
mod grey;
mod qr;
#[cfg(feature = "scan")]
mod scan;
mod svg;
mod terminal;
// Only the scanner's tests read hand-built PNGs.
#[cfg(all(test, feature = "scan"))]
mod test_png;

pub use barcode::Barcode;
pub use error::RenderError;
pub use qr::QrMatrix;
#[cfg(feature = "scan")]
pub use scan::{MAX_SCAN_SIDE, scan_png};
pub use terminal::TerminalBackground;
