//! Frontal face detection with the SeetaFace model that ships in the repository.
//!
//! `rustface`'s detectors are `Box<dyn Detector>` without `Send`, and `detect` takes
//! `&mut self`, so one detector cannot be shared across threads. The parsed model is
//! (`Send + Sync`, parsed once into a `OnceLock`), and each check makes its own detector from
//! a clone of it: the clone costs about 0.7 ms against about 90 ms of detection, where a
//! shared detector behind a `Mutex` would serialise concurrent checks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use image::GrayImage;
use rustface::{ImageData, Model};

use super::error::PhotoError;
use super::spec::{DETECT_SCORE, SECOND_FACE_MIN_RATIO};

/// The SeetaFace frontal model (BSD-2-Clause, see `core/models/LICENSE-rustface`), built in
/// so the build and the app need no file or network at run time.
static MODEL_BYTES: &[u8] = include_bytes!("../../models/seeta_fd_frontal_v1.0.bin");

/// Smallest side the detector can scan: its sliding window is 40 px.
const MIN_DETECT_SIDE: u32 = 48;

/// A detected face, square, in pixels of the image it was detected in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Detection {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub score: f64,
}

fn model() -> Result<&'static Model, PhotoError> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| rustface::read_model(MODEL_BYTES).ok())
        .as_ref()
        .ok_or(PhotoError::DetectorFailed)
}

/// Frontal faces in `grey`, largest first, keeping only those at least
/// [`SECOND_FACE_MIN_RATIO`] the size of the largest.
pub(crate) fn detect(grey: &GrayImage) -> Result<Vec<Detection>, PhotoError> {
    let (w, h) = grey.dimensions();
    if w < MIN_DETECT_SIDE || h < MIN_DETECT_SIDE {
        return Ok(Vec::new());
    }
    let mut detector = rustface::create_detector_with_model(model()?.clone());
    detector.set_min_face_size(20);
    detector.set_score_thresh(DETECT_SCORE);
    detector.set_pyramid_scale_factor(0.8);
    detector.set_slide_window_step(4, 4);
    // The detector asserts on its inputs, which are checked above; a panic from inside it on
    // some odd image still must not take the app down, so it becomes a typed error.
    let faces = catch_unwind(AssertUnwindSafe(|| {
        detector.detect(&ImageData::new(grey.as_raw(), w, h))
    }))
    .map_err(|_| PhotoError::DetectorFailed)?;

    let mut found: Vec<Detection> = faces
        .iter()
        .map(|f| {
            let b = f.bbox();
            Detection {
                x: b.x() as f32,
                y: b.y() as f32,
                size: b.width().max(b.height()) as f32,
                score: f.score(),
            }
        })
        .filter(|d| d.size > 0.0)
        .collect();
    found.sort_by(|a, b| b.size.total_cmp(&a.size));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        // The detector's own suppression can leave two boxes on one face.
        if kept.iter().any(|k| overlap(k, &d) > 0.3) {
            continue;
        }
        kept.push(d);
    }
    if let Some(largest) = kept.first().map(|d| d.size) {
        kept.retain(|d| d.size >= largest * SECOND_FACE_MIN_RATIO);
    }
    Ok(kept)
}

/// Intersection over the smaller box's area.
fn overlap(a: &Detection, b: &Detection) -> f32 {
    let ix = (a.x + a.size).min(b.x + b.size) - a.x.max(b.x);
    let iy = (a.y + a.size).min(b.y + b.size) - a.y.max(b.y);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let smaller = a.size.min(b.size);
    ix * iy / (smaller * smaller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_model_parses() {
        assert!(model().is_ok());
    }

    #[test]
    fn tiny_and_blank_images_have_no_face() {
        assert!(detect(&GrayImage::new(10, 300)).unwrap().is_empty());
        assert!(
            detect(&GrayImage::from_pixel(200, 200, image::Luma([255])))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn model_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Model>();
    }
}
