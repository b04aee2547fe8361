//! The photo review queue and its decisions. A reviewer sees a photo and its ids, and a
//! decision answers with the decision: nothing here returns the registry's view of the
//! driver (D146).

use edl_core::wire::{
    Base64, PendingReview, RejectPhoto, ReviewDecision, ReviewOutcome, ReviewQueue,
};
use tracing::instrument;

use super::{App, MAX_REVIEW_PAGE, signing, text};
use crate::domain::rules;
use crate::error::{Error, Result};
use crate::store::{PhotoRow, PhotoStatus};

impl App {
    /// The oldest pending photo reviews.
    #[instrument(skip(self))]
    pub async fn review_queue(&self, limit: Option<u32>) -> Result<ReviewQueue> {
        let limit = limit.unwrap_or(20).clamp(1, MAX_REVIEW_PAGE);
        let rows = self.store.pending_photos(limit).await?;
        tracing::debug!(pending = rows.len(), "review queue read");
        Ok(ReviewQueue {
            reviews: rows
                .into_iter()
                .map(|p| PendingReview {
                    photo_id: p.id,
                    driver_id: p.driver_id,
                    kind: p.kind,
                    submitted_at: p.submitted_at,
                    deadline: p.deadline,
                    photo: Base64(p.bytes),
                })
                .collect(),
        })
    }

    /// The photo on file of the driver whose photo `photo_id` waits for review: the face a
    /// change is compared with (the photo review's AO-PH2: a reviewer saw the new photo
    /// alone and could not tell a friend's compliant photo from the driver's). Only while
    /// the review is pending (409 once decided); `UnknownId("photo")` when the driver has
    /// none on file (a first application: the real-person check's face is the provider's,
    /// not the authority's).
    #[instrument(skip(self))]
    pub async fn review_on_file(&self, photo_id: u64) -> Result<Vec<u8>> {
        let pending = self.pending_photo(photo_id).await?;
        let state = self.load(pending.driver_id).await?;
        // Read again with the driver: a review decided between the two reads would show
        // the new photo as the one on file (the review of D222, U-4).
        if state.pending_review.map(|p| p.photo_id) != Some(photo_id) {
            return Err(Error::InvalidState("the photo was already decided"));
        }
        let on_file = state.photo.ok_or(Error::UnknownId("photo"))?;
        self.photo_bytes(on_file.photo_id, &on_file.digest.0).await
    }

    async fn pending_photo(&self, photo_id: u64) -> Result<PhotoRow> {
        let photo = self
            .store
            .photo(photo_id)
            .await?
            .ok_or(Error::UnknownId("photo"))?;
        if photo.status != PhotoStatus::Pending {
            return Err(Error::InvalidState("the photo was already decided"));
        }
        Ok(photo)
    }

    /// Approves a photo: issues the e-licence (application) or re-signs it (change).
    #[instrument(skip(self))]
    pub async fn approve(&self, photo_id: u64) -> Result<ReviewDecision> {
        let now = self.now();
        let photo = self.pending_photo(photo_id).await?;
        // A photo kept before its header was checked (D222) is checked before it goes on
        // file (the review of D222, U-3), and held to the wallet's rule, since only a
        // wallet's upload makes a review: a PNG kept before D224 may carry an ICC profile
        // every verifier's decoder inflates (the review of D224, AQ-1).
        crate::domain::check_wallet_photo(&photo.bytes)?;
        let keys = self.signing_keys().await?;
        let ttl = self.ttl();
        let digest = photo.digest;
        let state = self
            .update_issuing(photo.driver_id, move |s, new| {
                rules::approve_photo(s, photo_id, digest, new, signing(&keys, now, ttl))
            })
            .await?;
        tracing::info!(driver = state.id, phase = ?state.phase, "photo approved");
        Ok(ReviewDecision {
            photo_id,
            driver_id: state.id,
            kind: photo.kind,
            outcome: ReviewOutcome::Approved,
            reason: None,
            phase: state.phase,
            decided_at: now,
        })
    }

    /// Rejects a photo; a malicious one stops the e-licence.
    #[instrument(skip(self, r), fields(malicious = r.malicious))]
    pub async fn reject(&self, photo_id: u64, r: RejectPhoto) -> Result<ReviewDecision> {
        let now = self.now();
        text("reason", &r.reason, 200)?;
        let photo = self.pending_photo(photo_id).await?;
        let RejectPhoto { reason, malicious } = r;
        let given = reason.clone();
        let state = self
            .store
            .update_driver(
                photo.driver_id,
                Box::new(move |s| rules::reject_photo(s, photo_id, &given, malicious, now)),
            )
            .await?;
        tracing::info!(driver = state.id, phase = ?state.phase, "photo rejected");
        Ok(ReviewDecision {
            photo_id,
            driver_id: state.id,
            kind: photo.kind,
            outcome: if malicious {
                ReviewOutcome::RejectedMalicious
            } else {
                ReviewOutcome::Rejected
            },
            reason: Some(reason),
            phase: state.phase,
            decided_at: now,
        })
    }
}
