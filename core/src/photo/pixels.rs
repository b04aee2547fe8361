//! Small pixel helpers: rectangles, luma, and area-averaging resampling.
//!
//! The checks look at a 12-megapixel photo through much smaller copies; an area average
//! (every source pixel read once) makes those copies in one pass, where a general resize
//! filter over 12 MP would cost more than the whole check is allowed.

use image::{GrayImage, RgbImage};

/// A rectangle in pixel coordinates of some image; may be fractional and may reach outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// The part of this rectangle inside a `width` × `height` image, or `None` if less than
    /// one pixel of it is.
    pub fn clip(&self, width: u32, height: u32) -> Option<Rect> {
        let x0 = self.x.max(0.0);
        let y0 = self.y.max(0.0);
        let x1 = self.right().min(width as f32);
        let y1 = self.bottom().min(height as f32);
        (x1 - x0 >= 1.0 && y1 - y0 >= 1.0).then_some(Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        })
    }
}

/// BT.601 luma, as JPEG uses, 0–255.
pub(crate) fn luma(p: [u8; 3]) -> u8 {
    ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114 + 500) / 1000) as u8
}

/// For each of `out` output cells along one axis, the source index range it averages over:
/// `[start, end)`, at least one pixel, inside `0..limit`.
fn spans(origin: f32, extent: f32, out: u32, limit: u32) -> Vec<(u32, u32)> {
    let step = extent / out as f32;
    let max = limit.saturating_sub(1);
    (0..out)
        .map(|i| {
            let a = origin + step * i as f32;
            let b = origin + step * (i + 1) as f32;
            let start = (a.floor().max(0.0) as u32).min(max);
            let end = (b.ceil().max(0.0) as u32).clamp(start + 1, limit);
            (start, end)
        })
        .collect()
}

/// Samples `rect` (clipped to the image by the caller) of `src` into an `out_w` × `out_h`
/// image by averaging every source pixel under each output pixel.
pub(crate) fn resample_rgb(src: &RgbImage, rect: Rect, out_w: u32, out_h: u32) -> RgbImage {
    let (sw, sh) = src.dimensions();
    let xs = spans(rect.x, rect.w, out_w, sw);
    let ys = spans(rect.y, rect.h, out_h, sh);
    let raw = src.as_raw();
    let stride = sw as usize * 3;
    let mut out = RgbImage::new(out_w, out_h);
    let mut acc = vec![[0u32; 3]; out_w as usize];
    for (oy, &(y0, y1)) in ys.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = [0; 3]);
        for y in y0..y1 {
            let row = &raw[y as usize * stride..(y as usize + 1) * stride];
            for (a, &(x0, x1)) in acc.iter_mut().zip(&xs) {
                for px in row[x0 as usize * 3..x1 as usize * 3].chunks_exact(3) {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
            }
        }
        for (ox, (a, &(x0, x1))) in acc.iter().zip(&xs).enumerate() {
            let n = (x1 - x0) * (y1 - y0);
            let p = [
                ((a[0] + n / 2) / n) as u8,
                ((a[1] + n / 2) / n) as u8,
                ((a[2] + n / 2) / n) as u8,
            ];
            out.put_pixel(ox as u32, oy as u32, image::Rgb(p));
        }
    }
    out
}

/// A grey copy of the whole of `src` whose longest side is at most `max_side` (never
/// enlarged), by averaging samples under each output pixel. Returns the copy and the scale
/// from source to copy.
///
/// The copy only feeds the face detector, so when each output pixel covers many source
/// pixels it averages every `stride`-th row and column of them (about three per axis): a
/// 12-megapixel photo costs a quarter of a full pass, still without aliasing the detector
/// would notice.
pub(crate) fn grey_thumbnail(src: &RgbImage, max_side: u32) -> (GrayImage, f32) {
    let (w, h) = src.dimensions();
    let longest = w.max(h);
    let scale = if longest > max_side {
        max_side as f32 / longest as f32
    } else {
        1.0
    };
    let out_w = ((w as f32 * scale).round() as u32).max(1);
    let out_h = ((h as f32 * scale).round() as u32).max(1);
    let stride = ((1.0 / scale / 3.0) as usize).max(1);
    let xs = spans(0.0, w as f32, out_w, w);
    let ys = spans(0.0, h as f32, out_h, h);
    let raw = src.as_raw();
    let stride_bytes = w as usize * 3;
    let mut out = GrayImage::new(out_w, out_h);
    let mut acc = vec![(0u32, 0u32); out_w as usize];
    for (oy, &(y0, y1)) in ys.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = (0, 0));
        for y in (y0..y1).step_by(stride) {
            let row = &raw[y as usize * stride_bytes..(y as usize + 1) * stride_bytes];
            for (a, &(x0, x1)) in acc.iter_mut().zip(&xs) {
                for px in row[x0 as usize * 3..x1 as usize * 3]
                    .chunks_exact(3)
                    .step_by(stride)
                {
                    a.0 += u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114;
                    a.1 += 1;
                }
            }
        }
        for (ox, &(sum, n)) in acc.iter().enumerate() {
            let n = n.max(1) * 1000;
            out.put_pixel(
                ox as u32,
                oy as u32,
                image::Luma([((sum + n / 2) / n) as u8]),
            );
        }
    }
    let actual = out_w as f32 / w as f32;
    (out, actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_average_of_a_two_tone_image() {
        let mut img = RgbImage::new(4, 2);
        for y in 0..2 {
            for x in 0..4 {
                let v = if x < 2 { 0 } else { 200 };
                img.put_pixel(x, y, image::Rgb([v, v, v]));
            }
        }
        let out = resample_rgb(
            &img,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 4.0,
                h: 2.0,
            },
            2,
            1,
        );
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(1, 0).0, [200, 200, 200]);
        let (grey, scale) = grey_thumbnail(&img, 2);
        assert_eq!(grey.dimensions(), (2, 1));
        assert!((scale - 0.5).abs() < 1e-6);
        assert_eq!(grey.get_pixel(1, 0).0, [200]);
    }

    #[test]
    fn clip_keeps_the_inside_part() {
        let r = Rect {
            x: -10.0,
            y: 5.0,
            w: 30.0,
            h: 100.0,
        };
        assert_eq!(
            r.clip(15, 50),
            Some(Rect {
                x: 0.0,
                y: 5.0,
                w: 15.0,
                h: 45.0
            })
        );
        assert_eq!(
            Rect {
                x: 20.0,
                y: 0.0,
                w: 5.0,
                h: 5.0
            }
            .clip(15, 50),
            None
        );
    }
}
