//! Small pixel helpers: rectangles, luma, and area-averaging resampling.
//!
//! The checks look at a 12-megapixel photo through much smaller copies; an area average
//! (every source pixel read once) makes those copies in one pass, where a general resize
//! filter over 12 MP would cost more than the whole check is allowed.

use image::metadata::Orientation;
use image::{GrayImage, ImageBuffer, Pixel, RgbImage};

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

/// A decoded photo: its pixels as stored, and the EXIF orientation that turns them into the
/// photo as shown.
///
/// Phones store most portrait photos sideways with an orientation tag. Turning 12 million
/// pixels costs 45–90 ms here, a quarter of the check's budget, and the checks only ever look
/// at small copies; so the turn is applied to those copies instead: a rectangle of the
/// shown photo is mapped to the stored pixels, sampled there, and the small result turned.
pub(crate) struct Photo {
    stored: RgbImage,
    orientation: Orientation,
}

impl Photo {
    pub fn new(stored: RgbImage, orientation: Orientation) -> Photo {
        Photo {
            stored,
            orientation,
        }
    }

    /// Width and height as shown.
    pub fn dimensions(&self) -> (u32, u32) {
        let (w, h) = self.stored.dimensions();
        if swaps_axes(self.orientation) {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// A grey copy as shown, longest side at most `max_side`, and the scale from the photo
    /// to the copy.
    pub fn grey_thumbnail(&self, max_side: u32) -> (GrayImage, f32) {
        let (grey, scale) = grey_thumbnail(&self.stored, max_side);
        (orient(grey, self.orientation), scale)
    }

    /// `rect` of the photo as shown (inside it), sampled to `out_w` × `out_h` as shown.
    pub fn resample(&self, rect: Rect, out_w: u32, out_h: u32) -> RgbImage {
        let stored = self.to_stored(rect);
        let small = if swaps_axes(self.orientation) {
            resample_rgb(&self.stored, stored, out_h, out_w)
        } else {
            resample_rgb(&self.stored, stored, out_w, out_h)
        };
        orient(small, self.orientation)
    }

    /// The stored-pixel rectangle that shows as `rect`.
    fn to_stored(&self, r: Rect) -> Rect {
        let (w, h) = (self.stored.width() as f32, self.stored.height() as f32);
        // Continuous (pixel-edge) coordinates: the inverse of the turn, applied to corners.
        let map = |x: f32, y: f32| match self.orientation {
            Orientation::NoTransforms => (x, y),
            Orientation::Rotate90 => (y, h - x),
            Orientation::Rotate180 => (w - x, h - y),
            Orientation::Rotate270 => (w - y, x),
            Orientation::FlipHorizontal => (w - x, y),
            Orientation::FlipVertical => (x, h - y),
            Orientation::Rotate90FlipH => (y, x),
            Orientation::Rotate270FlipH => (w - y, h - x),
        };
        let (ax, ay) = map(r.x, r.y);
        let (bx, by) = map(r.right(), r.bottom());
        Rect {
            x: ax.min(bx),
            y: ay.min(by),
            w: (ax - bx).abs(),
            h: (ay - by).abs(),
        }
    }
}

fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `src` turned as `orientation` says (the same result as `image`'s `apply_orientation`).
pub(crate) fn orient<P>(
    src: ImageBuffer<P, Vec<u8>>,
    orientation: Orientation,
) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8>,
{
    let (w, h) = src.dimensions();
    // Each arm names where output pixel (x, y) comes from; `remap` is generic over it so the
    // mapping is inlined into the copy loop.
    match orientation {
        Orientation::NoTransforms => src,
        Orientation::Rotate90 => remap(&src, h, w, |x, y| (y, h - 1 - x)),
        Orientation::Rotate180 => remap(&src, w, h, |x, y| (w - 1 - x, h - 1 - y)),
        Orientation::Rotate270 => remap(&src, h, w, |x, y| (w - 1 - y, x)),
        Orientation::FlipHorizontal => remap(&src, w, h, |x, y| (w - 1 - x, y)),
        Orientation::FlipVertical => remap(&src, w, h, |x, y| (x, h - 1 - y)),
        Orientation::Rotate90FlipH => remap(&src, h, w, |x, y| (y, x)),
        Orientation::Rotate270FlipH => remap(&src, h, w, |x, y| (w - 1 - y, h - 1 - x)),
    }
}

/// An `ow` × `oh` image whose pixel (x, y) is `src`'s pixel `from(x, y)`, walked in small
/// tiles so both images' rows stay in cache.
fn remap<P>(
    src: &ImageBuffer<P, Vec<u8>>,
    ow: u32,
    oh: u32,
    from: impl Fn(u32, u32) -> (u32, u32),
) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8>,
{
    const TILE: u32 = 16;
    let c = usize::from(P::CHANNEL_COUNT);
    let w = src.width() as usize;
    let raw: &[u8] = src.as_raw();
    let mut out = ImageBuffer::<P, Vec<u8>>::new(ow, oh);
    let dst: &mut [u8] = &mut out;
    for ty in (0..oh).step_by(TILE as usize) {
        for tx in (0..ow).step_by(TILE as usize) {
            for y in ty..(ty + TILE).min(oh) {
                let row = y as usize * ow as usize;
                for x in tx..(tx + TILE).min(ow) {
                    let (sx, sy) = from(x, y);
                    let s = (sy as usize * w + sx as usize) * c;
                    let d = (row + x as usize) * c;
                    if let (Some(to), Some(px)) = (dst.get_mut(d..d + c), raw.get(s..s + c)) {
                        to.copy_from_slice(px);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orient_agrees_with_image_for_every_orientation() {
        let mut src = RgbImage::new(37, 70);
        for (i, p) in src.pixels_mut().enumerate() {
            *p = image::Rgb([i as u8, (i / 256) as u8, (i * 7) as u8]);
        }
        for exif in 1..=8 {
            let o = Orientation::from_exif(exif).unwrap();
            let mut expected = image::DynamicImage::ImageRgb8(src.clone());
            expected.apply_orientation(o);
            assert_eq!(
                orient(src.clone(), o),
                expected.into_rgb8(),
                "EXIF orientation {exif}"
            );
        }
    }

    #[test]
    fn sampling_a_turned_photo_equals_sampling_the_turned_pixels() {
        let mut src = RgbImage::new(40, 60);
        for (x, y, p) in src.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 6) as u8, (y * 4) as u8, ((x + y) * 3) as u8]);
        }
        let rect = Rect {
            x: 4.0,
            y: 8.0,
            w: 24.0,
            h: 30.0,
        };
        for exif in 1..=8 {
            let o = Orientation::from_exif(exif).unwrap();
            let shown = orient(src.clone(), o);
            let (sw, sh) = shown.dimensions();
            let rect = rect.clip(sw, sh).unwrap();
            let photo = Photo::new(src.clone(), o);
            assert_eq!(photo.dimensions(), (sw, sh));
            assert_eq!(
                photo.resample(rect, 12, 15),
                resample_rgb(&shown, rect, 12, 15),
                "EXIF orientation {exif}"
            );
            let (grey, _) = photo.grey_thumbnail(20);
            assert_eq!(
                grey,
                grey_thumbnail(&shown, 20).0,
                "EXIF orientation {exif}"
            );
        }
    }

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
