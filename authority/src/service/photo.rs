//! The approved photo as its own resource (D92): a verify answer names it by its digest,
//! and the photo is fetched once, by the verifier that just checked the e-licence or by
//! the driver, and cached by its digest.

use super::App;
use crate::error::{Error, Result};
use crate::store::{DriverId, VerifierRow};

impl App {
    /// The photo `digest`, for `verifier` holding the `grant` of a check of the e-licence
    /// it belongs to, within its few minutes ([`crate::grants::GRANT_SECS`]). No grant, or
    /// a grant that does not hold, is answered as a photo that does not exist.
    pub async fn photo_for_verifier(
        &self,
        verifier: &VerifierRow,
        digest: &[u8; 32],
        grant: Option<&str>,
    ) -> Result<Vec<u8>> {
        let photo_id = grant
            .and_then(|g| {
                crate::grants::photo_for(self.keys.sealer(), g, verifier.id, digest, self.now())
            })
            .ok_or(Error::UnknownId("photo"))?;
        self.photo_bytes(photo_id, digest).await
    }

    /// The photo `digest`, for its driver: the approved photo on file.
    pub async fn photo_for_driver(&self, driver: DriverId, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let state = self.load(driver).await?;
        let photo_id = state
            .photo
            .filter(|p| &p.digest.0 == digest)
            .map(|p| p.photo_id)
            .ok_or(Error::UnknownId("photo"))?;
        self.photo_bytes(photo_id, digest).await
    }

    /// The bytes of photo `photo_id`, if its digest is `digest` and its bytes are kept.
    pub(super) async fn photo_bytes(&self, photo_id: u64, digest: &[u8; 32]) -> Result<Vec<u8>> {
        self.store
            .photo(photo_id)
            .await?
            // The row is the one the digest names, or nothing is answered; a photo replaced
            // since (its bytes discarded, the row kept) is gone, not an empty photo (PH-7).
            .filter(|row| &row.digest == digest && !row.bytes.is_empty())
            .map(|row| row.bytes)
            .ok_or(Error::UnknownId("photo"))
    }
}
