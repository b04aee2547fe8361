//! Light and sharpness: background, face lighting, exposure and blur, measured on a copy of
//! the licence crop at archive scale (260 px wide), so every figure means the same whatever
//! the camera's resolution.

use image::RgbImage;

use super::face::Detection;
use super::frame::Head;
use super::pixels::luma;
use super::report::{PhotoProblem, Side};
use super::spec::{
    BACKGROUND_MAX_CHROMA, BACKGROUND_MAX_SIDE_DIFF, BACKGROUND_MAX_SPREAD, BACKGROUND_MIN_LUMA,
    FACE_MAX_CLIPPED_HIGH, FACE_MAX_CLIPPED_LOW, FACE_MIN_MEAN_LUMA, FACE_MIN_SIDE_RATIO,
    MIN_SHARPNESS,
};

/// Below this many background pixels (a face filling the frame) the background is not judged.
const MIN_BACKGROUND_PIXELS: usize = 200;

/// The measurements, kept for tests and calibration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Measures {
    pub background_pixels: usize,
    pub background_luma: f32,
    pub background_chroma: f32,
    pub background_left: f32,
    pub background_right: f32,
    pub background_spread: f32,
    pub face_left: f32,
    pub face_right: f32,
    pub face_mean: f32,
    pub face_clipped_high: f32,
    pub face_clipped_low: f32,
    pub sharpness: f32,
}

/// Where things are in the analysis image.
pub(crate) struct Layout {
    /// The face box, in analysis pixels.
    pub face: Detection,
    /// The head estimate, in analysis pixels.
    pub head: Head,
}

/// Measures the analysis image and returns the problems found, in report order.
pub(crate) fn analyse(img: &RgbImage, layout: &Layout) -> (Vec<PhotoProblem>, Measures) {
    let mut m = Measures::default();
    let mut problems = Vec::new();
    background(img, layout, &mut m, &mut problems);
    face_light(img, layout, &mut m, &mut problems);
    (problems, m)
}

fn background(img: &RgbImage, layout: &Layout, m: &mut Measures, problems: &mut Vec<PhotoProblem>) {
    let (w, h) = img.dimensions();
    let f = &layout.face;
    let head = &layout.head;
    // The head with its hair, as an ellipse from crown to chin, widened by 15 % so the hair's
    // edge is left out; below the mouth line the shoulders (or a collar) may begin.
    let cy = (head.crown + head.chin) / 2.0;
    let ry = head.length() / 2.0 * 1.15;
    let rx = 0.8 * f.size * 1.15;
    let lowest = (f.y + 0.6 * f.size).clamp(0.0, h as f32) as u32;

    let (mut n, mut sum, mut sum_sq, mut chroma) = (0usize, 0f64, 0f64, 0f64);
    let (mut nl, mut sl, mut nr, mut sr) = (0usize, 0f64, 0usize, 0f64);
    for y in 0..lowest {
        for x in 0..w {
            let dx = (x as f32 + 0.5 - head.cx) / rx;
            let dy = (y as f32 + 0.5 - cy) / ry;
            if dx * dx + dy * dy <= 1.0 {
                continue;
            }
            let p = img.get_pixel(x, y).0;
            let l = f64::from(luma(p));
            n += 1;
            sum += l;
            sum_sq += l * l;
            let max = p.iter().max().copied().unwrap_or(0);
            let min = p.iter().min().copied().unwrap_or(0);
            chroma += f64::from(max - min);
            if (x as f32) < head.cx {
                nl += 1;
                sl += l;
            } else {
                nr += 1;
                sr += l;
            }
        }
    }
    m.background_pixels = n;
    if n < MIN_BACKGROUND_PIXELS {
        return;
    }
    let mean = sum / n as f64;
    m.background_luma = mean as f32;
    m.background_chroma = (chroma / n as f64) as f32;
    m.background_spread = (sum_sq / n as f64 - mean * mean).max(0.0).sqrt() as f32;
    m.background_left = if nl > 0 {
        (sl / nl as f64) as f32
    } else {
        m.background_luma
    };
    m.background_right = if nr > 0 {
        (sr / nr as f64) as f32
    } else {
        m.background_luma
    };

    if m.background_luma < BACKGROUND_MIN_LUMA {
        problems.push(PhotoProblem::BackgroundNotWhite {
            luma: m.background_luma.round() as u8,
        });
    }
    if m.background_chroma > BACKGROUND_MAX_CHROMA {
        problems.push(PhotoProblem::BackgroundTinted);
    }
    // Both sides must have been seen for a left/right comparison to mean anything.
    let sides_seen = nl >= MIN_BACKGROUND_PIXELS / 4 && nr >= MIN_BACKGROUND_PIXELS / 4;
    let diff = m.background_left - m.background_right;
    if sides_seen && diff.abs() > BACKGROUND_MAX_SIDE_DIFF {
        let darker = if diff < 0.0 { Side::Left } else { Side::Right };
        problems.push(PhotoProblem::BackgroundUneven {
            darker: Some(darker),
        });
    } else if m.background_spread > BACKGROUND_MAX_SPREAD {
        problems.push(PhotoProblem::BackgroundUneven { darker: None });
    }
}

