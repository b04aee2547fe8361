//! Text-art rendering of a module grid with Unicode half blocks.

/// The background colour of the terminal the art is printed on; it decides which modules the
/// glyphs paint, so the symbol reaches the camera dark-on-light either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalBackground {
    /// Light text on a dark background, the usual terminal default: glyphs paint the light
    /// modules and the quiet zone (an inverted drawing that shows the right way round).
    Dark,
    /// Dark text on a light background: glyphs paint the dark modules, the quiet zone is blank.
    Light,
}

/// Draws a `side`×`side` grid (quiet zone included) two module rows per line, so modules come
/// out roughly square in the usual 1:2 character cell. `dark(x, y)` tells the dark modules; a
/// missing last row (odd `side`) is background.
pub(crate) fn half_blocks(
    side: usize,
    background: TerminalBackground,
    dark: impl Fn(usize, usize) -> bool,
) -> String {
    let painted = |x: usize, y: usize| {
        y < side
            && match background {
                TerminalBackground::Dark => !dark(x, y),
                TerminalBackground::Light => dark(x, y),
            }
    };
    let lines = side.div_ceil(2);
    // Each glyph is 3 bytes of UTF-8 (a space is 1), plus the newline.
    let mut out = String::with_capacity(lines * (side * 3 + 1));
    for line in 0..lines {
        let (top, bottom) = (2 * line, 2 * line + 1);
        for x in 0..side {
            out.push(match (painted(x, top), painted(x, bottom)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_half_block_matches_its_two_modules() {
        // Columns: both dark, top dark, bottom dark, both light.
        let dark = |x: usize, y: usize| matches!((x, y), (0, _) | (1, 0) | (2, 1));
        let light_terminal = half_blocks(4, TerminalBackground::Light, dark);
        assert_eq!(light_terminal.lines().next().unwrap(), "█▀▄ ");
        let dark_terminal = half_blocks(4, TerminalBackground::Dark, dark);
        assert_eq!(dark_terminal.lines().next().unwrap(), " ▄▀█");
    }

    #[test]
    fn odd_side_leaves_the_last_half_line_as_background() {
        let art = half_blocks(3, TerminalBackground::Dark, |_, _| false);
        assert_eq!(art, "███\n▀▀▀\n");
    }
}
