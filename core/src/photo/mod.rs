//! The licence photo on the phone: the checks that can honestly run there, and the
//! normalisation of a photo into the JPEG that is submitted.
//!
//! [`check_photo`] decodes a JPEG or PNG (applying its EXIF orientation), finds the face with
//! an on-device SeetaFace detector and reports every problem it finds as a typed
//! [`PhotoProblem`] with a hint, so the driver fixes the photo before waiting a working day
//! for the reviewer. The rules only a person can judge (hat, mask, make-up, …) are listed as
//! [`ReviewerRule`]s, never claimed. [`normalise_photo`] crops around the face to the
//! licence proportions, resizes to 520 × 756 and re-encodes a JPEG from the pixels, which
//! leaves every piece of metadata (EXIF, GPS, …) behind. The figures are in [`spec`] and
//! `docs/PHOTO.md`.
//!
//! Behind the `photo` cargo feature, so the authority and verifier-only builds leave the
//! image stack out.

mod analyse;
mod decode;
mod error;
mod face;
mod frame;
mod pixels;
mod report;
pub mod spec;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use sha2::{Digest, Sha256};

pub use error::PhotoError;
pub use face::load_face_model;
pub use report::{Edge, FaceBox, PhotoProblem, PhotoReport, ReviewerRule, Side};

use analyse::Layout;
use face::Detection;
use frame::{Framing, Head};
use pixels::{Photo, Rect};
use spec::{
    ARCHIVE, DETECT_MAX_SIDE, IMAGE_MIN_MEAN_LUMA, MIN_CROP_HEIGHT, MIN_CROP_WIDTH, OUTPUT_HEIGHT,
    OUTPUT_MAX_BYTES, OUTPUT_MIN_QUALITY, OUTPUT_QUALITY, OUTPUT_WIDTH,
};

/// The photo as it is submitted: a baseline JPEG of [`OUTPUT_WIDTH`] × [`OUTPUT_HEIGHT`]
/// pixels with no metadata, at most [`OUTPUT_MAX_BYTES`].
#[derive(Clone, PartialEq, Eq)]
pub struct NormalisedPhoto {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// SHA-256 of `jpeg`: the photo digest a credential and an idempotent upload refer to.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for NormalisedPhoto {
    // A face is personal data: debug output shows the size and digest, never the bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NormalisedPhoto")
            .field("bytes", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("sha256", &hex::encode(self.sha256))
            .finish()
    }
}

/// Both results from one decode: what [`check_photo`] reports and, when the photo passes,
/// what [`normalise_photo`] makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    /// The check's findings.
    pub report: PhotoReport,
    /// The photo to submit; `None` unless [`PhotoReport::passes`].
    pub normalised: Option<NormalisedPhoto>,
}

/// Checks a photo the driver took or picked.
///
/// `Err` only for bytes that cannot be a photo at all (not JPEG/PNG, corrupt, too large a
/// file or image); a photo with something wrong in it is an `Ok` report listing every
/// problem.
pub fn check_photo(bytes: &[u8]) -> Result<PhotoReport, PhotoError> {
    let img = decode::decode(bytes)?;
    Ok(inspect(&img, true)?.report)
}

/// Crops the photo around the face to the licence proportions (head placed per the spec),
/// resizes it to [`OUTPUT_WIDTH`] × [`OUTPUT_HEIGHT`] and encodes a fresh JPEG with no
/// metadata.
///
/// It does not judge light or background (that is [`check_photo`]'s job); it fails with
/// [`PhotoError::CannotFrame`] when no licence crop can be cut: no single face, or the face
/// too small, too large or too near an edge.
pub fn normalise_photo(bytes: &[u8]) -> Result<NormalisedPhoto, PhotoError> {
    let img = decode::decode(bytes)?;
    let inspection = inspect(&img, false)?;
    match inspection.crop {
        Some(crop) => render(&img, crop),
        None => Err(PhotoError::CannotFrame(inspection.report.problems)),
    }
}