/// The inner part of the face box (skin, eyes, nose, mouth; little hair or background),
/// clipped to the image: `(x0, y0, x1, y1)`.
fn inner_face(img: &RgbImage, f: &Detection) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = img.dimensions();
    let x0 = (f.x + 0.15 * f.size).max(0.0) as u32;
    let x1 = ((f.x + 0.85 * f.size).max(0.0) as u32).min(w);
    let y0 = (f.y + 0.10 * f.size).max(0.0) as u32;
    let y1 = ((f.y + 0.90 * f.size).max(0.0) as u32).min(h);
    (x1 >= x0 + 8 && y1 >= y0 + 8).then_some((x0, y0, x1, y1))
}

fn face_light(img: &RgbImage, layout: &Layout, m: &mut Measures, problems: &mut Vec<PhotoProblem>) {
    let f = &layout.face;
    let Some((x0, y0, x1, y1)) = inner_face(img, f) else {
        return;
    };
    let mid = f.x + f.size / 2.0;
    let (mut n, mut sum, mut high, mut low) = (0usize, 0f64, 0usize, 0usize);
    let (mut nl, mut sl, mut nr, mut sr) = (0usize, 0f64, 0usize, 0f64);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            let l = f64::from(luma(p));
            n += 1;
            sum += l;
            if p.iter().any(|&c| c >= 250) {
                high += 1;
            }
            if p.iter().all(|&c| c <= 20) {
                low += 1;
            }
            if (x as f32 + 0.5) < mid {
                nl += 1;
                sl += l;
            } else {
                nr += 1;
                sr += l;
            }
        }
    }
    m.face_mean = (sum / n as f64) as f32;
    m.face_clipped_high = high as f32 / n as f32;
    m.face_clipped_low = low as f32 / n as f32;
    m.face_left = (sl / nl.max(1) as f64) as f32;
    m.face_right = (sr / nr.max(1) as f64) as f32;
    m.sharpness = sharpness(img, (x0, y0, x1, y1));

    let underexposed =
        m.face_mean < FACE_MIN_MEAN_LUMA || m.face_clipped_low > FACE_MAX_CLIPPED_LOW;
    let overexposed = m.face_clipped_high > FACE_MAX_CLIPPED_HIGH;
    // Lighting balance means nothing on a face that is mostly black or white.
    let (darker, brighter) = if m.face_left < m.face_right {
        (Side::Left, m.face_right)
    } else {
        (Side::Right, m.face_left)
    };
    let ratio = m.face_left.min(m.face_right) / brighter.max(1.0);
    if !underexposed && !overexposed && ratio < FACE_MIN_SIDE_RATIO {
        problems.push(PhotoProblem::FaceLightingUneven { darker });
    }
    if underexposed {
        problems.push(PhotoProblem::Underexposed);
    }
    if overexposed {
        problems.push(PhotoProblem::Overexposed);
    }
    // A blown-out or black face has lost its detail to clipping, not to focus.
    if !underexposed && !overexposed && m.sharpness < MIN_SHARPNESS {
        problems.push(PhotoProblem::Blurred);
    }
}

