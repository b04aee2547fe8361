//! Frontal face detection with the SeetaFace model that ships in the repository.
//!
//! The model (1.2 MB) is built into the library with the `embedded-face-model` feature (the
//! CLI, the tests). The phone library leaves it out, which keeps it within its size budget and
//! spares verifier-only apps a model they never use; a wallet app ships the file as an asset
//! and hands it to [`load_face_model`] once. Only the exact file the thresholds were
//! calibrated on is accepted (its SHA-256 is checked before it is parsed).
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
use sha2::{Digest, Sha256};

use super::error::PhotoError;
use super::spec::{DETECT_SCORE, SECOND_FACE_MIN_RATIO};

/// The SeetaFace frontal model (BSD-2-Clause, see `core/models/LICENSE-rustface`), built in
/// so the CLI and the tests need no file at run time.
#[cfg(feature = "embedded-face-model")]
const EMBEDDED: Option<&[u8]> = Some(include_bytes!("../../models/seeta_fd_frontal_v1.0.bin"));
#[cfg(not(feature = "embedded-face-model"))]
const EMBEDDED: Option<&[u8]> = None;

/// SHA-256 of `core/models/seeta_fd_frontal_v1.0.bin`, the model every threshold in
/// [`super::spec`] was calibrated with.
const MODEL_SHA256: &str = "c4619d066ed35e84d9a8e842860b0dff567aba0cbb139881075538761db3ff5d";

/// The model in use: loaded by the app, or the built-in one on first use.
static MODEL: OnceLock<Model> = OnceLock::new();

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

/// Loads the face model (the bytes of `seeta_fd_frontal_v1.0.bin`, as shipped with the
/// library) for the photo checks. Call it once, before the first check; later calls with
/// the same file change nothing.
///
/// # Errors
///
/// [`PhotoError::BadFaceModel`] for any other bytes.
pub fn load_face_model(bytes: &[u8]) -> Result<(), PhotoError> {
    let model = parse(bytes)?;
    MODEL.get_or_init(|| model);
    Ok(())
}

fn model() -> Result<&'static Model, PhotoError> {
    model_in(&MODEL, EMBEDDED)
}

/// The model in `slot`, else the `embedded` one parsed into it.
fn model_in(
    slot: &'static OnceLock<Model>,
    embedded: Option<&[u8]>,
) -> Result<&'static Model, PhotoError> {
    if let Some(model) = slot.get() {
        return Ok(model);
    }
    let model = parse(embedded.ok_or(PhotoError::NoFaceModel)?)?;
    Ok(slot.get_or_init(|| model))
}

/// The model, if `bytes` are exactly the calibrated file. Checked by digest first, so no
/// other bytes ever reach the model parser.
fn parse(bytes: &[u8]) -> Result<Model, PhotoError> {
    if hex::encode(Sha256::digest(bytes)) != MODEL_SHA256 {
        return Err(PhotoError::BadFaceModel);
    }
    rustface::read_model(bytes).map_err(|_| PhotoError::BadFaceModel)
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

    const MODEL_FILE: &[u8] = include_bytes!("../../models/seeta_fd_frontal_v1.0.bin");

    #[test]
    fn the_shipped_model_loads_and_other_bytes_are_refused() {
        assert_eq!(load_face_model(MODEL_FILE), Ok(()));
        assert_eq!(
            load_face_model(MODEL_FILE),
            Ok(()),
            "loading twice is harmless"
        );
        assert!(model().is_ok());
        let mut altered = MODEL_FILE.to_vec();
        altered[1000] ^= 1;
        assert_eq!(load_face_model(&altered), Err(PhotoError::BadFaceModel));
        assert_eq!(load_face_model(b""), Err(PhotoError::BadFaceModel));
    }

    #[test]
    fn without_a_loaded_or_built_in_model_the_check_says_so() {
        static EMPTY: OnceLock<Model> = OnceLock::new();
        assert!(matches!(
            model_in(&EMPTY, None),
            Err(PhotoError::NoFaceModel)
        ));
        assert!(model_in(&EMPTY, Some(MODEL_FILE)).is_ok());
        assert!(
            model_in(&EMPTY, None).is_ok(),
            "a model once in the slot stays"
        );
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