/// [`check_photo`] and, if the photo passes, [`normalise_photo`], decoding it once.
pub fn prepare_photo(bytes: &[u8]) -> Result<PreparedPhoto, PhotoError> {
    let img = decode::decode(bytes)?;
    let inspection = inspect(&img, true)?;
    let normalised = match inspection.crop {
        Some(crop) if inspection.report.passes() => Some(render(&img, crop)?),
        _ => None,
    };
    Ok(PreparedPhoto {
        report: inspection.report,
        normalised,
    })
}

/// A report, and the licence crop when one fits.
struct Inspection {
    report: PhotoReport,
    crop: Option<Rect>,
}

/// Detects, frames and (if `light`) analyses `img`.
fn inspect(img: &Photo, light: bool) -> Result<Inspection, PhotoError> {
    let (width, height) = img.dimensions();
    let (grey, scale) = img.grey_thumbnail(DETECT_MAX_SIDE);
    let faces = face::detect(&grey)?;

    let mut problems = Vec::new();
    let mut crop = None;
    let mut face_box = None;
    let small_photo = width < MIN_CROP_WIDTH || height < MIN_CROP_HEIGHT;
    match faces.as_slice() {
        [found] => {
            let face = &to_source(found, scale);
            face_box = Some(to_face_box(face, width, height));
            let head = to_source_head(&Head::measured(found, &grey), scale);
            let analysed = match frame::frame(&head, width, height) {
                Framing::Fits(rect) => {
                    crop = Some(rect);
                    rect
                }
                Framing::Fails {
                    problems: framing,
                    ideal,
                } => {
                    problems.extend(framing);
                    ideal
                }
            };
            if light {
                problems.extend(analyse_crop(img, face, &head, analysed));
            }
        }
        [] => {
            if small_photo {
                problems.push(PhotoProblem::ResolutionTooLow { width, height });
            }
            problems.push(PhotoProblem::NoFace);
            if light && mean(&grey) < IMAGE_MIN_MEAN_LUMA {
                problems.push(PhotoProblem::Underexposed);
            }
        }
        several => {
            if small_photo {
                problems.push(PhotoProblem::ResolutionTooLow { width, height });
            }
            problems.push(PhotoProblem::MoreThanOneFace {
                count: several.len() as u32,
            });
        }
    }
    Ok(Inspection {
        report: PhotoReport {
            problems,
            left_to_reviewer: ReviewerRule::ALL.to_vec(),
            face: face_box,
            width,
            height,
        },
        crop,
    })
}

/// Light and sharpness problems, measured on the part of `crop` inside the photo, scaled so
/// the crop is as wide as the archive photo.
fn analyse_crop(img: &Photo, face: &Detection, head: &Head, crop: Rect) -> Vec<PhotoProblem> {
    let (width, height) = img.dimensions();
    let Some(inside) = crop.clip(width, height) else {
        return Vec::new();
    };
    let k = ARCHIVE.0 / crop.w;
    let aw = ((inside.w * k).round() as u32).max(1);
    let ah = ((inside.h * k).round() as u32).max(1);
    let small = img.resample(inside, aw, ah);
    let layout = Layout {
        face: Detection {
            x: (face.x - inside.x) * k,
            y: (face.y - inside.y) * k,
            size: face.size * k,
            score: face.score,
        },
        head: Head {
            cx: (head.cx - inside.x) * k,
            crown: (head.crown - inside.y) * k,
            chin: (head.chin - inside.y) * k,
        },
    };
    analyse::analyse(&small, &layout).0
}

/// A detection in the grey copy, in pixels of the photo.
fn to_source(d: &Detection, scale: f32) -> Detection {
    Detection {
        x: d.x / scale,
        y: d.y / scale,
        size: d.size / scale,
        score: d.score,
    }
}

fn to_source_head(h: &Head, scale: f32) -> Head {
    Head {
        cx: h.cx / scale,
        crown: h.crown / scale,
        chin: h.chin / scale,
    }
}

fn to_face_box(face: &Detection, width: u32, height: u32) -> FaceBox {
    let x0 = face.x.clamp(0.0, width as f32);
    let y0 = face.y.clamp(0.0, height as f32);
    let x1 = (face.x + face.size).clamp(0.0, width as f32);
    let y1 = (face.y + face.size).clamp(0.0, height as f32);
    FaceBox {
        x: x0.round() as u32,
        y: y0.round() as u32,
        width: (x1 - x0).round() as u32,
        height: (y1 - y0).round() as u32,
    }
}

