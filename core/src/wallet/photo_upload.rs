//! Submitting a licence photo: check on the phone, normalise, upload idempotently.

use serde::{Deserialize, Serialize};

/// Where the photo came from. The checks are the same; the app uses it to word its advice
/// (retake with the camera, or pick another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoSource {
    /// Taken with the camera just now.
    Camera,
    /// Picked from the album.
    Album,
}

/// The stage a photo submission has reached, reported as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStage {
    /// The on-phone checks passed.
    Checked,
    /// Cropped, resized and re-encoded without metadata.
    Normalised,
    /// Sending to the authority.
    Uploading,
    /// The authority has it; review is pending.
    Uploaded,
}

impl UploadStage {
    /// A fraction for a progress bar.
    pub fn fraction(self) -> f32 {
        match self {
            UploadStage::Checked => 0.25,
            UploadStage::Normalised => 0.5,
            UploadStage::Uploading => 0.75,
            UploadStage::Uploaded => 1.0,
        }
    }
}

/// Receives upload progress (the app's progress bar).
pub trait UploadProgress: Send + Sync {
    /// Called at each stage, in order.
    fn on_stage(&self, stage: UploadStage);
}

/// The idempotency key of a normalised photo sent by the device whose public key is
/// `device`: a retried upload of the same photo from the same device names the same
/// submission, so it is never counted twice. The device is part of it (the review of
/// D215, Q-1): a driver who moved phones while the photo was in review sends it again
/// from the new one, whose takeover withdrew it, and the photo's digest alone named the
/// withdrawn submission, answered as a retry and never reviewed.
pub(crate) fn client_key(device: &[u8; 32], sha256: &[u8; 32]) -> String {
    let mut named = [0u8; 64];
    named[..32].copy_from_slice(device);
    named[32..].copy_from_slice(sha256);
    hex::encode(&crate::crypto::sha256(&named)[..16])
}

/// The submission as the wallet remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSubmission {
    /// The authority's photo id.
    pub photo_id: u64,
    /// Camera or album.
    pub source: PhotoSource,
    /// When it was sent (authority clock).
    pub submitted_at: u64,
    /// Review due by (one working day).
    pub deadline: u64,
}
