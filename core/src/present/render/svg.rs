//! SVG output shared by the QR and barcode renderers.

use std::fmt::Write;

/// Builds the `d` attribute of one `<path>` out of axis-aligned rectangles.
#[derive(Default)]
pub(crate) struct PathBuilder {
    d: String,
}

impl PathBuilder {
    /// Adds a `w`×`h` rectangle with its top-left corner at (`x`, `y`).
    pub(crate) fn rect(&mut self, x: usize, y: usize, w: usize, h: usize) {
        // Writing into a String cannot fail.
        let _ = write!(self.d, "M{x} {y}h{w}v{h}h-{w}z");
    }

    /// The finished path data.
    pub(crate) fn finish(self) -> String {
        self.d
    }
}

/// The runs of consecutive dark modules in a row, as (start, length).
pub(crate) fn dark_runs(row: impl Iterator<Item = bool>) -> impl Iterator<Item = (usize, usize)> {
    let mut row = row.enumerate().peekable();
    std::iter::from_fn(move || {
        let (start, _) = row.find(|(_, dark)| *dark)?;
        let mut len = 1;
        while row.next_if(|(_, dark)| *dark).is_some() {
            len += 1;
        }
        Some((start, len))
    })
}

/// A complete SVG document of `width`×`height` user units (modules): a white background and the
/// dark `path`, black. `extra` goes verbatim into the root element.
///
/// `crispEdges` keeps renderers from anti-aliasing module edges, which would otherwise leave
/// faint seams between adjacent runs and grey fringes a scanner has to threshold away.
pub(crate) fn document(width: usize, height: usize, path: &str, extra: &str) -> String {
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" "#,
            r#"shape-rendering="crispEdges"{extra}>"#,
            r##"<rect width="{w}" height="{h}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##,
        ),
        w = width,
        h = height,
        extra = extra,
        path = path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_runs_find_every_run_with_its_length() {
        let row = [true, true, false, true, false, false, true, true, true];
        let runs: Vec<_> = dark_runs(row.into_iter()).collect();
        assert_eq!(runs, vec![(0, 2), (3, 1), (6, 3)]);
        assert_eq!(dark_runs([false; 4].into_iter()).count(), 0);
    }

    #[test]
    fn document_wraps_the_path_in_a_sized_white_page() {
        let mut path = PathBuilder::default();
        path.rect(1, 2, 3, 4);
        let svg = document(10, 20, &path.finish(), "");
        assert!(svg.contains(r#"viewBox="0 0 10 20""#));
        assert!(svg.contains(r#"d="M1 2h3v4h-3z""#));
        assert!(svg.ends_with("</svg>"));
    }
}