/// Variance of the 4-neighbour Laplacian of the grey face over the variance of the grey face
/// itself: how much of the face's contrast is in fine detail.
fn sharpness(img: &RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f32 {
    let g = |x: u32, y: u32| f64::from(luma(img.get_pixel(x, y).0));
    let (mut n, mut s, mut s2) = (0f64, 0f64, 0f64);
    let (mut gs, mut gs2) = (0f64, 0f64);
    for y in y0 + 1..y1 - 1 {
        for x in x0 + 1..x1 - 1 {
            let c = g(x, y);
            let lap = g(x - 1, y) + g(x + 1, y) + g(x, y - 1) + g(x, y + 1) - 4.0 * c;
            n += 1.0;
            s += lap;
            s2 += lap * lap;
            gs += c;
            gs2 += c * c;
        }
    }
    if n < 1.0 {
        return 0.0;
    }
    let lap_var = s2 / n - (s / n).powi(2);
    let grey_var = gs2 / n - (gs / n).powi(2);
    if grey_var < 1.0 {
        // A flat face region has no detail to judge; call it blurred rather than divide by 0.
        return 0.0;
    }
    (lap_var / grey_var) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 260 × 378 archive-scale crop: background `bg(x, y)`, a textured mid-grey face
    /// box at (65, 110) of side 130, the head around it.
    fn crop(bg: impl Fn(u32, u32) -> [u8; 3]) -> (RgbImage, Layout) {
        let face = Detection {
            x: 65.0,
            y: 110.0,
            size: 130.0,
            score: 10.0,
        };
        let head = Head::from_face(&face);
        let img = RgbImage::from_fn(260, 378, |x, y| {
            let inside = |a: f32, b: f32, v: f32| v >= a && v < b;
            if inside(face.x, face.x + face.size, x as f32)
                && inside(face.y, face.y + face.size, y as f32)
            {
                // Fine detail: a 2-px checker of 120/200.
                let v = if (x / 2 + y / 2) % 2 == 0 { 120 } else { 200 };
                image::Rgb([v, v, v])
            } else {
                image::Rgb(bg(x, y))
            }
        });
        (img, Layout { face, head })
    }

    #[test]
    fn white_background_and_a_sharp_even_face_pass() {
        let (img, layout) = crop(|_, _| [255, 255, 255]);
        let (problems, m) = analyse(&img, &layout);
        assert_eq!(problems, [], "{m:?}");
        assert!(m.background_pixels > 2000, "{m:?}");
    }

    #[test]
    fn patchy_background_is_uneven_without_a_side() {
        // 20-px blocks alternating white and light grey: bright enough, balanced, patchy.
        let (img, layout) = crop(|x, y| {
            if (x / 20 + y / 20) % 2 == 0 {
                [255; 3]
            } else {
                [175; 3]
            }
        });
        let (problems, m) = analyse(&img, &layout);
        assert_eq!(
            problems,
            [PhotoProblem::BackgroundUneven { darker: None }],
            "{m:?}"
        );
    }

    #[test]
    fn flat_face_is_blurred() {
        let (mut img, layout) = crop(|_, _| [255, 255, 255]);
        for y in 110..240 {
            for x in 65..195 {
                img.put_pixel(x, y, image::Rgb([150, 150, 150]));
            }
        }
        assert_eq!(analyse(&img, &layout).0, [PhotoProblem::Blurred]);
    }
}