fn mean(grey: &image::GrayImage) -> f32 {
    let n = grey.as_raw().len().max(1);
    grey.as_raw().iter().map(|&v| u64::from(v)).sum::<u64>() as f32 / n as f32
}

/// Cuts `crop` (inside the photo) out of `img`, resizes it to the output size and encodes it.
fn render(img: &Photo, crop: Rect) -> Result<NormalisedPhoto, PhotoError> {
    let (width, height) = img.dimensions();
    let inside = crop.clip(width, height).ok_or(PhotoError::Encode)?;
    // Area-average down to twice the output size first (one cheap pass over a large crop),
    // then a Catmull-Rom filter for the final, sharp step.
    let twice = (2 * OUTPUT_WIDTH, 2 * OUTPUT_HEIGHT);
    let (iw, ih) = if inside.w > twice.0 as f32 {
        twice
    } else {
        (
            (inside.w.round() as u32).max(1),
            (inside.h.round() as u32).max(1),
        )
    };
    let staged = img.resample(inside, iw, ih);
    let out = imageops::resize(&staged, OUTPUT_WIDTH, OUTPUT_HEIGHT, FilterType::CatmullRom);

    let mut quality = OUTPUT_QUALITY;
    loop {
        let mut jpeg = Vec::with_capacity(OUTPUT_MAX_BYTES);
        // Encoded from pixels alone: no EXIF, GPS, ICC or XMP from the input can survive.
        JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(&out)
            .map_err(|_| PhotoError::Encode)?;
        if jpeg.len() <= OUTPUT_MAX_BYTES {
            let sha256: [u8; 32] = Sha256::digest(&jpeg).into();
            return Ok(NormalisedPhoto {
                jpeg,
                width: OUTPUT_WIDTH,
                height: OUTPUT_HEIGHT,
                sha256,
            });
        }
        if quality <= OUTPUT_MIN_QUALITY {
            return Err(PhotoError::EncodedTooLarge);
        }
        quality -= 5;
    }
}

#[cfg(test)]
mod calibration {
    //! Prints the measurements behind the thresholds for every fixture:
    //! `cargo test -p edl-core --lib photo::calibration -- --ignored --nocapture`.
    use super::*;

    #[test]
    #[ignore = "prints measurements for calibrating the thresholds"]
    fn print_measures() {
        let dir = std::env::var("PHOTO_CALIBRATION_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/photos").into());
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        names.sort();
        for path in names {
            let bytes = std::fs::read(&path).unwrap();
            let img = decode::decode(&bytes).unwrap();
            let (grey, scale) = img.grey_thumbnail(DETECT_MAX_SIDE);
            let faces = face::detect(&grey).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let (width, height) = img.dimensions();
            println!("{name}: {width}x{height} faces {faces:?}");
            if let [f] = faces.as_slice() {
                let face = to_source(f, scale);
                let estimated = to_source_head(&Head::from_face(f), scale);
                let head = to_source_head(&Head::measured(f, &grey), scale);
                println!(
                    "  crown estimated {:.1} measured {:.1}",
                    estimated.crown, head.crown
                );
                let framing = frame::frame(&head, width, height);
                let crop = match &framing {
                    Framing::Fits(r) => *r,
                    Framing::Fails { ideal, .. } => *ideal,
                };
                let inside = crop.clip(width, height).unwrap();
                let k = ARCHIVE.0 / crop.w;
                let small = img.resample(
                    inside,
                    (inside.w * k).round() as u32,
                    (inside.h * k).round() as u32,
                );
                let layout = Layout {
                    face: Detection {
                        x: (face.x - inside.x) * k,
                        y: (face.y - inside.y) * k,
                        size: face.size * k,
                        score: 0.0,
                    },
                    head: Head {
                        cx: (head.cx - inside.x) * k,
                        crown: (head.crown - inside.y) * k,
                        chin: (head.chin - inside.y) * k,
                    },
                };
                let (problems, m) = analyse::analyse(&small, &layout);
                println!("  framing {framing:?}\n  {m:?}\n  {problems:?}");
            }
        }
    }
}
